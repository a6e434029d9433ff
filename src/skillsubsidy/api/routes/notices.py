"""公示 and 异议: publishing (caseworkers), the public list and objections (anyone)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy import select
from sqlalchemy.orm import Session

from skillsubsidy.api.auth import DatabaseDep, Principal, Today, forbidden, roles
from skillsubsidy.api.schemas import (
    Filter,
    NoticeCreate,
    NoticeLine,
    NoticePublic,
    ObjectionCreate,
    ObjectionPublic,
    ObjectionResolve,
    PathId,
)
from skillsubsidy.domain.identity import masked_name
from skillsubsidy.domain.workflow import NoticeStatus, ObjectionStatus
from skillsubsidy.services import notices
from skillsubsidy.store.models import Objection, Organisation, PublicNotice

router = APIRouter(tags=["notices"])
Caseworker = Annotated[Principal, Depends(roles("caseworker"))]
Reviewer = Annotated[Principal, Depends(roles("caseworker", "auditor"))]


def public_lines(s: Session, notice: PublicNotice) -> list[NoticeLine]:
    """The legally required columns: the unit (or the trainee, name masked), how many, the
    standard and the amount — never an ID number, address, phone or account."""
    groups: dict[tuple[str, str, Decimal], list[int]] = defaultdict(list)
    for item in notice.items:
        claim = item.claim
        decision = claim.decision
        amount = decision.amount if decision else Decimal(0)
        if claim.organisation_id and (decision is None or decision.payee != "individual"):
            org = s.get(Organisation, claim.organisation_id)
            payee = org.name if org else "—"
        else:
            payee = masked_name(claim.person.name)
        groups[(payee, claim.kind, amount)].append(claim.id)
    return [
        NoticeLine(
            claim_id=ids[0],
            kind=kind,
            payee=payee,
            count=len(ids),
            standard=f"{amount} 元/人",
            amount=amount * len(ids),
        )
        for (payee, kind, amount), ids in groups.items()
    ]


def _public(s: Session, notice: PublicNotice) -> NoticePublic:
    return NoticePublic(
        id=notice.id,
        title=notice.title,
        district_code=notice.district_code,
        published_on=notice.published_on,
        last_day=notice.closes_on,
        status=notice.status,
        lines=public_lines(s, notice),
    )


@router.post("/notices", response_model=NoticePublic, status_code=201)
def publish_notice(body: NoticeCreate, db: DatabaseDep, who: Caseworker, on: Today) -> NoticePublic:
    """Publish reviewed claims today; the notice runs five full days."""
    if not who.works_on_district(body.district_code):
        raise forbidden(f"notices of {body.district_code}")

    def work(s: Session) -> NoticePublic:
        notice = notices.publish_notice(
            s, who.actor, body.district_code, body.claim_ids, on, body.title
        )
        return _public(s, notice)

    return db.write(work)


@router.get("/notices", response_model=list[NoticePublic])
def list_notices(
    db: DatabaseDep, district: Filter = None, status: NoticeStatus | None = None
) -> list[NoticePublic]:
    """Public: the notices, newest first."""
    with db.session() as s:
        query = select(PublicNotice).order_by(PublicNotice.id.desc())
        if district:
            query = query.where(PublicNotice.district_code == district)
        if status:
            query = query.where(PublicNotice.status == status)
        return [_public(s, n) for n in s.scalars(query.limit(100))]


@router.get("/objections", response_model=list[ObjectionPublic])
def list_objections(
    db: DatabaseDep, who: Reviewer, status: ObjectionStatus | None = None
) -> list[ObjectionPublic]:
    """The objections of the caller's districts (all for auditors), oldest first."""
    with db.session() as s:
        query = select(Objection).join(PublicNotice).order_by(Objection.id)
        if status:
            query = query.where(Objection.status == status)
        if who.role == "caseworker":
            query = query.where(PublicNotice.district_code.in_(who.districts))
        return [ObjectionPublic.model_validate(o) for o in s.scalars(query)]


@router.get("/notices/{notice_id}", response_model=NoticePublic)
def show_notice(notice_id: PathId, db: DatabaseDep) -> NoticePublic:
    """Public: no sign-in."""
    with db.session() as s:
        return _public(s, notices.get_notice(s, notice_id))


# public: anonymous callers are limited per address (api.security)
@router.post("/notices/{notice_id}/objections", response_model=ObjectionPublic, status_code=201)
def lodge_objection(
    notice_id: PathId, body: ObjectionCreate, db: DatabaseDep, on: Today
) -> ObjectionPublic:
    """Public: anyone may object, today, while the notice runs."""
    return db.write(
        lambda s: ObjectionPublic.model_validate(
            notices.lodge_objection(s, notice_id, lodged_on=on, **body.model_dump())
        )
    )


@router.post("/objections/{objection_id}/resolve", response_model=ObjectionPublic)
def resolve_objection(
    objection_id: PathId, body: ObjectionResolve, db: DatabaseDep, who: Caseworker, on: Today
) -> ObjectionPublic:
    def work(s: Session) -> ObjectionPublic:
        objection = s.get(Objection, objection_id)
        if objection is not None:
            notice = notices.get_notice(s, objection.notice_id)
            if not who.works_on_district(notice.district_code):
                raise forbidden(f"objections in {notice.district_code}")
        resolved = notices.resolve_objection(
            s, who.actor, objection_id, body.upheld, body.resolution, on
        )
        return ObjectionPublic.model_validate(resolved)

    return db.write(work)


@router.post("/notices/{notice_id}/close", response_model=NoticePublic)
def close_notice(notice_id: PathId, db: DatabaseDep, who: Caseworker, on: Today) -> NoticePublic:
    """公示期满: today must be after the fifth full day."""

    def work(s: Session) -> NoticePublic:
        notice = notices.get_notice(s, notice_id)
        if not who.works_on_district(notice.district_code):
            raise forbidden(f"notices of {notice.district_code}")
        return _public(s, notices.close_notice(s, who.actor, notice_id, on))

    return db.write(work)
