"""Claims: submission, the caseworker's steps, the audit trail."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from sqlalchemy import select
from sqlalchemy.orm import Session

from skillsubsidy.api.auth import (
    ORGANISATION_ROLES,
    DatabaseDep,
    Principal,
    Today,
    forbidden,
    roles,
)
from skillsubsidy.api.limits import check_facts
from skillsubsidy.api.schemas import (
    ChangesBody,
    ClaimCreate,
    ClaimPublic,
    DecisionPublic,
    EventPublic,
    Filter,
    Limit,
    Offset,
    OpinionBody,
    PathId,
    ReasonBody,
)
from skillsubsidy.domain.workflow import ClaimStatus
from skillsubsidy.services import claims
from skillsubsidy.services.audit import trail
from skillsubsidy.services.errors import InvalidInput
from skillsubsidy.store.models import Claim, Person

router = APIRouter(prefix="/claims", tags=["claims"])
Applicant = Annotated[Principal, Depends(roles("trainee", *ORGANISATION_ROLES, "caseworker"))]
Caseworker = Annotated[Principal, Depends(roles("caseworker"))]
Reader = Annotated[
    Principal,
    Depends(roles("caseworker", *ORGANISATION_ROLES, "trainee", "finance", "auditor")),
]


def _visible(s: Session, who: Principal, claim_id: int) -> Claim:
    claim = claims.get_claim(s, claim_id)
    if not who.sees_claim(claim):
        raise forbidden(f"claim {claim_id}")
    return claim


def _in_district(s: Session, who: Principal, claim_id: int) -> Claim:
    claim = claims.get_claim(s, claim_id)
    if not who.works_on_district(claim.district_code):
        raise forbidden(f"claim {claim_id} is filed in {claim.district_code}")
    return claim


def _own(s: Session, who: Principal, claim_id: int) -> Claim:
    claim = claims.get_claim(s, claim_id)
    mine = (who.role == "trainee" and claim.person_id == who.person_id) or (
        who.role in ORGANISATION_ROLES and claim.organisation_id == who.organisation_id
    )
    if who.role != "admin" and not mine:
        raise forbidden(f"claim {claim_id} is not yours")
    return claim


@router.post("", response_model=ClaimPublic, status_code=201)
def submit_claim(body: ClaimCreate, db: DatabaseDep, who: Applicant, today: Today) -> ClaimPublic:
    """A claim on the records it names (certificate, class); the facts carry only what the
    applicant declares, and the date of application is today's (the server's)."""
    check_facts(body.facts, "facts")

    def work(s: Session) -> ClaimPublic:
        facts = body.facts
        if who.role == "trainee":
            person = s.get(Person, who.person_id)
            person_facts = facts.get("person")
            if not isinstance(person_facts, dict):
                raise InvalidInput("person", "an object with the trainee's facts (id_number, …)")
            given = person_facts.get("id_number", "")
            if person is None or str(given).upper() != person.id_number:
                raise forbidden("a trainee claims for themselves only")
            if facts.get("claimant") != "individual" or body.organisation_id is not None:
                raise forbidden("a trainee's claim is an individual claim")
        elif who.role in ORGANISATION_ROLES and body.organisation_id != who.organisation_id:
            raise forbidden("claims of another organisation")
        elif who.role == "caseworker" and not who.works_on_district(str(facts.get("district"))):
            raise forbidden(f"claims filed in {facts.get('district')}")
        claim = claims.submit_claim(
            s,
            who.actor,
            facts,
            person_name=body.person_name,
            applied_on=today,
            organisation_id=body.organisation_id,
            class_id=body.class_id,
            certificate_id=body.certificate_id,
        )
        return ClaimPublic.model_validate(claim)

    return db.write(work)


@router.get("", response_model=list[ClaimPublic])
def list_claims(
    db: DatabaseDep,
    who: Reader,
    status: ClaimStatus | None = None,
    kind: Filter = None,
    district: Filter = None,
    limit: Limit = 200,
    offset: Offset = 0,
) -> list[ClaimPublic]:
    with db.session() as s:
        query = select(Claim).order_by(Claim.id)
        if status:
            query = query.where(Claim.status == status)
        if kind:
            query = query.where(Claim.kind == kind)
        if district:
            query = query.where(Claim.district_code == district)
        query = who.claims_in_scope(query)
        found = s.scalars(query.offset(offset).limit(min(limit, 1000)))
        return [ClaimPublic.model_validate(c) for c in found]


@router.get("/{claim_id}", response_model=ClaimPublic)
def get_claim(claim_id: PathId, db: DatabaseDep, who: Reader) -> ClaimPublic:
    with db.session() as s:
        return ClaimPublic.model_validate(_visible(s, who, claim_id))


@router.get("/{claim_id}/events", response_model=list[EventPublic])
def claim_events(claim_id: PathId, db: DatabaseDep, who: Reader) -> list[EventPublic]:
    """The audit trail of the claim, in order."""
    with db.session() as s:
        _visible(s, who, claim_id)
        return [EventPublic.model_validate(e) for e in trail(s, "claim", claim_id)]


def _step(
    db: Any, who: Principal, claim_id: int, guard: Callable[..., Claim], act: Callable[..., Any]
) -> ClaimPublic:
    def work(s: Session) -> ClaimPublic:
        guard(s, who, claim_id)
        act(s)
        return ClaimPublic.model_validate(claims.get_claim(s, claim_id))

    result: ClaimPublic = db.write(work)
    return result


@router.post("/{claim_id}/check", response_model=ClaimPublic)
def check_claim(
    claim_id: PathId, body: OpinionBody, db: DatabaseDep, who: Caseworker
) -> ClaimPublic:
    """初审 passed, with the caseworker's opinion (审核意见)."""
    return _step(
        db,
        who,
        claim_id,
        _in_district,
        lambda s: claims.check_claim(s, who.actor, claim_id, body.opinion),
    )


