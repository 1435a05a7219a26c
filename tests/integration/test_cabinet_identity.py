"""The EV's identities authorise a cabinet session (issue 19): EMAID, EVCCID and MAC are each tried as an
id tag (an AutoCharge event says with what status), and the session starts with the first Accepted one in
the order EMAID, EVCCID, MAC (docs/can.md, "Authorization by the EV's identities"). The simulated PLC
sends them as a real one does, one after the other after plug-in (EVCCID, EMAID, MAC): a better identity
arriving after a lesser accepted one takes its place before the session starts."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import replace

import pytest
from voltyard.can.config import BusConfig, CabinetConfig
from voltyard.can.frames import IdKind
from voltyard.domain.authorization import IdTag
from voltyard.domain.cabinet import identity_tag, identity_tags
from voltyard.events.kinds import Event
from voltyard.runtime import Appliance
from voltyard.sim.ev import EvProfile
from voltyard.sim.plc import PlcSimulator

_channels = itertools.count()
EMAID = "DEVOLT0000001X"
EVCCID = "EVCCID0A0B0C0D0E0F"
MAC = "MAC02005E100001"
EV = EvProfile(evccid=bytes.fromhex("0a0b0c0d0e0f"), emaid=b"DE-VOLT-0000001-X")


class Seen(list[Event]):
    def __init__(self) -> None:
        super().__init__()
        self.arrived = asyncio.Event()

    def __call__(self, event: Event) -> None:
        self.append(event)
        self.arrived.set()

    async def wait(self, predicate: Callable[[Event], bool], timeout: float = 30.0) -> Event:
        async with asyncio.timeout(timeout):  # a hang guard only
            while True:
                for event in self:
                    if predicate(event):
                        return event
                self.arrived.clear()
                await self.arrived.wait()


@pytest.mark.parametrize(
    ("accepted", "expected"),
    [
        ({MAC}, MAC),
        ({EVCCID, MAC}, EVCCID),
        ({EMAID, MAC}, EMAID),
        ({EVCCID, EMAID}, EMAID),  # EVCCID arrives first and is accepted; the EMAID takes its place
        (set(), None),
    ],
    ids=["mac", "evccid_over_mac", "emaid_over_mac", "emaid_replaces_evccid", "none"],
)
async def test_the_session_is_authorised_by_the_best_accepted_identity(
    appliance_config, accepted: set[str], expected: str | None
) -> None:  # type: ignore[no-untyped-def]
    channel = f"voltyard-identity-{next(_channels)}"
    cabinet = CabinetConfig.from_mapping(
        {"bus": {"interface": "virtual", "channel": channel}, "guns": [{"connector_id": 1, "plc_id": 0}]}
    )
    sim = PlcSimulator(BusConfig(interface="virtual", channel=channel), [0], EV)
    await sim.start()
    appliance = Appliance(replace(appliance_config(), cabinet=cabinet))
    await appliance.start()
    seen = Seen()
    appliance.events.subscribe(seen)
    try:
        for tag in (EMAID, EVCCID, MAC):
            await appliance.services.authorization.put_tag(
                IdTag(tag) if tag in accepted else IdTag(tag, status="Blocked")
            )
        sim.plcs[0].ev.plug()
        for tag in (EVCCID, EMAID, MAC):  # each identity is tried, with its own status
            event = await seen.wait(lambda e, tag=tag: e.kind == "AutoCharge" and e.data()["idTag"] == tag)
            assert event.data()["status"] == ("Accepted" if tag in accepted else "Blocked"), event.data()
        if expected is None:
            assert appliance.cabinet.link.driver(1).authorized is None  # type: ignore[union-attr]
            return
        started = await seen.wait(lambda e: e.kind == "TransactionStarted" and e.charger_id == "CABINET")
        assert started.data()["idTag"] == expected
    finally:
        await appliance.stop()
        await sim.stop()


def test_identity_tags_name_each_identity_within_an_id_tag() -> None:
    assert identity_tag(IdKind.EMAID0, b"de-abc-c123456-7") == "DEABCC1234567"
    assert identity_tag(IdKind.EMAID1, b"DE*ABC") is None  # not an EMAID
    assert identity_tag(IdKind.EMAID0, b"DE" + b"1" * 19) is None  # longer than an id tag
    assert identity_tag(IdKind.EVCCID, bytes.fromhex("0a0b0c0d0e0f")) == EVCCID
    assert identity_tag(IdKind.EVMAC, bytes.fromhex("02005e100001")) == MAC
    assert identity_tag(IdKind.EVMAC, b"") is None
    identities = {
        IdKind.EVMAC: bytes.fromhex("02005e100001"),
        IdKind.EVCCID: bytes.fromhex("0a0b0c0d0e0f"),
        IdKind.EMAID0: b"DE-VOLT-0000001-X",
    }
    assert identity_tags(identities) == [EMAID, EVCCID, MAC]
