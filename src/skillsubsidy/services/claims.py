"""Claims: submission with the ledger controls, 初审, 复核, return, rejection, withdrawal,
explicit re-decision (003 二(一)(二)).

A claim's decision always comes from the engine: the claim's facts (CONTRACT.md), completed
from the records it rests on (class, roster, certificate, organisation), are evaluated with
the trainee's other live claims as history, so the ledger rules — 3 a year, the same
occupation and level once, entrepreneurship once, the graduating year once — are checked
against the database. Submission runs serialisable (see store.db), so two concurrent
submissions for one trainee cannot both pass.
"""

from __future__ import annotations

import datetime as dt
import uuid
from functools import cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from skillsubsidy.domain.workflow import LEDGER_STATUSES, ClaimStatus, ClassStatus
from skillsubsidy.policy.engine import Engine, evaluate
from skillsubsidy.policy.loader import catalogue_version
from skillsubsidy.services import registry
from skillsubsidy.services.audit import move, record
from skillsubsidy.services.errors import InvalidInput, NotFound, Refused
from skillsubsidy.store.models import (
    Certificate,
    Claim,
    Decision,
    Enrolment,
    Organisation,
    TrainingClass,
)

# after 复核 the decision is settled: an objection then upholds or dismisses, never re-decides
REDECIDABLE = (ClaimStatus.SUBMITTED, ClaimStatus.RETURNED, ClaimStatus.CHECKED)
# what a claim is about cannot be changed by a correction: that is a new claim
FIXED_FACTS = ("id", "jurisdiction", "kind", "claimant")
USABLE_CLASS = (ClassStatus.APPROVED, ClassStatus.RUNNING, ClassStatus.FINISHED)


@cache
def engine() -> Engine:
    """The engine every decision uses (its compiled plans are reused)."""
    return Engine()


def get_claim(session: Session, claim_id: int) -> Claim:
    claim = session.get(Claim, claim_id)
    if claim is None:
        raise NotFound("claim", claim_id)
    return claim


