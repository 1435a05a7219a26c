-- Version 11: the key that finds a replayed 1.6 StartTransaction (the same charger, connector, tag, start time
-- and meter start: the same transaction) applies to 1.6 transactions only. A 2.x transaction is known by the
-- charger's own transactionId (`transactions_by_charger_tx`); under the 1.6 key, a 2.x charger's second
-- transaction on the same EVSE with the same tag, timestamp and meter start (a station with no clock set and
-- no meter does that) failed its write and got InternalError.
DROP INDEX transactions_start_key;
CREATE UNIQUE INDEX transactions_start_key ON transactions (charger_id, connector_id, id_tag, start_time, meter_start)
    WHERE charger_tx_id IS NULL;
