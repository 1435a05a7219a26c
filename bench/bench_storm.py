"""Reconnect storm: `--storm` chargers drop and reconnect at once while `--steady` others keep talking.

The server runs in a subprocess pinned to CPU 0; the chargers (picows clients on uvloop) run here, pinned
to CPU 1. The steady chargers each send one call per second (MeterValues, Heartbeat and
StatusNotification in the 6/3/1 mix) for the whole run; their latency is recorded before and during the
storm. The storm chargers connect and boot, then all drop at once and come back at once, behaving as
real chargers do: a 503 handshake is retried after its Retry-After (plus jitter), a Pending boot is
repeated after its interval. Reports the time until every storm charger is booted again, how many were
told to wait, and the steady chargers' p50/p99/max latency during the storm; writes
bench/results/storm-<UTC>.json.

Usage: python bench/bench_storm.py [--storm 5000] [--steady 1000] [--deadline 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson
import uvloop
from picows import WSFrame, WSInvalidStatusError, WSListener, WSMsgType, WSTransport, ws_connect

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_server import free_port
from loadgen import _TAILS

BENCH = Path(__file__).resolve().parent
BOOT = (
    b'"BootNotification",'
    + orjson.dumps({"chargePointVendor": "Voltyard", "chargePointModel": "storm"})
    + b"]"
)


@dataclass
class StormStats:
    booted: int = 0
    pending: int = 0
    refused_503: int = 0
    booted_at: dict[int, float] = field(default_factory=dict)


class StormCharger(WSListener):  # type: ignore[misc]
    """Boots, and repeats the boot after the interval of a Pending answer."""

    def __init__(self, index: int, stats: StormStats, done: asyncio.Future[None]) -> None:
        self.index = index
        self.stats = stats
        self.done = done
        self.transport: WSTransport | None = None

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        self.boot()

    def boot(self) -> None:
        if self.transport is not None and not self.transport.is_disconnected:
            self.transport.send(WSMsgType.TEXT, b'[2,"boot",' + BOOT)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is not WSMsgType.TEXT:
            return
        answer = orjson.loads(frame.get_payload_as_bytes())
        if answer[0] == 3 and answer[2].get("status") == "Pending":
            self.stats.pending += 1
            asyncio.get_running_loop().call_later(answer[2]["interval"], self.boot)
        elif not self.done.done():
            self.stats.booted += 1
            self.stats.booted_at[self.index] = time.perf_counter()
            self.done.set_result(None)


async def connect(
    factory: Callable[[], WSListener], url: str, rng: random.Random, stats: StormStats | None
) -> WSTransport:
    """ws_connect as a charger does it: a 503 is retried after a second or so, with jitter."""
    while True:
        try:
            transport, _ = await ws_connect(
                factory,
                url,
                extra_headers={"Sec-WebSocket-Protocol": "ocpp1.6"},
                websocket_handshake_timeout=30,
            )
        except WSInvalidStatusError as exc:
            if "503" not in str(exc):
                raise
            if stats is not None:
                stats.refused_503 += 1
            await asyncio.sleep(1.0 + rng.random() * 2.0)
            continue
        return transport


async def storm_charger(url: str, index: int, stats: StormStats) -> WSTransport:
    """Connect and boot (repeating Pending boots); returns the transport."""
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    rng = random.Random(index)
    transport = await connect(lambda: StormCharger(index, stats, done), f"{url}/STORM{index:05d}", rng, stats)
    await done
    return transport


class SteadyCharger(WSListener):  # type: ignore[misc]
    """One call per second; records each answer's latency with the time it was sent."""

    def __init__(self, latencies: list[tuple[float, float]]) -> None:
        self.latencies = latencies
        self.transport: WSTransport | None = None
        self.sent_at = 0.0
        self.n = 0
        self.booted: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        transport.send(WSMsgType.TEXT, b'[2,"boot",' + BOOT)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is not WSMsgType.TEXT:
            return
        now = time.perf_counter()
        if not self.booted.done():
            self.booted.set_result(None)
            return
        self.latencies.append((self.sent_at, now - self.sent_at))

    def send(self) -> None:
        if self.transport is None or self.transport.is_disconnected:
            return
        self.n += 1
        self.sent_at = time.perf_counter()
        self.transport.send(WSMsgType.TEXT, b'[2,"' + str(self.n).encode() + _TAILS[self.n % 10])


