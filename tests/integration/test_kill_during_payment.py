"""The server killed (``kill -9``) while it marks a batch of 3,000 payments paid, on
PostgreSQL: the batch is applied all or not at all, never in part; marked paid again after
the restart, every claim is paid exactly once, the fund is debited exactly once per claim,
and the audit chain still verifies.

Making 3,000 approved claims through the services one step at a time takes minutes, so the
claims are made in bulk: their facts decided in one engine call, and the trainees, claims,
decisions, 初审 and 复核 written by ``_Bulk`` exactly as ``registry``, ``claims.submit_claim``,
``check_claim`` and ``review_claim`` write them, events included (one more claim goes
through those services themselves, and the test checks that the two wrote the same). The
notice, its closing, the allocation and the batch go through the services.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2 as httpx
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, selectinload

from skillsubsidy.domain import identity
from skillsubsidy.domain.workflow import ClaimStatus, PaymentBatchStatus, check_move
from skillsubsidy.policy.engine import evaluate
from skillsubsidy.policy.loader import catalogue_version
from skillsubsidy.services import claims, notices, payments, registry, users
from skillsubsidy.services.audit import record
from skillsubsidy.store.chain import verify
from skillsubsidy.store.db import URL_SETTING, Database
from skillsubsidy.store.models import (
    Certificate,
    Claim,
    Decision,
    Event,
    FundMovement,
    Payment,
    PaymentBatch,
    Person,
)
from tests.conftest import make_id
from tests.postgres import _free_port

CLAIMS = 3000
DISTRICT = "330302"
AMOUNT = Decimal("1950.00")  # a competition certificate, 电工 level 4 (wenzhou-2023)
ALLOCATED = AMOUNT * CLAIMS + Decimal("12345.67")
APPLIED = dt.date(2024, 5, 10)
APPLICANT, CHECKER, REVIEWER = "trainee:kill", "caseworker:a", "caseworker:b"
OPINIONS = {"checked": "材料齐全", "reviewed": "复核无误"}
FINANCE_TOKEN = "kill-test-finance-token-7f3a"
PAID = "/api/v1/payment-batches/{}/paid"
SERVE = [sys.executable, "-m", "skillsubsidy", "serve", "--host", "127.0.0.1"]
APP_NAME = "skillsubsidy-kill-test"  # the server's sessions in pg_stat_activity
_TLS = ssl.create_default_context()  # built once (plain HTTP is used)


def _facts(id_number: str) -> dict[str, Any]:
    return {
        "jurisdiction": "wenzhou",
        "kind": "certificate",
        "claimant": "individual",
        "route": "competition",
        "district": DISTRICT,
        "person": {"id_number": id_number, "hukou_local": True},
    }


def _trainee(n: int) -> tuple[str, str, str]:
    """(citizen ID, name, social security card) of trainee ``n``."""
    return (
        make_id(DISTRICT, dt.date(1975, 1, 1) + dt.timedelta(days=n), 201),
        f"学员{n}",
        f"SSC{n:06d}",
    )


def _certificate(n: int) -> dict[str, Any]:
    return {
        "type": "vocational",
        "occupation": "电工",
        "level": 4,
        "number": f"KILL-{n}",
        "issued_on": dt.date(2024, 4, 20),
    }


# --- one claim through the services, the rest in bulk ----------------------------------


def _submit_one(s: Session, n: int) -> int:
    """Trainee ``n``'s claim through the services, step by step."""
    id_number, name, card = _trainee(n)
    person = registry.register_person(s, id_number, name, social_security_card=card)
    cert = registry.record_certificate(s, "caseworker:kill", person, **_certificate(n))
    return claims.submit_claim(
        s,
        APPLICANT,
        _facts(id_number),
        person_name=name,
        applied_on=APPLIED,
        certificate_id=cert.id,
    ).id


def _actors(s: Session, ids: list[int], action: str) -> dict[int, str]:
    """Who did ``action`` on each of the claims."""
    found = s.execute(
        select(Event.entity_id, Event.actor).where(
            Event.entity == "claim", Event.entity_id.in_(ids), Event.action == action
        )
    )
    return {claim: actor for claim, actor in found}


