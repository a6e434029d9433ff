"""A throwaway PostgreSQL server for the storage tests.

The store has to work the same on SQLite and PostgreSQL, and SQLite alone hides much of what
PostgreSQL checks (types, constraints, locking, transactional DDL). So the suite starts a private
server of its own: a fresh temporary data directory, a free port on 127.0.0.1, settings tuned for
speed over durability; it is stopped and removed when the session ends. Nothing on the machine
is used or changed.

* ``postgres_url`` (session): SQLAlchemy URL of the database ``skillsubsidy_test`` on that
  server. Set ``SKILLSUBSIDY_TEST_POSTGRES_URL`` to use an existing server instead.
* ``postgres_db_url`` (per test): a fresh, empty database, dropped afterwards.

Without PostgreSQL binaries (or when the server does not start) the tests that need it are
skipped, except when ``CI`` is set: there they fail, because CI must really test PostgreSQL.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

ENV_URL = "SKILLSUBSIDY_TEST_POSTGRES_URL"
DB_NAME = "skillsubsidy_test"
SETTINGS = {  # for tests only: a crash may lose data, which is fine for a throwaway server
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "100",
}


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is required under CI but {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL not available: {reason}")


def _find_binaries() -> tuple[str, str] | None:
    """initdb and pg_ctl: from PATH, else from the newest /usr/lib/postgresql/*/bin (Debian)."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl:
        return initdb, pg_ctl

    def version(bin_dir: str) -> tuple[int, ...]:
        return tuple(int(p) for p in Path(bin_dir).parent.name.split(".") if p.isdigit())

    for bin_dir in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True):
        initdb, pg_ctl = f"{bin_dir}/initdb", f"{bin_dir}/pg_ctl"
        if os.access(initdb, os.X_OK) and os.access(pg_ctl, os.X_OK):
            return initdb, pg_ctl
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Server:
    """One PostgreSQL cluster in a temporary directory; run as `postgres` when we are root."""

    def __init__(self, initdb: str, pg_ctl: str) -> None:
        self.initdb, self.pg_ctl = initdb, pg_ctl
        self.root = os.geteuid() == 0
        self.tmp = Path(tempfile.mkdtemp(prefix="skillsubsidy-pg-"))
        self.data, self.log = self.tmp / "data", self.tmp / "server.log"
        self.port = _free_port()
        self.stopped = False
        if self.root:  # initdb and postgres refuse to run as root
            shutil.chown(self.tmp, "postgres", "postgres")

    def _run(self, *args: str) -> None:
        cmd = ["runuser", "-u", "postgres", "--", *args] if self.root else list(args)
        done = subprocess.run(
            cmd, cwd=self.tmp, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120
        )
        if done.returncode != 0:
            output = (done.stderr or done.stdout).strip()
            raise RuntimeError(f"{Path(args[0]).name} exited with {done.returncode}: {output}")

    def start(self) -> None:
        common = ["-D", str(self.data), "--auth=trust", "-U", "postgres", "--encoding=UTF8"]
        try:
            self._run(self.initdb, *common, "--locale=C.UTF-8", "--no-sync")
        except RuntimeError:  # no C.UTF-8 locale on this machine
            shutil.rmtree(self.data, ignore_errors=True)
            self._run(self.initdb, *common, "--locale=C", "--no-sync")
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.tmp}'",
            **SETTINGS,
        }
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
        try:
            self._run(
                self.pg_ctl, "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start"
            )
        except RuntimeError as exc:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{exc}\n{log}") from None
        conninfo = f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DB_NAME)))

    def stop(self) -> None:
        """Idempotent; runs from the session finalizer and, as a fallback, at interpreter exit."""
        if self.stopped:
            return
        self.stopped = True
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError, OSError, subprocess.SubprocessError):
                self._run(self.pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url(request: pytest.FixtureRequest) -> str:
    """SQLAlchemy URL of a throwaway server's `skillsubsidy_test` database (or $ENV_URL)."""
    if url := os.environ.get(ENV_URL):
        return url
    binaries = _find_binaries()
    if binaries is None:
        _unavailable("initdb/pg_ctl were not found (PATH, /usr/lib/postgresql/*/bin)")
    server = _Server(*binaries)
    request.addfinalizer(server.stop)  # registered before starting: also cleans up a failed start
    atexit.register(server.stop)
    error = None
    try:
        server.start()
    except (RuntimeError, OSError, subprocess.SubprocessError, psycopg.Error) as exc:
        error = f"the test server did not start: {exc}"
    if error:
        _unavailable(error)
    return f"postgresql+psycopg://postgres@127.0.0.1:{server.port}/{DB_NAME}"


def create_database(server_url: str, template: str = "template0") -> str:
    """A new database on the server of `server_url` (same URL, other name), empty or a copy
    of ``template`` (a database nobody is connected to): its URL. Gone with the server."""
    parts = urlsplit(server_url)
    admin = urlunsplit(parts._replace(scheme=parts.scheme.split("+")[0]))  # a libpq URI
    name = f"skillsubsidy_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        create = sql.SQL("CREATE DATABASE {} TEMPLATE {}")
        conn.execute(create.format(sql.Identifier(name), sql.Identifier(template)))
    return urlunsplit(parts._replace(path=f"/{name}"))


@contextlib.contextmanager
def fresh_database(server_url: str, template: str = "template0") -> Iterator[str]:
    """``create_database``, dropped after."""
    parts = urlsplit(server_url)
    admin = urlunsplit(parts._replace(scheme=parts.scheme.split("+")[0]))  # a libpq URI
    url = create_database(server_url, template)
    name = urlsplit(url).path.lstrip("/")
    try:
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            conn.execute(drop.format(sql.Identifier(name)))


@pytest.fixture
def postgres_db_url(postgres_url: str) -> Iterator[str]:
    """A fresh, empty database per test, so storage tests never see each other's rows."""
    with fresh_database(postgres_url) as url:
        yield url
