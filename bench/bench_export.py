"""A 100 000-row message-log export during a 1 500 calls/s OCPP load: does any charger wait for it?

Three processes: `voltyard serve` (pinned to CPU 0) on a store already holding `--rows` message-log
exchanges, written through the store's own writer in its block format (real frames: the load's mix); a paced
charger fleet (bench/loadgen.py's clients, pinned to CPU 1) sending `--rate` calls/s spread over `--chargers`
chargers, recording every call's latency; and this script, which after `--before` seconds downloads the
pre-filled rows as a JSON export and then as a CSV export, and lets the load run `--after` seconds more.
It scrapes /metrics every 0.25 s for the worst event-loop lag and the server's RSS, and reads the stalls the
server logs. See bench/README.md.

    python bench/bench_export.py [--rows 100000] [--rate 1500] [--chargers 100] [--pythonpath DIR]

`--pythonpath` runs the server (and the fill) from another copy of the code, e.g. main's, to measure the
before and after the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import platform
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from array import array
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
SERVER_CPU, LOAD_CPU = 0, 1
GOAL_MS = 50.0
READY = re.compile(r"voltyard ready: OCPP ws://[^:]+:(\d+)/.*control API (http://[^ ]+)/api/v1")
STALL = re.compile(r"event loop stalled for (\d+) ms")


# --- fill: the store's message log, through the store's writer (runs with the code under test) -----------


async def fill(data_dir: Path, rows: int, chargers: int, rate: float) -> float:
    """`rows` exchanges of the load's mix, as if received at `rate` calls/s and ending a second ago; returns
    the time of the last one."""
    sys.path.insert(0, str(BENCH))
    import orjson  # noqa: PLC0415
    from loadgen import _MIX, _PAYLOADS  # noqa: PLC0415
    from voltyard.store.db import DB_FILENAME  # noqa: PLC0415
    from voltyard.store.message_log import MessageLog  # noqa: PLC0415
    from voltyard.store.writer import StoreWriter  # noqa: PLC0415

    store = StoreWriter(data_dir / DB_FILENAME)
    await store.start()
    log = MessageLog(store, max_rows=10**9, max_age_days=3650)
    end = time.time() - 1.0
    start = end - rows / rate
    answers = {
        "MeterValues": b"{}",
        "Heartbeat": b'{"currentTime":"2026-11-25T10:16:00.000Z"}',
        "StatusNotification": b"{}",
    }
    per_commit = max(1, int(rate / 2))  # the rows of one 0.5 s commit interval, as a running server writes
    for n in range(rows):
        action = _MIX[n % 10]
        mid = str(n).encode()
        frame = b'[2,"' + mid + b'","' + action.encode() + b'",' + orjson.dumps(_PAYLOADS[action]) + b"]"
        reply = b'[3,"' + mid + b'",' + answers[action] + b"]"
        log.answered(f"BENCH{n % chargers:05d}", start + n / rate, frame, str(n), action, reply)
        if n % per_commit == per_commit - 1:
            await store.flush()
    await store.close()
    return start + (rows - 1) / rate


# --- load: a paced fleet (runs in its own process, pinned to CPU 1) ------------------------------------


async def load(url: str, chargers: int, rate: float, out: Path) -> None:
    sys.path.insert(0, str(BENCH))
    from loadgen import BenchCharger, FleetStats, connect_fleet, disconnect_fleet  # noqa: PLC0415

    sent_at = array("d")
    latency_ms = array("d")
    behind = 0

    class PacedCharger(BenchCharger):  # type: ignore[misc]
        """Sends when told to, records each answer's latency against the wall-clock time it was sent."""

        __slots__ = ("busy", "wall")

        def __init__(self, stats: FleetStats, booted_future: asyncio.Future[None]) -> None:
            super().__init__(stats, booted_future)
            self.busy = False
            self.wall = 0.0

        def on_ws_frame(self, transport: object, frame: object) -> None:
            received = time.perf_counter_ns()
            if not self.booted_future.done():
                self.booted_future.set_result(None)
                return
            if self.busy:
                self.busy = False
                sent_at.append(self.wall)
                latency_ms.append((received - self.sent_at) / 1e6)

        def send(self) -> bool:
            if self.busy:
                return False
            self.busy = True
            self.wall = time.time()
            self.send_next()
            return True

    import loadgen  # noqa: PLC0415

    loadgen.BenchCharger = PacedCharger  # connect_fleet builds the fleet from this name
    stats = FleetStats(running=False)
    fleet, transports, _ = await connect_fleet(url, chargers, stats)
    period = chargers / rate
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)

    async def pace(charger: PacedCharger, phase: float) -> None:
        nonlocal behind
        due = time.monotonic() + phase
        while not stop.is_set():
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            if not charger.send():
                behind += 1  # its previous call is still unanswered: the server is behind
            due += period

    print("load running", flush=True)
    tasks = [asyncio.create_task(pace(c, i * period / chargers)) for i, c in enumerate(fleet)]
    await stop.wait()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.sleep(0.5)  # the last answers
    await disconnect_fleet(transports)
    out.write_text(json.dumps({"sent_at": list(sent_at), "latency_ms": list(latency_ms), "behind": behind}))


