"""The built-in scenarios and the registry that finds a scenario by name or by TOML file path.

Times are fractions of the run's duration, so each scenario works as a 10-second CI check and as an
hour-long soak. Every random choice is drawn from the charger's own generator, in a fixed order.
"""

from __future__ import annotations

import random
from pathlib import Path

from voltyard.sim.errors import ScenarioError
from voltyard.sim.plan import Step
from voltyard.sim.scenario import ALL, Expectations, PlanContext, Scenario, session_steps
from voltyard.sim.scenario_file import load_scenario_file

__all__ = ["BUILTIN", "UNKNOWN_TAG_PREFIX", "find_scenario", "tag_for"]

# The tags of auth_failure: a prefix no central system's tag list is expected to hold, so a default
# `voltyard serve` (unknown_id_tag = "reject") refuses them.
UNKNOWN_TAG_PREFIX = "UNKNOWN"


def tag_for(index: int, connector: int) -> str:
    """The id tag of the driver at a connector (20 characters at most, as idToken requires)."""
    return f"SIM{index:06d}C{connector}"


def _basic_charge(ctx: PlanContext, rng: random.Random) -> list[Step]:
    steps: list[Step] = []
    d = ctx.duration
    for connector in range(1, ctx.connectors + 1):
        arrive = rng.uniform(0.05, 0.25) * d
        charge = rng.uniform(0.3, 0.5) * d
        unplug_after = rng.choice((0.0, 0.05 * d))
        steps += session_steps(
            connector, tag_for(ctx.index, connector), arrive, charge, unplug_after=unplug_after
        )
    return steps


def _morning_rush(ctx: PlanContext, rng: random.Random) -> list[Step]:
    # Arrivals ramp across the fleet (charger i of N arrives around i/N of the first 40 %), as a depot's
    # vans do at shift start, instead of all at once.
    steps: list[Step] = []
    d = ctx.duration
    base = 0.4 * d * ctx.index / max(1, ctx.chargers)
    for connector in range(1, ctx.connectors + 1):
        present = rng.random() < 0.9
        arrive = base + rng.uniform(0.0, 0.1) * d
        charge = rng.uniform(0.25, 0.4) * d
        pauses = rng.random() < 0.3
        if not present:
            continue
        tag = tag_for(ctx.index, connector)
        steps += session_steps(
            connector, tag, arrive, charge, unplug_after=0.02 * d, kw=rng.choice((7.4, 11.0))
        )
        if pauses:
            steps.append(Step(arrive + charge * 0.3, "suspend_ev", connector))
            steps.append(Step(arrive + charge * 0.5, "resume_ev", connector))
    return steps


def _fault_injection(ctx: PlanContext, rng: random.Random) -> list[Step]:
    steps: list[Step] = []
    d = ctx.duration
    # A third of the chargers fault mid-session (charger 0 always, so a small fleet sees one too).
    faulty = ctx.index == 0 or rng.random() < 1 / 3
    code = rng.choice(("GroundFailure", "HighTemperature", "OverCurrentFailure", "PowerSwitchFailure"))
    for connector in range(1, ctx.connectors + 1):
        tag = tag_for(ctx.index, connector)
        arrive = rng.uniform(0.05, 0.15) * d
        if faulty and connector == 1:
            fault_at = arrive + 0.2 * d
            steps.append(Step(arrive, "swipe", connector, tag=tag))
            steps.append(Step(fault_at, "fault", connector, code=code))
            steps.append(Step(fault_at + 0.15 * d, "clear_fault", connector))
            steps.append(Step(fault_at + 0.2 * d, "unplug", connector))
        else:
            steps += session_steps(connector, tag, arrive, rng.uniform(0.3, 0.5) * d)
    return steps


def _power_saturation(ctx: PlanContext, rng: random.Random) -> list[Step]:
    # Every connector wants 22 kW from 20 % to 80 % of the run: far above any sensible site limit.
    steps: list[Step] = []
    d = ctx.duration
    for connector in range(1, ctx.connectors + 1):
        arrive = rng.uniform(0.15, 0.2) * d
        steps += session_steps(connector, tag_for(ctx.index, connector), arrive, 0.8 * d - arrive, kw=22.0)
    return steps


