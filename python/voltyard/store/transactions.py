"""Transactions as stored: `transactions`, the `stop_records` of every StopTransaction received, the
`meter_values` that come with a stop, a used reservation, and the events each of these changes writes
with it.

The functions taking a connection run in the writer thread, each as one unit of a durable commit: what a
charger is answered is on disk with its event (the event log is what upstream systems sync from). They
only read and write; each returns what it found and the events it wrote (`voltyard.events.kinds`), and the
domain (`voltyard.domain.transactions`) tells subscribers and changes its memory once the commit is on
disk. The classification of a stop (Stopped, Duplicate, ...) reads the row it then writes, so it is made
here, in the same transaction.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from voltyard.events.kinds import (
    ClockSkew,
    Event,
    TransactionForceClosed,
    TransactionReconciled,
    TransactionStarted,
    TransactionStopFlagged,
    TransactionStopped,
)
from voltyard.store.connection import Connection
from voltyard.store.event_log import record
from voltyard.store.meter_log import last_energy_wh

__all__ = [
    "Closed",
    "MeterRow",
    "StartRow",
    "Started",
    "StopRow",
    "Stopped",
    "force_close",
    "load_open",
    "reconcile",
    "start",
    "stop",
    "stop_out_of_range",
]

_INSERT_TX = """
INSERT INTO transactions (charger_id, connector_id, id_tag, start_time, meter_start, reservation_id,
                          started_at, clock_skew)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (charger_id, connector_id, id_tag, start_time, meter_start) WHERE charger_tx_id IS NULL DO NOTHING
"""
_FIND_TX = """
SELECT id FROM transactions
WHERE charger_id = ? AND connector_id = ? AND id_tag = ? AND start_time = ? AND meter_start = ?
  AND charger_tx_id IS NULL
"""
_INSERT_STOP = """
INSERT INTO stop_records (charger_id, transaction_id, id_tag, meter_stop, timestamp, reason, transaction_data,
                          received_at, flag, clock_skew)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
_INSERT_METER = """
INSERT INTO meter_values (charger_id, connector_id, transaction_id, timestamp, sampled_value, energy_wh,
                          power_w, received_at, clock_skew)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
"""

# A reading of a stop's transactionData: (charger_id, connector_id (filled in here), transaction_id,
# timestamp, sampled_value JSON, energy_wh, power_w, received_at, clock_skew).
MeterRow = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class StartRow:
    """A StartTransaction: its identity (charger, connector, tag, timestamp, meterStart; a replay has the
    same) and what else is stored of it."""

    charger_id: str
    connector_id: int
    id_tag: str
    timestamp: str
    meter_start: int
    reservation_id: int | None
    clock_skew: bool

    def key(self) -> tuple[str, int, str, str, int]:
        return self.charger_id, self.connector_id, self.id_tag, self.timestamp, self.meter_start


@dataclass(frozen=True, slots=True)
class Started:
    """The transaction's id (new, or the one a replayed start got), whether it is still open, and the
    events written (none for a replay)."""

    transaction_id: int
    still_open: bool
    recorded: tuple[Event, ...]


@dataclass(frozen=True, slots=True)
class StopRow:
    """A StopTransaction as received (`data_json`: its transactionData as JSON text, or None)."""

    charger_id: str
    transaction_id: int
    meter_stop: int
    timestamp: str
    reason: str | None
    id_tag: str | None
    data_json: str | None
    received_at: float
    clock_skew: bool


@dataclass(frozen=True, slots=True)
class Stopped:
    """How a stop related to what the store knew (`flag`), and the events written."""

    flag: str
    recorded: tuple[Event, ...]


@dataclass(frozen=True, slots=True)
class Closed:
    """Transactions closed by the appliance (reconciled, force-closed), with the events written."""

    transaction_ids: tuple[int, ...]
    charger_id: str | None
    recorded: tuple[Event, ...]


