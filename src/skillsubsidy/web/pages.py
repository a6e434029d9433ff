"""The pages. Each reads through the services and the same scope rules as the API
(``api.auth.Principal``); each POST runs one service call in one transaction and redirects
(post/redirect/get), with the outcome shown once as a flash message."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from skillsubsidy.api.auth import ORGANISATION_ROLES, DatabaseDep, Principal, Today
from skillsubsidy.api.routes.notices import public_lines
from skillsubsidy.api.schemas import Id, PathId, china_time
from skillsubsidy.api.security import client_address, over_limit
from skillsubsidy.domain.dates import CHINA
from skillsubsidy.domain.identity import masked_id
from skillsubsidy.domain.workflow import (
    ClaimStatus,
    IllegalTransition,
    NoticeStatus,
)
from skillsubsidy.policy.engine import evaluate
from skillsubsidy.policy.vocabulary import DISTRICT_NAMES, KIND_NAMES
from skillsubsidy.services import claims, notices, payments, users
from skillsubsidy.services.audit import trail
from skillsubsidy.services.errors import InvalidInput, NotFound, ServiceError
from skillsubsidy.store.db import Busy, Database
from skillsubsidy.store.models import (
    Claim,
    Evidence,
    FundAccount,
    FundMovement,
    Objection,
    Payment,
    PaymentBatch,
    Person,
    PublicNotice,
)
from skillsubsidy.web import charts
from skillsubsidy.web.labels import CLAIM_ACTIONS, STATUS_NAMES, labels
from skillsubsidy.web.session import SESSION_KEY, Csrf, MaybeUser, UserDep, csrf_token

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
# a stored moment (UTC) as China's time: {{ e.at | china_time }}, or with a format
templates.env.filters["china_time"] = lambda moment, fmt="%Y-%m-%d %H:%M": (
    china_time(moment).strftime(fmt) if moment is not None else ""
)
router = APIRouter(include_in_schema=False)
CASEWORK = {"check", "return", "review", "reject", "recover"}


def page(
    request: Request, name: str, who: Principal | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    flash = request.session.pop("flash", None)
    return templates.TemplateResponse(
        request,
        name,
        {
            "who": who,
            "csrf": csrf_token(request),
            "L": labels(),
            "flash": flash,
            # the demo accounts are named on the sign-in page of a demo server only
            "demo": getattr(request.app.state, "demo", False),
            **context,
        },
        status_code=status_code,
    )


def redirect_with(request: Request, url: str, text: str) -> Response:
    """Post/redirect/get, with the outcome shown once on the next page."""
    request.session["flash"] = {"text": text, "kind": ""}
    return RedirectResponse(url, status_code=303)


def download(data: bytes, media_type: str, name: str) -> Response:
    return Response(
        data,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def refusal(request: Request, who: Principal | None, exc: Exception) -> HTMLResponse:
    codes: dict[type[Exception], int] = {InvalidInput: 422, NotFound: 404, Busy: 503}
    code = codes.get(type(exc), 409)
    if isinstance(exc, HTTPException):
        code = exc.status_code
        message = str(exc.detail)
    elif isinstance(exc, Busy):
        message = "系统繁忙，本次操作未生效，请稍后重试"
    else:
        message = str(exc)
    return page(request, "error.html", who, status_code=code, title="无法办理", message=message)


def attempt(
    request: Request,
    who: Principal | None,
    db: Database,
    work: Callable[[Session], Any],
    done: Callable[[Any], str],
    message: str,
) -> Response:
    """One service call in one transaction; on success a redirect, else the refusal page
    (nothing was written)."""
    try:
        result = db.write(work)
    except (ServiceError, IllegalTransition, HTTPException, ValueError, Busy) as exc:
        return refusal(request, who, exc)
    return redirect_with(request, done(result), message)


# --- sign-in ---------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, who: MaybeUser) -> HTMLResponse:
    return page(request, "login.html", who, title="登录")


@router.post("/login")
def login(
    request: Request,
    db: DatabaseDep,
    _: Csrf,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
) -> Response:
    def again(code: int, text: str, headers: dict[str, str] | None = None) -> HTMLResponse:
        answer = page(
            request,
            "login.html",
            None,
            status_code=code,
            title="登录",
            username=username[:64],
            flash={"text": text, "kind": "error"},
        )
        answer.headers.update(headers or {})
        return answer

    address = client_address(request)
    try:
        # counted as a failure before the password is checked, erased only on success
        attempt_id = db.write(lambda s: users.open_login_attempt(s, username, address))
    except users.LoginThrottled as exc:
        minutes = max(1, -(-exc.retry_after // 60))
        return again(
            429,
            f"登录失败次数过多，请 {minutes} 分钟后再试",
            {"Retry-After": str(exc.retry_after)},
        )
    with db.session() as s:
        found = users.sign_in(s, username, password)
        user_id = found.id if found is not None else None
    if user_id is None:
        return again(401, "用户名或密码不正确")
    previous = request.session.get(SESSION_KEY)
    sid = db.write(
        lambda s: users.complete_sign_in(
            s, attempt_id, user_id, previous if isinstance(previous, str) else None
        )
    )
    request.session.clear()  # a new session (and CSRF token) on sign-in: no fixation
    request.session[SESSION_KEY] = sid
    return RedirectResponse("/", status_code=303)


@router.post("/logout")
def logout(request: Request, db: DatabaseDep, _: Csrf) -> Response:
    raw = request.session.get(SESSION_KEY)
    if isinstance(raw, str) and raw:
        db.write(lambda s: users.end_web_session(s, raw))  # a copied cookie dies with it
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


# --- home ------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def home(request: Request, db: DatabaseDep, who: MaybeUser, today: Today) -> HTMLResponse:
    if who is None:
        return page(request, "home.html", None, title="首页", cards=[])
    with db.session() as s:
        cards, paid = _home_numbers(s, who, today)
        pictures = (
            _charts(s, who) if who.role in ("caseworker", "finance", "auditor", "admin") else []
        )
    return page(
        request, "home.html", who, title="首页", cards=cards, paid_by_fund=paid, charts=pictures
    )


def _charts(s: Session, who: Principal) -> list[str]:
    """Spending by district, kind and month (payments made) and claims per status, within
    the caller's scope."""
    paid = who.claims_in_scope(
        select(Claim.district_code, Claim.kind, Payment.amount, PaymentBatch.paid_on)
        .join(Payment, Payment.claim_id == Claim.id)
        .join(PaymentBatch, Payment.batch_id == PaymentBatch.id)
        .where(PaymentBatch.paid_on.is_not(None)),
    )
    by_district: dict[str, Decimal] = defaultdict(Decimal)
    by_kind: dict[str, Decimal] = defaultdict(Decimal)
    by_month: dict[str, Decimal] = defaultdict(Decimal)
    for district, kind, amount, paid_on in s.execute(paid):
        by_district[DISTRICT_NAMES.get(district, district)] += amount
        by_kind[KIND_NAMES[kind]] += amount
        by_month[f"{paid_on:%Y-%m}"] += amount
    per_status = who.claims_in_scope(select(Claim.status, func.count(Claim.id))).group_by(
        Claim.status
    )
    statuses = {status: count for status, count in s.execute(per_status)}
    counts = {st.value: int(statuses.get(st, 0)) for st in ClaimStatus}
    return [
        charts.bar_chart(
            "已拨付金额（按区县）", sorted(by_district.items()), chart_id="by-district"
        ),
        charts.bar_chart("已拨付金额（按补贴类别）", sorted(by_kind.items()), chart_id="by-kind"),
        charts.line_chart("已拨付金额（按月）", sorted(by_month.items()), chart_id="by-month"),
        charts.stacked_status_bar("申请状态分布", counts, STATUS_NAMES, chart_id="by-status"),
    ]


