"""One simulator run from start to report: connect the fleet, run the scenario (and load), settle, judge.

The phases are separate awaitables so that a test (or a power manager under test) can act between
them, e.g. send charging profiles once every charger has booted; `run()` chains them for the CLI:

    start -> wait_booted -> begin -> wait_end -> finish (settle, expectations, report, files)

Connect-phase latencies (the BootNotification burst) are kept apart from the scenario's, so that a
load figure is not mixed with the connect storm.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from voltyard._native import encode_call
from voltyard.ocpp.codec import load_codec
from voltyard.sim import behaviour, craft
from voltyard.sim.charger import SimCharger
from voltyard.sim.context import FleetContext
from voltyard.sim.control import ControlServer
from voltyard.sim.errors import ConnectError, SimError
from voltyard.sim.expectations import RunFacts, check
from voltyard.sim.fleet import Fleet, FleetShape
from voltyard.sim.frames import FrameLog
from voltyard.sim.link import ConnectOptions
from voltyard.sim.load import LoadConfig, LoadGenerator
from voltyard.sim.meter import Connector
from voltyard.sim.plan import ActionRecord, Step, StepKind, charger_rng
from voltyard.sim.progress import Progress
from voltyard.sim.report import RunReport
from voltyard.sim.scenario import PlanContext, Scenario
from voltyard.sim.scenario_file import ERROR_CODES
from voltyard.sim.scenarios import find_scenario
from voltyard.sim.stats import Histogram

__all__ = ["SimConfig", "Simulation"]

log = logging.getLogger(__name__)

_SETTLE_POLL_S = 0.1
_SEND_POLL_S = 0.01
_SEND_TIMEOUT_S = 10.0
_OFFLINE_S = 10.0 * 365 * 86400  # `offline`: down until `online`
_ID_TAG_MAX = 20  # CiString20 (1.6 idTag)
_CHARGER_COMMANDS = frozenset(
    {
        "plug",
        "unplug",
        "present-tag",
        "stop",
        "inject-fault",
        "clear-fault",
        "offline",
        "online",
        "send",
        "frames",
        "template",
    }
)
_DEFAULT_KW_PER_CONNECTOR = 7.4


@dataclass(frozen=True, slots=True)
class SimConfig:
    """Everything `voltyard sim run` takes."""

    options: ConnectOptions
    shape: FleetShape
    scenario: str = "basic_charge"
    seed: int = 0
    duration: float | None = None  # None: the scenario's own
    site_limit_kw: float | None = None
    sample_interval: int | None = None  # MeterValueSampleInterval; None: duration / 20 within 1..60 s
    load: LoadConfig | None = None
    connect_timeout: float = 120.0
    settle_timeout: float = 20.0
    connect_concurrency: int = 256
    report_path: Path | None = None
    plot: bool = True
    action_log_path: Path | None = None
    control_socket: Path | None = None
    frames_path: Path | None = None  # the frame log, written at the end (format by --frames-format or suffix)
    frames_format: str | None = None
    frames_limit: int = 100_000  # frames kept in memory; older ones are dropped and counted
    keep_frames: bool = False  # a frame log without a file (the control socket's `frames` and `send`)


class Simulation:
    """See the module docstring."""

    def __init__(
        self,
        config: SimConfig,
        *,
        progress: Progress | None = None,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.config = config
        self.scenario: Scenario = find_scenario(config.scenario)
        self.duration = config.duration if config.duration is not None else self.scenario.duration
        shape = config.shape
        # The simulator cannot see the appliance's site limit (it has only the OCPP URL): the limit is the
        # one given, or the scenario's, and otherwise an assumption that plans use and the report names so.
        self.site_limit_source = (
            "--site-limit-kw"
            if config.site_limit_kw
            else ("scenario" if self.scenario.site_limit_kw else "assumed")
        )
        self.site_limit_kw = (
            config.site_limit_kw
            or self.scenario.site_limit_kw
            or _connector_count(shape) * _DEFAULT_KW_PER_CONNECTOR / 2
        )
        self.warn: Callable[[str], None] = warn or log.warning
        self.connect_error: str | None = None
        self.progress = progress
        self.ctx: FleetContext | None = None
        self.fleet: Fleet | None = None
        self.load: LoadGenerator | None = None
        self.control: ControlServer | None = None
        self.planned_sessions = 0
        self.planned_faults = 0
        self.connect_phase: dict[str, Histogram] = {}
        self._cpu0 = self._began = self._ended = 0.0
        self._calls_at_begin = 0
        self._paused_at: float | None = None  # loop time of `pause`, None while the plan runs
        self._run_held = 0.0  # seconds the whole run's plan was held by `pause`, ended pauses only
        # Stations paused on their own (`pause` with a charger): charger id -> plan clock at the pause.
        self._stations_paused: dict[str, float] = {}
        self._sent = 0  # frames sent with `send`: their message ids

    def _started(self) -> tuple[FleetContext, Fleet]:
        if self.ctx is None or self.fleet is None:
            raise SimError("the simulation has not been started")
        return self.ctx, self.fleet

    def _settings(self) -> dict[str, str]:
        settings = dict(self.scenario.settings)
        if "MeterValueSampleInterval" not in settings:
            interval = self.config.sample_interval or max(1, min(60, round(self.duration / 20)))
            settings["MeterValueSampleInterval"] = str(interval)
        return settings

    async def start(self) -> None:
        """Build the fleet and its plans, start dialling in, open the control socket."""
        config = self.config
        config.options.check()
        loop = asyncio.get_running_loop()
        self._cpu0 = time.process_time()
        ctx = self.ctx = FleetContext(
            loop,
            load_codec(),
            config.options,
            self._settings(),
            seed=config.seed,
            connect_concurrency=config.connect_concurrency,
        )
        if config.frames_path is not None or config.keep_frames:
            ctx.frames = FrameLog(config.frames_limit)
        fleet = self.fleet = Fleet(ctx, config.shape, self.site_limit_kw)
        ctx.on_connect_failed = self._connect_failed
        if self.progress is not None:
            progress = self.progress
            fleet.on_tick = lambda point: progress.tick(point, ctx.stats.counters)
        if config.control_socket is not None:
            self.control = ControlServer(config.control_socket, self._command)
            await self.control.start()
        fleet.start()

    async def wait_booted(self) -> bool:
        """Wait until every charger has booted once (or the connect timeout); whether all did."""
        assert self.fleet is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.fleet.all_booted.wait(), self.config.connect_timeout)
        return self.fleet.all_booted.is_set()

    def begin(self) -> None:
        """Start the scenario clock: plans, and load if any."""
        ctx, fleet = self._started()
        stats = ctx.stats
        self.connect_phase, stats.by_action = stats.by_action, {}
        ctx.t0 = self._began = ctx.loop.time()
        self._calls_at_begin = stats.counters.calls
        shape = self.config.shape
        for charger in fleet.chargers:
            plan_ctx = PlanContext(
                charger.index, shape.chargers, len(charger.connectors), self.duration, self.site_limit_kw
            )
            plan = self.scenario.plan(plan_ctx, charger_rng(self.config.seed, charger.index))
            if charger.template is not None and charger.template.id_tags:
                plan = _station_tags(plan, charger.template.id_tags)
            self.planned_sessions += sum(1 for step in plan if step.kind == "swipe")
            self.planned_faults += sum(1 for step in plan if step.kind == "fault")
            if charger.charger_id in self._stations_paused:
                # Paused before the scenario began: its plan waits from now, resumed as any station's.
                charger.plan, charger.plan_pos = plan, 0
                self._stations_paused[charger.charger_id] = self._plan_clock()
            else:
                behaviour.start_plan(charger, plan)
        if self.config.load is not None:
            self.load = LoadGenerator(fleet, self.config.load, self.config.seed)
            self.load.start()

    async def wait_end(self) -> None:
        assert self.ctx is not None
        # A pause moves the end (`_began`) on: sleep until the end as it stands then.
        while (remaining := self._began + self.duration - self.ctx.loop.time()) > 0 or self._paused_at:
            await asyncio.sleep(remaining if remaining > 0 else _SETTLE_POLL_S)
        self._ended = self.ctx.loop.time()
        if self.load is not None:
            self.load.stop()

    async def settle(self) -> None:
        """Wait (bounded) until nothing is queued or in flight and every charger that should be is back."""
        fleet = self.fleet
        assert fleet is not None
        deadline = fleet.ctx.loop.time() + self.config.settle_timeout
        while fleet.ctx.loop.time() < deadline:
            if fleet.idle() and fleet.booted_now() == len(fleet.chargers):
                return
            await asyncio.sleep(_SETTLE_POLL_S)

    async def finish(self) -> RunReport:
        """Settle, judge, stop everything and write the report (and plot and action log) if asked."""
        ctx, fleet = self._started()
        await self.settle()
        cpu = time.process_time() - self._cpu0
        facts = RunFacts(
            chargers=len(fleet.chargers),
            planned_sessions=self.planned_sessions,
            planned_faults=self.planned_faults,
            online=fleet.online(),
            booted=fleet.booted_now(),
            idle=fleet.idle(),
            counters=ctx.stats.counters,
            errors=dict(ctx.stats.errors),
            timeline=tuple(fleet.timeline),
            site_limit_kw=self.site_limit_kw,
            site_limit_known=self.site_limit_source != "assumed",
        )
        results = tuple(check(self.scenario.expect, facts))
        report = self._report(facts, results, cpu)
        fleet.stop()
        if self.control is not None:
            await self.control.stop()
        if self.progress is not None:
            self.progress.close()
        self._write(report)
        return report

    def _connect_failed(self, charger: SimCharger, exc: BaseException) -> None:
        """Say on the first failure why no connection was made (the charger retries by itself)."""
        first = self.connect_error is None
        self.connect_error = f"{self.config.options.url_for(charger.charger_id)}: {_reason(exc)}"
        if first:
            self.warn(
                f"cannot connect to {self.connect_error}; retrying for up to "
                f"{self.config.connect_timeout:g} s (--connect-timeout)"
            )

    async def give_up(self) -> None:
        """Stop the fleet and the control socket without a report (nothing could connect)."""
        if self.fleet is not None:
            self.fleet.stop()
        if self.control is not None:
            await self.control.stop()
        if self.progress is not None:
            self.progress.close()

    async def run(self) -> RunReport:
        await self.start()
        await self.wait_booted()
        assert self.fleet is not None
        if self.fleet.connected_once == 0:
            await self.give_up()
            raise ConnectError(
                f"no charger could connect within {self.config.connect_timeout:g} s: "
                f"{self.connect_error or 'no answer'}"
            )
        self.begin()
        await self.wait_end()
        return await self.finish()

    def action_log(self) -> list[ActionRecord]:
        """The executed steps, per charger in execution order (what two runs of one seed share)."""
        assert self.ctx is not None
        return sorted(self.ctx.action_log, key=lambda record: record.charger)

    # --- control socket (the commands are listed in `control`'s docstring and docs/sim.md) -------------

    def _command(  # noqa: PLR0911 - one return per command reads as the table it is
        self, command: dict[str, Any]
    ) -> dict[str, Any] | Awaitable[dict[str, Any]]:
        fleet = self.fleet
        assert fleet is not None
        name = command.get("command")
        if name == "status":
            sessions, _, _ = fleet.site_power()
            return {
                "ok": True,
                "online": fleet.online(),
                "chargers": len(fleet.chargers),
                "sessions": sessions,
                "paused": self._paused_at is not None,
            }
        if name == "chargers":
            views = [_charger_view(charger) for charger in fleet.chargers]
            for view in views:
                view["paused"] = view["id"] in self._stations_paused
            return {"ok": True, "chargers": views}
        if name in ("pause", "resume"):
            return self._pause_command(command, name == "pause")
        if not isinstance(name, str) or name not in _CHARGER_COMMANDS:
            known = ", ".join(sorted({"status", "chargers", "pause", "resume", *_CHARGER_COMMANDS}))
            return {"ok": False, "error": f"unknown command {name!r} (known: {known})"}
        charger = fleet.find(str(command.get("charger")))
        if charger is None:
            return {"ok": False, "error": f"{name}: no charger {command.get('charger')!r} in this run"}
        if name in ("offline", "online"):
            return self._link(charger, name)
        if name == "frames":
            return self._frames(charger, command.get("since", 0))
        if name == "send":
            return self._send(charger, command)
        if name == "template":
            return _template(charger, command.get("action"))
        number = command.get("connector", 1)
        connector = charger.connector(number) if isinstance(number, int) else None
        if connector is None:
            return {"ok": False, "error": f"{name}: {charger.charger_id} has no connector {number!r}"}
        refused = self._connector_command(charger, connector, name, command)
        if refused is not None:
            return {"ok": False, "error": f"{name}: {charger.charger_id} connector {number}: {refused}"}
        fleet.ctx.action_log.append(
            ActionRecord(charger.index, round(fleet.ctx.elapsed(), 3), f"{name} (control)", connector.status)
        )
        return {
            "ok": True,
            "charger": charger.charger_id,
            "connector": connector.connector_id,
            "status": connector.status,
        }

    def _connector_command(  # noqa: PLR0911 - one refusal per bad input
        self, charger: SimCharger, connector: Connector, name: str, command: dict[str, Any]
    ) -> str | None:
        """Carry out a connector's command; why not, when it cannot be."""
        if name == "inject-fault":
            code = str(command.get("code", "OtherError"))
            if code not in ERROR_CODES:
                return f"unknown error code {code!r}"
            behaviour.inject_fault(charger, connector, code)
            return None
        if name == "clear-fault":
            if connector.faulted and connector.clear_fault() is not None:
                behaviour.notify(charger, connector)
            return None
        if name == "present-tag":
            tag = command.get("id_tag")
            if not isinstance(tag, str) or not tag or len(tag) > _ID_TAG_MAX:
                return f"id_tag must be a text of 1 to {_ID_TAG_MAX} characters, got {tag!r}"
            if connector.session is not None:
                return f"a session of {connector.session.id_tag} is already running"
            if connector.faulted or connector.inoperative:
                return f"the connector is {connector.status}"
            return _step(charger, Step(0.0, "swipe", connector.connector_id, tag=tag))
        if name == "stop" and connector.session is None:
            return "no session is running"
        kinds: dict[str, StepKind] = {"plug": "plug", "unplug": "unplug", "stop": "stop"}
        return _step(charger, Step(0.0, kinds[name], connector.connector_id))

    def _link(self, charger: SimCharger, name: str) -> dict[str, Any]:
        if name == "offline":
            # Down until told otherwise: transaction messages queue meanwhile, as in an "offline" step.
            charger.drop(_OFFLINE_S)
        else:
            charger.down_until = 0.0
            if charger.link is None:
                if charger.timer is not None:
                    charger.timer.cancel()
                    charger.timer = None
                charger.start()
        return {
            "ok": True,
            "charger": charger.charger_id,
            "online": charger.online,
            "offline": name == "offline",
        }

    def _frames(self, charger: SimCharger, since: object) -> dict[str, Any]:
        frames = self.ctx.frames if self.ctx is not None else None
        if frames is None:
            return {"ok": False, "error": "frames: the frame log is off (start the run with --frames)"}
        if not isinstance(since, int) or since < 0:
            return {"ok": False, "error": f"frames: since must be a sequence number >= 0, got {since!r}"}
        first = frames.dropped + 1  # the sequence number of the oldest entry kept
        entries = [
            {"seq": first + i, **dataclasses.asdict(entry)}
            for i, entry in enumerate(frames.entries)
            if first + i > since and entry.charger == charger.charger_id
        ]
        return {
            "ok": True,
            "charger": charger.charger_id,
            "frames": entries,
            "last": frames.dropped + len(frames),
        }

    async def _send(  # noqa: PLR0911 - one refusal per bad input
        self, charger: SimCharger, command: dict[str, Any]
    ) -> dict[str, Any]:
        """A frame on the charger's own connection, and the central system's answer to it."""
        frames = self.ctx.frames if self.ctx is not None else None
        if frames is None:
            return {"ok": False, "error": "send: the frame log is off (start the run with --frames)"}
        raw, action, payload = command.get("frame"), command.get("action"), command.get("payload", {})
        if raw is not None and not isinstance(raw, str):
            return {"ok": False, "error": f"send: frame must be the frame's text, got {raw!r}"}
        if raw is None and (not isinstance(action, str) or not action):
            return {"ok": False, "error": "send: give frame (the raw text) or action and payload"}
        if raw is None and not isinstance(payload, dict):
            return {"ok": False, "error": f"send: payload must be a JSON object, got {payload!r}"}
        link = charger.link
        if link is None:
            return {"ok": False, "error": f"send: {charger.charger_id} is offline"}
        self._sent += 1
        message_id = f"emulate-{self._sent}"
        if raw is not None:
            data, expected = raw.encode("utf-8"), _raw_id(raw)
        else:
            assert isinstance(action, str)
            assert isinstance(payload, dict)
            data, expected = encode_call(message_id, action, payload), message_id
        after = frames.dropped + len(frames)
        sent_at = time.perf_counter()
        if not link.send(data):
            return {"ok": False, "error": f"send: {charger.charger_id}'s connection refused the frame"}
        frames.sent(charger.charger_id, data)
        timeout = float(command.get("timeout", _SEND_TIMEOUT_S))
        while time.perf_counter() - sent_at < timeout:
            first = frames.dropped + 1
            for i, entry in enumerate(frames.entries):
                if (
                    first + i > after
                    and entry.charger == charger.charger_id
                    and entry.direction == "received"
                    and entry.type in ("CALLRESULT", "CALLERROR", "CALLRESULTERROR")
                    and (expected is None or entry.message_id in (expected, "-1"))
                ):
                    rtt_ms = round((time.perf_counter() - sent_at) * 1000.0, 3)
                    return {"ok": True, "kind": entry.type, "answer": entry.frame, "rtt_ms": rtt_ms}
            if charger.link is not link:
                return {"ok": True, "kind": "closed", "answer": None, "rtt_ms": None}
            await asyncio.sleep(_SEND_POLL_S)
        return {"ok": True, "kind": "timeout", "answer": None, "rtt_ms": None}

    def _pause(self, pause: bool) -> dict[str, Any]:
        """Hold the plan: no step runs while paused; on resume the rest of it runs shifted by the pause."""
        ctx, fleet = self._started()
        if pause and self._paused_at is None:
            self._paused_at = ctx.loop.time()
            for charger in fleet.chargers:
                if charger.plan_timer is not None:
                    charger.plan_timer.cancel()
                    charger.plan_timer = None
        elif not pause and self._paused_at is not None:
            held = ctx.loop.time() - self._paused_at
            self._paused_at = None
            self._run_held += held
            ctx.t0 += held
            self._began += held
            for charger in fleet.chargers:
                if charger.charger_id not in self._stations_paused:  # each resumes on its own
                    behaviour.start_plan(charger, charger.plan[charger.plan_pos :])
        return {"ok": True, "paused": self._paused_at is not None}

    def _plan_clock(self) -> float:
        """The loop's time less every moment the whole run's plan was held: it stands still while paused."""
        ctx, _ = self._started()
        now = ctx.loop.time()
        holding = now - self._paused_at if self._paused_at is not None else 0.0
        return now - self._run_held - holding

    def _pause_command(self, command: dict[str, Any], pause: bool) -> dict[str, Any]:
        """`pause` / `resume`: the whole run's plan, or with `charger` one station's."""
        if "charger" not in command:
            return self._pause(pause)
        _, fleet = self._started()
        station = fleet.find(str(command["charger"]))
        if station is None:
            name = command["command"]
            return {"ok": False, "error": f"{name}: no charger {command['charger']!r} in this run"}
        return self._pause_station(station, pause)

    def _pause_station(self, charger: SimCharger, pause: bool) -> dict[str, Any]:
        """Hold one station's plan (it stays connected: heartbeats, answers, meter values go on); on resume
        the rest of its plan runs shifted by the pause, the other stations' untouched."""
        charger_id = charger.charger_id
        if pause and charger_id not in self._stations_paused:
            self._stations_paused[charger_id] = self._plan_clock()
            if charger.plan_timer is not None:
                charger.plan_timer.cancel()
                charger.plan_timer = None
        elif not pause and charger_id in self._stations_paused:
            # On the plan clock: the part of the station's pause that the whole run was paused too is
            # made up by the run's own resume (it shifts every plan), so it is not counted twice.
            held = self._plan_clock() - self._stations_paused.pop(charger_id)
            rest = tuple(
                dataclasses.replace(step, at=step.at + held) for step in charger.plan[charger.plan_pos :]
            )
            if self._paused_at is None:  # else the run's own resume starts it
                behaviour.start_plan(charger, rest)
            else:
                charger.plan, charger.plan_pos = rest, 0
        return {"ok": True, "charger": charger_id, "paused": charger_id in self._stations_paused}

    # --- report ------------------------------------------------------------------------------------

    def _report(self, facts: RunFacts, results: tuple[Any, ...], cpu: float) -> RunReport:
        ctx, fleet = self._started()
        stats = ctx.stats
        total = stats.total()
        window = max(1e-9, (self._ended or ctx.loop.time()) - self._began)
        calls_in_window = stats.counters.calls - self._calls_at_begin
        handled = stats.counters.calls + sum(stats.csms_calls.values())
        boot = self.connect_phase.get("BootNotification", Histogram())
        config = self.config
        loaded = [p for p in fleet.timeline if p.sessions]
        return RunReport(
            run={
                "url": config.options.url,
                "chargers": config.shape.chargers,
                "connectors": config.shape.connectors,
                "scenario": self.scenario.name,
                "scenario_source": self.scenario.source,
                "seed": config.seed,
                "duration_s": self.duration,
                "security_profile": config.options.security_profile,
                "load": config.load.describe() if config.load is not None else None,
                # The OCPP version each charger speaks (the one negotiated at its last connection).
                "protocols": dict(sorted(Counter(charger.version for charger in fleet.chargers).items())),
            },
            connect={
                "connected_once": fleet.connected_once,
                "booted_once": fleet.booted_once,
                "all_connected_s": _round(fleet.all_connected_at),
                "all_booted_s": _round(fleet.all_booted_at),
                "connect_rate_per_s": _rate(fleet.connected_once, fleet.all_connected_at),
                "boot_rate_per_s": _rate(fleet.booted_once, fleet.all_booted_at),
                "boot_latency": boot.summary(),
                "connect_failures": stats.counters.connect_failures,
            },
            calls={
                "total": total.count,
                "sent_in_window": calls_in_window,
                "per_s": round(calls_in_window / window, 1),
                **total.summary(),
            },
            by_action={action: h.summary() for action, h in sorted(stats.by_action.items())},
            errors=dict(stats.errors),
            csms_calls=dict(stats.csms_calls),
            counters=stats.counters.as_dict(),
            sim_cpu={
                "process_s": round(cpu, 3),
                "per_call_us": round(cpu / handled * 1e6, 2) if handled else 0.0,
                "utilisation": round(cpu / max(1e-9, ctx.loop.time() - fleet.started_at), 3),
            },
            power={
                # None when the appliance's limit was not given: the report does not invent one.
                "site_limit_kw": self.site_limit_kw if self.site_limit_source != "assumed" else None,
                "site_limit_source": self.site_limit_source,
                "assumed_site_limit_kw": self.site_limit_kw if self.site_limit_source == "assumed" else None,
                "peak_kw": max((p.site_power_kw for p in loaded), default=0.0),
                "profiles_accepted": stats.counters.profiles_accepted,
            },
            expectations=results,
            timeline=facts.timeline,
        )

    def _write(self, report: RunReport) -> None:
        config = self.config
        if config.report_path is not None:
            report.write_json(config.report_path)
            if config.plot:
                from voltyard.sim.plot import write_plot  # noqa: PLC0415 - matplotlib only when plotting

                try:
                    write_plot(report, config.report_path.with_suffix(".png"))
                except SimError as exc:
                    # The run and its JSON report stand; only the picture is missing.
                    self.warn(f"{exc}; the PNG is skipped (--no-plot silences this)")
        if config.action_log_path is not None:
            lines = [record.line() for record in self.action_log()]
            config.action_log_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        if config.frames_path is not None and self.ctx is not None and self.ctx.frames is not None:
            self.ctx.frames.export(config.frames_path, config.frames_format)


