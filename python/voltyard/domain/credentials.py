"""Charger credentials: the security profile per charger and its Basic-auth password (the AuthorizationKey).

Passwords are stored only as salted scrypt hashes and checked in constant time. The OCA security whitepaper
has the AuthorizationKey configured as a hex string; chargers send either that hex string or the raw bytes
it encodes as their Basic-auth password, so both forms are canonicalised to lower-case hex before hashing.

scrypt is slow on purpose (~40 ms of CPU), so it never runs on the event loop: `verify` runs it in a small
pool of low-priority threads (hashlib.scrypt releases the GIL). Beside the hash, each charger's row keeps a
keyed hash of its password (HMAC-SHA256 under a 32-byte appliance secret kept in the store), written when a
password is set or rotated and after a first successful scrypt check of an older row: `known` compares
against it in microseconds, so a charger presenting its right password never waits for scrypt, not even
after a restart. The keyed hash is no weaker than the password: AuthorizationKeys are 16-40 random bytes.

A refusal costs one scrypt whether or not the charger exists: an unknown id is verified against a dummy hash.
"""

from __future__ import annotations

import asyncio
import binascii
import contextlib
import functools
import hashlib
import hmac
import os
import secrets
import string
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from voltyard.store import credentials as credentials_store
from voltyard.store.connection import Connection
from voltyard.store.writer import StoreWriter

__all__ = [
    "ChargerCredentials",
    "Credentials",
    "basic_auth_impossible",
    "canonical_key",
    "hash_password",
    "verify_password",
]

_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
_HEX = frozenset(string.hexdigits)
# The whitepaper's AuthorizationKey: 16 to 40 bytes, i.e. 32 to 80 hex characters.
MIN_KEY_BYTES, MAX_KEY_BYTES = 16, 40


def canonical_key(secret: bytes) -> bytes:
    """The password as lower-case hex: a hex string is taken as is, raw bytes are hex-encoded."""
    text = secret.decode("latin-1")
    if len(text) % 2 == 0 and text and set(text) <= _HEX:
        return text.lower().encode()
    return binascii.hexlify(secret)


