"""Decode + validate cost per OCPP-J frame: voltyard._native against the `ocpp` library's path and
against `orjson.loads` alone, side by side in one run.

- native: `OcppCodec.decode` (strict parse, envelope checks, schema validation, Python objects);
- ocpp:   `ocpp.messages.unpack` plus its cached jsonschema validator (`_validate_payload`);
- orjson: `orjson.loads` only, the floor: no envelope checks, no validation.

Each figure is the best of several repeats (the least disturbed by other load on the machine),
measured interleaved so that all three see the same conditions, with each call compiled straight
into timeit's loop (no wrapper function of the harness around it). Prints a table and writes
bench/results/native-<UTC timestamp>.json.

Usage: python bench/bench_native.py [--repeats N] [--budget SECONDS]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import timeit
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import orjson
from ocpp import messages
from voltyard.ocpp.codec import load_codec

ROOT = Path(__file__).resolve().parent.parent
FRAMES = ROOT / "tests" / "fixtures" / "frames" / "valid"
RESULTS = Path(__file__).resolve().parent / "results"
ACTIONS = ("BootNotification", "Heartbeat", "StatusNotification", "MeterValues")


def compact(path: Path) -> bytes:
    """The frame as a charger sends it: one line, no indentation."""
    return orjson.dumps(orjson.loads(path.read_bytes()))


def ocpp_library_path(text: bytes | str) -> None:
    message = messages.unpack(text)
    messages._validate_payload(message, "1.6")  # the sync core of its validate_payload


Contender = tuple[Callable[[bytes | str], object], bytes | str]


def per_call_us(call: Contender, repeats: int, budget_s: float) -> float:
    # `fn(arg)` compiled into timeit's loop: no wrapper frame of ours around each call.
    fn, arg = call
    timer = timeit.Timer("fn(arg)", globals={"fn": fn, "arg": arg})
    number, elapsed = timer.autorange()
    number = max(1, int(number * (budget_s / repeats) / max(elapsed, 1e-9)))
    return min(timer.repeat(repeat=repeats, number=number)) / number * 1e6


def measure(action: str, repeats: int, budget_s: float) -> dict[str, float]:
    frame = compact(FRAMES / f"{action}.json")
    text = frame.decode()
    codec = load_codec()
    codec.decode(frame)
    ocpp_library_path(text)  # fills its validator cache before timing
    row = {"frame_bytes": float(len(frame))}
    contenders: dict[str, Contender] = {
        "native_us": (codec.decode, frame),
        "ocpp_us": (ocpp_library_path, text),
        "orjson_us": (orjson.loads, frame),
    }
    best = dict.fromkeys(contenders, float("inf"))
    for _ in range(repeats):  # interleaved rounds: every contender sees the same load
        for name, fn in contenders.items():
            best[name] = min(best[name], per_call_us(fn, 1, budget_s / repeats))
    row.update(best)
    row["ocpp_over_native"] = row["ocpp_us"] / row["native_us"]
    row["native_over_orjson"] = row["native_us"] / row["orjson_us"]
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="interleaved rounds (best kept)")
    parser.add_argument("--budget", type=float, default=1.0, help="seconds per contender per frame")
    args = parser.parse_args()
    rows = {action: measure(action, args.repeats, args.budget) for action in ACTIONS}
    print(
        f"{'frame':<20}{'bytes':>6}{'native µs':>11}{'ocpp µs':>10}{'orjson µs':>11}"
        f"{'ocpp/native':>13}{'native/orjson':>15}"
    )
    for action, r in rows.items():
        print(
            f"{action:<20}{r['frame_bytes']:>6.0f}{r['native_us']:>11.2f}{r['ocpp_us']:>10.1f}"
            f"{r['orjson_us']:>11.2f}{r['ocpp_over_native']:>12.0f}x{r['native_over_orjson']:>14.2f}x"
        )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"native-{stamp}.json"
    out.write_text(
        json.dumps(
            {
                "benchmark": "bench_native",
                "utc": stamp,
                "python": platform.python_version(),
                "machine": platform.machine(),
                "cpu_count": __import__("os").cpu_count(),
                "unix_time": time.time(),
                "repeats": args.repeats,
                "frames": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
