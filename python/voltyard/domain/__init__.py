"""Domain services: chargers, transactions, authorization. They decide; the gateway only carries frames."""
