"""Commands without a socket (voltyard.ocpp.commands): one outstanding call per charger, answers validated,
timeouts, and the pending call owned and cleared by the commands alone."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from voltyard.errors import (
    CallErrorReceivedError,
    ChargerOfflineError,
    CommandTimeoutError,
    InvalidCommandError,
)
from voltyard.ocpp.actions import CSMS_ACTIONS

from tests.unit.ocpp_parts import HANG_GUARD, FakeSession, Parts, protocol_parts


def _answer(parts: Parts, session: FakeSession, frame: bytes) -> None:
    """What the charger's answer does once its socket delivered it."""
    parts.dispatcher.receive(session, frame)


def _connected(parts: Parts, charger_id: str = "CP-1") -> FakeSession:
    session = FakeSession(charger_id)
    parts.dispatcher.opened(session)
    session.mark_ready()
    return session


async def test_the_answer_is_returned_and_the_pending_call_cleared(tmp_path: Path) -> None:
    async with protocol_parts(tmp_path) as parts, asyncio.timeout(HANG_GUARD):
        session = _connected(parts)
        call = asyncio.ensure_future(parts.commands.call("CP-1", "Reset", {"type": "Soft"}))
        sent = await session.next_frame(1)
        assert sent[0] == 2
        assert sent[2:] == ["Reset", {"type": "Soft"}]
        pending = parts.commands.pending("CP-1")
        assert pending is not None
        assert pending.message_id == sent[1]
        _answer(parts, session, b'[3,"%s",{"status":"Accepted"}]' % sent[1].encode())
        assert await call == {"status": "Accepted"}
        assert parts.commands.pending("CP-1") is None
        # A second copy of the answer finds no call: discarded, nothing raised.
        _answer(parts, session, b'[3,"%s",{"status":"Accepted"}]' % sent[1].encode())
        assert parts.metrics.calls_out == {"Reset": 1}


async def test_calls_to_one_charger_go_one_at_a_time_in_order(tmp_path: Path) -> None:
    async with protocol_parts(tmp_path) as parts, asyncio.timeout(HANG_GUARD):
        session = _connected(parts)
        first = asyncio.ensure_future(parts.commands.call("CP-1", "ClearCache", {}))
        second = asyncio.ensure_future(parts.commands.call("CP-1", "Reset", {"type": "Hard"}))
        sent = await session.next_frame(1)
        assert sent[2] == "ClearCache"
        await asyncio.sleep(0)  # give the second call every chance to jump the queue (it must not)
        assert len(session.sent) == 1
        _answer(parts, session, b'[3,"%s",{"status":"Accepted"}]' % sent[1].encode())
        sent = await session.next_frame(2)
        assert sent[2] == "Reset"
        _answer(parts, session, b'[3,"%s",{"status":"Rejected"}]' % sent[1].encode())
        assert await first == {"status": "Accepted"}
        assert await second == {"status": "Rejected"}


async def test_no_answer_in_time_is_a_timeout_and_the_late_answer_is_discarded(tmp_path: Path) -> None:
    async with protocol_parts(tmp_path) as parts, asyncio.timeout(HANG_GUARD):
        session = _connected(parts)
        with pytest.raises(CommandTimeoutError, match="no answer to ClearCache"):
            await parts.commands.call("CP-1", "ClearCache", {}, timeout=0.05)
        assert parts.commands.pending("CP-1") is None
        late = session.sent[0][1]
        _answer(parts, session, b'[3,"%s",{"status":"Accepted"}]' % late.encode())  # nothing raised
        # The next call goes out and gets its own answer.
        call = asyncio.ensure_future(parts.commands.call("CP-1", "ClearCache", {}))
        sent = await session.next_frame(2)
        assert sent[1] != late
        _answer(parts, session, b'[3,"%s",{"status":"Rejected"}]' % sent[1].encode())
        assert await call == {"status": "Rejected"}


async def test_a_callerror_and_an_invalid_answer_are_raised(tmp_path: Path) -> None:
    async with protocol_parts(tmp_path) as parts, asyncio.timeout(HANG_GUARD):
        session = _connected(parts)
        call = asyncio.ensure_future(parts.commands.call("CP-1", "ClearCache", {}))
        sent = await session.next_frame(1)
        _answer(parts, session, b'[4,"%s","NotSupported","no cache here",{}]' % sent[1].encode())
        with pytest.raises(CallErrorReceivedError, match="no cache here"):
            await call
        call = asyncio.ensure_future(parts.commands.call("CP-1", "ClearCache", {}))
        sent = await session.next_frame(2)
        _answer(parts, session, b'[3,"%s",{"status":"Maybe"}]' % sent[1].encode())
        with pytest.raises(InvalidCommandError, match="ClearCache answer from CP-1"):
            await call
        assert parts.commands.pending("CP-1") is None


async def test_a_session_that_ends_fails_its_call_and_not_its_successors(tmp_path: Path) -> None:
    async with protocol_parts(tmp_path) as parts, asyncio.timeout(HANG_GUARD):
        old = _connected(parts)
        call = asyncio.ensure_future(parts.commands.call("CP-1", "ClearCache", {}))
        await old.next_frame(1)
        old.drop()
        parts.dispatcher.closed(old)
        with pytest.raises(ChargerOfflineError, match="disconnected during the call"):
            await call
        assert parts.commands.pending("CP-1") is None
        new = _connected(parts)
        call = asyncio.ensure_future(parts.commands.call("CP-1", "ClearCache", {}))
        sent = await new.next_frame(1)
        parts.dispatcher.closed(old)  # a late close of the old session: the new call stays
        assert parts.commands.pending("CP-1") is not None
        # An answer on the old session is not the new session's answer.
        _answer(parts, old, b'[3,"%s",{"status":"Accepted"}]' % sent[1].encode())
        assert not call.done()
        _answer(parts, new, b'[3,"%s",{"status":"Accepted"}]' % sent[1].encode())
        assert await call == {"status": "Accepted"}


async def test_refused_before_anything_is_sent(tmp_path: Path) -> None:
    async with protocol_parts(tmp_path) as parts, asyncio.timeout(HANG_GUARD):
        with pytest.raises(ChargerOfflineError, match="CP-1 is not connected"):
            await parts.commands.call("CP-1", "ClearCache", {})
        session = _connected(parts)
        with pytest.raises(InvalidCommandError, match="Heartbeat is not a CSMS-initiated"):
            await parts.commands.call("CP-1", "Heartbeat", {})
        with pytest.raises(InvalidCommandError, match="Reset request"):
            await parts.commands.call("CP-1", "Reset", {"type": "Sideways"})
        assert session.sent == []
        assert parts.commands.pending("CP-1") is None


def test_the_commands_take_every_csms_action_of_the_table() -> None:
    assert "Reset" in CSMS_ACTIONS
    assert "DataTransfer" in CSMS_ACTIONS  # both directions
    assert "Heartbeat" not in CSMS_ACTIONS