def load_open(conn: Connection) -> list[tuple[int, str, int, str]]:
    """(id, charger_id, connector_id, start_time) of every transaction not stopped."""
    return list(
        conn.execute(
            "SELECT id, charger_id, connector_id, start_time FROM transactions WHERE stopped_at IS NULL"
        )
    )


def start(conn: Connection, row: StartRow) -> Started:
    """Allocate the transaction's id, or find the one a replay of the same start got. A new one is recorded
    with its TransactionStarted (and ClockSkew) event and marks its reservation Used."""
    key = row.key()
    now = time.time()
    inserted = conn.execute(_INSERT_TX, (*key, row.reservation_id, now, row.clock_skew)).rowcount
    (transaction_id,) = conn.execute(_FIND_TX, key).fetchone()
    recorded: list[Event] = []
    if inserted:
        started = TransactionStarted(
            row.charger_id,
            transaction_id,
            row.connector_id,
            row.id_tag,
            row.meter_start,
            row.timestamp,
            time=now,
        )
        recorded.append(record(conn, started))
        if row.clock_skew:
            recorded.append(
                record(conn, ClockSkew(row.charger_id, row.timestamp, "StartTransaction", time=now))
            )
        if row.reservation_id is not None:
            conn.execute(
                "UPDATE reservations SET status = 'Used', updated_at = ? WHERE id = ? AND charger_id = ?",
                (time.time(), row.reservation_id, row.charger_id),
            )
    stopped = conn.execute("SELECT stopped_at FROM transactions WHERE id = ?", (transaction_id,)).fetchone()
    return Started(int(transaction_id), stopped[0] is None, tuple(recorded))


def stop(conn: Connection, row: StopRow, meters: Sequence[MeterRow]) -> Stopped:
    """Record a StopTransaction whatever the store knew of it: Stopped, StoppedAfterReconcile (a real stop
    of a transaction closed as reconciled), Unknown, Duplicate (the same stop again) or AlreadyStopped (a
    different stop of a stopped transaction); every one gets a stop record, and the readings come with
    it unless it is a Duplicate."""
    found = conn.execute(
        "SELECT connector_id, stopped_at, meter_stop, stop_time, stop_flag FROM transactions "
        "WHERE id = ? AND charger_id = ?",
        (row.transaction_id, row.charger_id),
    ).fetchone()
    if found is None:
        flag = "Unknown"
    elif found[1] is None or found[4] == "Reconciled":
        flag = "Stopped" if found[1] is None else "StoppedAfterReconcile"
        conn.execute(
            "UPDATE transactions SET meter_stop = ?, stop_time = ?, stop_reason = ?, "
            "stop_id_tag = ?, stopped_at = ?, transaction_data = ?, stop_flag = ?, "
            "clock_skew = clock_skew | ? "
            "WHERE id = ?",
            (
                row.meter_stop,
                row.timestamp,
                row.reason or "Local",
                row.id_tag,
                row.received_at,
                row.data_json,
                None if flag == "Stopped" else "ReconciledThenStopped",
                row.clock_skew,
                row.transaction_id,
            ),
        )
    elif found[2] == row.meter_stop and found[3] == row.timestamp:
        flag = "Duplicate"
    else:
        flag = "AlreadyStopped"
    conn.execute(
        _INSERT_STOP,
        (
            row.charger_id,
            row.transaction_id,
            row.id_tag,
            row.meter_stop,
            row.timestamp,
            row.reason,
            row.data_json,
            row.received_at,
            flag,
            row.clock_skew,
        ),
    )
    if flag != "Duplicate":
        connector_id = found[0] if found is not None else None
        conn.executemany(_INSERT_METER, [(m[0], connector_id or 0, *m[2:]) for m in meters])
    now = time.time()
    kind = TransactionStopped if flag.startswith("Stopped") else TransactionStopFlagged
    stopped = kind(row.charger_id, row.transaction_id, flag, row.meter_stop, row.reason, time=now)
    recorded: list[Event] = [record(conn, stopped)]
    if row.clock_skew:
        recorded.append(record(conn, ClockSkew(row.charger_id, row.timestamp, "StopTransaction", time=now)))
    return Stopped(flag, tuple(recorded))


