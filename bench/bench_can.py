"""CAN frames decoded per second: the native PLC codec (voltyard._native.decode_plc_frame) against
cantools decoding the same frames with configs/plc.dbc, side by side in one run.

- native:         ID layout, length, CRC-8 and mux checked; a typed frame object with raw values;
- cantools:       `Message.decode(data)` after a dict lookup by ID: physical values and value-table
                  names in a dict, no CRC check (the DBC cannot express it);
- cantools_raw:   the same with `scaling=False, decode_choices=False`, cantools' lightest decode.

The frames are what the host receives from a PLC during a session (status, meter mux 0 and 1,
charge info, EV targets, safety). Each figure is the best of interleaved rounds, with the call
compiled into timeit's loop. Prints a table and writes bench/results/can-<UTC timestamp>.json.

Usage: python bench/bench_can.py [--repeats N] [--budget SECONDS]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import timeit
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cantools
import cantools.database
from voltyard.can import frames as f
from voltyard.can.frames import decode

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
DBC = ROOT / "configs" / "plc.dbc"

FRAMES = {
    "RelayStatus": f.RelayStatus(7, rly1_state=True, rly1_fb=True, safety_ok=True, last_cmd_seq_applied=42),
    "MeterInstant": f.MeterInstant(
        7, meter_ok=True, voltage_0p1v=4012, current_0p01a=-18350, active_power_0p01kw=7362
    ),
    "MeterTotals": f.MeterTotals(7, meter_ok=True, import_energy_0p1kwh=123456, freq_0p01hz=0),
    "ChargeInfo": f.ChargeInfo(7, cp_state=2, lock_engaged=True, hlc_active=True, hlc_current_demand=True),
    "EvdcTargets": f.EvdcTargets(7, ev_target_voltage_0p1v=4000, ev_target_current_0p1a=1835, ev_soc_pct=63),
    "SafetySwitchStatus": f.SafetySwitchStatus(7, sw1_deb=True, safety_ok=True, sw_mask=1),
}


def per_call_us(stmt: str, names: dict[str, Any], budget_s: float) -> float:
    timer = timeit.Timer(stmt, globals=names)
    number, elapsed = timer.autorange()
    number = max(1, int(number * budget_s / max(elapsed, 1e-9)))
    return min(timer.repeat(repeat=1, number=number)) / number * 1e6


def measure(name: str, repeats: int, budget_s: float, db: cantools.database.can.Database) -> dict[str, float]:
    arbitration_id, data = FRAMES[name].encode()
    message = db.get_message_by_frame_id(arbitration_id & ~0xF, force_extended_id=True)
    by_id = {arbitration_id: message}
    names = {"decode": decode, "by_id": by_id, "i": arbitration_id, "d": data}
    contenders = {
        "native_us": "decode(i, d)",
        "cantools_us": "by_id[i].decode(d)",
        "cantools_raw_us": "by_id[i].decode(d, decode_choices=False, scaling=False)",
    }
    raw = message.decode(data, decode_choices=False, scaling=False)
    frame = decode(arbitration_id, data)
    assert all(getattr(frame, k.lower()) == v for k, v in raw.items() if k not in {"CRC8", "METER_MUX"}), name
    best = dict.fromkeys(contenders, float("inf"))
    for _ in range(repeats):  # interleaved rounds: every contender sees the same load
        for key, stmt in contenders.items():
            best[key] = min(best[key], per_call_us(stmt, names, budget_s / repeats))
    row: dict[str, float] = dict(best)
    row["native_frames_per_s"] = 1e6 / row["native_us"]
    row["cantools_frames_per_s"] = 1e6 / row["cantools_us"]
    row["cantools_over_native"] = row["cantools_us"] / row["native_us"]
    row["cantools_raw_over_native"] = row["cantools_raw_us"] / row["native_us"]
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="interleaved rounds (best kept)")
    parser.add_argument("--budget", type=float, default=0.5, help="seconds per contender per frame")
    args = parser.parse_args()
    db = cantools.database.load_file(DBC)
    rows = {name: measure(name, args.repeats, args.budget, db) for name in FRAMES}
    mix_native = sum(r["native_us"] for r in rows.values()) / len(rows)
    mix_cantools = sum(r["cantools_us"] for r in rows.values()) / len(rows)
    mix = {
        "native_frames_per_s": 1e6 / mix_native,
        "cantools_frames_per_s": 1e6 / mix_cantools,
        "cantools_over_native": mix_cantools / mix_native,
    }
    print(f"{'frame':<20}{'native µs':>11}{'cantools µs':>13}{'raw µs':>9}{'ratio':>9}{'raw ratio':>11}")
    for name, r in rows.items():
        print(
            f"{name:<20}{r['native_us']:>11.3f}{r['cantools_us']:>13.2f}{r['cantools_raw_us']:>9.2f}"
            f"{r['cantools_over_native']:>8.0f}x{r['cantools_raw_over_native']:>10.0f}x"
        )
    print(
        f"mix: native {mix['native_frames_per_s']:,.0f} frames/s, "
        f"cantools {mix['cantools_frames_per_s']:,.0f} frames/s, ratio {mix['cantools_over_native']:.0f}x"
    )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"can-{stamp}.json"
    result = {
        "benchmark": "bench_can",
        "utc": stamp,
        "python": platform.python_version(),
        "cantools": cantools.__version__,
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "unix_time": time.time(),
        "repeats": args.repeats,
        "frames": rows,
        "mix": mix,
    }
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
