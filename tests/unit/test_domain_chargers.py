"""The charger registry (voltyard.domain.chargers) without sockets or a writer thread: boot decisions, status
history, per-charger limits, and what a restart loads back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from voltyard.config import OcppConfig
from voltyard.domain.chargers import Chargers
from voltyard.errors import StoreError

from .fake_store import FakeStore, Heard, event_bus

BOOT = {"chargePointVendor": "ACME", "chargePointModel": "W1", "firmwareVersion": "1.2"}


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[FakeStore]:
    store = FakeStore(tmp_path / "v.db")
    yield store
    store.close()


def _chargers(store: FakeStore, **config: object) -> tuple[Chargers, Heard]:
    bus = event_bus(store)
    return Chargers(OcppConfig(**config), store, bus), Heard(bus)  # type: ignore[arg-type]


@pytest.mark.parametrize(("policy", "status"), [("accept", "Accepted"), ("pending", "Pending"),
                                                ("reject", "Rejected")])  # fmt: skip
async def test_an_unknown_charger_gets_the_policy(store: FakeStore, policy: str, status: str) -> None:
    chargers, heard = _chargers(store, unknown_charger=policy)
    assert chargers.boot("CP1", BOOT)[0] == status, f"unknown_charger={policy} must answer {status}"
    assert heard.kinds() == ["ChargerRegistered", "ChargerBooted"]


async def test_a_known_charger_keeps_its_registration_across_a_restart(store: FakeStore) -> None:
    chargers, _ = _chargers(store, unknown_charger="accept")
    chargers.boot("CP1", BOOT)
    chargers.set_registration("CP1", "Rejected")
    store.commit_telemetry()
    restarted, _ = _chargers(store, unknown_charger="accept")
    restarted.load(store.conn)
    record = restarted.records["CP1"]
    assert record.registration == "Rejected", "an operator's decision did not survive the restart"
    assert record.boot == BOOT, "the boot data did not survive the restart"
    assert restarted.boot("CP1", BOOT)[0] == "Rejected", "a rejected charger was let in after a restart"


async def test_a_boot_storm_defers_without_changing_the_registration(store: FakeStore) -> None:
    chargers, _ = _chargers(store)
    assert chargers.boot("CP1", BOOT, defer=42) == ("Pending", 42)
    assert chargers.records["CP1"].registration == "Unknown"


async def test_status_history_is_of_changes(store: FakeStore) -> None:
    chargers, heard = _chargers(store)
    chargers.boot("CP1", BOOT)
    payload = {"connectorId": 1, "status": "Available", "errorCode": "NoError"}
    chargers.status("CP1", payload)
    chargers.status("CP1", payload)  # the same state again (a reconnect)
    chargers.status("CP1", payload | {"status": "Charging"})
    store.commit_telemetry()
    history = store.rows("SELECT status FROM status_history ORDER BY id")
    assert history == [("Available",), ("Charging",)], "a repeated state made a history row"
    assert store.rows("SELECT status FROM connectors") == [("Charging",)], "the current state is not the last"
    assert heard.kinds().count("ConnectorStatusChanged") == 2
    chargers.set_availability("CP1", 0, "Inoperative")
    store.commit_telemetry()
    restarted, _ = _chargers(store)
    restarted.load(store.conn)
    state = restarted.records["CP1"].connectors[1]
    assert (state.status, state.availability) == ("Charging", "Inoperative"), (
        "connector state not loaded back"
    )


async def test_limits_are_kept_only_once_stored(store: FakeStore) -> None:
    chargers, _ = _chargers(store)
    await chargers.set_limits("CP1", max_frame_size=1024, leniency=("a", "b"))
    assert chargers.max_frame_size("CP1") == 1024
    store.fail_next_write()
    with pytest.raises(StoreError):
        await chargers.set_limits("CP1", max_frame_size=2048)
    assert chargers.max_frame_size("CP1") == 1024, "a limit the store refused was taken"
    restarted, _ = _chargers(store)
    restarted.load(store.conn)
    assert (restarted.max_frame_size("CP1"), restarted.records["CP1"].leniency) == (1024, ("a", "b"))
    assert restarted.max_frame_size("CP2") == OcppConfig().max_frame_size, "no override: the default"


async def test_only_status_columns_can_be_set(store: FakeStore) -> None:
    chargers, _ = _chargers(store)
    chargers.set_status_field("CP1", "firmware_status", "Installed")
    with pytest.raises(ValueError, match="not a settable charger column: id"):
        chargers.set_status_field("CP1", "id", "x")
    store.commit_telemetry()
    assert store.rows("SELECT firmware_status FROM chargers WHERE id = 'CP1'") == [("Installed",)]
