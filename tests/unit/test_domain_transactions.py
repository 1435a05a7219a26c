"""The transactions service (voltyard.domain.transactions) without sockets or a writer thread: what it keeps
in memory and what subscribers hear follow what the store committed, and nothing follows a failed write."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from voltyard.domain.transactions import ClockSkew, StopOutcome, Transactions
from voltyard.errors import StoreError

from .fake_store import FakeStore, Heard, event_bus

START = {"connectorId": 1, "idTag": "TAG", "timestamp": "2026-01-01T10:00:00Z", "meterStart": 100}
STOP = {"transactionId": 0, "meterStop": 600, "timestamp": "2026-01-01T11:00:00Z", "reason": "Local"}


class Setup:
    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self.bus = event_bus(store)
        self.heard = Heard(self.bus)
        self.transactions = Transactions(store, self.bus, ClockSkew(300.0))  # type: ignore[arg-type]


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[Setup]:
    store = FakeStore(tmp_path / "v.db")
    yield Setup(store)
    store.close()


async def test_start_opens_the_transaction_and_announces_it_after_the_commit(setup: Setup) -> None:
    transaction_id = await setup.transactions.start("CP1", START)
    assert setup.transactions.open == {("CP1", 1): {transaction_id: START["timestamp"]}}, (
        "a committed start must be open in memory"
    )
    assert setup.heard.kinds() == ["TransactionStarted"]
    assert setup.heard.events[0].data()["transactionId"] == transaction_id
    assert await setup.transactions.start("CP1", START) == transaction_id, "a replay got another id"
    assert setup.heard.kinds() == ["TransactionStarted"], "a replayed start was announced again"


async def test_a_start_the_store_refused_changes_nothing(setup: Setup) -> None:
    setup.store.fail_next_write()
    with pytest.raises(StoreError):
        await setup.transactions.start("CP1", START)
    await asyncio.sleep(0)  # one turn of the loop: whatever was scheduled for subscribers has run
    assert setup.transactions.open == {}, "memory holds a transaction the store never committed"
    assert setup.heard.events == [], "subscribers heard of a start that was never committed"
    assert setup.store.rows("SELECT count(*) FROM events") == [(0,)]


async def test_stop_closes_in_memory_and_announces_the_flag(setup: Setup) -> None:
    transaction_id = await setup.transactions.start("CP1", START)
    setup.transactions.power_w["CP1", 1] = 7000.0
    outcome = await setup.transactions.stop("CP1", STOP | {"transactionId": transaction_id})
    assert outcome == StopOutcome(transaction_id, "Stopped")
    assert setup.transactions.open == {}, "a stopped transaction is still open in memory"
    assert setup.transactions.power_w == {}, "the connector's power outlived its session"
    assert setup.heard.kinds() == ["TransactionStarted", "TransactionStopped"]
    again = await setup.transactions.stop("CP1", STOP | {"transactionId": transaction_id})
    assert again.flag == "Duplicate"
    assert setup.heard.kinds()[-1] == "TransactionStopFlagged"


async def test_a_stop_beyond_64_bits_is_recorded_as_out_of_range(setup: Setup) -> None:
    transaction_id = await setup.transactions.start("CP1", START)
    outcome = await setup.transactions.stop(
        "CP1", STOP | {"transactionId": transaction_id, "meterStop": 2**64 - 1}
    )
    assert outcome.flag == "OutOfRange"
    event = setup.heard.events[-1]
    assert (event.kind, event.data()["meterStop"]) == ("TransactionStopFlagged", str(2**64 - 1)), (
        "the value that does not fit must be written as decimal text"
    )


async def test_reconcile_closes_the_open_ones_once_committed(setup: Setup) -> None:
    first = await setup.transactions.start("CP1", START)
    second = await setup.transactions.start("CP1", START | {"connectorId": 2})
    closed = await setup.transactions.reconcile("CP1", "ChargerRebooted", connector_id=2)
    assert closed == [second], "reconcile of connector 2 closed another connector's transaction"
    assert setup.transactions.open_on("CP1") == [first]
    assert setup.heard.kinds()[-1] == "TransactionReconciled"


async def test_a_refused_stop_is_not_announced(setup: Setup) -> None:
    transaction_id = await setup.transactions.start("CP1", START)
    setup.store.fail_next_write()
    with pytest.raises(StoreError):
        await setup.transactions.stop("CP1", STOP | {"transactionId": transaction_id})
    await asyncio.sleep(0)  # one turn of the loop: whatever was scheduled for subscribers has run
    assert setup.heard.kinds() == ["TransactionStarted"], "subscribers heard of a stop never committed"


async def test_force_close(setup: Setup) -> None:
    transaction_id = await setup.transactions.start("CP1", START)
    assert await setup.transactions.force_close(transaction_id, 300, "2026-01-01T12:00:00Z", "ana")
    assert setup.transactions.open == {}, "a force-closed transaction is still open in memory"
    assert setup.heard.events[-1].data() == {"transactionId": transaction_id, "operator": "ana"}
    assert not await setup.transactions.force_close(transaction_id, 300, "x", "ana"), "closed twice"


async def test_load_finds_what_is_open(setup: Setup) -> None:
    transaction_id = await setup.transactions.start("CP1", START)
    fresh = Transactions(setup.store, setup.bus)  # type: ignore[arg-type]
    fresh.load(setup.store.conn)
    assert fresh.open == {("CP1", 1): {transaction_id: START["timestamp"]}}, "an open one was not loaded"
