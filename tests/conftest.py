"""Shared fixtures: one engine per session (its compiled plans are reused), paths, ID maker."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from skillsubsidy.demo.seed import citizen_id
from skillsubsidy.policy.engine import Engine

# postgres_url / postgres_db_url: a throwaway PostgreSQL server for the storage tests
pytest_plugins = ["tests.postgres"]

ROOT = Path(__file__).resolve().parents[1]
SHARED_SPEC = ROOT.parent / "shared" / "spec"


def make_id(region: str = "330302", born: dt.date = dt.date(1990, 5, 17), seq: int = 201) -> str:
    """A valid 18-character citizen ID (GB 11643-1999); ``seq`` odd = male."""
    return citizen_id(region, born, seq)


@pytest.fixture(scope="session")
def engine() -> Engine:
    return Engine()
