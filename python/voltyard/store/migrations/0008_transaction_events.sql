-- OCPP 2.0.1 / 2.1 transactions beside 1.6's (issue 20): one transactions table. A 2.x transaction gets the
-- integer id every transaction has (the API, the events and the meter values name it) and keeps the
-- charger's own string transactionId, unique per charger.
ALTER TABLE transactions ADD COLUMN charger_tx_id TEXT;
CREATE UNIQUE INDEX transactions_by_charger_tx ON transactions (charger_id, charger_tx_id)
    WHERE charger_tx_id IS NOT NULL;
-- Every TransactionEvent received, once per (charger, transactionId, seqNo): a replay (the charger resends
-- what it got no answer for, offline queues) is answered again but not stored again.
CREATE TABLE transaction_events (
    charger_id     TEXT NOT NULL,
    charger_tx_id  TEXT NOT NULL,
    seq_no         INTEGER NOT NULL,
    transaction_id INTEGER NOT NULL,                        -- transactions.id
    event_type     TEXT NOT NULL,                           -- Started | Updated | Ended
    trigger_reason TEXT NOT NULL,
    offline        INTEGER NOT NULL,
    timestamp      TEXT NOT NULL,
    payload        TEXT NOT NULL,                           -- the request as received (JSON)
    received_at    REAL NOT NULL,
    PRIMARY KEY (charger_id, charger_tx_id, seq_no)
);
CREATE INDEX transaction_events_by_tx ON transaction_events (transaction_id);
CREATE INDEX transaction_events_by_received ON transaction_events (received_at);
-- The device model of each 2.x charger (OCPP 2.0.1 part B): every variable attribute its NotifyReport named,
-- the latest value winning. Absent instances and EVSE / connector numbers are '' and 0, so that the key is
-- one row per attribute.
CREATE TABLE device_model (
    charger_id         TEXT NOT NULL,
    component          TEXT NOT NULL,
    component_instance TEXT NOT NULL,
    evse_id            INTEGER NOT NULL,
    connector_id       INTEGER NOT NULL,
    variable           TEXT NOT NULL,
    variable_instance  TEXT NOT NULL,
    attribute_type     TEXT NOT NULL,                       -- Actual | Target | MinSet | MaxSet
    value              TEXT,
    mutability         TEXT,
    updated_at         REAL NOT NULL,
    PRIMARY KEY (charger_id, component, component_instance, evse_id, connector_id, variable, variable_instance,
                 attribute_type)
);
