"""Control frames are held to a rate (issue 18, "memory stays bounded", done-when 4).

On main every ping was answered at once by picows' automatic pong, without limit: a charger that floods
pings and never reads grew the server by gigabytes of pongs nothing drained. Now a charger's pings are held
to `admission.control_frame_rate`: beyond it the charger is paused (not read) and its latest ping answered
once a token is due; a flood far beyond the rate closes it (1008). Against a real `voltyard serve`.
"""

from __future__ import annotations

from pathlib import Path

from tests.hostile.bounds_ws import (
    HANG_GUARD,
    PING,
    PONG,
    RawWebSocket,
    call,
    frame,
    heartbeat_answered,
    metric,
    rss_bytes,
    running,
    wait_metric,
    wait_rss_below,
)

FLOOD_CAP = 100 * 1024 * 1024  # what the flooder sends at most (main keeps a pong for each ping)
MEMORY_SLACK = 48 * 1024 * 1024  # generous: the server's RSS may grow by this much, not by the flood


def test_a_ping_flood_that_never_reads_is_paused_then_closed(tmp_path: Path) -> None:
    with running(tmp_path) as appliance:
        flooder = RawWebSocket(appliance.ocpp_port, "/ocpp/FLOOD", rcvbuf=4096)
        try:
            before = rss_bytes(appliance)
            pings = frame(PING, b"x" * 100) * 500
            flooder.sock.settimeout(5.0)
            sent = 0
            try:
                while sent < FLOOD_CAP:
                    flooder.sock.sendall(pings)
                    sent += len(pings)
            except (TimeoutError, BrokenPipeError, ConnectionResetError):
                pass  # the server stopped reading it, or closed it
            assert wait_metric(appliance, 'voltyard_connections_paused_total{reason="control_frames"}')
            assert wait_metric(appliance, 'voltyard_connections_closed_total{reason="control_frames"}') == 1
            flooder.sock.settimeout(HANG_GUARD)
            flooder.wait_gone()  # cut off: it reads no close frame queued behind what it never read
            heartbeat_answered(appliance, "BYSTANDER")
            grown = wait_rss_below(appliance, before + MEMORY_SLACK) - before
            assert grown < MEMORY_SLACK, f"the server grew by {grown} bytes under a ping flood"
            # One line for the closed connection, not one per ping.
            assert sum("FLOOD" in line for line in appliance.log) <= 2, appliance.text[-3000:]
        finally:
            flooder.close()


def test_pings_over_their_rate_pause_the_charger_and_the_latest_is_answered(tmp_path: Path) -> None:
    with running(tmp_path) as appliance:
        ws = RawWebSocket(appliance.ocpp_port, "/ocpp/PINGY")
        try:
            # The burst (20) and 10 more at once: over the rate, yet not a flood.
            ws.sock.sendall(b"".join(frame(PING, b"%d" % number) for number in range(30)))
            pongs = []
            while not pongs or pongs[-1] != b"29":
                opcode, payload = ws.read_frame()
                assert opcode == PONG, (opcode, payload)
                pongs.append(payload)
            assert pongs[:20] == [b"%d" % number for number in range(20)]
            assert metric(appliance, 'voltyard_connections_paused_total{reason="control_frames"}') >= 1
            # Paused, not dropped: it is read again and answered.
            ws.sock.sendall(call("after", "Heartbeat", {}))
            assert ws.read_message()[:2] == [3, "after"]
            assert metric(appliance, 'voltyard_connections_closed_total{reason="control_frames"}') == 0
        finally:
            ws.close()