def _reason(exc: BaseException) -> str:
    """`connection refused` rather than asyncio's `Connect call failed ('127.0.0.1', 1)`."""
    errno = getattr(exc, "errno", None)
    if isinstance(exc, OSError) and errno:
        return os.strerror(errno).lower()
    return str(exc) or type(exc).__name__


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _rate(count: int, seconds: float | None) -> float:
    return round(count / seconds, 1) if seconds else 0.0


def _connector_count(shape: FleetShape) -> int:
    if shape.stations:
        return sum(len(template.connectors) for _, template in shape.stations)
    return shape.chargers * shape.connectors


def _station_tags(plan: tuple[Step, ...], tags: tuple[str, ...]) -> tuple[Step, ...]:
    """A station template's drivers present its own id tags, in turn, in the order the plan swipes."""
    swipes = 0
    steps = []
    for step in plan:
        if step.kind == "swipe":
            steps.append(dataclasses.replace(step, tag=tags[swipes % len(tags)]))
            swipes += 1
        else:
            steps.append(step)
    return tuple(steps)


def _step(charger: SimCharger, step: Step) -> str | None:
    """A driver's step now, as a scenario would take it; why not, when the connector refused it."""
    outcome = behaviour.perform_step(charger, step)
    return outcome if outcome.startswith("refused") else None


