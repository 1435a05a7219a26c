"""Server benchmark: `voltyard serve` against the floor (bare picows + orjson) and the peer (the `ocpp`
library's ChargePoint on websockets), side by side in one run.

Each server runs in a subprocess pinned to CPU 0; the load generator (bench/loadgen.py, picows clients
on uvloop) runs in this process pinned to CPU 1. The three servers run at once, each with its own fleet:

1. each server's fleet connects and boots 1000 chargers (time; RSS growth per connection);
2. closed loop, one call outstanding per charger, MeterValues 60 % / Heartbeat 30 % / StatusNotification
   10 %, in rounds: each round drives voltyard, then the floor, then the peer for `--seconds / --rounds`
   each (after a 0.5 s warm-up) while the other fleets are paused. Per window: calls/s and the server's
   CPU µs per call from its own CPU time (user + system, every thread: the store's writer thread counts);
3. disconnect, then connect and boot 10 000 chargers (time; RSS per connection) for voltyard and the floor.

A shared machine's speed drifts by tens of percent over a minute (other tenants, steal time), so the
servers are measured in alternation and each ratio is the median over rounds of the ratio within a round;
each server's figures are the medians of its windows. Voltyard runs with persistence on (its store under
a temporary directory on the same disk as the repo). Prints a table and writes
bench/results/server-<UTC>.json, the windows of every round included.

With `--previous CHECKOUT` a fourth server runs in the same rounds: `voltyard serve` from another checkout
(its `python/` directory with its `_native` extension built in, e.g. a `git worktree` of the previous main
with `maturin develop` or a copied `_native.abi3.so`), so that a change is judged against the code before it
on the same machine at the same minute: the report adds its ratio to the floor and ours to it.

With `--open-loop RATE [RATE ...]` the closed loop and the big connect are replaced by an open loop: each
of the `--chargers` chargers sends at a fixed pace (RATE / chargers calls a second each, round-robin on a
1 ms clock, bench/loadgen.py `pace`) whatever the answers do, so that queueing in the server shows as
latency instead of slowing the senders down. Per rate, in rounds, each server gets a window of
`--seconds / --rounds` (voltyard and the floor, and the previous voltyard when given; not the peer): the
latency of every answered call (p50 / p99 / max), the calls still unanswered when the window ends, and
the server's CPU per call; each ratio to the floor is the median over rounds of the ratio within a round.

With `--ocpp 2.0.1` every fleet speaks OCPP 2.0.1 instead of 1.6 (bench/loadgen.py `Frames201`): the
chargers offer the `ocpp2.0.1` subprotocol and boot with a 2.0.1 BootNotification; each charger's first call
(in the first round's warm-up) is a TransactionEvent(Started, with an idToken) of its own transaction, and
the closed loop (or the open loop) mixes TransactionEvent(Updated, a meterValue of four sampled values, the
next seqNo of that transaction) 60 % / Heartbeat 30 % / StatusNotification (2.0.1: evseId, connectorId,
connectorStatus) 10 %. No Ended is sent: the transactions stay open. The floor answers 2.0.1 as it answers
1.6 (orjson, the minimal valid CALLRESULT: `{}`, `{currentTime}`, and `idTokenInfo` for an event with an
idToken); the peer is the `ocpp` library's v201 ChargePoint. `--previous` with `--ocpp 2.0.1` needs a
checkout that speaks 2.0.1: one that does not refuses the subprotocol, and the bench stops with that said.
The results go to bench/results/server-ocpp2.0.1-<UTC>.json (server-open-loop-ocpp2.0.1-<UTC>.json). The
1.6 default is unchanged: the same frames, the same mix, the same files.

Usage: python bench/bench_server.py [--chargers 1000] [--big 10000] [--seconds 30] [--rounds 15] [--skip-peer]
                                    [--previous CHECKOUT] [--open-loop RATE [RATE ...]] [--ocpp {1.6,2.0.1}]
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
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadgen import (
    OCPP_VERSIONS,
    BenchCharger,
    FleetStats,
    PacedCharger,
    connect_fleet,
    connect_paced_fleet,
    disconnect_fleet,
    pace,
    pause_fleet,
    resume_fleet,
)
from picows import WSHandshakeError, WSTransport

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
SERVER_CPU, LOAD_CPU = 0, 1
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE = resource.getpagesize()
WARM_UP_S = 0.5
_STALL = re.compile(r"event loop stalled for (\d+(?:\.\d+)?) ms")


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
    def __init__(
        self, name: str, command: list[str], ready: re.Pattern[str], env: dict[str, str] | None = None
    ) -> None:
        self.name = name
        self.command = command
        self.ready = ready
        self.env = env
        self.process: subprocess.Popen[str] | None = None
        # What its output said while it ran: lines in all, and the loop stalls voltyard logs (loop_monitor).
        self.lines = 0
        self.stalls_ms: list[float] = []
        self.ready_line = ""

    def __enter__(self) -> ServerUnderTest:
        self.process = subprocess.Popen(
            self.command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=self.env,
            preexec_fn=_pin_server,  # noqa: PLW1509 - the bench has no threads yet when it spawns
        )
        assert self.process.stdout is not None
        deadline = time.monotonic() + 60
        for line in self.process.stdout:
            if self.ready.search(line):
                self.ready_line = line
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
        for line in self.process.stdout:
            self.lines += 1
            stall = _STALL.search(line)
            if stall is not None:
                self.stalls_ms.append(float(stall.group(1)))

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


@dataclass
class Fleet:
    """A server under test with its connected chargers and what they measured."""

    server: ServerUnderTest
    url: str
    big: bool
    stats: FleetStats
    chargers: list[BenchCharger]
    transports: list[WSTransport]
    result: Result
    windows: list[Window]


@dataclass
class Window:
    calls_per_s: float
    cpu_us_per_call: float


class BenchError(Exception):
    """The benchmark cannot go on; the message says why, in one line."""


async def connect(server: ServerUnderTest, url: str, big: bool, chargers: int, ocpp: str) -> Fleet:
    """Connect and boot the fleet of a server: time and RSS per connection."""
    stats = FleetStats(running=False)
    rss_before = rss_kb(server.pid)
    with refused_as_bench_error(server, ocpp):
        fleet, transports, took = await connect_fleet(url, chargers, stats, ocpp=ocpp)
    await asyncio.sleep(1.0)  # let the server settle (allocations, store commits of the boots)
    rss_per_connection = (rss_kb(server.pid) - rss_before) / chargers
    result = Result(server.name, chargers, round(took, 3), round(rss_per_connection, 2))
    return Fleet(server, url, big, stats, fleet, transports, result, [])


async def measure_window(fleet: Fleet, seconds: float) -> None:
    """One closed-loop window: warm up, then calls/s and the server's CPU per call over `seconds`."""
    stats = fleet.stats
    resume_fleet(fleet.chargers, stats)
    await asyncio.sleep(WARM_UP_S)
    cpu_before, calls_before = cpu_seconds(fleet.server.pid), stats.calls
    started = time.perf_counter()
    stats.recording = True
    await asyncio.sleep(seconds)
    stats.recording = False
    elapsed = time.perf_counter() - started
    calls = stats.calls - calls_before
    cpu = cpu_seconds(fleet.server.pid) - cpu_before
    await pause_fleet(stats)
    fleet.windows.append(Window(calls / elapsed, cpu / max(calls, 1) * 1e6))


