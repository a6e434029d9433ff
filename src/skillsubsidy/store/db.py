"""The database: one URL setting picks SQLite (embedded default) or PostgreSQL (production).

Every write of the services runs in one transaction (``Database.run`` or ``transaction``):
committed when the work returns, rolled back when it raises, so an error never leaves
half a change. Work that must not race (the ledger controls at submission) runs
serialisable: on PostgreSQL with ``SERIALIZABLE`` isolation and a retry when the server
picks it as the loser; on SQLite every write transaction takes the write lock at its start
(``BEGIN IMMEDIATE``), so writers simply queue.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

URL_SETTING = "SKILLSUBSIDY_DATABASE_URL"
DEFAULT_URL = "sqlite:///skillsubsidy.db"
MIGRATIONS = Path(__file__).parent / "migrations"
_RETRIES = 8

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
    return create_engine(url, pool_pre_ping=True)


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
    def transaction(self, serializable: bool = False) -> Iterator[Session]:
        """One unit of work: commit on success, roll back on any error."""
        session = self._sessions()
        if serializable and self.is_postgresql:
            session.connection(execution_options={"isolation_level": "SERIALIZABLE"})
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def run(self, work: Callable[[Session], T], serializable: bool = False) -> T:
        """``work`` in one transaction; serialisable work is retried when PostgreSQL
        aborts it for a conflict with a concurrent transaction (it then sees the winner)."""
        for attempt in range(_RETRIES):
            try:
                with self.transaction(serializable) as session:
                    return work(session)
            except DBAPIError as exc:
                if not (serializable and _is_conflict(exc)) or attempt == _RETRIES - 1:
                    raise
                time.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    def write(self, work: Callable[[Session], T]) -> T:
        """``run`` serialisable: for requests from outside, where any two may race."""
        return self.run(work, serializable=True)

    def session(self) -> Session:
        """A read-only look (nothing is committed)."""
        return self._read_sessions()

    def dispose(self) -> None:
        self.engine.dispose()
        if self._reader is not None:
            self._reader.dispose()


def _is_conflict(exc: DBAPIError) -> bool:
    """PostgreSQL chose this transaction as the loser of a race: serialization_failure,
    deadlock_detected, or a unique key another transaction took first."""
    return getattr(exc.orig, "sqlstate", None) in ("40001", "40P01", "23505")


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