def _reconnect_storm(ctx: PlanContext, rng: random.Random) -> list[Step]:
    # Sessions run across the storm; at 40 % every charger loses its connection at the same instant,
    # a third of them by a power cut (they stop their sessions and boot again).
    d = ctx.duration
    steps = _basic_charge(ctx, rng)
    power_cut = rng.random() < 1 / 3
    steps.append(Step(0.4 * d, "reboot" if power_cut else "drop", 1))
    return steps


def _offline_replay(ctx: PlanContext, rng: random.Random) -> list[Step]:
    # The network goes down for 40 % of the run; one session starts and ends inside the outage and, on
    # two-connector chargers, another one starts before it and ends during it.
    d = ctx.duration
    down = rng.uniform(0.1, 0.2) * d
    outage = 0.4 * d
    steps = [Step(down, "offline", 1, seconds=outage)]
    steps += session_steps(1, tag_for(ctx.index, 1), down + 0.05 * d, 0.25 * d)
    if ctx.connectors > 1:
        steps += session_steps(2, tag_for(ctx.index, 2), down - 0.05 * d, 0.2 * d)
    return steps


# The demo's pace, in seconds rather than fractions of the run: lively whatever the run's length.
_DEMO_FAULT_FIRST_S = 40.0
_DEMO_FAULT_EVERY_S = 150.0
_DEMO_FAULT_CODES = ("GroundFailure", "HighTemperature", "OverCurrentFailure")


def _demo_faults(ctx: PlanContext, end: float) -> list[tuple[float, float]]:
    """This charger's fault windows (start, cleared): the fleet's chargers fault in turn, one every
    `_DEMO_FAULT_EVERY_S`, the first at `_DEMO_FAULT_FIRST_S` (sooner in a short run)."""
    first = min(_DEMO_FAULT_FIRST_S, 0.6 * ctx.duration)
    lasts = min(12.0, 0.1 * ctx.duration)
    windows = []
    at = first + _DEMO_FAULT_EVERY_S * ctx.index
    while at + lasts < end:
        windows.append((at, at + lasts))
        at += _DEMO_FAULT_EVERY_S * ctx.chargers
    return windows


def _around_faults(arrive: float, charge: float, faults: list[tuple[float, float]]) -> tuple[float, float]:
    """A visit that keeps clear of the fault windows: done and gone before the next fault, or after it."""
    for start, cleared in faults:
        if arrive > cleared + 1.0:
            continue
        if arrive >= start - 8.0:
            arrive = cleared + 1.0  # too close to (or during) the fault: the driver comes after it
            continue
        return arrive, min(charge, start - 3.0 - arrive)
    return arrive, charge


def _demo(ctx: PlanContext, rng: random.Random) -> list[Step]:
    # A site's busy day at a pace worth watching: most drivers arrive within the first 25 s, charge for
    # two to eight minutes at 11 or 22 kW (together far above a 300 kW site limit), leave, and others come
    # after a few minutes. Every 150 s one charger in turn faults with a critical error code while its
    # connector 1 is free, and recovers 12 s later. Everything ends before the run does, so a one-minute
    # run passes its expectations as an hour does.
    d = ctx.duration
    end = d - min(30.0, 0.1 * d)
    faults = _demo_faults(ctx, end)
    steps: list[Step] = []
    for start, cleared in faults:
        steps.append(Step(start, "fault", 1, code=rng.choice(_DEMO_FAULT_CODES)))
        steps.append(Step(cleared, "clear_fault", 1))
    for connector in range(1, ctx.connectors + 1):
        tag = tag_for(ctx.index, connector)
        arrive = rng.uniform(1.0, 25.0) if rng.random() < 0.8 else rng.uniform(20.0, 120.0)
        while True:
            charge = rng.uniform(120.0, 480.0)
            if connector == 1:
                arrive, charge = _around_faults(arrive, charge, faults)
            charge = min(charge, end - 2.0 - arrive)
            if charge < 5.0:
                break
            steps += session_steps(
                connector, tag, arrive, charge, unplug_after=1.0, kw=rng.choice((11.0, 22.0))
            )
            arrive += charge + 1.0 + rng.uniform(30.0, 240.0)
    return steps