@contextlib.contextmanager
def refused_as_bench_error(server: ServerUnderTest, ocpp: str) -> Iterator[None]:
    """A server that refuses the fleet's handshakes (a checkout that does not speak `ocpp`) as one line."""
    try:
        yield
    except WSHandshakeError as exc:
        hint = (
            ": --previous with --ocpp 2.0.1 needs a checkout that speaks OCPP 2.0.1"
            if server.name == "voltyard-previous" and ocpp != "1.6"
            else ""
        )
        raise BenchError(f"{server.name} refused an OCPP {ocpp} charger's handshake ({exc}){hint}") from exc


def summarise(fleet: Fleet) -> Result:
    """The fleet's result over its windows: medians of calls/s and CPU per call, latency percentiles."""
    result = fleet.result
    latencies = sorted(fleet.stats.latencies_ns)
    result.calls_per_s = round(statistics.median(w.calls_per_s for w in fleet.windows))
    result.server_cpu_us_per_call = round(statistics.median(w.cpu_us_per_call for w in fleet.windows), 2)
    result.p50_ms = round(latencies[len(latencies) // 2] / 1e6, 3)
    result.p99_ms = round(latencies[int(len(latencies) * 0.99)] / 1e6, 3)
    result.errors = fleet.stats.errors
    return result


async def connect_only(server: ServerUnderTest, url: str, chargers: int, ocpp: str) -> Result:
    stats = FleetStats()
    rss_before = rss_kb(server.pid)
    _, transports, took = await connect_fleet(url, chargers, stats, ocpp=ocpp)
    await asyncio.sleep(1.0)
    rss_per_connection = (rss_kb(server.pid) - rss_before) / chargers
    await disconnect_fleet(transports)
    return Result(server.name, chargers, round(took, 3), round(rss_per_connection, 2))


def servers_under_test(args: argparse.Namespace, data_dir: str) -> list[tuple[ServerUnderTest, str, bool]]:
    """(server, url, measured at --big too) for voltyard, the floor and, unless skipped, the peer."""
    port, floor_port = free_port(), free_port()
    servers = [
        (ServerUnderTest(
            "voltyard",
            [sys.executable, "-m", "voltyard.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
             "--api-port", "0", "--data-dir", data_dir, "--config", str(BENCH / "voltyard-bench.toml")],
            re.compile("voltyard ready"),
        ), f"ws://127.0.0.1:{port}/ocpp", True),
        (ServerUnderTest("floor", [sys.executable, str(BENCH / "baselines" / "floor_server.py"),
                                   str(floor_port)], re.compile("floor ready")),
         f"ws://127.0.0.1:{floor_port}", True),
    ]  # fmt: skip
    if args.previous is not None:
        previous_port = free_port()
        previous_data = Path(data_dir) / "previous"
        previous_data.mkdir()
        env = {**os.environ, "PYTHONPATH": str(args.previous / "python")}
        servers.append((
            ServerUnderTest(
                "voltyard-previous",
                [sys.executable, "-m", "voltyard.cli", "serve", "--host", "127.0.0.1", "--port",
                 str(previous_port), "--api-port", "0", "--data-dir", str(previous_data), "--config",
                 str(BENCH / "voltyard-bench.toml")],
                re.compile("voltyard ready"),
                env,
            ),
            f"ws://127.0.0.1:{previous_port}/ocpp", False,
        ))  # fmt: skip
    if not args.skip_peer:
        peer_port = free_port()
        servers.append((
            ServerUnderTest("peer", [sys.executable, str(BENCH / "baselines" / "ocpp_peer_server.py"),
                                     str(peer_port), args.ocpp], re.compile("peer ready")),
            f"ws://127.0.0.1:{peer_port}", False,
        ))  # fmt: skip
    return servers


async def run(args: argparse.Namespace) -> tuple[list[Result], list[Fleet]]:
    os.sched_setaffinity(0, {LOAD_CPU})
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with (
        tempfile.TemporaryDirectory(prefix="voltyard-bench-", dir=BENCH) as data_dir,
        contextlib.ExitStack() as running,
    ):
        fleets = []
        for server, url, big in servers_under_test(args, data_dir):
            running.enter_context(server)
            print(f"{server.name}: connect + boot {args.chargers} chargers", flush=True)
            fleets.append(await connect(server, url, big, args.chargers, args.ocpp))
        window = args.seconds / args.rounds
        for number in range(1, args.rounds + 1):
            print(f"round {number}/{args.rounds}: closed loop {window:g} s on each server", flush=True)
            for fleet in fleets:
                await measure_window(fleet, window)
        results = []
        for fleet in fleets:
            await disconnect_fleet(fleet.transports)
            results.append(summarise(fleet))
            if fleet.big and args.big:
                print(f"{fleet.server.name}: connect + boot {args.big} chargers", flush=True)
                results.append(await connect_only(fleet.server, fleet.url, args.big, args.ocpp))
    return results, fleets


def _median_ratio(these: list[Window], those: list[Window]) -> float:
    """The median over rounds of the CPU per call of `these` over `those`, measured in the same round."""
    pairs = zip(these, those, strict=True)
    return round(statistics.median(a.cpu_us_per_call / b.cpu_us_per_call for a, b in pairs), 2)


def report(results: list[Result], fleets: list[Fleet]) -> dict[str, float]:
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
    by_name = {fleet.server.name: fleet.windows for fleet in fleets}
    ours, floor = by_name["voltyard"], by_name["floor"]
    # Each ratio is taken within a round (windows seconds apart) and the median of the rounds is reported:
    # the machine's speed drifts over a run, which a ratio of two servers measured minutes apart would show.
    pairs = list(zip(ours, floor, strict=True))
    ratios = {
        "cpu_over_floor": round(statistics.median(o.cpu_us_per_call / f.cpu_us_per_call for o, f in pairs), 2)
    }
    peer = by_name.get("peer")
    if peer is not None:
        pairs = list(zip(ours, peer, strict=True))
        ratios["calls_over_peer"] = round(
            statistics.median(o.calls_per_s / p.calls_per_s for o, p in pairs), 1
        )
        ratios["cpu_peer_over_ours"] = round(
            statistics.median(p.cpu_us_per_call / o.cpu_us_per_call for o, p in pairs), 1
        )
    previous = by_name.get("voltyard-previous")
    if previous is not None:
        ratios["previous_cpu_over_floor"] = _median_ratio(previous, floor)
        ratios["cpu_over_previous"] = _median_ratio(ours, previous)
    for name, windows in by_name.items():
        print(f"{name} rounds, CPU µs/call:", " ".join(f"{w.cpu_us_per_call:.2f}" for w in windows))
    print("ratios (median over rounds):", ratios, "(goals: cpu_over_floor <= 1.5, calls_over_peer >= 20)")
    return ratios


# --- open loop ----------------------------------------------------------------------------------------


@dataclass
class OpenWindow:
    rate: float
    sent: int
    answered: int
    unanswered_at_end: int
    cpu_us_per_call: float
    latencies_ns: list[int]


@dataclass
class OpenResult:
    server: str
    rate: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    cpu_us_per_call: float
    unanswered_at_end: int


async def open_window(
    server: ServerUnderTest, chargers: list[PacedCharger], stats: FleetStats, rate: float, seconds: float
) -> OpenWindow:
    """One open-loop window: a warm-up, then `seconds` at `rate`; what was answered, and the server's CPU."""
    await pace(chargers, rate, WARM_UP_S)
    stats.latencies_ns = []
    stats.recording = True
    cpu_before, calls_before = cpu_seconds(server.pid), stats.calls
    sent = await pace(chargers, rate, seconds)
    unanswered = stats.in_flight  # still waiting when the window's last call is due
    deadline = time.monotonic() + 5
    while stats.in_flight > 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    stats.recording = False
    answered = stats.calls - calls_before
    cpu = cpu_seconds(server.pid) - cpu_before
    return OpenWindow(rate, sent, answered, unanswered, cpu / max(answered, 1) * 1e6, stats.latencies_ns)


async def run_open_loop(args: argparse.Namespace) -> dict[str, list[OpenWindow]]:
    os.sched_setaffinity(0, {LOAD_CPU})
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    windows: dict[str, list[OpenWindow]] = {}
    chosen = argparse.Namespace(previous=args.previous, skip_peer=True, ocpp=args.ocpp)
    with (
        tempfile.TemporaryDirectory(prefix="voltyard-bench-", dir=BENCH) as data_dir,
        contextlib.ExitStack() as running,
    ):
        fleets = []
        for server, url, _ in servers_under_test(chosen, data_dir):
            running.enter_context(server)
            print(f"{server.name}: connect + boot {args.chargers} paced chargers", flush=True)
            stats = FleetStats(running=False)
            with refused_as_bench_error(server, args.ocpp):
                chargers, transports = await connect_paced_fleet(url, args.chargers, stats, ocpp=args.ocpp)
            fleets.append((server, chargers, transports, stats))
            windows[server.name] = []
        await asyncio.sleep(1.0)
        window = args.seconds / args.rounds
        for rate in args.open_loop:
            for number in range(1, args.rounds + 1):
                print(
                    f"open loop {rate:g} calls/s, round {number}/{args.rounds}: {window:g} s each", flush=True
                )
                for server, chargers, _, stats in fleets:
                    windows[server.name].append(await open_window(server, chargers, stats, rate, window))
        for _, _, transports, _ in fleets:
            await disconnect_fleet(transports)
    return windows


def _percentile(ordered: list[int], fraction: float) -> float:
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] / 1e6, 3) if ordered else 0.0


