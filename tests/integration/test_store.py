"""The store on a real SQLite file and on a real PostgreSQL database (`store_backend`, tests/conftest.py):
migrations, the writer thread's group commit, failure isolation, telemetry within the commit interval, and
the message log's and meter log's blocks."""

from __future__ import annotations

import asyncio
import sqlite3
import struct
import threading
import time
import zlib
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st
from voltyard._native import MessageLogBuffer, decompress_block
from voltyard.errors import LogBlockError, StoreError
from voltyard.events.bus import CATEGORY_CASE
from voltyard.events.kinds import Event
from voltyard.store.connection import Backend, Connection
from voltyard.store.db import connect, migrate, migrations
from voltyard.store.event_log import events_after, mark_synced, sync_cursor
from voltyard.store.message_log import MessageLog, decode_block
from voltyard.store.meter_log import MeterLog, last_energy_wh, meter_readings
from voltyard.store.postgresql import PostgresBackend
from voltyard.store.writer import StoreWriter


async def started(store: Path | Backend, interval: float = 0.05) -> StoreWriter:
    writer = StoreWriter(store, commit_interval=interval)
    await writer.start()
    return writer


def test_migrations_set_the_version_and_refuse_newer_files(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    with closing(connect(path)) as conn:
        newest = migrations()[-1][0]
        assert migrate(conn, path) == newest
        assert migrate(conn, path) == newest  # idempotent
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        conn.execute(f"PRAGMA user_version = {newest + 1}")
        newer = r"written by a newer voltyard \(schema \d+, this build knows \d+\)"
        with pytest.raises(StoreError, match=newer):
            migrate(conn, path)


async def test_durable_writes_share_commits_and_fail_alone(store_backend: Backend) -> None:
    writer = await started(store_backend)

    def insert(n: int):
        return lambda conn: (
            conn.execute("INSERT INTO id_tags (id_tag, status) VALUES (?, 'Accepted')", (f"T{n}",)).rowcount
        )

    def broken(conn: Connection) -> None:
        conn.execute("INSERT INTO id_tags (id_tag) VALUES ('T5')")  # duplicate of a write in the same group
        raise AssertionError("unreachable")

    futures = [writer.durable(insert(n)) for n in range(200)]
    failing = writer.durable(broken)
    results = await asyncio.gather(*futures)
    with pytest.raises((sqlite3.IntegrityError, psycopg.errors.UniqueViolation)):
        await failing
    assert len(results) == 200
    assert writer.commits < 50  # 200 durable writes, grouped
    await writer.close()
    with closing(store_backend.open_reader()) as db:
        assert db.execute("SELECT count(*) FROM id_tags").fetchone() == (200,)


async def test_telemetry_is_committed_within_the_interval(store_backend: Backend) -> None:
    writer = await started(store_backend, interval=0.05)
    writer.append("INSERT INTO events (time, kind, data) VALUES (?, ?, ?)", (time.time(), "Probe", "{}"))
    with closing(store_backend.open_reader()) as reader:
        for _ in range(100):
            if reader.execute("SELECT count(*) FROM events").fetchone() == (1,):
                break
            await asyncio.sleep(0.01)
        else:
            pytest.fail("telemetry not committed within 1 s")
    await writer.close()


SETTINGS = "SELECT key, value FROM settings ORDER BY key"


async def test_upserted_state_keeps_the_latest_row_per_key_and_comes_first(store_backend: Backend) -> None:
    writer = await started(store_backend, interval=60)  # only the flush hands over
    upsert = (
        "INSERT INTO settings (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
    )
    writer.append("UPDATE settings SET value = value || '+' WHERE key = 'a'", ())
    for key, value in (("a", "1"), ("b", "1"), ("a", "2")):
        writer.upsert(upsert, key, (key, value))
    await writer.flush()
    with closing(store_backend.open_reader()) as db:
        # "a" written once, with its latest value, before the interval's UPDATE ran.
        assert db.execute("SELECT key, value FROM settings ORDER BY key").fetchall() == [
            ("a", "2+"),
            ("b", "1"),
        ]
    writer.upsert(upsert, "a", ("a", "3"))
    await writer.flush()
    await writer.close()
    with closing(store_backend.open_reader()) as db:
        assert db.execute("SELECT key, value FROM settings ORDER BY key").fetchall() == [
            ("a", "3"),
            ("b", "1"),
        ]


async def test_a_bad_telemetry_row_costs_only_itself(store_backend: Backend) -> None:
    writer = await started(store_backend)
    sql = "INSERT INTO id_tags (id_tag, status) VALUES (?, ?)"
    for row in (("A", "Accepted"), ("A", "Accepted"), ("B", "Blocked")):
        writer.append(sql, row)
    await writer.flush()
    assert writer.rows_failed == 1
    await writer.close()
    with closing(store_backend.open_reader()) as db:
        assert db.execute("SELECT id_tag FROM id_tags ORDER BY id_tag").fetchall() == [("A",), ("B",)]


async def test_a_row_python_cannot_bind_costs_only_itself(store_backend: Backend) -> None:
    # An int past 64 bits raises OverflowError (not sqlite3.Error) while binding with SQLite (PostgreSQL
    # refuses it for the BIGINT column): it once ended the writer thread, and with it all storage (issue 17).
    writer = await started(store_backend)
    sql = "INSERT INTO sync_cursors (name, seq) VALUES (?, ?)"
    for row in (("a", 1), ("b", 2**63), ("c", object()), ("d", 4)):
        writer.append(sql, row)
    await writer.flush()
    assert writer.rows_failed == 2
    assert writer.running
    assert writer.stopped_error is None
    count = await writer.durable(lambda conn: conn.execute("SELECT count(*) FROM sync_cursors").fetchone()[0])
    assert count == 2
    await writer.close()
    with closing(store_backend.open_reader()) as db:
        stored = db.execute("SELECT name, seq FROM sync_cursors ORDER BY name").fetchall()
    assert [tuple(row) for row in stored] == [("a", 1), ("d", 4)]


async def test_a_unit_of_work_raising_anything_fails_alone(store_backend: Backend) -> None:
    writer = await started(store_backend)

    def overflow(conn: Connection) -> None:
        conn.execute("INSERT INTO sync_cursors (name, seq) VALUES ('x', ?)", (2**63,))

    with pytest.raises((OverflowError, psycopg.errors.NumericValueOutOfRange)):
        await writer.durable(overflow)
    assert writer.running
    await writer.durable(lambda conn: conn.execute("INSERT INTO settings VALUES ('y', '1')"))
    await writer.close()


class _FailingBatch(StoreWriter):
    """A test-only seam at the store boundary: a telemetry batch naming the table `fail_here` raises what
    no statement of the batch would (an error outside the per-row isolation)."""

    def _write_batch(self, conn: Connection, batch: dict[str, list[tuple[object, ...]]]) -> None:
        if any("fail_here" in sql for sql in batch):
            raise RuntimeError("injected")
        super()._write_batch(conn, batch)


async def test_an_unexpected_error_costs_its_group_and_every_durable_write_in_it_is_answered(
    store_backend: Backend,
) -> None:
    writer = _FailingBatch(store_backend, commit_interval=60)
    await writer.start()
    entered, gate = threading.Event(), threading.Event()

    def hold(conn: Connection) -> None:
        entered.set()
        gate.wait(30)

    holding = writer.durable(hold)  # holds the thread: what is queued meanwhile is one group
    assert await asyncio.to_thread(entered.wait, 30)
    writer.append("INSERT INTO fail_here VALUES (?)", (1,))
    behind = [
        writer.durable(lambda conn, n=n: conn.execute("INSERT INTO settings VALUES (?, '1')", (f"k{n}",)))
        for n in range(3)
    ]
    gate.set()
    await holding
    for future in behind:  # each answered (they once waited forever), none committed
        with pytest.raises(StoreError, match="commit failed: injected"):
            await asyncio.wait_for(future, 30)
    assert writer.running
    assert writer.rows_failed == 1
    await writer.durable(lambda conn: conn.execute("INSERT INTO settings VALUES ('after', '1')"))
    await writer.close()
    with closing(store_backend.open_reader()) as db:
        assert db.execute("SELECT key FROM settings").fetchall() == [("after",)]


class _Fatal(BaseException):
    """What the writer cannot isolate: not an Exception (an interrupt, a broken interpreter state)."""


async def test_a_writer_that_stops_says_so_and_refuses_every_later_write(store_backend: Backend) -> None:
    writer = await started(store_backend)
    heard: list[BaseException] = []
    told = asyncio.Event()
    writer.when_stopped(lambda error: (heard.append(error), told.set()))

    def fatal(conn: Connection) -> None:
        raise _Fatal("injected")

    with pytest.raises(StoreError, match="writer has stopped: injected"):
        await writer.durable(fatal)
    await asyncio.wait_for(told.wait(), 30)  # the callbacks run on the loop, after the failed write settled
    assert [str(error) for error in heard] == ["injected"]
    assert not writer.running
    assert isinstance(writer.stopped_error, _Fatal)
    with pytest.raises(StoreError, match="writer has stopped"):
        await writer.durable(lambda conn: None)
    await asyncio.wait_for(writer.close(), 30)  # a hang guard: closing a stopped writer does not wait


async def test_message_log_blocks_query_and_prune(store_backend: Backend) -> None:
    writer = await started(store_backend)
    log = MessageLog(writer, max_rows=5, max_age_days=1)
    for n in range(4):
        log.exchange(
            "CP1", "in", 1000.0 + n, b'[2,"%d","Heartbeat",{}]' % n, 2, str(n), "Heartbeat", b"[3]", 3
        )
    log.exchange("CP2", "out", 2000.0, b'[2,"x","Reset",{}]', 2, "x", "Reset")
    await writer.flush()
    for n in range(4, 8):
        log.exchange(
            "CP1", "in", time.time(), b'[2,"%d","Heartbeat",{}]' % n, 2, str(n), "Heartbeat", b"[3]", 3
        )
    await writer.flush()
    with closing(store_backend.open_reader()) as db:
        newest = MessageLog.query(db, charger_id="CP1", limit=3)
        assert [e.message_id for e in newest] == ["7", "6", "5"]
        (reset,) = MessageLog.query(db, action="Reset")
        assert (reset.direction, reset.reply, reset.reply_type) == ("out", None, None)
        assert MessageLog.query(db, direction="out", charger_id="CP1") == []
    deleted = await log.prune()
    assert deleted == 2  # the old blocks: past the age limit
    await writer.close()


frames = st.binary(max_size=300)
texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["CP1", "CP2"]), st.sampled_from(["in", "out"]), st.floats(0, 2e9), frames,
            st.sampled_from([None, 2, 3, 4]), st.none() | texts, st.none() | texts, st.none() | frames,
            st.sampled_from([3, 4]),
        ),
        min_size=1, max_size=20,
    )
)  # fmt: skip
def test_block_round_trip(rows: list) -> None:
    buffer = MessageLogBuffer()
    before = time.time()
    for row in rows:
        buffer.append(*row)
    after = time.time()
    assert len(buffer) == len(rows)
    blocks = buffer.take().blocks()
    assert len(buffer) == 0
    decoded = {charger: list(decode_block(charger, data)) for charger, *_, data in blocks}
    for charger, first, last, count, actions, _ in blocks:
        mine = [row for row in rows if row[0] == charger]
        assert (count, first, last) == (len(mine), mine[0][2], mine[-1][2])
        assert actions == ",".join(sorted({row[6] for row in mine if row[6]}))
        assert len(decoded[charger]) == len(mine)
        for exchange, (_, direction, opened, frame, mtype, mid, action, reply, rtype) in zip(
            decoded[charger], mine, strict=True
        ):
            assert (exchange.direction, exchange.time, exchange.frame, exchange.message_type) == (
                direction, opened, frame, mtype,
            )  # fmt: skip
            assert exchange.message_id == (mid or None)
            assert exchange.action == (action or None)
            assert exchange.reply == reply
            assert exchange.reply_type == (rtype if reply is not None else None)
            if reply is None:
                assert exchange.reply_time is None
            else:
                assert exchange.reply_time is not None
                assert before <= exchange.reply_time <= after


