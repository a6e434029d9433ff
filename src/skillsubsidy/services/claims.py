"""Claims: submission with the ledger controls, 初审, 复核, return, rejection, withdrawal,
explicit re-decision (003 二(一)(二)).

A claim's decision always comes from the engine: the claim's facts (CONTRACT.md), completed
from the records it rests on (class, roster, certificate, organisation), are evaluated with
the trainee's other live claims as history, so the ledger rules — 3 a year, the same
occupation and level once, entrepreneurship once, the graduating year once — are checked
against the database. Submission locks the trainee's row first (``registry.lock_person``), so
two concurrent submissions for one trainee are decided one after the other; a repeat of a live
claim (same trainee and certificate, or class and kind) is refused naming the first, and the
database's partial unique keys stop any that slips past.

The applicant declares only what no record holds (``domain.claim_facts``); a kind that rests
on a certificate or a class must name it; the date of application is the server's. 初审 and
复核 each record an opinion and are done by two different people.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from skillsubsidy.domain import claim_facts
from skillsubsidy.domain.workflow import LEDGER_STATUSES, ClaimStatus, ClassStatus
from skillsubsidy.policy.engine import Engine, evaluate
from skillsubsidy.policy.loader import catalogue_version
from skillsubsidy.services import classes, registry
from skillsubsidy.services.audit import move, record
from skillsubsidy.services.errors import InProgress, InvalidInput, NotFound, Refused
from skillsubsidy.store import chain
from skillsubsidy.store.db import claim_exclusively
from skillsubsidy.store.models import (
    Certificate,
    Claim,
    Decision,
    Enrolment,
    Event,
    Organisation,
    TrainingClass,
)

# before 初审 only: a decision changed after 初审 would reach 复核 unchecked (the four eyes);
# after 复核 it is settled: an objection then upholds or dismisses, never re-decides
REDECIDABLE = (ClaimStatus.SUBMITTED, ClaimStatus.RETURNED)
USABLE_CLASS = (ClassStatus.APPROVED, ClassStatus.RUNNING, ClassStatus.FINISHED)


@cache
def engine() -> Engine:
    """The engine every decision uses (its compiled plans are reused)."""
    return Engine()


def get_claim(session: Session, claim_id: int, lock: bool = False) -> Claim:
    """The claim; ``lock``: locked for this transaction, read fresh (a step that moves it
    waits for any other step on it, then sees where it went)."""
    if lock:
        claim = session.scalar(
            select(Claim)
            .where(Claim.id == claim_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    else:
        claim = session.get(Claim, claim_id)
    if claim is None:
        raise NotFound("claim", claim_id)
    return claim


class Duplicate(Refused):
    """A live claim for the same trainee and certificate (or class and kind) exists."""

    def __init__(self, existing: Claim):
        super().__init__(
            f"claim {existing.id} ({existing.reference}, {existing.status}) is already made "
            "for this trainee and this certificate or class"
        )
        self.existing_id = existing.id


def submit_claim(
    session: Session,
    actor: str,
    facts: dict[str, Any],
    *,
    person_name: str,
    applied_on: dt.date,
    organisation_id: int | None = None,
    class_id: int | None = None,
    certificate_id: int | None = None,
) -> Claim:
    """Record a claim and decide it. A claim the engine refuses is recorded as rejected
    with its reasons (the applicant sees why); one that passes waits for 初审.

    ``applied_on`` is the server's date. ``facts`` carry only what the applicant declares
    (``domain.claim_facts``); the rest comes from the records named."""
    _check_declared(facts)
    person_facts = facts.get("person") or {}
    kind, route = facts.get("kind"), facts.get("route")
    if facts.get("claimant") not in (None, "individual") and organisation_id is None:
        raise InvalidInput("organisation_id", "an organisation's claim names the organisation")
    if facts.get("claimant") == "individual" and organisation_id is not None:
        raise InvalidInput(
            "organisation_id", "an individual claim is the trainee's, not an organisation's"
        )
    if isinstance(kind, str):
        if kind in claim_facts.NEEDS_CERTIFICATE and certificate_id is None:
            raise InvalidInput(
                "certificate_id", f"a {kind} claim rests on a recorded certificate: name it"
            )
        if claim_facts.needs_class(kind, route) and class_id is None:
            raise InvalidInput(
                "class_id",
                f"a {kind} claim rests on a filed class with the trainee on its roster: name it",
            )
    id_number = str(person_facts.get("id_number") or "")
    # the same claim sent again while the first is being decided: refused at once (one
    # query) rather than queued behind it; the caller retries and gets the first one named
    if not claim_exclusively(
        session, f"claim|{id_number.strip().upper()}|{kind}|{certificate_id}|{class_id}"
    ):
        raise InProgress("the same claim is being submitted right now: try again shortly")
    person = registry.lock_person(
        session, str(person_facts.get("id_number") or ""), person_name, actor
    )
    _refuse_duplicate(session, person.id, kind, class_id, certificate_id)  # now under lock
    district = registry.ensure_district(session, facts.get("district"))  # type: ignore[arg-type]
    if facts.get("jurisdiction") != district.jurisdiction:
        # the packs of a district's own city or county: no shopping for a better document
        raise InvalidInput("jurisdiction", f"district {district.code} is {district.jurisdiction}")
    given = {**facts, "applied_on": applied_on.isoformat()}
    full = _completed(session, given, person.id, organisation_id, class_id, certificate_id)
    decision = _decide(session, full, person.id, exclude_claim=None)
    claim = Claim(
        reference=f"{applied_on:%Y%m%d}-{uuid.uuid4().hex[:8]}",
        kind=full["kind"],
        claimant=full["claimant"],
        jurisdiction=full["jurisdiction"],
        district_code=district.code,
        applied_on=applied_on,
        person_id=person.id,
        organisation_id=organisation_id,
        class_id=class_id,
        certificate_id=certificate_id,
        facts=full,
        status=ClaimStatus.SUBMITTED,
    )
    session.add(claim)
    session.flush()
    record(
        session,
        "claim",
        claim.id,
        "submitted",
        actor,
        to_status=ClaimStatus.SUBMITTED,
        records=[claim],
    )
    _store_decision(session, claim, decision, actor)
    if not decision["eligible"]:
        move(
            session,
            "claim",
            claim,
            ClaimStatus.REJECTED,
            "rejected",
            "system",
            reason="engine: " + ", ".join(decision["reasons"]),
        )
    return claim


def _check_declared(facts: dict[str, Any], bureau: bool = False) -> None:
    wrong = claim_facts.undeclarable(facts, bureau)
    if wrong is not None:
        raise InvalidInput(
            wrong,
            "not declared by the applicant: it comes from the records (certificate, class and "
            "roster, registry) or the server's date",
        )
    person = facts.get("person")
    if person is not None and not isinstance(person, dict):
        raise InvalidInput("person", "an object with the trainee's facts (id_number, …)")


def _refuse_duplicate(
    session: Session,
    person_id: int,
    kind: object,
    class_id: int | None,
    certificate_id: int | None,
    exclude_claim: int | None = None,
) -> None:
    """One live claim per trainee and certificate, and per trainee, class and kind."""
    live = select(Claim).where(
        Claim.person_id == person_id,
        Claim.status.in_(LEDGER_STATUSES),
        Claim.id != (exclude_claim or -1),
    )
    for same in (
        Claim.certificate_id == certificate_id if certificate_id is not None else None,
        (Claim.class_id == class_id) & (Claim.kind == kind) if class_id is not None else None,
    ):
        if same is not None:
            existing = session.scalar(live.where(same).order_by(Claim.id).limit(1))
            if existing is not None:
                raise Duplicate(existing)


def _who_did(session: Session, claim_id: int, actions: tuple[str, ...]) -> list[str]:
    """The actors of a claim's steps (初审 ``checked``, 复核 ``reviewed``), latest first —
    this transaction's own steps too (its events are written only at commit)."""
    pending = [
        e.actor
        for e in reversed(chain.pending_events(session))
        if e.entity == "claim" and e.entity_id == claim_id and e.action in actions
    ]
    written = session.scalars(
        select(Event.actor)
        .where(Event.entity == "claim", Event.entity_id == claim_id)
        .where(Event.action.in_(actions))
        .order_by(Event.seq.desc())
    )
    return [*pending, *written]