class _Bulk:
    """Writes what the services write, for many claims per statement."""

    @staticmethod
    def submit(s: Session, numbers: range) -> list[int]:
        """As ``registry.register_person``, ``registry.record_certificate`` and
        ``claims.submit_claim`` (with ``_store_decision``). Every trainee is new, so each
        decision's history is empty, as ``submit_claim`` would find it."""
        people = []
        for n in numbers:
            id_number, name, card = _trainee(n)
            people.append(
                Person(
                    id_number=id_number,
                    name=name,
                    birth_date=identity.birth_date(id_number),
                    sex=identity.sex(id_number),
                    phone=None,
                    social_security_card=card,
                    bank_account=None,
                )
            )
        s.add_all(people)
        s.flush()
        for person in people:
            record(
                s,
                "person",
                person.id,
                "registered",
                "system",
                detail={
                    "id_number": identity.masked_id(person.id_number),
                    **registry.masked_accounts(person),
                },
                records=[person],
            )
        certs = [
            Certificate(person_id=p.id, renewal=False, issuer_id=None, **_certificate(n))
            for n, p in zip(numbers, people, strict=True)
        ]
        s.add_all(certs)
        s.flush()
        for cert in certs:
            record(
                s,
                "certificate",
                cert.id,
                "recorded",
                "caseworker:kill",
                detail={"number": cert.number, "person_id": cert.person_id},
                records=[cert],
            )
        facts = [
            claims._completed(
                s,
                {**_facts(p.id_number), "applied_on": APPLIED.isoformat()},
                p.id,
                None,
                None,
                c.id,
            )
            for p, c in zip(people, certs, strict=True)
        ]
        decisions = evaluate(facts, [], engine=claims.engine())  # one engine call for all
        rows = [
            Claim(
                reference=f"{APPLIED:%Y%m%d}-{uuid.uuid4().hex[:8]}",
                kind=full["kind"],
                claimant=full["claimant"],
                jurisdiction=full["jurisdiction"],
                district_code=DISTRICT,
                applied_on=APPLIED,
                person_id=p.id,
                organisation_id=None,
                class_id=None,
                certificate_id=c.id,
                facts=full,
                status=ClaimStatus.SUBMITTED,
            )
            for p, c, full in zip(people, certs, facts, strict=True)
        ]
        s.add_all(rows)
        s.flush()
        stored = []
        for claim, decision in zip(rows, decisions, strict=True):
            assert "error" not in decision and decision["eligible"], decision
            stored.append(
                Decision(
                    claim_id=claim.id,
                    version=1,
                    pack_id=decision["policy"],
                    pack_version=catalogue_version(),
                    eligible=decision["eligible"],
                    amount=decision["amount"],
                    payee=decision["payee"],
                    fund_district=decision["fund"],
                    reasons=decision["reasons"],
                    warnings=decision["warnings"],
                    explanation=decision["explanation"],
                    decided_by=APPLICANT,
                )
            )
        s.add_all(stored)
        s.flush()
        for claim, decision in zip(rows, stored, strict=True):
            record(
                s,
                "claim",
                claim.id,
                "submitted",
                APPLICANT,
                to_status=ClaimStatus.SUBMITTED,
                records=[claim],
            )
            record(
                s,
                "claim",
                claim.id,
                "decided",
                "engine",
                detail={
                    "version": decision.version,
                    "eligible": decision.eligible,
                    "amount": str(decision.amount),
                    "reasons": decision.reasons,
                    "pack": decision.pack_id,
                },
                records=[decision, claim],  # the facts it was decided on
            )
        return [c.id for c in rows]

    @staticmethod
    def step(s: Session, ids: list[int], action: str, actor: str) -> None:
        """初审 (``checked``) or 复核 (``reviewed``) as ``claims.check_claim`` and
        ``review_claim`` do them: the claims locked, each moved with the opinion as
        ``audit.move`` moves it (but with one UPDATE for all); neither by who submitted the
        claim, and 复核 only of an eligible claim, by someone other than who did its 初审."""
        wanted = {"checked": ClaimStatus.CHECKED, "reviewed": ClaimStatus.REVIEWED}[action]
        locked = s.scalars(
            select(Claim)
            .where(Claim.id.in_(ids))
            .order_by(Claim.id)
            .with_for_update()
            .options(selectinload(Claim.decisions))
            .execution_options(populate_existing=True)
        ).all()
        assert len(locked) == len(ids)
        submitted_by = _actors(s, ids, "submitted")
        assert all(submitted_by[c.id] != actor for c in locked)
        if action == "reviewed":
            checked_by = _actors(s, ids, "checked")
            assert all(c.decision is not None and c.decision.eligible for c in locked)
            assert all(checked_by[c.id] != actor for c in locked)
        moved = []
        for claim in locked:
            check_move(f"claim {claim.id}", claim.status, wanted)
            moved.append((claim, claim.status))
            claim.status = wanted
        s.flush()
        for claim, current in moved:
            record(
                s,
                "claim",
                claim.id,
                action,
                actor,
                from_status=current,
                to_status=wanted,
                reason=OPINIONS[action],
                records=[claim],
            )


