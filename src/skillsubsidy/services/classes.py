"""Training classes: filed before they start (先备案、后开班), a real-name roster, evidence.

000 三(一), 003 三(一): a class is filed with the bureau of its district, with its course plan
and roster, before it starts; under wenzhou-2022 "一般应在培训班开班前2日" (the pack's
``filing.late_warning_days``), except domestic-service pre-job training (可灵活备案).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from skillsubsidy.domain.workflow import ClassStatus
from skillsubsidy.policy.loader import Catalogue, default_catalogue
from skillsubsidy.policy.vocabulary import COURSES, KINDS
from skillsubsidy.services import registry
from skillsubsidy.services.audit import move, record
from skillsubsidy.services.errors import InvalidInput, NotFound, Refused
from skillsubsidy.store.models import Enrolment, Evidence, Organisation, Person, TrainingClass

# 一般每班不超过50人 (000 一(六), 003 一(四)): entrepreneurship classes; a flag, not a refusal
SIZE_RULES = {"entrepreneurship": (50, "000 一(六); 003 一(四)")}
EVIDENCE_KINDS = ("sign_in", "video", "photo", "other")
OPEN_FOR_ENROLMENT = (ClassStatus.DRAFT, ClassStatus.FILED, ClassStatus.APPROVED)


def create_class(
    session: Session,
    actor: str,
    *,
    organisation_id: int,
    district_code: str,
    subsidy_kind: str,
    title: str,
    hours: Decimal,
    starts_on: dt.date,
    ends_on: dt.date,
    venue: str,
    occupation: str | None = None,
    level: int | None = None,
    course: str | None = None,
    teachers: list[Any] | None = None,
    schedule: list[Any] | None = None,
    max_size: int | None = None,
    domestic_service: bool = False,
    local_specialty: bool = False,
) -> TrainingClass:
    org = session.get(Organisation, organisation_id)
    if org is None:
        raise NotFound("organisation", organisation_id)
    if subsidy_kind not in KINDS:
        raise InvalidInput("subsidy_kind", f"unknown kind '{subsidy_kind}'")
    if course is not None and course not in COURSES:
        raise InvalidInput("course", f"unknown course '{course}'")
    if level is not None and not 1 <= level <= 5:
        raise InvalidInput("level", "a level 1..5")
    if hours < 0:
        raise InvalidInput("hours", "must not be negative")
    if ends_on < starts_on:
        raise InvalidInput("ends_on", "before starts_on")
    if max_size is not None and max_size < 1:
        raise InvalidInput("max_size", "at least 1")
    if not venue.strip():
        raise InvalidInput("venue", "required")
    district = registry.ensure_district(session, district_code, "district_code")
    cls = TrainingClass(
        organisation_id=org.id,
        jurisdiction=district.jurisdiction,
        district_code=district.code,
        subsidy_kind=subsidy_kind,
        title=title,
        occupation=occupation,
        level=level,
        course=course,
        hours=hours,
        starts_on=starts_on,
        ends_on=ends_on,
        venue=venue,
        teachers=teachers or [],
        schedule=schedule or [],
        max_size=max_size,
        domestic_service=domestic_service,
        local_specialty=local_specialty,
        status=ClassStatus.DRAFT,
    )
    session.add(cls)
    session.flush()
    record(session, "class", cls.id, "created", actor, to_status=ClassStatus.DRAFT, records=[cls])
    return cls


def get_class(session: Session, class_id: int, lock: bool = False) -> TrainingClass:
    """The class; ``lock``: locked and read fresh, for a step that moves it or fills it."""
    if lock:
        cls = session.scalar(
            select(TrainingClass)
            .where(TrainingClass.id == class_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    else:
        cls = session.get(TrainingClass, class_id)
    if cls is None:
        raise NotFound("training class", class_id)
    return cls


def filing_lead_days(cls: TrainingClass, catalogue: Catalogue | None = None) -> tuple[int, str]:
    """(days before the start a filing must come, clause) under the class's pack."""
    period = (catalogue or default_catalogue()).period_for(cls.jurisdiction, cls.starts_on)
    rule = period.conditions.filing if period else None
    if rule is None or not rule.late_warning_days:
        return 0, rule.reference if rule else "003 三(一)"
    if cls.subsidy_kind == "pre_job" and cls.domestic_service:
        return 0, rule.reference  # 家政服务人员岗前培训可灵活备案
    return rule.late_warning_days, rule.reference


def file_class(session: Session, actor: str, class_id: int, filed_on: dt.date) -> TrainingClass:
    """开班备案: refused once the class has started, and under wenzhou-2022 later than two
    days before the start (000 三(一))."""
    cls = get_class(session, class_id, lock=True)
    lead, clause = filing_lead_days(cls)
    if filed_on > cls.starts_on:
        raise Refused(f"class starts {cls.starts_on}: a class is filed before it starts", clause)
    if (cls.starts_on - filed_on).days < lead:
        raise Refused(
            f"class starts {cls.starts_on}: filing must come at least {lead} days before",
            clause,
        )
    cls.filed_on = filed_on
    move(session, "class", cls, ClassStatus.FILED, "filed", actor, detail={"on": str(filed_on)})
    return cls


