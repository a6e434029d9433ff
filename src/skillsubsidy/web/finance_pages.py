"""Finance: fund balances, payment batches per fund, the payment list for the bank, marking
a batch paid; and the public notice as Excel and PDF."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from skillsubsidy.api.auth import DatabaseDep, Today
from skillsubsidy.api.routes.notices import public_lines
from skillsubsidy.api.schemas import PathId
from skillsubsidy.domain.workflow import ClaimStatus
from skillsubsidy.policy.vocabulary import DISTRICT_NAMES, KIND_NAMES
from skillsubsidy.services import exports, notices, payments, registry
from skillsubsidy.store.models import Claim, FundAccount, PaymentBatch, Recovery
from skillsubsidy.web.pages import XLSX, attempt, download, page, refusal
from skillsubsidy.web.session import Csrf, MaybeUser, UserDep

router = APIRouter(include_in_schema=False)
ACCOUNT_NAMES = {
    "social_security_card": "社会保障卡",
    "bank": "银行账户",
    "organisation": "单位账户",
}
READERS = ("finance", "admin", "auditor")


@router.get("/finance", response_class=HTMLResponse)
def finance_home(request: Request, db: DatabaseDep, who: UserDep) -> HTMLResponse:
    if who.role not in READERS:
        return refusal(request, who, HTTPException(403, "资金与拨付页面仅财务、审计可见"))
    with db.session() as s:
        approved = [
            c
            for c in s.scalars(select(Claim).where(Claim.status == ClaimStatus.APPROVED))
            if c.decision is not None
        ]
        funds = [
            {
                "district": f.district_code,
                "balance": registry.balance(s, f.district_code),
                "waiting": sum(
                    1
                    for c in approved
                    if c.decision and c.decision.fund_district == f.district_code
                ),
            }
            for f in s.scalars(select(FundAccount).order_by(FundAccount.district_code))
        ]
        batches = list(s.scalars(select(PaymentBatch).order_by(PaymentBatch.id.desc()).limit(50)))
        totals = {b.id: sum((p.amount for p in b.payments), Decimal("0.00")) for b in batches}
        recovered = [
            (r, s.get(Claim, r.claim_id))
            for r in s.scalars(select(Recovery).order_by(Recovery.id.desc()).limit(100))
        ]
        for b in batches:
            _ = b.fund.district_code
    return page(
        request,
        "finance.html",
        who,
        title="资金与拨付",
        active="finance",
        funds=funds,
        batches=batches,
        totals=totals,
        recoveries=recovered,
        can_pay=who.role in ("finance", "admin"),
    )


@router.post("/finance/batches")
def create_batch(
    request: Request, db: DatabaseDep, who: UserDep, _: Csrf, fund: Annotated[str, Form()]
) -> Response:
    def work(s: Session) -> int:
        if who.role not in ("finance", "admin"):
            raise HTTPException(403, "只有财务生成拨付批次")
        return payments.create_batch(s, who.actor, fund).id

    return attempt(request, who, db, work, lambda _: "/finance", "拨付批次已生成")


@router.post("/finance/batches/{batch_id}/paid")
def mark_paid(
    request: Request, batch_id: PathId, db: DatabaseDep, who: UserDep, _: Csrf, today: Today
) -> Response:
    def work(s: Session) -> None:
        if who.role not in ("finance", "admin"):
            raise HTTPException(403, "只有财务标记拨付")
        payments.mark_paid(s, who.actor, batch_id, today)

    return attempt(request, who, db, work, lambda _: "/finance", "已标记拨付")


@router.post("/finance/recoveries/{recovery_id}/recovered")
def record_recovered(
    request: Request, recovery_id: PathId, db: DatabaseDep, who: UserDep, _: Csrf, today: Today
) -> Response:
    """The wrongly paid money is back: the fund is credited."""

    def work(s: Session) -> None:
        if who.role not in ("finance", "admin"):
            raise HTTPException(403, "只有财务登记追回到账")
        payments.record_recovered(s, who.actor, recovery_id, today)

    return attempt(request, who, db, work, lambda _: "/finance", "追回款已到账，资金已回补")


@router.get("/finance/batches/{batch_id}/payments.xlsx")
def payment_list(request: Request, batch_id: PathId, db: DatabaseDep, who: UserDep) -> Response:
    if who.role not in READERS:
        return refusal(request, who, HTTPException(403, "拨付清单仅财务、审计可见"))
    with db.session() as s:
        batch = payments.get_batch(s, batch_id)
        export = exports.PaymentExport(
            batch_id=batch.id,
            fund_name=DISTRICT_NAMES.get(batch.fund.district_code, batch.fund.district_code),
            paid_on=batch.paid_on,
            lines=[
                exports.PaymentLineExport(
                    claim_reference=p.claim.reference,
                    payee_name=p.account_name,
                    account_kind_name=ACCOUNT_NAMES.get(p.account_kind, p.account_kind),
                    account_number=p.account_number,
                    amount=p.amount,
                )
                for p in batch.payments
            ],
        )
    return download(exports.payment_list_xlsx(export), XLSX, f"payments-{batch_id}.xlsx")


def _notice_export(s: Session, notice_id: int) -> exports.NoticeExport:
    notice = notices.get_notice(s, notice_id)
    return exports.NoticeExport(
        title=notice.title,
        district_name=DISTRICT_NAMES.get(notice.district_code, notice.district_code),
        published_on=notice.published_on,
        last_day=notice.closes_on,
        lines=[
            exports.NoticeLineExport(
                payee=line.payee,
                kind_name=KIND_NAMES[line.kind],
                count=line.count,
                standard=line.standard,
                amount=line.amount,
            )
            for line in public_lines(s, notice)
        ],
    )


@router.get("/notices/{notice_id}/list.xlsx")
def notice_xlsx(request: Request, notice_id: PathId, db: DatabaseDep, who: MaybeUser) -> Response:
    """Public, like the page: masked names, never an ID number."""
    try:
        with db.session() as s:
            data = exports.notice_xlsx(_notice_export(s, notice_id))
    except Exception as exc:
        return refusal(request, who, exc)
    return download(data, XLSX, f"notice-{notice_id}.xlsx")


@router.get("/notices/{notice_id}/list.pdf")
def notice_pdf(request: Request, notice_id: PathId, db: DatabaseDep, who: MaybeUser) -> Response:
    try:
        with db.session() as s:
            data = exports.notice_pdf(_notice_export(s, notice_id))
    except Exception as exc:
        return refusal(request, who, exc)
    return download(data, "application/pdf", f"notice-{notice_id}.pdf")
