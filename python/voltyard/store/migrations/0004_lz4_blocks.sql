-- Version 4: message-log blocks are LZ4-compressed by the native module (codec 1), several times faster to write
-- than the zlib blocks of version 1 (codec 0), which stay readable. Same record layout inside either.
ALTER TABLE message_log ADD COLUMN codec INTEGER NOT NULL DEFAULT 0;

-- Nothing reads meter values by charger (they are read by transaction); the index only cost every insert.
DROP INDEX meter_values_by_charger;