# --- the run ----------------------------------------------------------------------------------------------


def _env(pythonpath: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(pythonpath)}


def _pinned(cpu: int, *command: str) -> list[str]:
    """`command`, run on CPU `cpu` only (through this script's --pin, which then execs it)."""
    return [sys.executable, __file__, "--pin", str(cpu), *command]


def _pin_and_exec(cpu: int, command: list[str]) -> None:
    os.sched_setaffinity(0, {cpu})
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    os.execv(command[0], command)


def _stats(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"calls": 0}
    ordered = sorted(values)
    return {
        "calls": len(ordered),
        "p50_ms": round(statistics.median(ordered), 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2),
        "max_ms": round(ordered[-1], 2),
    }


async def _scrape(api: str, token: str, samples: list[tuple[float, float]], stop: asyncio.Event) -> None:
    import aiohttp  # noqa: PLC0415

    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session:
        while not stop.is_set():
            try:
                async with session.get(f"{api}/metrics", timeout=aiohttp.ClientTimeout(total=30)) as answer:
                    text = await answer.text()
                lag = float(re.search(r"^voltyard_event_loop_lag_seconds (\S+)", text, re.M).group(1))  # type: ignore[union-attr]
                samples.append((time.time(), lag * 1000))
            except (aiohttp.ClientError, AttributeError, TimeoutError):
                pass
            await asyncio.sleep(0.25)


def _rss_mb(pid: int) -> float:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


async def _export(api: str, token: str, query: str, path: Path, pid: int, rss: list[float]) -> dict[str, Any]:
    import aiohttp  # noqa: PLC0415

    started = time.time()
    first_byte = None
    size = 0
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session,
        session.get(
            f"{api}/api/v1/messages/export?{query}", timeout=aiohttp.ClientTimeout(total=600)
        ) as answer,
    ):
        headers = dict(answer.headers)
        with path.open("wb") as out:
            async for chunk in answer.content.iter_chunked(1 << 20):
                if first_byte is None:
                    first_byte = time.time()
                out.write(chunk)
                size += len(chunk)
                rss.append(_rss_mb(pid))
        status = answer.status
    ended = time.time()
    return {
        "status": status,
        "started": started,
        "ended": ended,
        "seconds": round(ended - started, 3),
        "first_byte_s": round((first_byte or ended) - started, 3),
        "bytes": size,
        "truncated_header": headers.get("X-Voltyard-Truncated"),
    }


def _count_rows(path: Path, kind: str) -> int:
    if kind == "csv":
        with path.open(newline="") as source:
            return sum(1 for _ in csv.reader(source)) - 1
    document = json.loads(path.read_bytes())
    return len(document["items"] if isinstance(document, dict) else document)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    os.sched_setaffinity(0, {LOAD_CPU})
    with tempfile.TemporaryDirectory(prefix="voltyard-bench-export-", dir=BENCH) as temp:
        data_dir = Path(temp) / "data"
        data_dir.mkdir(mode=0o700)
        env = _env(args.pythonpath)
        print(f"filling the message log with {args.rows} exchanges ({args.pythonpath})", flush=True)
        filled = subprocess.run(
            [sys.executable, __file__, "--fill", str(data_dir), "--rows", str(args.rows),
             "--chargers", str(args.chargers), "--rate", str(args.rate)],
            env=env, check=True, capture_output=True, text=True,
        )  # fmt: skip
        fill_end = float(filled.stdout.strip().splitlines()[-1])
        server_log = Path(temp) / "server.log"
        with server_log.open("w") as log_file:
            server = subprocess.Popen(
                _pinned(SERVER_CPU, sys.executable, "-m", "voltyard.cli", "serve", "--host", "127.0.0.1",
                        "--port", "0", "--api-port", "0", "--data-dir", str(data_dir),
                        "--config", str(BENCH / "voltyard-bench.toml")),
                env=env, stdout=subprocess.DEVNULL, stderr=log_file,
            )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while not (match := READY.search(server_log.read_text())):
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"voltyard serve did not start:\n{server_log.read_text()}")
                await asyncio.sleep(0.1)
            ocpp_port, api = int(match.group(1)), match.group(2)
            token = (data_dir / "api-token-readonly").read_text().strip()
            return await _measure(args, temp, server, ocpp_port, api, token, fill_end, server_log)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(60)


