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
later still wins. "Started before" is judged between instants (the protocol layer parses each time
once, where it comes in: `voltyard.ocpp.timefmt.charger_instant`), never between the texts:
`10:30:00+01:00` is before `10:00:00Z`. Timestamps in the future (beyond a tolerance) or before 2000 are
flagged as clock skew and stored as sent; a charger whose MeterValues carry such a time gets one ClockSkew
event, until its readings carry a right time again (judged at most once a second per charger).

Every reading is bound to the charger that sent it. MeterValues naming a transaction open on another
charger are stored as the sender's readings without that transaction (a Warning ForeignTransaction event,
once per charger and id, and a log line), so that they count for neither; readers of a transaction's
readings (reconciliation's last energy, the API) take only those of the transaction's own charger.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson

from voltyard._native import MeterValuesRead, clock_skewed, normalise_sampled_values, read_meter_values
from voltyard.events.bus import EventBus
from voltyard.events.kinds import ClockSkew as ClockSkewEvent
from voltyard.events.kinds import Event, MeterValues, TransactionStopFlagged, Warning
from voltyard.store import transaction_events as tx_events
from voltyard.store import transactions as tx_store
from voltyard.store.connection import Connection
from voltyard.store.meter_log import MeterLog
from voltyard.store.writer import StoreWriter

__all__ = ["ClockSkew", "StopOutcome", "Transactions"]

log = logging.getLogger(__name__)

R = TypeVar("R")
T = TypeVar("T")

# What an INTEGER column of the store holds (SQLite: signed 64-bit); the same range the OCPP router checks.
_STORE_INTEGERS = range(-(2**63), 2**63)


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
        self._append_read = self._meters.append_read  # the native method, bound once
        self.skewed = clock_skew or ClockSkew(300.0)
        self.power_w: dict[tuple[str, int], float] = {}
        # Open transactions by (charger, connector): {transaction id: start timestamp}, so that status
        # notifications can find zombies without a query.
        self.open: dict[tuple[str, int], dict[int, str]] = {}
        # Of each open transaction: its charger (whose readings alone are its readings) and its start as
        # an instant (what reconciliation compares).
        self._owner: dict[int, str] = {}
        self._started_at: dict[int, float] = {}
        # Of each open OCPP 2.x transaction: the charger's own (text) transactionId, which a 2.x TxProfile
        # names (the site power manager's).
        self.charger_tx_ids: dict[int, str] = {}
        # Chargers told of once: MeterValues with a skewed clock (until a right one), and (charger,
        # transaction id) pairs of readings naming another charger's transaction.
        self._skew_told: set[str] = set()
        # When each charger's MeterValues times were last judged: at most once a second per charger, as a
        # clock does not flip from frame to frame (each stored reading is still flagged, natively); a busy
        # charger's readings are then not read twice per frame on the hot path.
        self._skew_judged: dict[str, float] = {}
        self._foreign_told: set[tuple[str, int]] = set()
        # Of each open 2.x transaction this process stored an event of, by (charger, transactionId): its
        # integer id, its connector and the highest seqNo stored or queued. An Updated above that seqNo is
        # new (`event`'s fast path); the integer id finds the key again when the transaction closes.
        self._known_2x: dict[tuple[str, str], list[int]] = {}
        self._known_2x_key: dict[int, tuple[str, str]] = {}

    def _opened(
        self, charger_id: str, connector_id: int, transaction_id: int, start_time: str, started_at: float
    ) -> None:
        self.open.setdefault((charger_id, connector_id), {})[transaction_id] = start_time
        self._owner[transaction_id] = charger_id
        self._started_at[transaction_id] = started_at

    def load(self, conn: Connection) -> None:
        for transaction_id, charger_id, connector_id, start_time in tx_store.load_open(conn):
            self._opened(charger_id, connector_id, transaction_id, start_time, _stored_instant(start_time))
        self.charger_tx_ids.update(tx_events.open_charger_tx_ids(conn))

    def open_on(self, charger_id: str, connector_id: int | None = None) -> list[int]:
        """Open transaction ids of a charger (of one connector when given)."""
        return [
            transaction_id
            for (charger, connector), opened in self.open.items()
            if charger == charger_id and connector_id in (None, connector)
            for transaction_id in opened
        ]

    def _closed(self, charger_id: str, transaction_ids: list[int]) -> None:
        for transaction_id in transaction_ids:
            key_2x = self._known_2x_key.pop(transaction_id, None)
            if key_2x is not None:
                del self._known_2x[key_2x]
        for key in [key for key in self.open if key[0] == charger_id]:
            for transaction_id in transaction_ids:
                if self.open[key].pop(transaction_id, None) is not None:
                    self._owner.pop(transaction_id, None)
                    self._started_at.pop(transaction_id, None)
                    self.charger_tx_ids.pop(transaction_id, None)
                    # The connector's last reading belonged to this session: the next one starts from nothing.
                    self.power_w.pop(key, None)
            if not self.open[key]:
                del self.open[key]

    def start(
        self, charger_id: str, payload: dict[str, Any], started_at: float | None = None
    ) -> asyncio.Future[int]:
        """Allocate (or find, for a replayed start) the transaction id; resolves once it is on disk.
        `started_at`: the instant `payload["timestamp"]` names, as the protocol layer parsed it."""
        if started_at is None:
            started_at = _stored_instant(payload["timestamp"])
        row = tx_store.StartRow(
            charger_id,
            payload["connectorId"],
            payload["idTag"],
            payload["timestamp"],
            payload["meterStart"],
            payload.get("reservationId"),
            self.skewed(payload["timestamp"]),
        )

        def opened(started: tx_store.Started) -> int:
            if started.still_open:
                self._opened(charger_id, row.connector_id, started.transaction_id, row.timestamp, started_at)
            self._notify(started.recorded)
            return started.transaction_id

        return _after_commit(self._store.durable(lambda conn: tx_store.start(conn, row)), opened)

    def event(
        self, charger_id: str, payload: dict[str, Any], received_at: float
    ) -> asyncio.Future[int] | int:
        """Record an OCPP 2.x TransactionEvent (idempotent on charger, transactionId and seqNo): the
        transaction's integer id, or a future of it that resolves once the event is on disk. The transaction
        is open in memory from its first event until its Ended, as a 1.6 one from its start to its stop.

        Started, Ended, and any event this process cannot tell is new, are on disk before the id is given
        (a durable write). The commonest event, an Updated of an open transaction with a seqNo above any
        stored or queued, is new: it is queued as telemetry and committed within the commit interval, its
        meter values in the meter log as 1.6's MeterValues, and its id is given at once. A durable write per
        Updated cost the writer thread more than the rest of the call (bench_server.py --ocpp 2.0.1).
        """
        info = payload["transactionInfo"]
        if payload["eventType"] == "Updated":
            known = self._known_2x.get((charger_id, info["transactionId"]))
            if known is not None and payload["seqNo"] > known[2]:
                return self._updated(charger_id, payload, received_at, known)
        meter_value = payload.get("meterValue", [])
        meters = self._readings_2x(charger_id, meter_value, received_at)
        energy = next((row[5] for row in reversed(meters) if row[5] is not None), None)
        id_token = payload.get("idToken")
        row = tx_events.EventRow(
            charger_id,
            info["transactionId"],
            payload["seqNo"],
            payload["eventType"],
            payload["triggerReason"],
            bool(payload.get("offline", False)),
            payload["timestamp"],
            payload.get("evse", {}).get("id", 0),
            id_token["idToken"] if id_token is not None else None,
            info.get("stoppedReason"),
            energy,
            orjson.dumps(payload).decode(),
            received_at,
            self.skewed(payload["timestamp"]),
            meters,
        )

        def finish(outcome: tx_events.EventOutcome) -> int:
            transaction_id = outcome.transaction_id
            if outcome.still_open:
                started_at = _stored_instant(outcome.start_time)
                self._opened(charger_id, outcome.connector_id, transaction_id, outcome.start_time, started_at)
                self.charger_tx_ids[transaction_id] = row.charger_tx_id
                key = (charger_id, row.charger_tx_id)
                known = self._known_2x.get(key)
                if known is None:
                    self._known_2x[key] = [transaction_id, outcome.connector_id, outcome.highest_seq_no]
                    self._known_2x_key[transaction_id] = key
                elif outcome.highest_seq_no > known[2]:
                    known[2] = outcome.highest_seq_no
                for meter in meters:
                    self._measured(charger_id, outcome.connector_id, transaction_id, meter[5], meter[6])
            else:
                self._closed(charger_id, [transaction_id])
            self._notify(outcome.recorded)
            return transaction_id

        return _after_commit(self._store.durable(lambda conn: tx_events.record_event(conn, row)), finish)

    def _updated(self, charger_id: str, payload: dict[str, Any], received_at: float, known: list[int]) -> int:
        """An Updated known to be new (`event`): its row and its readings queued as telemetry."""
        transaction_id, connector_id, _ = known
        seq_no = known[2] = payload["seqNo"]
        append = self._meters.append
        for value in payload.get("meterValue", ()):
            sampled, timestamp = value["sampledValue"], value["timestamp"]
            energy_wh, power_w = _energy_and_power_2x(sampled)
            append(charger_id, connector_id, transaction_id, timestamp, orjson.dumps(sampled), energy_wh,
                   power_w, received_at, self.skewed(timestamp))  # fmt: skip
            self._measured(charger_id, connector_id, transaction_id, energy_wh, power_w)
        tx_events.append_event(
            self._store,
            (charger_id, payload["transactionInfo"]["transactionId"], seq_no, transaction_id, "Updated",
             payload["triggerReason"], int(payload.get("offline", False)), payload["timestamp"],
             orjson.dumps(payload).decode(), received_at),
        )  # fmt: skip
        return transaction_id

    def _readings_2x(
        self, charger_id: str, meter_value: list[dict[str, Any]], received_at: float
    ) -> list[tx_store.MeterRow]:
        """2.x meterValue items as rows of `meter_values` (connector and transaction filled in by the
        caller), energy and power normalised to Wh and W."""
        rows: list[tx_store.MeterRow] = []
        for value in meter_value:
            energy_wh, power_w = _energy_and_power_2x(value["sampledValue"])
            rows.append(
                (charger_id, None, None, value["timestamp"], orjson.dumps(value["sampledValue"]).decode(),
                 energy_wh, power_w, received_at, self.skewed(value["timestamp"]))
            )  # fmt: skip
        return rows

    def meter_values_2x(self, charger_id: str, payload: dict[str, Any], received_at: float) -> None:
        """An OCPP 2.x MeterValues (readings outside a TransactionEvent): stored within the commit interval,
        as 1.6's; EVSE n is connector n."""
        rows = self._readings_2x(charger_id, payload["meterValue"], received_at)
        tx_events.append_readings(self._store, [(row[0], payload["evseId"], *row[2:]) for row in rows])
        for row in rows:
            self._measured(charger_id, payload["evseId"], None, row[5], row[6])

    def _measured(
        self,
        charger_id: str,
        connector_id: int,
        transaction_id: int | None,
        energy_wh: float | None,
        power_w: float | None,
    ) -> None:
        """A 2.x reading counted as 1.6's MeterValues are (`record_meter_values`): the connector's power now
        (the site's power and the power manager's measurements read it) and the live stream (the console)."""
        if power_w is not None:
            self.power_w[charger_id, connector_id] = power_w
        if self._events.want_live:
            self._events.live(MeterValues(charger_id, connector_id, transaction_id, energy_wh, power_w))

    def _notify(self, recorded: tuple[Event, ...]) -> None:
        """Tell the subscribers of the events a durable write recorded (on the loop, after its commit)."""
        for event in recorded:
            self._events.notify(event)

    def _stopped(
        self, written: asyncio.Future[tx_store.Stopped], charger_id: str, transaction_id: int
    ) -> asyncio.Future[StopOutcome]:
        def finish(stopped: tx_store.Stopped) -> StopOutcome:
            # Again, once on disk: a stop pipelined before its start's answer was taken from memory before
            # the start's commit put the transaction there (the writer commits in order, so the start's
            # callback has run by now); without this the transaction stays active in memory forever.
            self._closed(charger_id, [transaction_id])
            self._notify(stopped.recorded)
            return StopOutcome(transaction_id, stopped.flag)

        return _after_commit(written, finish)

    def stop(self, charger_id: str, payload: dict[str, Any]) -> asyncio.Future[StopOutcome]:
        """Record a StopTransaction, whatever the store knew of it; resolves once it is on disk."""
        transaction_id: int = payload["transactionId"]
        data = payload.get("transactionData")
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
        row = tx_store.StopRow(
            charger_id,
            transaction_id,
            payload["meterStop"],
            payload["timestamp"],
            payload.get("reason"),
            payload.get("idTag"),
            orjson.dumps(data).decode() if data is not None else None,
            received,
            self.skewed(payload["timestamp"]),
        )
        self._closed(charger_id, [transaction_id])
        if transaction_id not in _STORE_INTEGERS or payload["meterStop"] not in _STORE_INTEGERS:
            return self._stop_out_of_range(row, payload, data, meters)
        written = self._store.durable(lambda conn: tx_store.stop(conn, row, meters))
        return self._stopped(written, row.charger_id, transaction_id)

    def _stop_out_of_range(
        self, row: tx_store.StopRow, payload: dict[str, Any], data: object, meters: list[tuple[Any, ...]]
    ) -> asyncio.Future[StopOutcome]:
        """Record a stop with a transactionId or meterStop the store cannot hold (module docstring)."""
        transaction_id: int = payload["transactionId"]
        known_id = transaction_id in _STORE_INTEGERS
        details = TransactionStopFlagged(
            row.charger_id,
            transaction_id if known_id else str(transaction_id),
            "OutOfRange",
            payload["meterStop"] if payload["meterStop"] in _STORE_INTEGERS else str(payload["meterStop"]),
            payload.get("reason"),
            timestamp=payload["timestamp"],
            id_tag=payload.get("idTag"),
            transaction_data=data,
        )
        written = self._store.durable(
            lambda conn: tx_store.stop_out_of_range(conn, row, meters, known_id, details)
        )
        return self._stopped(written, row.charger_id, transaction_id)

    def meter_values(self, charger_id: str, payload: dict[str, Any]) -> None:
        """Store the readings of a MeterValues request payload (plain objects; see `record_meter_values`)."""
        self.record_meter_values(charger_id, read_meter_values(payload), time.time())

    def record_meter_values(self, charger_id: str, read: MeterValuesRead, received_at: float) -> None:
        """Store each meterValue as sent plus its normalised energy and power (committed within 1 s), as the
        sender's readings (module docstring: another charger's transaction is not attached)."""
        # The hot path (most frames a charger sends): each attribute of the native `read` is read once, and
        # the clock is judged at most once a second per charger (`_skew_judged`).
        skew_limit = received_at + self.skewed.tolerance
        transaction_id = read.transaction_id
        if transaction_id is None or self._owner.get(transaction_id, charger_id) == charger_id:
            self._append_read(charger_id, read, received_at, skew_limit)
        else:
            self._foreign_readings(charger_id, read, transaction_id, received_at, skew_limit)
        skew_judged = self._skew_judged
        if received_at - skew_judged.get(charger_id, 0.0) >= 1.0:
            skew_judged[charger_id] = received_at
            self._check_skew(charger_id, read, skew_limit)
        power_w = read.power_w
        if power_w is not None:
            self.power_w[charger_id, read.connector_id] = power_w
        if self._events.want_live:
            for _, _, energy_wh, power_w in read.readings:
                reading = MeterValues(charger_id, read.connector_id, read.transaction_id, energy_wh, power_w)
                self._events.live(reading)

    def _foreign_readings(
        self,
        charger_id: str,
        read: MeterValuesRead,
        transaction_id: int,
        received_at: float,
        skew_limit: float,
    ) -> None:
        """Readings naming a transaction open on another charger: the sender's, without that transaction."""
        for timestamp, sampled, energy_wh, power_w in read.readings:
            skewed = clock_skewed(timestamp, skew_limit)
            self._meters.append(
                charger_id,
                read.connector_id,
                None,
                timestamp,
                sampled,
                energy_wh,
                power_w,
                received_at,
                skewed,
            )
        if (charger_id, transaction_id) not in self._foreign_told:
            self._foreign_told.add((charger_id, transaction_id))
            log.warning(
                "%s sent MeterValues naming transaction %d of %s: stored as its own readings, without it",
                charger_id,
                transaction_id,
                self._owner[transaction_id],
            )
            self._events.publish(Warning(charger_id, "ForeignTransaction", transaction_id))

    def _check_skew(self, charger_id: str, read: MeterValuesRead, skew_limit: float) -> None:
        """One ClockSkew event for a charger whose readings carry a skewed time, until a right one comes."""
        for timestamp, _, _, _ in read.readings:
            if clock_skewed(timestamp, skew_limit):
                if charger_id not in self._skew_told:
                    self._skew_told.add(charger_id)
                    self._events.publish(ClockSkewEvent(charger_id, timestamp, "MeterValues"))
                return
        self._skew_told.discard(charger_id)

    def reconcile(
        self, charger_id: str, reason: str, connector_id: int | None = None, before: float | None = None
    ) -> asyncio.Future[list[int]]:
        """Close the charger's open transactions (of one connector, started before the instant `before`, when
        given) as reconciled, with the last energy reading known; resolves to the ids closed, once on disk."""
        candidates = [
            transaction_id
            for (charger, connector), opened in self.open.items()
            if charger == charger_id and connector_id in (None, connector)
            for transaction_id in opened
            if before is None or self._started_at[transaction_id] < before
        ]
        self._closed(charger_id, candidates)
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        written = self._store.durable(
            lambda conn: tx_store.reconcile(conn, charger_id, candidates, reason, stamp)
        )

        def finish(closed: tx_store.Closed) -> list[int]:
            self._notify(closed.recorded)
            return list(closed.transaction_ids)

        return _after_commit(written, finish)

    async def force_close(self, transaction_id: int, meter_stop: int, timestamp: str, operator: str) -> bool:
        """Close an active transaction its charger never stopped (audited); False if it is not active."""
        closed = await self._store.durable(
            lambda conn: tx_store.force_close(conn, transaction_id, meter_stop, timestamp, operator)
        )
        if closed.charger_id is None:
            return False
        self._notify(closed.recorded)
        self._closed(closed.charger_id, [transaction_id])
        return True


# What the meter log keeps of a reading, as the native normaliser reads 1.6's (voltyard-core ocppj/meter.rs
# `normalise`): phase-less samples of these measurands (energy when none is named) in these units.
_ENERGY_REGISTER, _POWER_IMPORT = "Energy.Active.Import.Register", "Power.Active.Import"
_ENERGY_SCALE = {"Wh": 1.0, "kWh": 1000.0}
_POWER_SCALE = {"W": 1.0, "kW": 1000.0}


def _energy_and_power_2x(sampled: list[dict[str, Any]]) -> tuple[float | None, float | None]:
    """The energy (Wh) and power (W) of 2.x sampled values, by the native normaliser's rules for 1.6 (the
    last phase-less energy register and active import power readings; Wh when no unit is given, as 2.x's
    unitOfMeasure says), the value scaled by its unit's multiplier.

    Read here rather than converted to the 1.6 shape for the native normaliser: the conversion cost more
    than the rest of an Updated TransactionEvent's handling. The multiplier is any integer the schema
    allows: scaled in floating point (an integer power of a huge exponent would take the loop for minutes);
    a value beyond a float is no reading (its JSON is stored).
    """
    energy = power = None
    for item in sampled:
        if "phase" in item:
            continue
        measurand = item.get("measurand", _ENERGY_REGISTER)
        if measurand == _ENERGY_REGISTER:
            scales = _ENERGY_SCALE
        elif measurand == _POWER_IMPORT:
            scales = _POWER_SCALE
        else:
            continue
        unit = item.get("unitOfMeasure", {})
        scale = scales.get(unit.get("unit", "Wh"))
        if scale is None:
            continue
        try:
            value = item["value"] * 10.0 ** unit.get("multiplier", 0)
        except OverflowError:
            continue
        if not math.isfinite(value):
            continue
        if scales is _ENERGY_SCALE:
            energy = value * scale
        else:
            power = value * scale
    return energy, power


def _stored_instant(text: str) -> float:
    """The instant of a start time as stored (an RFC 3339 date-time, which the codec let in); one that does
    not parse (a row from before times were checked at the edge) is taken as long ago: a zombie."""
    try:
        return datetime.fromisoformat(text.upper().replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def _after_commit(written: asyncio.Future[R], finish: Callable[[R], T]) -> asyncio.Future[T]:
    """A future of `finish(result)`, run on the loop once `written` (a durable write) is committed.

    `finish` runs whether or not anyone still waits for the answer (a charger that went away meanwhile):
    what is on disk, memory and the subscribers hear of all the same.
    """
    done: asyncio.Future[T] = asyncio.get_running_loop().create_future()

    def settle(future: asyncio.Future[R]) -> None:
        if future.cancelled():
            if not done.done():
                done.cancel()
            return
        error = future.exception()
        if error is not None:
            if not done.done():
                done.set_exception(error)
            return
        result = finish(future.result())
        if not done.done():
            done.set_result(result)

    written.add_done_callback(settle)
    return done
