"""A 2.x charger's device model is held to `MAX_ATTRIBUTES` attributes (store/device_model.py): past the cap a
new attribute is not stored, those it has are still updated, other chargers are not affected, and the count
the cap reads is kept right by triggers (also for a store migrated with rows already in it)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from voltyard.store import device_model
from voltyard.store.db import connect, migrate, migrations
from voltyard.store.writer import StoreWriter

CAP = device_model.MAX_ATTRIBUTES


def row(charger_id: str, n: int, value: str = "1") -> device_model.VariableRow:
    return (charger_id, "Hostile", "", 0, 0, f"V{n}", "", "Actual", value, "ReadOnly", 1.0)


async def test_a_charger_is_held_to_the_cap_and_its_attributes_still_update(tmp_path: Path) -> None:
    writer = StoreWriter(tmp_path / "v.db", commit_interval=0.05)
    await writer.start()
    try:
        device_model.append_report(writer, [row("CS-HOSTILE", n) for n in range(CAP + 50)])
        device_model.append_report(writer, [row("CS-HOSTILE", 0, "changed"), row("CS-OTHER", 0)])
        await writer.flush()
    finally:
        await writer.close()
    with closing(connect(tmp_path / "v.db", readonly=True)) as db:
        stored = device_model.read(db, "CS-HOSTILE")
        assert len(stored) == CAP
        assert device_model.size(db, "CS-HOSTILE") == CAP
        assert {r[4] for r in stored} == {f"V{n}" for n in range(CAP)}  # the first ones, in order
        assert next(r[7] for r in stored if r[4] == "V0") == "changed"
        assert device_model.size(db, "CS-OTHER") == 1


def test_the_count_follows_deletes_and_a_migrated_store_starts_right(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with closing(sqlite3.connect(path)) as conn:
        for version, _, sql in migrations():
            if version < 10:
                conn.executescript(sql)
                conn.execute(f"PRAGMA user_version = {version}")
        conn.executemany(
            "INSERT INTO device_model VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [row("CS-OLD", n) for n in range(3)],
        )
        conn.commit()
    with closing(connect(path)) as conn:
        migrate(conn, path)
        assert device_model.size(conn, "CS-OLD") == 3
        conn.execute("DELETE FROM device_model WHERE charger_id = 'CS-OLD' AND variable = 'V0'")
        assert device_model.size(conn, "CS-OLD") == 2
        assert device_model.size(conn, "CS-NONE") == 0
