"""An event-stream client that never reads is dropped by bytes (issue 18, "memory stays bounded",
done-when 4).

On main a stream client's queue was bounded in events (10 000), not bytes: one read-only client that never
read held hundreds of MB of large events. Now a client that leaves more than `server.stream_max_buffer`
bytes unread is dropped (one WARNING line, voltyard_stream_clients_dropped_total) and its queue released.
Against a real `voltyard serve`.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from tests.hostile.bounds_ws import (
    HANG_GUARD,
    RawWebSocket,
    call,
    heartbeat_answered,
    rss_bytes,
    running,
    wait_metric,
    wait_rss_below,
)

DATA = "x" * 16_000  # each DataTransfer is a 16 KB MessageIn event on the stream
CALLS = 6000  # 96 MB of events: below main's 10 000-event bound, far above the 1 MiB limit here
# Generous: the server's RSS may grow by this much (allocator noise of the traffic itself), not by the
# events an unread stream would hold.
MEMORY_SLACK = 48 * 1024 * 1024


def _talk(talker: RawWebSocket, calls: int) -> None:
    """`calls` DataTransfers of 16 KB, 100 at a time, each batch answered before the next."""
    for batch in range(calls // 100):
        talker.sock.sendall(
            b"".join(
                call(f"d{batch}-{n}", "DataTransfer", {"vendorId": "probe", "data": DATA}) for n in range(100)
            )
        )
        for _ in range(100):
            assert talker.read_message()[0] == 3


def test_a_stream_client_that_never_reads_is_dropped_and_its_memory_released(tmp_path: Path) -> None:
    with running(
        tmp_path,
        server=f"stream_max_buffer = {1024 * 1024}\n",
        admission="message_rate = 1000000.0\nmessage_burst = 1000000\n",
    ) as appliance:
        api_port = urlsplit(appliance.api_url).port
        assert api_port is not None
        talker = RawWebSocket(appliance.ocpp_port, "/ocpp/TALKER")
        # The same traffic once without a stream client first: what it costs by itself (the message log's
        # buffers, the allocator's high-water mark) is in the baseline, not in the growth measured.
        _talk(talker, CALLS // 2)
        reader = RawWebSocket(
            api_port, "/api/v1/stream?kinds=MessageIn", rcvbuf=4096,
            headers=f"Authorization: Bearer {appliance.token('readonly')}\r\n", ocpp=False,
        )  # fmt: skip
        try:
            before = rss_bytes(appliance)
            _talk(talker, CALLS)
            assert wait_metric(appliance, "voltyard_stream_clients_dropped_total") == 1
            grown = wait_rss_below(appliance, before + MEMORY_SLACK) - before
            assert grown < MEMORY_SLACK, f"the server grew by {grown} bytes for an unread stream"
            reader.sock.settimeout(HANG_GUARD)
            reader.wait_gone()
            heartbeat_answered(appliance, "BYSTANDER")
            assert any("event-stream client" in line and "dropped" in line for line in appliance.log)
        finally:
            reader.close()
            talker.close()