CLAIM_COLUMNS = ("kind", "claimant", "jurisdiction", "district_code", "applied_on", "status")
CLAIM_COLUMNS += ("organisation_id", "class_id")
DECISION_COLUMNS = ("version", "pack_id", "pack_version", "eligible", "amount", "payee")
DECISION_COLUMNS += ("fund_district", "reasons", "warnings", "explanation", "decided_by")
CERTIFICATE_COLUMNS = ("type", "occupation", "level", "issued_on", "renewal", "issuer_id")


def _written(db: Database, claim_id: int) -> dict[str, Any]:
    """What making a claim wrote, less what differs from one claim to the next (ids,
    numbers, references, times)."""

    def events(s: Session, entity: str, entity_id: int) -> list[tuple[Any, ...]]:
        found = s.scalars(
            select(Event)
            .where(Event.entity == entity, Event.entity_id == entity_id)
            .order_by(Event.seq)
        )
        return [
            (
                e.action,
                e.actor,
                e.from_status,
                e.to_status,
                e.reason,
                sorted((e.detail or {}).keys()),
                sorted(k.split(":")[0] for k in ((e.detail or {}).get("records") or {})),
            )
            for e in found
        ]

    with db.session() as s:
        claim = s.get(Claim, claim_id)
        assert claim is not None and claim.decision is not None
        person = claim.person
        facts = {
            **claim.facts,
            "id": claim.facts["id"][:6],
            "person": {**claim.facts["person"], "id_number": None},
            "certificate": {**claim.facts["certificate"], "number": None},
        }
        decision = {c: getattr(claim.decision, c) for c in DECISION_COLUMNS}
        cert = s.get(Certificate, claim.certificate_id)
        assert cert is not None
        return {
            "claim": {c: getattr(claim, c) for c in CLAIM_COLUMNS},
            "reference": (claim.reference[:9], len(claim.reference)),
            "facts": facts,
            "decision": decision,
            "person": (
                person.birth_date == identity.birth_date(person.id_number),
                person.sex == identity.sex(person.id_number),
                person.phone,
                person.bank_account,
            ),
            "certificate": {c: getattr(cert, c) for c in CERTIFICATE_COLUMNS},
            "events": {
                "claim": events(s, "claim", claim.id),
                "person": events(s, "person", person.id),
                "certificate": events(s, "certificate", cert.id),
            },
        }


