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
from collections.abc import Callable, Mapping
from typing import Any

from voltyard.events import Event
from voltyard.power.charger_control import ChargerControl
from voltyard.power.config import PowerConfig
from voltyard.power.following import FollowWatch
from voltyard.power.ports import Clock, CommandCall, EventPort, SiteView, TransactionsView
from voltyard.power.session import Session
from voltyard.power.sharing import EPSILON_KW, FairShare, Step, fit_raises, max_min_fair, split_changes

__all__ = ["CABINET", "PowerConfig", "Session", "SiteManager"]

log = logging.getLogger(__name__)

CABINET = "cabinet"  # the cabinet's key among the claimants (sessions are keyed (charger, connector))
Key = tuple[str, int] | str
Readings = Mapping[tuple[str, int], float | None]
_ENDED = frozenset({"TransactionStopped", "TransactionStopFlagged", "TransactionReconciled",
                    "TransactionForceClosed"})  # fmt: skip


class SiteManager:
    """Shares the site limit; see the module docstring. `start()` runs it as a task, `stop()` ends it.

    Args:
        site: Its `limit_kw` is the site limit, read at every rebalance.
        events: Session starts and ends and limit changes come from it; SitePlan and Alert events go to it.
        commands_call: Sends a command to a charger (`Commands.call`).
        transactions: The open transactions (taken over at start) and the metered power per connector.
        clock: Monotonic time for the grace period and back-off, wall time for schedules.
        cabinet_demand_kw: What the DC cabinet's guns ask for now (its claim).
        set_cabinet_share: Hands the cabinet its share (`PlannerTick.set_cabinet_share`).
        config: The settings.
    """

    def __init__(
        self,
        site: SiteView,
        events: EventPort,
        commands_call: CommandCall,
        transactions: TransactionsView,
        clock: Clock,
        *,
        cabinet_demand_kw: Callable[[], float],
        set_cabinet_share: Callable[[float], None],
        config: PowerConfig,
    ) -> None:
        self._site = site
        self._events = events
        self._transactions = transactions
        self._clock = clock
        self._cabinet_demand_kw = cabinet_demand_kw
        self._set_cabinet_share = set_cabinet_share
        self.config = config
        self._control = ChargerControl(commands_call, clock, config, self._is_current)
        self._sessions: dict[tuple[str, int], Session] = {}
        self._ended: list[Session] = []
        self.cabinet_share_kw = 0.0  # the planner tick starts without a share until the first rebalance
        self._wake = asyncio.Event()
        self._reasons: set[str] = set()
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
            for transaction_id in opened:
                self._add(charger_id, connector_id, transaction_id)
        self._unsubscribe = self._events.subscribe(self._on_event)
        self.request_rebalance("start")
        self._task = asyncio.create_task(self._run(), name="site-power-manager")

    async def stop(self) -> None:
        """Stop rebalancing; the profiles installed stay in force on the chargers."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def request_rebalance(self, reason: str) -> None:
        """Rebalance at once (e.g. the cabinet's demand jumped as a gun started a session)."""
        self._reasons.add(reason)
        self._wake.set()

    def _on_event(self, event: Event) -> None:
        data, charger_id = event.data, event.charger_id
        if event.kind == "TransactionStarted" and charger_id is not None:
            self._add(charger_id, data["connectorId"], data["transactionId"])
            self.request_rebalance("session started")
        elif event.kind in _ENDED:
            transaction_id = data.get("transactionId")
            for s in list(self._sessions.values()):
                if s.charger_id == charger_id and s.transaction_id == transaction_id:
                    del self._sessions[s.key]
                    self._ended.append(s)
                    self.request_rebalance("session ended")
        elif event.kind == "SiteLimitChanged":
            self.request_rebalance("limit changed")

    def _add(self, charger_id: str, connector_id: int, transaction_id: int) -> None:
        previous = self._sessions.get((charger_id, connector_id))
        if previous is not None:
            if previous.transaction_id == transaction_id:
                return
            self._ended.append(previous)  # its stop was missed: a connector runs one transaction at a time
        watch = FollowWatch(self.config.grace_period_s, self.config.follow_tolerance_kw)
        cap = self.config.cap_kw(charger_id)
        self._sessions[charger_id, connector_id] = Session(
            charger_id, connector_id, transaction_id, cap, watch
        )

    def _is_current(self, session: Session) -> bool:
        return self._sessions.get(session.key) is session

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
        ended, self._ended = self._ended, []
        # Before any new profile goes out: a new session on the same connector gets the same profile id.
        await self._control.clear(
            s for s in ended if (s.confirmed_kw is not None or s.uncertain) and s.key not in self._sessions
        )
        now = self._clock.monotonic()
        measured = self._measure()
        self._watch(now, measured)
        demand = max(0.0, self._cabinet_demand_kw())
        tried: set[tuple[str, int]] = set()
        accepted: list[Session] = []
        changes = 0
        # A lowering that fails leaves its session a fixed load at the limit it keeps: one more round at
        # once lowers the others instead, rather than leaving the sum over until the next rebalance.
        for _ in range(2):
            limit = self._site.limit_kw
            fair, lower, raises = self._plan_round(limit, demand, measured)
            accepted += await self._apply(lower, now, tried)
            changes += len(lower)
            if self._committed_kw(measured) <= limit + EPSILON_KW:
                break
        # The room for raisings is what the lowerings left, from what the chargers confirmed (a session
        # that started meanwhile counts at its maximum) and from the limit now (it may have dropped).
        room = self._site.limit_kw - self._committed_kw(measured)
        accepted += await self._apply(fit_raises(room, raises), now, tried)
        changes += len(raises)
        await self._control.read_back(accepted)
        plan = self._plan(reason, limit, demand, fair.level, measured, changes=changes)
        self.last_plan = plan
        # Routine rebalances that change nothing are shown live (the TUI) without filling the event log.
        changed = reason != "period" or changes > 0
        (self._events.publish if changed else self._events.live)(Event("SitePlan", None, plan))
        return plan

    def _plan_round(
        self, limit: float, demand: float, measured: Readings
    ) -> tuple[FairShare[Key], list[Step[Key]], list[Step[Key]]]:
        """The fair shares, and the lowerings and raisings that reach them."""
        sessions = list(self._sessions.values())
        # Fixed loads come off the top; the sessions that follow their limits and the cabinet share the rest.
        reserved = {s.key: s.effective_kw(measured.get(s.key)) for s in sessions if s.fixed}
        budget = limit - sum(reserved.values())
        caps: dict[Key, float] = {s.key: s.cap_kw for s in sessions if not s.fixed}
        caps[CABINET] = demand
        fair = max_min_fair(budget, caps)
        targets: dict[Key, float] = dict(fair.shares)
        for s in sessions:
            if s.fixed:  # still asked for what it would get, never above what is reserved for it
                targets[s.key] = min(s.cap_kw, fair.level, reserved[s.key])
            s.target_kw = targets[s.key]
        current: dict[Key, float] = {s.key: s.assumed_kw for s in sessions}
        current[CABINET] = self.cabinet_share_kw
        must_send = frozenset(s.key for s in sessions if s.confirmed_kw is None or s.uncertain)
        deadband = self.config.deadband_kw
        lower, raises = split_changes(
            budget,
            {k: current[k] for k in caps},
            {k: targets[k] for k in caps},
            deadband,
            must_send=must_send,
        )
        # A fixed load's limit does not change what is reserved for it: it goes with the lowerings.
        lower += [Step(k, current[k], targets[k]) for k in reserved
                  if k in must_send or abs(targets[k] - current[k]) > deadband]  # fmt: skip
        return fair, lower, raises

    def _measure(self) -> dict[tuple[str, int], float | None]:
        power = self._transactions.power_w
        return {key: (power[key] / 1000.0 if key in power else None) for key in self._sessions}

    def _committed_kw(self, measured: Readings) -> float:
        """The sum of limits in force: every session (new ones at their maximum) plus the cabinet's share."""
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
            data = {"kind": "NotFollowingLimit", "state": transition, "connectorId": s.connector_id,
                    "transactionId": s.transaction_id, "limit_kw": limit, "measured_kw": reading,
                    "grace_s": self.config.grace_period_s}  # fmt: skip
            self._events.publish(Event("Alert", s.charger_id, data))

    async def _apply(self, steps: list[Step[Key]], now: float, tried: set[tuple[str, int]]) -> list[Session]:
        """Carry out one phase's steps together; the sessions whose profile was accepted.

        A session whose command failed earlier in this rebalance (in `tried` without success) or that is
        backing off is not sent again now.
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
            tried.add(key)
            sends.append(session)
            targets.append(step.target)
        results = await asyncio.gather(*map(self._control.set_limit, sends, targets))
        return [session for session, ok in zip(sends, results, strict=True) if ok]

    def _plan(
        self, reason: str, limit: float, demand: float, level: float, measured: Readings, *, changes: int
    ) -> dict[str, Any]:
        """The SitePlan event's data (the TUI draws it; docs/power.md lists the fields)."""
        sessions = [
            {"chargerId": s.charger_id, "connectorId": s.connector_id, "transactionId": s.transaction_id,
             "cap_kw": s.cap_kw, "target_kw": s.target_kw, "limit_kw": s.confirmed_kw,
             "reported_kw": s.reported_kw, "measured_kw": measured.get(s.key), "uncertain": s.uncertain,
             "notFollowing": s.watch.flagged, "error": s.error}
            for s in self._sessions.values()
        ]  # fmt: skip
        return {
            "reason": reason,
            "limit_kw": limit,
            "level_kw": None if level == float("inf") else level,
            "cabinet": {"demand_kw": demand, "share_kw": self.cabinet_share_kw},
            "committed_kw": self._committed_kw(measured),
            "changes": changes,
            "sessions": sessions,
        }
