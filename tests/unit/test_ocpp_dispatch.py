"""Dispatch without a socket: a fake session's frames in, the reply frames out (voltyard.ocpp.dispatch)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from voltyard.errors import PropertyConstraintViolationError
from voltyard.ocpp.router import Payload
from voltyard.ocpp.session import CLOSE_POLICY_VIOLATION, Session

from tests.unit.ocpp_parts import HANG_GUARD, FakeSession, protocol_parts

HEARTBEAT = b'[2,"m1","Heartbeat",{}]'


async def test_a_call_is_answered_with_its_handlers_payload(tmp_path: Path) -> None:
    async with protocol_parts(tmp_path) as parts:

        @parts.router.on("Heartbeat")
        def heartbeat(session: Session, payload: Payload) -> Payload:
            return {"currentTime": "2026-01-01T00:00:00Z"}

        parts.accept("CP-1")
        session = FakeSession("CP-1")
        parts.dispatcher.receive(session, HEARTBEAT)
        assert session.sent == [[3, "m1", {"currentTime": "2026-01-01T00:00:00Z"}]]
        assert session.last_message > 0  # the handlers date heartbeats with it
        assert session.admitted  # accepted: the next message is one attribute read
        assert session.ready  # and calls to it may go
        assert parts.metrics.calls_in == {"Heartbeat": 1}


async def test_a_charger_not_accepted_must_boot_first(tmp_path: Path) -> None:
    async with protocol_parts(tmp_path) as parts:
        parts.router.on("Heartbeat")(lambda session, payload: {"currentTime": "2026-01-01T00:00:00Z"})
        session = FakeSession("CP-NEW")
        parts.dispatcher.receive(session, HEARTBEAT)
        assert session.sent[0][:3] == [4, "m1", "SecurityError"]
        assert "must send BootNotification first" in session.sent[0][3]
        assert not session.admitted


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (b'[2,"m1","Foo",{}]', "NotImplemented"),  # no such OCPP 1.6 action
        (b'[2,"m1","Reset",{"type":"Hard"}]', "NotSupported"),  # an action of the central system
        (b'[2,"m1","BootNotification",{}]', "OccurenceConstraintViolation"),  # breaks its schema
    ],
)
async def test_calls_that_cannot_be_handled_get_the_spec_error(
    tmp_path: Path, frame: bytes, code: str
) -> None:
    async with protocol_parts(tmp_path) as parts:
        parts.accept("CP-1")
        session = FakeSession("CP-1")
        parts.dispatcher.receive(session, frame)
        assert len(session.sent) == 1
        assert session.sent[0][:3] == [4, "m1", code]
        assert parts.metrics.call_errors == {code: 1}


async def test_an_unreadable_frame_is_counted_and_not_answered(tmp_path: Path) -> None:
    async with protocol_parts(tmp_path) as parts:
        session = FakeSession("CP-1")
        parts.dispatcher.receive(session, b"not json")
        parts.dispatcher.receive(session, b'[5,"m1"]')
        assert session.sent == []
        assert parts.dispatcher.refused_frames == 2


async def test_a_failing_handler_is_an_internal_error_and_an_ocpp_error_its_own_code(tmp_path: Path) -> None:
    async with protocol_parts(tmp_path) as parts:

        @parts.router.on("Heartbeat")
        def broken(session: Session, payload: Payload) -> Payload:
            raise RuntimeError("a bug")

        @parts.router.on("StatusNotification")
        def refusing(session: Session, payload: Payload) -> Payload:
            raise PropertyConstraintViolationError("connectorId: no such connector")

        parts.accept("CP-1")
        session = FakeSession("CP-1")
        parts.dispatcher.receive(session, HEARTBEAT)
        status = b'[2,"m2","StatusNotification",{"connectorId":9,"errorCode":"NoError","status":"Available"}]'
        parts.dispatcher.receive(session, status)
        assert session.sent == [
            [4, "m1", "InternalError", "Heartbeat could not be handled", {}],
            [4, "m2", "PropertyConstraintViolation", "connectorId: no such connector", {}],
        ]


async def test_an_awaitable_reply_is_sent_when_it_is_ready(tmp_path: Path) -> None:
    async with protocol_parts(tmp_path) as parts:
        done: asyncio.Future[Payload] = asyncio.get_running_loop().create_future()
        parts.router.on("Heartbeat")(lambda session, payload: done)
        parts.accept("CP-1")
        session = FakeSession("CP-1")
        parts.dispatcher.receive(session, HEARTBEAT)
        assert session.sent == []  # the durable write has not happened yet
        done.set_result({"currentTime": "2026-01-01T00:00:00Z"})
        assert await session.next_frame(1) == [3, "m1", {"currentTime": "2026-01-01T00:00:00Z"}]


async def test_every_answer_is_counted_once_in_the_handling_histogram(tmp_path: Path) -> None:
    """The hot path counts a fast answer itself (`Metrics.handled` inlined); a slow one goes through
    `Metrics.handled`. Either way each answer lands in exactly one bucket, and its time in the sum."""
    async with protocol_parts(tmp_path) as parts:
        parts.router.on("Heartbeat")(lambda session, payload: {"currentTime": "2026-01-01T00:00:00Z"})

        @parts.router.on("DataTransfer")
        async def slow(session: Session, payload: Payload) -> Payload:
            await asyncio.sleep(0.002)  # a lower bound: over the first bucket (0.1 ms) whatever the load
            return {"status": "Accepted"}

        parts.accept("CP-1")
        session = FakeSession("CP-1")
        receive = parts.dispatcher.receiver("1.6")  # what a 1.6 connection binds once
        for number in range(3):
            receive(session, b'[2,"m%d","Heartbeat",{}]' % number)
        assert len(session.sent) == 3
        assert sum(parts.metrics.handling_counts) == 3
        fast_sum = parts.metrics.handling_sum
        assert fast_sum > 0
        receive(session, b'[2,"m9","DataTransfer",{"vendorId":"v"}]')
        assert await session.next_frame(4) == [3, "m9", {"status": "Accepted"}]
        assert sum(parts.metrics.handling_counts) == 4
        assert sum(parts.metrics.handling_counts[1:]) >= 1  # the slow one, past the first bucket
        assert parts.metrics.handling_sum - fast_sum >= 0.002


async def test_a_new_session_replaces_the_old_one_whose_late_close_changes_nothing(tmp_path: Path) -> None:
    async with protocol_parts(tmp_path) as parts:
        first, second = FakeSession("CP-1"), FakeSession("CP-1")
        parts.dispatcher.opened(first)
        assert parts.registry.get("CP-1") is first
        assert parts.chargers.get("CP-1").online
        parts.dispatcher.opened(second)
        assert first.closes == [("replaced by a new connection", CLOSE_POLICY_VIOLATION)]
        assert parts.registry.get("CP-1") is second
        parts.dispatcher.closed(first)  # the replaced socket's callback comes late
        assert parts.registry.get("CP-1") is second
        assert parts.chargers.get("CP-1").online
        parts.dispatcher.closed(second)
        assert parts.registry.get("CP-1") is None
        assert not parts.chargers.get("CP-1").online
        kinds = [event.kind for event in parts.seen if event.charger_id == "CP-1"]
        assert kinds.count("ChargerConnected") == 2
        assert kinds.count("ChargerDisconnected") == 1


async def test_answers_go_to_the_commands(tmp_path: Path) -> None:
    """A CALLRESULT is the answer of the charger's pending call; dispatch hands it over untouched."""
    async with protocol_parts(tmp_path) as parts:
        session = FakeSession("CP-1")
        parts.dispatcher.opened(session)
        session.mark_ready()
        async with asyncio.timeout(HANG_GUARD):
            call = asyncio.ensure_future(parts.commands.call("CP-1", "ClearCache", {}))
            sent = await session.next_frame(1)
            parts.dispatcher.receive(session, b'[3,"%s",{"status":"Accepted"}]' % sent[1].encode())
            assert await call == {"status": "Accepted"}