def _approved_batch(db: Database) -> tuple[int, list[int]]:
    """``CLAIMS`` approved claims in fund 330302, drafted into one batch: (batch, claims).
    Claim 0 is made by the services step by step, the others by ``_Bulk``."""
    first = db.run(lambda s: _submit_one(s, 0))
    rest = db.run(lambda s: _Bulk.submit(s, range(1, CLAIMS)))
    ids = [first, *rest]

    def check(s: Session) -> None:
        claims.check_claim(s, CHECKER, first, OPINIONS["checked"])
        _Bulk.step(s, rest, "checked", CHECKER)

    def review(s: Session) -> None:
        claims.review_claim(s, REVIEWER, first, OPINIONS["reviewed"])
        _Bulk.step(s, rest, "reviewed", REVIEWER)

    db.run(check)
    db.run(review)
    bulk, services = _written(db, rest[-1]), _written(db, first)
    differing = {
        k: {"bulk": bulk[k], "services": services[k]} for k in bulk if bulk[k] != services[k]
    }
    assert not differing, f"_Bulk no longer writes what the services write: {differing}"
    notice = db.run(
        lambda s: notices.publish_notice(s, CHECKER, DISTRICT, ids, dt.date(2024, 7, 1)).id
    )
    db.run(lambda s: notices.close_notice(s, CHECKER, notice, dt.date(2024, 7, 8)))
    db.run(lambda s: registry.allocate(s, DISTRICT, ALLOCATED, "finance:kill", "预算"))
    batch = db.run(lambda s: payments.create_batch(s, "finance:kill", DISTRICT).id)
    db.run(lambda s: users.create_user(s, "kill-finance", "finance", token=FINANCE_TOKEN))
    return batch, ids


# --- the server -------------------------------------------------------------------------


@dataclass
class _Running:
    proc: subprocess.Popen[bytes]
    base: str
    log: Path

    def ready(self) -> None:
        """Wait until it answers."""
        deadline = time.monotonic() + 60
        while True:
            assert self.proc.poll() is None, self.log.read_text(errors="replace")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1, verify=_TLS).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, self.log.read_text(errors="replace")
            time.sleep(0.05)


@contextmanager
def _serving(url: str, log: Path) -> Iterator[_Running]:
    """``skillsubsidy serve`` started in a process of its own on ``url`` (``ready`` waits
    for it); stopped at the end unless it is dead already."""
    port = _free_port()
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [*SERVE, "--port", str(port)],
            env={**os.environ, URL_SETTING: f"{url}?application_name={APP_NAME}"},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield _Running(proc, f"http://127.0.0.1:{port}", log)
    finally:
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _paying(db: Database) -> bool:
    """A session of the server is inside a transaction that has written fund movements
    (it holds the lock an INSERT into ``fund_movement`` takes until the transaction ends)."""
    with db.engine.connect() as conn:
        found = conn.scalar(
            text(
                "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE a.application_name = :app AND a.xact_start IS NOT NULL "
                "AND l.relation = 'fund_movement'::regclass AND l.mode = 'RowExclusiveLock'"
            ),
            {"app": APP_NAME},
        )
    return bool(found)


