"""The uplink's queue and transaction id map (voltyard.store.uplink, voltyard.uplink.service) on a real SQLite
store with its writer thread: local events queued in order, sent oldest first, deleted only once answered, the
central system's transaction id mapped durably (a restart keeps it), a profile capped to the site's share.

The connection to the central system is the one fake here (`Upstream`: what `UpstreamLink.call` is to the
service); the store, the event bus and the domain services are the real ones.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from voltyard.config import OcppConfig, UplinkConfig
from voltyard.domain.chargers import Chargers
from voltyard.domain.transactions import Transactions
from voltyard.events.bus import EventBus
from voltyard.events.kinds import Event, UplinkProfileCapped
from voltyard.store import uplink as uplink_store
from voltyard.store.db import connect, migrate
from voltyard.store.writer import StoreWriter
from voltyard.uplink import messages
from voltyard.uplink.connection import LinkLostError, UpstreamRefusedError
from voltyard.uplink.service import Uplink

START = {"connectorId": 1, "idTag": "TAG", "timestamp": "2026-01-01T10:00:00Z", "meterStart": 100}


def _meter(transaction_id: int, wh: int, ts: str) -> dict[str, Any]:
    sampled = [{"value": str(wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]
    return {
        "connectorId": 1,
        "transactionId": transaction_id,
        "meterValue": [{"timestamp": ts, "sampledValue": sampled}],
    }


def _dead_url() -> str:
    # Nothing listens there: the service's own connections stay offline; the test drains through `Upstream`.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"ws://127.0.0.1:{sock.getsockname()[1]}/ocpp"


class Upstream:
    """The central system as the service's drain sees it: records calls, answers, or fails the n-th."""

    def __init__(
        self, charger_id: str = "CP1", lose_at: int | None = None, refuse: str | None = None
    ) -> None:
        self.charger_id = charger_id
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.lose_at = lose_at
        self.refuse = refuse

    async def call(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        if self.lose_at is not None and len(self.calls) == self.lose_at:
            self.lose_at = None
            raise LinkLostError("connection closed")
        self.calls.append((action, payload))
        if action == self.refuse:
            raise UpstreamRefusedError("FormationViolation", "no")
        if action == "StartTransaction":
            return {"transactionId": 9001, "idTagInfo": {"status": "Accepted"}}
        return {}


class Site:
    def __init__(self, path: Path, store: StoreWriter, events: EventBus) -> None:
        self.path = path
        self.store = store
        self.events = events
        self.chargers = Chargers(OcppConfig(), store, events)
        self.transactions = Transactions(store, events)
        self.sent: list[tuple[str, str, dict[str, Any]]] = []
        self.heard: list[Event] = []
        events.subscribe(self.heard.append)
        self.url = _dead_url()

    async def charger_call(self, charger_id: str, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.sent.append((charger_id, action, payload))
        return {"status": "Accepted"}

    async def uplink(self, share_kw: Callable[[str, int], float] = lambda c, n: 11.0) -> Uplink:
        config = UplinkConfig(url=self.url, meter_interval=3600.0, backoff_min=60.0, backoff_max=60.0)
        uplink = Uplink(
            config, self.store, self.events, self.chargers, self.charger_call,
            lambda: connect(self.path, readonly=True), share_kw,
        )  # fmt: skip
        await uplink.start()
        return uplink


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    path = tmp_path / "voltyard.db"
    store = StoreWriter(path, commit_interval=0.05)
    await store.start()
    yield Site(path, store, EventBus(store, asyncio.get_running_loop()))
    await store.close()


async def _until(predicate: Callable[[], bool], what: str) -> None:
    try:
        async with asyncio.timeout(30):  # a hang guard, not a timing assertion
            while not predicate():
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"never happened: {what}") from None


async def _session(site: Site, uplink: Uplink) -> int:
    """A local transaction with one reading and its stop: StartTransaction, MeterValues, StopTransaction."""
    transaction_id = await site.transactions.start("CP1", START)
    site.transactions.meter_values("CP1", _meter(transaction_id, 250, "2026-01-01T10:30:00Z"))
    await site.store.flush()
    await site.transactions.stop(
        "CP1", {"transactionId": transaction_id, "meterStop": 600, "timestamp": "2026-01-01T11:00:00Z",
                "reason": "Local"},
    )  # fmt: skip
    await _until(lambda: uplink.queued.get("CP1") == 3, "three messages queued")
    return transaction_id


def _stored_queue(site: Site) -> list[str]:
    with closing(connect(site.path, readonly=True)) as conn:
        return [queued.action for queued in uplink_store.head(conn, "CP1")]


async def test_a_session_is_queued_in_order_and_sent_with_the_upstream_transaction_id(site: Site) -> None:
    uplink = await site.uplink()
    try:
        local_id = await _session(site, uplink)
        assert _stored_queue(site) == ["StartTransaction", "MeterValues", "StopTransaction"]
        upstream = Upstream()
        await uplink.drain(upstream)  # type: ignore[arg-type]
        assert [action for action, _ in upstream.calls] == [
            "StartTransaction",
            "MeterValues",
            "StopTransaction",
        ]
        start, meter, stop = (payload for _, payload in upstream.calls)
        assert start == {"connectorId": 1, "idTag": "TAG", "meterStart": 100, "timestamp": START["timestamp"]}
        assert meter["transactionId"] == 9001, "MeterValues must name the central system's transaction id"
        assert meter["meterValue"][0]["sampledValue"][0]["value"] == "250", "readings go up as sent"
        assert stop == {"transactionId": 9001, "meterStop": 600, "timestamp": "2026-01-01T11:00:00Z",
                        "reason": "Local"}  # fmt: skip
        assert _stored_queue(site) == [], "answered messages must leave the queue"
        assert uplink.queued["CP1"] == 0
        assert uplink.view()["charge_points"]["CP1"]["last_sync"] is not None
        with closing(connect(site.path, readonly=True)) as conn:
            links = uplink_store.linked_transactions(conn)
        assert [(link.transaction_id, link.upstream_id, link.stopped) for link in links] == [
            (local_id, 9001, True)
        ]
    finally:
        await uplink.stop()


async def test_a_lost_link_keeps_the_rest_and_resends_it_once_in_order(site: Site) -> None:
    uplink = await site.uplink()
    try:
        await _session(site, uplink)
        upstream = Upstream(lose_at=1)  # the link goes away as the second message is sent
        with pytest.raises(LinkLostError):
            await uplink.drain(upstream)  # type: ignore[arg-type]
        assert _stored_queue(site) == ["MeterValues", "StopTransaction"], "what was not answered must stay"
        await uplink.drain(upstream)  # type: ignore[arg-type]
        assert [action for action, _ in upstream.calls] == [
            "StartTransaction",
            "MeterValues",
            "StopTransaction",
        ]
        assert _stored_queue(site) == []
    finally:
        await uplink.stop()


async def test_the_id_map_survives_a_restart_and_maps_remote_stop_down(site: Site) -> None:
    uplink = await site.uplink()
    try:
        local_id = await _session(site, uplink)
        await uplink.drain(Upstream())  # type: ignore[arg-type]
    finally:
        await uplink.stop()
    again = await site.uplink()  # a new service over the same store: what it knows comes from disk
    try:
        answer = await again.command("CP1", "RemoteStopTransaction", {"transactionId": 9001})
        assert answer == {"status": "Accepted"}
        assert site.sent == [("CP1", "RemoteStopTransaction", {"transactionId": local_id})]
    finally:
        await again.stop()


async def test_a_refused_message_is_dropped_and_recorded_not_retried_forever(site: Site) -> None:
    uplink = await site.uplink()
    try:
        await _session(site, uplink)
        upstream = Upstream(refuse="MeterValues")
        await uplink.drain(upstream)  # type: ignore[arg-type]
        assert [action for action, _ in upstream.calls] == [
            "StartTransaction",
            "MeterValues",
            "StopTransaction",
        ]
        assert _stored_queue(site) == []
        refused = [
            e for e in site.heard if e.kind == "Warning" and e.data()["kind"] == "UplinkMessageRefused"
        ]
        assert len(refused) == 1
    finally:
        await uplink.stop()


async def test_a_profile_above_the_share_is_capped_and_the_cap_is_an_event(site: Site) -> None:
    uplink = await site.uplink(share_kw=lambda charger_id, connector_id: 11.0)
    try:
        request = {
            "connectorId": 1,
            "csChargingProfiles": {
                "chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
                "chargingProfileKind": "Relative", "chargingSchedule": {
                    "chargingRateUnit": "A",
                    "chargingSchedulePeriod": [
                        {"startPeriod": 0, "limit": 32.0},
                        {"startPeriod": 60, "limit": 10.0, "numberPhases": 1},
                    ],
                },
            },
        }  # fmt: skip
        await uplink.command("CP1", "SetChargingProfile", request)
        (_, _, sent), *_ = site.sent
        periods = sent["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"]
        assert periods[0]["limit"] == 15.9, "32 A on 3 phases (22 kW) capped to 11 kW: 15.9 A at 230 V"
        assert periods[1]["limit"] == 10.0, "a period under the share stays as it came"
        caps = [e for e in site.heard if isinstance(e, UplinkProfileCapped)]
        assert len(caps) == 1
        assert caps[0].cap_kw == 11.0
        assert caps[0].requested_kw == pytest.approx(22.08)
        assert request["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] == 32.0
    finally:
        await uplink.stop()


async def test_an_action_that_is_not_a_central_systems_is_not_supported(site: Site) -> None:
    uplink = await site.uplink()
    try:
        with pytest.raises(Exception, match="not a central system's"):
            await uplink.command("CP1", "BootNotification", {})
        assert site.sent == []
    finally:
        await uplink.stop()


def test_the_queue_keeps_its_order_and_its_map_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "voltyard.db"
    with closing(connect(path)) as conn:
        migrate(conn, path)
        for n, action in enumerate(["StatusNotification", "StartTransaction", "MeterValues"]):
            uplink_store.enqueue(conn, "CP1", action, {"n": n}, 7 if n else None, float(n))
        uplink_store.enqueue(conn, "CP2", "StatusNotification", {}, None, 9.0)
        uplink_store.link_transaction(conn, 7, "CP1")
        uplink_store.link_transaction(conn, 7, "CP1")  # a replayed start: one entry
        conn.commit()
        first = uplink_store.head(conn, "CP1")[0]
        uplink_store.delivered(conn, first.seq, "CP1", 42.0)
        uplink_store.set_upstream_id(conn, 7, 70)
        conn.commit()
    with closing(connect(path, readonly=True)) as conn:
        assert [(q.action, q.payload, q.transaction_id) for q in uplink_store.head(conn, "CP1")] == [
            ("StartTransaction", {"n": 1}, 7),
            ("MeterValues", {"n": 2}, 7),
        ]
        assert uplink_store.queue_lengths(conn) == {"CP1": 2, "CP2": 1}
        assert uplink_store.last_syncs(conn) == {"CP1": 42.0}
        assert [(t.transaction_id, t.upstream_id) for t in uplink_store.linked_transactions(conn)] == [
            (7, 70)
        ]


def test_stop_reasons_outside_ocpp_go_up_as_other() -> None:
    assert messages.stop_request(1, 2, "t", "ChargerRebooted", None)["reason"] == "Other"
    assert messages.stop_request(1, 2, "t", "EVDisconnected", "TAG") == {
        "transactionId": 1, "meterStop": 2, "timestamp": "t", "reason": "EVDisconnected", "idTag": "TAG",
    }  # fmt: skip


def test_boot_of_a_charge_point_never_booted_is_voltyards() -> None:
    assert messages.boot_request({}, "CABINET") == {
        "chargePointVendor": "Voltyard", "chargePointModel": "local-controller",
    }  # fmt: skip
    boot = {"chargePointVendor": "Acme", "chargePointModel": "X", "firmwareVersion": ""}
    assert messages.boot_request(boot, "CP1") == {"chargePointVendor": "Acme", "chargePointModel": "X"}


async def test_after_each_boot_the_connectors_current_states_are_queued(site: Site) -> None:
    uplink = await site.uplink()
    try:
        site.chargers.status("CP1", {"connectorId": 1, "status": "Preparing", "errorCode": "NoError"})
        site.chargers.status("CP1", {"connectorId": 2, "status": "Unknown-to-ocpp", "errorCode": "NoError"})
        site.chargers.status("CP1", {"connectorId": 1, "status": "Charging", "errorCode": "NoError"})
        await _until(lambda: uplink.queued.get("CP1") == 2, "the two changes 1.6 has words for queued")
        await uplink.booted(Upstream())  # type: ignore[arg-type]
        upstream = Upstream()
        await uplink.drain(upstream)  # type: ignore[arg-type]
        sent = [(payload["connectorId"], payload["status"]) for _, payload in upstream.calls]
        assert sent == [(1, "Preparing"), (1, "Charging"), (1, "Charging")], (
            "after the boot, each connector's current state (one OCPP 1.6 knows) comes after what was queued"
        )
    finally:
        await uplink.stop()


async def test_a_transaction_committed_but_never_queued_is_queued_at_the_next_start(site: Site) -> None:
    before = await site.transactions.start("CP1", {**START, "connectorId": 2})  # history before the uplink
    uplink = await site.uplink()
    await uplink.stop()
    # The appliance "ended" between the commit and the queueing: no uplink heard of this one.
    missed = await site.transactions.start("CP1", START)
    await site.transactions.stop(
        "CP1", {"transactionId": missed, "meterStop": 900, "timestamp": "2026-01-01T12:00:00Z"}
    )
    again = await site.uplink()
    try:
        await _until(lambda: again.queued.get("CP1") == 2, "the missed start and stop queued")
        upstream = Upstream()
        await again.drain(upstream)  # type: ignore[arg-type]
        assert [(a, p.get("meterStart", p.get("meterStop"))) for a, p in upstream.calls] == [
            ("StartTransaction", 100),
            ("StopTransaction", 900),
        ]
        with closing(connect(site.path, readonly=True)) as conn:
            linked = [link.transaction_id for link in uplink_store.linked_transactions(conn)]
        assert linked == [missed], f"transaction {before}, from before the uplink, must stay local"
    finally:
        await again.stop()


async def test_a_force_closed_transaction_is_stopped_upstream(site: Site) -> None:
    uplink = await site.uplink()
    try:
        transaction_id = await site.transactions.start("CP1", START)
        await _until(lambda: uplink.queued.get("CP1") == 1, "the start queued")
        assert await site.transactions.force_close(transaction_id, 700, "2026-01-01T12:00:00Z", "operator")
        await _until(lambda: uplink.queued.get("CP1") == 2, "the forced stop queued")
        upstream = Upstream()
        await uplink.drain(upstream)  # type: ignore[arg-type]
        assert [(a, p.get("meterStop")) for a, p in upstream.calls] == [
            ("StartTransaction", None),
            ("StopTransaction", 700),
        ]
    finally:
        await uplink.stop()


async def test_a_stop_not_queued_before_the_appliance_ended_is_queued_at_the_next_start(site: Site) -> None:
    uplink = await site.uplink()
    transaction_id = await site.transactions.start("CP1", START)
    await _until(lambda: uplink.queued.get("CP1") == 1, "the start queued")
    await uplink.stop()
    await site.transactions.stop(
        "CP1", {"transactionId": transaction_id, "meterStop": 800, "timestamp": "2026-01-01T12:00:00Z"}
    )
    again = await site.uplink()
    try:
        await _until(lambda: again.queued.get("CP1") == 2, "the missed stop queued")
        upstream = Upstream()
        await again.drain(upstream)  # type: ignore[arg-type]
        assert [(a, p.get("transactionId"), p.get("meterStop")) for a, p in upstream.calls] == [
            ("StartTransaction", None, None),
            ("StopTransaction", 9001, 800),
        ]
    finally:
        await again.stop()


def test_the_queue_page_lists_what_waits_oldest_first_per_charge_point_and_in_all(tmp_path: Path) -> None:
    path = tmp_path / "voltyard.db"
    with closing(connect(path)) as conn:
        migrate(conn, path)
        for index, (charger, action) in enumerate(
            [("CP1", "StartTransaction"), ("CP2", "StatusNotification"), ("CP1", "MeterValues"),
             ("CP1", "StopTransaction")]
        ):  # fmt: skip
            uplink_store.enqueue(
                conn, charger, action, {"n": index}, 7 if charger == "CP1" else None, 100.0 + index
            )
        total, page = uplink_store.queue_page(conn, "CP1", limit=2, offset=0)
        assert total == 3
        assert [(q.action, q.payload, q.transaction_id, at) for q, at in page] == [
            ("StartTransaction", {"n": 0}, 7, 100.0), ("MeterValues", {"n": 2}, 7, 102.0),
        ]  # fmt: skip
        total, page = uplink_store.queue_page(conn, None, limit=10, offset=1)
        assert total == 4
        assert [q.seq for q, _ in page] == sorted(q.seq for q, _ in page)
        assert [q.charger_id for q, _ in page] == ["CP2", "CP1", "CP1"]
        uplink_store.delivered(conn, page[0][0].seq, "CP2", 200.0)
        assert uplink_store.queue_page(conn, "CP2", limit=10, offset=0) == (0, [])
