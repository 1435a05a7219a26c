"""Automatic responses, reconciliation, clock skew and per-charger limits, over real sockets."""

from __future__ import annotations

import asyncio
import json
import time
from contextlib import closing

import pytest
import websockets
from ocpp.v16 import call
from voltyard.runtime import Appliance
from voltyard.store.meter_log import meter_readings

from tests.e2e.peer import connected_peer, open_websocket

NOW = "2026-11-25T10:00:00Z"


def events_of(appliance, kind: str) -> list:
    seen: list = []
    appliance.services.events.subscribe(lambda event: seen.append(event) if event.kind == kind else None)
    return seen


async def until(appliance, predicate, timeout: float = 30.0) -> None:
    """Until `predicate()` holds, checked again on every event the appliance publishes (what changes it)."""
    changed = asyncio.Event()
    unsubscribe = appliance.services.events.subscribe(lambda event: changed.set())
    try:
        async with asyncio.timeout(timeout):  # a hang guard only
            while not predicate():
                await changed.wait()
                changed.clear()
    finally:
        unsubscribe()


async def test_faulted_with_critical_error_makes_the_connector_inoperative_once(appliance) -> None:
    responses = events_of(appliance, "AutomaticResponse")
    async with connected_peer(appliance.ocpp_port, "CP-FAULT") as peer:
        fault = call.StatusNotification(connector_id=2, error_code="GroundFailure", status="Faulted")
        await peer.call(fault)
        await until(appliance, lambda: len(responses) == 1)
        assert peer.received == [("ChangeAvailability", {"connector_id": 2, "type": "Inoperative"})]
        await peer.call(fault)  # again within response_min_interval: no second command
        await peer.call(call.StatusNotification(connector_id=1, error_code="ReaderFailure", status="Faulted"))
        # A later critical fault on another connector is answered: a command the two faults above had
        # caused would have reached the charger before this one (its commands go in order).
        await peer.call(call.StatusNotification(connector_id=3, error_code="GroundFailure", status="Faulted"))
        await until(appliance, lambda: len(responses) == 2)
        # No second command for connector 2, and a non-critical code gets no automatic response.
        assert peer.received == [
            ("ChangeAvailability", {"connector_id": 2, "type": "Inoperative"}),
            ("ChangeAvailability", {"connector_id": 3, "type": "Inoperative"}),
        ]
    assert responses[0].data()["answer"] == {"status": "Accepted"}
    assert appliance.services.chargers.get("CP-FAULT").connectors[2].availability == "Inoperative"


async def test_emergency_stop_raises_a_warning(appliance) -> None:
    warnings = events_of(appliance, "Warning")
    async with connected_peer(appliance.ocpp_port, "CP-ESTOP") as peer:
        started = await peer.call(
            call.StartTransaction(connector_id=1, id_tag="T", meter_start=0, timestamp=NOW)
        )
        await peer.call(
            call.StopTransaction(
                meter_stop=10, timestamp=NOW, transaction_id=started.transaction_id, reason="EmergencyStop"
            )
        )
    assert [w.data() for w in warnings] == [
        {"kind": "EmergencyStop", "transactionId": started.transaction_id}
    ]


async def test_heartbeat_loss_marks_offline_and_alerts_then_recovers(appliance) -> None:
    health = appliance.services.health
    alerts = events_of(appliance, "Alert")
    restored = events_of(appliance, "HeartbeatRestored")
    async with connected_peer(appliance.ocpp_port, "CP-QUIET") as peer:
        connection = appliance.registry.get("CP-QUIET")
        connection.last_message = time.time() - 10_000  # silent for longer than 3 x 300 s
        health.check_heartbeats()
        assert appliance.services.chargers.get("CP-QUIET").online is False
        assert [a.data()["kind"] for a in alerts] == ["HeartbeatLost"]
        await peer.call(call.Heartbeat())
        health.check_heartbeats()
        assert appliance.services.chargers.get("CP-QUIET").online is True
        assert len(restored) == 1


async def stored_transaction(appliance, transaction_id: int) -> tuple:
    await appliance.store.flush()
    with closing(appliance.read_connection()) as db:
        return db.execute(
            "SELECT meter_stop, stop_flag, stopped_at IS NOT NULL FROM transactions WHERE id = ?",
            (transaction_id,),
        ).fetchone()