def hash_password(secret: bytes) -> str:
    """A salted scrypt hash of the canonical form of `secret`, self-describing: scrypt$n$r$p$salt$hash."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(canonical_key(secret), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(secret: bytes, stored: str) -> bool:
    """Whether `secret` (hex or raw) matches `stored`; constant time in the comparison."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = bytes.fromhex(digest)
        actual = hashlib.scrypt(
            canonical_key(secret), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


@dataclass(frozen=True, slots=True)
class ChargerCredentials:
    """What a charger must present: its security profile (0-3) and, for 1 and 2, its password hash."""

    profile: int = 0
    password_hash: str | None = None


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the charger has no password, so that a refusal costs the same whether it exists
    (made once, in a hashing thread)."""
    return hash_password(secrets.token_bytes(16))


def _verify_or_dummy(secret: bytes, stored: str | None) -> bool:
    return verify_password(secret, _dummy_hash() if stored is None else stored) and stored is not None


# scrypt's threads: two, so that a flood of wrong passwords takes at most two cores' worth of time slices,
# and at a lower priority than the event loop so that the loop's chargers come first on a busy core.
_HASH_THREADS = 2
_HASH_NICENESS = 10


def _lower_priority() -> None:
    # Linux sets niceness per thread; elsewhere this is best effort.
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _HASH_NICENESS)


class Credentials:
    """Per-charger security settings, loaded at start and changed durably."""

    def __init__(self, store: StoreWriter) -> None:
        self._store = store
        self._by_charger: dict[str, ChargerCredentials] = {}
        # Until `load` reads the appliance's key: keyed hashes made with this one are never stored.
        self._mac_key = secrets.token_bytes(32)
        self._macs: dict[str, bytes] = {}
        self._pool: ThreadPoolExecutor | None = None

    def load(self, conn: Connection) -> None:
        key = credentials_store.load_mac_key(conn)
        if key is not None:
            self._mac_key = key
        for charger_id, profile, password_hash, password_mac in credentials_store.load_credentials(conn):
            self._by_charger[charger_id] = ChargerCredentials(profile, password_hash)
            if password_hash is not None and password_mac is not None:
                self._macs[charger_id] = bytes(password_mac)

    def of(self, charger_id: str) -> ChargerCredentials:
        return self._by_charger.get(charger_id, ChargerCredentials())

    def _mac(self, charger_id: str, secret: bytes) -> bytes:
        return hmac.digest(self._mac_key, charger_id.encode() + b"\0" + canonical_key(secret), "sha256")

    def known(self, charger_id: str, secret: bytes) -> bool:
        """Whether `secret` is the charger's password by its keyed hash (microseconds; False when the row has
        none yet, which `verify` settles)."""
        fast = self._mac(charger_id, secret)
        return hmac.compare_digest(self._macs.get(charger_id, b""), fast)

    async def verify(self, charger_id: str, secret: bytes) -> bool:
        """Whether `secret` is the charger's password: the keyed hash, else scrypt in a worker thread (against
        a dummy hash for a charger with no password, so that the answer takes as long)."""
        if self.known(charger_id, secret):
            return True
        stored = self.of(charger_id).password_hash
        if self._pool is None:
            self._pool = ThreadPoolExecutor(_HASH_THREADS, "scrypt", initializer=_lower_priority)
            self._pool.submit(_dummy_hash)
        loop = asyncio.get_running_loop()
        matches = await loop.run_in_executor(self._pool, _verify_or_dummy, secret, stored)
        if not matches or stored is None or self.of(charger_id).password_hash != stored:
            return False
        mac = self._macs[charger_id] = self._mac(charger_id, secret)
        # Remembered across restarts; losing this write only costs one more scrypt after the next start.
        with contextlib.suppress(Exception):
            await self._store.durable(
                lambda conn: credentials_store.save_password_mac(conn, charger_id, stored, mac)
            )
        return True

    def check_password(self, charger_id: str, secret: bytes) -> bool:
        """Whether `secret` is the charger's password, by scrypt on the calling thread: for tools and tests,
        never the event loop (the handshake uses `known` and `verify`)."""
        stored = self.of(charger_id).password_hash
        return self.known(charger_id, secret) or (stored is not None and verify_password(secret, stored))

    async def set(self, charger_id: str, *, profile: int, password: bytes | None) -> None:
        """Set the profile and (when given) the password of a charger; durable before it takes effect."""
        if profile not in (0, 1, 2, 3):
            raise ValueError(f"security profile must be 0-3, got {profile}")
        if (profile in (1, 2) or password is not None) and ":" in charger_id:
            raise ValueError(basic_auth_impossible(charger_id))
        if password is not None:
            check_key_length(password)
        current = self.of(charger_id)
        password_mac: bytes | None
        if password is not None:
            password_hash: str | None = await asyncio.to_thread(hash_password, password)
            password_mac = self._mac(charger_id, password)
        else:
            password_hash, password_mac = current.password_hash, self._macs.get(charger_id)
        now = time.time()
        await self._store.durable(
            lambda conn: credentials_store.save_credentials(
                conn,
                charger_id,
                profile=profile,
                password_hash=password_hash,
                password_mac=password_mac,
                now=now,
            )
        )
        self._by_charger[charger_id] = ChargerCredentials(profile, password_hash)
        if password_mac is None:
            self._macs.pop(charger_id, None)
        else:
            self._macs[charger_id] = password_mac

    async def rotate(self, charger_id: str, new_key: bytes) -> None:
        """Adopt a new AuthorizationKey (after the charger accepted it); the old one stops working."""
        await self.set(charger_id, profile=self.of(charger_id).profile, password=new_key)


def basic_auth_impossible(charger_id: str) -> str:
    """Why a charger id with ':' cannot be on profile 1 or 2."""
    return (
        f"charger id {charger_id!r} contains ':', which HTTP Basic authentication cannot carry in its "
        "user-id (RFC 7617): it cannot use security profile 1 or 2 (use 0 or 3)"
    )


def check_key_length(key: bytes) -> None:
    """Refuse keys outside the whitepaper's 16-40 bytes (hex keys count the bytes they encode)."""
    raw_length = len(canonical_key(key)) // 2
    if not MIN_KEY_BYTES <= raw_length <= MAX_KEY_BYTES:
        raise ValueError(f"AuthorizationKey must be {MIN_KEY_BYTES}-{MAX_KEY_BYTES} bytes, got {raw_length}")
