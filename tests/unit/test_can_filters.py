"""Kernel CAN filters per PLC id (issue 19): the host asks the bus for its PLCs' frames only, a simulated
PLC for its host's frames to it only.

On socketcan python-can sets `can_filters` in the kernel; python-can's `virtual` bus applies the same
list in software, which is what these tests run: every ID of the contract (both directions, every type,
every plcId) is sent, and exactly the filtered ones arrive. On interfaces without kernel filters the
port's reader applies them itself (error frames pass, as socketcan's error mask lets them): the same
sends through a `CanPort`. The link and the simulator are held to opening their buses with them.
"""

from __future__ import annotations

import asyncio
import itertools

import can
import pytest
from voltyard.can.bus import CAN_ERR_BUSOFF, CanPort, id_filters
from voltyard.can.config import BusConfig, CabinetConfig, GunConfig
from voltyard.can.frames import FRAME_TYPES, HOST_TO_PLC_BASE, PLC_TO_HOST_BASE
from voltyard.can.link import CabinetLink
from voltyard.sim.plc import PlcSimulator

_channels = itertools.count()
ALL_IDS = sorted({cls.BASE_ID | plc_id for cls in FRAME_TYPES for plc_id in range(16)})


def passed(filters: list[can.typechecking.CanFilter]) -> set[int]:
    """The IDs of the contract that a bus opened with `filters` receives (python-can's own matching)."""
    channel = f"voltyard-filters-{next(_channels)}"
    receiver = can.Bus(interface="virtual", channel=channel, can_filters=filters)
    sender = can.Bus(interface="virtual", channel=channel)
    try:
        for arbitration_id in [*ALL_IDS, 0x12345678]:  # and a foreign extended ID
            sender.send(can.Message(arbitration_id=arbitration_id, data=bytes(8), is_extended_id=True))
        received = set()
        while (message := receiver.recv(timeout=0.2)) is not None:
            received.add(message.arbitration_id)
        return received
    finally:
        receiver.shutdown()
        sender.shutdown()


@pytest.mark.parametrize("plc_ids", [[0], [3, 11], list(range(16))])
def test_the_host_filters_pass_its_plcs_frames_and_nothing_else(plc_ids: list[int]) -> None:
    expected = {i for i in ALL_IDS if i >> 8 == PLC_TO_HOST_BASE >> 8 and i & 0xF in plc_ids}
    assert passed(id_filters(PLC_TO_HOST_BASE, plc_ids)) == expected


def test_a_simulated_plc_filters_pass_its_hosts_frames_to_it_only() -> None:
    expected = {i for i in ALL_IDS if i >> 8 == HOST_TO_PLC_BASE >> 8 and i & 0xF in (2, 5)}
    assert passed(id_filters(HOST_TO_PLC_BASE, [5, 2, 5])) == expected


def test_the_filters_are_extended_ids_with_the_plc_id_and_direction_in_the_mask() -> None:
    assert id_filters(PLC_TO_HOST_BASE, [7]) == [{"can_id": 0x107, "can_mask": 0x1FFFFF0F, "extended": True}]


def test_on_socketcan_the_filters_go_to_the_kernel() -> None:
    filters = id_filters(PLC_TO_HOST_BASE, [1])
    port = CanPort(BusConfig("socketcan", "can0"), None, print, print, filters=filters)  # type: ignore[arg-type]
    assert port.in_kernel
    assert port.bus_kwargs()["can_filters"] == filters
    udp = CanPort(BusConfig("udp_multicast", "239.74.163.2"), None, print, print)  # type: ignore[arg-type]
    assert not udp.in_kernel
    assert "can_filters" not in udp.bus_kwargs()
    assert udp.bus_kwargs()["hop_limit"] == 0  # this machine only


async def test_elsewhere_the_port_filters_and_error_frames_pass() -> None:
    loop = asyncio.get_running_loop()
    bus = BusConfig(interface="virtual", channel=f"voltyard-filters-{next(_channels)}")
    received: list[can.Message] = []
    tapped: list[int] = []
    done = asyncio.Event()

    def arrived(message: can.Message) -> None:
        received.append(message)
        if message.is_error_frame:
            done.set()

    filters = id_filters(PLC_TO_HOST_BASE, [3, 11])
    port = CanPort(bus, loop, arrived, print, filters=filters, tap=lambda m: tapped.append(m.arbitration_id))
    port.open()
    sender = can.Bus(interface="virtual", channel=bus.channel)
    try:
        for arbitration_id in [*ALL_IDS, 0x12345678]:
            sender.send(can.Message(arbitration_id=arbitration_id, data=bytes(8), is_extended_id=True))
        sender.send(can.Message(arbitration_id=CAN_ERR_BUSOFF, is_error_frame=True, data=bytes(8)))
        await asyncio.wait_for(done.wait(), 10)
    finally:
        port.close()
        sender.shutdown()
    data = {m.arbitration_id for m in received if not m.is_error_frame}
    assert data == passed(filters)
    assert sorted(tapped) == sorted(m.arbitration_id for m in received)  # the tap saw what the loop got


class Ignore:
    """A listener that drops what the drivers report (only the buses matter here)."""

    def _drop(self, _event: object) -> None:
        pass

    status_changed = session_started = session_stopped = _drop
    fault_raised = fault_cleared = identity_received = meter_sample = _drop


async def test_the_link_and_the_simulator_open_their_buses_with_their_filters() -> None:
    bus = BusConfig(interface="virtual", channel=f"voltyard-filters-{next(_channels)}")
    guns = (GunConfig(connector_id=1, plc_id=4), GunConfig(connector_id=2, plc_id=9))
    link = CabinetLink(CabinetConfig(guns=guns, bus=bus), Ignore())
    simulator = PlcSimulator(bus, [4])
    await link.start()
    await simulator.start()
    try:
        assert link.filters == id_filters(PLC_TO_HOST_BASE, [4, 9])
        assert simulator.filters == id_filters(HOST_TO_PLC_BASE, [4])
    finally:
        await simulator.stop()
        await link.stop()