def reviewers(session: Session, claim_id: int) -> dict[str, str | None]:
    """Who did 初审 and 复核 of the claim (the latest of each), for the four-eyes rule."""
    checked = _who_did(session, claim_id, ("checked",))
    reviewed = _who_did(session, claim_id, ("reviewed",))
    return {
        "checked": checked[0] if checked else None,
        "reviewed": reviewed[0] if reviewed else None,
    }


def check_claim(session: Session, actor: str, claim_id: int, opinion: str) -> Claim:
    """初审 passed: the papers are complete; the caseworker's opinion (审核意见) is recorded.
    Not by whoever submitted the claim (a caseworker at the counter)."""
    claim = get_claim(session, claim_id, lock=True)
    _required(opinion, "opinion")
    if actor in _who_did(session, claim.id, ("submitted",)):
        raise FourEyes(
            f"claim {claim.id}: {actor} submitted it, so its 初审 is for another caseworker"
        )
    move(session, "claim", claim, ClaimStatus.CHECKED, "checked", actor, reason=opinion)
    return claim


def return_claim(session: Session, actor: str, claim_id: int, reason: str) -> Claim:
    """初审 found the papers incomplete: back to the applicant with what is missing."""
    claim = get_claim(session, claim_id, lock=True)
    _required(reason, "reason")
    move(session, "claim", claim, ClaimStatus.RETURNED, "returned", actor, reason=reason)
    return claim


