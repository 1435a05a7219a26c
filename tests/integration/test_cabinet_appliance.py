"""The DC cabinet inside the appliance: guns are connectors of the "CABINET" charge point, AutoCharge
(the EV's MAC as id tag) and remote starts authorise sessions, and sessions are transactions in the
same store, visible through the same services as any charger's."""

from __future__ import annotations

import asyncio
import itertools
from contextlib import closing
from dataclasses import replace

from voltyard.can.config import BusConfig, CabinetConfig
from voltyard.domain.authorization import IdTag
from voltyard.events.kinds import Event
from voltyard.runtime import Appliance
from voltyard.sim.ev import EvProfile
from voltyard.sim.plc import PlcSimulator

_channels = itertools.count()


def cabinet_table(channel: str) -> dict[str, object]:
    return {
        "charge_point_id": "CABINET",
        "bus": {"interface": "virtual", "channel": channel},
        "guns": [{"connector_id": 1, "plc_id": 3}, {"connector_id": 2, "plc_id": 4}],
    }


class Seen(list[Event]):
    """The appliance's events, in order; `arrived` is set on each one (waits wake on events, not a timer)."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived = asyncio.Event()

    def __call__(self, event: Event) -> None:
        self.append(event)
        self.arrived.set()


async def wait_event(events: Seen, predicate, timeout: float = 30.0) -> Event:
    async with asyncio.timeout(timeout):  # a hang guard only
        while True:
            for event in events:
                if predicate(event):
                    return event
            events.arrived.clear()
            await events.arrived.wait()


async def test_autocharge_session_is_a_stored_transaction(appliance_config) -> None:
    channel = f"voltyard-appliance-{next(_channels)}"
    config = replace(appliance_config(), cabinet=CabinetConfig.from_mapping(cabinet_table(channel)))
    sim = PlcSimulator(BusConfig(interface="virtual", channel=channel), [3, 4], EvProfile())
    await sim.start()
    appliance = Appliance(config)
    await appliance.start()
    seen = Seen()
    appliance.events.subscribe(seen)
    try:
        mac_tag = "MAC02005E100001"
        await appliance.services.authorization.put_tag(IdTag(mac_tag))
        sim.plcs[3].ev.plug()
        started = await wait_event(
            seen, lambda e: e.kind == "TransactionStarted" and e.charger_id == "CABINET"
        )
        assert started.data()["idTag"] == mac_tag
        assert started.data()["connectorId"] == 1
        assert appliance.cabinet_view()["guns"][0]["status"] == "Charging"
        assert appliance.services.chargers.get("CABINET").connectors[1].status in ("Preparing", "Charging")
        # The EV finishes: the transaction stops in the store with the meter register.
        await asyncio.sleep(0.5)
        sim.plcs[3].ev.stop()
        stopped = await wait_event(
            seen, lambda e: e.kind == "TransactionStopped" and e.charger_id == "CABINET"
        )
        assert stopped.data()["transactionId"] == started.data()["transactionId"]
        # A remote start on the other gun, through the same command service as any charger (its EV's MAC
        # is blocked now, so AutoCharge does not start it first).
        await appliance.services.authorization.put_tag(IdTag(mac_tag, "Blocked"))
        sim.plcs[4].ev.plug()
        await wait_event(seen, lambda e: e.kind == "ConnectorStatusChanged" and e.data()["connectorId"] == 2
                         and e.data()["status"] == "Preparing")  # fmt: skip
        answer = await appliance.commands.call(
            "CABINET", "RemoteStartTransaction", {"idTag": "OPERATOR", "connectorId": 2}
        )
        assert answer == {"status": "Accepted"}
        second = await wait_event(
            seen, lambda e: e.kind == "TransactionStarted" and e.data()["connectorId"] == 2
        )
        answer = await appliance.commands.call(
            "CABINET", "RemoteStopTransaction", {"transactionId": second.data()["transactionId"]}
        )
        assert answer == {"status": "Accepted"}
        await wait_event(
            seen,
            lambda e: (
                e.kind == "TransactionStopped" and e.data()["transactionId"] == second.data()["transactionId"]
            ),
        )
        await appliance.store.flush()
        with closing(appliance.read_connection()) as db:
            rows = db.execute(
                "SELECT connector_id, id_tag, stop_reason FROM transactions "
                "WHERE charger_id = 'CABINET' ORDER BY id"
            ).fetchall()
        assert rows == [(1, mac_tag, "Local"), (2, "OPERATOR", "Remote")]
    finally:
        await appliance.stop()
        await sim.stop()
