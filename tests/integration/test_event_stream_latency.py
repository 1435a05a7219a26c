"""The event stream under 1000 connected chargers: a charger's StatusNotification reaches a subscribed
client within 100 ms (issue 8). Chargers are lean picows clients on loopback; the figure is printed."""

from __future__ import annotations

import asyncio
import statistics
import time

import msgpack
from aiohttp import ClientSession
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect
from voltyard.api.tokens import ensure_tokens
from voltyard.runtime import Appliance

CHARGERS = 1000
BOOT = b'[2,"b","BootNotification",{"chargePointVendor":"V","chargePointModel":"M"}]'


class Quiet(WSListener):  # type: ignore[misc]
    def __init__(self) -> None:
        self.transport: WSTransport | None = None
        self.booted = asyncio.get_running_loop().create_future()

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        transport.send(WSMsgType.TEXT, BOOT)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if not self.booted.done():
            self.booted.set_result(None)


async def test_status_reaches_a_stream_client_within_100_ms_at_1000_chargers(appliance_config) -> None:
    appliance = Appliance(appliance_config(admission={"connection_rate": 100000, "connection_burst": 100000,
                                                      "boot_storm_rate": 100000}))  # fmt: skip
    await appliance.start()
    try:
        api_port = await appliance.start_api("127.0.0.1", 0)
        token = ensure_tokens(appliance.config.server.data_dir)["readonly"]
        chargers: list[Quiet] = []
        for index in range(CHARGERS):
            charger = Quiet()
            await ws_connect(
                lambda charger=charger: charger,  # type: ignore[misc]
                f"ws://127.0.0.1:{appliance.ocpp_port}/ocpp/LAT{index:04d}",
                extra_headers={"Sec-WebSocket-Protocol": "ocpp1.6"},
            )
            chargers.append(charger)
        await asyncio.gather(*(charger.booted for charger in chargers))
        assert len(appliance.registry) == CHARGERS
        latencies = []
        async with (
            ClientSession() as http,
            http.ws_connect(
                f"http://127.0.0.1:{api_port}/api/v1/stream?kinds=ConnectorStatusChanged",
                headers={"Authorization": f"Bearer {token}"},
            ) as stream,
        ):
            for n, charger in enumerate(chargers[::50]):
                status = "Charging" if n % 2 else "Preparing"
                frame = (
                    b'[2,"s","StatusNotification",{"connectorId":1,"errorCode":"NoError","status":"%s"}]'
                    % (status.encode())
                )
                sent = time.perf_counter()
                assert charger.transport is not None
                charger.transport.send(WSMsgType.TEXT, frame)
                message = await asyncio.wait_for(stream.receive(), 5)
                latencies.append(time.perf_counter() - sent)
                event = msgpack.unpackb(message.data)
                assert event["kind"] == "ConnectorStatusChanged"
                assert event["data"]["status"] == status
        for charger in chargers:
            assert charger.transport is not None
            charger.transport.disconnect()
    finally:
        await appliance.stop()
    print(
        f"\nstatus -> stream at {CHARGERS} chargers: median {statistics.median(latencies) * 1000:.2f} ms, "
        f"max {max(latencies) * 1000:.2f} ms over {len(latencies)} events"
    )
    assert max(latencies) < 0.1