def approve_class(session: Session, actor: str, class_id: int, on: dt.date) -> TrainingClass:
    cls = get_class(session, class_id, lock=True)
    cls.approved_on = on
    move(session, "class", cls, ClassStatus.APPROVED, "approved", actor)
    return cls


def refuse_filing(session: Session, actor: str, class_id: int, reason: str) -> TrainingClass:
    cls = get_class(session, class_id, lock=True)
    move(session, "class", cls, ClassStatus.REFUSED, "filing_refused", actor, reason=reason)
    return cls


def start_class(session: Session, actor: str, class_id: int, on: dt.date) -> TrainingClass:
    cls = get_class(session, class_id, lock=True)
    if on < cls.starts_on:
        raise Refused(f"the class is scheduled to start {cls.starts_on}")
    move(session, "class", cls, ClassStatus.RUNNING, "started", actor)
    return cls


def finish_class(session: Session, actor: str, class_id: int, on: dt.date) -> TrainingClass:
    cls = get_class(session, class_id, lock=True)
    move(session, "class", cls, ClassStatus.FINISHED, "finished", actor)
    return cls


def enrol(
    session: Session, actor: str, class_id: int, person: Person, enrolled_on: dt.date
) -> Enrolment:
    """实名制报名: before the class starts, once per person; the size rule is flagged."""
    cls = get_class(session, class_id, lock=True)
    if cls.status not in OPEN_FOR_ENROLMENT or enrolled_on > cls.starts_on:
        raise Refused(f"class {cls.id} started {cls.starts_on}: no enrolment after the start")
    taken = session.scalar(
        select(Enrolment).where(Enrolment.class_id == cls.id, Enrolment.person_id == person.id)
    )
    if taken is not None:
        raise InvalidInput("person.id_number", "already on this class's roster")
    enrolment = Enrolment(class_id=cls.id, person_id=person.id, enrolled_on=enrolled_on)
    session.add(enrolment)
    session.flush()
    record(
        session,
        "class",
        cls.id,
        "enrolled",
        actor,
        detail={"person_id": person.id},
        records=[enrolment],
    )
    limit, clause = _size_limit(cls)
    if limit is not None and not cls.over_size and len(cls.enrolments) > limit:
        cls.over_size = True
        record(
            session,
            "class",
            cls.id,
            "over_size",
            "system",
            reason=f"roster above {limit} ({clause})",
        )
    return enrolment


def record_employment_rate(
    session: Session, actor: str, class_id: int, rate: Decimal
) -> TrainingClass:
    """订单式培训: the share of the class's trainees employed afterwards, as the bureau found
    it (004 四(二)); the applicant never declares it."""
    cls = get_class(session, class_id, lock=True)
    if cls.subsidy_kind != "order_training":
        raise Refused(f"class {cls.id} is not an order-training class")
    if cls.status != ClassStatus.FINISHED:
        raise Refused(f"class {cls.id} is {cls.status}: the rate is recorded once it is over")
    if not Decimal(0) <= rate <= Decimal(1) or rate != rate.quantize(Decimal("0.0001")):
        raise InvalidInput("employment_rate", "a share between 0 and 1, to 4 places")
    cls.employment_rate = rate
    session.flush()
    record(
        session,
        "class",
        cls.id,
        "employment_rate_recorded",
        actor,
        detail={"employment_rate": str(rate)},
        records=[cls],
    )
    return cls


def training_days(cls: TrainingClass) -> int:
    """The days of training: the scheduled dates, else every day from start to end."""
    dates = {item.get("date") for item in cls.schedule or [] if isinstance(item, dict)}
    dates.discard(None)
    return len(dates) if dates else (cls.ends_on - cls.starts_on).days + 1


def _size_limit(cls: TrainingClass) -> tuple[int | None, str]:
    if cls.max_size is not None:
        return cls.max_size, "filed class size"
    rule = SIZE_RULES.get(cls.subsidy_kind)
    return rule if rule else (None, "")


def add_evidence(
    session: Session,
    actor: str,
    class_id: int,
    kind: str,
    description: str,
    recorded_on: dt.date,
    file_name: str | None = None,
    duration_seconds: int | None = None,
    enrolment_id: int | None = None,
) -> Evidence:
    """签到表, 培训视频…: metadata of the proof that the training happened (003 三(二))."""
    get_class(session, class_id)
    if kind not in EVIDENCE_KINDS:
        raise InvalidInput("kind", f"one of {', '.join(EVIDENCE_KINDS)}")
    evidence = Evidence(
        class_id=class_id,
        enrolment_id=enrolment_id,
        kind=kind,
        description=description,
        file_name=file_name,
        duration_seconds=duration_seconds,
        recorded_on=recorded_on,
    )
    session.add(evidence)
    session.flush()
    record(session, "class", class_id, "evidence_added", actor, detail={"kind": kind})
    return evidence