def test_an_answered_call_is_an_exchange_in_with_its_callresult_and_its_handling_time() -> None:
    buffer = MessageLogBuffer()
    received = time.time() - 0.25
    took = buffer.answered("CP7", received, b'[2,"m1","Heartbeat",{}]', "m1", "Heartbeat", b'[3,"m1",{}]')
    after = time.time()
    ((charger, first, last, count, actions, data),) = buffer.take().blocks()
    assert (charger, first, last, count, actions) == ("CP7", received, received, 1, "Heartbeat")
    (exchange,) = decode_block("CP7", data)
    assert exchange.reply_time is not None
    assert 0.25 <= took == exchange.reply_time - received <= after - received
    assert (exchange.direction, exchange.message_type, exchange.message_id, exchange.action) == (
        "in", 2, "m1", "Heartbeat",
    )  # fmt: skip
    assert (exchange.frame, exchange.reply, exchange.reply_type) == (
        b'[2,"m1","Heartbeat",{}]', b'[3,"m1",{}]', 3,
    )  # fmt: skip


def _deflate_block(exchanges: list[tuple[float, bytes, str, bytes]]) -> bytes:
    """A block as version 1 of the store wrote it: the same records, raw deflate."""
    parts = []
    for opened, frame, message_id, reply in exchanges:
        mid = message_id.encode()
        lengths = (len(mid), 9, len(frame), len(reply))
        parts.append(struct.pack("<ddBbbHHII", opened, opened + 1, 0, 2, 3, *lengths))
        parts += (mid, b"Heartbeat", frame, reply)
    packer = zlib.compressobj(1, zlib.DEFLATED, -15)
    return packer.compress(b"".join(parts)) + packer.flush()