def report_open_loop(windows: dict[str, list[OpenWindow]]) -> tuple[list[OpenResult], dict[str, float]]:
    header = ("server", "calls/s", "p50 ms", "p99 ms", "max ms", "CPU µs/call", "unanswered at window end")
    print("| " + " | ".join(header) + " |")
    print("|" + " --- |" * len(header))
    results = []
    ratios: dict[str, float] = {}
    floor = windows["floor"]
    for rate in dict.fromkeys(w.rate for w in floor):
        for name, all_windows in windows.items():
            these = [w for w in all_windows if w.rate == rate]
            ordered = sorted(ns for w in these for ns in w.latencies_ns)
            result = OpenResult(
                name, rate, _percentile(ordered, 0.5), _percentile(ordered, 0.99), _percentile(ordered, 1.0),
                round(statistics.median(w.cpu_us_per_call for w in these), 2),
                sum(w.unanswered_at_end for w in these),
            )  # fmt: skip
            results.append(result)
            cells = (name, f"{rate:g}", result.p50_ms, result.p99_ms, result.max_ms, result.cpu_us_per_call,
                     result.unanswered_at_end)  # fmt: skip
            print("| " + " | ".join(str(c) for c in cells) + " |")
        ours = [w for w in windows["voltyard"] if w.rate == rate]
        theirs = [w for w in floor if w.rate == rate]
        pairs = list(zip(ours, theirs, strict=True))
        p99s = [
            (_percentile(sorted(o.latencies_ns), 0.99), _percentile(sorted(f.latencies_ns), 0.99))
            for o, f in pairs
        ]
        ratios[f"{rate:g}_p99_over_floor"] = round(statistics.median(o / max(f, 1e-9) for o, f in p99s), 2)
        ratios[f"{rate:g}_cpu_over_floor"] = round(
            statistics.median(o.cpu_us_per_call / f.cpu_us_per_call for o, f in pairs), 2
        )
    print("ratios (median over rounds):", ratios, "(goals: p99_over_floor <= 2, cpu_over_floor <= 1.5)")
    return results, ratios


