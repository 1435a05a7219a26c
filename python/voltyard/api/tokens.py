"""Bearer tokens of the control API: generated into the data directory on first start, one per role."""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

__all__ = ["ROLES", "TokenRing", "ensure_tokens"]

ROLES = ("operator", "readonly")


def ensure_tokens(data_dir: Path) -> dict[str, str]:
    """The token of each role, creating `api-token-<role>` files (mode 0600) where missing."""
    tokens = {}
    for role in ROLES:
        path = data_dir / f"api-token-{role}"
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(32) + "\n")
        tokens[role] = path.read_text().strip()
    return tokens


class TokenRing:
    """Maps a presented token to its role, comparing in constant time."""

    def __init__(self, tokens: dict[str, str]) -> None:
        self._tokens = [(token.encode(), role) for role, token in tokens.items()]

    def role_of(self, presented: str) -> str | None:
        # The HTTP parser hands header bytes that are not UTF-8 over as lone surrogates (surrogateescape);
        # encoding them back the same way gives the bytes sent, which match no token, never an error (a
        # token in Latin-1 once answered 500 with a traceback).
        candidate = presented.encode("utf-8", "surrogateescape")
        role = None
        for token, name in self._tokens:
            if hmac.compare_digest(token, candidate):
                role = name
        return role
