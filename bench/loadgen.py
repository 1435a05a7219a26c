"""The benchmark's charger fleet: lean picows clients that boot, then send calls in a closed loop.

Each client keeps exactly one call outstanding: when the answer arrives it records the latency and sends
the next call of a fixed mix (MeterValues 60 %, Heartbeat 30 %, StatusNotification 10 %). Frames are
pre-encoded; an answer is matched by its message id without parsing the JSON, so that the generator
spends as little CPU per call as possible and the server under test is the bottleneck.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import orjson
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

_MIX = ("MeterValues",) * 6 + ("Heartbeat",) * 3 + ("StatusNotification",)

_PAYLOADS = {
    "MeterValues": {
        "connectorId": 1,
        "transactionId": 58231,
        "meterValue": [
            {
                "timestamp": "2026-11-25T10:16:00Z",
                "sampledValue": [
                    {"value": "1523417", "context": "Sample.Periodic", "format": "Raw",
                     "measurand": "Energy.Active.Import.Register", "location": "Outlet", "unit": "Wh"},
                    {"value": "10987.5", "context": "Sample.Periodic", "format": "Raw",
                     "measurand": "Power.Active.Import", "location": "Outlet", "unit": "W"},
                    {"value": "15.9", "context": "Sample.Periodic", "format": "Raw",
                     "measurand": "Current.Import", "phase": "L1", "location": "Outlet", "unit": "A"},
                    {"value": "230.4", "context": "Sample.Periodic", "format": "Raw", "measurand": "Voltage",
                     "phase": "L1-N", "location": "Outlet", "unit": "V"},
                ],
            }
        ],
    },
    "Heartbeat": {},
    "StatusNotification": {"connectorId": 1, "errorCode": "NoError", "status": "Charging",
                           "timestamp": "2026-11-25T10:42:07Z"},
}  # fmt: skip
_BOOT = orjson.dumps({"chargePointVendor": "Voltyard", "chargePointModel": "bench"})


def _tail(action: str) -> bytes:
    """`","Action",{payload}]`: everything after the message id."""
    return b'","' + action.encode() + b'",' + orjson.dumps(_PAYLOADS[action]) + b"]"


_TAILS = [_tail(action) for action in _MIX]


@dataclass
class FleetStats:
    """What the fleet observed; latencies in nanoseconds."""

    booted: int = 0
    calls: int = 0
    errors: int = 0
    in_flight: int = 0
    latencies_ns: list[int] = field(default_factory=list)
    recording: bool = False
    running: bool = True


class BenchCharger(WSListener):  # type: ignore[misc]
    __slots__ = ("booted_future", "n", "sent_at", "stats", "transport")

    def __init__(self, stats: FleetStats, booted_future: asyncio.Future[None]) -> None:
        self.stats = stats
        self.booted_future = booted_future
        self.transport: WSTransport | None = None
        self.n = 0
        self.sent_at = 0

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        transport.send(WSMsgType.TEXT, b'[2,"boot","BootNotification",' + _BOOT + b"]")

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is not WSMsgType.TEXT:
            return
        received = time.perf_counter_ns()
        data = frame.get_payload_as_bytes()
        stats = self.stats
        if not self.booted_future.done():
            self.booted_future.set_result(None)
            stats.booted += 1
            return
        stats.in_flight -= 1
        if data[1:2] != b"3":
            stats.errors += 1
        if stats.recording:
            stats.calls += 1
            stats.latencies_ns.append(received - self.sent_at)
        if stats.running:
            self.send_next()

    def send_next(self) -> None:
        self.stats.in_flight += 1
        self.n += 1
        n = self.n
        self.sent_at = time.perf_counter_ns()
        assert self.transport is not None
        self.transport.send(WSMsgType.TEXT, b'[2,"' + str(n).encode() + _TAILS[n % 10])

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if not self.booted_future.done():
            self.booted_future.set_exception(ConnectionError("disconnected before boot"))


async def connect_fleet(
    url: str, count: int, stats: FleetStats, concurrency: int = 500
) -> tuple[list[BenchCharger], list[WSTransport], float]:
    """Connect and boot `count` chargers; returns them, their transports and the seconds it took."""
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(concurrency)
    chargers: list[BenchCharger] = []
    transports: list[WSTransport] = []

    async def one(index: int) -> None:
        async with gate:
            booted: asyncio.Future[None] = loop.create_future()
            transport, charger = await ws_connect(
                lambda: BenchCharger(stats, booted),
                f"{url}/BENCH{index:05d}",
                extra_headers={"Sec-WebSocket-Protocol": "ocpp1.6"},
                websocket_handshake_timeout=60,
            )
            await booted
            chargers.append(charger)
            transports.append(transport)

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(count)))
    return chargers, transports, time.perf_counter() - started


async def pause_fleet(stats: FleetStats, timeout: float = 30.0) -> None:
    """Stop sending new calls and wait until every call in flight is answered."""
    stats.running = False
    deadline = time.monotonic() + timeout
    while stats.in_flight > 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.01)


def resume_fleet(fleet: list[BenchCharger], stats: FleetStats) -> None:
    """Every charger sends its next call, and keeps one outstanding from then on."""
    stats.running = True
    for charger in fleet:
        charger.send_next()


async def disconnect_fleet(transports: list[WSTransport]) -> None:
    for transport in transports:
        transport.disconnect()
    await asyncio.gather(*(transport.wait_disconnected() for transport in transports))
