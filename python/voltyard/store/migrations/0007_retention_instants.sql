-- Retention by instants, never by text (issue 17): a meter block gets the time it was stored (unix seconds),
-- so that pruning compares numbers instead of a charger's ISO timestamps as strings ("+01:00" offsets sorted
-- wrongly). Existing blocks get their last reading's time as an instant (SQLite's date functions parse ISO
-- 8601 with its offset: whole seconds from %s, the fraction from %f), or the time of this migration where it
-- does not parse: they age out from now.
ALTER TABLE meter_blocks ADD COLUMN stored_at REAL;
UPDATE meter_blocks SET stored_at = COALESCE(
    CAST(strftime('%s', last_timestamp) AS REAL)
        + (strftime('%f', last_timestamp) - CAST(strftime('%S', last_timestamp) AS INTEGER)),
    CAST(strftime('%s', 'now') AS REAL)
);
CREATE INDEX meter_blocks_by_stored_at ON meter_blocks (stored_at);
-- The other tables that grow are pruned by their own receive times (REAL); these find the old rows without a
-- scan of the whole table every minute.
CREATE INDEX stop_records_by_received ON stop_records (received_at);
CREATE INDEX certificate_requests_by_received ON certificate_requests (received_at);
