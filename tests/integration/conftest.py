"""The system of record on both databases: every test here runs on SQLite and PostgreSQL,
on a schema built by the real migrations."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from skillsubsidy.store.db import Database


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'skillsubsidy.db'}"
    else:
        url = request.getfixturevalue("postgres_db_url")
    db = Database(url)
    db.upgrade()
    yield db
    db.dispose()
