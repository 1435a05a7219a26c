"""Planner tick cost per call through voltyard._native: p50 and p99 in microseconds at 12 slots /
24 modules / 12 guns and at 96 slots / 192 modules, against the goals of issue 6 (p99 at most
50 µs and 1 ms), and optionally the same ticks in pure Rust.

The scenarios are golden ones of tests/fixtures/planner (all_12_demanding, ring_96_slots). For each,
three contenders, interleaved over the rounds so that all see the same machine conditions:

- plan:      `plan(snapshot, previous)` on the steady tick, the one the appliance runs every 100 ms
             (previous plan given, contactor feedback settled on it): read the snapshot's
             dataclasses, plan, wrap the plan;
- plan_read: the same, then every field the plan sink reads (guns, slots, sequence) as Python values;
- cold:      `plan(snapshot)` on the first tick: no previous plan, every contactor open.

With --rust, the pure-Rust bench adds the same steady and cold ticks without the binding, and the
planner's worst case over 2 000 random 96-slot rings (best of 5 each, so without preemptions).

Percentiles need per-call times, so each call is timed on its own with `perf_counter_ns` (about
0.1 µs of the figure is the clock itself). Reported: p50 and p99 of all rounds pooled, and of the
least disturbed round (lowest p99), which the goals are judged on: as with best-of timings, other
load on the machine only ever adds time, and on shared cores a preempted call costs milliseconds.
The garbage collector is off while sampling, as in timeit: its pauses belong to the process.
Prints a table and writes bench/results/planner-<UTC timestamp>.json.

Usage: python bench/bench_planner.py [--rounds N] [--budget SECONDS] [--rust]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from voltyard._native import Plan, plan
from voltyard.power.snapshot import PlannerSnapshot, settled, snapshot_from_json

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "planner"
RESULTS = Path(__file__).resolve().parent / "results"
SCENARIOS = {"12_slots": "all_12_demanding", "96_slots": "ring_96_slots"}
GOAL_P99_US = {"12_slots": 50.0, "96_slots": 1000.0}


def load(fixture: str) -> PlannerSnapshot:
    scenario = json.loads((FIXTURES / f"{fixture}.json").read_text(encoding="utf-8"))
    return snapshot_from_json(scenario["snapshot"])


def read_everything(result: Plan) -> None:
    """What a plan sink reads: every gun, slot and step as Python values."""
    for gun in result.guns:
        _ = (gun.budget_kw, gun.island, gun.modules_on, gun.limit)
    for slot in result.slots:
        _ = (slot.gc, slot.mc, slot.cw, slot.ccw, slot.mn)
    for step in result.sequence:
        _ = (step.kind, step.guns, step.modules, step.contactors)


def contenders(cold: PlannerSnapshot) -> dict[str, Callable[[], object]]:
    previous = plan(cold)
    steady = settled(cold, previous)
    return {
        "plan": lambda: plan(steady, previous),
        "plan_read": lambda: read_everything(plan(steady, previous)),
        "cold": lambda: plan(cold),
    }


def sample(call: Callable[[], object], seconds: float, into: list[int]) -> None:
    clock = time.perf_counter_ns
    end = clock() + int(seconds * 1e9)
    while True:
        start = clock()
        call()
        stop = clock()
        into.append(stop - start)
        if stop >= end:
            return


def at(ordered: list[int], p: float) -> float:
    return ordered[round((len(ordered) - 1) * p)] / 1000.0


def percentiles(rounds: list[list[int]]) -> dict[str, float]:
    """p50 and p99 of all samples pooled, and p50 and p99 of the least disturbed round."""
    pooled = sorted(t for r in rounds for t in r)
    best = min((sorted(r) for r in rounds), key=lambda r: at(r, 0.99))
    return {
        "calls": float(len(pooled)),
        "p50_us": at(pooled, 0.5),
        "p99_us": at(pooled, 0.99),
        "min_us": at(pooled, 0.0),
        "best_round_p50_us": at(best, 0.5),
        "best_round_p99_us": at(best, 0.99),
    }


def measure(fixture: str, rounds: int, budget_s: float) -> dict[str, dict[str, float]]:
    calls = contenders(load(fixture))
    for call in calls.values():  # warm-up: interned names, allocator, branch predictors
        for _ in range(200):
            call()
    samples: dict[str, list[list[int]]] = {name: [] for name in calls}
    gc.disable()
    try:
        for _ in range(rounds):  # interleaved rounds: every contender sees the same load
            for name, call in calls.items():
                samples[name].append([])
                sample(call, budget_s / rounds, samples[name][-1])
    finally:
        gc.enable()
    return {name: percentiles(s) for name, s in samples.items()}


def rust_figures(seconds: float) -> dict[str, dict[str, float]]:
    """The pure-Rust bench (`cargo bench`, release profile), one JSON object on its stdout."""
    out = subprocess.run(
        ["cargo", "bench", "--locked", "-q", "-p", "voltyard-core", "--bench", "planner_tick"],
        cwd=ROOT,
        env={**os.environ, "PLANNER_BENCH_SECONDS": str(seconds)},
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    figures: dict[str, dict[str, float]] = json.loads(out.strip().splitlines()[-1])
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="interleaved rounds")
    parser.add_argument("--budget", type=float, default=2.0, help="seconds per contender per scenario")
    parser.add_argument("--rust", action="store_true", help="also run the pure-Rust bench (cargo bench)")
    args = parser.parse_args()

    rows = {label: measure(fixture, args.rounds, args.budget) for label, fixture in SCENARIOS.items()}
    rust = rust_figures(args.budget) if args.rust else {}
    print(
        f"{'scenario':<10}{'contender':<12}{'calls':>8}{'p50 µs':>9}{'p99 µs':>9}"
        f"{'best-round p50/p99 µs':>23}  goal p99"
    )
    for label, row in rows.items():
        for name, r in row.items():
            goal = f"{GOAL_P99_US[label]:.0f} µs" if name == "plan" else ""
            best = f"{r['best_round_p50_us']:.2f} / {r['best_round_p99_us']:.2f}"
            print(
                f"{label:<10}{name:<12}{r['calls']:>8.0f}{r['p50_us']:>9.2f}{r['p99_us']:>9.2f}"
                f"{best:>23}  {goal}"
            )
        for kind in ("steady", "cold", "random"):
            if r := rust.get(f"{label}_{kind}"):
                extra = f"max {r['max_us']:.2f}" if "max_us" in r else ""
                print(
                    f"{label:<10}{'rust_' + kind:<12}{r['calls']:>8.0f}{r['p50_us']:>9.2f}"
                    f"{r['p99_us']:>9.2f}{extra:>23}"
                )
    verdict = {label: rows[label]["plan"]["best_round_p99_us"] <= goal for label, goal in GOAL_P99_US.items()}
    print("goals met:", ", ".join(f"{label} {'yes' if ok else 'NO'}" for label, ok in verdict.items()))

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"planner-{stamp}.json"
    record = {
        "benchmark": "bench_planner",
        "utc": stamp,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "unix_time": time.time(),
        "rounds": args.rounds,
        "budget_s": args.budget,
        "goal_p99_us": GOAL_P99_US,
        "goals_met": verdict,
        "scenarios": rows,
        "rust": rust,
    }
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
