"""User-written scenarios in TOML (see docs/sim.md), validated with errors that name the file and the key.

A time is seconds (`12.5`), a share of the run's duration (`"25%"`), or a `[low, high]` pair of either,
drawn uniformly per charger. Every `[[sessions]]` and `[[steps]]` entry may carry `chance` (0-1): whether
it happens is drawn per charger (and per connector for `connector = "each"`).
"""

from __future__ import annotations

import random
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from voltyard.sim.errors import ScenarioError
from voltyard.sim.plan import STEP_KINDS, Step, StepKind
from voltyard.sim.scenario import ALL, Count, Expectations, PlanContext, Scenario, session_steps
from voltyard.sim.settings import KEYS

__all__ = ["CALLERROR_CODES", "ERROR_CODES", "load_scenario_file"]

ERROR_CODES = frozenset({
    "ConnectorLockFailure", "EVCommunicationError", "GroundFailure", "HighTemperature", "InternalError",
    "LocalListConflict", "OtherError", "OverCurrentFailure", "OverVoltage", "PowerMeterFailure",
    "PowerSwitchFailure", "ReaderFailure", "ResetFailure", "UnderVoltage", "WeakSignal",
})  # fmt: skip
# CALLERROR codes of 1.6 and 2.x (both spellings of a code are accepted and count alike).
CALLERROR_CODES = frozenset({
    "FormationViolation", "FormatViolation", "GenericError", "InternalError", "MessageTypeNotSupported",
    "NotImplemented", "NotSupported", "OccurenceConstraintViolation", "OccurrenceConstraintViolation",
    "PropertyConstraintViolation", "ProtocolError", "RpcFrameworkError", "SecurityError",
    "TypeConstraintViolation",
})  # fmt: skip
_TABLES = {"scenario", "settings", "sessions", "steps", "expect"}
_SCENARIO_KEYS = {"name", "description", "duration", "site_limit_kw"}
_SESSION_KEYS = {"connector", "arrive", "charge", "unplug_after", "kw", "tag", "chance"}
_STEP_KEYS = {"at", "action", "connector", "tag", "code", "seconds", "kw", "chance"}

Sampler = Callable[[float, random.Random], float]


@dataclass(frozen=True, slots=True)
class _Rule:
    """One [[sessions]] or [[steps]] entry, parsed: samplers for its times and values."""

    kind: str  # "session" or a step kind
    connector: int | None  # None: each connector
    times: dict[str, Sampler]
    tag: str
    code: str
    chance: float