def _home_numbers(
    s: Session, who: Principal, today: dt.date
) -> tuple[list[dict[str, Any]], list[tuple[str, Decimal]]]:
    def count(*statuses: ClaimStatus) -> int:
        query = who.claims_in_scope(select(func.count(Claim.id))).where(Claim.status.in_(statuses))
        return int(s.scalar(query) or 0)

    cards: list[dict[str, Any]] = []
    if who.role in ("caseworker", "admin", "auditor"):
        cards += [
            {
                "label": "待初审",
                "value": count(ClaimStatus.SUBMITTED),
                "href": "/claims?status=submitted",
            },
            {
                "label": "待复核",
                "value": count(ClaimStatus.CHECKED),
                "href": "/claims?status=checked",
            },
            {
                "label": "异议待复核",
                "value": count(ClaimStatus.RE_REVIEW),
                "href": "/claims?status=re_review",
            },
        ]
        closing = select(func.count(PublicNotice.id)).where(
            PublicNotice.status == NoticeStatus.OPEN,
            PublicNotice.closes_on < today + dt.timedelta(days=7),
        )
        if who.role == "caseworker":
            closing = closing.where(PublicNotice.district_code.in_(who.districts))
        cards.append(
            {"label": "本周可结束的公示", "value": int(s.scalar(closing) or 0), "href": "/notices"}
        )
    if who.role in ("finance", "admin", "auditor"):
        cards.append(
            {
                "label": "待拨付",
                "value": count(ClaimStatus.APPROVED),
                "href": "/claims?status=approved",
            }
        )
    if who.role in (*ORGANISATION_ROLES, "trainee"):
        live = (
            ClaimStatus.SUBMITTED,
            ClaimStatus.RETURNED,
            ClaimStatus.CHECKED,
            ClaimStatus.REVIEWED,
            ClaimStatus.IN_NOTICE,
            ClaimStatus.RE_REVIEW,
            ClaimStatus.APPROVED,
        )
        cards += [
            {"label": "办理中的申请", "value": count(*live), "href": "/claims"},
            {
                "label": "退回待补正",
                "value": count(ClaimStatus.RETURNED),
                "href": "/claims?status=returned",
            },
            {"label": "已拨付", "value": count(ClaimStatus.PAID), "href": "/claims?status=paid"},
        ]
    paid: list[tuple[str, Decimal]] = []
    if who.role in ("finance", "admin", "auditor", "caseworker"):
        # the month began at midnight in China (times are stored in UTC)
        month = dt.datetime.combine(today.replace(day=1), dt.time(), CHINA)
        rows = s.execute(
            select(FundAccount.district_code, func.sum(FundMovement.amount))
            .join(FundAccount, FundMovement.fund_id == FundAccount.id)
            .where(FundMovement.kind == "payment", FundMovement.at >= month)
            .group_by(FundAccount.district_code)
        ).all()
        paid = [
            (district, -Decimal(total))
            for district, total in rows
            if who.role != "caseworker" or district in who.districts
        ]
    return cards, paid


