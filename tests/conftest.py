"""Shared fixtures: one engine per session (its compiled plans are reused), paths, ID maker."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from skillsubsidy.policy.engine import Engine

# postgres_url / postgres_db_url: a throwaway PostgreSQL server for the storage tests
pytest_plugins = ["tests.postgres"]

ROOT = Path(__file__).resolve().parents[1]
SHARED_SPEC = ROOT.parent / "shared" / "spec"

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def make_id(region: str = "330302", born: dt.date = dt.date(1990, 5, 17), seq: int = 201) -> str:
    """A valid 18-character citizen ID (GB 11643-1999); ``seq`` odd = male."""
    body = f"{region}{born:%Y%m%d}{seq:03d}"
    total = sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True))
    return body + "10X98765432"[total % 11]


@pytest.fixture(scope="session")
def engine() -> Engine:
    return Engine()
