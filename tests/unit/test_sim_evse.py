"""The EVSE state machine: statuses derived from facts, refused transitions, availability, reservations."""

from __future__ import annotations

import pytest
from voltyard.sim.errors import TransitionError
from voltyard.sim.evse import (
    AVAILABLE,
    CHARGING,
    FAULTED,
    FINISHING,
    PREPARING,
    RESERVED,
    SUSPENDED_EV,
    SUSPENDED_EVSE,
    UNAVAILABLE,
    Evse,
    Reservation,
    Session,
)


def session(tag: str = "T1") -> Session:
    return Session(tag, 0, "2026-01-01T00:00:00Z")


def test_a_full_session_walks_the_ocpp_states() -> None:
    evse = Evse(1)
    assert evse.status == AVAILABLE
    assert evse.plug() == PREPARING
    assert evse.begin(session()) == CHARGING
    assert evse.suspend_ev(True) == SUSPENDED_EV
    assert evse.suspend_ev(False) == CHARGING
    assert evse.set_limit(0.0) == SUSPENDED_EVSE
    assert evse.set_limit(3000.0) == CHARGING
    ended, status = evse.end("Local")
    assert ended.stop_reason == "Local"
    assert status == FINISHING
    assert evse.unplug() == AVAILABLE


def test_unchanged_status_returns_none() -> None:
    evse = Evse(1)
    assert evse.set_limit(5000.0) is None
    evse.plug()
    assert evse.set_limit(None) is None


@pytest.mark.parametrize(
    ("prepare", "event"),
    [
        (lambda e: None, lambda e: e.unplug()),
        (lambda e: e.plug(), lambda e: e.plug()),
        (lambda e: e.fault("GroundFailure"), lambda e: e.begin(session())),
        (lambda e: e.begin(session()), lambda e: e.unplug()),
        (lambda e: e.begin(session()), lambda e: e.fault("GroundFailure")),
        (lambda e: None, lambda e: e.end("Local")),
        (lambda e: None, lambda e: e.clear_fault()),
        (lambda e: None, lambda e: e.fault("NoError")),
    ],
)
def test_impossible_events_are_refused(prepare, event) -> None:
    evse = Evse(3)
    prepare(evse)
    before = evse.status
    with pytest.raises(TransitionError) as refused:
        event(evse)
    assert refused.value.connector_id == 3
    assert refused.value.status == before
    assert evse.status == before


def test_fault_and_recovery() -> None:
    evse = Evse(1)
    evse.plug()
    assert evse.fault("HighTemperature") == FAULTED
    assert evse.error_code == "HighTemperature"
    assert not evse.can_start("T1")
    assert evse.clear_fault() == PREPARING
    assert evse.error_code == "NoError"


def test_inoperative_is_scheduled_during_a_session() -> None:
    evse = Evse(1)
    evse.begin(session())
    assert evse.set_operative(False) == ("Scheduled", None)
    assert evse.status == CHARGING
    _, status = evse.end("Local")
    assert status == UNAVAILABLE
    assert not evse.can_start("T2")
    assert evse.set_operative(True) == ("Accepted", FINISHING)


def test_reservation_admits_only_its_tag() -> None:
    evse = Evse(1)
    assert evse.reserve(Reservation(7, "MINE", 0.0, "PARENT")) == ("Accepted", RESERVED)
    assert not evse.can_start("OTHER")
    assert evse.can_start("PARENT")
    assert evse.reserve(Reservation(8, "X", 0.0, None)) == ("Occupied", None)
    assert evse.begin(session("MINE")) == CHARGING
    assert evse.reservation is None


def test_reservation_answers_follow_the_state() -> None:
    faulted = Evse(1)
    faulted.fault("OtherError")
    assert faulted.reserve(Reservation(1, "T", 0.0, None)) == ("Faulted", None)
    unavailable = Evse(1)
    unavailable.set_operative(False)
    assert unavailable.reserve(Reservation(1, "T", 0.0, None)) == ("Unavailable", None)
    reserved = Evse(1)
    reserved.reserve(Reservation(1, "T", 0.0, None))
    assert reserved.cancel_reservation() == AVAILABLE
