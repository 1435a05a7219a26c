"""The site power manager: the sharing arithmetic, the profile payloads, the "not following" rule, and the
sequencing of commands against fake chargers (no sockets, no sleeps: a fake clock and a fake command call).
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from voltyard.errors import CallErrorReceivedError, ChargerOfflineError, CommandTimeoutError
from voltyard.events.kinds import (
    ChargerBooted,
    Event,
    SiteLimitChanged,
    SitePlan,
    TransactionStarted,
    TransactionStopped,
)
from voltyard.power.following import FollowWatch
from voltyard.power.manager import CABINET, PowerConfig, SiteManager
from voltyard.power.profiles import (
    RateUnit,
    composite_limit_kw,
    rate_unit_from_configuration,
    tx_profile_request,
)
from voltyard.power.sharing import Step, fit_raises, max_min_fair, split_changes

EPS = 1e-6

# --- sharing ---------------------------------------------------------------------------------------


def test_max_min_fair_splits_evenly_and_gives_what_small_claimants_leave() -> None:
    fair = max_min_fair(30.0, {"a": 22.0, "b": 22.0, "c": 4.0})
    assert fair.shares == {"a": 13.0, "b": 13.0, "c": 4.0}
    assert fair.level == 13.0


def test_max_min_fair_when_the_budget_covers_everyone() -> None:
    fair = max_min_fair(100.0, {"a": 22.0, "b": 11.0})
    assert fair.shares == {"a": 22.0, "b": 11.0}
    assert math.isinf(fair.level)


def test_max_min_fair_with_no_budget() -> None:
    assert max_min_fair(-5.0, {"a": 22.0, "b": 0.0}).shares == {"a": 0.0, "b": 0.0}
    assert max_min_fair(10.0, {}).shares == {}


@given(
    st.floats(-10, 500, allow_nan=False),
    st.dictionaries(st.integers(0, 30), st.floats(0, 50, allow_nan=False), max_size=25),
)
def test_max_min_fair_properties(budget: float, caps: dict[int, float]) -> None:
    fair = max_min_fair(budget, caps)
    shares = fair.shares
    assert set(shares) == set(caps)
    assert sum(shares.values()) <= max(0.0, budget) + 1e-6
    for key, share in shares.items():
        assert -EPS <= share <= caps[key] + EPS
    top = max(shares.values(), default=0.0)
    for key, share in shares.items():
        # Max-min: whoever is below its cap has the most anyone has (nobody could take from a richer one).
        if share < caps[key] - 1e-6:
            assert share >= top - 1e-6
    # Nothing is left over while somebody still wants more.
    if any(shares[k] < caps[k] - 1e-6 for k in caps):
        assert sum(shares.values()) >= max(0.0, budget) - 1e-6


def test_split_changes_skips_changes_within_the_deadband() -> None:
    lower, raises = split_changes(100.0, {"a": 10.0, "b": 10.0}, {"a": 10.3, "b": 8.0}, 0.5)
    assert lower == [Step("b", 10.0, 8.0)]
    assert raises == []


def test_split_changes_makes_skipped_lowerings_when_the_sum_would_not_hold() -> None:
    current = {"a": 10.0, "b": 10.0, "c": 10.0}
    targets = {"a": 9.7, "b": 9.7, "c": 9.7}  # each within the deadband, but 30 > 29.1
    lower, raises = split_changes(29.1, current, targets, 0.5)
    assert sorted(step.key for step in lower) == ["a", "b", "c"]
    assert raises == []


def test_split_changes_sends_must_send_and_orders_lowerings_first() -> None:
    lower, raises = split_changes(
        50.0, {"new": 22.0, "a": 5.0, "b": 20.0}, {"new": 22.0, "a": 15.0, "b": 13.0}, 0.5,
        must_send=frozenset({"new"}),
    )  # fmt: skip
    assert [step.key for step in lower] == ["new", "b"]
    assert [step.key for step in raises] == ["a"]


def test_fit_raises_scales_to_the_room() -> None:
    raises = [Step("a", 5.0, 15.0), Step("b", 0.0, 10.0)]
    assert fit_raises(30.0, raises) == raises
    assert fit_raises(10.0, raises) == [Step("a", 5.0, 10.0), Step("b", 0.0, 5.0)]
    assert fit_raises(-1.0, raises) == []
    assert fit_raises(-1.0, []) == []


# --- profiles --------------------------------------------------------------------------------------


def test_rate_units_round_down() -> None:
    watts = RateUnit("W")
    assert watts.from_kw(7.4567) == 7456.0
    assert watts.to_kw(7456.0) == 7.456
    amps = RateUnit("A", 230.0, 3)
    assert amps.from_kw(11.0) == 15.9  # 15.94 A
    assert amps.to_kw(15.9) == pytest.approx(10.971)
    assert amps.to_kw(16.0, phases=1) == pytest.approx(3.68)
    with pytest.raises(ValueError, match="unit"):
        RateUnit("kW")  # type: ignore[arg-type]


def test_tx_profile_request_is_a_valid_txprofile_on_the_minute_grid(codec) -> None:
    now = 1_767_225_645.5  # 2026-01-01T00:00:45.5Z
    request, kw = tx_profile_request(
        2, 77, 11.0, RateUnit("A"), profile_id=9102, stack_level=5, now_epoch_s=now, minutes=3
    )
    codec.validate("SetChargingProfile", request)
    assert request["connectorId"] == 2
    profile = request["csChargingProfiles"]
    assert profile["chargingProfilePurpose"] == "TxProfile"
    assert profile["transactionId"] == 77
    assert profile["chargingProfileKind"] == "Absolute"
    assert (profile["chargingProfileId"], profile["stackLevel"]) == (9102, 5)
    schedule = profile["chargingSchedule"]
    assert schedule["startSchedule"] == "2026-01-01T00:00:00Z"
    assert schedule["chargingRateUnit"] == "A"
    assert "duration" not in schedule  # the last period stays in force
    assert schedule["chargingSchedulePeriod"] == [
        {"startPeriod": 0, "limit": 15.9, "numberPhases": 3},
        {"startPeriod": 60, "limit": 15.9, "numberPhases": 3},
        {"startPeriod": 120, "limit": 15.9, "numberPhases": 3},
    ]
    assert kw == pytest.approx(10.971)
    watts, kw = tx_profile_request(1, 5, 3.5, RateUnit("W"), profile_id=1, stack_level=0, now_epoch_s=now)
    codec.validate("SetChargingProfile", watts)
    assert watts["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"] == [
        {"startPeriod": 0, "limit": 3500.0}
    ]
    assert kw == 3.5


def test_rate_unit_discovery_prefers_watts() -> None:
    fallback = RateUnit("A", 400.0, 1)

    def answer(value: str) -> dict[str, Any]:
        return {"configurationKey": [{"key": "ChargingScheduleAllowedChargingRateUnit", "readonly": True,
                                      "value": value}]}  # fmt: skip

    assert rate_unit_from_configuration(answer("Current,Power"), fallback) == RateUnit("W", 400.0, 1)
    assert rate_unit_from_configuration(answer("Current"), fallback) == RateUnit("A", 400.0, 1)
    assert rate_unit_from_configuration({"unknownKey": ["x"]}, fallback) is None


def test_composite_limit() -> None:
    schedule = {"chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}]}
    assert composite_limit_kw({"status": "Accepted", "chargingSchedule": schedule}, RateUnit("W")) == (
        pytest.approx(11.04)
    )
    assert composite_limit_kw({"status": "Rejected"}, RateUnit("W")) is None


# --- not following ---------------------------------------------------------------------------------


def test_follow_watch_flags_after_the_grace_period_and_clears_after_as_long() -> None:
    watch = FollowWatch(grace_s=30.0, tolerance_kw=0.5)
    assert watch.observe(0.0, 12.0, 10.0) is None
    assert watch.observe(20.0, 12.0, 10.0) is None
    assert watch.observe(25.0, 10.4, 10.0) is None  # within tolerance: the clock restarts
    assert watch.observe(30.0, 12.0, 10.0) is None
    assert watch.observe(59.0, 12.0, 10.0) is None
    assert watch.observe(60.0, 12.0, None) is None  # no confirmed limit: no evidence
    assert watch.observe(61.0, 12.0, 10.0) == "raised"
    assert watch.flagged
    assert watch.observe(62.0, 9.0, 10.0) is None
    assert watch.observe(92.0, 9.0, 10.0) == "cleared"
    assert not watch.flagged


# --- the manager against fake chargers -------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def monotonic(self) -> float:
        return self.t

    def time(self) -> float:
        return 1_767_225_600.0 + self.t


@dataclass
class FakeSite:
    limit_kw: float


@dataclass
class FakeEvents:
    subscribers: list[Any] = field(default_factory=list)
    published: list[Event] = field(default_factory=list)
    shown: list[Event] = field(default_factory=list)

    def subscribe(self, subscriber):
        self.subscribers.append(subscriber)
        return lambda: self.subscribers.remove(subscriber)

    def publish(self, event: Event) -> None:
        self.published.append(event)
        for subscriber in list(self.subscribers):
            subscriber(event)

    def live(self, event: Event) -> None:
        self.shown.append(event)

    def of(self, kind: str) -> list[Event]:
        return [e for e in self.published + self.shown if e.kind == kind]


@dataclass
class FakeTransactions:
    open: dict[tuple[str, int], dict[int, str]] = field(default_factory=dict)
    power_w: dict[tuple[str, int], float] = field(default_factory=dict)
    charger_tx_ids: dict[int, str] = field(default_factory=dict)


class FakeChargers:
    """Answers the manager's commands like compliant chargers and checks the site invariant as it goes.

    `applied` holds each connector's limit in force (kW); a session without one may draw `cap`. After
    every raise a charger applies, the sum of what may be drawn (plus the cabinet's share) must hold.
    """

    def __init__(self, site: FakeSite, cap: float = 22.0) -> None:
        self.site = site
        self.cap = cap
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.applied: dict[tuple[str, int], float] = {}
        self.sessions: set[tuple[str, int]] = set()
        self.cabinet_share = 0.0
        self.fail: dict[str, Exception] = {}  # charger id -> what SetChargingProfile raises
        self.status: dict[str, str] = {}  # charger id -> SetChargingProfile answer status
        self.allowed_units = "Current,Power"
        self.worst_after_raise = 0.0

    def may_draw(self) -> float:
        return sum(self.applied.get(key, self.cap) for key in self.sessions) + self.cabinet_share

    def set_cabinet_share(self, kw: float) -> None:
        raising = kw > self.cabinet_share
        self.cabinet_share = kw
        if raising:
            self.worst_after_raise = max(self.worst_after_raise, self.may_draw() - self.site.limit_kw)

    async def __call__(self, charger_id: str, action: str, payload: dict[str, Any], *, timeout=None):
        self.calls.append((charger_id, action, payload))
        await asyncio.sleep(0)  # let the other calls of a phase start: they run together
        if action == "GetConfiguration":
            return {"configurationKey": [{"key": "ChargingScheduleAllowedChargingRateUnit", "readonly": True,
                                          "value": self.allowed_units}]}  # fmt: skip
        if action == "ClearChargingProfile":
            return {"status": "Accepted"}
        key = (charger_id, payload["connectorId"])
        if action == "GetCompositeSchedule":
            limit = self.applied.get(key)
            if limit is None:
                return {"status": "Rejected"}
            schedule = {
                "chargingRateUnit": "W",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit * 1000}],
            }
            return {"status": "Accepted", "connectorId": key[1], "chargingSchedule": schedule}
        assert action == "SetChargingProfile"
        if charger_id in self.fail:
            raise self.fail[charger_id]
        status = self.status.get(charger_id, "Accepted")
        if status == "Accepted":
            schedule = payload["csChargingProfiles"]["chargingSchedule"]
            period = schedule["chargingSchedulePeriod"][0]
            unit = RateUnit(schedule["chargingRateUnit"])
            new = unit.to_kw(period["limit"], period.get("numberPhases"))
            raising = new > self.applied.get(key, self.cap)
            self.applied[key] = new
            if raising:
                self.worst_after_raise = max(self.worst_after_raise, self.may_draw() - self.site.limit_kw)
        return {"status": status}

    def sets(self) -> list[tuple[str, int, float]]:
        out = []
        for charger_id, action, payload in self.calls:
            if action == "SetChargingProfile":
                schedule = payload["csChargingProfiles"]["chargingSchedule"]
                out.append(
                    (charger_id, payload["connectorId"], schedule["chargingSchedulePeriod"][0]["limit"])
                )
        return out


@dataclass
class Rig:
    site: FakeSite
    events: FakeEvents
    chargers: FakeChargers
    transactions: FakeTransactions
    clock: FakeClock
    manager: SiteManager
    cabinet_demand: list[float | tuple[float, ...]]  # one total, or per gun
    next_tx: int = 100

    def start_session(self, charger_id: str, connector_id: int) -> int:
        self.next_tx += 1
        self.transactions.open[charger_id, connector_id] = {self.next_tx: "2026-01-01T00:00:00Z"}
        self.chargers.sessions.add((charger_id, connector_id))
        started = TransactionStarted(charger_id, self.next_tx, connector_id, "T", 0, "2026-01-01T00:00:00Z")
        self.events.publish(started)
        return self.next_tx

    def stop_session(self, charger_id: str, connector_id: int) -> None:
        (transaction_id,) = self.transactions.open.pop((charger_id, connector_id))
        self.chargers.sessions.discard((charger_id, connector_id))
        self.chargers.applied.pop((charger_id, connector_id), None)
        self.events.publish(TransactionStopped(charger_id, transaction_id, "Stopped", 0, None))

    def limits(self) -> dict[tuple[str, int], float | None]:
        return {key: s.confirmed_kw for key, s in self.manager.sessions.items()}

    def committed(self) -> float:
        return sum(s.assumed_kw for s in self.manager.sessions.values()) + self.manager.cabinet_share_kw


def make_rig(
    limit_kw: float = 60.0,
    cabinet_kw: float | tuple[float, ...] = 0.0,
    versions: dict[str, str] | None = None,
    chargers: Any = None,
    **config: Any,
) -> Rig:
    """A manager over fake chargers; `versions`: each charger's OCPP version (1.6 unless named), `chargers`:
    the fake command call (a `FakeChargers` on the rig's site unless given)."""
    versions = versions or {}
    site = FakeSite(limit_kw)
    events = FakeEvents()
    chargers = chargers(site) if chargers is not None else FakeChargers(site)
    transactions = FakeTransactions()
    clock = FakeClock()
    demand: list[float | tuple[float, ...]] = [cabinet_kw]
    settings = {
        "deadband_kw": 0.5,
        "grace_period_s": 30.0,
        "start_delay_s": 0.0,
        "ramp_down_s": 0.0,
        "start_limit_kw": None,
        **config,
    }
    manager = SiteManager(
        site, events, chargers, transactions, clock,
        cabinet_demand_kw=lambda: demand[0], set_cabinet_share=chargers.set_cabinet_share,
        config=PowerConfig(**settings), charger_version=lambda charger_id: versions.get(charger_id, "1.6"),
    )  # fmt: skip
    # The manager listens without its task: each test drives rebalance() itself.
    events.subscribe(manager._on_event)
    return Rig(site, events, chargers, transactions, clock, manager, demand)


async def test_session_start_sends_a_txprofile_and_reads_it_back(codec) -> None:
    rig = make_rig(limit_kw=30.0)
    tx = rig.start_session("CP1", 1)
    plan = await rig.manager.rebalance("session started")
    actions = [action for _, action, _ in rig.chargers.calls]
    assert actions == ["GetConfiguration", "SetChargingProfile", "GetCompositeSchedule"]
    _, _, request = rig.chargers.calls[1]
    codec.validate("SetChargingProfile", request)
    profile = request["csChargingProfiles"]
    assert profile["transactionId"] == tx
    assert profile["chargingProfileId"] == 9101  # base + connector
    assert profile["chargingSchedule"]["chargingRateUnit"] == "W"  # the charger takes watts
    assert profile["chargingSchedule"]["chargingSchedulePeriod"] == [{"startPeriod": 0, "limit": 22000.0}]
    session = rig.manager.sessions["CP1", 1]
    assert (session.confirmed_kw, session.reported_kw) == (22.0, 22.0)
    assert plan["sessions"][0]["limit_kw"] == 22.0
    assert rig.events.of("SitePlan")[-1] == SitePlan(None, **plan, time=rig.events.of("SitePlan")[-1].time)


async def test_a_new_sessions_profile_waits_until_the_charger_knows_its_transaction() -> None:
    rig = make_rig(limit_kw=30.0, start_delay_s=0.5)
    rig.start_session("CP1", 1)
    rig.start_session("CP2", 1)
    await rig.manager.rebalance()
    assert rig.chargers.sets() == []
    rig.clock.t += 0.5
    await rig.manager.rebalance()
    assert set(rig.limits().values()) == {15.0}
    rig.chargers.calls.clear()
    tx = rig.start_session("CP3", 1)
    await rig.manager.rebalance("session started")
    # Too early for CP3's profile: the others are lowered to their shares at once, CP3 waits for its own.
    assert [(c, limit) for c, _, limit in rig.chargers.sets()] == [("CP1", 10000.0), ("CP2", 10000.0)]
    rig.clock.t += 0.5
    del rig.transactions.open["CP3", 1]  # not committed yet: its answer has not gone out
    await rig.manager.rebalance()
    assert rig.manager.sessions["CP3", 1].confirmed_kw is None
    rig.transactions.open["CP3", 1] = {tx: "2026-01-01T00:00:00Z"}
    await rig.manager.rebalance("session started")
    assert set(rig.limits().values()) == {10.0}
    assert rig.chargers.worst_after_raise <= EPS


async def test_power_freed_by_a_lowering_is_given_away_after_the_ramp_down() -> None:
    rig = make_rig(limit_kw=40.0, ramp_down_s=5.0)
    rig.start_session("CP1", 1)
    rig.start_session("CP2", 1)
    await rig.manager.rebalance()  # both new: lowered from their 22 kW maximum to 20
    rig.clock.t += 5.0
    rig.cabinet_demand[0] = 10.0
    await rig.manager.rebalance()  # the cabinet's 10 kW: the EVs give up 5 kW each, the cabinet waits
    assert set(rig.limits().values()) == {15.0}
    assert rig.manager.cabinet_share_kw == 0.0
    rig.clock.t += 4.9
    await rig.manager.rebalance()
    assert rig.manager.cabinet_share_kw == 0.0
    rig.clock.t += 0.1
    await rig.manager.rebalance()
    assert rig.manager.cabinet_share_kw == 10.0
    # A session that ends frees its power at once: nothing of it is ramping.
    rig.stop_session("CP2", 1)
    await rig.manager.rebalance("session ended")
    assert rig.limits() == {("CP1", 1): 22.0}


async def test_new_sessions_start_at_the_chargers_start_limit_and_are_raised_like_any_other() -> None:
    rig = make_rig(limit_kw=30.0, start_limit_kw=0.0, ramp_down_s=5.0)
    for charger in ("CP1", "CP2"):
        rig.events.publish(ChargerBooted(charger, "Accepted"))
    await rig.manager.rebalance("charger booted")
    defaults = [(c, p) for c, action, p in rig.chargers.calls if action == "SetChargingProfile"]
    assert [(c, p["connectorId"]) for c, p in defaults] == [("CP1", 0), ("CP2", 0)]
    profile = defaults[0][1]["csChargingProfiles"]
    assert profile["chargingProfilePurpose"] == "TxDefaultProfile"
    assert "transactionId" not in profile
    assert profile["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] == 0.0
    rig.start_session("CP1", 1)
    rig.start_session("CP2", 1)
    # Both start at 0 kW: their first TxProfiles are raisings, into room nobody is ramping out of.
    assert rig.committed() == 0.0
    await rig.manager.rebalance("session started")
    assert set(rig.limits().values()) == {15.0}
    # A third arrival: the others are lowered first; the power they free goes to it after the ramp-down.
    rig.start_session("CP1", 2)
    await rig.manager.rebalance("session started")
    assert rig.limits() == {("CP1", 1): 10.0, ("CP2", 1): 10.0, ("CP1", 2): None}
    rig.clock.t += 5.0
    await rig.manager.rebalance("ramped down")
    assert rig.limits()["CP1", 2] == 10.0
    assert rig.chargers.worst_after_raise <= EPS
    # A reboot loses it: installed again.
    rig.chargers.calls.clear()
    rig.events.publish(ChargerBooted("CP2", "Accepted"))
    await rig.manager.rebalance("charger booted")
    assert [(c, p["connectorId"]) for c, a, p in rig.chargers.calls if a == "SetChargingProfile"] == [
        ("CP2", 0)
    ]


async def test_limit_is_shared_max_min_with_the_cabinet() -> None:
    rig = make_rig(limit_kw=50.0, cabinet_kw=8.0)
    for charger in ("CP1", "CP2", "CP3"):
        rig.start_session(charger, 1)
    await rig.manager.rebalance()
    # The cabinet asks for 8 kW only: the chargers share the other 42.
    assert rig.manager.cabinet_share_kw == 8.0
    assert rig.chargers.cabinet_share == 8.0
    assert set(rig.limits().values()) == {14.0}
    assert rig.chargers.worst_after_raise <= EPS
    rig.cabinet_demand[0] = 100.0
    await rig.manager.rebalance()
    assert set(rig.limits().values()) == {12.5}
    assert rig.manager.cabinet_share_kw == 12.5
    assert rig.committed() <= 50.0 + EPS
    assert rig.chargers.worst_after_raise <= EPS


async def test_each_cabinet_gun_claims_its_demand_as_a_session_does() -> None:
    # Four guns (150, 80 and 4 kW asked, one idle) beside six AC sessions (22 kW connectors), 90 kW for all:
    # the idle gun claims nothing, the 4 kW gun gets its 4, the other eight claimants 10.75 kW each. The
    # cabinet as one claimant would get one seventh (12.9 kW) for its three charging guns.
    rig = make_rig(limit_kw=90.0, cabinet_kw=(150.0, 80.0, 4.0, 0.0))
    for charger in ("CP1", "CP2", "CP3", "CP4", "CP5", "CP6"):
        rig.start_session(charger, 1)
    plan = await rig.manager.rebalance()
    assert list(rig.limits().values()) == pytest.approx([10.75] * 6)
    assert rig.manager.cabinet_share_kw == pytest.approx(4.0 + 2 * 10.75)
    assert rig.chargers.cabinet_share == pytest.approx(25.5)
    assert plan["cabinet"] == {"demand_kw": 234.0, "share_kw": pytest.approx(25.5)}
    assert plan["level_kw"] == pytest.approx(10.75)
    assert rig.committed() <= 90.0 + EPS
    assert rig.chargers.worst_after_raise <= EPS
    # Two guns' EVs leave: the two left share with the sessions, the chargers' limits rise to fit.
    rig.cabinet_demand[0] = (150.0, 0.0, 0.0, 0.0)
    await rig.manager.rebalance()
    assert list(rig.limits().values()) == pytest.approx([90.0 / 7] * 6, abs=0.01)  # rounded down to 1 W
    assert rig.manager.cabinet_share_kw == pytest.approx(90.0 / 7, abs=0.01)
    assert rig.committed() <= 90.0 + EPS
    assert rig.chargers.worst_after_raise <= EPS


async def test_halving_the_limit_lowers_everything_before_raising_anything() -> None:
    rig = make_rig(limit_kw=88.0, cabinet_kw=0.0)
    for charger in ("CP1", "CP2", "CP3", "CP4"):
        rig.start_session(charger, 1)
    await rig.manager.rebalance()
    assert set(rig.limits().values()) == {22.0}
    rig.cabinet_demand[0] = 40.0
    rig.site.limit_kw = 44.0
    rig.chargers.calls.clear()
    rig.events.publish(SiteLimitChanged(None, 44.0, None, None))
    await rig.manager.rebalance("limit changed")
    assert set(rig.limits().values()) == {8.8}
    assert rig.manager.cabinet_share_kw == pytest.approx(8.8)
    assert rig.committed() <= 44.0 + EPS
    assert rig.chargers.worst_after_raise <= EPS


async def test_a_new_session_gets_its_share_from_the_others_lowered_first() -> None:
    rig = make_rig(limit_kw=40.0)
    rig.start_session("CP1", 1)
    rig.start_session("CP2", 1)
    await rig.manager.rebalance()
    assert set(rig.limits().values()) == {20.0}
    rig.start_session("CP3", 1)
    rig.chargers.calls.clear()
    await rig.manager.rebalance("session started")
    assert {k: round(v, 3) for k, v in rig.limits().items() if v is not None} == {
        ("CP1", 1): 13.333, ("CP2", 1): 13.333, ("CP3", 1): 13.333
    }  # fmt: skip
    # All three are lowerings (the new one from its connector's 22 kW): one phase, no raise needed.
    assert [(c, round(limit)) for c, _, limit in rig.chargers.sets()] == [
        ("CP1", 13333), ("CP2", 13333), ("CP3", 13333)
    ]  # fmt: skip


async def test_session_end_clears_its_profile_and_shares_the_freed_power() -> None:
    rig = make_rig(limit_kw=30.0)
    rig.start_session("CP1", 1)
    rig.start_session("CP1", 2)
    rig.start_session("CP2", 1)
    await rig.manager.rebalance()
    assert set(rig.limits().values()) == {10.0}
    rig.stop_session("CP1", 2)
    rig.chargers.calls.clear()
    await rig.manager.rebalance("session ended")
    clear = rig.chargers.calls[0]
    expected = {"id": 9102, "connectorId": 2, "chargingProfilePurpose": "TxProfile", "stackLevel": 5}
    assert clear == ("CP1", "ClearChargingProfile", expected)
    assert rig.limits() == {("CP1", 1): 15.0, ("CP2", 1): 15.0}
    assert rig.chargers.worst_after_raise <= EPS


async def test_small_changes_within_the_deadband_send_nothing() -> None:
    rig = make_rig(limit_kw=40.0, deadband_kw=0.5)
    rig.start_session("CP1", 1)
    rig.start_session("CP2", 1)
    await rig.manager.rebalance()
    rig.chargers.calls.clear()
    rig.site.limit_kw = 40.8  # +0.4 each: not worth a command
    plan = await rig.manager.rebalance()
    assert rig.chargers.calls == []
    assert plan["changes"] == 0
    assert rig.events.shown[-1].kind == "SitePlan"  # shown live, not logged
    rig.site.limit_kw = 39.6  # -0.2 each is within the deadband, but the sum would not hold: sent
    await rig.manager.rebalance()
    assert set(rig.limits().values()) == {19.8}


async def test_a_failed_lowering_keeps_the_old_limit_and_the_others_give_way() -> None:
    rig = make_rig(limit_kw=60.0)
    for charger in ("CP1", "CP2", "CP3"):
        rig.start_session(charger, 1)
    await rig.manager.rebalance()
    assert set(rig.limits().values()) == {20.0}
    rig.chargers.fail["CP2"] = ChargerOfflineError("CP2 is not connected")
    rig.start_session("CP4", 1)
    await rig.manager.rebalance("session started")
    # CP2 keeps its 20 kW (assumed in force); a second round at once lowers the other three to share 40.
    session2 = rig.manager.sessions["CP2", 1]
    assert (session2.confirmed_kw, session2.error) == (20.0, "CP2 is not connected")
    others = {key: round(kw, 3) for key, kw in rig.limits().items() if key != ("CP2", 1)}
    assert set(others.values()) == {13.333}
    assert rig.committed() <= 60.0 + EPS
    assert rig.chargers.worst_after_raise <= EPS
    # Retried at the next rebalance once it is back; then everyone is even again.
    del rig.chargers.fail["CP2"]
    await rig.manager.rebalance()
    assert session2.error is None
    assert rig.committed() <= 60.0 + EPS
    await rig.manager.rebalance()
    assert set(rig.limits().values()) == {15.0}
    assert rig.chargers.worst_after_raise <= EPS


async def test_a_new_session_that_cannot_be_limited_is_planned_at_its_maximum() -> None:
    rig = make_rig(limit_kw=50.0)
    rig.start_session("CP1", 1)
    rig.start_session("CP2", 1)
    rig.chargers.status["CP2"] = "Rejected"
    await rig.manager.rebalance()
    await rig.manager.rebalance()
    # CP2 may draw its connector's 22 kW: CP1 gets the other 28 (capped at 22).
    assert rig.manager.sessions["CP2", 1].confirmed_kw is None
    assert rig.manager.sessions["CP2", 1].fixed
    assert rig.limits()["CP1", 1] == 22.0
    rig.site.limit_kw = 30.0
    await rig.manager.rebalance()
    assert rig.limits()["CP1", 1] == 8.0
    assert rig.committed() <= 30.0 + EPS


async def test_a_timed_out_raise_is_assumed_applied_until_confirmed() -> None:
    rig = make_rig(limit_kw=20.0)
    rig.start_session("CP1", 1)
    rig.start_session("CP2", 1)
    await rig.manager.rebalance()
    rig.site.limit_kw = 40.0
    rig.chargers.fail["CP1"] = CommandTimeoutError("no answer")
    await rig.manager.rebalance()
    session = rig.manager.sessions["CP1", 1]
    assert (session.confirmed_kw, session.uncertain) == (20.0, True)  # the higher of 10 and 20
    del rig.chargers.fail["CP1"]
    rig.chargers.calls.clear()
    await rig.manager.rebalance()
    assert [c for c, _, _ in rig.chargers.sets()] == ["CP1"]  # sent again although within the deadband
    assert not session.uncertain


async def test_repeated_failures_back_off() -> None:
    rig = make_rig(limit_kw=20.0, rebalance_period_s=5.0)
    rig.start_session("CP1", 1)
    rig.chargers.fail["CP1"] = CommandTimeoutError("no answer")
    await rig.manager.rebalance()
    await rig.manager.rebalance()  # the first failure is retried at once
    assert len(rig.chargers.sets()) == 2
    await rig.manager.rebalance()  # backing off: 5 s
    assert len(rig.chargers.sets()) == 2
    rig.clock.t += 5.0
    await rig.manager.rebalance()
    assert len(rig.chargers.sets()) == 3


async def test_not_following_is_flagged_and_its_draw_taken_off_the_top() -> None:
    rig = make_rig(limit_kw=30.0, grace_period_s=30.0)
    for charger in ("CP1", "CP2", "CP3"):
        rig.start_session(charger, 1)
    await rig.manager.rebalance()
    assert set(rig.limits().values()) == {10.0}
    for charger in ("CP1", "CP2"):
        rig.transactions.power_w[charger, 1] = 10_000.0
    rig.transactions.power_w["CP3", 1] = 16_000.0  # ignores its 10 kW
    for _ in range(6):
        rig.clock.t += 5.0
        await rig.manager.rebalance()
    assert rig.events.of("Alert") == []  # 25 s over: still within the grace period
    rig.clock.t += 5.0
    await rig.manager.rebalance()
    (alert,) = rig.events.of("Alert")
    assert alert.charger_id == "CP3"
    assert alert.data()["kind"] == "NotFollowingLimit"
    assert alert.data()["state"] == "raised"
    assert (alert.data()["limitKw"], alert.data()["measuredKw"]) == (10.0, 16.0)
    # Its 16 kW are a fixed load: the others share the 14 left, and it is asked for no more than they get.
    limits = rig.limits()
    assert (limits["CP1", 1], limits["CP2", 1]) == (7.0, 7.0)
    assert limits["CP3", 1] == 7.0
    plan = rig.manager.last_plan
    assert plan is not None
    assert [s["notFollowing"] for s in plan["sessions"]] == [False, False, True]
    assert plan["committed_kw"] <= 30.0 + EPS  # 7 + 7 + its measured 16
    # It comes down to its limit and stays there for the grace period: cleared, and shared with again.
    rig.transactions.power_w["CP3", 1] = 7_000.0
    for _ in range(7):
        rig.clock.t += 5.0
        await rig.manager.rebalance()
    assert [a.data()["state"] for a in rig.events.of("Alert")] == ["raised", "cleared"]
    assert set(rig.limits().values()) == {10.0}


async def test_amperes_for_chargers_that_take_only_current() -> None:
    rig = make_rig(limit_kw=22.0, rate_unit=RateUnit("A", 230.0, 3))
    rig.chargers.allowed_units = "Current"
    rig.start_session("CP1", 1)
    rig.start_session("CP1", 2)
    await rig.manager.rebalance()
    assert [limit for _, _, limit in rig.chargers.sets()] == [15.9, 15.9]  # 11 kW = 15.94 A, rounded down
    assert rig.manager.sessions["CP1", 1].confirmed_kw == pytest.approx(10.971)


async def test_a_charger_refusing_getconfiguration_gets_the_configured_unit() -> None:
    rig = make_rig(limit_kw=11.0, rate_unit=RateUnit("A", 230.0, 1))

    async def refuse(charger_id: str, action: str, payload: dict[str, Any], *, timeout=None):
        if action == "GetConfiguration":
            raise CallErrorReceivedError("NotSupported", "no", {})
        return await rig.chargers(charger_id, action, payload, timeout=timeout)

    rig.manager._control._call = refuse
    rig.start_session("CP1", 1)
    await rig.manager.rebalance()
    assert rig.chargers.sets() == [("CP1", 1, 47.8)]  # 11 kW on one phase at 230 V


async def test_runs_as_a_task_and_takes_over_open_sessions() -> None:
    rig = make_rig(limit_kw=30.0, rebalance_period_s=60.0)
    rig.transactions.open["CP9", 1] = {5: "2026-01-01T00:00:00Z"}
    rig.chargers.sessions.add(("CP9", 1))
    rig.events.subscribers.clear()  # start() subscribes by itself
    loop = asyncio.get_running_loop()
    planned: asyncio.Queue[Event] = asyncio.Queue()
    rig.events.subscribe(lambda e: planned.put_nowait(e) if e.kind == "SitePlan" else None)
    original_live = rig.events.live
    rig.events.live = lambda e: (original_live(e), planned.put_nowait(e))  # type: ignore[method-assign]
    rig.manager.start()
    with pytest.raises(RuntimeError, match="already running"):
        rig.manager.start()
    first = await asyncio.wait_for(planned.get(), 5)
    assert first.data()["reason"] == "start"
    assert rig.limits() == {("CP9", 1): 22.0}
    rig.start_session("CP8", 1)  # wakes it at once, long before the 60 s period
    second = await asyncio.wait_for(planned.get(), 5)
    assert second.data()["reason"] == "session started"
    assert rig.limits() == {("CP9", 1): 15.0, ("CP8", 1): 15.0}
    await rig.manager.stop()
    assert rig.events.subscribers == [rig.events.subscribers[0]]  # only the test's own listener is left
    assert loop.is_running()


def test_config_is_checked() -> None:
    with pytest.raises(ValueError, match="rebalance_period_s"):
        PowerConfig(rebalance_period_s=0)
    with pytest.raises(ValueError, match="deadband"):
        PowerConfig(deadband_kw=-1)
    assert PowerConfig(charger_max_kw={"CP1": 7.4}).cap_kw("CP1") == 7.4
    assert PowerConfig().profile_id(2) == 9102
    assert CABINET == "cabinet"


async def test_a_plan_is_logged_when_its_decisions_change_not_at_every_retry() -> None:
    """Issue 15: SitePlan every period filled the event log. A charger that keeps refusing its profile is
    retried at each rebalance; the plan it leads to is the same, so it is shown live, not logged again."""
    rig = make_rig(limit_kw=30.0)
    rig.start_session("CP1", 1)
    rig.start_session("CP2", 1)
    rig.chargers.status["CP2"] = "Rejected"
    await rig.manager.rebalance("session started")
    logged = len([e for e in rig.events.published if e.kind == "SitePlan"])
    for _ in range(5):
        rig.clock.t += 120.0  # past any back-off: CP2 is asked again, and refuses again
        rig.chargers.calls.clear()
        plan = await rig.manager.rebalance()
        assert any(call[0] == "CP2" for call in rig.chargers.calls)
        assert plan["changes"] > 0
    assert len([e for e in rig.events.published if e.kind == "SitePlan"]) == logged
    assert rig.events.shown[-1].kind == "SitePlan"
    rig.site.limit_kw = 20.0  # a new limit for CP1: a new plan, logged
    await rig.manager.rebalance("limit changed")
    assert len([e for e in rig.events.published if e.kind == "SitePlan"]) == logged + 1