async def test_reboot_reconciles_open_transactions_with_the_last_meter_value(appliance) -> None:
    reconciled = events_of(appliance, "TransactionReconciled")
    async with connected_peer(appliance.ocpp_port, "CP-REBOOT") as peer:
        started = await peer.call(
            call.StartTransaction(connector_id=1, id_tag="T", meter_start=100, timestamp=NOW)
        )
        tx = started.transaction_id
        meter = [{"timestamp": NOW, "sampledValue": [{"value": "1.25", "unit": "kWh"}]}]
        await peer.call(call.MeterValues(connector_id=1, transaction_id=tx, meter_value=meter))
        await appliance.store.flush()  # the reading is on disk before the reboot
        await peer.call(call.BootNotification(charge_point_model="M", charge_point_vendor="V"))
        await until(appliance, lambda: len(reconciled) == 1)
        assert await stored_transaction(appliance, tx) == (1250, "Reconciled", 1)
        # The charger's own stop, replayed later, still wins.
        await peer.call(call.StopTransaction(meter_stop=1300, timestamp=NOW, transaction_id=tx))
        assert await stored_transaction(appliance, tx) == (1300, "ReconciledThenStopped", 1)
    assert reconciled[0].data() == {"transactionId": tx, "reason": "ChargerRebooted", "meterStop": 1250}


async def test_available_connector_reconciles_only_older_transactions(appliance) -> None:
    async with connected_peer(appliance.ocpp_port, "CP-ZOMBIE") as peer:
        old = await peer.call(call.StartTransaction(connector_id=1, id_tag="T", meter_start=5, timestamp=NOW))
        other = await peer.call(
            call.StartTransaction(connector_id=2, id_tag="T", meter_start=5, timestamp=NOW)
        )
        await peer.call(
            call.StatusNotification(
                connector_id=1, error_code="NoError", status="Available", timestamp="2026-11-25T11:00:00Z"
            )
        )
        await until(appliance, lambda: appliance.services.transactions.open_on("CP-ZOMBIE", 1) == [])
        assert await stored_transaction(appliance, old.transaction_id) == (5, "Reconciled", 1)
        assert await stored_transaction(appliance, other.transaction_id) == (None, None, 0)
        # A status older than the transaction (delivered late) closes nothing.
        new = await peer.call(
            call.StartTransaction(connector_id=1, id_tag="T", meter_start=9, timestamp="2026-11-25T12:00:00Z")
        )
        await peer.call(
            call.StatusNotification(
                connector_id=1, error_code="NoError", status="Preparing", timestamp="2026-11-25T11:30:00Z"
            )
        )
        assert await stored_transaction(appliance, new.transaction_id) == (None, None, 0)


async def test_operator_force_close_is_audited(appliance) -> None:
    closed = events_of(appliance, "TransactionForceClosed")
    async with connected_peer(appliance.ocpp_port, "CP-FORCE") as peer:
        started = await peer.call(
            call.StartTransaction(connector_id=1, id_tag="T", meter_start=0, timestamp=NOW)
        )
    tx = started.transaction_id
    assert await appliance.services.transactions.force_close(tx, 42, NOW, operator="alice")
    assert not await appliance.services.transactions.force_close(tx, 42, NOW, operator="alice")
    assert await stored_transaction(appliance, tx) == (42, "ForcedClose", 1)
    assert closed[0].data() == {"transactionId": tx, "operator": "alice"}


@pytest.mark.parametrize(
    ("timestamp", "skewed"),
    [(NOW, 0), ("1999-12-31T23:59:59Z", 1), ("2099-01-01T00:00:00Z", 1), ("2099-01-01T00:00:00+02:00", 1)],
)
async def test_clock_skew_is_flagged_but_stored(appliance, timestamp: str, skewed: int) -> None:
    async with connected_peer(appliance.ocpp_port, "CP-CLOCK") as peer:
        started = await peer.call(
            call.StartTransaction(connector_id=1, id_tag="T", meter_start=0, timestamp=timestamp)
        )
        meter = [{"timestamp": timestamp, "sampledValue": [{"value": "1"}]}]
        await peer.call(call.MeterValues(connector_id=1, meter_value=meter))
    await appliance.store.flush()
    with closing(appliance.read_connection()) as db:
        assert db.execute(
            "SELECT start_time, clock_skew FROM transactions WHERE id = ?", (started.transaction_id,)
        ).fetchone() == (timestamp, skewed)
        (reading,) = meter_readings(db)
        assert (reading.timestamp, reading.clock_skew) == (timestamp, bool(skewed))


