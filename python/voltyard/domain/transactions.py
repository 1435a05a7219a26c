"""Transactions: ids allocated on disk before they are answered, idempotent stops, meter values,
reconciliation of zombies.

Chargers replay their offline queues after a reconnect, so the same StartTransaction may arrive twice
(it gets the same id back) and a StopTransaction may name a transaction that is unknown, already
stopped, or stopped twice. Every stop is answered and recorded with a flag, never refused: a refused
stop is retried by the charger forever. That holds for a stop whose transactionId or meterStop is beyond
the store's signed 64-bit integers too (the decoder reads up to 2^64 - 1): it is recorded as the persisted
event TransactionStopFlagged with flag OutOfRange, the values that do not fit written as decimal text
(lossless); a transaction it names is closed with its energy unknown (meter_stop NULL, stop_flag
MeterStopOutOfRange). Its stop_records row is left out: that table has no place for such a number.

A transaction left open by a charger that rebooted, or whose connector shows Available or Preparing
again, is closed as reconciled with the last energy reading known; a real StopTransaction arriving
later still wins. Timestamps in the future (beyond a tolerance) or before 2000 are flagged as clock
skew and stored as sent.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from voltyard._native import MeterValuesRead, clock_skewed, normalise_sampled_values, read_meter_values
from voltyard.events import Event, EventBus
from voltyard.store.meter_log import MeterLog, last_energy_wh
from voltyard.store.writer import StoreWriter

__all__ = ["ClockSkew", "StopOutcome", "Transactions"]

# What an INTEGER column of the store holds (SQLite: signed 64-bit); the same range the OCPP router checks.
_STORE_INTEGERS = range(-(2**63), 2**63)

_INSERT_TX = """
INSERT INTO transactions (charger_id, connector_id, id_tag, start_time, meter_start, reservation_id,
                          started_at, clock_skew)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (charger_id, connector_id, id_tag, start_time, meter_start) DO NOTHING
"""
_FIND_TX = """
SELECT id FROM transactions
WHERE charger_id = ? AND connector_id = ? AND id_tag = ? AND start_time = ? AND meter_start = ?
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


@dataclass(frozen=True, slots=True)
class StopOutcome:
    """How a StopTransaction related to what the store knew.

    Stopped, StoppedAfterReconcile (a real stop of a transaction closed as reconciled), Unknown, Duplicate
    (the same stop again) or AlreadyStopped (a different stop of a stopped transaction).
    """

    transaction_id: int
    flag: str


class ClockSkew:
    """Flags timestamps before 2000 or more than `tolerance` seconds in the future (the native
    `clock_skewed`, which also flags each stored meter reading)."""

    def __init__(self, tolerance: float) -> None:
        self.tolerance = tolerance

    def __call__(self, timestamp: str) -> bool:
        return clock_skewed(timestamp, time.time() + self.tolerance)