def resubmit_claim(
    session: Session, actor: str, claim_id: int, changes: dict[str, Any] | None = None
) -> Claim:
    """The applicant answers a return; the claim is decided again on its new facts."""
    claim = get_claim(session, claim_id, lock=True)
    move(session, "claim", claim, ClaimStatus.SUBMITTED, "resubmitted", actor)
    _redecide(session, claim, actor, changes)
    return claim


class FourEyes(Refused):
    """The same person may not do two steps that must be done by two."""


def review_claim(session: Session, actor: str, claim_id: int, opinion: str) -> Claim:
    """复核 passed: only a claim the engine found eligible can go on to the notice, and only
    someone other than who did its 初审 may pass it (an admin included)."""
    claim = get_claim(session, claim_id, lock=True)
    _required(opinion, "opinion")
    decision = claim.decision
    if decision is None or not decision.eligible:
        raise Refused(f"claim {claim.id} is not eligible: reject it or re-decide it first")
    checked_by = reviewers(session, claim.id)["checked"]
    if checked_by == actor or actor in _who_did(session, claim.id, ("submitted",)):
        raise FourEyes(
            f"claim {claim.id}: {actor} did its 初审, so its 复核 is for another caseworker "
            "(初审、复核由不同人员办理)"
        )
    move(session, "claim", claim, ClaimStatus.REVIEWED, "reviewed", actor, reason=opinion)
    return claim


def reject_claim(session: Session, actor: str, claim_id: int, reason: str) -> Claim:
    claim = get_claim(session, claim_id, lock=True)
    _required(reason, "reason")
    move(session, "claim", claim, ClaimStatus.REJECTED, "rejected", actor, reason=reason)
    return claim


def withdraw_claim(session: Session, actor: str, claim_id: int, reason: str = "") -> Claim:
    claim = get_claim(session, claim_id, lock=True)
    move(session, "claim", claim, ClaimStatus.WITHDRAWN, "withdrawn", actor, reason=reason or None)
    return claim


def redecide_claim(
    session: Session,
    actor: str,
    claim_id: int,
    reason: str,
    changes: dict[str, Any] | None = None,
) -> Decision:
    """Decide again — corrected facts, or a corrected pack — as an explicit, recorded step."""
    claim = get_claim(session, claim_id, lock=True)
    _required(reason, "reason")
    if claim.status not in REDECIDABLE:
        raise Refused(f"claim {claim.id} is {claim.status}: its decision can no longer change")
    record(session, "claim", claim.id, "redecided", actor, reason=reason, detail=changes or None)
    return _redecide(session, claim, actor, changes, bureau=True)


def _redecide(
    session: Session,
    claim: Claim,
    actor: str,
    changes: dict[str, Any] | None,
    bureau: bool = False,
) -> Decision:
    """Decide again on corrected declarations; what the records say still wins. What the
    claim is about — its trainee, kind, claimant, district, date — never changes: that is a
    new claim. Records are read again (a certificate corrected by the bureau counts)."""
    changes = changes or {}
    if not isinstance(changes, dict):
        raise InvalidInput("changes", "an object of corrected facts")
    for key in claim_facts.FIXED:
        group, _, inner = key.partition(".")
        value = changes.get(group)
        if inner:
            value = value.get(inner) if isinstance(value, dict) else None
        if value is not None:
            raise InvalidInput(key, "cannot be changed: withdraw and submit a new claim")
    _check_declared(changes, bureau)
    facts = _completed(
        session,
        _merged(claim.facts, changes),
        claim.person_id,
        claim.organisation_id,
        claim.class_id,
        claim.certificate_id,
    )
    registry.lock_person(session, claim.person.id_number, claim.person.name, actor)
    decision = _decide(session, facts, claim.person_id, exclude_claim=claim.id)
    claim.facts = facts
    return _store_decision(session, claim, decision, actor)