async def test_flooding_charger_is_slowed_not_the_others(appliance_config) -> None:
    running = Appliance(appliance_config(admission={"message_rate": 20, "message_burst": 5}))
    await running.start()
    try:
        flood = await open_websocket(running.ocpp_port, "CP-FLOOD")
        calm = await open_websocket(running.ocpp_port, "CP-CALM")
        started = time.monotonic()
        for n in range(45):
            await flood.send(json.dumps([2, str(n), "Heartbeat", {}]))
        calm_started = time.monotonic()
        await calm.send(json.dumps([2, "c", "Heartbeat", {}]))
        assert json.loads(await asyncio.wait_for(calm.recv(), 5))[0] == 3
        calm_took = time.monotonic() - calm_started
        for _ in range(45):
            await asyncio.wait_for(flood.recv(), 10)
        flood_took = time.monotonic() - started
        assert flood_took >= 1.5  # 45 messages at 20/s after a burst of 5 take about 2 s
        assert calm_took < 0.5
        await flood.close()
        await calm.close()
    finally:
        await running.stop()


async def test_per_charger_frame_size_limit(appliance) -> None:
    await appliance.services.chargers.set_limits("CP-SMALL", max_frame_size=1024)
    ws = await open_websocket(appliance.ocpp_port, "CP-SMALL")
    await ws.send(json.dumps([2, "big", "DataTransfer", {"vendorId": "x", "data": "y" * 2000}]))
    with pytest.raises(Exception) as closed:  # noqa: PT011 - websockets' close exception
        await asyncio.wait_for(ws.recv(), 5)
    assert getattr(closed.value, "rcvd", None) is not None
    assert closed.value.rcvd.code == 1009


async def test_boot_storm_gets_pending_with_jittered_intervals(appliance_config) -> None:
    running = Appliance(appliance_config(admission={"boot_storm_rate": 5, "pending_interval_min": 30,
                                                    "pending_interval_max": 90}))  # fmt: skip
    await running.start()
    try:
        answers = []
        sockets = [await open_websocket(running.ocpp_port, f"CP-STORM-{n}") for n in range(30)]
        boot = json.dumps([2, "b", "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"}])
        await asyncio.gather(*(ws.send(boot) for ws in sockets))
        for ws in sockets:
            answers.append(json.loads(await asyncio.wait_for(ws.recv(), 5))[2])
            await ws.close()
    finally:
        await running.stop()
    pending = [a for a in answers if a["status"] == "Pending"]
    accepted = [a for a in answers if a["status"] == "Accepted"]
    assert 5 <= len(accepted) <= 10
    assert len(pending) == 30 - len(accepted)
    intervals = {a["interval"] for a in pending}
    assert all(30 <= i <= 90 for i in intervals)
    assert len(intervals) > 5  # jittered, not one wave
    # Deferred chargers were not registered as Pending: they are accepted when they come back.
    assert {running.services.chargers.get(f"CP-STORM-{n}").registration for n in range(30)} <= {
        "Accepted",
        "Unknown",
    }


async def test_connection_rate_limit_answers_503_with_retry_after(appliance_config) -> None:
    running = Appliance(appliance_config(admission={"connection_rate": 1, "connection_burst": 3}))
    await running.start()
    try:
        opened = [await open_websocket(running.ocpp_port, f"CP-R{n}") for n in range(3)]
        with pytest.raises(websockets.InvalidStatus) as refused:
            await open_websocket(running.ocpp_port, "CP-R4")
        assert refused.value.response.status_code == 503
        assert refused.value.response.headers["Retry-After"] == "1"
        for ws in opened:
            await ws.close()
    finally:
        await running.stop()