async def test_blocks_of_older_stores_stay_readable_and_damaged_ones_are_skipped(
    store_backend: Backend,
) -> None:
    writer = await started(store_backend)
    log = MessageLog(writer, max_rows=100, max_age_days=1)
    old = _deflate_block([(100.0, b'[2,"a","Heartbeat",{}]', "a", b'[3,"a",{}]')])
    insert = "INSERT INTO message_log (charger_id, first_time, last_time, count, actions, data, codec) "
    insert += "VALUES "
    row = "('CP', 100, 100, 1, 'Heartbeat', ?, 0)"
    await writer.durable(lambda conn: conn.execute(insert + row, (old,)))
    await writer.durable(
        lambda conn: conn.execute(insert + "('CP', 150, 150, 1, 'Heartbeat', ?, 1)", (b"\x01\x02",))
    )
    log.exchange("CP", "in", 200.0, b'[2,"b","Heartbeat",{}]', 2, "b", "Heartbeat", b'[3,"b",{}]', 3)
    await writer.flush()
    with closing(store_backend.open_reader()) as db:
        found = MessageLog.query(db, charger_id="CP")
    assert [(e.message_id, e.reply_time is not None) for e in found] == [("b", True), ("a", True)]
    assert found[1].reply == b'[3,"a",{}]'
    await writer.close()


