"""Server benchmark: `voltyard serve` against the floor (bare picows + orjson) and the peer (the `ocpp`
library's ChargePoint on websockets), side by side in one run.

Each server runs in a subprocess pinned to CPU 0; the load generator (bench/loadgen.py, picows clients
on uvloop) runs in this process pinned to CPU 1. For each server:

1. connect and boot 1000 chargers (time; RSS growth per connection);
2. closed loop, one call outstanding per charger, MeterValues 60 % / Heartbeat 30 % / StatusNotification
   10 %: calls/s, p50/p99 latency, and the server's CPU µs per call from its own CPU time (user + system,
   every thread: the store's writer thread counts);
3. disconnect, then connect and boot 10 000 chargers (time; RSS per connection) for voltyard and the floor.

Voltyard runs with persistence on (its store under a temporary directory on the same disk as the repo).
Prints a table and writes bench/results/server-<UTC>.json.

Usage: python bench/bench_server.py [--chargers 1000] [--big 10000] [--seconds 10] [--skip-peer-big]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadgen import FleetStats, connect_fleet, disconnect_fleet

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
SERVER_CPU, LOAD_CPU = 0, 1
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE = resource.getpagesize()


@dataclass
class Result:
    server: str
    chargers: int
    connect_boot_s: float
    rss_per_connection_kb: float
    calls_per_s: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    server_cpu_us_per_call: float = 0.0
    errors: int = 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _pin_server() -> None:
    os.sched_setaffinity(0, {SERVER_CPU})
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime, all threads


def rss_kb(pid: int) -> float:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE / 1024


class ServerUnderTest:
    def __init__(self, name: str, command: list[str], ready: re.Pattern[str]) -> None:
        self.name = name
        self.command = command
        self.ready = ready
        self.process: subprocess.Popen[str] | None = None

    def __enter__(self) -> ServerUnderTest:
        self.process = subprocess.Popen(
            self.command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=_pin_server,  # noqa: PLW1509 - the bench has no threads yet when it spawns
        )
        assert self.process.stdout is not None
        deadline = time.monotonic() + 60
        for line in self.process.stdout:
            if self.ready.search(line):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start")
        else:
            raise RuntimeError(f"{self.name} exited before it was ready")
        # Keep draining its output so that logging never blocks it.
        asyncio.get_running_loop().run_in_executor(None, self._drain)
        return self

    def _drain(self) -> None:
        assert self.process is not None
        assert self.process.stdout is not None
        for _ in self.process.stdout:
            pass

    def __exit__(self, *exc: object) -> None:
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid


async def closed_loop(server: ServerUnderTest, url: str, chargers: int, seconds: float) -> Result:
    stats = FleetStats()
    rss_before = rss_kb(server.pid)
    fleet, transports, took = await connect_fleet(url, chargers, stats)
    await asyncio.sleep(1.0)  # let the server settle (allocations, store commits of the boots)
    rss_per_connection = (rss_kb(server.pid) - rss_before) / chargers
    for charger in fleet:
        charger.send_next()
    await asyncio.sleep(1.0)  # warm-up
    cpu_before = cpu_seconds(server.pid)
    started = time.perf_counter()
    stats.recording = True
    await asyncio.sleep(seconds)
    stats.recording = False
    elapsed = time.perf_counter() - started
    cpu = cpu_seconds(server.pid) - cpu_before
    stats.running = False
    await asyncio.sleep(0.5)
    await disconnect_fleet(transports)
    latencies = sorted(stats.latencies_ns)
    return Result(
        server=server.name,
        chargers=chargers,
        connect_boot_s=round(took, 3),
        rss_per_connection_kb=round(rss_per_connection, 2),
        calls_per_s=round(stats.calls / elapsed),
        p50_ms=round(latencies[len(latencies) // 2] / 1e6, 3),
        p99_ms=round(latencies[int(len(latencies) * 0.99)] / 1e6, 3),
        server_cpu_us_per_call=round(cpu / stats.calls * 1e6, 2),
        errors=stats.errors,
    )


async def connect_only(server: ServerUnderTest, url: str, chargers: int) -> Result:
    stats = FleetStats()
    rss_before = rss_kb(server.pid)
    _, transports, took = await connect_fleet(url, chargers, stats)
    await asyncio.sleep(1.0)
    rss_per_connection = (rss_kb(server.pid) - rss_before) / chargers
    await disconnect_fleet(transports)
    return Result(server.name, chargers, round(took, 3), round(rss_per_connection, 2))


async def run(args: argparse.Namespace) -> list[Result]:
    os.sched_setaffinity(0, {LOAD_CPU})
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="voltyard-bench-", dir=BENCH) as data_dir:
        port = free_port()
        servers = [
            (ServerUnderTest(
                "voltyard",
                [sys.executable, "-m", "voltyard.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                 "--api-port", "0", "--data-dir", data_dir, "--config", str(BENCH / "voltyard-bench.toml")],
                re.compile("voltyard ready"),
            ), port, f"ws://127.0.0.1:{port}/ocpp", True),
        ]  # fmt: skip
        floor_port = free_port()
        servers.append((
            ServerUnderTest("floor", [sys.executable, str(BENCH / "baselines" / "floor_server.py"),
                                      str(floor_port)], re.compile("floor ready")),
            floor_port, f"ws://127.0.0.1:{floor_port}", True,
        ))  # fmt: skip
        if not args.skip_peer:
            peer_port = free_port()
            servers.append((
                ServerUnderTest("peer", [sys.executable, str(BENCH / "baselines" / "ocpp_peer_server.py"),
                                         str(peer_port)], re.compile("peer ready")),
                peer_port, f"ws://127.0.0.1:{peer_port}", False,
            ))  # fmt: skip
        for server, _, url, big in servers:
            with server:
                print(f"{server.name}: {args.chargers} chargers, closed loop {args.seconds:g} s", flush=True)
                results.append(await closed_loop(server, url, args.chargers, args.seconds))
                if big and args.big:
                    print(f"{server.name}: connect + boot {args.big} chargers", flush=True)
                    results.append(await connect_only(server, url, args.big))
    return results


def report(results: list[Result]) -> dict[str, float]:
    header = ("server", "chargers", "connect+boot s", "KB/conn", "calls/s", "p50 ms", "p99 ms", "CPU µs/call")
    print("| " + " | ".join(header) + " |")
    print("|" + " --- |" * len(header))
    for r in results:
        cells = [r.server, r.chargers, r.connect_boot_s, r.rss_per_connection_kb]
        cells += (
            [r.calls_per_s, r.p50_ms, r.p99_ms, r.server_cpu_us_per_call]
            if r.calls_per_s
            else ["", "", "", ""]
        )
        print("| " + " | ".join(str(c) for c in cells) + " |")
    ours = next(r for r in results if r.server == "voltyard" and r.calls_per_s)
    floor = next(r for r in results if r.server == "floor" and r.calls_per_s)
    ratios = {"cpu_over_floor": round(ours.server_cpu_us_per_call / floor.server_cpu_us_per_call, 2)}
    peer = next((r for r in results if r.server == "peer"), None)
    if peer is not None:
        ratios["calls_over_peer"] = round(ours.calls_per_s / peer.calls_per_s, 1)
        ratios["cpu_peer_over_ours"] = round(peer.server_cpu_us_per_call / ours.server_cpu_us_per_call, 1)
    print("ratios:", ratios, "(goals: cpu_over_floor <= 1.5, calls_over_peer >= 20)")
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chargers", type=int, default=1000)
    parser.add_argument("--big", type=int, default=10_000, help="chargers for the connect+boot run (0: skip)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--skip-peer", action="store_true")
    args = parser.parse_args()
    results = uvloop.run(run(args))
    ratios = report(results)
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"server-{stamp}.json"
    out.write_text(json.dumps({
        "python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
        "args": vars(args), "results": [asdict(r) for r in results], "ratios": ratios,
    }, indent=2) + "\n")  # fmt: skip
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
