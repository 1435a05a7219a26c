"""Fragmented messages and bare continuations are bounded (issue 18, "memory stays bounded", done-when 4).

On main the size limit was checked only once a fragmented message ended, so a text frame without FIN
followed by continuation frames grew one unfinished message without end; and each continuation frame
without a message to continue logged a WARNING and was ignored (millions of lines, other chargers delayed).
Now the unfinished message counts against `ocpp.max_frame_size` as it grows (1009 as soon as it passes
it), has at most 1024 fragments (1009), and a bare continuation fails the connection (1002) with one line.
Against a real `voltyard serve`.
"""

from __future__ import annotations

from pathlib import Path

from tests.hostile.bounds_ws import (
    CONTINUATION,
    TEXT,
    RawWebSocket,
    frame,
    heartbeat_answered,
    metric,
    rss_bytes,
    running,
    wait_metric,
    wait_rss_below,
)

SEND_CAP = 100 * 1024 * 1024
MEMORY_SLACK = 48 * 1024 * 1024  # generous: the server's RSS may grow by this much, not by what was sent


def _send_until_stopped(ws: RawWebSocket, chunk: bytes) -> int:
    """Send `chunk` again and again until the server stops taking it (or SEND_CAP); bytes sent."""
    ws.sock.settimeout(5.0)
    sent = 0
    try:
        while sent < SEND_CAP:
            ws.sock.sendall(chunk)
            sent += len(chunk)
    except (TimeoutError, BrokenPipeError, ConnectionResetError):
        pass
    return sent


def test_an_endless_fragmented_message_is_closed_with_1009_as_it_passes_the_limit(tmp_path: Path) -> None:
    with running(tmp_path) as appliance:
        ws = RawWebSocket(appliance.ocpp_port, "/ocpp/FRAGS")
        try:
            before = rss_bytes(appliance)
            ws.sock.sendall(frame(TEXT, b"[2," + b" " * 997, fin=False))
            sent = _send_until_stopped(ws, frame(CONTINUATION, b" " * 1000, fin=False) * 100)
            assert ws.close_code() == 1009
            closed = wait_metric(appliance, 'voltyard_connections_closed_total{reason="message_too_big"}')
            assert closed == 1
            ws.wait_gone()
            heartbeat_answered(appliance, "BYSTANDER")
            grown = wait_rss_below(appliance, before + MEMORY_SLACK) - before
            assert grown < MEMORY_SLACK, f"the server grew by {grown} bytes after {sent} bytes of fragments"
        finally:
            ws.close()


def test_a_message_in_too_many_fragments_is_closed(tmp_path: Path) -> None:
    with running(tmp_path) as appliance:
        ws = RawWebSocket(appliance.ocpp_port, "/ocpp/CRUMBS")
        try:
            ws.sock.sendall(frame(TEXT, b"[2,", fin=False) + frame(CONTINUATION, fin=False) * 2000)
            assert ws.close_code() == 1009
            assert wait_metric(appliance, 'voltyard_connections_closed_total{reason="fragments"}') == 1
            ws.wait_gone()
            heartbeat_answered(appliance, "BYSTANDER")
        finally:
            ws.close()


def test_bare_continuation_frames_close_the_connection_with_one_line(tmp_path: Path) -> None:
    with running(tmp_path) as appliance:
        ws = RawWebSocket(appliance.ocpp_port, "/ocpp/BARE")
        try:
            ws.sock.sendall(frame(CONTINUATION, b"{}") * 10_000)
            assert ws.close_code() == 1002
            assert wait_metric(appliance, 'voltyard_connections_closed_total{reason="protocol_error"}') == 1
            ws.wait_gone()
            heartbeat_answered(appliance, "BYSTANDER")
            lines = [line for line in appliance.log if "BARE" in line]
            assert len(lines) <= 2, f"{len(lines)} lines for one bad connection:\n{''.join(lines[:5])}"
            assert any("continuation frame without a message" in line for line in lines), lines
            assert metric(appliance, 'voltyard_connections_closed_total{reason="message_too_big"}') == 0
        finally:
            ws.close()
