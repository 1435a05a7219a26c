"""Decode + validate cost per OCPP-J frame: voltyard._native against the `ocpp` library's path and
against `orjson.loads` alone, side by side in one run.

- native: `OcppCodec.decode` (strict parse, envelope checks, schema validation, Python objects);
- ocpp:   `ocpp.messages.unpack` plus its cached jsonschema validator (`_validate_payload`) of
          the frame's version;
- orjson: `orjson.loads` only, the floor: no envelope checks, no validation.

The frames: four OCPP 1.6 golden frames, and an OCPP 2.0.1 TransactionEvent(Updated) with four
sampled values (energy, power, current, voltage), as a charger sends one every meter interval.

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
TX_UPDATED_201 = [
    2,
    "c1e2a3f4-5b6c-4d7e-8f90-a1b2c3d4e5f6",
    "TransactionEvent",
    {
        "eventType": "Updated",
        "timestamp": "2026-12-07T05:40:00Z",
        "triggerReason": "MeterValuePeriodic",
        "seqNo": 12,
        "transactionInfo": {
            "transactionId": "4f1c2a7e-9b3d-4c55-8e21-0d6f3a9b7c10",
            "chargingState": "Charging",
        },
        "evse": {"id": 1, "connectorId": 1},
        "meterValue": [
            {
                "timestamp": "2026-12-07T05:40:00Z",
                "sampledValue": [
                    {
                        "value": 1523417.0,
                        "context": "Sample.Periodic",
                        "measurand": "Energy.Active.Import.Register",
                        "location": "Outlet",
                        "unitOfMeasure": {"unit": "Wh"},
                    },
                    {
                        "value": 10987.5,
                        "context": "Sample.Periodic",
                        "measurand": "Power.Active.Import",
                        "location": "Outlet",
                        "unitOfMeasure": {"unit": "W"},
                    },
                    {
                        "value": 15.9,
                        "context": "Sample.Periodic",
                        "measurand": "Current.Import",
                        "phase": "L1",
                        "location": "Outlet",
                        "unitOfMeasure": {"unit": "A"},
                    },
                    {
                        "value": 230.4,
                        "context": "Sample.Periodic",
                        "measurand": "Voltage",
                        "phase": "L1-N",
                        "location": "Outlet",
                        "unitOfMeasure": {"unit": "V"},
                    },
                ],
            }
        ],
    },
]


def compact(path: Path) -> bytes:
    """The frame as a charger sends it: one line, no indentation."""
    return orjson.dumps(orjson.loads(path.read_bytes()))


def ocpp_library_path(text: bytes | str) -> None:
    message = messages.unpack(text)
    messages._validate_payload(message, "1.6")  # the sync core of its validate_payload


def ocpp_library_path_201(text: bytes | str) -> None:
    message = messages.unpack(text)
    messages._validate_payload(message, "2.0.1")


Contender = tuple[Callable[[bytes | str], object], bytes | str]


def per_call_us(call: Contender, repeats: int, budget_s: float) -> float:
    # `fn(arg)` compiled into timeit's loop: no wrapper frame of ours around each call.
    fn, arg = call
    timer = timeit.Timer("fn(arg)", globals={"fn": fn, "arg": arg})
    number, elapsed = timer.autorange()
    number = max(1, int(number * (budget_s / repeats) / max(elapsed, 1e-9)))
    return min(timer.repeat(repeat=repeats, number=number)) / number * 1e6


def measure(frame: bytes, version: str, repeats: int, budget_s: float) -> dict[str, float]:
    text = frame.decode()
    codec = load_codec(version)
    library = ocpp_library_path if version == "1.6" else ocpp_library_path_201
    codec.decode(frame)
    library(text)  # fills its validator cache before timing (and checks the frame is valid)
    row = {"frame_bytes": float(len(frame))}
    contenders: dict[str, Contender] = {
        "native_us": (codec.decode, frame),
        "ocpp_us": (library, text),
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
    rows = {
        action: measure(compact(FRAMES / f"{action}.json"), "1.6", args.repeats, args.budget)
        for action in ACTIONS
    }
    rows["2.0.1 TransactionEvent"] = measure(orjson.dumps(TX_UPDATED_201), "2.0.1", args.repeats, args.budget)
    print(
        f"{'frame':<24}{'bytes':>6}{'native µs':>11}{'ocpp µs':>10}{'orjson µs':>11}"
        f"{'ocpp/native':>13}{'native/orjson':>15}"
    )
    for action, r in rows.items():
        print(
            f"{action:<24}{r['frame_bytes']:>6.0f}{r['native_us']:>11.2f}{r['ocpp_us']:>10.1f}"
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
