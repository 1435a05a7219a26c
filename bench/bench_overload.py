"""Overload benchmark: a reconnect storm under load, `voltyard serve` against the floor (picows + orjson).

After a site's network comes back its chargers reconnect all at once while the ones already connected
replay their queued meter values as fast as they are answered. So, for each server in turn (each in a
subprocess pinned to CPU 0; this load generator pinned to CPU 1, as bench/bench_server.py does):

- `--chargers` chargers dial with `--in-flight` connection attempts at once; each one starts a closed loop
  (one call outstanding: MeterValues 60 % / Heartbeat 30 % / StatusNotification 10 %, bench/loadgen.py) as
  soon as its BootNotification is answered, while the others still connect;
- an attempt that is refused, or gets no handshake and boot answer within `--handshake-timeout` seconds, is
  counted as failed and retried a second later, as a charger would;
- the load goes on for `--hold` seconds after the last charger booted.

Reported per server: connect time (until the last charger booted), failed attempts (timed out, refused),
the loop stalls voltyard logged (`voltyard.loop_monitor`: count and worst; the floor logs none), p50/p99 of
the connected chargers' calls during the storm and the hold, calls answered, and peak RSS (VmHWM). Voltyard
runs with `bench/voltyard-bench.toml` (admission opened up) and persistence on. Writes
bench/results/overload-<UTC>.json.

Usage: python bench/bench_overload.py [--chargers 4000] [--in-flight 500] [--hold 5] [--handshake-timeout 30]
                                      [--only voltyard|floor]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import resource
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_server import BENCH, LOAD_CPU, RESULTS, ServerUnderTest, cpu_seconds, servers_under_test
from loadgen import FleetStats, StormStats, disconnect_fleet, storm_fleet

_API = re.compile(r"control API (http://[^/\s]+)/api/v1 \(token in (\S+)\)")


@dataclass
class OverloadResult:
    server: str
    chargers: int
    in_flight: int
    connect_s: float
    connected: int
    attempts: int
    failed: int
    timed_out: int
    refused: int
    stalls: int
    worst_stall_ms: float
    # The longest garbage collection in the storm (voltyard's /metrics; 0 for the floor): how much of the
    # worst stall was the collector's.
    worst_gc_ms: float
    calls: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    peak_rss_mb: float
    log_lines: int
    # Share of a core each side used while the chargers connected: which one was the bottleneck.
    server_cpu_share: float
    loadgen_cpu_share: float


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


async def storm(server: ServerUnderTest, url: str, args: argparse.Namespace) -> OverloadResult:
    # The scrape also resets the worst lag and the worst collection, so that what follows is the storm's.
    stalls_before = int(scrape(server).get("voltyard_event_loop_stalls_total", 0))
    stats = FleetStats(recording=True)
    result = StormStats()
    lines_before = server.lines
    print(f"{server.name}: {args.chargers} chargers, {args.in_flight} attempts in flight", flush=True)

    async def progress() -> None:
        while True:
            await asyncio.sleep(5)
            print(
                f"  {server.name}: {result.connected} connected, {result.failed} failed, "
                f"{len(stats.latencies_ns)} calls answered",
                flush=True,
            )

    reporter = asyncio.create_task(progress())
    server_cpu, own_cpu, started = cpu_seconds(server.pid), _own_cpu(), time.perf_counter()
    try:
        _, transports = await storm_fleet(
            url, args.chargers, stats, result, args.in_flight, args.handshake_timeout
        )
        took = time.perf_counter() - started
        server_share = (cpu_seconds(server.pid) - server_cpu) / took
        loadgen_share = (_own_cpu() - own_cpu) / took
        await asyncio.sleep(args.hold)
    finally:
        reporter.cancel()
    stats.recording = False
    stats.running = False
    latencies = sorted(stats.latencies_ns)
    peak = peak_rss_mb(server.pid)
    metrics = scrape(server)
    await disconnect_fleet(transports)
    await asyncio.sleep(0.5)  # the last log lines of the storm

    def at(fraction: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(len(latencies) * fraction))] / 1e6, 2)

    # Voltyard's own count (its log lets through only a few stall lines per period), else what was logged.
    stalls = server.stalls_ms
    stall_count = int(metrics.get("voltyard_event_loop_stalls_total", len(stalls)))
    worst_ms = max(metrics.get("voltyard_event_loop_lag_seconds", 0.0) * 1000, *stalls, 0.0)
    worst_gc_ms = max(metrics.get(f'voltyard_gc_pause_max_seconds{{generation="{g}"}}', 0.0) for g in "012")
    if metrics:
        deferred = metrics.get("voltyard_messages_deferred_total", 0)
        print(
            f"  {server.name}: handshakes {_handshakes(metrics)}, messages deferred {deferred:.0f}",
            flush=True,
        )
    for name, seconds in (("upgrade", result.upgrade_s), ("boot answer", result.boot_s)):
        ordered = sorted(seconds) or [0.0]
        p50, p99 = ordered[len(ordered) // 2], ordered[int(len(ordered) * 0.99)]
        print(
            f"  {server.name}: {name} p50 {p50:.3f} s, p99 {p99:.3f} s, max {ordered[-1]:.3f} s", flush=True
        )
    return OverloadResult(
        server.name, args.chargers, args.in_flight, round(result.connect_s, 2), result.connected,
        result.attempts, result.failed, result.timed_out, result.refused, stall_count - stalls_before,
        round(worst_ms), round(worst_gc_ms * 1000), len(latencies), at(0.5) if latencies else 0.0,
        at(0.99) if latencies else 0.0, at(1.0) if latencies else 0.0, peak, server.lines - lines_before,
        round(server_share, 2), round(loadgen_share, 2),
    )  # fmt: skip


def scrape(server: ServerUnderTest) -> dict[str, float]:
    """Voltyard's /metrics (its address and token are in its ready line); empty for the floor."""
    found = _API.search(server.ready_line)
    if found is None:
        return {}
    token = Path(found.group(2)).read_text().strip()
    request = urllib.request.Request(
        found.group(1) + "/metrics", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # our own loopback API
        text = response.read().decode()
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


def _handshakes(metrics: dict[str, float]) -> str:
    counts = []
    for outcome in ("accepted", "refused", "timed_out"):
        key = 'voltyard_handshakes_total{outcome="' + outcome + '"}'
        counts.append(f"{outcome} {metrics.get(key, 0):.0f}")
    return ", ".join(counts)


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run(args: argparse.Namespace) -> list[OverloadResult]:
    os.sched_setaffinity(0, {LOAD_CPU})
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    results = []
    with tempfile.TemporaryDirectory(prefix="voltyard-bench-", dir=BENCH) as data_dir:
        chosen = argparse.Namespace(previous=None, skip_peer=True)
        # The floor first, then voltyard: one at a time, so that each has the load generator's core.
        for server, url, _ in reversed(servers_under_test(chosen, data_dir)):
            if args.only and server.name != args.only:
                continue
            with contextlib.ExitStack() as running:
                running.enter_context(server)
                results.append(await storm(server, url, args))
    return results


def report(results: list[OverloadResult]) -> dict[str, float]:
    header = ("server", "chargers", "connect s", "failed (timed out)", "stalls", "worst stall ms",
              "worst GC ms", "calls", "p50 ms", "p99 ms", "max ms", "peak RSS MB", "log lines",
              "CPU server/loadgen")  # fmt: skip
    print("| " + " | ".join(header) + " |")
    print("|" + " --- |" * len(header))
    for r in results:
        cells = (r.server, r.chargers, r.connect_s, f"{r.failed} ({r.timed_out})", r.stalls, r.worst_stall_ms,
                 r.worst_gc_ms, r.calls, r.p50_ms, r.p99_ms, r.max_ms, r.peak_rss_mb, r.log_lines,
                 f"{r.server_cpu_share}/{r.loadgen_cpu_share}")  # fmt: skip
        print("| " + " | ".join(str(c) for c in cells) + " |")
    by_name = {r.server: r for r in results}
    ours, floor = by_name.get("voltyard"), by_name.get("floor")
    if ours is None or floor is None:
        return {}
    ratios = {
        "connect_over_floor": round(ours.connect_s / max(floor.connect_s, 1e-9), 2),
        "rss_over_floor": round(ours.peak_rss_mb / max(floor.peak_rss_mb, 1e-9), 2),
        "p99_over_floor": round(ours.p99_ms / max(floor.p99_ms, 1e-9), 2),
    }
    print(
        "ratios:",
        ratios,
        "(goals: every charger connected, connect_over_floor <= 2, no stall over 100 ms, "
        "rss_over_floor <= 1.5)",
    )
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chargers", type=int, default=4000)
    parser.add_argument("--in-flight", type=int, default=500, help="connection attempts at once")
    parser.add_argument("--hold", type=float, default=5.0, help="seconds of load after the last boot")
    parser.add_argument("--handshake-timeout", type=float, default=30.0, help="seconds an attempt may take")
    parser.add_argument("--only", choices=("voltyard", "floor"), help="run one server only")
    args = parser.parse_args()
    if args.chargers < 1 or args.in_flight < 1 or args.hold < 0 or args.handshake_timeout <= 0:
        parser.error(
            "--chargers and --in-flight must be at least 1, --hold not negative, --handshake-timeout > 0"
        )
    results = uvloop.run(run(args))
    ratios = report(results)
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"overload-{stamp}.json"
    out.write_text(json.dumps({
        "python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
        "load_average": os.getloadavg(), "args": vars(args), "results": [asdict(r) for r in results],
        "ratios": ratios,
    }, indent=2) + "\n")  # fmt: skip
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