async def steady_load(chargers: list[SteadyCharger], stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for n, charger in enumerate(chargers):  # spread the sends over the second
        loop.call_later(n / len(chargers), charger.send)
    while not stop.is_set():
        await asyncio.sleep(1.0)
        for n, charger in enumerate(chargers):
            loop.call_later(n / len(chargers), charger.send)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


async def run_steady(url: str, count: int, out: Path) -> None:
    """The steady chargers, in their own process so that the storm's client work cannot delay them."""
    os.sched_setaffinity(0, {1})
    latencies: list[tuple[float, float]] = []
    steady: list[SteadyCharger] = []
    for index in range(count):
        charger = SteadyCharger(latencies)
        await connect(lambda charger=charger: charger, f"{url}/STEADY{index:05d}", random.Random(index), None)  # type: ignore[misc]
        await charger.booted
        steady.append(charger)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    load = asyncio.ensure_future(steady_load(steady, stop))
    print("steady ready", flush=True)
    await stop.wait()
    load.cancel()
    # perf_counter is per process: hand over wall-clock send times.
    offset = time.time() - time.perf_counter()
    out.write_text(json.dumps([(sent + offset, latency) for sent, latency in latencies]))


async def run_storm(args: argparse.Namespace, url: str) -> tuple[StormStats, float, float, float]:
    """Storm chargers up, steady period, drop all, reconnect all; returns stats and wall-clock marks."""
    os.sched_setaffinity(0, {1})
    stats = StormStats()
    first = await asyncio.gather(*(storm_charger(url, i, stats) for i in range(args.storm)))
    print(
        f"{args.storm} storm chargers up ({stats.pending} pending, {stats.refused_503} x 503 on the way)",
        flush=True,
    )
    calm_started = time.time()
    await asyncio.sleep(3.0)
    for transport in first:  # everyone drops at once ...
        transport.disconnect()
    await asyncio.sleep(0.5)
    stats = StormStats()
    storm_started = time.time()
    # ... and comes back at once
    second = await asyncio.wait_for(
        asyncio.gather(*(storm_charger(url, i, stats) for i in range(args.storm))), args.deadline * 3
    )
    storm_ended = time.time()
    for transport in second:
        transport.disconnect()
    return stats, calm_started, storm_started, storm_ended


def measure(args: argparse.Namespace, url: str, workdir: Path) -> dict[str, object]:
    latencies_file = workdir / "steady.json"
    steady = subprocess.Popen(
        [sys.executable, __file__, "--role", "steady", "--url", url, "--steady", str(args.steady),
         "--out", str(latencies_file)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert steady.stdout is not None
    if "steady ready" not in steady.stdout.readline():
        raise RuntimeError("the steady chargers did not start")
    try:
        stats, calm_started, storm_started, storm_ended = uvloop.run(run_storm(args, url))
    finally:
        steady.send_signal(signal.SIGTERM)
        steady.wait(60)
    latencies = json.loads(latencies_file.read_text())
    before = [lat for sent, lat in latencies if calm_started <= sent < storm_started]
    during = [lat for sent, lat in latencies if storm_started <= sent <= storm_ended]
    storm_took = storm_ended - storm_started
    return {
        "storm_chargers": args.storm,
        "steady_chargers": args.steady,
        "reconnect_boot_s": round(storm_took, 2),
        "pending_answers": stats.pending,
        "handshakes_503": stats.refused_503,
        "steady_before_p99_ms": round(percentile(before, 0.99) * 1e3, 2),
        "steady_during_p50_ms": round(percentile(during, 0.5) * 1e3, 2),
        "steady_during_p99_ms": round(percentile(during, 0.99) * 1e3, 2),
        "steady_during_max_ms": round(max(during) * 1e3, 2) if during else None,
        "steady_calls_during": len(during),
        "within_deadline": storm_took <= args.deadline,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--storm", type=int, default=5000)
    parser.add_argument("--steady", type=int, default=1000)
    parser.add_argument("--deadline", type=float, default=60.0)
    parser.add_argument("--role", choices=("bench", "steady"), default="bench", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.role == "steady":
        uvloop.run(run_steady(args.url, args.steady, args.out))
        return
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="voltyard-storm-", dir=BENCH) as workdir:
        server = subprocess.Popen(
            ["taskset", "-c", "0", sys.executable, "-m", "voltyard.cli", "serve", "--host", "127.0.0.1",
             "--port", str(port), "--api-port", "0", "--data-dir", workdir, "--log-level", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            time.sleep(3.0)
            result = measure(args, f"ws://127.0.0.1:{port}/ocpp", Path(workdir))
        finally:
            server.terminate()
            server.wait(30)
    print(json.dumps(result, indent=2))
    out = BENCH / "results" / f"storm-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "args": vars(args) | {"out": None},
                **result,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
