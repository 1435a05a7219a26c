"""Transactions: ids allocated on disk before they are answered, idempotent stops, meter values.

Chargers replay their offline queues after a reconnect, so the same StartTransaction may arrive twice
(it gets the same id back) and a StopTransaction may name a transaction that is unknown, already
stopped, or stopped twice. Every stop is answered and recorded with a flag, never refused: a refused
stop is retried by the charger forever.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

import orjson

from voltyard.events import Event, EventBus
from voltyard.store.writer import StoreWriter

__all__ = ["StopOutcome", "Transactions", "normalise_sampled_values"]

_INSERT_TX = """
INSERT INTO transactions (charger_id, connector_id, id_tag, start_time, meter_start, reservation_id,
                          started_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (charger_id, connector_id, id_tag, start_time, meter_start) DO NOTHING
"""
_FIND_TX = """
SELECT id FROM transactions
WHERE charger_id = ? AND connector_id = ? AND id_tag = ? AND start_time = ? AND meter_start = ?
"""
_INSERT_STOP = """
INSERT INTO stop_records (charger_id, transaction_id, id_tag, meter_stop, timestamp, reason, transaction_data,
                          received_at, flag)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
INSERT_METER = """
INSERT INTO meter_values (charger_id, connector_id, transaction_id, timestamp, sampled_value, energy_wh,
                          power_w, received_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
"""

_ENERGY = "Energy.Active.Import.Register"
_POWER = "Power.Active.Import"
_ENERGY_SCALE = {"Wh": 1.0, "kWh": 1000.0}
_POWER_SCALE = {"W": 1.0, "kW": 1000.0}


@dataclass(frozen=True, slots=True)
class StopOutcome:
    """How a StopTransaction related to what the store knew: Stopped, Unknown, Duplicate or AlreadyStopped."""

    transaction_id: int
    flag: str


def normalise_sampled_values(sampled: list[dict[str, Any]]) -> tuple[float | None, float | None]:
    """Energy (Wh) and power (W) of a sampledValue list, converted from their unit; None where absent.

    Only phase-less (total) values count, so per-phase samples are not mistaken for the total.
    """
    energy = power = None
    for value in sampled:
        if "phase" in value:
            continue
        measurand = value.get("measurand", _ENERGY)
        if measurand == _ENERGY:
            scale = _ENERGY_SCALE.get(value.get("unit", "Wh"))
        elif measurand == _POWER:
            scale = _POWER_SCALE.get(value.get("unit", "W"))
        else:
            continue
        if scale is None:
            continue
        try:
            number = float(value["value"]) * scale
        except ValueError:
            continue
        if measurand == _ENERGY:
            energy = number
        else:
            power = number
    return energy, power


class Transactions:
    """Start, stop and meter values of every charger's transactions."""

    def __init__(self, store: StoreWriter, events: EventBus) -> None:
        self._store = store
        self._events = events
        self.power_w: dict[tuple[str, int], float] = {}

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
        events = self._events

        def work(conn: sqlite3.Connection) -> int:
            inserted = conn.execute(_INSERT_TX, (*key, reservation_id, time.time())).rowcount
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
                if reservation_id is not None:
                    conn.execute(
                        "UPDATE reservations SET status = 'Used', updated_at = ? "
                        "WHERE id = ? AND charger_id = ?",
                        (time.time(), reservation_id, charger_id),
                    )
            return int(transaction_id)

        return self._store.durable(work)

    def stop(self, charger_id: str, payload: dict[str, Any]) -> asyncio.Future[StopOutcome]:
        """Record a StopTransaction, whatever the store knew of it; resolves once it is on disk."""
        transaction_id: int = payload["transactionId"]
        data = payload.get("transactionData")
        data_json = orjson.dumps(data).decode() if data is not None else None
        meters = [
            (
                charger_id,
                None,
                transaction_id,
                value["timestamp"],
                orjson.dumps(value["sampledValue"]).decode(),
                *normalise_sampled_values(value["sampledValue"]),
                time.time(),
            )
            for value in data or []
        ]
        events = self._events

        def work(conn: sqlite3.Connection) -> StopOutcome:
            row = conn.execute(
                "SELECT connector_id, stopped_at, meter_stop, stop_time FROM transactions "
                "WHERE id = ? AND charger_id = ?",
                (transaction_id, charger_id),
            ).fetchone()
            now = time.time()
            if row is None:
                flag = "Unknown"
            elif row[1] is None:
                flag = "Stopped"
                conn.execute(
                    "UPDATE transactions SET meter_stop = ?, stop_time = ?, stop_reason = ?, "
                    "stop_id_tag = ?, stopped_at = ?, transaction_data = ? WHERE id = ?",
                    (
                        payload["meterStop"],
                        payload["timestamp"],
                        payload.get("reason", "Local"),
                        payload.get("idTag"),
                        now,
                        data_json,
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
                    now,
                    flag,
                ),
            )
            if flag != "Duplicate":
                connector_id = row[0] if row is not None else None
                conn.executemany(INSERT_METER, [(m[0], connector_id or 0, *m[2:]) for m in meters])
            kind = "TransactionStopped" if flag == "Stopped" else "TransactionStopFlagged"
            events.publish(
                Event(
                    kind,
                    charger_id,
                    {
                        "transactionId": transaction_id,
                        "flag": flag,
                        "meterStop": payload["meterStop"],
                        "reason": payload.get("reason"),
                    },
                ),
                conn,
            )
            return StopOutcome(transaction_id, flag)

        return self._store.durable(work)

    def meter_values(self, charger_id: str, payload: dict[str, Any]) -> None:
        """Store each meterValue as sent plus its normalised energy and power (committed within 1 s)."""
        connector_id: int = payload["connectorId"]
        transaction_id = payload.get("transactionId")
        now = time.time()
        append = self._store.append
        for value in payload["meterValue"]:
            sampled = value["sampledValue"]
            energy_wh, power_w = normalise_sampled_values(sampled)
            if power_w is not None:
                self.power_w[charger_id, connector_id] = power_w
            append(
                INSERT_METER,
                (
                    charger_id,
                    connector_id,
                    transaction_id,
                    value["timestamp"],
                    orjson.dumps(sampled).decode(),
                    energy_wh,
                    power_w,
                    now,
                ),
            )

    async def force_close(self, transaction_id: int, meter_stop: int, timestamp: str, operator: str) -> bool:
        """Close an active transaction its charger never stopped (audited); False if it is not active."""
        events = self._events

        def work(conn: sqlite3.Connection) -> bool:
            row = conn.execute(
                "SELECT charger_id FROM transactions WHERE id = ? AND stopped_at IS NULL", (transaction_id,)
            ).fetchone()
            if row is None:
                return False
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
            return True

        return await self._store.durable(work)