async def _measure(
    args: argparse.Namespace,
    temp: str,
    server: subprocess.Popen[bytes],
    ocpp_port: int,
    api: str,
    token: str,
    fill_end: float,
    server_log: Path,
) -> dict[str, Any]:
    import aiohttp  # noqa: PLC0415

    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session,
        session.get(f"{api}/api/v1/messages?limit=1") as probe,
    ):
        cursor_api = "next" in await probe.json()
    # The new API exports everything without `limit` and takes ISO times; main's cuts at 10 000 unless
    # told `limit` (at most 100 000) and takes unix seconds.
    until = (
        datetime.fromtimestamp(fill_end + 0.0004, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
        if cursor_api
        else f"{fill_end + 0.0004:.6f}"
    )
    query = f"until={until}" + ("" if cursor_api else f"&limit={args.rows}")
    results = Path(temp) / "load.json"
    loader = await asyncio.create_subprocess_exec(
        *_pinned(LOAD_CPU, sys.executable, __file__, "--load", f"ws://127.0.0.1:{ocpp_port}/ocpp",
                 "--chargers", str(args.chargers), "--rate", str(args.rate), "--out", str(results)),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert loader.stdout is not None
    await asyncio.wait_for(loader.stdout.readline(), 120)
    load_start = time.time()
    stop = asyncio.Event()
    lags: list[tuple[float, float]] = []
    scraper = asyncio.create_task(_scrape(api, token, lags, stop))
    rss: list[float] = []
    rss_before = _rss_mb(server.pid)
    await asyncio.sleep(args.before)
    exports = {}
    for kind in ("json", "csv"):
        print(f"exporting {args.rows} rows as {kind} during the load", flush=True)
        exports[kind] = await _export(api, token, f"format={kind}&{query}", Path(temp) / f"export.{kind}",
                                      server.pid, rss)  # fmt: skip
        await asyncio.sleep(args.gap)
    await asyncio.sleep(args.after - args.gap)
    loader.send_signal(signal.SIGTERM)
    await asyncio.wait_for(loader.wait(), 60)
    stop.set()
    await scraper
    load = json.loads(results.read_text())
    for kind, export in exports.items():
        export["rows"] = _count_rows(Path(temp) / f"export.{kind}", kind)
    sent, latency = load["sent_at"], load["latency_ms"]
    warm = load_start + 2.0  # connections settled, caches warm

    def between(low: float, high: float) -> list[float]:
        return [lat for at, lat in zip(sent, latency, strict=True) if low <= at < high]

    def worst_lag(low: float, high: float) -> float:
        # A scrape reports the worst lag since the previous one: take the scrapes up to 0.25 s after.
        return round(max((lag for at, lag in lags if low <= at < high + 0.3), default=0.0), 1)

    js, cs = exports["json"], exports["csv"]
    phases = {
        "before": (warm, js["started"]),
        "during_json": (js["started"], js["ended"]),
        "during_csv": (cs["started"], cs["ended"]),
        "after": (cs["ended"] + 0.5, float("inf")),
    }
    stalls = [int(m) for m in STALL.findall(server_log.read_text())]
    during = between(*phases["during_json"]) + between(*phases["during_csv"])
    return {
        "bench": "export",
        "time": datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"),
        "code": str(args.pythonpath),
        "api": "cursor" if cursor_api else "main",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "rows_in_store_before_load": args.rows,
        "rate": args.rate,
        "chargers": args.chargers,
        "calls": len(latency),
        "calls_skipped_while_behind": load["behind"],
        "latency": {
            name: {**_stats(between(*span)), "worst_loop_lag_ms": worst_lag(*span)}
            for name, span in phases.items()
        },
        "latency_during_exports": _stats(during),
        "exports": exports,
        "server_rss_mb": {
            "before": round(rss_before, 1),
            "max_during_exports": round(max(rss, default=0), 1),
        },
        "server_stalls_logged_ms": stalls,
        "goal_ms": GOAL_MS,
        "goal_met": bool(during) and max(during) <= GOAL_MS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="message-log exchanges to export")
    parser.add_argument("--rate", type=float, default=1500.0, help="OCPP calls per second of the load")
    parser.add_argument("--chargers", type=int, default=100)
    parser.add_argument("--before", type=float, default=10.0, help="seconds of load before the exports")
    parser.add_argument("--gap", type=float, default=3.0, help="seconds between the two exports")
    parser.add_argument("--after", type=float, default=10.0, help="seconds of load after the exports")
    parser.add_argument("--pythonpath", type=Path, default=ROOT / "python", help="the code the server runs")
    parser.add_argument("--fill", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--load", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    if sys.argv[1:2] == ["--pin"]:
        _pin_and_exec(int(sys.argv[2]), sys.argv[3:])
    args = parser.parse_args()
    if args.fill is not None:
        print(asyncio.run(fill(args.fill, args.rows, args.chargers, args.rate)))
        return
    if args.load is not None:
        try:
            import uvloop  # noqa: PLC0415

            uvloop.run(load(args.load, args.chargers, args.rate, args.out))
        except ImportError:
            asyncio.run(load(args.load, args.chargers, args.rate, args.out))
        return
    args.pythonpath = args.pythonpath.resolve()
    result = asyncio.run(run(args))
    print(json.dumps(result, indent=1))
    out = BENCH / "results" / f"export-{result['time']}.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
