"""The site power manager: one site limit (kW) shared max-min fair between the OCPP chargers' sessions
and the DC cabinet, enforced with TxProfiles (docs/power.md).

Each rebalance (every period, and at once on a session start or end or a change of the limit) plans
the shares, then applies them in two steps: first every lowering (and the profiles of new sessions),
then the raisings, cut to the room the confirmed lowerings made. A limit counts as in force only once
the charger accepted it; until then the old one is assumed (a new session's is its connector's
maximum), so the sum of limits stays within the site limit even when commands fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from voltyard.events.kinds import (
    COMMAND_ORIGIN,
    Alert,
    ChargerBooted,
    Event,
    SiteLimitChanged,
    SitePlan,
    TransactionForceClosed,
    TransactionReconciled,
    TransactionStarted,
    TransactionStopFlagged,
    TransactionStopped,
)
from voltyard.power.charger_control import ChargerControl
from voltyard.power.config import PowerConfig
from voltyard.power.following import FollowWatch
from voltyard.power.planning import CABINET, Key, plan_round
from voltyard.power.ports import ChargerVersion, Clock, CommandCall, EventPort, SiteView, TransactionsView
from voltyard.power.ramps import RampDowns
from voltyard.power.session import Session
from voltyard.power.sharing import EPSILON_KW, Step, fit_raises
from voltyard.power.start_limits import StartLimits

__all__ = ["CABINET", "PowerConfig", "Session", "SiteManager"]

log = logging.getLogger(__name__)

Readings = Mapping[tuple[str, int], float | None]
_ENDED = (TransactionStopped, TransactionStopFlagged, TransactionReconciled, TransactionForceClosed)


class SiteManager:
    """Shares the site limit; see the module docstring. `start()` runs it as a task, `stop()` ends it.

    Args:
        site: Its `limit_kw` is the site limit, read at every rebalance.
        events: Session starts and ends and limit changes come from it; SitePlan and Alert events go to it.
        commands_call: Sends a command to a charger (`Commands.call`).
        transactions: The open transactions (taken over at start) and the metered power per connector.
        clock: Monotonic time for the grace period and back-off, wall time for schedules.
        cabinet_demand_kw: What the DC cabinet's guns ask for now (its claim): one figure per gun
            (`CabinetPower.gun_demands_kw`), each gun then a claimant like a session; or one total,
            the cabinet then one claimant.
        set_cabinet_share: Hands the cabinet its share (`PlannerTick.set_cabinet_share`).
        config: The settings.
        charger_version: The OCPP version of each charger (`Registry.version_of`): its profiles, clears and
            read-backs go in that version's shapes (`voltyard.power.profiles.shapes_for`).
        own_charge_points: The DC cabinet's charge point id(s): not sent profiles.
    """

    def __init__(
        self,
        site: SiteView,
        events: EventPort,
        commands_call: CommandCall,
        transactions: TransactionsView,
        clock: Clock,
        *,
        cabinet_demand_kw: Callable[[], float | Sequence[float]],
        set_cabinet_share: Callable[[float], None],
        config: PowerConfig,
        charger_version: ChargerVersion,
        own_charge_points: Collection[str] = (),
    ) -> None:
        self._site = site
        # The DC cabinet's own charge point: its sessions are the cabinet's demand, shared through the
        # planner, not OCPP sessions to send profiles to.
        self._own = frozenset(own_charge_points)
        self._events = events
        self._transactions = transactions
        self._clock = clock
        self._cabinet_demand_kw = cabinet_demand_kw
        self._set_cabinet_share = set_cabinet_share
        self.config = config
        self._control = ChargerControl(commands_call, clock, config, self._is_current, charger_version)
        self._sessions: dict[tuple[str, int], Session] = {}
        self._ended: list[Session] = []
        self.cabinet_share_kw = 0.0  # the planner tick starts without a share until the first rebalance
        self._wake = asyncio.Event()
        self._logged_decisions: object = None
        self._reasons: set[str] = set()
        self._start_pending = False  # a rebalance for a session that was too new is scheduled
        self._ramps = RampDowns(config.ramp_down_s)
        self._start_limits = StartLimits()  # where PowerConfig.start_limit_kw is in force
        self._ramp_wake: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self.last_plan: dict[str, Any] | None = None

    @property
    def sessions(self) -> Mapping[tuple[str, int], Session]:
        return self._sessions

    # --- lifecycle and triggers -------------------------------------------------------------------

    def start(self) -> None:
        """Take over the sessions open now, listen for changes, rebalance at once and every period."""
        if self._task is not None:
            raise RuntimeError("the site manager is already running")
        for (charger_id, connector_id), opened in self._transactions.open.items():
            if charger_id in self._own:
                continue
            for transaction_id in opened:
                self._add(charger_id, connector_id, transaction_id)
                if self.config.start_limit_kw is not None:
                    self._start_limits.seen(charger_id, self._clock.monotonic())
        self._unsubscribe = self._events.subscribe(self._on_event)
        self.request_rebalance("start")
        self._task = asyncio.create_task(self._run(), name="site-power-manager")

    async def stop(self) -> None:
        """Stop rebalancing; the profiles installed stay in force on the chargers."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._ramp_wake is not None:
            self._ramp_wake.cancel()
            self._ramp_wake = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def request_rebalance(self, reason: str) -> None:
        """Rebalance at once (e.g. the cabinet's demand jumped as a gun started a session)."""
        if reason == "session started":
            self._start_pending = False
        self._reasons.add(reason)
        self._wake.set()

    def _on_event(self, event: Event) -> None:
        charger_id = event.charger_id
        if charger_id in self._own:
            return
        if isinstance(event, TransactionStarted) and charger_id is not None:
            self._add(charger_id, event.connector_id, event.transaction_id, self._clock.monotonic())
            if self.config.start_limit_kw is not None:
                self._start_limits.seen(charger_id, self._clock.monotonic())
            # Its profile goes out once the charger knows its transaction id.
            self._later(self.config.start_delay_s, "session started")
        elif isinstance(event, ChargerBooted) and charger_id is not None and event.status == "Accepted":
            if self.config.start_limit_kw is not None:  # a reboot may have lost it: install it again
                self._start_limits.booted(charger_id, self._clock.monotonic() + self.config.start_delay_s)
                self._later(self.config.start_delay_s, "charger booted")
        elif isinstance(event, _ENDED):
            transaction_id = event.transaction_id
            for s in list(self._sessions.values()):
                if s.charger_id == charger_id and s.transaction_id == transaction_id:
                    del self._sessions[s.key]
                    self._ended.append(s)
                    self.request_rebalance("session ended")
        elif isinstance(event, SiteLimitChanged):
            self.request_rebalance("limit changed")

    def _later(self, delay: float, reason: str) -> None:
        if delay > 0:
            asyncio.get_running_loop().call_later(delay, self.request_rebalance, reason)
        else:
            self.request_rebalance(reason)

    def _add(
        self, charger_id: str, connector_id: int, transaction_id: int, started_at: float = float("-inf")
    ) -> None:
        previous = self._sessions.get((charger_id, connector_id))
        if previous is not None:
            if previous.transaction_id == transaction_id:
                return
            self._ended.append(previous)  # its stop was missed: a connector runs one transaction at a time
        watch = FollowWatch(self.config.grace_period_s, self.config.follow_tolerance_kw)
        cap = self.config.cap_kw(charger_id)
        start = self.config.start_limit_kw if self._start_limits.limited(charger_id) else None
        # A 2.x transaction's TxProfile names the charger's own text id (1.6: none, the integer id).
        charger_tx_id = self._transactions.charger_tx_ids.get(transaction_id)
        self._sessions[charger_id, connector_id] = Session(
            charger_id, connector_id, transaction_id, cap, watch, started_at=started_at, start_kw=start,
            charger_tx_id=charger_tx_id,
        )  # fmt: skip

    def _is_current(self, session: Session) -> bool:
        return self._sessions.get(session.key) is session

    def _known_to_charger(self, session: Session, now: float) -> bool:
        """Whether the charger has been answered its StartTransaction (see PowerConfig.start_delay_s)."""
        if now - session.started_at < self.config.start_delay_s:
            return False
        return session.transaction_id in self._transactions.open.get(session.key, {})

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            delay = due - loop.time()
            if delay > 0 and not self._wake.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._wake.wait()
            self._wake.clear()
            reasons, self._reasons = self._reasons or {"period"}, set()
            try:
                await self.rebalance(", ".join(sorted(reasons)))
            except Exception:
                log.exception("site power rebalance failed")
            due = loop.time() + self.config.rebalance_period_s

    # --- one rebalance ----------------------------------------------------------------------------

    async def rebalance(self, reason: str = "period") -> dict[str, Any]:
        """Plan and apply once (lowerings, then raisings, then read-back); returns the published plan."""
        # The commands sent from here are the power manager's (category power in the event log), told
        # apart from an operator's.
        origin = COMMAND_ORIGIN.set("power")
        try:
            return await self._rebalance(reason)
        finally:
            COMMAND_ORIGIN.reset(origin)

    async def _rebalance(self, reason: str) -> dict[str, Any]:
        ended, self._ended = self._ended, []
        # Before any new profile goes out: a new session on the same connector gets the same profile id.
        await self._control.clear(
            s for s in ended if (s.confirmed_kw is not None or s.uncertain) and s.key not in self._sessions
        )
        now = self._clock.monotonic()
        await self._install_start_limits(now)
        measured = self._measure()
        self._watch(now, measured)
        # Per gun, each gun is a claimant of its own: the cabinet as one claimant would get one session's
        # share for all its guns (four 150 kW guns at 2 kW each beside 30 AC sessions at 9 kW).
        claim = self._cabinet_demand_kw()
        gun_demands: float | tuple[float, ...] = (
            max(0.0, float(claim)) if isinstance(claim, float | int) else tuple(max(0.0, kw) for kw in claim)
        )
        demand = gun_demands if isinstance(gun_demands, float) else sum(gun_demands, 0.0)
        tried: set[tuple[str, int]] = set()
        accepted: list[Session] = []
        changes = 0
        # A lowering that fails leaves its session a fixed load at the limit it keeps: one more round at
        # once lowers the others instead, rather than leaving the sum over until the next rebalance.
        for _ in range(2):
            limit = self._site.limit_kw
            fair, lower, raises = plan_round(
                list(self._sessions.values()), measured, limit, cabinet_demand_kw=gun_demands,
                cabinet_share_kw=self.cabinet_share_kw, deadband_kw=self.config.deadband_kw,
            )  # fmt: skip
            accepted += await self._apply(lower, now, tried)
            changes += len(lower)
            if self._committed_kw(measured) <= limit + EPSILON_KW:
                break
        # The room for raisings is what the lowerings left, from what the chargers confirmed (a session
        # without a profile yet counts at what it started with) and from the limit now (it may have
        # dropped), less what lowered sessions may still draw while their EVs ramp down.
        ramping = self._ramps.kw(self._clock.monotonic())
        room = self._site.limit_kw - self._committed_kw(measured) - ramping
        fitted = fit_raises(room, raises)
        if ramping > EPSILON_KW and raises:
            self._wake_after_ramp()
        accepted += await self._apply(fitted, now, tried)
        changes += len(raises)
        await self._control.read_back(accepted)
        plan = self._plan(reason, limit, demand, fair.level, measured, changes=changes)
        self.last_plan = plan
        # A plan is logged when what it decides changed (limits, targets, sessions, errors); every other
        # rebalance is shown live (the TUI) without filling the event log, however often it runs or retries.
        decided = _decisions(plan)
        changed, self._logged_decisions = decided != self._logged_decisions, decided
        (self._events.publish if changed else self._events.live)(SitePlan(None, **plan))
        return plan

    async def _install_start_limits(self, now: float) -> None:
        """Install the TxDefaultProfile on chargers due for one (a lowering from "unlimited": no ramp)."""
        limit = self.config.start_limit_kw
        due = self._start_limits.due(now)
        if limit is None or not due:
            return
        results = await asyncio.gather(*(self._control.set_start_limit(charger, limit) for charger in due))
        for charger, ok in zip(due, results, strict=True):
            if ok:
                self._start_limits.installed(charger, now)

    def _measure(self) -> dict[tuple[str, int], float | None]:
        power = self._transactions.power_w
        return {key: (power[key] / 1000.0 if key in power else None) for key in self._sessions}

    def _committed_kw(self, measured: Readings) -> float:
        """The sum of limits in force: every session (new ones at what they start with) and the cabinet."""
        sessions = sum(s.effective_kw(measured.get(s.key)) for s in self._sessions.values())
        return sessions + self.cabinet_share_kw

    def _watch(self, now: float, measured: Readings) -> None:
        for s in self._sessions.values():
            limit = None if s.uncertain else s.confirmed_kw
            reading = measured.get(s.key)
            transition = s.watch.observe(now, reading, limit)
            if transition is None:
                continue
            if transition == "raised":
                log.warning(
                    "%s connector %d draws %s kW over its %s kW limit for %.0f s: not following",
                    s.charger_id, s.connector_id, reading, limit, s.watch.over_for(now),
                )  # fmt: skip
            grace = self.config.grace_period_s
            alert = Alert(
                s.charger_id, "NotFollowingLimit", s.connector_id, s.transaction_id,
                state=transition, limit_kw=limit, measured_kw=reading, grace_s=grace,
            )  # fmt: skip
            self._events.publish(alert)

    async def _apply(self, steps: list[Step[Key]], now: float, tried: set[tuple[str, int]]) -> list[Session]:
        """Carry out one phase's steps together; the sessions whose profile was accepted.

        A session whose command failed earlier in this rebalance (in `tried` without success), that is
        backing off, or whose charger may not know its transaction id yet is not sent anything now.
        """
        sends: list[Session] = []
        targets: list[float] = []
        for step in steps:
            key = step.key
            if isinstance(key, str):  # the cabinet: in-process, it plans with its share from the next tick
                self.cabinet_share_kw = step.target
                self._set_cabinet_share(step.target)
                continue
            session = self._sessions.get(key)
            if session is None or session.retry_at > now or (key in tried and session.failures):
                continue
            if not self._known_to_charger(session, now):
                # Planned at its share, it draws its start limit (or maximum) meanwhile; a rebalance soon
                # sends its profile.
                if not self._start_pending:
                    self._start_pending = True
                    asyncio.get_running_loop().call_later(
                        self.config.start_delay_s, self.request_rebalance, "session started"
                    )
                continue
            tried.add(key)
            sends.append(session)
            targets.append(step.target)
        before = [session.assumed_kw for session in sends]
        results = await asyncio.gather(*map(self._control.set_limit, sends, targets))
        confirmed_at = self._clock.monotonic()
        for session, old, ok in zip(sends, before, results, strict=True):
            if ok:
                self._ramps.lowered(confirmed_at, old - session.assumed_kw)
        return [session for session, ok in zip(sends, results, strict=True) if ok]

    def _wake_after_ramp(self) -> None:
        """Rebalance when the first ramp-down is over, so held-back raisings follow without a period."""
        end = self._ramps.next_end()
        if end is None:
            return
        if self._ramp_wake is not None:
            self._ramp_wake.cancel()
        delay = end - self._clock.monotonic()
        self._ramp_wake = asyncio.get_running_loop().call_later(
            max(0.0, delay), self.request_rebalance, "ramped down"
        )

    def _plan(
        self, reason: str, limit: float, demand: float, level: float, measured: Readings, *, changes: int
    ) -> dict[str, Any]:
        """The SitePlan event's data (the TUI draws it; docs/power.md lists the fields)."""
        return {
            "reason": reason,
            "limit_kw": limit,
            "level_kw": None if level == float("inf") else level,
            "cabinet": {"demand_kw": demand, "share_kw": self.cabinet_share_kw},
            "committed_kw": self._committed_kw(measured),
            "changes": changes,
            "sessions": [s.describe(measured.get(s.key)) for s in self._sessions.values()],
        }


# What sessions were measured at and aimed for: the plan acts only on limits the chargers accepted.
_MEASURED = frozenset({"measured_kw", "target_kw"})


def _rounded(value: object) -> object:
    return round(value, 1) if isinstance(value, float) else value


def _decisions(plan: dict[str, Any]) -> object:
    """What a plan decides for the sessions and the cabinet, without why it ran, what was measured or the
    limit (SiteLimitChanged records that): two plans alike here are the same plan. Rounded, so that a cabinet
    demand that wobbles does not make every plan a new one."""
    sessions = tuple(
        tuple(sorted((key, _rounded(value)) for key, value in session.items() if key not in _MEASURED))
        for session in plan["sessions"]
    )
    return (round(plan["cabinet"]["share_kw"]), sessions)
