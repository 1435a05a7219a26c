"""Meter readings: every meterValue a charger sends, as sent plus its energy (Wh) and power (W).

MeterValues is the commonest message of a fleet, so its readings are stored the way the message log stores
frames: packed by the native module as they come (`MeterReadingBuffer.append_read`, one call per request) and
written at each store hand-over as one LZ4-compressed block per series (charger, connector, transaction),
compressed in the writer thread. A `meter_blocks` row carries its series, its first and last timestamp and
its last energy and power readings, so the questions asked often (a transaction's last energy) need no
decompression. A row per reading cost the writer several microseconds each, most of it SQLite storing the
raw sampledValue JSON.

Readings that come with a StopTransaction (its transactionData) are written with the stop, in the same
durable commit, as `meter_values` rows, which is also where every reading of a store before version 5 is.
`meter_readings` reads both.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass

from voltyard._native import MeterReadingBuffer, decompress_block, unpack_readings
from voltyard.errors import LogBlockError
from voltyard.store.connection import Connection
from voltyard.store.writer import StoreWriter, Work

__all__ = ["MeterLog", "MeterReading", "decode_meter_block", "last_energy_wh", "meter_readings"]

log = logging.getLogger(__name__)

_INSERT = (
    "INSERT INTO meter_blocks (charger_id, connector_id, transaction_id, first_timestamp, last_timestamp, "
    "count, energy_wh, power_w, data, stored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


@dataclass(frozen=True, slots=True)
class MeterReading:
    """One stored meterValue."""

    charger_id: str
    connector_id: int
    transaction_id: int | None
    timestamp: str
    sampled_value: str
    energy_wh: float | None
    power_w: float | None
    received_at: float
    clock_skew: bool


class MeterLog:
    """Buffers readings and writes them as blocks; see the module docstring."""

    def __init__(self, store: StoreWriter) -> None:
        self._buffer = MeterReadingBuffer()
        # `append(charger_id, connector_id, transaction_id, timestamp, sampled_value_json, energy_wh, power_w,
        # received_at, clock_skew)`: the native method itself, no Python frame per reading.
        self.append = self._buffer.append
        # `append_read(charger_id, read, received_at, skew_limit)`: every reading of a natively read
        # MeterValues in one call, its clock-skew flag judged natively.
        self.append_read = self._buffer.append_read
        store.add_collector(self._collect)

    def _collect(self) -> Work | None:
        """At each hand-over: what the buffer holds, written as blocks stamped with the time they are stored
        (retention compares that instant, never a charger's timestamps as text)."""
        if not len(self._buffer):
            return None
        taken = self._buffer.take()

        def write(conn: Connection) -> None:
            stored_at = time.time()
            conn.executemany(_INSERT, [(*block, stored_at) for block in taken.blocks()])

        return write


def decode_meter_block(
    charger_id: str, connector_id: int, transaction_id: int | None, data: bytes
) -> Iterator[MeterReading]:
    """The readings of a block, oldest first (the records are decoded natively, voltyard-core's blocks)."""
    try:
        readings = unpack_readings(decompress_block(data))
    except LogBlockError as exc:
        raise LogBlockError(f"meter block of {charger_id}: {exc}") from exc
    for received, energy, power, skew, timestamp, sampled in readings:
        yield MeterReading(
            charger_id, connector_id, transaction_id, timestamp, sampled, energy, power, received, skew
        )


def meter_readings(
    conn: Connection, *, charger_id: str | None = None, transaction_id: int | None = None
) -> list[MeterReading]:
    """The stored readings (of one charger, of one transaction, when given) in the order received."""
    if transaction_id is not None and charger_id is None:
        # A transaction's readings are those its own charger sent: another charger's naming its id are not.
        owner = conn.execute("SELECT charger_id FROM transactions WHERE id = ?", (transaction_id,)).fetchone()
        charger_id = owner[0] if owner is not None else None
    filters = (("charger_id", charger_id), ("transaction_id", transaction_id))
    given = {column: value for column, value in filters if value is not None}
    where = " AND ".join(f"{column} = ?" for column in given) or "1 = 1"
    params = list(given.values())
    found = [
        MeterReading(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], bool(row[8]))
        for row in conn.execute(
            "SELECT charger_id, connector_id, transaction_id, timestamp, sampled_value, energy_wh, power_w, "
            f"received_at, clock_skew FROM meter_values WHERE {where} ORDER BY id",
            params,
        )
    ]
    for block_id, charger, connector, transaction, data in conn.execute(
        "SELECT id, charger_id, connector_id, transaction_id, data FROM meter_blocks "
        f"WHERE {where} ORDER BY id",
        params,
    ):
        try:
            found += list(decode_meter_block(charger, connector, transaction, data))
        except LogBlockError as exc:
            # One damaged block must not hide the other readings.
            log.error("meter block %d of %s skipped: %s", block_id, charger, exc)
    found.sort(key=lambda reading: reading.received_at)  # stable: blocks keep their order
    return found


def last_energy_wh(conn: Connection, charger_id: str, transaction_id: int) -> float | None:
    """The last energy reading the transaction's own charger stored for it, None if it has none."""
    for sql in (
        "SELECT energy_wh FROM meter_blocks WHERE transaction_id = ? AND charger_id = ? "
        "AND energy_wh IS NOT NULL ORDER BY id DESC LIMIT 1",
        "SELECT energy_wh FROM meter_values WHERE transaction_id = ? AND charger_id = ? "
        "AND energy_wh IS NOT NULL ORDER BY id DESC LIMIT 1",
    ):
        row = conn.execute(sql, (transaction_id, charger_id)).fetchone()
        if row is not None:
            return float(row[0])
    return None
