"""Id tags (voltyard.domain.authorization) without sockets or a writer thread."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from voltyard.config import OcppConfig
from voltyard.domain.authorization import Authorization, IdTag
from voltyard.errors import StoreError
from voltyard.store import id_tags

from .fake_store import FakeStore


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[FakeStore]:
    store = FakeStore(tmp_path / "v.db")
    yield store
    store.close()


def _authorization(store: FakeStore, policy: str = "reject") -> Authorization:
    return Authorization(OcppConfig(unknown_id_tag=policy), store)  # type: ignore[arg-type]


async def test_unknown_tags_get_the_policy(store: FakeStore) -> None:
    assert _authorization(store, "reject").id_tag_info("NOPE") == {"status": "Invalid"}
    assert _authorization(store, "accept").id_tag_info("NOPE") == {"status": "Accepted"}


async def test_a_tag_past_its_expiry_is_expired(store: FakeStore) -> None:
    auth = _authorization(store)
    await auth.put_tag(IdTag("OLD", expiry_date="2001-01-01T00:00:00Z", parent_id_tag="P"))
    assert auth.id_tag_info("OLD") == {"status": "Expired", "expiryDate": "2001-01-01T00:00:00Z",
                                        "parentIdTag": "P"}  # fmt: skip
    await auth.put_tag(IdTag("ODD", expiry_date="not a time"))
    assert auth.id_tag_info("ODD")["status"] == "Accepted", "an unreadable expiry expired a tag"


async def test_an_import_is_all_or_nothing(store: FakeStore) -> None:
    auth = _authorization(store)
    store.fail_next_write()
    with pytest.raises(StoreError):
        await auth.put_tags([IdTag("A"), IdTag("B")])
    assert auth.tags == {}, "tags the store refused are answered as known"
    assert store.rows("SELECT count(*) FROM id_tags") == [(0,)]
    await auth.put_tags([IdTag("A"), IdTag("B", "Blocked")])
    restarted = _authorization(store)
    restarted.load(store.conn)
    assert restarted.tags == {"A": IdTag("A"), "B": IdTag("B", "Blocked")}, "tags did not survive a restart"


async def test_delete(store: FakeStore) -> None:
    auth = _authorization(store)
    assert not await auth.delete_tag("A"), "deleting an unknown tag must say so"
    await auth.put_tag(IdTag("A"))
    assert await auth.delete_tag("A")
    assert auth.id_tag_info("A") == {"status": "Invalid"}, "a deleted tag is still known"
    assert store.rows("SELECT count(*) FROM id_tags") == [(0,)]


async def test_local_lists_full_then_differential(store: FakeStore) -> None:
    store.conn.execute("INSERT INTO chargers (id, first_seen) VALUES ('CP1', 0)")
    full = {
        "updateType": "Full",
        "listVersion": 3,
        "localAuthorizationList": [
            {"idTag": "A", "idTagInfo": {"status": "Accepted"}},
            {"idTag": "B", "idTagInfo": {"status": "Blocked"}},
        ],
    }
    await store.durable(lambda conn: id_tags.apply_local_list(conn, "CP1", full))
    diff = {"updateType": "Differential", "listVersion": 4, "localAuthorizationList": [{"idTag": "A"}]}
    await store.durable(lambda conn: id_tags.apply_local_list(conn, "CP1", diff))
    assert store.rows("SELECT id_tag, status FROM local_list") == [("B", "Blocked")], (
        "a differential entry without idTagInfo must remove the tag"
    )
    assert store.rows("SELECT local_list_version FROM chargers") == [(4,)]
