"""The throwaway PostgreSQL server of tests/postgres.py: reachable through SQLAlchemy, new
enough, and one separate database per test."""

from __future__ import annotations

import re

import sqlalchemy as sa

from tests.postgres import fresh_database


def _scalar(url: str, query: str) -> object:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(query)).scalar()
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_server_is_postgresql_15_or_newer(postgres_url: str) -> None:
    version = str(_scalar(postgres_url, "select version()"))
    match = re.match(r"PostgreSQL (\d+)", version)
    assert match, version
    assert int(match.group(1)) >= 15, version


def test_each_test_database_is_separate_and_empty(postgres_url: str, postgres_db_url: str) -> None:
    assert _tables(postgres_db_url) == set()
    engine = sa.create_engine(postgres_db_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("create table claim (id integer primary key)"))
            conn.execute(sa.text("insert into claim values (1)"))
    finally:
        engine.dispose()
    assert _tables(postgres_db_url) == {"claim"}

    with fresh_database(postgres_url) as other_url:
        assert other_url != postgres_db_url
        assert _tables(other_url) == set()
    assert "claim" not in _tables(postgres_url)

    # the second database was dropped on leaving the block
    other_name = other_url.rsplit("/", 1)[1]
    exists = f"select count(*) from pg_database where datname = '{other_name}'"
    assert _scalar(postgres_url, exists) == 0
