-- Version 6: a keyed hash (HMAC-SHA256) of each charger's password, so that a verified password is known again
-- after a restart without running scrypt at the handshake (voltyard.domain.credentials), and the appliance's
-- key for it. randomblob() draws from SQLite's ChaCha20 generator, seeded from the operating system.
ALTER TABLE chargers ADD COLUMN password_mac BLOB;
CREATE TABLE appliance_secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
INSERT INTO appliance_secrets (name, value) VALUES ('password_mac_key', randomblob(32));
