"""The charger simulator and load tester: simulated OCPP 1.6J charge points, scenarios and load reports."""
