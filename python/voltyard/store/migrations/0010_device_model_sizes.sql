-- Version 10: how many variable attributes each 2.x charger's device model holds, kept by triggers, so that
-- a report can be held to a cap per charger at the cost of one lookup (store/device_model.py): a charger's
-- NotifyReports are its own to write, and a hostile one could otherwise grow the table without end.
CREATE TABLE device_model_sizes (
    charger_id TEXT PRIMARY KEY,
    attributes INTEGER NOT NULL
);
INSERT INTO device_model_sizes (charger_id, attributes)
    SELECT charger_id, COUNT(*) FROM device_model GROUP BY charger_id;
CREATE TRIGGER device_model_added AFTER INSERT ON device_model
BEGIN
    INSERT INTO device_model_sizes (charger_id, attributes) VALUES (NEW.charger_id, 1)
        ON CONFLICT (charger_id) DO UPDATE SET attributes = attributes + 1;
END;
CREATE TRIGGER device_model_removed AFTER DELETE ON device_model
BEGIN
    UPDATE device_model_sizes SET attributes = attributes - 1 WHERE charger_id = OLD.charger_id;
END;
