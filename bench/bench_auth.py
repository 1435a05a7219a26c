"""Basic-auth handshakes during a charger load: do wrong and right passwords stall the chargers?

Issue 17, Done-when 3: 1 000 wrong and 1 000 right Basic-auth handshakes during a 1 000-charger load must
raise no charger's latency above 100 ms. scrypt (~40 ms of CPU) on the event loop stalls every
charger behind it; off the loop (a hashing thread, and a keyed hash of each password kept in the store) it
must not.

As bench/bench_server.py: `voltyard serve` in a subprocess pinned to CPU 0, the load generator (picows
clients, bench/loadgen.py) in this process pinned to CPU 1.

1. Setup (a first server, then stopped): `--auth-chargers` chargers (default 200) connect once and get
   security profile 1 and a password through the control API.
2. The measured server starts on the same data directory (so a right password is new to the process: the
   case of chargers reconnecting after a restart), and 1 000 profile-0 chargers connect and boot.
3. Quiet phase: the load for `--quiet` seconds; the chargers' latencies p50/p99/max. The load is paced
   (open loop, `--rate` calls/s in all, default 5 000: 5 a second per charger, each charger in turn at a
   fixed rate whatever the answers do), so that latency measures the server's answer, not a queue the load
   itself builds: a closed loop (one call outstanding per charger, `--rate 0`) saturates the server's core
   with 1 000 chargers, and its latency passes 100 ms without any handshake. A charger whose previous call
   is still unanswered at its turn skips it (counted as `skipped`: the server fell behind the pace).
4. Auth phase: the same load while `--handshakes` wrong and as many right Basic-auth handshakes (the auth
   chargers in turn, `--concurrency` at a time, each a fresh TCP connection closed at the answer) run; the
   chargers' latencies during the handshakes, the handshakes' answers and their own latency.

The lock-out is set out of reach (auth_failure_limit 10^6) so that every wrong password is a 401 that costs
a full check: the hardest case. Prints a table and writes bench/results/auth-<UTC>.json.

With `--checkout PATH` the server runs that checkout's code (e.g. main before a change).

Usage: python bench/bench_auth.py [--chargers 1000] [--handshakes 1000] [--auth-chargers 200]
                                  [--quiet 10] [--concurrency 20] [--rate 5000] [--checkout PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import contextlib
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_server import LOAD_CPU, ServerUnderTest, free_port
from loadgen import BenchCharger, FleetStats, connect_fleet, disconnect_fleet, pause_fleet, resume_fleet
from picows import WSFrame, WSTransport

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
KEY = "0123456789abcdef0123456789abcdef"  # 16 bytes as hex, the whitepaper's minimum
WRONG = "fedcba9876543210fedcba9876543210"
GOAL_MS = 100.0
CONFIG = """
[admission]
connection_rate = 100000.0
connection_burst = 100000
boot_storm_rate = 100000.0
message_rate = 10000.0
message_burst = 10000