# --- claims ----------------------------------------------------------------------------


@router.get("/claims", response_class=HTMLResponse)
def claim_queue(
    request: Request,
    db: DatabaseDep,
    who: UserDep,
    today: Today,
    status: str = "",
    kind: str = "",
    district: str = "",
    older_than: str = "",
) -> HTMLResponse:
    with db.session() as s:
        query = who.claims_in_scope(select(Claim)).order_by(Claim.applied_on, Claim.id)
        if status in ClaimStatus.__members__.values():
            query = query.where(Claim.status == status)
        if kind:
            query = query.where(Claim.kind == kind)
        if district:
            query = query.where(Claim.district_code == district)
        if older_than.isdigit():
            cutoff = dt.datetime.combine(today - dt.timedelta(days=int(older_than)), dt.time())
            query = query.where(Claim.submitted_at < cutoff.replace(tzinfo=dt.UTC))
        found = list(s.scalars(query.limit(500)))
        for claim in found:  # load what the table shows while the session is open
            _ = claim.person.name, claim.decision
        districts = sorted({c.district_code for c in found} | set(who.districts))
    title = "申请队列" if who.role in ("caseworker", "admin", "auditor", "finance") else "我的申请"
    return page(
        request,
        "claims.html",
        who,
        title=title,
        active="claims",
        claims=found,
        statuses=[s.value for s in ClaimStatus],
        districts=districts,
        filters={"status": status, "kind": kind, "district": district, "older_than": older_than},
        reviewed=any(c.status == ClaimStatus.REVIEWED for c in found),
    )


