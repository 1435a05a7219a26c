-- Version 2: charger credentials and per-charger limits (issue 4), clock-skew flags.

ALTER TABLE chargers ADD COLUMN password_hash TEXT;            -- scrypt$n$r$p$salt$hash of the AuthorizationKey
ALTER TABLE chargers ADD COLUMN leniency TEXT;                 -- comma-separated tolerated deviations
ALTER TABLE chargers ADD COLUMN max_frame_size INTEGER;        -- overrides [admission] max_frame_size

ALTER TABLE transactions ADD COLUMN clock_skew INTEGER NOT NULL DEFAULT 0;
ALTER TABLE stop_records ADD COLUMN clock_skew INTEGER NOT NULL DEFAULT 0;
ALTER TABLE meter_values ADD COLUMN clock_skew INTEGER NOT NULL DEFAULT 0;
