"""Which bearer token the console presents, and from where it came.

The appliance writes `api-token-operator` and `api-token-readonly` into its data directory on first start
(docs/api.md). Run on the appliance itself, the console finds them there without flags: the operator
token if this user can read it, else the read-only one (and it then says "read-only" on screen rather
than letting every command fail with 403).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Credentials", "TokenError", "default_data_dir", "resolve_token"]

OPERATOR_FILE = "api-token-operator"
READONLY_FILE = "api-token-readonly"


class TokenError(Exception):
    """No usable token: the message says where the console looked."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """A bearer token and whether it is known to be read-only (a read-only token file was used)."""

    token: str
    source: str
    read_only: bool = False


def default_data_dir() -> Path:
    """The appliance's default data directory: `$XDG_DATA_HOME/voltyard` (~/.local/share/voltyard)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "voltyard"


def _read(path: Path) -> str:
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise TokenError(f"{path}: cannot read the token file: {exc.strerror}") from exc
    if not token:
        raise TokenError(f"{path}: the token file is empty")
    return token


def resolve_token(
    token: str | None = None, token_file: Path | None = None, data_dir: Path | None = None
) -> Credentials:
    """The token to use: `token`, else `token_file`, else the operator then read-only file in `data_dir`."""
    if token:
        return Credentials(token.strip(), "--token")
    if token_file is not None:
        return Credentials(_read(token_file), str(token_file), read_only=token_file.name == READONLY_FILE)
    directory = data_dir or default_data_dir()
    operator, readonly = directory / OPERATOR_FILE, directory / READONLY_FILE
    if os.access(operator, os.R_OK):
        return Credentials(_read(operator), str(operator))
    if os.access(readonly, os.R_OK):
        return Credentials(_read(readonly), str(readonly), read_only=True)
    raise TokenError(
        f"no API token: neither {operator} nor {readonly} is readable; "
        "pass --token-file PATH or --token TOKEN (the appliance writes the files on first start)"
    )
