"""Organisations, people and certificates."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy import select
from sqlalchemy.orm import Session

from skillsubsidy.api.auth import DatabaseDep, Principal, forbidden, principal, roles
from skillsubsidy.api.schemas import (
    CertificateCreate,
    OrganisationCreate,
    OrganisationPublic,
    PersonCreate,
    PersonPublic,
)
from skillsubsidy.services import registry
from skillsubsidy.store.models import Organisation

router = APIRouter(tags=["registry"])
Admin = Annotated[Principal, Depends(roles())]
Registrar = Annotated[Principal, Depends(roles("caseworker", "institution", "employer", "school"))]
Issuer = Annotated[Principal, Depends(roles("caseworker", "institution"))]
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
    db: DatabaseDep, who: Annotated[Principal, Depends(principal)], kind: str | None = None
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
            registry.register_organisation(s, **body.model_dump())
        )
    )


@router.post("/people", response_model=PersonPublic, status_code=201)
def register_person(body: PersonCreate, db: DatabaseDep, who: Registrar) -> PersonPublic:
    return db.write(
        lambda s: PersonPublic.model_validate(registry.register_person(s, **body.model_dump()))
    )


@router.post("/certificates", status_code=201)
def record_certificate(body: CertificateCreate, db: DatabaseDep, who: Issuer) -> dict[str, int]:
    """A certificate obtained (recorded by the bureau or the evaluating institution)."""

    def work(s: Session) -> dict[str, int]:
        if who.role == "institution":
            org = s.get(Organisation, who.organisation_id)
            if org is None or org.kind not in ISSUING_KINDS:
                raise forbidden("only the bureau or an evaluation institution records certificates")
        person = registry.register_person(s, body.id_number, body.name)
        cert = registry.record_certificate(
            s,
            who.actor,
            person,
            issuer_id=who.organisation_id,
            **body.model_dump(exclude={"id_number", "name"}),
        )
        return {"id": cert.id, "person_id": person.id}

    return db.write(work)