[security]
auth_failure_limit = 1000000
auth_failure_window = 60
"""


def serve(data_dir: Path, port: int, api_port: int, checkout: Path | None) -> ServerUnderTest:
    """`voltyard serve` on `data_dir`: this checkout's code, or `checkout`'s (its python/ directory)."""
    config = data_dir.parent / "bench.toml"
    command = [
        sys.executable, "-m", "voltyard.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
        "--api-port", str(api_port), "--data-dir", str(data_dir), "--config", str(config),
    ]  # fmt: skip
    # (No .pyc files written into the other checkout.)
    env = (
        None
        if checkout is None
        else {**os.environ, "PYTHONPATH": str(checkout / "python"), "PYTHONDONTWRITEBYTECODE": "1"}
    )
    return ServerUnderTest("voltyard", command, re.compile("voltyard ready"), env)


async def handshake(port: int, charger_id: str, password: str | None) -> tuple[int, float]:
    """One websocket handshake on a fresh connection, closed at the answer: (HTTP status, seconds)."""
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        auth = ""
        if password is not None:
            auth = (
                "Authorization: Basic "
                + base64.b64encode(f"{charger_id}:{password}".encode()).decode()
                + "\r\n"
            )
        writer.write(
            f"GET /ocpp/{charger_id} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ocpp1.6\r\n"
            f"{auth}\r\n".encode()
        )
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 600)
        except (asyncio.IncompleteReadError, ConnectionError):
            return 0, time.perf_counter() - started  # closed by the server without an answer
        return int(head.split(b" ", 2)[1]), time.perf_counter() - started
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def setup(data_dir: Path, auth_chargers: list[str], checkout: Path | None) -> None:
    """Give every auth charger profile 1 and the password, through the control API of a first server."""
    port, api_port = free_port(), free_port()
    with serve(data_dir, port, api_port, checkout):
        for charger_id in auth_chargers:  # the charger must have been seen before its security is set
            await handshake(port, charger_id, None)
        token = (data_dir / "api-token-operator").read_text().strip()
        headers = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession(f"http://127.0.0.1:{api_port}") as api:
            for charger_id in auth_chargers:
                body = {"profile": 1, "password": KEY, "operator": "bench"}
                async with api.put(
                    f"/api/v1/chargers/{charger_id}/security", json=body, headers=headers
                ) as answer:
                    if answer.status != 200:
                        raise RuntimeError(
                            f"{charger_id}: security not set: {answer.status} {await answer.text()}"
                        )


# Chargers of the paced load whose call is unanswered (see `PacedCharger`).
_outstanding: set[BenchCharger] = set()


class PacedCharger(BenchCharger):
    """A load generator's charger driven by `pace`: it only notes that its call was answered (loadgen's
    charger sends its next call itself only while `stats.running`, which the paced load leaves off)."""

    __slots__ = ()

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        _outstanding.discard(self)
        super().on_ws_frame(transport, frame)


class Pacer:
    """Open loop: `rate` calls a second in all, the chargers in turn, each call sent at its time."""

    def __init__(self, fleet: list[BenchCharger], rate: float) -> None:
        for charger in fleet:
            charger.__class__ = PacedCharger  # same slots: only on_ws_frame differs
        self.fleet = fleet
        self.rate = rate
        self.sent = 0
        self.skipped = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        started, due_total, turn = time.perf_counter(), 0, 0
        while True:
            await asyncio.sleep(0.001)
            due = int((time.perf_counter() - started) * self.rate) - due_total
            due_total += due
            for _ in range(due):
                charger = self.fleet[turn % len(self.fleet)]
                turn += 1
                if charger in _outstanding:
                    self.skipped += 1
                    continue
                _outstanding.add(charger)
                charger.send_next()
                self.sent += 1


def percentiles(latencies_ns: list[int]) -> dict[str, float]:
    ordered = sorted(latencies_ns)
    if not ordered:
        return {"calls": 0, "p50_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0}
    return {
        "calls": len(ordered),
        "p50_ms": round(ordered[len(ordered) // 2] / 1e6, 2),
        "p99_ms": round(ordered[int(len(ordered) * 0.99)] / 1e6, 2),
        "max_ms": round(ordered[-1] / 1e6, 2),
    }


async def run(args: argparse.Namespace) -> dict[str, object]:
    os.sched_setaffinity(0, {LOAD_CPU})
    auth_chargers = [f"AUTH{n:04d}" for n in range(args.auth_chargers)]
    with tempfile.TemporaryDirectory(prefix="voltyard-bench-auth-", dir=BENCH) as tmp:
        data_dir = Path(tmp) / "data"
        (Path(tmp) / "bench.toml").write_text(CONFIG)
        print(f"setup: {len(auth_chargers)} chargers on profile 1", flush=True)
        await setup(data_dir, auth_chargers, args.checkout)
        port, api_port = free_port(), free_port()
        with serve(data_dir, port, api_port, args.checkout):
            stats = FleetStats(running=False)
            print(f"connect + boot {args.chargers} chargers", flush=True)
            fleet, transports, _ = await connect_fleet(f"ws://127.0.0.1:{port}/ocpp", args.chargers, stats)
            pacer = Pacer(fleet, args.rate) if args.rate > 0 else None
            if pacer is None:
                resume_fleet(fleet, stats)
            else:
                stats.running = False  # the pacer sends, not the answers
                pacer.start()
            load = f"paced at {args.rate:g} calls/s" if pacer else "closed loop"
            await asyncio.sleep(1.0)  # warm-up
            print(f"quiet: {load} for {args.quiet:g} s", flush=True)
            sent_before, skipped_before = (pacer.sent, pacer.skipped) if pacer else (0, 0)
            stats.recording = True
            await asyncio.sleep(args.quiet)
            stats.recording = False
            quiet = percentiles(stats.latencies_ns)
            if pacer is not None:
                quiet["sent_per_s"] = round((pacer.sent - sent_before) / args.quiet)
                quiet["skipped"] = pacer.skipped - skipped_before
                sent_before, skipped_before = pacer.sent, pacer.skipped
            stats.latencies_ns = []
            jobs = [(charger_id, password) for n in range(args.handshakes)
                    for charger_id in [auth_chargers[n % len(auth_chargers)]]
                    for password in (WRONG, KEY)]  # fmt: skip
            print(
                f"auth: {len(jobs)} handshakes ({args.handshakes} wrong, {args.handshakes} right)", flush=True
            )
            gate = asyncio.Semaphore(args.concurrency)
            answers: collections.Counter[str] = collections.Counter()
            handshake_s: dict[str, list[float]] = {"right": [], "wrong": []}

            async def one(charger_id: str, password: str) -> None:
                async with gate:
                    status, took = await handshake(port, charger_id, password)
                kind = "right" if password == KEY else "wrong"
                answers[f"{kind} -> {status}"] += 1
                handshake_s[kind].append(took)

            stats.recording = True
            started = time.perf_counter()
            await asyncio.gather(*(one(charger_id, password) for charger_id, password in jobs))
            auth_seconds = time.perf_counter() - started
            stats.recording = False
            during = percentiles(stats.latencies_ns)
            if pacer is not None:
                during["sent_per_s"] = round((pacer.sent - sent_before) / auth_seconds)
                during["skipped"] = pacer.skipped - skipped_before
                await pacer.stop()
            await pause_fleet(stats)
            await disconnect_fleet(transports)
    return {
        "load": f"open loop, {args.rate:g} calls/s" if args.rate > 0 else "closed loop",
        "quiet": {"seconds": args.quiet, **quiet},
        "auth": {"seconds": round(auth_seconds, 2), **during},
        "handshakes": dict(sorted(answers.items())),
        "handshake_ms": {
            kind: {"p50": round(statistics.median(took) * 1000, 1), "max": round(max(took) * 1000, 1)}
            for kind, took in handshake_s.items()
        },
        "errors": stats.errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chargers", type=int, default=1000)
    parser.add_argument("--handshakes", type=int, default=1000, help="wrong ones, and as many right ones")
    parser.add_argument(
        "--auth-chargers", type=int, default=200, help="chargers on profile 1 (setup: scrypt each)"
    )
    parser.add_argument("--quiet", type=float, default=10.0, help="seconds of load without handshakes")
    parser.add_argument("--concurrency", type=int, default=20, help="handshakes in flight at once")
    parser.add_argument(
        "--rate", type=float, default=5000.0, help="paced load: calls/s of all chargers (0: closed loop)"
    )
    parser.add_argument(
        "--checkout", type=Path, help="run another checkout's voltyard (its python/ with _native built in)"
    )
    args = parser.parse_args()
    if min(args.chargers, args.handshakes, args.auth_chargers, args.concurrency) < 1 or args.quiet <= 0:
        parser.error(
            "--chargers, --handshakes, --auth-chargers and --concurrency must be at least 1, --quiet above 0"
        )
    result = uvloop.run(run(args))
    print(f"load: {result['load']}")
    print("| phase | seconds | calls | sent/s | skipped | p50 ms | p99 ms | max ms |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for phase in ("quiet", "auth"):
        r = result[phase]
        assert isinstance(r, dict)
        print(
            f"| {phase} | {r['seconds']} | {r['calls']} | {r.get('sent_per_s', '-')} "
            f"| {r.get('skipped', '-')} | {r['p50_ms']} | {r['p99_ms']} | {r['max_ms']} |"
        )
    print(
        "handshakes:",
        result["handshakes"],
        "; their own latency (ms):",
        result["handshake_ms"],
    )
    auth = result["auth"]
    assert isinstance(auth, dict)
    print(
        f"goal: no charger above {GOAL_MS:g} ms during the handshakes:",
        "met" if auth["max_ms"] <= GOAL_MS else "NOT met",
    )
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"auth-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    load = os.getloadavg()
    out.write_text(json.dumps({
        "python": platform.python_version(), "cpus": os.cpu_count(), "loadavg": load,
        "args": vars(args), **result,
    }, indent=2, default=str) + "\n")  # fmt: skip
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; wrote {out}")


if __name__ == "__main__":
    main()
