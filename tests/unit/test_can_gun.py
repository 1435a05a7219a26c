"""The gun's connector status (seed 003's transition rules) and the EV identity assembler."""

from __future__ import annotations

from dataclasses import replace

import pytest
from ocpp.v16.enums import ChargePointErrorCode, ChargePointStatus, Reason
from voltyard.can.frames import EvIdentity, IdKind
from voltyard.can.gun import GunInputs, GunStateMachine, connector_status
from voltyard.can.identity import IdentityAssembler
from voltyard.can.listener import ConnectorStatus as S
from voltyard.can.listener import ErrorCode, FaultKind, StopReason

IDLE = GunInputs(
    plugged=False,
    session_active=False,
    session_ended=False,
    relay_closed=False,
    ev_ready=False,
    ev_demanding=False,
    faulted=False,
    unavailable=False,
)


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({}, S.AVAILABLE),
        ({"plugged": True}, S.PREPARING),
        (
            {
                "plugged": True,
                "session_active": True,
                "relay_closed": True,
                "ev_ready": True,
                "ev_demanding": True,
            },
            S.CHARGING,
        ),
        ({"plugged": True, "session_active": True, "relay_closed": True, "ev_ready": True}, S.SUSPENDED_EV),
        ({"plugged": True, "session_active": True, "ev_ready": True, "ev_demanding": True}, S.SUSPENDED_EVSE),
        ({"plugged": True, "session_active": True}, S.SUSPENDED_EV),
        ({"plugged": True, "session_ended": True}, S.FINISHING),
        ({"unavailable": True}, S.UNAVAILABLE),
        ({"plugged": True, "session_active": True, "relay_closed": True, "faulted": True}, S.FAULTED),
        ({"faulted": True, "unavailable": True}, S.FAULTED),
    ],
)
def test_status_rules(changes: dict[str, bool], status: S) -> None:
    assert connector_status(replace(IDLE, **changes)) == status


def test_state_machine_reports_changes_only() -> None:
    machine = GunStateMachine()
    assert machine.update(IDLE) is None
    assert machine.update(replace(IDLE, plugged=True)) == S.PREPARING
    assert machine.update(replace(IDLE, plugged=True)) is None
    assert machine.update(replace(IDLE, faulted=True)) == S.FAULTED
    assert machine.update(IDLE) == S.AVAILABLE
    assert machine.status == S.AVAILABLE


def test_fault_vocabulary_is_ocpp_16() -> None:
    assert {s.value for s in S} <= {s.value for s in ChargePointStatus}
    assert {e.value for e in ErrorCode} <= {e.value for e in ChargePointErrorCode}
    assert {r.value for r in StopReason} <= {r.value for r in Reason}
    assert FaultKind.ESTOP.stop_reason == StopReason.EMERGENCY_STOP
    assert FaultKind.BUS_OFF.stop_reason == StopReason.POWER_LOSS
    assert FaultKind.METER_STALE.error_code == ErrorCode.POWER_METER_FAILURE
    assert all(kind.error_code for kind in FaultKind)


def segments(kind: IdKind, value: bytes) -> list[EvIdentity]:
    parts = [value[i : i + 5] for i in range(0, len(value), 5)]
    frames = []
    for index, part in enumerate(parts):
        b = part.ljust(5, b"\0")
        frames.append(
            EvIdentity(
                1, id_kind=kind, id_seg_index=index, id_seg_count=len(parts), id_seg_len=len(part),
                id_byte0=b[0], id_byte1=b[1], id_byte2=b[2], id_byte3=b[3], id_byte4=b[4],
            )
        )  # fmt: skip
    return frames


def test_identity_in_any_order_reported_once() -> None:
    assembler = IdentityAssembler()
    emaid = b"DEVOLT0000001X"
    frames = segments(IdKind.EMAID0, emaid)
    assert [assembler.feed(f) for f in reversed(frames[1:])] == [None, None]
    assert assembler.feed(frames[0]) == (IdKind.EMAID0, emaid)
    assert assembler.feed(frames[0]) is None  # already reported
    assembler.reset()
    mac = b"\x02\x00\x5e\x10\x00\x01"
    assert [assembler.feed(f) for f in segments(IdKind.EVMAC, mac)][-1] == (IdKind.EVMAC, mac)


def test_identity_segments_that_contradict_start_over() -> None:
    assembler = IdentityAssembler()
    first, second = segments(IdKind.EVCCID, b"0123456789")
    assert assembler.feed(first) is None
    bad = EvIdentity(1, id_kind=IdKind.EVCCID, id_seg_index=1, id_seg_count=2, id_seg_len=9)
    assert assembler.feed(bad) is None  # length over 5: dropped, and the identity starts over
    assert assembler.feed(second) is None
    assert assembler.feed(first) == (IdKind.EVCCID, b"0123456789")