def _charger_view(charger: SimCharger) -> dict[str, Any]:
    return {
        "id": charger.charger_id,
        "version": charger.version,
        "online": charger.online,
        "booted": charger.booted,
        "queued": len(charger.queue or ()),
        "connectors": [
            {
                "connector": connector.connector_id,
                "status": connector.status,
                "error_code": connector.error_code,
                "plugged": connector.plugged,
                "session": None
                if connector.session is None
                else {"id_tag": connector.session.id_tag, "transaction_id": connector.session.transaction_id},
            }
            for connector in charger.connectors
        ],
    }


def _template(charger: SimCharger, action: object) -> dict[str, Any]:
    """The actions of the charger's version, and a schema-valid payload of `action` to start from."""
    version = charger.version
    known = craft.actions(version)
    if action is None:
        return {"ok": True, "version": version, "actions": known}
    if not isinstance(action, str) or action not in known:
        return {"ok": False, "error": f"template: OCPP {version} has no action {action!r}"}
    return {
        "ok": True,
        "version": version,
        "actions": known,
        "payload": craft.payload_template(version, action),
    }


def _raw_id(raw: str) -> str | None:
    """The message id of a raw frame (its answer carries it), None when there is none to read."""
    try:
        message = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if isinstance(message, list) and len(message) > 1 and isinstance(message[1], str):
        return message[1]
    return None
