"""The embedded SQLite store: schema migrations, the single writer thread and typed reads."""
