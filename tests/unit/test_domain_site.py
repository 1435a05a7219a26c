"""The site service (voltyard.domain.site) without sockets or a writer thread."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from voltyard.domain.site import Site
from voltyard.domain.transactions import Transactions
from voltyard.errors import StoreError

from .fake_store import FakeStore, Heard, event_bus


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[FakeStore]:
    store = FakeStore(tmp_path / "v.db")
    yield store
    store.close()


def _site(store: FakeStore) -> tuple[Site, Heard]:
    bus = event_bus(store)
    return Site(store, bus, Transactions(store, bus)), Heard(bus)  # type: ignore[arg-type]


async def test_a_new_limit_is_stored_then_announced_and_loaded_back(store: FakeStore) -> None:
    site, heard = _site(store)
    await site.set_limit(250.0, "ana")
    assert site.limit_kw == 250.0
    assert [e.data() for e in heard.events] == [{"limitKw": 250.0, "previousKw": 1000.0, "operator": "ana"}]
    restarted, _ = _site(store)
    restarted.load(store.conn)
    assert restarted.limit_kw == 250.0, "the limit did not survive a restart"


async def test_a_limit_the_store_refused_is_not_taken(store: FakeStore) -> None:
    site, heard = _site(store)
    store.fail_next_write()
    with pytest.raises(StoreError):
        await site.set_limit(250.0)
    assert site.limit_kw == 1000.0, "the limit changed though the store never committed it"
    assert heard.events == [], "subscribers heard of a limit never committed"


async def test_an_impossible_limit_is_refused_before_the_store(store: FakeStore) -> None:
    site, _ = _site(store)
    with pytest.raises(ValueError, match="limit_kw must be within"):
        await site.set_limit(-1.0)
    assert store.durable_writes == 0, "a refused limit reached the store"


async def test_power_counts_the_cabinet_guns_once(store: FakeStore) -> None:
    site, _ = _site(store)
    site._transactions.power_w.update({("CP1", 1): 11000.0, ("GUN", 1): 50000.0})
    site.own_charge_points = frozenset({"GUN"})
    site.cabinet_kw = lambda: 50.0
    assert site.power_kw() == 61.0, "a cabinet gun's power was counted twice (or not at all)"