def load_scenario_file(path: Path) -> Scenario:
    """Read and validate a scenario file; raises ScenarioError naming the file and the key."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the scenario: {exc.strerror}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from exc
    where = str(path)
    _only(document, _TABLES, where, "")
    head = _table(document, "scenario", where)
    _only(head, _SCENARIO_KEYS, where, "[scenario] ")
    name = head.get("name", path.stem)
    if not isinstance(name, str) or not name:
        raise ScenarioError(f"{where}: [scenario] name: expected a non-empty string, got {name!r}")
    duration = _number(head.get("duration", 60.0), f"{where}: [scenario] duration", positive=True)
    limit = head.get("site_limit_kw")
    site_limit = (
        None if limit is None else _number(limit, f"{where}: [scenario] site_limit_kw", positive=True)
    )
    settings = _settings(_table(document, "settings", where), where)
    rules = [
        _session(entry, f"{where}: [[sessions]] #{n}") for n, entry in _entries(document, "sessions", where)
    ]
    rules += [_step(entry, f"{where}: [[steps]] #{n}") for n, entry in _entries(document, "steps", where)]
    expect = _expectations(_table(document, "expect", where), where)

    def planner(ctx: PlanContext, rng: random.Random) -> list[Step]:
        return _plan(rules, ctx, rng)

    return Scenario(
        name, str(head.get("description", "")), duration, planner, expect, settings, site_limit, where
    )


def _only(table: dict[str, Any], allowed: set[str], where: str, prefix: str) -> None:
    for key in table:
        if key not in allowed:
            raise ScenarioError(f"{where}: {prefix}{key}: unknown key (known: {', '.join(sorted(allowed))})")


def _table(document: dict[str, Any], name: str, where: str) -> dict[str, Any]:
    table = document.get(name, {})
    if not isinstance(table, dict):
        raise ScenarioError(f"{where}: [{name}] must be a table")
    return table


def _entries(document: dict[str, Any], name: str, where: str) -> list[tuple[int, dict[str, Any]]]:
    entries = document.get(name, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ScenarioError(f"{where}: [[{name}]] must be an array of tables")
    return list(enumerate(entries, start=1))


def _number(raw: object, where: str, *, positive: bool = False) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ScenarioError(f"{where}: expected a number, got {raw!r}")
    if raw < 0 or (positive and raw == 0):
        raise ScenarioError(f"{where}: must be {'above' if positive else 'at least'} 0, got {raw!r}")
    return float(raw)


def _time(raw: object, where: str) -> Sampler:
    """Seconds, "N%" of the duration, or [low, high] of either, drawn uniformly."""
    if isinstance(raw, list):
        if len(raw) != 2:
            raise ScenarioError(f"{where}: a range is [low, high], got {raw!r}")
        low, high = _time(raw[0], where), _time(raw[1], where)
        return lambda d, rng: rng.uniform(low(d, rng), high(d, rng))
    if isinstance(raw, str) and raw.endswith("%"):
        try:
            share = float(raw[:-1]) / 100.0
        except ValueError:
            raise ScenarioError(f"{where}: {raw!r} is not a percentage") from None
        if share < 0:
            raise ScenarioError(f"{where}: {raw!r} is negative")
        return lambda d, rng: share * d
    seconds = _number(raw, f'{where} (seconds, "N%" of the duration, or [low, high])')
    return lambda d, rng: seconds


def _value(raw: object, where: str) -> Sampler:
    """A number, or [low, high] drawn uniformly (kW)."""
    if isinstance(raw, list) and len(raw) == 2:
        low, high = _number(raw[0], where), _number(raw[1], where)
        return lambda d, rng: rng.uniform(low, high)
    value = _number(raw, f"{where} (a number or [low, high])")
    return lambda d, rng: value


def _connector(raw: object, where: str) -> int | None:
    if raw == "each":
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
        raise ScenarioError(f'{where}: expected a connector number (1, 2, ...) or "each", got {raw!r}')
    return raw


def _chance(entry: dict[str, Any], where: str) -> float:
    chance = _number(entry.get("chance", 1.0), f"{where} chance")
    if chance > 1:
        raise ScenarioError(f"{where} chance: must be between 0 and 1, got {chance!r}")
    return chance


def _tag(entry: dict[str, Any], where: str) -> str:
    tag = entry.get("tag", "SIM{charger:06d}C{connector}")
    if not isinstance(tag, str):
        raise ScenarioError(f"{where} tag: expected a string, got {tag!r}")
    try:
        tag.format(charger=0, connector=1)
    except (KeyError, IndexError, ValueError) as exc:
        raise ScenarioError(f"{where} tag: {tag!r} may use only {{charger}} and {{connector}}") from exc
    return tag


def _session(entry: dict[str, Any], where: str) -> _Rule:
    _only(entry, _SESSION_KEYS, where, "")
    for required in ("arrive", "charge"):
        if required not in entry:
            raise ScenarioError(f"{where}: {required}: required key is missing")
    times: dict[str, Sampler] = {
        key: _time(entry[key], f"{where} {key}")
        for key in ("arrive", "charge", "unplug_after")
        if key in entry
    }
    if "kw" in entry:
        times["kw"] = _value(entry["kw"], f"{where} kw")
    connector = _connector(entry.get("connector", "each"), f"{where} connector")
    return _Rule("session", connector, times, _tag(entry, where), "", _chance(entry, where))


def _step(entry: dict[str, Any], where: str) -> _Rule:
    _only(entry, _STEP_KEYS, where, "")
    action = entry.get("action")
    if action not in STEP_KINDS:
        raise ScenarioError(f"{where} action: expected one of {', '.join(STEP_KINDS)}, got {action!r}")
    if "at" not in entry:
        raise ScenarioError(f"{where}: at: required key is missing")
    times: dict[str, Sampler] = {
        key: _time(entry[key], f"{where} {key}") for key in ("at", "seconds") if key in entry
    }
    if "kw" in entry:
        times["kw"] = _value(entry["kw"], f"{where} kw")
    code = entry.get("code", "OtherError" if action == "fault" else "")
    if action == "fault" and code not in ERROR_CODES:
        raise ScenarioError(f"{where} code: expected one of {', '.join(sorted(ERROR_CODES))}, got {code!r}")
    if action == "offline" and "seconds" not in entry:
        raise ScenarioError(f"{where}: seconds: required for an offline step")
    connector = _connector(entry.get("connector", 1), f"{where} connector")
    return _Rule(action, connector, times, _tag(entry, where), code, _chance(entry, where))


def _settings(table: dict[str, Any], where: str) -> dict[str, str]:
    settings = {}
    for key, raw in table.items():
        spec = KEYS.get(key)
        if spec is None:
            raise ScenarioError(
                f"{where}: [settings] {key}: not an OCPP 1.6 configuration key the simulator has"
            )
        value = str(raw).lower() if isinstance(raw, bool) else str(raw)
        if spec.kind == "int" and (isinstance(raw, bool) or not isinstance(raw, int)):
            raise ScenarioError(f"{where}: [settings] {key}: expected an integer, got {raw!r}")
        if spec.kind == "bool" and not isinstance(raw, bool):
            raise ScenarioError(f"{where}: [settings] {key}: expected true or false, got {raw!r}")
        settings[key] = value
    return settings


def _expectations(table: dict[str, Any], where: str) -> Expectations:
    known = {f.name for f in fields(Expectations)}
    _only(table, known, where, "[expect] ")
    flags: dict[str, bool] = {}
    for key, value in table.items():
        if key in ("refused_tags", "callerrors"):
            continue
        if not isinstance(value, bool):
            raise ScenarioError(f"{where}: [expect] {key}: expected true or false, got {value!r}")
        flags[key] = value
    refused = table.get("refused_tags")
    if refused is not None:
        refused = _count(refused, f"{where}: [expect] refused_tags")
    raw = table.get("callerrors", {})
    if not isinstance(raw, dict):
        raise ScenarioError(
            f"{where}: [expect] callerrors: expected a table of CALLERROR code = count, e.g. "
            f'{{"FormationViolation" = 1}}, got {raw!r}'
        )
    callerrors: dict[str, Count] = {}
    for code, count in raw.items():
        if code not in CALLERROR_CODES:
            raise ScenarioError(
                f"{where}: [expect] callerrors {code}: not a CALLERROR code "
                f"(known: {', '.join(sorted(CALLERROR_CODES))})"
            )
        callerrors[code] = _count(count, f"{where}: [expect] callerrors {code}")
    return Expectations(**flags, refused_tags=refused, callerrors=callerrors)


def _count(raw: object, where: str) -> Count:
    if raw == ALL:
        return ALL
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise ScenarioError(f'{where}: expected a count (0 or more) or "all", got {raw!r}')
    return raw


def _plan(rules: list[_Rule], ctx: PlanContext, rng: random.Random) -> list[Step]:
    steps: list[Step] = []
    d = ctx.duration
    for rule in rules:
        connectors = range(1, ctx.connectors + 1) if rule.connector is None else (rule.connector,)
        for connector in connectors:
            # Draw everything first, so that `chance` does not shift the draws of the rules after it.
            happens = rng.random() < rule.chance
            drawn = {key: sample(d, rng) for key, sample in rule.times.items()}
            if not happens or connector > ctx.connectors:
                continue
            tag = rule.tag.format(charger=ctx.index, connector=connector)[:20]
            if rule.kind == "session":
                steps += session_steps(
                    connector, tag, drawn["arrive"], drawn["charge"],
                    unplug_after=drawn.get("unplug_after", 0.0), kw=drawn.get("kw", 0.0),
                )  # fmt: skip
            else:
                kind: StepKind = rule.kind  # type: ignore[assignment]  # checked against STEP_KINDS
                steps.append(
                    Step(drawn["at"], kind, connector, tag=tag, code=rule.code,
                         seconds=drawn.get("seconds", 0.0), kw=drawn.get("kw", 0.0))
                )  # fmt: skip
    return steps