def live_history(
    session: Session, person_id: int, jurisdiction: object, exclude_claim: int | None = None
) -> list[dict[str, Any]]:
    """The facts of the trainee's claims that hold their place in the ledger (on their way
    or granted), in the order the ledger counts them: what a new decision is checked against."""
    return [
        c.facts
        for c in session.scalars(
            select(Claim)
            .where(
                Claim.person_id == person_id,
                Claim.jurisdiction == jurisdiction,
                Claim.status.in_(LEDGER_STATUSES),
                Claim.id != (exclude_claim or -1),
            )
            .order_by(Claim.applied_on, Claim.id)
        )
    ]


def _decide(
    session: Session, facts: dict[str, Any], person_id: int, exclude_claim: int | None
) -> dict[str, Any]:
    jurisdiction = facts.get("jurisdiction")
    if not isinstance(jurisdiction, str):
        raise InvalidInput("jurisdiction", "one of wenzhou, jinhua, county")
    history = live_history(session, person_id, jurisdiction, exclude_claim)
    [decision] = evaluate([facts], history, engine=engine())
    if "error" in decision:
        raise InvalidInput(decision["error"]["field"], decision["error"]["message"])
    return decision


def _store_decision(
    session: Session, claim: Claim, decision: dict[str, Any], actor: str
) -> Decision:
    stored = Decision(
        claim_id=claim.id,
        version=len(claim.decisions) + 1,
        pack_id=decision["policy"],
        pack_version=catalogue_version(),
        eligible=decision["eligible"],
        amount=Decimal(decision["amount"]),
        payee=decision["payee"],
        fund_district=decision["fund"],
        reasons=decision["reasons"],
        warnings=decision["warnings"],
        explanation=decision["explanation"],
        decided_by=actor,
    )
    claim.decisions.append(stored)
    session.flush()
    record(
        session,
        "claim",
        claim.id,
        "decided",
        "engine",
        detail={
            "version": stored.version,
            "eligible": stored.eligible,
            "amount": str(stored.amount),
            "reasons": stored.reasons,
            "pack": stored.pack_id,
        },
        records=[stored, claim],  # the facts it was decided on
    )
    return stored