class Transactions:
    """Start, stop, meter values and reconciliation of every charger's transactions."""

    def __init__(self, store: StoreWriter, events: EventBus, clock_skew: ClockSkew | None = None) -> None:
        self._store = store
        self._events = events
        self._meters = MeterLog(store)
        self.skewed = clock_skew or ClockSkew(300.0)
        self.power_w: dict[tuple[str, int], float] = {}
        # Open transactions by (charger, connector): {transaction id: start timestamp}, so that status
        # notifications can find zombies without a query.
        self.open: dict[tuple[str, int], dict[int, str]] = {}

    def load(self, conn: sqlite3.Connection) -> None:
        for transaction_id, charger_id, connector_id, start_time in conn.execute(
            "SELECT id, charger_id, connector_id, start_time FROM transactions WHERE stopped_at IS NULL"
        ):
            self.open.setdefault((charger_id, connector_id), {})[transaction_id] = start_time

    def open_on(self, charger_id: str, connector_id: int | None = None) -> list[int]:
        """Open transaction ids of a charger (of one connector when given)."""
        return [
            transaction_id
            for (charger, connector), opened in self.open.items()
            if charger == charger_id and connector_id in (None, connector)
            for transaction_id in opened
        ]

    def _closed(self, charger_id: str, transaction_ids: list[int]) -> None:
        for key in [key for key in self.open if key[0] == charger_id]:
            for transaction_id in transaction_ids:
                if self.open[key].pop(transaction_id, None) is not None:
                    # The connector's last reading belonged to this session: the next one starts from nothing.
                    self.power_w.pop(key, None)
            if not self.open[key]:
                del self.open[key]

    def start(self, charger_id: str, payload: dict[str, Any]) -> asyncio.Future[int]:
        """Allocate (or find, for a replayed start) the transaction id; resolves once it is on disk."""
        key = (
            charger_id,
            payload["connectorId"],
            payload["idTag"],
            payload["timestamp"],
            payload["meterStart"],
        )
        reservation_id = payload.get("reservationId")
        skewed = self.skewed(payload["timestamp"])
        events = self._events

        def work(conn: sqlite3.Connection) -> tuple[int, bool]:
            inserted = conn.execute(_INSERT_TX, (*key, reservation_id, time.time(), skewed)).rowcount
            (transaction_id,) = conn.execute(_FIND_TX, key).fetchone()
            if inserted:
                data = {
                    "transactionId": transaction_id,
                    "connectorId": key[1],
                    "idTag": key[2],
                    "meterStart": key[4],
                    "timestamp": key[3],
                }
                events.publish(Event("TransactionStarted", charger_id, data), conn)
                if skewed:
                    events.publish(
                        Event("ClockSkew", charger_id, {"timestamp": key[3], "in": "StartTransaction"}), conn
                    )
                if reservation_id is not None:
                    conn.execute(
                        "UPDATE reservations SET status = 'Used', updated_at = ? "
                        "WHERE id = ? AND charger_id = ?",
                        (time.time(), reservation_id, charger_id),
                    )
            stopped = conn.execute(
                "SELECT stopped_at FROM transactions WHERE id = ?", (transaction_id,)
            ).fetchone()
            return int(transaction_id), stopped[0] is None

        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        def opened(future: asyncio.Future[tuple[int, bool]]) -> None:
            if future.cancelled():
                done.cancel()
            elif future.exception() is not None:
                done.set_exception(future.exception())  # type: ignore[arg-type]
            else:
                transaction_id, still_open = future.result()
                if still_open:
                    self.open.setdefault((charger_id, key[1]), {})[transaction_id] = key[3]
                done.set_result(transaction_id)

        self._store.durable(work).add_done_callback(opened)
        return done

    def stop(self, charger_id: str, payload: dict[str, Any]) -> asyncio.Future[StopOutcome]:
        """Record a StopTransaction, whatever the store knew of it; resolves once it is on disk."""
        transaction_id: int = payload["transactionId"]
        data = payload.get("transactionData")
        data_json = orjson.dumps(data).decode() if data is not None else None
        received = time.time()
        meters = [
            (
                charger_id,
                None,
                transaction_id,
                value["timestamp"],
                orjson.dumps(value["sampledValue"]).decode(),
                *normalise_sampled_values(value["sampledValue"]),
                received,
                self.skewed(value["timestamp"]),
            )
            for value in data or []
        ]
        skewed = self.skewed(payload["timestamp"])
        events = self._events
        self._closed(charger_id, [transaction_id])
        if transaction_id not in _STORE_INTEGERS or payload["meterStop"] not in _STORE_INTEGERS:
            return self._stop_out_of_range(charger_id, payload, data, meters, received)

        def work(conn: sqlite3.Connection) -> StopOutcome:
            row = conn.execute(
                "SELECT connector_id, stopped_at, meter_stop, stop_time, stop_flag FROM transactions "
                "WHERE id = ? AND charger_id = ?",
                (transaction_id, charger_id),
            ).fetchone()
            if row is None:
                flag = "Unknown"
            elif row[1] is None or row[4] == "Reconciled":
                flag = "Stopped" if row[1] is None else "StoppedAfterReconcile"
                conn.execute(
                    "UPDATE transactions SET meter_stop = ?, stop_time = ?, stop_reason = ?, "
                    "stop_id_tag = ?, stopped_at = ?, transaction_data = ?, stop_flag = ?, "
                    "clock_skew = clock_skew | ? "
                    "WHERE id = ?",
                    (
                        payload["meterStop"],
                        payload["timestamp"],
                        payload.get("reason", "Local"),
                        payload.get("idTag"),
                        received,
                        data_json,
                        None if flag == "Stopped" else "ReconciledThenStopped",
                        skewed,
                        transaction_id,
                    ),
                )
            elif row[2] == payload["meterStop"] and row[3] == payload["timestamp"]:
                flag = "Duplicate"
            else:
                flag = "AlreadyStopped"
            conn.execute(
                _INSERT_STOP,
                (
                    charger_id,
                    transaction_id,
                    payload.get("idTag"),
                    payload["meterStop"],
                    payload["timestamp"],
                    payload.get("reason"),
                    data_json,
                    received,
                    flag,
                    skewed,
                ),
            )
            if flag != "Duplicate":
                connector_id = row[0] if row is not None else None
                conn.executemany(_INSERT_METER, [(m[0], connector_id or 0, *m[2:]) for m in meters])
            kind = "TransactionStopped" if flag.startswith("Stopped") else "TransactionStopFlagged"
            details = {"transactionId": transaction_id, "flag": flag, "meterStop": payload["meterStop"],
                       "reason": payload.get("reason")}  # fmt: skip
            events.publish(Event(kind, charger_id, details), conn)
            if skewed:
                events.publish(
                    Event(
                        "ClockSkew", charger_id, {"timestamp": payload["timestamp"], "in": "StopTransaction"}
                    ),
                    conn,
                )
            return StopOutcome(transaction_id, flag)

        return self._store.durable(work)

    def _stop_out_of_range(
        self,
        charger_id: str,
        payload: dict[str, Any],
        data: object,
        meters: list[tuple[Any, ...]],
        received: float,
    ) -> asyncio.Future[StopOutcome]:
        """Record a stop with a transactionId or meterStop the store cannot hold (module docstring)."""
        transaction_id: int = payload["transactionId"]
        known_id = transaction_id in _STORE_INTEGERS
        events = self._events
        details = {
            "transactionId": transaction_id if known_id else str(transaction_id),
            "flag": "OutOfRange",
            "meterStop": payload["meterStop"]
            if payload["meterStop"] in _STORE_INTEGERS
            else str(payload["meterStop"]),
            "timestamp": payload["timestamp"],
            "reason": payload.get("reason"),
            "idTag": payload.get("idTag"),
            "transactionData": data,
        }

        def work(conn: sqlite3.Connection) -> StopOutcome:
            if known_id:  # only the meter reading is out of range: the transaction it names is over
                row = conn.execute(
                    "SELECT connector_id FROM transactions "
                    "WHERE id = ? AND charger_id = ? AND stopped_at IS NULL",
                    (transaction_id, charger_id),
                ).fetchone()
                if row is not None:
                    conn.execute(
                        "UPDATE transactions SET meter_stop = NULL, stop_time = ?, stop_reason = ?, "
                        "stop_id_tag = ?, stopped_at = ?, transaction_data = ?, "
                        "stop_flag = 'MeterStopOutOfRange' WHERE id = ?",
                        (
                            payload["timestamp"],
                            payload.get("reason", "Local"),
                            payload.get("idTag"),
                            received,
                            orjson.dumps(data).decode() if data is not None else None,
                            transaction_id,
                        ),
                    )
                    conn.executemany(_INSERT_METER, [(m[0], row[0], *m[2:]) for m in meters])
            events.publish(Event("TransactionStopFlagged", charger_id, details), conn)
            return StopOutcome(transaction_id, "OutOfRange")

        return self._store.durable(work)

    def meter_values(self, charger_id: str, payload: dict[str, Any]) -> None:
        """Store the readings of a MeterValues request payload (plain objects; see `record_meter_values`)."""
        self.record_meter_values(charger_id, read_meter_values(payload), time.time())

    def record_meter_values(self, charger_id: str, read: MeterValuesRead, received_at: float) -> None:
        """Store each meterValue as sent plus its normalised energy and power (committed within 1 s)."""
        self._meters.append_read(charger_id, read, received_at, received_at + self.skewed.tolerance)
        power_w = read.power_w
        if power_w is not None:
            self.power_w[charger_id, read.connector_id] = power_w
        if self._events.want_live:
            for _, _, energy_wh, power_w in read.readings:
                data = {"connectorId": read.connector_id, "transactionId": read.transaction_id,
                        "energy_wh": energy_wh, "power_w": power_w}  # fmt: skip
                self._events.live(Event("MeterValues", charger_id, data))

    def reconcile(
        self, charger_id: str, reason: str, connector_id: int | None = None, before: str | None = None
    ) -> asyncio.Future[list[int]]:
        """Close the charger's open transactions (of one connector, started before `before`, when given) as
        reconciled, with the last energy reading known; resolves to the ids closed, once on disk."""
        candidates = [
            transaction_id
            for (charger, connector), opened in self.open.items()
            if charger == charger_id and connector_id in (None, connector)
            for transaction_id, started in opened.items()
            if before is None or started < before
        ]
        self._closed(charger_id, candidates)
        events = self._events
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

        def work(conn: sqlite3.Connection) -> list[int]:
            closed = []
            for transaction_id in candidates:
                row = conn.execute(
                    "SELECT meter_start FROM transactions WHERE id = ? AND stopped_at IS NULL",
                    (transaction_id,),
                ).fetchone()
                if row is None:
                    continue
                energy = last_energy_wh(conn, transaction_id)
                meter_stop = round(energy) if energy is not None else row[0]
                conn.execute(
                    "UPDATE transactions SET meter_stop = ?, stop_time = ?, stop_reason = 'Other', "
                    "stopped_at = ?, stop_flag = 'Reconciled' WHERE id = ?",
                    (meter_stop, stamp, time.time(), transaction_id),
                )
                details = {"transactionId": transaction_id, "reason": reason, "meterStop": meter_stop}
                events.publish(Event("TransactionReconciled", charger_id, details), conn)
                closed.append(transaction_id)
            return closed

        return self._store.durable(work)

    async def force_close(self, transaction_id: int, meter_stop: int, timestamp: str, operator: str) -> bool:
        """Close an active transaction its charger never stopped (audited); False if it is not active."""
        events = self._events

        def work(conn: sqlite3.Connection) -> str | None:
            row = conn.execute(
                "SELECT charger_id FROM transactions WHERE id = ? AND stopped_at IS NULL", (transaction_id,)
            ).fetchone()
            if row is None:
                return None
            conn.execute(
                "UPDATE transactions SET meter_stop = ?, stop_time = ?, stop_reason = 'Other', "
                "stopped_at = ?, stop_flag = 'ForcedClose' WHERE id = ?",
                (meter_stop, timestamp, time.time(), transaction_id),
            )
            events.publish(
                Event(
                    "TransactionForceClosed", row[0], {"transactionId": transaction_id, "operator": operator}
                ),
                conn,
            )
            return str(row[0])

        charger_id = await self._store.durable(work)
        if charger_id is None:
            return False
        self._closed(charger_id, [transaction_id])
        return True
