"""Write-side back-pressure (issue 18, "memory stays bounded", done-when 4).

On main a charger that sent calls under its rate and never read the answers had every answer queued in
the server, which grew without end. Now once 64 KiB of answers wait for it the charger stops being read
(TCP pushes back on it), and it is closed once it leaves them unread for `admission.unsent_timeout`
seconds (or more than `admission.max_unsent_bytes` wait); its buffers are released. A charger that sends
faster than its message rate is paused and answered in order, not dropped. Against a real `voltyard serve`.
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.hostile.bounds_ws import (
    HANG_GUARD,
    RawWebSocket,
    call,
    heartbeat_answered,
    metric,
    rss_bytes,
    running,
    wait_metric,
    wait_rss_below,
)

SEND_FOR = 30.0  # seconds at most the deaf charger sends (main never stops reading it)
MEMORY_SLACK = 64 * 1024 * 1024  # generous: the server's RSS may grow by this much, not by every answer


def test_a_charger_that_never_reads_its_answers_is_paused_then_closed(tmp_path: Path) -> None:
    limits = "message_rate = 1000000.0\nmessage_burst = 1000000\nunsent_timeout = 2.0\n"
    with running(tmp_path, admission=limits) as appliance:
        deaf = RawWebSocket(appliance.ocpp_port, "/ocpp/DEAF", rcvbuf=4096)
        try:
            before = rss_bytes(appliance)
            batch = b"".join(call(f"m{number}", "Heartbeat", {}) for number in range(1000))
            deaf.sock.settimeout(5.0)
            deadline = time.monotonic() + SEND_FOR
            try:
                while time.monotonic() < deadline:
                    deaf.sock.sendall(batch)
            except (TimeoutError, BrokenPipeError, ConnectionResetError):
                pass  # the server stopped reading it, or closed it
            assert wait_metric(appliance, 'voltyard_connections_paused_total{reason="unsent"}')
            assert wait_metric(appliance, 'voltyard_connections_closed_total{reason="unsent"}') == 1
            heartbeat_answered(appliance, "BYSTANDER")
            grown = wait_rss_below(appliance, before + MEMORY_SLACK) - before
            assert grown < MEMORY_SLACK, f"the server grew by {grown} bytes of unread answers"
            deaf.sock.settimeout(HANG_GUARD)
            deaf.wait_gone()
            assert any("DEAF: answers unread for 2 s; closing" in line for line in appliance.log)
        finally:
            deaf.close()


def test_a_charger_over_its_message_rate_is_paused_not_dropped(tmp_path: Path) -> None:
    with running(tmp_path, admission="message_rate = 1000.0\nmessage_burst = 10\n") as appliance:
        fast = RawWebSocket(appliance.ocpp_port, "/ocpp/FAST")
        try:
            # Far more at once than the burst, and more than main held before it dropped the charger.
            fast.sock.sendall(b"".join(call(f"m{number}", "Heartbeat", {}) for number in range(4000)))
            heartbeat_answered(appliance, "BYSTANDER")  # others are not slowed meanwhile
            answered = [fast.read_message()[1] for _ in range(4000)]
            assert answered == [f"m{number}" for number in range(4000)]
            assert metric(appliance, 'voltyard_connections_paused_total{reason="message_rate"}') >= 1
            fast.sock.sendall(call("after", "Heartbeat", {}))
            assert fast.read_message()[:2] == [3, "after"]
            assert metric(appliance, 'voltyard_connections_closed_total{reason="message_rate"}') == 0
        finally:
            fast.close()