def test_damaged_blocks_raise_a_clear_error() -> None:
    with pytest.raises(LogBlockError, match="shorter than its 4-byte length prefix"):
        decompress_block(b"\x01")
    with pytest.raises(LogBlockError, match="over the 67108864-byte limit"):
        decompress_block(b"\xff\xff\xff\xff\x00")
    with pytest.raises(LogBlockError, match="corrupt block"):
        decompress_block(b"\x10\x00\x00\x00\xff")
    with pytest.raises(LogBlockError, match="ends inside a record"):
        list(decode_block("CP", zlib.compress(b"\x00" * 10)[2:-4], 0))
    with pytest.raises(LogBlockError, match="unknown message-log block codec 7"):
        list(decode_block("CP", b"", 7))


@dataclass(frozen=True, slots=True)
class Probe(Event):
    """A test's own event kind (the log takes any)."""

    n: int


async def test_event_log_after_a_cursor_and_sync_markers(appliance) -> None:
    for n in range(5):
        appliance.services.events.publish(Probe("CP1", n))
    await appliance.store.flush()
    with closing(appliance.read_connection()) as db:
        probes = [event for event in events_after(db, CATEGORY_CASE, 0) if event.kind == "Probe"]
    assert [event.data["n"] for event in probes] == [0, 1, 2, 3, 4]
    upto = probes[2].seq
    assert await appliance.store.durable(lambda conn: mark_synced(conn, "upstream", upto)) == upto
    assert await appliance.store.durable(lambda conn: mark_synced(conn, "upstream", 1)) == upto  # never back
    with closing(appliance.read_connection()) as db:
        assert sync_cursor(db, "upstream") == upto
        after = events_after(db, CATEGORY_CASE, upto)
        assert [event.data["n"] for event in after if event.kind == "Probe"] == [3, 4]


