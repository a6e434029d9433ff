"""Organisations, people and certificates."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy import select
from sqlalchemy.orm import Session

from skillsubsidy.api.auth import DatabaseDep, Principal, Today, forbidden, principal, roles
from skillsubsidy.api.limits import not_after
from skillsubsidy.api.schemas import (
    CertificateCreate,
    DistrictCreate,
    Filter,
    OrganisationCreate,
    OrganisationPublic,
    PathId,
    PayoutChangeCreate,
    PayoutChangeDecision,
    PayoutChangePublic,
    PersonCreate,
    PersonPublic,
)
from skillsubsidy.services import payouts, registry
from skillsubsidy.services.errors import InvalidInput
from skillsubsidy.store.models import Organisation, PayoutChange

router = APIRouter(tags=["registry"])
Admin = Annotated[Principal, Depends(roles())]
Registrar = Annotated[Principal, Depends(roles("caseworker", "institution", "employer", "school"))]
Issuer = Annotated[Principal, Depends(roles("caseworker", "institution"))]
Holder = Annotated[
    Principal, Depends(roles("trainee", "institution", "employer", "school", "caseworker"))
]
Caseworker = Annotated[Principal, Depends(roles("caseworker"))]
BUREAU = ("caseworker", "admin")
# who may record a certificate: the bureau, or the evaluation institution that issued it
ISSUING_KINDS = ("evaluation_institution",)


@router.get("/me")
def me(who: Annotated[Principal, Depends(principal)]) -> dict[str, object]:
    """The signed-in user: role and scope."""
    return {
        "username": who.username,
        "role": who.role,
        "districts": list(who.districts),
        "organisation_id": who.organisation_id,
        "person_id": who.person_id,
    }


@router.get("/organisations", response_model=list[OrganisationPublic])
def list_organisations(
    db: DatabaseDep, who: Annotated[Principal, Depends(principal)], kind: Filter = None
) -> list[OrganisationPublic]:
    with db.session() as s:
        query = select(Organisation).order_by(Organisation.id)
        if kind:
            query = query.where(Organisation.kind == kind)
        return [OrganisationPublic.model_validate(o) for o in s.scalars(query)]


@router.post("/organisations", response_model=OrganisationPublic, status_code=201)
def create_organisation(
    body: OrganisationCreate, db: DatabaseDep, who: Admin
) -> OrganisationPublic:
    return db.write(
        lambda s: OrganisationPublic.model_validate(
            registry.register_organisation(s, **body.model_dump(), actor=who.actor)
        )
    )


@router.post("/districts", status_code=201)
def add_district(body: DistrictCreate, db: DatabaseDep, who: Admin) -> dict[str, str]:
    """The bureau registers a district and its fund (districts never come from a claim)."""

    def work(s: Session) -> dict[str, str]:
        district = registry.add_district(s, who.actor, body.code, body.name, body.jurisdiction)
        return {"code": district.code, "name": district.name}

    return db.write(work)


@router.post("/people", response_model=PersonPublic, status_code=201)
def register_person(body: PersonCreate, db: DatabaseDep, who: Registrar) -> PersonPublic:
    """A trainee registered, or found when registered already. A payout account given for a
    registered person must be the one on record (409 otherwise: setting or changing it is an
    account change, asked for and approved)."""
    return db.write(
        lambda s: PersonPublic.model_validate(
            registry.register_person(s, **body.model_dump(), actor=who.actor)
        )
    )


@router.post("/payout-changes", response_model=PayoutChangePublic, status_code=201)
def request_payout_change(
    body: PayoutChangeCreate, db: DatabaseDep, who: Holder
) -> PayoutChangePublic:
    """账户变更, asked for by the holder — a trainee for their own account, an organisation's
    user for the organisation's — or by a caseworker on behalf of a holder of their districts
    (naming ``person_id`` or ``organisation_id``). Another caseworker decides it."""

    def work(s: Session) -> PayoutChangePublic:
        holder: dict[str, int | None]
        if who.role in BUREAU:
            if (body.person_id is None) == (body.organisation_id is None):
                raise InvalidInput("person_id", "name the holder: person_id or organisation_id")
            holder = {"person_id": body.person_id, "organisation_id": body.organisation_id}
            if not any(
                who.works_on_district(d)
                for d in payouts.districts_of(s, body.person_id, body.organisation_id)
            ):
                raise forbidden("a holder outside your districts")
        elif body.person_id is not None or body.organisation_id is not None:
            raise InvalidInput("person_id", "a holder asks for their own account only")
        elif who.role == "trainee":
            holder = {"person_id": who.person_id}
        else:
            holder = {"organisation_id": who.organisation_id}
        if holder.get("organisation_id") is not None and body.field != "bank_account":
            raise InvalidInput("field", "an organisation is paid to its bank_account")
        change = payouts.request_change(s, who.actor, body.field, body.new_value, **holder)
        return PayoutChangePublic.of(change)

    return db.write(work)


@router.get("/payout-changes", response_model=list[PayoutChangePublic])
def list_payout_changes(
    db: DatabaseDep, who: Annotated[Principal, Depends(principal)]
) -> list[PayoutChangePublic]:
    """The changes the caller asked for (holders) or may decide (caseworkers: their
    districts); everyone's for the admin and the auditor."""
    with db.session() as s:
        query = select(PayoutChange).order_by(PayoutChange.id.desc()).limit(500)
        if who.role == "trainee":
            query = query.where(PayoutChange.person_id == who.person_id)
        elif who.role in ("institution", "employer", "school"):
            query = query.where(PayoutChange.organisation_id == who.organisation_id)
        elif who.role not in ("caseworker", "admin", "auditor"):
            raise forbidden("account changes")
        found = list(s.scalars(query))
        if who.role == "caseworker":
            found = [c for c in found if _decides(s, who, c)]
        return [PayoutChangePublic.of(c) for c in found]


@router.post("/payout-changes/{change_id}/decision", response_model=PayoutChangePublic)
def decide_payout_change(
    change_id: PathId, body: PayoutChangeDecision, db: DatabaseDep, who: Caseworker
) -> PayoutChangePublic:
    """A caseworker of the holder's district approves (the account changes; batches already
    drafted keep the old one) or refuses."""

    def work(s: Session) -> PayoutChangePublic:
        change = payouts.get_change(s, change_id)
        if not _decides(s, who, change):
            raise forbidden(f"account change {change_id} is for a holder outside your districts")
        decided = payouts.decide_change(s, who.actor, change_id, body.approve, body.reason)
        return PayoutChangePublic.of(decided)

    return db.write(work)


def _decides(s: Session, who: Principal, change: PayoutChange) -> bool:
    if who.role == "admin":
        return True
    return any(who.works_on_district(d) for d in payouts.holder_districts(s, change))


@router.post("/certificates", status_code=201)
def record_certificate(
    body: CertificateCreate, db: DatabaseDep, who: Issuer, today: Today
) -> dict[str, int]:
    """A certificate obtained (recorded by the bureau or the evaluating institution)."""
    not_after("issued_on", body.issued_on, today)

    def work(s: Session) -> dict[str, int]:
        if who.role == "institution":
            org = s.get(Organisation, who.organisation_id)
            if org is None or org.kind not in ISSUING_KINDS:
                raise forbidden("only the bureau or an evaluation institution records certificates")
        person = registry.register_person(s, body.id_number, body.name, actor=who.actor)
        cert = registry.record_certificate(
            s,
            who.actor,
            person,
            issuer_id=who.organisation_id,
            **body.model_dump(exclude={"id_number", "name"}),
        )
        return {"id": cert.id, "person_id": person.id}

    return db.write(work)