def _completed(
    session: Session,
    facts: dict[str, Any],
    person_id: int,
    organisation_id: int | None,
    class_id: int | None,
    certificate_id: int | None,
) -> dict[str, Any]:
    """The facts with what the records say filled in; the records win over the form."""
    full = _merged({}, facts)
    full.setdefault("id", f"claim-{uuid.uuid4().hex[:12]}")
    if class_id is not None:
        cls = session.get(TrainingClass, class_id)
        if cls is None:
            raise NotFound("training class", class_id)
        if cls.status not in USABLE_CLASS:
            raise Refused(
                f"class {cls.id} is {cls.status}: a claim rests on a class whose filing was "
                "approved (经备案同意的职业技能培训)",
                "003 一(一)2(1); 003 三(一)",
            )
        if organisation_id is not None and cls.organisation_id != organisation_id:
            raise InvalidInput("class_id", "the class was run by another organisation")
        if cls.subsidy_kind != facts.get("kind"):
            raise InvalidInput("class_id", f"the class was filed for {cls.subsidy_kind} claims")
        if (facts.get("district"), facts.get("jurisdiction")) != (
            cls.district_code,
            cls.jurisdiction,
        ):
            raise InvalidInput(
                "district",
                f"a claim on class {cls.id} is filed where the class was: {cls.district_code}",
            )
        enrolment = session.scalar(
            select(Enrolment).where(Enrolment.class_id == cls.id, Enrolment.person_id == person_id)
        )
        if enrolment is None:
            raise InvalidInput("class_id", "the trainee is not on this class's roster")
        training: dict[str, Any] = {
            "hours": str(cls.hours),
            "days": classes.training_days(cls),
            "starts_on": cls.starts_on.isoformat(),
            "enrolled_on": enrolment.enrolled_on.isoformat(),
            "filed_district": cls.district_code,
            "local_specialty": cls.local_specialty,
        }
        if cls.employment_rate is not None:
            training["employment_rate"] = str(cls.employment_rate)
        if cls.filed_on:
            training["filed_on"] = cls.filed_on.isoformat()
        if cls.course:
            training["course"] = cls.course
        full = _merged(full, {"training": training})
    if certificate_id is not None:
        cert = session.get(Certificate, certificate_id)
        if cert is None or cert.person_id != person_id:
            raise InvalidInput("certificate_id", "not a certificate of this trainee")
        trained_by = session.get(TrainingClass, class_id) if class_id else None
        trainer = trained_by.organisation_id if trained_by else None
        if cert.issuer_id is not None and cert.issuer_id in (organisation_id, trainer):
            raise Refused(
                "the certificate was recorded by the organisation that trained or claims for "
                "the trainee: it cannot support this claim (the bureau records it)"
            )
        values: dict[str, Any] = {
            "type": cert.type,
            "issued_on": cert.issued_on.isoformat(),
            "number": cert.number,
            "renewal": cert.renewal,
        }
        if cert.occupation:
            values["occupation"] = cert.occupation
        if cert.level is not None:
            values["level"] = cert.level
        full = _merged(full, {"certificate": values})
    if organisation_id is not None:
        org = session.get(Organisation, organisation_id)
        if org is None:
            raise NotFound("organisation", organisation_id)
        if full.get("claimant") != org.kind:
            raise InvalidInput("claimant", f"organisation {org.id} is a {org.kind}")
        if full.get("claimant") in ("employer", "master_studio"):  # its own district
            full = _merged(
                full,
                {
                    "employer": {
                        "ui_district": org.district_code,
                        "public_institution": org.public_institution,
                    }
                },
            )
    return full


def _merged(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``changes`` laid over it, nested objects merged key by key."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = value
    return out


def _required(value: str, field: str) -> None:
    if not value or not value.strip():
        raise InvalidInput(field, "required")


# the kinds an organisation running a class claims for its trainees (as what it is: an
# employer, a training institution, a master studio…)
ORGANISATION_CLAIMS = frozenset(
    {
        "project",
        "entrepreneurship",
        "pre_job",
        "master_apprentice",
        "enterprise_training",
        "order_training",
    }
)
NEEDS_CERTIFICATE = {"project", "master_apprentice"}


def submit_class_claims(
    session: Session, actor: str, class_id: int, applied_on: dt.date
) -> tuple[list[Claim], list[str]]:
    """The organisation's claims for every trainee of a finished class that has none yet, in
    one step: (claims made, trainees skipped with why)."""
    cls = session.get(TrainingClass, class_id)
    if cls is None:
        raise NotFound("training class", class_id)
    if cls.subsidy_kind not in ORGANISATION_CLAIMS:
        raise Refused(f"{cls.subsidy_kind} claims are made by each trainee, not for the class")
    claimant = cls.organisation.kind
    made: list[Claim] = []
    skipped: list[str] = []
    claimed = set(session.scalars(select(Claim.person_id).where(Claim.class_id == cls.id)))
    for enrolment in cls.enrolments:
        person = enrolment.person
        if person.id in claimed:
            continue
        certificate = None
        if cls.subsidy_kind in NEEDS_CERTIFICATE:
            certificate = session.scalar(
                select(Certificate)
                .where(Certificate.person_id == person.id)
                .order_by(Certificate.issued_on.desc())
            )
            if certificate is None:
                skipped.append(f"{person.name}：尚未登记证书")
                continue
        facts: dict[str, Any] = {
            "jurisdiction": cls.jurisdiction,
            "kind": cls.subsidy_kind,
            "claimant": claimant,
            "district": cls.district_code,
            "person": {"id_number": person.id_number},
        }
        try:
            made.append(
                submit_claim(
                    session,
                    actor,
                    facts,
                    person_name=person.name,
                    applied_on=applied_on,
                    organisation_id=cls.organisation_id,
                    class_id=cls.id,
                    certificate_id=certificate.id if certificate else None,
                )
            )
        except Duplicate as exc:  # refused before anything was written for this trainee
            skipped.append(f"{person.name}：已有申请 {exc.existing_id}")
    return made, skipped