@router.get("/claims/{claim_id}", response_class=HTMLResponse)
def claim_page(request: Request, claim_id: PathId, db: DatabaseDep, who: UserDep) -> HTMLResponse:
    with db.session() as s:
        try:
            claim = claims.get_claim(s, claim_id)
        except NotFound as exc:
            return refusal(request, who, exc)
        if not who.sees_claim(claim):
            return refusal(request, who, HTTPException(403, f"申请 {claim_id} 不在您的办理范围内"))
        events = trail(s, "claim", claim.id)
        evidence = (
            list(s.scalars(select(Evidence).where(Evidence.class_id == claim.class_id)))
            if claim.class_id
            else []
        )
        actions = (
            CLAIM_ACTIONS.get(claim.status, [])
            if who.works_on_district(claim.district_code)
            else []
        )
        steps = claims.reviewers(s, claim.id)
        # four eyes: whoever did 初审 is not offered 复核 (the service refuses it anyway)
        four_eyes = claim.status == ClaimStatus.CHECKED and steps["checked"] == who.actor
        if four_eyes:
            actions = [a for a in actions if a[0] != "review"]
        _ = claim.person.name, claim.organisation, claim.training_class, claim.decision
        objections = list(
            s.scalars(
                select(Objection).where(Objection.claim_id == claim.id).order_by(Objection.id)
            )
        )
        return page(
            request,
            "claim.html",
            who,
            title=f"申请 {claim.reference}",
            active="claims",
            claim=claim,
            trail=events,
            evidence=evidence,
            actions=actions,
            masked_id=masked_id(claim.person.id_number),
            objections=objections,
            resolves=who.works_on_district(claim.district_code) and who.actor not in steps.values(),
            steps=steps,
            four_eyes=four_eyes,
        )


@router.post("/claims/{claim_id}/{action}")
def claim_action(
    request: Request,
    claim_id: PathId,
    action: str,
    db: DatabaseDep,
    who: UserDep,
    _: Csrf,
    reason: Annotated[str, Form()] = "",
) -> Response:
    if action not in CASEWORK:
        return refusal(request, who, NotFound("action", action))

    def work(s: Session) -> None:
        claim = claims.get_claim(s, claim_id)
        if not who.works_on_district(claim.district_code):
            raise HTTPException(403, f"申请 {claim_id} 不在您的办理范围内")
        match action:
            case "check":
                claims.check_claim(s, who.actor, claim_id, reason)
            case "review":
                claims.review_claim(s, who.actor, claim_id, reason)
            case "return":
                claims.return_claim(s, who.actor, claim_id, reason)
            case "recover":
                payments.order_recovery(s, who.actor, claim_id, reason)
            case _:
                claims.reject_claim(s, who.actor, claim_id, reason)

    return attempt(request, who, db, work, lambda _: f"/claims/{claim_id}", "已办理")


