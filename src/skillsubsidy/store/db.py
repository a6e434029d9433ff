"""The database: one URL setting picks SQLite (embedded default) or PostgreSQL (production).

Every write of the services runs in one transaction (``Database.run`` or ``transaction``):
committed when the work returns, rolled back when it raises, so an error never leaves
half a change. Just before the commit the transaction's events are appended to the audit
chain (``store.chain.seal``).

Work that must not race takes locks instead of relying on retries: on PostgreSQL
transactions run ``READ COMMITTED`` and the services lock the rows they decide on
(``SELECT … FOR UPDATE``: the trainee at submission, the fund when a batch is drafted or
paid, the claim they move), so a second request waits for the first and then sees it; on
SQLite every write transaction takes the write lock at its start (``BEGIN IMMEDIATE``), so
writers simply queue. A deadlock or a lock held too long is retried a few times; what still
fails is ``Busy`` (the API answers 503 with ``Retry-After``), never a half-written change.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from skillsubsidy.store.chain import seal

URL_SETTING = "SKILLSUBSIDY_DATABASE_URL"
DEFAULT_URL = "sqlite:///skillsubsidy.db"
MIGRATIONS = Path(__file__).parent / "migrations"
_RETRIES = 4
# PostgreSQL: give up waiting for a lock after this, and end a session left idle inside a
# transaction (a crashed worker), so the pool never fills with stuck connections
LOCK_TIMEOUT_MS = 5000
IDLE_IN_TRANSACTION_TIMEOUT_MS = 120_000


class Busy(Exception):
    """The database could not take the work now (lock wait, deadlock, no free connection):
    nothing was written; try again shortly."""

    retry_after = 1


T = TypeVar("T")


def database_url() -> str:
    return os.environ.get(URL_SETTING) or DEFAULT_URL


def make_engine(url: str, writer: bool = True) -> Engine:
    """``writer``: on SQLite, transactions take the write lock when they begin; readers do
    not (in WAL mode they read a snapshot while a writer works)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_setup(dbapi_connection: Any, _record: Any) -> None:
            # let SQLAlchemy, not the driver, begin transactions (see "begin" below)
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")

        return engine
    options = (
        f"-c lock_timeout={LOCK_TIMEOUT_MS} "
        f"-c idle_in_transaction_session_timeout={IDLE_IN_TRANSACTION_TIMEOUT_MS}"
    )
    return create_engine(
        url,
        pool_pre_ping=True,
        # as many as the request threads a worker runs (40): none opened and closed per burst
        pool_size=20,
        max_overflow=20,
        pool_timeout=10,
        connect_args={"options": options},
    )


class Database:
    def __init__(self, url: str | None = None):
        self.url = url or database_url()
        self.engine = make_engine(self.url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        reader = make_engine(self.url, writer=False) if self.url.startswith("sqlite") else None
        self._reader = reader
        self._read_sessions = sessionmaker(reader or self.engine, expire_on_commit=False)

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def upgrade(self) -> None:
        """Bring the schema to the newest migration."""
        upgrade(self.url, self.engine)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: its events sealed into the audit chain and committed on
        success, everything rolled back on any error."""
        session = self._sessions()
        try:
            yield session
            seal(session)
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def run(self, work: Callable[[Session], T]) -> T:
        """``work`` in one transaction, tried again (from the start, on fresh data) when
        PostgreSQL picks it as the loser of a deadlock or a race; ``Busy`` when that goes on."""
        for attempt in range(_RETRIES):
            try:
                with self.transaction() as session:
                    return work(session)
            except PoolTimeout as exc:
                raise Busy("no database connection free") from exc
            except DBAPIError as exc:
                if not _is_conflict(exc):
                    raise
                if attempt == _RETRIES - 1:
                    raise Busy(str(exc.orig)) from exc
                time.sleep(0.02 * (attempt + 1) + random.random() * 0.02)
        raise AssertionError("unreachable")

    def write(self, work: Callable[[Session], T]) -> T:
        """``run``, for requests from outside, where any two may race."""
        return self.run(work)

    def session(self) -> Session:
        """A read-only look (nothing is committed)."""
        return self._read_sessions()

    def dispose(self) -> None:
        self.engine.dispose()
        if self._reader is not None:
            self._reader.dispose()


def claim_exclusively(session: Session, key: str) -> bool:
    """Take the transaction-long right to do the work named ``key`` (e.g. one trainee's claim
    on one certificate), or False at once if another transaction holds it. On SQLite writers
    run one at a time anyway: always True."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    taken = session.execute(
        text("SELECT pg_try_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key}
    ).scalar_one()
    return bool(taken)


def _is_conflict(exc: DBAPIError) -> bool:
    """PostgreSQL chose this transaction as the loser of a race: serialization_failure,
    deadlock_detected, lock_not_available (lock_timeout); SQLite: database is locked."""
    if getattr(exc.orig, "sqlstate", None) in ("40001", "40P01", "55P03"):
        return True
    return "database is locked" in str(exc.orig)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, engine: Engine | None = None) -> None:
    config = alembic_config(url)
    if engine is not None:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    else:
        command.upgrade(config, "head")
