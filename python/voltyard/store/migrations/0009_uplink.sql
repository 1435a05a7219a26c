-- Version 9: the uplink (voltyard.uplink, docs/uplink.md). `uplink_queue` holds, in order, every message
-- that must reach the operator's central system, until the central system answered it: a row is deleted
-- only with its answer's effect. Its payload names the local transaction id; the upstream one is put in
-- when it is sent, from `uplink_transactions`, the durable map of local to upstream transaction ids (with
-- the last meter reading already queued of each, `meter_cursor`, a received_at instant).
CREATE TABLE uplink_queue (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    charger_id     TEXT NOT NULL,
    action         TEXT NOT NULL,
    payload        TEXT NOT NULL,
    transaction_id INTEGER,
    queued_at      REAL NOT NULL
);
CREATE INDEX uplink_queue_charger ON uplink_queue (charger_id, seq);
CREATE TABLE uplink_transactions (
    transaction_id INTEGER PRIMARY KEY,
    charger_id     TEXT NOT NULL,
    upstream_id    INTEGER,
    meter_cursor   REAL NOT NULL DEFAULT 0,
    stopped        INTEGER NOT NULL DEFAULT 0
);
-- The newest local transaction when the uplink first started: the ones after it go upstream, and one that
-- is not in uplink_transactions (the appliance ended between its commit and its queueing) is queued at start.
CREATE TABLE uplink_watermark (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    transaction_id INTEGER NOT NULL
);
CREATE TABLE uplink_sync (
    charger_id TEXT PRIMARY KEY,
    last_sync  REAL NOT NULL
);
