"""The benchmark's charger fleet: lean picows clients that boot, then send calls in a closed loop.

Each client keeps exactly one call outstanding: when the answer arrives it records the latency and sends
the next call of a fixed mix (MeterValues 60 %, Heartbeat 30 %, StatusNotification 10 %). Frames are
pre-encoded; an answer is matched by its message id without parsing the JSON, so that the generator
spends as little CPU per call as possible and the server under test is the bottleneck.

With `ocpp="2.0.1"` (connect_fleet, connect_paced_fleet) the chargers offer the `ocpp2.0.1` subprotocol,
boot with a 2.0.1 BootNotification, and send the 2.0.1 mix: TransactionEvent(Updated, a meterValue of four
sampled values) 60 %, Heartbeat 30 %, StatusNotification 10 %. Each charger's first call after boot is a
TransactionEvent(Started, with an idToken) of its own transaction (a fresh uuid4 transactionId), and every
TransactionEvent after it carries the next seqNo of that transaction: the frames are pre-encoded around
the seqNo, which is the only part written per call.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

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

# --- OCPP 2.0.1 frames -------------------------------------------------------------------------------

OCPP_VERSIONS = ("1.6", "2.0.1")
SUBPROTOCOLS = {"1.6": "ocpp1.6", "2.0.1": "ocpp2.0.1"}

MIX_201 = ("TransactionEvent",) * 6 + ("Heartbeat",) * 3 + ("StatusNotification",)

BOOT_201: dict[str, Any] = {
    "reason": "PowerUp",
    "chargingStation": {"vendorName": "Voltyard", "model": "bench"},
}
# A charger in a session sends these, as the 1.6 mix's: the readings of its meter interval (energy, power,
# current, voltage, as bench_native.py's 2.0.1 frame) and its connector's status.
_SAMPLES_201: list[dict[str, Any]] = [
    {"value": 1523417.0, "context": "Sample.Periodic", "measurand": "Energy.Active.Import.Register",
     "location": "Outlet", "unitOfMeasure": {"unit": "Wh"}},
    {"value": 10987.5, "context": "Sample.Periodic", "measurand": "Power.Active.Import", "location": "Outlet",
     "unitOfMeasure": {"unit": "W"}},
    {"value": 15.9, "context": "Sample.Periodic", "measurand": "Current.Import", "phase": "L1",
     "location": "Outlet", "unitOfMeasure": {"unit": "A"}},
    {"value": 230.4, "context": "Sample.Periodic", "measurand": "Voltage", "phase": "L1-N",
     "location": "Outlet", "unitOfMeasure": {"unit": "V"}},
]  # fmt: skip
PAYLOADS_201: dict[str, dict[str, Any]] = {
    "Heartbeat": {},
    "StatusNotification": {"timestamp": "2026-11-25T10:42:07Z", "connectorStatus": "Occupied", "evseId": 1,
                           "connectorId": 1},
}  # fmt: skip
_SEQ_NO_MARK = 987_654_321  # stands for the seqNo in the pre-encoded TransactionEvent(Updated)


def tx_started_201(transaction_id: str) -> dict[str, Any]:
    """The TransactionEvent(Started) that opens a charger's transaction: seqNo 0, with the idToken that
    authorised it and the energy register at the start."""
    return {
        "eventType": "Started",
        "timestamp": "2026-11-25T10:00:00Z",
        "triggerReason": "Authorized",
        "seqNo": 0,
        "transactionInfo": {"transactionId": transaction_id, "chargingState": "Charging"},
        "evse": {"id": 1, "connectorId": 1},
        "idToken": {"idToken": "BENCHTAG", "type": "ISO14443"},
        "meterValue": [
            {
                "timestamp": "2026-11-25T10:00:00Z",
                "sampledValue": [
                    {"value": 1500000.0, "context": "Transaction.Begin",
                     "measurand": "Energy.Active.Import.Register", "location": "Outlet",
                     "unitOfMeasure": {"unit": "Wh"}}
                ],
            }
        ],
    }  # fmt: skip


def tx_updated_201(transaction_id: str, seq_no: int) -> dict[str, Any]:
    """A TransactionEvent(Updated) of the periodic meter values: a meterValue of four sampled values."""
    return {
        "eventType": "Updated",
        "timestamp": "2026-11-25T10:16:00Z",
        "triggerReason": "MeterValuePeriodic",
        "seqNo": seq_no,
        "transactionInfo": {"transactionId": transaction_id, "chargingState": "Charging"},
        "evse": {"id": 1, "connectorId": 1},
        "meterValue": [{"timestamp": "2026-11-25T10:16:00Z", "sampledValue": _SAMPLES_201}],
    }


def boot_frame_201() -> bytes:
    return b'[2,"boot","BootNotification",' + orjson.dumps(BOOT_201) + b"]"


def _tail_201(action: str) -> bytes:
    return b'","' + action.encode() + b'",' + orjson.dumps(PAYLOADS_201[action]) + b"]"


_TAILS_201 = {action: _tail_201(action) for action in PAYLOADS_201}


class Frames201:
    """One charger's 2.0.1 calls: its transaction's Started, then the mix, each TransactionEvent with the
    next seqNo. Only the message id and the seqNo are written per call; the rest is encoded once."""

    __slots__ = ("_head", "_tail", "seq_no", "started", "transaction_id")

    def __init__(self, transaction_id: str | None = None) -> None:
        self.transaction_id = transaction_id or str(uuid.uuid4())
        self.seq_no = 0
        self.started = False
        encoded = orjson.dumps(tx_updated_201(self.transaction_id, _SEQ_NO_MARK)) + b"]"
        head, tail = encoded.split(str(_SEQ_NO_MARK).encode())  # exactly one: two parts
        self._head = b'","TransactionEvent",' + head
        self._tail = tail

    def call(self, message_id: bytes, n: int) -> bytes:
        """The frame of call `message_id`, the `n`-th of the charger (the mix's slot `n % 10`)."""
        if not self.started:
            self.started = True
            payload = orjson.dumps(tx_started_201(self.transaction_id))
            return b'[2,"' + message_id + b'","TransactionEvent",' + payload + b"]"
        action = MIX_201[n % 10]
        if action == "TransactionEvent":
            self.seq_no += 1
            return b'[2,"' + message_id + self._head + str(self.seq_no).encode() + self._tail
        return b'[2,"' + message_id + _TAILS_201[action]


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


class BenchCharger201(BenchCharger):
    """A closed-loop charger that speaks OCPP 2.0.1 (`Frames201`): a 2.0.1 boot, then its transaction's
    Started, then the 2.0.1 mix."""

    __slots__ = ("frames",)

    def __init__(self, stats: FleetStats, booted_future: asyncio.Future[None]) -> None:
        super().__init__(stats, booted_future)
        self.frames = Frames201()

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        transport.send(WSMsgType.TEXT, _BOOT_FRAME_201)

    def send_next(self) -> None:
        self.stats.in_flight += 1
        self.n += 1
        n = self.n
        self.sent_at = time.perf_counter_ns()
        assert self.transport is not None
        self.transport.send(WSMsgType.TEXT, self.frames.call(str(n).encode(), n))


_BOOT_FRAME_201 = boot_frame_201()


def _check_version(ocpp: str) -> str:
    """The subprotocol a fleet of `ocpp` chargers offers."""
    if ocpp not in SUBPROTOCOLS:
        raise ValueError(f"OCPP version must be one of {', '.join(OCPP_VERSIONS)}, got {ocpp!r}")
    return SUBPROTOCOLS[ocpp]


async def connect_fleet(
    url: str, count: int, stats: FleetStats, concurrency: int = 500, ocpp: str = "1.6"
) -> tuple[list[BenchCharger], list[WSTransport], float]:
    """Connect and boot `count` chargers speaking `ocpp`; returns them, their transports and the seconds it
    took."""
    subprotocol = _check_version(ocpp)
    # Looked up at each call: bench_export.py replaces `BenchCharger` with its paced charger.
    charger_class = BenchCharger if ocpp == "1.6" else BenchCharger201
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(concurrency)
    chargers: list[BenchCharger] = []
    transports: list[WSTransport] = []

    async def one(index: int) -> None:
        async with gate:
            booted: asyncio.Future[None] = loop.create_future()
            transport, charger = await ws_connect(
                lambda: charger_class(stats, booted),
                f"{url}/BENCH{index:05d}",
                extra_headers={"Sec-WebSocket-Protocol": subprotocol},
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


# --- reconnect storm: chargers connect while the connected ones load the server -------------------


@dataclass
class StormStats:
    """What a reconnect storm observed: attempts that failed (and were retried) and when the last booted."""

    attempts: int = 0
    failed: int = 0
    timed_out: int = 0
    refused: int = 0
    connected: int = 0
    connect_s: float = 0.0
    # Seconds of each successful attempt: dialling to the upgrade (101), and from there to the boot answer.
    upgrade_s: list[float] = field(default_factory=list)
    boot_s: list[float] = field(default_factory=list)


async def storm_fleet(
    url: str,
    count: int,
    stats: FleetStats,
    storm: StormStats,
    concurrency: int = 500,
    handshake_timeout: float = 30.0,
    deadline_s: float = 900.0,
) -> tuple[list[BenchCharger], list[WSTransport]]:
    """Connect and boot `count` chargers, `concurrency` attempts in flight; each charger starts its closed
    loop as soon as it has booted (while the others still connect), as after a site's network comes back.

    A failed attempt (refused, or no handshake and boot within `handshake_timeout`) is counted and retried
    after a second, as a charger would, until `deadline_s`; `storm.connect_s` is when the last one booted.
    """
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(concurrency)
    chargers: list[BenchCharger] = []
    transports: list[WSTransport] = []
    started = time.perf_counter()
    give_up = started + deadline_s

    async def attempt(index: int) -> bool:
        booted: asyncio.Future[None] = loop.create_future()
        storm.attempts += 1
        transport: WSTransport | None = None
        dialled = time.perf_counter()
        try:
            async with asyncio.timeout(handshake_timeout):
                transport, charger = await ws_connect(
                    lambda: BenchCharger(stats, booted),
                    f"{url}/STORM{index:05d}",
                    extra_headers={"Sec-WebSocket-Protocol": "ocpp1.6"},
                    websocket_handshake_timeout=None,  # the whole attempt is bounded above
                )
                upgraded = time.perf_counter()
                await booted
        except TimeoutError:
            storm.failed += 1
            storm.timed_out += 1
        except Exception:  # refused, reset, or picows' own upgrade errors: all a failed attempt
            storm.failed += 1
            storm.refused += 1
        else:
            chargers.append(charger)
            transports.append(transport)
            storm.connected += 1
            now = time.perf_counter()
            storm.connect_s = now - started
            storm.upgrade_s.append(upgraded - dialled)
            storm.boot_s.append(now - upgraded)
            if stats.running:
                charger.send_next()
            return True
        if transport is not None:
            transport.disconnect()
        return False

    async def one(index: int) -> None:
        while time.perf_counter() < give_up:
            async with gate:
                if await attempt(index):
                    return
            await asyncio.sleep(1.0)

    await asyncio.gather(*(one(i) for i in range(count)))
    return chargers, transports


# --- open loop: every charger sends at a fixed pace, whatever the answers do ---------------------------


class PacedCharger(BenchCharger):
    """A charger that sends on a clock rather than on answers: any number of its calls may be outstanding,
    each matched to its answer by message id."""

    __slots__ = ("pending",)

    def __init__(self, stats: FleetStats, booted_future: asyncio.Future[None]) -> None:
        super().__init__(stats, booted_future)
        self.pending: dict[bytes, int] = {}

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is not WSMsgType.TEXT:
            return
        received = time.perf_counter_ns()
        data = frame.get_payload_as_bytes()
        if not self.booted_future.done():
            self.booted_future.set_result(None)
            self.stats.booted += 1
            return
        # `[3,"<id>",...`: the id is between the first two quotes.
        sent_at = self.pending.pop(data.split(b'"', 2)[1], None)
        stats = self.stats
        if sent_at is None:
            return
        stats.in_flight -= 1
        if data[1:2] != b"3":
            stats.errors += 1
        if stats.recording:
            stats.calls += 1
            stats.latencies_ns.append(received - sent_at)

    def send_paced(self) -> None:
        self.stats.in_flight += 1
        self.n += 1
        n = self.n
        message_id = str(n).encode()
        self.pending[message_id] = time.perf_counter_ns()
        assert self.transport is not None
        self.transport.send(WSMsgType.TEXT, b'[2,"' + message_id + _TAILS[n % 10])


class PacedCharger201(PacedCharger):
    """A paced charger that speaks OCPP 2.0.1 (`Frames201`)."""

    __slots__ = ("frames",)

    def __init__(self, stats: FleetStats, booted_future: asyncio.Future[None]) -> None:
        super().__init__(stats, booted_future)
        self.frames = Frames201()

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        transport.send(WSMsgType.TEXT, _BOOT_FRAME_201)

    def send_paced(self) -> None:
        self.stats.in_flight += 1
        self.n += 1
        n = self.n
        message_id = str(n).encode()
        self.pending[message_id] = time.perf_counter_ns()
        assert self.transport is not None
        self.transport.send(WSMsgType.TEXT, self.frames.call(message_id, n))


async def connect_paced_fleet(
    url: str, count: int, stats: FleetStats, concurrency: int = 500, ocpp: str = "1.6"
) -> tuple[list[PacedCharger], list[WSTransport]]:
    """Connect and boot `count` paced chargers speaking `ocpp` (no load while they connect)."""
    subprotocol = _check_version(ocpp)
    charger_class = PacedCharger if ocpp == "1.6" else PacedCharger201
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(concurrency)
    chargers: list[PacedCharger] = []
    transports: list[WSTransport] = []

    async def one(index: int) -> None:
        async with gate:
            booted: asyncio.Future[None] = loop.create_future()
            transport, charger = await ws_connect(
                lambda: charger_class(stats, booted),
                f"{url}/PACED{index:05d}",
                extra_headers={"Sec-WebSocket-Protocol": subprotocol},
                websocket_handshake_timeout=60,
            )
            await booted
            chargers.append(charger)
            transports.append(transport)

    await asyncio.gather(*(one(i) for i in range(count)))
    return chargers, transports


async def pace(chargers: list[PacedCharger], rate: float, seconds: float, tick: float = 0.001) -> int:
    """Send `rate` calls a second in total for `seconds`, round-robin over `chargers` (each one at
    rate / len(chargers)), on a `tick` clock: at each tick every call due by then is sent, so that a late
    tick is caught up rather than lost. Returns the calls sent."""
    started = time.perf_counter()
    sent = 0
    position = 0
    total = len(chargers)
    while True:
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return sent
        due = int(elapsed * rate)
        while sent < due:
            chargers[position].send_paced()
            position = (position + 1) % total
            sent += 1
        await asyncio.sleep(tick)