@router.post("/objections/{objection_id}/resolve")
def resolve_objection(
    request: Request,
    objection_id: PathId,
    db: DatabaseDep,
    who: UserDep,
    _: Csrf,
    today: Today,
    outcome: Annotated[str, Form()],
    resolution: Annotated[str, Form()],
) -> Response:
    """异议复核: upheld cancels the claim, dismissed lets it go on; the objector is told."""

    def work(s: Session) -> int:
        objection = s.get(Objection, objection_id)
        if objection is None:
            raise NotFound("objection", objection_id)
        notice = notices.get_notice(s, objection.notice_id)
        if not who.works_on_district(notice.district_code):
            raise HTTPException(403, "该异议不在您的办理范围内")
        notices.resolve_objection(
            s, who.actor, objection_id, outcome == "upheld", resolution, today
        )
        return objection.claim_id

    return attempt(request, who, db, work, lambda c: f"/claims/{c}", "异议已处理，已告知异议人")


# --- notices ---------------------------------------------------------------------------


@router.post("/notices")
def publish(
    request: Request,
    db: DatabaseDep,
    who: UserDep,
    _: Csrf,
    today: Today,
    district: Annotated[str, Form()],
    claim_ids: Annotated[list[Id] | None, Form()] = None,
) -> Response:
    def work(s: Session) -> int:
        if not who.works_on_district(district):
            raise HTTPException(403, f"{district} 不在您的办理范围内")
        return notices.publish_notice(s, who.actor, district, claim_ids or [], today).id

    return attempt(request, who, db, work, lambda n: f"/notices/{n}", "公示已发布")


@router.get("/notices", response_class=HTMLResponse)
def notice_list(request: Request, db: DatabaseDep, who: MaybeUser) -> HTMLResponse:
    with db.session() as s:
        found = list(s.scalars(select(PublicNotice).order_by(PublicNotice.id.desc()).limit(100)))
    return page(request, "notices.html", who, title="补贴公示", active="notices", notices=found)


@router.get("/notices/{notice_id}", response_class=HTMLResponse)
def notice_page(
    request: Request, notice_id: PathId, db: DatabaseDep, who: MaybeUser
) -> HTMLResponse:
    with db.session() as s:
        try:
            notice = notices.get_notice(s, notice_id)
        except NotFound as exc:
            return refusal(request, who, exc)
        return page(
            request,
            "notice.html",
            who,
            title=notice.title,
            active="notices",
            notice=notice,
            lines=public_lines(s, notice),
        )


@router.post("/notices/{notice_id}/close")
def close_notice(
    request: Request, notice_id: PathId, db: DatabaseDep, who: UserDep, _: Csrf, today: Today
) -> Response:
    def work(s: Session) -> None:
        notice = notices.get_notice(s, notice_id)
        if not who.works_on_district(notice.district_code):
            raise HTTPException(403, "该公示不在您的办理范围内")
        notices.close_notice(s, who.actor, notice_id, today)

    return attempt(
        request,
        who,
        db,
        work,
        lambda _: f"/notices/{notice_id}",
        "公示已结束，无异议的申请转入待拨付",
    )


@router.post("/notices/{notice_id}/objections")
def object_to(
    request: Request,
    notice_id: PathId,
    db: DatabaseDep,
    who: MaybeUser,
    _: Csrf,
    today: Today,
    claim_id: Annotated[Id, Form()],
    objector: Annotated[str, Form(max_length=64)],
    contact: Annotated[str, Form(max_length=128)],
    grounds: Annotated[str, Form(max_length=2000)],
) -> Response:
    if (limited := _anonymous_limit(request, who, "objection")) is not None:
        return limited

    def work(s: Session) -> int:
        return notices.lodge_objection(s, notice_id, claim_id, objector, contact, grounds, today).id

    return attempt(
        request,
        who,
        db,
        work,
        lambda _: f"/notices/{notice_id}",
        "异议已受理，复核结果将告知您留下的联系方式",
    )


