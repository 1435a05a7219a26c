"""The result of a simulator run: one frozen report, written as JSON (and plotted by `plot`).

The report says whether the simulator or the server was the bottleneck: `sim_cpu.per_call_us` is the
simulator's own process CPU time per call it made or answered, and `sim_cpu.utilisation` its share of
one core over the run; a utilisation near 1.0 means the figures measure the simulator.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from voltyard.sim.expectations import ExpectationResult
from voltyard.sim.stats import TimelinePoint

__all__ = ["RunReport"]


@dataclass(frozen=True, slots=True)
class RunReport:
    """Everything a run measured and concluded."""

    run: dict[str, Any]
    connect: dict[str, Any]
    calls: dict[str, Any]
    by_action: dict[str, dict[str, float]]
    errors: dict[str, int]
    csms_calls: dict[str, int]
    counters: dict[str, int]
    sim_cpu: dict[str, float]
    power: dict[str, Any]
    expectations: tuple[ExpectationResult, ...]
    timeline: tuple[TimelinePoint, ...]

    @property
    def passed(self) -> bool:
        return all(result.passed for result in self.expectations)

    def as_dict(self) -> dict[str, Any]:
        document = {
            field.name: getattr(self, field.name)
            for field in dataclasses.fields(self)
            if field.name not in ("expectations", "timeline")
        }
        document["passed"] = self.passed
        document["expectations"] = [dataclasses.asdict(result) for result in self.expectations]
        document["timeline"] = [dataclasses.asdict(point) for point in self.timeline]
        return document

    def write_json(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(orjson.dumps(self.as_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))

    def summary_lines(self) -> list[str]:
        """The human summary printed at the end of `voltyard sim run`."""
        calls = self.calls
        lines = [
            f"chargers {self.run['chargers']} x {self.run['connectors']} connectors, scenario "
            f"{self.run['scenario']}, seed {self.run['seed']}, {self.run['duration_s']:g} s",
            f"connect: all {self.connect['connected_once']} in {_s(self.connect['all_connected_s'])}, "
            f"booted {self.connect['booted_once']} in {_s(self.connect['all_booted_s'])} "
            f"({self.connect['boot_rate_per_s']:.0f} boots/s)",
            f"calls: {calls['total']} answered, {calls['per_s']:.0f}/s; p50 {calls['p50_ms']:.2f} ms, "
            f"p95 {calls['p95_ms']:.2f} ms, p99 {calls['p99_ms']:.2f} ms, max {calls['max_ms']:.2f} ms",
            f"sim CPU: {self.sim_cpu['per_call_us']:.1f} µs per call, "
            f"{self.sim_cpu['utilisation']:.0%} of one core",
        ]
        protocols = self.run.get("protocols") or {}
        if set(protocols) - {"1.6"}:
            lines[0] += "; OCPP " + ", ".join(f"{version} x{count}" for version, count in protocols.items())
        for action, figures in sorted(self.by_action.items()):
            lines.append(
                f"  {action:<28} {int(figures['count']):>9}  p50 {figures['p50_ms']:8.2f}  "
                f"p95 {figures['p95_ms']:8.2f}  p99 {figures['p99_ms']:8.2f}  max {figures['max_ms']:8.2f} ms"
            )
        if self.errors:
            lines.append(f"errors: {self.errors}")
        power = self.power
        if power.get("peak_kw"):
            if power.get("site_limit_kw") is not None:
                source = power.get("site_limit_source")
                limit = f"against a limit of {power['site_limit_kw']:.1f} kW (from {source})"
            else:
                limit = "site limit: unknown (pass --site-limit-kw)"
            lines.append(f"site power: peak {power['peak_kw']:.1f} kW; {limit}")
        for result in self.expectations:
            lines.append(f"{'PASS' if result.passed else 'FAIL'} {result.name}: {result.detail}")
        return lines


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"
