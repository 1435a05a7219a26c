-- Version 3: appliance settings changed at run time (the site limit).
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