def _anonymous_limit(request: Request, who: Principal | None, name: str) -> HTMLResponse | None:
    """Visitors who are not signed in share the API's per-address limit (``api.security``)."""
    if who is not None:
        return None
    retry_after = over_limit(request, name)
    if retry_after is None:
        return None
    answer = refusal(request, None, HTTPException(429, f"请求过于频繁，请 {retry_after} 秒后再试"))
    answer.headers["Retry-After"] = str(retry_after)
    return answer


# --- eligibility check -----------------------------------------------------------------

ELIGIBILITY_FLAGS = (
    ("hukou_local", "本地户籍"),
    ("residence_permit_local", "持本地居住证"),
    ("ui_insured_local", "在本地参加失业保险"),
    ("unemployment_registered_local", "在本地登记失业"),
    ("works_locally", "在本地就业"),
    ("unemployed_graduate", "离校未就业高校毕业生"),
    ("public_servant", "公务员或参公人员"),
    ("receives_pension", "按月领取城镇职工基本养老金"),
)


@router.get("/eligibility", response_class=HTMLResponse)
def eligibility_form(
    request: Request, db: DatabaseDep, who: MaybeUser, today: Today
) -> HTMLResponse:
    form: dict[str, Any] = {
        "jurisdiction": "wenzhou",
        "district": "330302",
        "route": "institution",
        "certificate_type": "vocational",
        "applied_on": today.isoformat(),
        "id_number": _own_id(db, who),
        "occupation": "",
        "level": "",
        "issued_on": "",
    }
    return page(
        request,
        "eligibility.html",
        who,
        title="补贴测算",
        active="eligibility",
        form=form,
        flags=ELIGIBILITY_FLAGS,
        decision=None,
    )


@router.post("/eligibility", response_class=HTMLResponse)
async def eligibility_check(
    request: Request, db: DatabaseDep, who: MaybeUser, _: Csrf
) -> HTMLResponse:
    """The engine's decision on a would-be claim, with the trainee's own live claims counted
    when a trainee is signed in."""
    if (limited := _anonymous_limit(request, who, "evaluate")) is not None:
        return limited
    form: dict[str, Any] = {k: str(v) for k, v in (await request.form()).items()}
    facts: dict[str, Any] = {
        "id": "eligibility-check",
        "jurisdiction": form.get("jurisdiction", ""),
        "kind": "certificate",
        "claimant": "individual",
        "route": form.get("route", "institution"),
        "district": form.get("district", ""),
        "applied_on": form.get("applied_on", ""),
        "person": {
            "id_number": form.get("id_number", "").strip(),
            **{k: form.get(k) == "true" for k, _ in ELIGIBILITY_FLAGS},
        },
        "certificate": {
            "type": form.get("certificate_type", "vocational"),
            "occupation": form.get("occupation", "").strip() or None,
            "level": form.get("level") or None,
            "issued_on": form.get("issued_on", ""),
        },
    }
    if facts["route"] == "institution":
        # the check asks about the subsidy, not about a class: assume it was filed in time
        facts["training"] = {"filed_on": facts["certificate"]["issued_on"]}
    history = _own_history(db, who, facts["jurisdiction"])
    [decision] = evaluate([facts], history, engine=claims.engine())
    form.update({k: form.get(k) == "true" for k, _ in ELIGIBILITY_FLAGS})
    return page(
        request,
        "eligibility.html",
        who,
        title="补贴测算",
        active="eligibility",
        form=form,
        flags=ELIGIBILITY_FLAGS,
        decision=decision,
        counted=len(history),
    )


def _own_id(db: Database, who: Principal | None) -> str:
    if who is None or who.person_id is None:
        return ""
    with db.session() as s:
        person = s.get(Person, who.person_id)
        return person.id_number if person else ""


def _own_history(db: Database, who: Principal | None, jurisdiction: str) -> list[dict[str, Any]]:
    if who is None or who.role != "trainee" or who.person_id is None:
        return []
    with db.session() as s:
        return claims.live_history(s, who.person_id, jurisdiction)
