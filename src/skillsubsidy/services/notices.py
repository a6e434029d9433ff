"""公示 and 异议 (000 二(二)(三), 003 二(二)(三)).

Reviewed claims are published together; "公示期不少于5天" — the notice runs for five full days
after the day it is published and closes no earlier than the day after the fifth. An
objection during the notice sends its claim back to 复核: upheld → the claim is cancelled
(取消其补贴资格); dismissed → it goes on; either way the objector is told the outcome.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from skillsubsidy.domain.workflow import ClaimStatus, NoticeStatus, ObjectionStatus
from skillsubsidy.services import registry
from skillsubsidy.services.audit import move, record
from skillsubsidy.services.claims import FourEyes, get_claim, reviewers
from skillsubsidy.services.errors import InvalidInput, NotFound, Refused
from skillsubsidy.store.models import NoticeItem, Objection, PublicNotice

NOTICE_DAYS = 5
NOTICE_CLAUSE = "000 二(二); 003 二(二)"


def publish_notice(
    session: Session,
    actor: str,
    district_code: str,
    claim_ids: Sequence[int],
    published_on: dt.date,
    title: str | None = None,
) -> PublicNotice:
    if not claim_ids:
        raise InvalidInput("claim_ids", "a notice lists at least one claim")
    district = registry.ensure_district(session, district_code)
    notice = PublicNotice(
        district_code=district.code,
        title=title or f"{district.name}职业技能培训补贴公示（{published_on:%Y年%m月%d日}）",
        published_on=published_on,
        closes_on=published_on + dt.timedelta(days=NOTICE_DAYS),
        status=NoticeStatus.OPEN,
    )
    session.add(notice)
    session.flush()
    items: list[NoticeItem] = []
    for claim_id in sorted(dict.fromkeys(claim_ids)):  # locked in one order: no deadlock
        claim = get_claim(session, claim_id, lock=True)
        if claim.district_code != district.code:
            raise InvalidInput("claim_ids", f"claim {claim.id} is filed in {claim.district_code}")
        if claim.status != ClaimStatus.REVIEWED:
            raise Refused(f"claim {claim.id} is {claim.status}: only reviewed claims are published")
        move(
            session,
            "claim",
            claim,
            ClaimStatus.IN_NOTICE,
            "published",
            actor,
            detail={"notice_id": notice.id},
        )
        items.append(NoticeItem(notice_id=notice.id, claim_id=claim.id))
    session.add_all(items)
    session.flush()
    record(
        session,
        "notice",
        notice.id,
        "published",
        actor,
        to_status=NoticeStatus.OPEN,
        detail={"claims": list(dict.fromkeys(claim_ids)), "last_day": str(notice.closes_on)},
        records=[notice, *items],
    )
    return notice


def get_notice(session: Session, notice_id: int, lock: bool = False) -> PublicNotice:
    if lock:
        notice = session.scalar(
            select(PublicNotice)
            .where(PublicNotice.id == notice_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    else:
        notice = session.get(PublicNotice, notice_id)
    if notice is None:
        raise NotFound("public notice", notice_id)
    return notice


def lodge_objection(
    session: Session,
    notice_id: int,
    claim_id: int,
    objector: str,
    contact: str,
    grounds: str,
    lodged_on: dt.date,
) -> Objection:
    """Anyone may object while the notice is open; the claim goes back to 复核."""
    notice = get_notice(session, notice_id)
    if notice.status != NoticeStatus.OPEN or lodged_on > notice.closes_on:
        raise Refused(f"notice {notice.id} ran until {notice.closes_on}", NOTICE_CLAUSE)
    if lodged_on < notice.published_on:
        raise InvalidInput("lodged_on", "before the notice was published")
    for field, value in (("objector", objector), ("contact", contact), ("grounds", grounds)):
        if not value.strip():
            raise InvalidInput(field, "required")
    listed = session.scalar(
        select(NoticeItem).where(NoticeItem.notice_id == notice.id, NoticeItem.claim_id == claim_id)
    )
    if listed is None:
        raise InvalidInput("claim_id", f"claim {claim_id} is not in notice {notice.id}")
    claim = get_claim(session, claim_id, lock=True)
    key = contact_key(contact)
    earlier = session.scalar(
        select(Objection).where(
            Objection.notice_id == notice.id,
            Objection.claim_id == claim_id,
            Objection.contact_key == key,
        )
    )
    if earlier is not None:
        return earlier  # one contact objects to one claim once: a repeat counts as the first
    objection = Objection(
        notice_id=notice.id,
        claim_id=claim_id,
        lodged_on=lodged_on,
        objector=objector,
        contact=contact,
        contact_key=key,
        grounds=grounds,
        status=ObjectionStatus.LODGED,
    )
    session.add(objection)
    session.flush()
    record(
        session,
        "objection",
        objection.id,
        "lodged",
        f"public:{objector}",
        to_status=ObjectionStatus.LODGED,
        reason=grounds,
        records=[objection],
    )
    if claim.status == ClaimStatus.IN_NOTICE:
        move(
            session,
            "claim",
            claim,
            ClaimStatus.RE_REVIEW,
            "objection_lodged",
            "system",
            reason=grounds,
            detail={"objection_id": objection.id},
        )
    return objection


def contact_key(contact: str) -> str:
    """A contact as compared: spaces collapsed, case folded."""
    return " ".join(contact.split()).casefold()[:128]


def resolve_objection(
    session: Session, actor: str, objection_id: int, upheld: bool, resolution: str, on: dt.date
) -> Objection:
    """复核 of an objection: upheld cancels the claim; dismissed lets it go on. The objector
    is told the outcome (告知异议提出人). Whoever did the claim's 初审 or 复核 does not judge
    an objection against it."""
    objection = session.scalar(
        select(Objection)
        .where(Objection.id == objection_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if objection is None:
        raise NotFound("objection", objection_id)
    if not resolution.strip():
        raise InvalidInput("resolution", "required")
    if objection.status != ObjectionStatus.LODGED:
        raise Refused(f"objection {objection.id} was {objection.status} already")
    claim = get_claim(session, objection.claim_id, lock=True)
    if actor in reviewers(session, claim.id).values():
        raise FourEyes(
            f"claim {claim.id}: {actor} did its 初审 or 复核, so an objection against it is "
            "judged by another caseworker"
        )
    if claim.status not in (ClaimStatus.RE_REVIEW, ClaimStatus.CANCELLED):
        raise Refused(f"claim {claim.id} is {claim.status}, not under re-review")
    outcome = ObjectionStatus.UPHELD if upheld else ObjectionStatus.DISMISSED
    objection.resolution = resolution
    objection.resolved_at = dt.datetime.now(dt.UTC)
    move(session, "objection", objection, outcome, str(outcome), actor, reason=resolution)
    if upheld:
        if claim.status == ClaimStatus.RE_REVIEW:
            move(
                session,
                "claim",
                claim,
                ClaimStatus.CANCELLED,
                "cancelled",
                actor,
                reason=f"objection {objection.id} upheld: {resolution}",
            )
    elif claim.status == ClaimStatus.RE_REVIEW and not _objected(session, claim.id):
        notice = get_notice(session, objection.notice_id)
        wanted = (
            ClaimStatus.IN_NOTICE if notice.status == NoticeStatus.OPEN else ClaimStatus.APPROVED
        )
        move(
            session,
            "claim",
            claim,
            wanted,
            "objection_dismissed",
            actor,
            reason=f"objection {objection.id} dismissed: {resolution}",
        )
    objection.objector_told_at = dt.datetime.now(dt.UTC)
    record(
        session,
        "objection",
        objection.id,
        "objector_told",
        actor,
        detail={"contact": objection.contact, "outcome": str(outcome), "on": str(on)},
    )
    return objection


def _objected(session: Session, claim_id: int) -> bool:
    """An objection to the claim still waits for its 复核."""
    waiting = select(Objection.id).where(
        Objection.claim_id == claim_id, Objection.status == ObjectionStatus.LODGED
    )
    return session.scalar(waiting.limit(1)) is not None


def close_notice(session: Session, actor: str, notice_id: int, on: dt.date) -> PublicNotice:
    """公示期满: the claims without an open objection are approved for payment."""
    notice = get_notice(session, notice_id, lock=True)
    if on <= notice.closes_on:
        raise Refused(
            f"notice {notice.id} runs {NOTICE_DAYS} full days, until {notice.closes_on}",
            NOTICE_CLAUSE,
        )
    notice.closed_on = on
    move(session, "notice", notice, NoticeStatus.CLOSED, "closed", actor)
    for item in sorted(notice.items, key=lambda i: i.claim_id):
        claim = get_claim(session, item.claim_id, lock=True)
        if claim.status == ClaimStatus.IN_NOTICE:
            move(
                session,
                "claim",
                claim,
                ClaimStatus.APPROVED,
                "approved",
                actor,
                reason="公示期满无异议",
                detail={"notice_id": notice.id},
            )
    return notice