@router.post("/{claim_id}/return", response_model=ClaimPublic)
def return_claim(
    claim_id: PathId, body: ReasonBody, db: DatabaseDep, who: Caseworker
) -> ClaimPublic:
    """初审: back to the applicant for what is missing."""
    return _step(
        db,
        who,
        claim_id,
        _in_district,
        lambda s: claims.return_claim(s, who.actor, claim_id, body.reason),
    )


@router.post("/{claim_id}/review", response_model=ClaimPublic)
def review_claim(
    claim_id: PathId, body: OpinionBody, db: DatabaseDep, who: Caseworker
) -> ClaimPublic:
    """复核 passed, with an opinion; not by whoever did the claim's 初审 (409 says who)."""
    return _step(
        db,
        who,
        claim_id,
        _in_district,
        lambda s: claims.review_claim(s, who.actor, claim_id, body.opinion),
    )


@router.post("/{claim_id}/reject", response_model=ClaimPublic)
def reject_claim(
    claim_id: PathId, body: ReasonBody, db: DatabaseDep, who: Caseworker
) -> ClaimPublic:
    return _step(
        db,
        who,
        claim_id,
        _in_district,
        lambda s: claims.reject_claim(s, who.actor, claim_id, body.reason),
    )


@router.post("/{claim_id}/redecide", response_model=DecisionPublic)
def redecide_claim(
    claim_id: PathId, body: ChangesBody, db: DatabaseDep, who: Caseworker
) -> DecisionPublic:
    check_facts(body.changes, "changes")

    def work(s: Session) -> DecisionPublic:
        _in_district(s, who, claim_id)
        decision = claims.redecide_claim(s, who.actor, claim_id, body.reason, body.changes)
        return DecisionPublic.model_validate(decision)

    result: DecisionPublic = db.write(work)
    return result


@router.post("/{claim_id}/resubmit", response_model=ClaimPublic)
def resubmit_claim(
    claim_id: PathId, body: ChangesBody, db: DatabaseDep, who: Applicant
) -> ClaimPublic:
    check_facts(body.changes, "changes")
    return _step(
        db,
        who,
        claim_id,
        _own,
        lambda s: claims.resubmit_claim(s, who.actor, claim_id, body.changes),
    )


@router.post("/{claim_id}/withdraw", response_model=ClaimPublic)
def withdraw_claim(
    claim_id: PathId, body: ReasonBody, db: DatabaseDep, who: Applicant
) -> ClaimPublic:
    return _step(
        db,
        who,
        claim_id,
        _own,
        lambda s: claims.withdraw_claim(s, who.actor, claim_id, body.reason),
    )
