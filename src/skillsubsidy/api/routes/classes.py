"""Training classes: filing, approval, roster, evidence."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy import select
from sqlalchemy.orm import Session

from skillsubsidy.api.auth import DatabaseDep, Principal, Today, forbidden, roles
from skillsubsidy.api.limits import not_after, years_ahead
from skillsubsidy.api.schemas import (
    CLASS_HORIZON_YEARS,
    ClassCreate,
    ClassPublic,
    EnrolmentCreate,
    EvidenceCreate,
    Filter,
    PathId,
    ReasonBody,
)
from skillsubsidy.domain.workflow import ClassStatus
from skillsubsidy.services import classes, registry
from skillsubsidy.services.errors import InvalidInput
from skillsubsidy.store.db import Database
from skillsubsidy.store.models import TrainingClass

router = APIRouter(prefix="/classes", tags=["classes"])
Organiser = Annotated[Principal, Depends(roles("institution", "employer", "school"))]
Caseworker = Annotated[Principal, Depends(roles("caseworker"))]
Reader = Annotated[
    Principal,
    Depends(roles("caseworker", "institution", "employer", "school", "finance", "auditor")),
]


def _own(s: Session, who: Principal, class_id: int) -> TrainingClass:
    cls = classes.get_class(s, class_id)
    if not who.runs_class(cls):
        raise forbidden(f"class {class_id} belongs to another organisation")
    return cls


def _district(s: Session, who: Principal, class_id: int) -> TrainingClass:
    cls = classes.get_class(s, class_id)
    if not who.works_on_district(cls.district_code):
        raise forbidden(f"class {class_id} is filed in {cls.district_code}")
    return cls


@router.post("", response_model=ClassPublic, status_code=201)
def create_class(body: ClassCreate, db: DatabaseDep, who: Organiser, today: Today) -> ClassPublic:
    if who.role != "admin" and body.organisation_id != who.organisation_id:
        raise forbidden("a class of another organisation")
    horizon = years_ahead(today, CLASS_HORIZON_YEARS)
    not_after("starts_on", body.starts_on, horizon, f"{CLASS_HORIZON_YEARS} years from today")
    not_after("ends_on", body.ends_on, horizon, f"{CLASS_HORIZON_YEARS} years from today")
    if body.ends_on < body.starts_on:
        raise InvalidInput("ends_on", f"{body.ends_on} is before starts_on ({body.starts_on})")
    return db.write(
        lambda s: ClassPublic.model_validate(
            classes.create_class(s, who.actor, **body.model_dump())
        )
    )


@router.get("", response_model=list[ClassPublic])
def list_classes(
    db: DatabaseDep,
    who: Reader,
    status: ClassStatus | None = None,
    district: Filter = None,
) -> list[ClassPublic]:
    with db.session() as s:
        query = select(TrainingClass).order_by(TrainingClass.id)
        if status:
            query = query.where(TrainingClass.status == status)
        if district:
            query = query.where(TrainingClass.district_code == district)
        return [ClassPublic.model_validate(c) for c in s.scalars(query) if who.sees_class(c)]


@router.get("/{class_id}", response_model=ClassPublic)
def get_class(class_id: PathId, db: DatabaseDep, who: Reader) -> ClassPublic:
    with db.session() as s:
        cls = classes.get_class(s, class_id)
        if not who.sees_class(cls):
            raise forbidden(f"class {class_id}")
        return ClassPublic.model_validate(cls)


def _step(
    db: Database,
    who: Principal,
    class_id: int,
    guard: Callable[[Session, Principal, int], TrainingClass],
    act: Callable[[Session], TrainingClass],
) -> ClassPublic:
    """One move of a class, by a caller that ``guard`` lets through, in one transaction."""

    def work(s: Session) -> ClassPublic:
        guard(s, who, class_id)
        return ClassPublic.model_validate(act(s))

    return db.write(work)


@router.post("/{class_id}/file", response_model=ClassPublic)
def file_class(class_id: PathId, db: DatabaseDep, who: Organiser, on: Today) -> ClassPublic:
    """开班备案 by the organiser, today, before the start."""
    return _step(db, who, class_id, _own, lambda s: classes.file_class(s, who.actor, class_id, on))


@router.post("/{class_id}/approve", response_model=ClassPublic)
def approve_class(class_id: PathId, db: DatabaseDep, who: Caseworker, on: Today) -> ClassPublic:
    return _step(
        db,
        who,
        class_id,
        _district,
        lambda s: classes.approve_class(s, who.actor, class_id, on),
    )


@router.post("/{class_id}/refuse", response_model=ClassPublic)
def refuse_filing(
    class_id: PathId, body: ReasonBody, db: DatabaseDep, who: Caseworker
) -> ClassPublic:
    return _step(
        db,
        who,
        class_id,
        _district,
        lambda s: classes.refuse_filing(s, who.actor, class_id, body.reason),
    )


@router.post("/{class_id}/start", response_model=ClassPublic)
def start_class(class_id: PathId, db: DatabaseDep, who: Organiser, on: Today) -> ClassPublic:
    return _step(db, who, class_id, _own, lambda s: classes.start_class(s, who.actor, class_id, on))


@router.post("/{class_id}/finish", response_model=ClassPublic)
def finish_class(class_id: PathId, db: DatabaseDep, who: Organiser, on: Today) -> ClassPublic:
    return _step(
        db, who, class_id, _own, lambda s: classes.finish_class(s, who.actor, class_id, on)
    )


@router.post("/{class_id}/enrolments", status_code=201)
def enrol(
    class_id: PathId, body: EnrolmentCreate, db: DatabaseDep, who: Organiser, on: Today
) -> dict[str, int]:
    """实名制报名, today: refused once the class has started."""

    def work(s: Session) -> dict[str, int]:
        _own(s, who, class_id)
        person = registry.register_person(
            s,
            body.id_number,
            body.name,
            social_security_card=body.social_security_card,
            bank_account=body.bank_account,
            actor=who.actor,
        )
        enrolment = classes.enrol(s, who.actor, class_id, person, on)
        return {"id": enrolment.id, "person_id": person.id}

    return db.write(work)


@router.post("/{class_id}/evidence", status_code=201)
def add_evidence(
    class_id: PathId, body: EvidenceCreate, db: DatabaseDep, who: Organiser, today: Today
) -> dict[str, int]:
    not_after("recorded_on", body.recorded_on, today)

    def work(s: Session) -> dict[str, int]:
        _own(s, who, class_id)
        return {"id": classes.add_evidence(s, who.actor, class_id, **body.model_dump()).id}

    return db.write(work)
