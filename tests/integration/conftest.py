"""The system of record on both databases: every test here runs on SQLite and PostgreSQL,
on a schema built by the real migrations."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from skillsubsidy.demo.seed import Demo, seed
from skillsubsidy.store.db import Database
from tests.postgres import create_database, fresh_database


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


@pytest.fixture(scope="session")
def demo_templates() -> dict[str, tuple[str, Demo]]:
    """The demo data set seeded once per database kind (where, what was made), then copied
    for each test that needs it (``demo_db``)."""
    return {}


@pytest.fixture(params=["sqlite", "postgresql"])
def demo_db(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    demo_templates: dict[str, tuple[str, Demo]],
) -> Iterator[tuple[Database, Demo]]:
    """A fresh copy of the seeded demo data set, on SQLite and on PostgreSQL."""
    kind = request.param
    if kind not in demo_templates:
        if kind == "sqlite":
            url = str(tmp_path_factory.mktemp("demo") / "template.db")
        else:
            # kept for the session: the throwaway server goes with it
            url = create_database(request.getfixturevalue("postgres_url"))
        template = Database(f"sqlite:///{url}" if kind == "sqlite" else url)
        template.upgrade()
        made = seed(template)
        template.dispose()  # a template is copied only while nobody is connected
        demo_templates[kind] = (url, made)
    url, made = demo_templates[kind]
    with contextlib.ExitStack() as stack:
        if kind == "sqlite":
            copy = tmp_path / "demo.db"
            shutil.copyfile(url, copy)
            copy_url = f"sqlite:///{copy}"
        else:
            name = urlsplit(url).path.lstrip("/")
            server = request.getfixturevalue("postgres_url")
            copy_url = stack.enter_context(fresh_database(server, template=name))
        db = Database(copy_url)
        stack.callback(db.dispose)
        yield db, made
