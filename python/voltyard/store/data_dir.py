"""The data directory: created private, tightened if it is not, and held by one appliance at a time.

The store holds id tags, charger credentials and every frame exchanged, and the directory holds the API
tokens, so the directory is 0700 and its files 0600. A directory or file that is wider is tightened at
start, with a warning naming it and its old mode (an operator who opened it on purpose sees why it
changed); one owned by another user is only warned about, since chmod would fail.

Two appliances on one store would both believe they own it (transaction ids, the local list, the writer's
group commit), so `voltyard.lock` in the directory is locked exclusively (flock) for the life of the
process and holds its pid: a second `voltyard serve` on the same directory stops at once naming the
holder. The lock dies with the process, so a crash leaves nothing to clean up.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import stat
from pathlib import Path

from voltyard.errors import StoreError

__all__ = ["LOCK_FILENAME", "PRIVATE_FILES", "DataDir"]

log = logging.getLogger(__name__)

LOCK_FILENAME = "voltyard.lock"
# The files of the data directory that must stay private (the token files are named per role).
PRIVATE_FILES = ("voltyard.db", "voltyard.db-wal", "voltyard.db-shm", LOCK_FILENAME)
_PRIVATE_GLOBS = ("api-token-*",)


class DataDir:
    """The locked data directory of one running appliance; `open` it at start, `close` it at the end."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock_fd: int | None = None

    def open(self) -> None:
        """Create (0700) or tighten the directory and its files, then take the lock.

        Raises:
            StoreError: the directory cannot be created or locked, or another process holds it.
        """
        path = self.path
        if path.exists() and not path.is_dir():
            raise StoreError(f"{path}: the data directory is not a directory")
        try:
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"{path}: cannot create the data directory: {exc.strerror}") from exc
        _tighten(path, 0o700)
        for name in PRIVATE_FILES:
            if (path / name).is_file():
                _tighten(path / name, 0o600)
        for pattern in _PRIVATE_GLOBS:
            for found in sorted(path.glob(pattern)):
                if found.is_file():
                    _tighten(found, 0o600)
        self._lock()

    def close(self) -> None:
        """Release the lock (the file stays: removing it would race with the next appliance)."""
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _lock(self) -> None:
        lock_path = self.path / LOCK_FILENAME
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise StoreError(
                f"{self.path}: cannot create the lock file {LOCK_FILENAME}: {exc.strerror} "
                "(is the data directory writable?)"
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = _read_pid(fd)
            os.close(fd)
            who = f"pid {holder}" if holder else "another process"
            raise StoreError(
                f"{self.path}: the data directory is in use by another voltyard ({who}); "
                "one appliance per data directory"
            ) from exc
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd


def _read_pid(fd: int) -> str:
    with contextlib.suppress(OSError, ValueError):
        return str(int(os.pread(fd, 32, 0).decode().strip()))
    return ""


def _tighten(path: Path, mode: int) -> None:
    """chmod `path` to `mode` if group or others have any access; warn when it cannot be done."""
    try:
        info = path.stat()
    except OSError:
        return
    current = stat.S_IMODE(info.st_mode)
    if not current & 0o077:
        return
    if info.st_uid != os.geteuid():
        log.warning(
            "%s: mode %04o gives other users access, and it belongs to another user: not changed",
            path, current,
        )  # fmt: skip
        return
    try:
        path.chmod(mode)
    except OSError as exc:
        log.warning("%s: mode %04o gives other users access; cannot tighten it: %s", path, current, exc)
        return
    log.warning("%s: mode %04o tightened to %04o (the store and tokens are private)", path, current, mode)