def submit_claim(
    session: Session,
    actor: str,
    facts: dict[str, Any],
    *,
    person_name: str,
    organisation_id: int | None = None,
    class_id: int | None = None,
    certificate_id: int | None = None,
) -> Claim:
    """Record a claim and decide it. A claim the engine refuses is recorded as rejected
    with its reasons (the applicant sees why); one that passes waits for 初审."""
    person_facts = facts.get("person") or {}
    if not isinstance(person_facts, dict):
        raise InvalidInput("person", "an object with the trainee's facts (id_number, …)")
    person = registry.register_person(
        session, str(person_facts.get("id_number") or ""), person_name
    )
    full = _completed(session, facts, person.id, organisation_id, class_id, certificate_id)
    decision = _decide(session, full, person.id, exclude_claim=None)
    applied_on = dt.date.fromisoformat(full["applied_on"])
    claim = Claim(
        reference=f"{applied_on:%Y%m%d}-{uuid.uuid4().hex[:8]}",
        kind=full["kind"],
        claimant=full["claimant"],
        jurisdiction=full["jurisdiction"],
        district_code=registry.ensure_district(
            session, full["district"], full["jurisdiction"]
        ).code,
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
    record(session, "claim", claim.id, "submitted", actor, to_status=ClaimStatus.SUBMITTED)
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


def check_claim(session: Session, actor: str, claim_id: int) -> Claim:
    """初审 passed: the papers are complete."""
    claim = get_claim(session, claim_id)
    move(session, "claim", claim, ClaimStatus.CHECKED, "checked", actor)
    return claim


def return_claim(session: Session, actor: str, claim_id: int, reason: str) -> Claim:
    """初审 found the papers incomplete: back to the applicant with what is missing."""
    claim = get_claim(session, claim_id)
    _required(reason, "reason")
    move(session, "claim", claim, ClaimStatus.RETURNED, "returned", actor, reason=reason)
    return claim


def resubmit_claim(
    session: Session, actor: str, claim_id: int, changes: dict[str, Any] | None = None
) -> Claim:
    """The applicant answers a return; the claim is decided again on its new facts."""
    claim = get_claim(session, claim_id)
    move(session, "claim", claim, ClaimStatus.SUBMITTED, "resubmitted", actor)
    _redecide(session, claim, actor, changes)
    return claim


def review_claim(session: Session, actor: str, claim_id: int) -> Claim:
    """复核 passed: only a claim the engine found eligible can go on to the notice."""
    claim = get_claim(session, claim_id)
    decision = claim.decision
    if decision is None or not decision.eligible:
        raise Refused(f"claim {claim.id} is not eligible: reject it or re-decide it first")
    move(session, "claim", claim, ClaimStatus.REVIEWED, "reviewed", actor)
    return claim


def reject_claim(session: Session, actor: str, claim_id: int, reason: str) -> Claim:
    claim = get_claim(session, claim_id)
    _required(reason, "reason")
    move(session, "claim", claim, ClaimStatus.REJECTED, "rejected", actor, reason=reason)
    return claim


def withdraw_claim(session: Session, actor: str, claim_id: int, reason: str = "") -> Claim:
    claim = get_claim(session, claim_id)
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
    claim = get_claim(session, claim_id)
    _required(reason, "reason")
    if claim.status not in REDECIDABLE:
        raise Refused(f"claim {claim.id} is {claim.status}: its decision can no longer change")
    record(session, "claim", claim.id, "redecided", actor, reason=reason)
    return _redecide(session, claim, actor, changes)


def _redecide(
    session: Session, claim: Claim, actor: str, changes: dict[str, Any] | None
) -> Decision:
    """Decide again on corrected facts; what the records say still wins over the form."""
    changes = changes or {}
    for key in FIXED_FACTS:
        if key in changes and changes[key] != claim.facts.get(key):
            raise InvalidInput(key, "cannot be changed: withdraw and submit a new claim")
    given = (
        (changes.get("person") or {}).get("id_number")
        if isinstance(changes.get("person"), dict)
        else None
    )
    if given is not None and str(given).upper() != claim.person.id_number:
        raise InvalidInput("person.id_number", "cannot be changed: the claim is the trainee's")
    facts = _completed(
        session,
        _merged(claim.facts, changes),
        claim.person_id,
        claim.organisation_id,
        claim.class_id,
        claim.certificate_id,
    )
    decision = _decide(session, facts, claim.person_id, exclude_claim=claim.id)
    claim.facts = facts
    claim.applied_on = dt.date.fromisoformat(facts["applied_on"])
    claim.district_code = registry.ensure_district(
        session, facts["district"], facts["jurisdiction"]
    ).code
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
    history = live_history(session, person_id, facts.get("jurisdiction"), exclude_claim)
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
        amount=decision["amount"],
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
        if (
            organisation_id is not None
            and facts.get("claimant") != "individual"
            and cls.organisation_id != organisation_id
        ):
            raise InvalidInput("class_id", "the class was run by another organisation")
        enrolment = session.scalar(
            select(Enrolment).where(Enrolment.class_id == cls.id, Enrolment.person_id == person_id)
        )
        if enrolment is None:
            raise InvalidInput("class_id", "the trainee is not on this class's roster")
        training = {
            "hours": str(cls.hours),
            "starts_on": cls.starts_on.isoformat(),
            "enrolled_on": enrolment.enrolled_on.isoformat(),
            "filed_district": cls.district_code,
        }
        if cls.filed_on:
            training["filed_on"] = cls.filed_on.isoformat()
        if cls.course:
            training["course"] = cls.course
        full = _merged(full, {"training": training})
    if certificate_id is not None:
        cert = session.get(Certificate, certificate_id)
        if cert is None or cert.person_id != person_id:
            raise InvalidInput("certificate_id", "not a certificate of this trainee")
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
        if full.get("claimant") == "employer":
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


# the claimant of a class's claims when the organisation running it claims for its trainees
ORGANISATION_CLAIMS = {
    "project": "training_institution",
    "entrepreneurship": "training_institution",
    "pre_job": None,  # the organisation's own kind: employer or training institution
    "master_apprentice": "master_studio",
    "enterprise_training": "employer",
    "order_training": None,
}
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
    claimant = ORGANISATION_CLAIMS[cls.subsidy_kind] or cls.organisation.kind
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
            "applied_on": applied_on.isoformat(),
            "person": {"id_number": person.id_number},
        }
        made.append(
            submit_claim(
                session,
                actor,
                facts,
                person_name=person.name,
                organisation_id=cls.organisation_id,
                class_id=cls.id,
                certificate_id=certificate.id if certificate else None,
            )
        )
    return made, skipped
