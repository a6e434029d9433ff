"""Organisations, people and certificates."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from skillsubsidy.api.auth import DatabaseDep, Principal, forbidden, roles
from skillsubsidy.api.schemas import (
    CertificateCreate,
    OrganisationCreate,
    OrganisationPublic,
    PersonCreate,
    PersonPublic,
)
from skillsubsidy.services import registry
from skillsubsidy.store.models import Certificate

router = APIRouter(tags=["registry"])
Admin = Annotated[Principal, Depends(roles())]
Registrar = Annotated[Principal, Depends(roles("caseworker", "institution", "employer", "school"))]
Issuer = Annotated[Principal, Depends(roles("caseworker", "institution"))]


@router.post("/organisations", response_model=OrganisationPublic, status_code=201)
def create_organisation(
    body: OrganisationCreate, db: DatabaseDep, who: Admin
) -> OrganisationPublic:
    return db.run(
        lambda s: OrganisationPublic.model_validate(
            registry.register_organisation(s, **body.model_dump())
        )
    )


@router.post("/people", response_model=PersonPublic, status_code=201)
def register_person(body: PersonCreate, db: DatabaseDep, who: Registrar) -> PersonPublic:
    return db.run(
        lambda s: PersonPublic.model_validate(registry.register_person(s, **body.model_dump()))
    )


@router.post("/certificates", status_code=201)
def record_certificate(body: CertificateCreate, db: DatabaseDep, who: Issuer) -> dict[str, int]:
    """A certificate obtained (recorded by the bureau or the evaluating institution)."""

    def work(s: object) -> dict[str, int]:
        from sqlalchemy.orm import Session

        assert isinstance(s, Session)
        if who.role == "caseworker" and not who.districts:
            raise forbidden("no district")
        person = registry.register_person(s, body.id_number, body.name)
        values = body.model_dump(exclude={"id_number", "name"})
        cert = Certificate(person_id=person.id, issuer_id=who.organisation_id, **values)
        s.add(cert)
        s.flush()
        return {"id": cert.id, "person_id": person.id}

    return db.run(work)
