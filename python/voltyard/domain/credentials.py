"""Charger credentials: the security profile per charger and its Basic-auth password (the AuthorizationKey).

Passwords are stored only as salted scrypt hashes and checked in constant time. The OCA security whitepaper
has the AuthorizationKey configured as a hex string; chargers send either that hex string or the raw bytes
it encodes as their Basic-auth password, so both forms are canonicalised to lower-case hex before hashing.

scrypt is slow on purpose (~40 ms); the websocket handshake cannot await, so a successful check is
remembered for the process as a keyed fast digest (HMAC with a per-process random key), and reconnects
of a verified charger cost microseconds. The cache never leaves memory.
"""

from __future__ import annotations

import asyncio
import binascii
import hashlib
import hmac
import secrets
import sqlite3
import string
import time
from dataclasses import dataclass

from voltyard.store import credentials as credentials_store
from voltyard.store.writer import StoreWriter

__all__ = [
    "ChargerCredentials",
    "Credentials",
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


class Credentials:
    """Per-charger security settings, loaded at start and changed durably."""

    def __init__(self, store: StoreWriter) -> None:
        self._store = store
        self._by_charger: dict[str, ChargerCredentials] = {}
        self._cache_key = secrets.token_bytes(32)
        self._verified: dict[str, bytes] = {}

    def load(self, conn: sqlite3.Connection) -> None:
        for charger_id, profile, password_hash in credentials_store.load_credentials(conn):
            self._by_charger[charger_id] = ChargerCredentials(profile, password_hash)

    def of(self, charger_id: str) -> ChargerCredentials:
        return self._by_charger.get(charger_id, ChargerCredentials())

    def check_password(self, charger_id: str, secret: bytes) -> bool:
        """Whether `secret` is the charger's password (slow the first time, cached after a success)."""
        stored = self.of(charger_id).password_hash
        if stored is None:
            return False
        fast = hmac.digest(self._cache_key, charger_id.encode() + b"\0" + canonical_key(secret), "sha256")
        known = self._verified.get(charger_id)
        if known is not None and hmac.compare_digest(known, fast):
            return True
        if not verify_password(secret, stored):
            return False
        self._verified[charger_id] = fast
        return True

    async def set(self, charger_id: str, *, profile: int, password: bytes | None) -> None:
        """Set the profile and (when given) the password of a charger; durable before it takes effect."""
        if profile not in (0, 1, 2, 3):
            raise ValueError(f"security profile must be 0-3, got {profile}")
        if password is not None:
            check_key_length(password)
        current = self.of(charger_id)
        password_hash = (
            await asyncio.to_thread(hash_password, password)
            if password is not None
            else current.password_hash
        )
        now = time.time()
        await self._store.durable(
            lambda conn: credentials_store.save_credentials(conn, charger_id, profile, password_hash, now)
        )
        self._by_charger[charger_id] = ChargerCredentials(profile, password_hash)
        self._verified.pop(charger_id, None)

    async def rotate(self, charger_id: str, new_key: bytes) -> None:
        """Adopt a new AuthorizationKey (after the charger accepted it); the old one stops working."""
        await self.set(charger_id, profile=self.of(charger_id).profile, password=new_key)


def check_key_length(key: bytes) -> None:
    """Refuse keys outside the whitepaper's 16-40 bytes (hex keys count the bytes they encode)."""
    raw_length = len(canonical_key(key)) // 2
    if not MIN_KEY_BYTES <= raw_length <= MAX_KEY_BYTES:
        raise ValueError(f"AuthorizationKey must be {MIN_KEY_BYTES}-{MAX_KEY_BYTES} bytes, got {raw_length}")
