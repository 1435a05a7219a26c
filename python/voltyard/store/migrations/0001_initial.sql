-- Voltyard store, version 1. Times are UTC ISO-8601 strings as chargers send them, or unix seconds (REAL)
-- where the store stamps them itself (received_at, time).

CREATE TABLE chargers (
    id                  TEXT PRIMARY KEY,
    vendor              TEXT,
    model               TEXT,
    serial_number       TEXT,
    box_serial_number   TEXT,
    firmware_version    TEXT,
    iccid               TEXT,
    imsi                TEXT,
    meter_type          TEXT,
    meter_serial_number TEXT,
    registration        TEXT NOT NULL DEFAULT 'Unknown',   -- Accepted | Pending | Rejected | Unknown
    first_seen          REAL NOT NULL,
    last_boot           REAL,
    last_seen           REAL,
    firmware_status     TEXT,
    diagnostics_status  TEXT,
    log_status          TEXT,
    security_profile    INTEGER NOT NULL DEFAULT 0,
    local_list_version  INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE connectors (
    charger_id        TEXT NOT NULL,
    connector_id      INTEGER NOT NULL,                     -- 0 is the charger itself
    status            TEXT NOT NULL,
    error_code        TEXT NOT NULL,
    info              TEXT,
    vendor_id         TEXT,
    vendor_error_code TEXT,
    timestamp         TEXT,
    updated_at        REAL NOT NULL,
    availability      TEXT NOT NULL DEFAULT 'Operative',
    PRIMARY KEY (charger_id, connector_id)
) WITHOUT ROWID;

CREATE TABLE status_history (
    id                INTEGER PRIMARY KEY,
    charger_id        TEXT NOT NULL,
    connector_id      INTEGER NOT NULL,
    status            TEXT NOT NULL,
    error_code        TEXT NOT NULL,
    info              TEXT,
    vendor_id         TEXT,
    vendor_error_code TEXT,
    timestamp         TEXT,
    received_at       REAL NOT NULL
);
CREATE INDEX status_history_by_charger ON status_history (charger_id, connector_id, id);

CREATE TABLE id_tags (
    id_tag        TEXT PRIMARY KEY,
    status        TEXT NOT NULL DEFAULT 'Accepted',         -- Accepted | Blocked | Expired | Invalid
    expiry_date   TEXT,
    parent_id_tag TEXT
);

CREATE TABLE local_list (
    charger_id    TEXT NOT NULL,
    id_tag        TEXT NOT NULL,
    status        TEXT NOT NULL,
    expiry_date   TEXT,
    parent_id_tag TEXT,
    PRIMARY KEY (charger_id, id_tag)
) WITHOUT ROWID;

CREATE TABLE transactions (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    charger_id     TEXT NOT NULL,
    connector_id   INTEGER NOT NULL,
    id_tag         TEXT NOT NULL,
    meter_start    INTEGER NOT NULL,
    start_time     TEXT NOT NULL,
    reservation_id INTEGER,
    started_at     REAL NOT NULL,
    meter_stop     INTEGER,
    stop_time      TEXT,
    stop_reason    TEXT,
    stop_id_tag    TEXT,
    stopped_at     REAL,
    stop_flag      TEXT,                                    -- NULL | ForcedClose
    transaction_data TEXT
);
-- A replayed StartTransaction (same charger, connector, tag, time and meter) gets the same id back.
CREATE UNIQUE INDEX transactions_start_key ON transactions (charger_id, connector_id, id_tag, start_time, meter_start);
CREATE INDEX transactions_active ON transactions (charger_id, connector_id) WHERE stopped_at IS NULL;

-- Every StopTransaction received, including those for unknown, already-stopped or replayed transactions.
CREATE TABLE stop_records (
    id               INTEGER PRIMARY KEY,
    charger_id       TEXT NOT NULL,
    transaction_id   INTEGER NOT NULL,
    id_tag           TEXT,
    meter_stop       INTEGER NOT NULL,
    timestamp        TEXT NOT NULL,
    reason           TEXT,
    transaction_data TEXT,
    received_at      REAL NOT NULL,
    flag             TEXT NOT NULL                          -- Stopped | Unknown | Duplicate | AlreadyStopped
);
CREATE INDEX stop_records_by_tx ON stop_records (transaction_id);

CREATE TABLE meter_values (
    id             INTEGER PRIMARY KEY,
    charger_id     TEXT NOT NULL,
    connector_id   INTEGER NOT NULL,
    transaction_id INTEGER,
    timestamp      TEXT NOT NULL,
    sampled_value  TEXT NOT NULL,                           -- the sampledValue array as sent (JSON)
    energy_wh      REAL,                                    -- Energy.Active.Import.Register, normalised to Wh
    power_w        REAL,                                    -- Power.Active.Import, normalised to W
    received_at    REAL NOT NULL
);
CREATE INDEX meter_values_by_tx ON meter_values (transaction_id) WHERE transaction_id IS NOT NULL;
CREATE INDEX meter_values_by_charger ON meter_values (charger_id, id);

CREATE TABLE reservations (
    id            INTEGER PRIMARY KEY,                      -- the reservationId sent to the charger
    charger_id    TEXT NOT NULL,
    connector_id  INTEGER NOT NULL,
    id_tag        TEXT NOT NULL,
    parent_id_tag TEXT,
    expiry_date   TEXT NOT NULL,
    status        TEXT NOT NULL,                            -- Requested | Accepted | Faulted | Occupied | Rejected | Unavailable | Cancelled | Used
    updated_at    REAL NOT NULL
);

CREATE TABLE charging_profiles (
    charger_id   TEXT NOT NULL,
    connector_id INTEGER NOT NULL,
    profile_id   INTEGER NOT NULL,
    stack_level  INTEGER NOT NULL,
    purpose      TEXT NOT NULL,
    profile      TEXT NOT NULL,                             -- csChargingProfiles as sent (JSON)
    updated_at   REAL NOT NULL,
    PRIMARY KEY (charger_id, connector_id, profile_id)
) WITHOUT ROWID;

CREATE TABLE configuration (
    charger_id TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT,
    readonly   INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL,
    PRIMARY KEY (charger_id, key)
) WITHOUT ROWID;

CREATE TABLE certificate_requests (
    id          INTEGER PRIMARY KEY,
    charger_id  TEXT NOT NULL,
    csr         TEXT NOT NULL,
    received_at REAL NOT NULL
);

-- Append-only domain events for upstream sync: read after a cursor, mark synced up to a sequence number.
CREATE TABLE events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    time       REAL NOT NULL,
    kind       TEXT NOT NULL,
    charger_id TEXT,
    data       TEXT NOT NULL
);
CREATE TABLE sync_cursors (
    name TEXT PRIMARY KEY,
    seq  INTEGER NOT NULL
);

-- Every frame in and out, bounded by rows and age (store.message_log_* in voltyard.toml). Exchanges (the frame
-- that opened one and the frame that answered it) are packed per charger and per commit into zlib-compressed
-- blocks: a tenth of the rows and bytes of a row per frame, which is what keeps logging every frame cheap.
-- voltyard.store.message_log reads and writes the block format; `actions` lists the block's actions for filtering.
CREATE TABLE message_log (
    id         INTEGER PRIMARY KEY,
    charger_id TEXT NOT NULL,
    first_time REAL NOT NULL,
    last_time  REAL NOT NULL,
    count      INTEGER NOT NULL,
    actions    TEXT NOT NULL,
    data       BLOB NOT NULL
);
CREATE INDEX message_log_by_charger ON message_log (charger_id, id);
