-- Version 5: meter readings as LZ4-compressed blocks, one per series (charger, connector, transaction) and store
-- hand-over, written by voltyard.store.meter_log. A block keeps its last energy and power readings in columns
-- so that a transaction's last energy needs no decompression. meter_values keeps the readings of older stores
-- and those that come with a StopTransaction (written durably with the stop).
CREATE TABLE meter_blocks (
    id              INTEGER PRIMARY KEY,
    charger_id      TEXT NOT NULL,
    connector_id    INTEGER NOT NULL,
    transaction_id  INTEGER,
    first_timestamp TEXT NOT NULL,
    last_timestamp  TEXT NOT NULL,
    count           INTEGER NOT NULL,
    energy_wh       REAL,                                   -- the block's last energy reading (Wh)
    power_w         REAL,                                   -- the block's last power reading (W)
    data            BLOB NOT NULL
);
CREATE INDEX meter_blocks_by_tx ON meter_blocks (transaction_id) WHERE transaction_id IS NOT NULL;
