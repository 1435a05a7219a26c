"""What a scenario is: a name, a default duration, charger settings, a per-charger plan and expectations.

Built-in scenarios (`scenarios.py`) and TOML files (`scenario_file.py`) both produce a `Scenario`. The
plan function gets a `PlanContext` and the charger's own seeded generator and returns its steps; the
building blocks below (a session, a timed value) are shared by both kinds.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from voltyard.sim.plan import Step

__all__ = ["ALL", "Count", "Expectations", "PlanContext", "Planner", "Scenario", "session_steps"]


@dataclass(frozen=True, slots=True)
class PlanContext:
    """What a plan may depend on: the charger's place in the fleet and the run's shape."""

    index: int
    chargers: int
    connectors: int
    duration: float
    site_limit_kw: float


Planner = Callable[[PlanContext, random.Random], list[Step]]


ALL: Literal["all"] = "all"
# How many refusals a scenario expects: a number, or "all" (one for each tag presented or malformed frame
# sent, whatever the fleet's size).
Count = int | Literal["all"]


@dataclass(frozen=True, slots=True)
class Expectations:
    """What must hold at the end of a run for the scenario to pass (see `expectations.check`).

    `refused_tags` and `callerrors` expect refusals: that many tags refused (and no session running on
    one), and that many of the scenario's malformed frames answered with each CALLERROR code (1.6 and 2.x
    spellings of a code count alike). Expected CALLERRORs are not counted against `no_errors`.
    """

    sessions_complete: bool = False
    faults_reported: bool = False
    replay_complete: bool = False
    all_back: bool = False
    site_limit: bool = False
    no_errors: bool = True
    refused_tags: Count | None = None
    callerrors: Mapping[str, Count] = field(default_factory=dict)
    firmware_updated: bool = False


@dataclass(frozen=True, slots=True)
class Scenario:
    """One scenario; `source` is "built-in" or the TOML file it came from."""

    name: str
    description: str
    duration: float
    planner: Planner
    expect: Expectations
    settings: Mapping[str, str] = field(default_factory=dict)
    site_limit_kw: float | None = None  # None: half of what the fleet could draw at 7.4 kW a connector
    source: str = "built-in"

    def plan(self, context: PlanContext, rng: random.Random) -> tuple[Step, ...]:
        steps = self.planner(context, rng)
        # Stable sort: steps planned for the same instant keep the order the planner gave them.
        return tuple(sorted(steps, key=lambda step: step.at))


def session_steps(
    connector: int,
    tag: str,
    arrive: float,
    charge: float,
    *,
    unplug_after: float = 0.0,
    kw: float = 0.0,
) -> list[Step]:
    """A driver's visit: (EV demand), swipe at `arrive`, stop after `charge` s, unplug `unplug_after` later.

    With `unplug_after` 0 the driver just pulls the cable, which stops the session (EVDisconnected).
    """
    steps = []
    if kw:
        steps.append(Step(arrive, "demand", connector, kw=kw))
    steps.append(Step(arrive, "swipe", connector, tag=tag))
    end = arrive + charge
    if unplug_after > 0:
        steps.append(Step(end, "stop", connector))
        steps.append(Step(end + unplug_after, "unplug", connector))
    else:
        steps.append(Step(end, "unplug", connector))
    return steps
