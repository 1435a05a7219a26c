"""The PNG next to a run's JSON report: throughput, latency and (when sessions ran) site power over time.

matplotlib is imported only here and only when a plot is asked for: it is an optional dependency (the
`sim` extra), and the simulator runs without it.
"""

from __future__ import annotations

from pathlib import Path

from voltyard.sim.errors import SimError
from voltyard.sim.report import RunReport

__all__ = ["write_plot"]


def write_plot(report: RunReport, path: Path) -> None:
    """Draw the report's timeline into `path`; raises SimError when matplotlib is missing."""
    try:
        import matplotlib  # noqa: PLC0415 - optional, imported on demand

        matplotlib.use("Agg")  # no display: files only
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError as exc:
        raise SimError("the PNG plot needs matplotlib: pip install 'voltyard[sim]'") from exc
    points = report.timeline
    t = [p.t for p in points]
    with_power = any(p.sessions for p in points)
    rows = 3 if with_power else 2
    figure, axes = plt.subplots(rows, 1, sharex=True, figsize=(10, 2.8 * rows))
    run = report.run
    figure.suptitle(
        f"voltyard sim: {run['scenario']}, {run['chargers']} chargers, seed {run['seed']}"
        + (f", load {run['load']['mode']}" if run.get("load") else "")
    )
    axes[0].plot(t, [p.calls_per_s for p in points], color="tab:blue", label="calls/s")
    axes[0].set_ylabel("calls/s")
    twin = axes[0].twinx()
    twin.plot(t, [p.connected for p in points], color="tab:gray", linestyle="--", label="connected")
    twin.set_ylabel("connected")
    axes[1].plot(t, [p.p50_ms for p in points], label="p50")
    axes[1].plot(t, [p.p99_ms for p in points], label="p99")
    axes[1].set_ylabel("latency (ms)")
    axes[1].legend(loc="upper left")
    if with_power:
        axes[2].plot(t, [p.site_power_kw for p in points], label="site total")
        limits = [p.site_limit_kw for p in points]
        if any(limit is not None for limit in limits):
            axes[2].plot(t, [float("nan") if x is None else x for x in limits], label="sum of profile limits")
        site_limit = report.power.get("site_limit_kw")
        if site_limit is not None:
            axes[2].axhline(site_limit, color="tab:red", linestyle=":", label="site limit")
        axes[2].set_ylabel("kW")
        axes[2].legend(loc="upper left")
    axes[-1].set_xlabel("seconds")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
