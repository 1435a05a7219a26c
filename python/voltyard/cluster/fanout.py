"""Fan-out: the events of every node reach every node, in one order, with one sequence.

Why a Redis Stream and not INCR + PUBLISH: pub/sub keeps nothing, so a node whose link blinked, or that
was slow, would miss events and show a fleet log with holes; a stream keeps the events (bounded with
`MAXLEN ~`), each node reads it from its own cursor (XREAD BLOCK) and resumes where it stopped after an
outage, in the same order as every other node. The sequence is the stream's order: one Lua script takes
the next number (INCR) and appends the event with the entry id `<seq>-0`, atomically, so the sequence
number and the order agree on every node and a node's cursor is just the last sequence it read.

If Redis lost its data (restarted without persistence), INCR would start again at 1: the publisher passes
the highest sequence it has seen as a floor, so the numbers keep growing past what any node has read.
A node that finds a hole in the sequence (its cursor fell behind the stream's trimming, or Redis lost
events) logs it and counts it in `gaps`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from voltyard.cluster.bus import BUS_ERRORS, Bus, cancel_and_wait
from voltyard.events.kinds import EventRow

__all__ = ["Fanout", "FleetEvent", "FleetSubscriber"]

log = logging.getLogger(__name__)

# KEYS: seq key, stream. ARGV: floor, maxlen, node, time, kind, charger ('' for none), data.
_PUBLISH = """
local seq = redis.call('INCR', KEYS[1])
local floor = tonumber(ARGV[1])
if seq <= floor then
  seq = floor + 1
  redis.call('SET', KEYS[1], seq)
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], seq .. '-0',
  'node', ARGV[3], 'time', ARGV[4], 'kind', ARGV[5], 'charger', ARGV[6], 'data', ARGV[7])
return seq
"""

_BACKOFF_FIRST = 0.05
_BACKOFF_CAP = 1.0


@dataclass(frozen=True, slots=True)
class FleetEvent:
    """An event of the fleet as every node sees it: its sequence, the node that published it, and the
    event as the event log stores it (`Event.row()`: time, kind, charger id, data as JSON text)."""

    seq: int
    node_id: str
    row: EventRow

    def data(self) -> dict[str, Any]:
        found = orjson.loads(self.row[3])
        return found if isinstance(found, dict) else {}


FleetSubscriber = Callable[[FleetEvent], None]


def _entries(found: Any) -> list[tuple[str, dict[str, str]]]:  # noqa: ANN401 (redis-py types XREAD loosely)
    """XREAD's answer for one stream as (entry id, fields): RESP2 gives [[stream, entries]], RESP3 a map."""
    streams = found.values() if isinstance(found, dict) else [entries for _, entries in found or ()]
    return [(str(entry_id), dict(fields or {})) for entries in streams for entry_id, fields in entries]


class Fanout:
    """Publishes this node's events to the fleet stream and delivers every node's to the subscribers.

    Args:
        bus: The node's bus.
        maxlen: About how many events the stream keeps (a node away longer than that misses some).
        block_ms: How long one XREAD waits for new events.
    """

    def __init__(self, bus: Bus, *, maxlen: int = 100_000, block_ms: int = 1000) -> None:
        self._bus = bus
        self._keys = bus.keys
        self._maxlen = maxlen
        self._block_ms = block_ms
        self._publish = bus.redis.register_script(_PUBLISH)
        self._subscribers: list[FleetSubscriber] = []
        self._task: asyncio.Task[None] | None = None
        # The highest sequence this node has published or read (the floor of the next publication), and
        # the last one its reader delivered (holes are found against it).
        self.last_seq = 0
        self.read_seq = 0
        self.gaps = 0

    def subscribe(self, subscriber: FleetSubscriber) -> Callable[[], None]:
        """Call `subscriber` for every fleet event from now on; returns the function that unsubscribes."""
        self._subscribers.append(subscriber)
        return lambda: self._subscribers.remove(subscriber)

    async def start(self, *, from_seq: int | None = None) -> None:
        """Start reading: after `from_seq`, or (None) after the last event in the stream now."""
        if from_seq is None:
            found = await self._bus.redis.get(self._keys.event_seq)
            from_seq = int(found) if found is not None else 0
        self.last_seq = from_seq
        self.read_seq = from_seq
        self._task = asyncio.create_task(self._read(), name=f"cluster fanout {self._bus.node_id}")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None

    async def publish(self, row: EventRow) -> int:
        """Append the event `row` to the fleet stream; returns its sequence number. Raises redis-py's
        errors (`BUS_ERRORS`) when Redis is unreachable: the caller's own log keeps the event."""
        time_, kind, charger_id, data = row
        seq = int(
            await self._publish(
                keys=[self._keys.event_seq, self._keys.events],
                args=[
                    self.last_seq,
                    self._maxlen,
                    self._bus.node_id,
                    repr(time_),
                    kind,
                    charger_id or "",
                    data,
                ],
            )
        )
        self.last_seq = max(self.last_seq, seq)
        return seq

    async def _read(self) -> None:
        cursor = f"{self.read_seq}-0"
        backoff = _BACKOFF_FIRST
        while True:
            try:
                found = await self._bus.redis.xread(
                    {self._keys.events: cursor}, count=500, block=self._block_ms
                )
                backoff = _BACKOFF_FIRST
            except BUS_ERRORS as exc:
                log.debug("cluster: fan-out read failed: %s", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _BACKOFF_CAP)
                continue
            for entry_id, fields in _entries(found):
                cursor = entry_id
                self._deliver(int(entry_id.partition("-")[0]), fields)

    def _deliver(self, seq: int, fields: dict[str, str]) -> None:
        if seq > self.read_seq + 1:
            self.gaps += 1
            log.warning("cluster: fleet events %d..%d were lost to this node", self.read_seq + 1, seq - 1)
        self.read_seq = seq
        self.last_seq = max(self.last_seq, seq)
        charger_id = fields.get("charger") or None
        event = FleetEvent(
            seq,
            fields.get("node", ""),
            (float(fields.get("time", 0.0)), fields.get("kind", ""), charger_id, fields.get("data", "{}")),
        )
        for subscriber in list(self._subscribers):
            try:
                subscriber(event)
            except Exception:
                log.exception("cluster: fleet event subscriber failed on %s", event.row[1])
