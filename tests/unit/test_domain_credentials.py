"""Charger credentials (voltyard.domain.credentials) without sockets or a writer thread."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from voltyard.domain.credentials import ChargerCredentials, Credentials
from voltyard.errors import StoreError

from .fake_store import FakeStore

KEY = b"0123456789abcdef0123456789abcdef"  # 16 bytes as hex


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[FakeStore]:
    store = FakeStore(tmp_path / "v.db")
    yield store
    store.close()


async def test_a_password_set_is_checked_and_survives_a_restart(store: FakeStore) -> None:
    credentials = Credentials(store)  # type: ignore[arg-type]
    await credentials.set("CP1", profile=1, password=KEY)
    assert credentials.check_password("CP1", KEY)
    assert credentials.check_password("CP1", bytes.fromhex(KEY.decode())), "the raw-bytes form was refused"
    assert not credentials.check_password("CP1", b"wrong" * 8)
    restarted = Credentials(store)  # type: ignore[arg-type]
    restarted.load(store.conn)
    assert restarted.of("CP1").profile == 1
    assert restarted.check_password("CP1", KEY), "the password did not survive a restart"
    stored = store.rows("SELECT password_hash FROM chargers")[0][0]
    assert KEY.decode() not in stored, "the password was stored, not its hash"


async def test_a_change_the_store_refused_keeps_the_old_key(store: FakeStore) -> None:
    credentials = Credentials(store)  # type: ignore[arg-type]
    await credentials.set("CP1", profile=1, password=KEY)
    store.fail_next_write()
    with pytest.raises(StoreError):
        await credentials.rotate("CP1", b"f" * 40)
    assert credentials.check_password("CP1", KEY), "the old key stopped working though the new was not stored"


async def test_bad_profiles_and_keys_are_refused_before_the_store(store: FakeStore) -> None:
    credentials = Credentials(store)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="security profile must be 0-3, got 4"):
        await credentials.set("CP1", profile=4, password=None)
    with pytest.raises(ValueError, match="AuthorizationKey must be 16-40 bytes, got 2"):
        await credentials.set("CP1", profile=1, password=b"abcd")
    assert store.durable_writes == 0
    assert credentials.of("CP1") == ChargerCredentials()


async def test_a_password_set_is_known_by_its_keyed_hash_after_a_restart(store: FakeStore) -> None:
    # Issue 17, finding 5: a restart must not cost scrypt per charger at the handshake.
    credentials = Credentials(store)  # type: ignore[arg-type]
    credentials.load(store.conn)
    await credentials.set("CP1", profile=1, password=KEY)
    restarted = Credentials(store)  # type: ignore[arg-type]
    restarted.load(store.conn)
    assert restarted.known("CP1", KEY)
    assert restarted.known("CP1", bytes.fromhex(KEY.decode())), "the raw-bytes form is not known"
    assert not restarted.known("CP1", b"f" * 32)
    assert not restarted.known("CP2", KEY), "the keyed hash is not bound to its charger"
    mac = store.rows("SELECT password_mac FROM chargers WHERE id = 'CP1'")[0][0]
    assert KEY not in mac
    assert len(mac) == 32


async def test_an_older_row_learns_its_keyed_hash_at_its_first_verification(store: FakeStore) -> None:
    credentials = Credentials(store)  # type: ignore[arg-type]
    credentials.load(store.conn)
    await credentials.set("CP1", profile=1, password=KEY)
    store.conn.execute("UPDATE chargers SET password_mac = NULL")  # as a row written before migration 6
    restarted = Credentials(store)  # type: ignore[arg-type]
    restarted.load(store.conn)
    assert not restarted.known("CP1", KEY)
    assert not await restarted.verify("CP1", b"f" * 32)
    assert not await restarted.verify("CP-UNKNOWN", KEY)
    assert await restarted.verify("CP1", KEY)
    again = Credentials(store)  # type: ignore[arg-type]
    again.load(store.conn)
    assert again.known("CP1", KEY)


async def test_a_charger_id_with_a_colon_cannot_get_a_basic_auth_password(store: FakeStore) -> None:
    credentials = Credentials(store)  # type: ignore[arg-type]
    for profile in (1, 2, 0):
        with pytest.raises(ValueError, match="contains ':'"):
            await credentials.set("SITE:7", profile=profile, password=KEY)
    with pytest.raises(ValueError, match="contains ':'"):
        await credentials.set("SITE:7", profile=1, password=None)
    await credentials.set("SITE:7", profile=3, password=None)  # a client certificate has no such limit
    assert credentials.of("SITE:7").profile == 3
