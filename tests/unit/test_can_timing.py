"""The drift-free periodic timer and the CMD_SEQ handshake with retries, on a real event loop."""

from __future__ import annotations

import asyncio

from voltyard.can.frames import RelayControl
from voltyard.can.relay import RelayCommander
from voltyard.can.schedule import PeriodicTimer


async def test_periodic_timer_does_not_drift() -> None:
    loop = asyncio.get_running_loop()
    ticks: list[float] = []
    done = loop.create_future()

    def tick(now: float) -> None:
        ticks.append(now)
        if len(ticks) == 10:
            done.set_result(None)
        if len(ticks) == 3:
            # A callback that hogs the loop for 15 ms must not push the later ticks.
            end = loop.time() + 0.015
            while loop.time() < end:
                pass

    timer = PeriodicTimer(loop, 0.02, tick)
    timer.start()
    await done
    timer.stop()
    start = ticks[0]
    for k, t in enumerate(ticks):
        assert abs(t - (start + 0.02 * k)) < 0.012, (k, t - start)


async def test_missing_ack_retries_with_backoff_then_reports() -> None:
    loop = asyncio.get_running_loop()
    sent: list[tuple[float, RelayControl]] = []
    missing = loop.create_future()
    commander = RelayCommander(
        loop,
        2,
        lambda frame: sent.append((loop.time(), frame)),
        ack_timeout_s=0.02,
        ack_attempts=3,
        on_ack_missing=missing.set_result,
        on_ack_restored=lambda: None,
    )
    start = loop.time()
    assert commander.update(urgent=True, close=True)
    seq = await asyncio.wait_for(missing, 1.0)
    assert seq == commander.seq == 1
    # Attempt 1 at once, 2 after 20 ms, 3 after 40 ms more; missing after 80 ms more.
    offsets = [round((t - start) * 1000) for t, _ in sent]
    assert len(offsets) == 3
    assert offsets[1] >= 20
    assert offsets[2] - offsets[1] >= 40
    assert loop.time() - start >= 0.14
    assert all(f.cmd_seq == 1 and f.rly1_cmd for _, f in sent)
    assert commander.ack_missing
    restored = loop.create_future()
    commander._on_ack_restored = lambda: restored.set_result(True)
    commander.on_status(0)  # an old sequence number is no ack
    assert commander.ack_missing
    commander.on_status(1)
    assert await restored
    commander.close()


async def test_unchanged_command_keeps_its_sequence() -> None:
    loop = asyncio.get_running_loop()
    commander = RelayCommander(
        loop, 0, lambda f: None, ack_timeout_s=1, ack_attempts=3, on_ack_missing=print, on_ack_restored=print
    )
    assert commander.update(enable=True)
    assert not commander.update(enable=True)
    assert commander.update(close=True, force_off=True)
    assert (commander.seq, commander.frame.rly1_cmd, commander.frame.force_all_off) == (2, False, True)
    commander.on_status(2)
    assert commander.acked
    commander.close()
