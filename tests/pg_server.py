"""A real PostgreSQL server for tests: Debian's postgresql-15 binaries (or $VOLTYARD_PG_BIN), a data
directory in a temporary directory, listening on 127.0.0.1 on a free port (and on a Unix socket in that
directory), fsync on.

PostgreSQL refuses to run as root: when the tests run as root (CI, this appliance's build machine), the
server runs as the `postgres` system user that Debian's package creates. One server per pytest session
(`pg_server` in tests/conftest.py); each test gets a database of its own (`PgServer.fresh_database`).

Missing binaries are a failure naming the package, never a skip: a suite that silently skips the
PostgreSQL backend would pass without testing it.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

__all__ = ["PG_BIN", "PgServer", "PgServerError"]


def _pg_bin() -> Path:
    """$VOLTYARD_PG_BIN, else Debian's PostgreSQL 15 (bookworm's), else the newest Debian version present."""
    if "VOLTYARD_PG_BIN" in os.environ:
        return Path(os.environ["VOLTYARD_PG_BIN"])
    debian = Path("/usr/lib/postgresql")
    found = sorted(
        (int(path.parent.parent.name), path.parent)
        for path in debian.glob("*/bin/initdb")
        if path.parent.parent.name.isdigit()
    )
    preferred = debian / "15" / "bin"
    if (preferred / "initdb").is_file() or not found:
        return preferred
    return found[-1][1]


PG_BIN = _pg_bin()
_START_TIMEOUT_S = 60
_SUPERUSER = "postgres"


class PgServerError(RuntimeError):
    """The test server could not be started (the message says why and what to install)."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PgServer:
    """One PostgreSQL server in a temporary directory; `start`, then `dsn()` / `fresh_database()`, `stop`."""

    def __init__(self) -> None:
        self.port = 0
        self.root: Path | None = None
        self._as_user: list[str] = []
        self._names = itertools.count(1)

    def start(self) -> None:
        """initdb and start the server; raises PgServerError with a clear reason."""
        for tool in ("initdb", "pg_ctl"):
            if not (PG_BIN / tool).is_file():
                raise PgServerError(
                    f"{PG_BIN / tool} not found: the PostgreSQL store tests need a PostgreSQL 15 server "
                    "(Debian: apt-get install postgresql, which brings postgresql-15)"
                )
        self.root = Path(tempfile.mkdtemp(prefix="voltyard-pg-"))
        if os.geteuid() == 0:
            # PostgreSQL refuses to run as root: its files and process belong to the postgres user.
            runuser = shutil.which("runuser")
            if runuser is None:
                raise PgServerError("running as root without runuser: cannot start PostgreSQL as postgres")
            self._as_user = [runuser, "-u", _SUPERUSER, "--"]
            self.root.chmod(0o755)
            shutil.chown(self.root, _SUPERUSER, _SUPERUSER)
        data = self.root / "data"
        self._run(
            [str(PG_BIN / "initdb"), "-D", str(data), "-U", _SUPERUSER, "--auth=trust", "-E", "UTF8",
             "--locale=C.UTF-8", "--no-instructions"],
            "initdb",
        )  # fmt: skip
        self.port = _free_port()
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=on "
            "-c max_connections=200 -c shared_buffers=32MB"
        )
        self._run(
            [str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(self.root / "server.log"), "-o", options,
             "-w", "-t", str(_START_TIMEOUT_S), "start"],
            "pg_ctl start",
        )  # fmt: skip

    def _run(self, command: list[str], what: str) -> None:
        try:
            done = subprocess.run(
                [*self._as_user, *command],
                check=False,
                capture_output=True,
                text=True,
                timeout=_START_TIMEOUT_S * 2,
            )
        except subprocess.TimeoutExpired as exc:
            raise PgServerError(f"{what} did not finish in {exc.timeout} s") from exc
        if done.returncode != 0:
            log = ""
            if self.root is not None and (self.root / "server.log").exists():
                log = (self.root / "server.log").read_text(errors="replace")[-2000:]
            raise PgServerError(f"{what} failed ({done.returncode}): {done.stderr.strip()} {log}")

    def dsn(self, database: str = "postgres") -> str:
        """The URL of `database` on this server (trust authentication on loopback: no password)."""
        return f"postgresql://{_SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def fresh_database(self) -> str:
        """A new empty database; returns its URL."""
        import psycopg  # noqa: PLC0415 - only the PostgreSQL tests need the driver loaded

        name = f"t{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.dsn(name)

    def drop_database(self, dsn: str) -> None:
        """Drop a database of `fresh_database` (every connection to it is closed first)."""
        import psycopg  # noqa: PLC0415

        name = dsn.rsplit("/", 1)[1]
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its directory."""
        if self.root is None:
            return
        data = self.root / "data"
        if (data / "postmaster.pid").exists():
            with contextlib.suppress(PgServerError):
                self._run(
                    [str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], "pg_ctl stop"
                )
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None