async def test_meter_readings_round_trip_through_blocks_and_rows(store_backend: Backend) -> None:
    writer = await started(store_backend)
    meters = MeterLog(writer)
    # A reading of a store before version 5 (or of a StopTransaction's transactionData): a row.
    await writer.durable(
        lambda conn: conn.execute(
            "INSERT INTO meter_values (charger_id, connector_id, transaction_id, timestamp, sampled_value, "
            "energy_wh, power_w, received_at, clock_skew) VALUES ('CP', 1, 7, 'T0', '[]', 5.0, NULL, 1.0, 0)"
        )
    )
    meters.append("CP", 1, 7, "T1", b'[{"value":"10"}]', 10.0, 2.0, 2.0, False)
    meters.append("CP", 1, None, "T2", b"[]", None, None, 3.0, True)
    meters.append("CP", 1, 7, "T3", b"[]", None, 4.0, 4.0, False)
    meters.append("OTHER", 2, 8, "T4", b"[]", 99.0, None, 5.0, False)
    await writer.flush()
    with closing(store_backend.open_reader()) as db:
        of_seven = meter_readings(db, transaction_id=7)
        assert [(r.timestamp, r.energy_wh, r.power_w) for r in of_seven] == [
            ("T0", 5.0, None), ("T1", 10.0, 2.0), ("T3", None, 4.0),
        ]  # fmt: skip
        assert of_seven[1].sampled_value == '[{"value":"10"}]'
        (no_transaction,) = [r for r in meter_readings(db, charger_id="CP") if r.transaction_id is None]
        assert (no_transaction.clock_skew, no_transaction.received_at) == (True, 3.0)
        assert last_energy_wh(db, "CP", 7) == 10.0
        assert last_energy_wh(db, "OTHER", 8) == 99.0
        assert last_energy_wh(db, "CP", 8) is None, "another charger's reading counted"
        assert last_energy_wh(db, "CP", 9) is None
        # A block of transaction 7 with no energy reading leaves its last energy where it was.
        assert db.execute("SELECT count(*) FROM meter_blocks").fetchone() == (3,)
    damage = "UPDATE meter_blocks SET data = ? WHERE transaction_id = 8"
    await writer.durable(lambda conn: conn.execute(damage, (b"\x00",)))
    with closing(store_backend.open_reader()) as db:
        assert [r.charger_id for r in meter_readings(db)] == ["CP", "CP", "CP", "CP"]  # damaged block skipped
    await writer.close()


async def test_a_lost_postgresql_connection_costs_its_group_and_the_writer_reconnects(pg_dsn: str) -> None:
    # The server restarted, or an operator ended the session: the writes of that commit fail (they were not
    # stored: their callers hear so), and the writer serves again without a restart of voltyard.
    writer = await started(PostgresBackend(pg_dsn))
    try:
        pid = await writer.durable(lambda conn: conn.execute("SELECT pg_backend_pid()").fetchone()[0])
        with psycopg.connect(pg_dsn, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(StoreError, match="commit failed"):
            await writer.durable(lambda conn: conn.execute("INSERT INTO settings VALUES ('lost', '1')"))
        assert writer.running
        assert not writer.health().ok
        await writer.durable(lambda conn: conn.execute("INSERT INTO settings VALUES ('after', '1')"))
        assert writer.health().ok, writer.health().problems
        again = await writer.durable(lambda conn: conn.execute("SELECT pg_backend_pid()").fetchone()[0])
        assert again != pid
    finally:
        await writer.close()
    with psycopg.connect(pg_dsn) as db:
        assert db.execute("SELECT key FROM settings").fetchall() == [("after",)]