def _auth_failure(ctx: PlanContext, rng: random.Random) -> list[Step]:
    # Every connector's driver presents an unknown tag (Authorize refused: no session may start), and each
    # charger sends one malformed frame, which the central system must answer with a CALLERROR.
    d = ctx.duration
    steps = [Step(rng.uniform(0.1, 0.3) * d, "malformed", 1)]
    for connector in range(1, ctx.connectors + 1):
        tag = f"{UNKNOWN_TAG_PREFIX}{ctx.index:06d}C{connector}"
        steps.append(Step(rng.uniform(0.1, 0.4) * d, "swipe", connector, tag=tag))
        steps.append(Step(0.6 * d, "unplug", connector))  # the refused driver leaves
    return steps


def _idle(ctx: PlanContext, rng: random.Random) -> list[Step]:
    return []


BUILTIN: dict[str, Scenario] = {
    scenario.name: scenario
    for scenario in (
        Scenario(
            "basic_charge",
            "one session per connector: swipe, charge, stop or unplug",
            30.0,
            _basic_charge,
            Expectations(sessions_complete=True),
        ),
        Scenario(
            "morning_rush",
            "staggered arrivals across the fleet; some EVs pause mid-session",
            60.0,
            _morning_rush,
            Expectations(sessions_complete=True),
        ),
        Scenario(
            "fault_injection",
            "a fault mid-session on a third of the chargers, cleared later",
            30.0,
            _fault_injection,
            Expectations(sessions_complete=True, faults_reported=True),
        ),
        Scenario(
            "power_saturation",
            "every connector demands 22 kW; the report shows the site total against the limit",
            30.0,
            _power_saturation,
            Expectations(sessions_complete=True, site_limit=True),
        ),
        Scenario(
            "reconnect_storm",
            "every charger drops at once (a third by power cut) and comes back with jittered backoff",
            30.0,
            _reconnect_storm,
            Expectations(sessions_complete=True, all_back=True),
        ),
        Scenario(
            "offline_replay",
            "sessions during a network outage; queued transaction messages replayed afterwards",
            30.0,
            _offline_replay,
            Expectations(sessions_complete=True, replay_complete=True),
        ),
        Scenario(
            "demo",
            "a busy site at a watchable pace, any length: arrivals at once, sessions of minutes, a fault "
            "every 150 s",
            60.0,
            _demo,
            Expectations(sessions_complete=True, faults_reported=True),
        ),
        Scenario(
            "auth_failure",
            "unknown tags presented (the central system must refuse them) and one malformed frame per "
            "charger (it must answer FormationViolation, 2.x FormatViolation)",
            20.0,
            _auth_failure,
            Expectations(refused_tags=ALL, callerrors={"FormationViolation": ALL}),
        ),
        Scenario(
            "firmware_update",
            "no steps: each UpdateFirmware the central system sends is walked through its status "
            "notifications and a reboot (send one, e.g. through `voltyard serve`'s API)",
            20.0,
            _idle,
            Expectations(firmware_updated=True, all_back=True),
        ),
        Scenario(
            "idle",
            "connect, boot and heartbeat only: the base for load runs",
            30.0,
            _idle,
            Expectations(all_back=True),
        ),
    )
}


def find_scenario(name: str) -> Scenario:
    """A built-in scenario by name, or a scenario file (a path ending in .toml)."""
    if name.endswith(".toml"):
        return load_scenario_file(Path(name))
    scenario = BUILTIN.get(name)
    if scenario is None:
        known = ", ".join(BUILTIN)
        raise ScenarioError(f"unknown scenario {name!r} (built-in: {known}; or a path to a .toml file)")
    return scenario