def _server_sessions(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(
            conn.scalar(
                text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :app"),
                {"app": APP_NAME},
            )
        )


@dataclass(frozen=True)
class _Applied:
    status: str
    claims_paid: int
    payment_movements: int


def _applied(db: Database, batch_id: int, ids: list[int]) -> _Applied:
    with db.session() as s:
        batch = s.get(PaymentBatch, batch_id)
        assert batch is not None
        paid = s.scalar(
            select(func.count())
            .select_from(Claim)
            .where(Claim.id.in_(ids), Claim.status == ClaimStatus.PAID)
        )
        moved = s.scalar(
            select(func.count()).select_from(FundMovement).where(FundMovement.kind == "payment")
        )
        return _Applied(str(batch.status), int(paid or 0), int(moved or 0))


def _finance() -> dict[str, str]:
    return {"Authorization": f"Bearer {FINANCE_TOKEN}"}


def _pay(base: str, batch: int) -> httpx.Response:
    return httpx.post(
        base + PAID.format(batch),
        json={},
        headers={"Authorization": f"Bearer {FINANCE_TOKEN}"},
        timeout=300,
        verify=_TLS,
    )


def test_a_batch_is_paid_all_or_nothing_when_the_server_is_killed(
    postgres_db_url: str, tmp_path: Path
) -> None:
    db = Database(postgres_db_url)
    log = tmp_path / "server.log"
    nothing = _Applied(str(PaymentBatchStatus.DRAFT), 0, 0)
    everything = _Applied(str(PaymentBatchStatus.PAID), CLAIMS, CLAIMS)
    try:
        db.upgrade()
        batch, ids = _approved_batch(db)

        # 1. mark the batch paid, and kill the server while it is doing it
        with _serving(postgres_db_url, log) as server:  # it starts while the trail is checked
            with db.session() as s:
                assert verify(s) is None
                drafted = s.scalars(select(Payment).where(Payment.batch_id == batch)).all()
                assert sorted(p.claim_id for p in drafted) == ids
                total = sum((p.amount for p in drafted), Decimal(0))
                assert total == AMOUNT * CLAIMS
            assert _applied(db, batch, ids) == nothing
            server.ready()
            answer: list[httpx.Response | httpx.HTTPError] = []

            def pay() -> None:
                try:
                    answer.append(_pay(server.base, batch))
                except httpx.HTTPError as exc:
                    answer.append(exc)

            paying = threading.Thread(target=pay)
            paying.start()
            deadline = time.monotonic() + 120
            while not _paying(db):
                assert paying.is_alive(), f"the batch was never seen being paid: {answer}"
                assert time.monotonic() < deadline, "the server never started paying"
                time.sleep(0.01)
            time.sleep(0.3)  # some hundreds of payments into the transaction
            inside = _paying(db)
            os.kill(server.proc.pid, signal.SIGKILL)
            assert server.proc.wait(timeout=10) == -signal.SIGKILL
            paying.join(timeout=60)
            assert not paying.is_alive()

        # PostgreSQL ends the dead server's sessions, rolling back what they had not committed
        deadline = time.monotonic() + 60
        while _server_sessions(db):
            assert time.monotonic() < deadline, "the killed server's sessions stayed"
            time.sleep(0.05)
        after_kill = _applied(db, batch, ids)
        assert after_kill in (nothing, everything), after_kill  # never a part
        # it was killed inside its transaction (3,000 payments take seconds), so: nothing
        assert inside, "the batch was paid before the server could be killed"
        assert after_kill == nothing, after_kill
        assert isinstance(answer[0], httpx.TransportError), answer[0]  # no answer came

        # 2. restarted, the batch is marked paid again: every claim paid exactly once
        with _serving(postgres_db_url, log) as server:
            server.ready()
            for _ in range(2):  # the second time changes nothing
                paid = _pay(server.base, batch)
                assert paid.status_code == 200, paid.text
                assert paid.json()["status"] == "paid"
        assert _applied(db, batch, ids) == everything
        with db.session() as s:
            statuses = s.execute(
                select(Claim.status, func.count()).where(Claim.id.in_(ids)).group_by(Claim.status)
            ).all()
            assert [tuple(row) for row in statuses] == [(ClaimStatus.PAID, CLAIMS)]
            made = s.execute(
                select(
                    func.count(),
                    func.count(func.distinct(Payment.claim_id)),
                    func.sum(Payment.amount),
                )
            ).one()
            assert tuple(made) == (CLAIMS, CLAIMS, total)
            # one movement per payment, debiting exactly its amount
            debited = s.execute(
                select(
                    func.count(),
                    func.count(func.distinct(FundMovement.payment_id)),
                    func.sum(FundMovement.amount),
                )
                .join(Payment, Payment.id == FundMovement.payment_id)
                .where(FundMovement.kind == "payment", FundMovement.amount == -Payment.amount)
            ).one()
            assert tuple(debited) == (CLAIMS, CLAIMS, -total)
            assert registry.balance(s, DISTRICT) == ALLOCATED - total
        verified = subprocess.run(
            [sys.executable, "-m", "skillsubsidy", "audit", "verify"],
            env={**os.environ, URL_SETTING: postgres_db_url},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert verified.returncode == 0, verified.stdout + verified.stderr
    finally:
        db.dispose()
