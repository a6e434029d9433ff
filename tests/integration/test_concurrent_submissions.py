"""The ledger controls hold under concurrency: of many parallel submissions that cannot all
be granted, exactly as many pass as the rules allow (003 四(三))."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from sqlalchemy import select

from skillsubsidy.domain.workflow import ClaimStatus
from skillsubsidy.services import claims, registry
from skillsubsidy.services.errors import InProgress
from skillsubsidy.store.db import Database
from skillsubsidy.store.models import Claim
from tests.conftest import make_id

PARALLEL = 8


def _facts(id_number: str) -> dict[str, Any]:
    return {
        "jurisdiction": "wenzhou",
        "kind": "certificate",
        "claimant": "individual",
        "route": "competition",  # no class needed: competitions are not filed
        "district": "330302",
        "person": {"id_number": id_number, "hukou_local": True},
    }


def _certificates(db: Database, id_number: str, occupations: list[str]) -> list[int]:
    """The trainee, the district and one recorded certificate per occupation exist already:
    the race is about the ledger alone."""

    def setup(s: Any) -> list[int]:
        person = registry.register_person(s, id_number, "张小三")
        registry.ensure_district(s, "330302")
        return [
            registry.record_certificate(
                s,
                "caseworker",
                person,
                type="vocational",
                occupation=occupation,
                level=4,
                number=f"N-{id_number[-4:]}-{n}",
                issued_on=dt.date(2024, 4, 20),
            ).id
            for n, occupation in enumerate(occupations)
        ]

    return db.run(setup)


def _race(db: Database, id_number: str, certificates: list[int]) -> list[BaseException]:
    start = threading.Barrier(len(certificates))
    failures: list[BaseException] = []

    def submit(certificate_id: int) -> None:
        start.wait()
        try:
            db.run(
                lambda s: claims.submit_claim(
                    s,
                    "applicant",
                    _facts(id_number),
                    person_name="张小三",
                    applied_on=dt.date(2024, 5, 10),
                    certificate_id=certificate_id,
                )
            )
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=submit, args=(c,)) for c in certificates]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return failures


def _statuses(db: Database) -> list[tuple[ClaimStatus, list[str]]]:
    with db.session() as s:
        return [
            (c.status, c.decision.reasons if c.decision else [])
            for c in s.scalars(select(Claim).order_by(Claim.id))
        ]


def test_one_winner_among_parallel_duplicates(database: Database) -> None:
    """Eight certificates of the same occupation and level: the ledger grants one."""
    id_number = make_id(seq=301)
    certificates = _certificates(database, id_number, ["电工"] * PARALLEL)
    failures = _race(database, id_number, certificates)
    assert failures == []
    got = _statuses(database)
    assert len(got) == PARALLEL
    assert [st for st, _ in got].count(ClaimStatus.SUBMITTED) == 1
    losers = [reasons for st, reasons in got if st == ClaimStatus.REJECTED]
    assert len(losers) == PARALLEL - 1
    assert all("duplicate_occupation_level" in r for r in losers)


def test_three_a_year_among_parallel_different_occupations(database: Database) -> None:
    id_number = make_id(seq=303)
    occupations = ["电工", "焊工", "车工", "钳工", "铣工", "磨工"]
    failures = _race(database, id_number, _certificates(database, id_number, occupations))
    assert failures == []
    got = _statuses(database)
    assert [st for st, _ in got].count(ClaimStatus.SUBMITTED) == 3
    assert all("annual_limit_reached" in r for st, r in got if st == ClaimStatus.REJECTED)


def test_one_claim_among_parallel_repeats_of_one_certificate(database: Database) -> None:
    """The same certificate sent eight times at once: one claim, seven refusals naming it,
    nothing else written (no rejected duplicate rows)."""
    id_number = make_id(seq=305)
    [certificate] = _certificates(database, id_number, ["电工"])
    failures = _race(database, id_number, [certificate] * PARALLEL)
    got = _statuses(database)
    assert [st for st, _ in got] == [ClaimStatus.SUBMITTED]
    assert len(failures) == PARALLEL - 1
    # refused naming the first, or (PostgreSQL, while the first is being decided) told to
    # try again shortly
    assert all(isinstance(f, claims.Duplicate | InProgress) for f in failures), failures
    with database.session() as s:
        first = s.scalar(select(Claim.id))
    assert {f.existing_id for f in failures if isinstance(f, claims.Duplicate)} <= {first}
    # a retry now is refused naming it
    again = _race(database, id_number, [certificate])
    assert len(again) == 1 and isinstance(again[0], claims.Duplicate)
    assert again[0].existing_id == first