def stop_out_of_range(
    conn: Connection,
    row: StopRow,
    meters: Sequence[MeterRow],
    known_id: bool,
    details: TransactionStopFlagged,
) -> Stopped:
    """Record a stop whose transactionId or meterStop does not fit an INTEGER column (`row.meter_stop`
    unused): when only the meter reading is out of range (`known_id`), the transaction it names is closed
    with its energy unknown. Writes the TransactionStopFlagged event (`details`, flag OutOfRange)."""
    if known_id:
        found = conn.execute(
            "SELECT connector_id FROM transactions WHERE id = ? AND charger_id = ? AND stopped_at IS NULL",
            (row.transaction_id, row.charger_id),
        ).fetchone()
        if found is not None:
            conn.execute(
                "UPDATE transactions SET meter_stop = NULL, stop_time = ?, stop_reason = ?, "
                "stop_id_tag = ?, stopped_at = ?, transaction_data = ?, "
                "stop_flag = 'MeterStopOutOfRange' WHERE id = ?",
                (
                    row.timestamp,
                    row.reason or "Local",
                    row.id_tag,
                    row.received_at,
                    row.data_json,
                    row.transaction_id,
                ),
            )
            conn.executemany(_INSERT_METER, [(m[0], found[0], *m[2:]) for m in meters])
    recorded = record(conn, details)
    return Stopped("OutOfRange", (recorded,))


def reconcile(
    conn: Connection, charger_id: str, candidates: Sequence[int], reason: str, stamp: str
) -> Closed:
    """Close those of `candidates` still open as reconciled at `stamp`, with the last energy reading known
    (else their meter_start); one TransactionReconciled event each."""
    closed: list[int] = []
    recorded: list[Event] = []
    for transaction_id in candidates:
        found = conn.execute(
            "SELECT meter_start FROM transactions WHERE id = ? AND charger_id = ? AND stopped_at IS NULL",
            (transaction_id, charger_id),
        ).fetchone()
        if found is None:
            continue
        energy = last_energy_wh(conn, charger_id, transaction_id)
        meter_stop = round(energy) if energy is not None else found[0]
        now = time.time()
        conn.execute(
            "UPDATE transactions SET meter_stop = ?, stop_time = ?, stop_reason = 'Other', "
            "stopped_at = ?, stop_flag = 'Reconciled' WHERE id = ?",
            (meter_stop, stamp, now, transaction_id),
        )
        reconciled = TransactionReconciled(charger_id, transaction_id, reason, meter_stop, time=now)
        recorded.append(record(conn, reconciled))
        closed.append(transaction_id)
    return Closed(tuple(closed), charger_id, tuple(recorded))


def force_close(
    conn: Connection, transaction_id: int, meter_stop: int, timestamp: str, operator: str
) -> Closed:
    """Close an open transaction its charger never stopped (an operator's decision, audited by a
    TransactionForceClosed event); nothing closed when it is not open."""
    found = conn.execute(
        "SELECT charger_id FROM transactions WHERE id = ? AND stopped_at IS NULL", (transaction_id,)
    ).fetchone()
    if found is None:
        return Closed((), None, ())
    now = time.time()
    conn.execute(
        "UPDATE transactions SET meter_stop = ?, stop_time = ?, stop_reason = 'Other', "
        "stopped_at = ?, stop_flag = 'ForcedClose' WHERE id = ?",
        (meter_stop, timestamp, now, transaction_id),
    )
    charger_id = str(found[0])
    recorded = record(conn, TransactionForceClosed(charger_id, transaction_id, operator, time=now))
    return Closed((transaction_id,), charger_id, (recorded,))