def _version_tag(args: argparse.Namespace) -> str:
    """What a results file's name says of the OCPP version: nothing for 1.6, as before."""
    return "" if args.ocpp == "1.6" else f"ocpp{args.ocpp}-"


def main_open_loop(args: argparse.Namespace) -> None:
    windows = uvloop.run(run_open_loop(args))
    results, ratios = report_open_loop(windows)
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"server-open-loop-{_version_tag(args)}{stamp}.json"
    out.write_text(json.dumps({
        "python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
        "load_average": os.getloadavg(), "args": vars(args), "results": [asdict(r) for r in results],
        "ratios": ratios,
        "rounds": {name: [{k: v for k, v in asdict(w).items() if k != "latencies_ns"} for w in ws]
                   for name, ws in windows.items()},
    }, indent=2, default=str) + "\n")  # fmt: skip
    print(f"wrote {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chargers", type=int, default=1000)
    parser.add_argument("--big", type=int, default=10_000, help="chargers for the connect+boot run (0: skip)")
    parser.add_argument("--seconds", type=float, default=30.0, help="closed-loop seconds measured per server")
    parser.add_argument("--rounds", type=int, default=15, help="the seconds are split into this many rounds")
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument(
        "--previous", type=Path, help="a checkout of an earlier voltyard (its python/ with _native built in)"
    )
    parser.add_argument(
        "--open-loop", type=float, nargs="+", metavar="RATE",
        help="open loop instead: the fleet sends RATE calls/s in all, whatever the answers (rates in turn)",
    )  # fmt: skip
    parser.add_argument(
        "--ocpp", choices=OCPP_VERSIONS, default="1.6",
        help="the OCPP version the fleets speak: 1.6 (MeterValues mix) or 2.0.1 (TransactionEvent mix)",
    )  # fmt: skip
    args = parser.parse_args()
    if args.open_loop is not None and any(rate <= 0 for rate in args.open_loop):
        parser.error("--open-loop rates must be above 0")
    if args.previous is not None and not (args.previous / "python" / "voltyard").is_dir():
        parser.error(f"--previous {args.previous}: no python/voltyard in that checkout")
    if args.rounds < 1 or args.seconds <= 0 or args.chargers < 1 or args.big < 0:
        parser.error("--rounds and --chargers must be at least 1, --seconds above 0, --big not negative")
    try:
        if args.open_loop is not None:
            main_open_loop(args)
            return
        results, fleets = uvloop.run(run(args))
    except BenchError as exc:
        parser.exit(1, f"bench_server: {exc}\n")
    ratios = report(results, fleets)
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"server-{_version_tag(args)}{stamp}.json"
    out.write_text(json.dumps({
        "python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
        "args": vars(args), "results": [asdict(r) for r in results], "ratios": ratios,
        "rounds": {fleet.server.name: [asdict(w) for w in fleet.windows] for fleet in fleets},
    }, indent=2, default=str) + "\n")  # fmt: skip
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
