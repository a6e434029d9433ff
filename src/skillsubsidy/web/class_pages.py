"""Pages of the training institution, employer and school: their classes, filing, the roster
as Excel, and claims for a class in one step; the caseworker's filing approval."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from skillsubsidy.api.auth import ORGANISATION_ROLES, DatabaseDep, Principal, Today
from skillsubsidy.api.schemas import MAX_SIZE, Hours, PathId
from skillsubsidy.domain.identity import masked_id
from skillsubsidy.domain.workflow import ClassStatus
from skillsubsidy.services import claims, classes, rosters
from skillsubsidy.services.errors import InvalidInput
from skillsubsidy.store.models import Certificate, Organisation, TrainingClass
from skillsubsidy.web.pages import XLSX, attempt, download, page, redirect_with, refusal
from skillsubsidy.web.session import Csrf, UserDep

router = APIRouter(include_in_schema=False)
HOURS: TypeAdapter[Decimal] = TypeAdapter(Hours)


def _own(s: Session, who: Principal, class_id: int) -> TrainingClass:
    cls = classes.get_class(s, class_id)
    if not who.runs_class(cls):
        raise HTTPException(403, f"培训班 {class_id} 属于其他单位")
    return cls


@router.get("/classes", response_class=HTMLResponse)
def class_list(request: Request, db: DatabaseDep, who: UserDep) -> HTMLResponse:
    with db.session() as s:
        query = select(TrainingClass).order_by(TrainingClass.starts_on.desc())
        found = [c for c in s.scalars(query.limit(300)) if who.sees_class(c)]
        for c in found:
            _ = c.enrolments
    return page(
        request,
        "classes.html",
        who,
        title="培训班",
        active="classes",
        classes=found,
        can_create=who.role in ORGANISATION_ROLES,
    )


@router.get("/classes/new", response_class=HTMLResponse)
def new_class(request: Request, db: DatabaseDep, who: UserDep) -> HTMLResponse:
    if who.role not in ORGANISATION_ROLES:
        return refusal(request, who, HTTPException(403, "只有培训机构、用人单位和院校开班"))
    with db.session() as s:
        org = s.get(Organisation, who.organisation_id)
        district = org.district_code if org else ""
    return page(
        request,
        "class_new.html",
        who,
        title="新建培训班",
        active="classes",
        default_district=district,
    )


@router.post("/classes")
def create_class(
    request: Request,
    db: DatabaseDep,
    who: UserDep,
    _: Csrf,
    title: Annotated[str, Form(max_length=128)],
    subsidy_kind: Annotated[str, Form(max_length=32)],
    district_code: Annotated[str, Form(max_length=16)],
    hours: Annotated[str, Form(max_length=32)],
    starts_on: Annotated[dt.date, Form()],
    ends_on: Annotated[dt.date, Form()],
    venue: Annotated[str, Form(max_length=256)],
    occupation: Annotated[str, Form(max_length=64)] = "",
    level: Annotated[str, Form(max_length=1)] = "",
    teachers: Annotated[str, Form(max_length=10_000)] = "",
    max_size: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    def work(s: Session) -> int:
        if who.role not in ORGANISATION_ROLES or who.organisation_id is None:
            raise HTTPException(403, "只有培训机构、用人单位和院校开班")
        try:  # finite, 0 < hours ≤ 10000, at most 2 decimal places (as the API)
            class_hours = HOURS.validate_python(hours.strip())
        except ValidationError:
            raise InvalidInput("课时", f"'{hours}' 应为 0 到 10000 的数") from None
        if max_size.isdigit() and int(max_size) > MAX_SIZE:
            raise InvalidInput("班级人数", f"至多 {MAX_SIZE} 人")
        return classes.create_class(
            s,
            who.actor,
            organisation_id=who.organisation_id,
            district_code=district_code,
            subsidy_kind=subsidy_kind,
            title=title,
            hours=class_hours,
            starts_on=starts_on,
            ends_on=ends_on,
            venue=venue,
            occupation=occupation.strip() or None,
            level=int(level) if level.isdigit() else None,
            teachers=[{"name": t.strip()} for t in teachers.splitlines() if t.strip()],
            max_size=int(max_size) if max_size.isdigit() else None,
        ).id

    return attempt(
        request, who, db, work, lambda c: f"/classes/{c}", "培训班已保存，请上传花名册并提交备案"
    )


@router.get("/classes/{class_id}", response_class=HTMLResponse)
def class_page(request: Request, class_id: PathId, db: DatabaseDep, who: UserDep) -> HTMLResponse:
    with db.session() as s:
        try:
            cls = classes.get_class(s, class_id)
        except Exception as exc:
            return refusal(request, who, exc)
        if not who.sees_class(cls):
            return refusal(request, who, HTTPException(403, f"培训班 {class_id} 不在您的范围内"))
        certificates = {
            c.person_id: c
            for c in s.scalars(
                select(Certificate)
                .where(Certificate.person_id.in_([e.person_id for e in cls.enrolments]))
                .order_by(Certificate.issued_on)
            )
        }
        for e in cls.enrolments:
            _ = e.person.name
        own = who.runs_class(cls)
        return page(
            request,
            "class.html",
            who,
            title=cls.title,
            active="classes",
            cls=cls,
            own=own,
            mask=masked_id,
            certificates=certificates,
            approvable=cls.status == ClassStatus.FILED and who.works_on_district(cls.district_code),
            claimable=cls.subsidy_kind in claims.ORGANISATION_CLAIMS
            and cls.status in (ClassStatus.APPROVED, ClassStatus.RUNNING, ClassStatus.FINISHED),
        )


@router.post("/classes/{class_id}/file")
def file_class(
    request: Request, class_id: PathId, db: DatabaseDep, who: UserDep, _: Csrf, today: Today
) -> Response:
    def work(s: Session) -> None:
        _own(s, who, class_id)
        classes.file_class(s, who.actor, class_id, today)

    return attempt(request, who, db, work, lambda _: f"/classes/{class_id}", "已提交开班备案")


@router.post("/classes/{class_id}/approve")
def approve_class(
    request: Request, class_id: PathId, db: DatabaseDep, who: UserDep, _: Csrf, today: Today
) -> Response:
    def work(s: Session) -> None:
        cls = classes.get_class(s, class_id)
        if not who.works_on_district(cls.district_code):
            raise HTTPException(403, f"培训班 {class_id} 不在您的办理范围内")
        classes.approve_class(s, who.actor, class_id, today)

    return attempt(request, who, db, work, lambda _: f"/classes/{class_id}", "备案已同意")


@router.get("/classes/{class_id}/roster-template.xlsx")
def roster_template(class_id: PathId, who: UserDep) -> Response:
    return download(rosters.template(), XLSX, "roster-template.xlsx")


@router.post("/classes/{class_id}/roster")
async def upload_roster(
    request: Request,
    class_id: PathId,
    db: DatabaseDep,
    who: UserDep,
    _: Csrf,
    today: Today,
    roster: Annotated[UploadFile, File()],
) -> Response:
    data = await roster.read(rosters.MAX_BYTES + 1)

    def work(s: Session) -> int:
        _own(s, who, class_id)
        return len(rosters.import_roster(s, who.actor, class_id, data, today))

    try:
        count = db.write(work)
    except rosters.RosterRejected as exc:
        return page(
            request,
            "roster_errors.html",
            who,
            status_code=422,
            title="花名册未导入",
            problems=exc.problems,
            class_id=class_id,
        )
    except Exception as exc:
        return refusal(request, who, exc)
    return redirect_with(request, f"/classes/{class_id}", f"已导入 {count} 名学员")


@router.post("/classes/{class_id}/claims")
def class_claims(
    request: Request, class_id: PathId, db: DatabaseDep, who: UserDep, _: Csrf, today: Today
) -> Response:
    def work(s: Session) -> tuple[int, list[str]]:
        _own(s, who, class_id)
        made, skipped = claims.submit_class_claims(s, who.actor, class_id, today)
        return len(made), skipped

    def message(result: Any) -> str:
        made, skipped = result
        return f"已提交 {made} 份申请" + (f"；未提交：{'；'.join(skipped)}" if skipped else "")

    try:
        result = db.write(work)
    except Exception as exc:
        return refusal(request, who, exc)
    return redirect_with(request, "/claims", message(result))
