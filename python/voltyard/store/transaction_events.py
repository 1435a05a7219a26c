"""OCPP 2.x TransactionEvents as stored: each event once per (charger, transactionId, seqNo), in the one
`transactions` table beside 1.6's (the charger's string id in `charger_tx_id`, an integer id like every
transaction), and the meter values an event carries.

`record_event` runs in the writer thread as one unit of a durable commit, like `transactions.start` and
`transactions.stop`: the event, the transaction it opens or ends and the events it writes are on disk before
the charger is answered. `append_event` queues the row of an event known to be new as telemetry (committed
within the commit interval, its meter values going as 1.6's do, into the meter log), for the Updated events
of an open transaction that come in order (`voltyard.domain.transactions`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from voltyard.events.kinds import Event, TransactionStarted, TransactionStopped
from voltyard.store.connection import Connection
from voltyard.store.event_log import record
from voltyard.store.meter_log import last_energy_wh
from voltyard.store.transactions import MeterRow
from voltyard.store.writer import StoreWriter

__all__ = [
    "EventOutcome",
    "EventRow",
    "EventTuple",
    "append_event",
    "append_readings",
    "open_charger_tx_ids",
    "record_event",
]

_FIND = """
SELECT id, connector_id, start_time, stopped_at FROM transactions WHERE charger_id = ? AND charger_tx_id = ?
"""
_OPEN = """
INSERT INTO transactions (charger_id, connector_id, id_tag, start_time, meter_start, started_at, clock_skew,
                          charger_tx_id)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
RETURNING id
"""
_OPEN_CHARGER_IDS = """
SELECT id, charger_tx_id FROM transactions WHERE stopped_at IS NULL AND charger_tx_id IS NOT NULL
"""
_EVENT = """
INSERT INTO transaction_events (charger_id, charger_tx_id, seq_no, transaction_id, event_type, trigger_reason,
                                offline, timestamp, payload, received_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (charger_id, charger_tx_id, seq_no) DO NOTHING
"""
_HIGHEST_SEQ_NO = """
SELECT max(seq_no) FROM transaction_events WHERE charger_id = ? AND charger_tx_id = ?
"""
_METER = """
INSERT INTO meter_values (charger_id, connector_id, transaction_id, timestamp, sampled_value, energy_wh,
                          power_w, received_at, clock_skew)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
_END = """
UPDATE transactions SET meter_stop = ?, stop_time = ?, stop_reason = ?, stop_id_tag = ?, stopped_at = ?
WHERE id = ?
"""


@dataclass(frozen=True, slots=True)
class EventRow:
    """A TransactionEvent as received, with what the store keeps of it.

    `meters`: its meter values as rows of `meter_values` (charger_id, connector_id and transaction_id are
    filled in here); `energy_wh`: the last energy register reading among them.
    """

    charger_id: str
    charger_tx_id: str
    seq_no: int
    event_type: str
    trigger_reason: str
    offline: bool
    timestamp: str
    connector_id: int
    id_tag: str | None
    stopped_reason: str | None
    energy_wh: float | None
    payload_json: str
    received_at: float
    clock_skew: bool
    meters: Sequence[MeterRow]


@dataclass(frozen=True, slots=True)
class EventOutcome:
    """The transaction an event belongs to, whether it was a replay, whether the transaction is open, and the
    highest seqNo stored of its transactionId (this event's included): any seqNo above it is new."""

    transaction_id: int
    connector_id: int
    start_time: str
    duplicate: bool
    still_open: bool
    recorded: tuple[Event, ...]
    highest_seq_no: int


def record_event(conn: Connection, row: EventRow) -> EventOutcome:
    """Store one TransactionEvent unless its (charger, transactionId, seqNo) is stored already.

    The first event of a transactionId (Started, or whichever came first after an offline spell: seqNos may
    come out of order) opens the transaction; an Ended closes it once. A replay changes nothing.
    """
    now = time.time()
    recorded: list[Event] = []
    found = conn.execute(_FIND, (row.charger_id, row.charger_tx_id)).fetchone()
    if found is None:
        meter_start = round(row.energy_wh) if row.energy_wh is not None else 0
        (opened,) = conn.execute(
            _OPEN,
            (row.charger_id, row.connector_id, row.id_tag or "", row.timestamp, meter_start, now,
             row.clock_skew, row.charger_tx_id),
        ).fetchone()  # fmt: skip
        transaction_id = int(opened)
        connector_id, start_time, stopped_at = row.connector_id, row.timestamp, None
        started = TransactionStarted(
            row.charger_id,
            transaction_id,
            connector_id,
            row.id_tag or "",
            meter_start,
            row.timestamp,
            time=now,
        )
        recorded.append(record(conn, started))
    else:
        transaction_id, connector_id, start_time, stopped_at = found
    inserted = conn.execute(
        _EVENT,
        (row.charger_id, row.charger_tx_id, row.seq_no, transaction_id, row.event_type, row.trigger_reason,
         int(row.offline), row.timestamp, row.payload_json, row.received_at),
    ).rowcount  # fmt: skip
    (highest,) = conn.execute(_HIGHEST_SEQ_NO, (row.charger_id, row.charger_tx_id)).fetchone()
    if not inserted:
        return EventOutcome(transaction_id, connector_id, start_time, True, stopped_at is None, (), highest)
    conn.executemany(_METER, [(m[0], connector_id, transaction_id, *m[3:]) for m in row.meters])
    if row.event_type == "Ended" and stopped_at is None:
        energy = (
            row.energy_wh
            if row.energy_wh is not None
            else last_energy_wh(conn, row.charger_id, transaction_id)
        )
        (meter_start,) = conn.execute(
            "SELECT meter_start FROM transactions WHERE id = ?", (transaction_id,)
        ).fetchone()
        meter_stop = round(energy) if energy is not None else int(meter_start)
        reason = row.stopped_reason or row.trigger_reason
        conn.execute(_END, (meter_stop, row.timestamp, reason, row.id_tag, row.received_at, transaction_id))
        stopped = TransactionStopped(row.charger_id, transaction_id, "Stopped", meter_stop, reason, time=now)
        recorded.append(record(conn, stopped))
        stopped_at = row.received_at
    return EventOutcome(
        transaction_id, connector_id, start_time, False, stopped_at is None, tuple(recorded), highest
    )


# A `transaction_events` row: charger_id, charger_tx_id, seq_no, transaction_id (transactions.id), event_type,
# trigger_reason, offline (0 or 1), timestamp, payload (the event's JSON), received_at.
EventTuple = tuple[str, str, int, int, str, str, int, str, str, float]


def append_event(store: StoreWriter, row: EventTuple) -> None:
    """An event known to be new, of a stored transaction, queued as telemetry (committed within the commit
    interval); its meter values are the caller's to store. A replay of it is still stored once (the key)."""
    store.append(_EVENT, row)


def append_readings(store: StoreWriter, rows: Sequence[MeterRow]) -> None:
    """Readings of a 2.x MeterValues (complete `meter_values` rows): committed within the commit interval."""
    for row in rows:
        store.append(_METER, row)


def open_charger_tx_ids(conn: Connection) -> list[tuple[int, str]]:
    """(id, charger_tx_id) of every open 2.x transaction: the text id a charger's TxProfile names."""
    return list(conn.execute(_OPEN_CHARGER_IDS))
