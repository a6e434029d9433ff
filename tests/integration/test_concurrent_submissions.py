"""The ledger controls hold under concurrency: of many parallel submissions that cannot all
be granted, exactly as many pass as the rules allow (003 四(三))."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import select

from skillsubsidy.domain.workflow import ClaimStatus
from skillsubsidy.services import claims, registry
from skillsubsidy.store.db import Database
from skillsubsidy.store.models import Claim
from tests.conftest import make_id

PARALLEL = 8


def _certificate_facts(id_number: str, occupation: str, n: int) -> dict[str, Any]:
    return {
        "jurisdiction": "wenzhou",
        "kind": "certificate",
        "claimant": "individual",
        "route": "competition",  # no class needed: competitions are not filed
        "district": "330302",
        "applied_on": "2024-05-10",
        "person": {"id_number": id_number, "hukou_local": True},
        "certificate": {
            "type": "vocational",
            "occupation": occupation,
            "level": 4,
            "issued_on": "2024-04-20",
            "number": f"N-{n}",
        },
    }


def _known(s: Any, id_number: str) -> None:
    """The trainee and the district exist already: the race is about the ledger alone."""
    registry.register_person(s, id_number, "张小三")
    registry.ensure_district(s, "330302")


def _race(db: Database, facts: list[dict[str, Any]]) -> list[BaseException]:
    start = threading.Barrier(len(facts))
    failures: list[BaseException] = []

    def submit(f: dict[str, Any]) -> None:
        start.wait()
        try:
            db.run(
                lambda s: claims.submit_claim(s, "applicant", f, person_name="张小三"),
                serializable=True,
            )
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=submit, args=(f,)) for f in facts]
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
    id_number = make_id(seq=301)
    database.run(lambda s: _known(s, id_number))
    failures = _race(database, [_certificate_facts(id_number, "电工", n) for n in range(PARALLEL)])
    assert failures == []
    got = _statuses(database)
    assert len(got) == PARALLEL
    assert [st for st, _ in got].count(ClaimStatus.SUBMITTED) == 1
    losers = [reasons for st, reasons in got if st == ClaimStatus.REJECTED]
    assert len(losers) == PARALLEL - 1
    assert all("duplicate_occupation_level" in r for r in losers)


def test_three_a_year_among_parallel_different_occupations(database: Database) -> None:
    id_number = make_id(seq=303)
    database.run(lambda s: _known(s, id_number))
    occupations = ["电工", "焊工", "车工", "钳工", "铣工", "磨工"]
    failures = _race(
        database, [_certificate_facts(id_number, occ, n) for n, occ in enumerate(occupations)]
    )
    assert failures == []
    got = _statuses(database)
    assert [st for st, _ in got].count(ClaimStatus.SUBMITTED) == 3
    assert all("annual_limit_reached" in r for st, r in got if st == ClaimStatus.REJECTED)
