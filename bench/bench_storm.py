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
import re
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson
import uvloop
from picows import WSError, WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

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


async def storm_charger(url: str, index: int, stats: StormStats) -> WSTransport:
    """Connect (retrying 503s after Retry-After with jitter) and boot; returns the transport."""
    rng = random.Random(index)
    while True:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        try:
            transport, _ = await ws_connect(
                lambda done=done: StormCharger(index, stats, done),  # type: ignore[misc]
                f"{url}/STORM{index:05d}",
                extra_headers={"Sec-WebSocket-Protocol": "ocpp1.6"},
                websocket_handshake_timeout=30,
            )
        except WSError as exc:
            match = re.search(r"503", str(exc))
            if match is None:
                raise
            stats.refused_503 += 1
            await asyncio.sleep(1.0 + rng.random() * 2.0)
            continue
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


async def run(args: argparse.Namespace, url: str) -> dict[str, object]:
    os.sched_setaffinity(0, {1})
    latencies: list[tuple[float, float]] = []
    steady: list[SteadyCharger] = []
    for index in range(args.steady):
        _, charger = await ws_connect(
            lambda: SteadyCharger(latencies),
            f"{url}/STEADY{index:05d}",
            extra_headers={"Sec-WebSocket-Protocol": "ocpp1.6"},
        )
        await charger.booted
        steady.append(charger)
    stop = asyncio.Event()
    load = asyncio.ensure_future(steady_load(steady, stop))

    stats = StormStats()
    first = await asyncio.gather(*(storm_charger(url, i, stats) for i in range(args.storm)))
    print(
        f"{args.storm} storm chargers up ({stats.pending} pending, {stats.refused_503} x 503 on the way)",
        flush=True,
    )
    await asyncio.sleep(3.0)
    before = [lat for sent, lat in latencies if sent > time.perf_counter() - 3.0]

    for transport in first:  # everyone drops at once ...
        transport.disconnect()
    await asyncio.sleep(0.5)
    stats = StormStats()
    storm_started = time.perf_counter()
    # ... and comes back at once
    second = await asyncio.wait_for(
        asyncio.gather(*(storm_charger(url, i, stats) for i in range(args.storm))), args.deadline * 3
    )
    storm_took = time.perf_counter() - storm_started
    during = [lat for sent, lat in latencies if storm_started <= sent <= storm_started + storm_took]
    stop.set()
    load.cancel()
    for transport in second:
        transport.disconnect()
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
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="voltyard-storm-", dir=BENCH) as data_dir:
        server = subprocess.Popen(
            ["taskset", "-c", "0", sys.executable, "-m", "voltyard.cli", "serve", "--host", "127.0.0.1",
             "--port", str(port), "--data-dir", data_dir, "--log-level", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            time.sleep(3.0)
            result = uvloop.run(run(args, f"ws://127.0.0.1:{port}/ocpp"))
        finally:
            server.terminate()
            server.wait(30)
    print(json.dumps(result, indent=2))
    out = BENCH / "results" / f"storm-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {"python": platform.python_version(), "cpus": os.cpu_count(), "args": vars(args), **result},
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
