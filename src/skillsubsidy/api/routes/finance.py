"""拨付, fund balances and 追回."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy import select
from sqlalchemy.orm import Session

from skillsubsidy.api.auth import DatabaseDep, Principal, Today, forbidden, roles
from skillsubsidy.api.schemas import (
    BatchCreate,
    BatchPublic,
    DistrictCode,
    FundPublic,
    PaidBody,
    PathId,
    RecoveryCreate,
    RecoveryPublic,
)
from skillsubsidy.domain.workflow import PaymentBatchStatus
from skillsubsidy.services import payments, registry
from skillsubsidy.services.errors import InvalidInput
from skillsubsidy.store.models import PaymentBatch

router = APIRouter(tags=["finance"])
Finance = Annotated[Principal, Depends(roles("finance"))]
Caseworker = Annotated[Principal, Depends(roles("caseworker"))]
Reader = Annotated[Principal, Depends(roles("finance", "auditor", "caseworker"))]


@router.post("/payment-batches", response_model=BatchPublic, status_code=201)
def create_batch(body: BatchCreate, db: DatabaseDep, who: Finance) -> BatchPublic:
    return db.write(
        lambda s: BatchPublic.model_validate(
            payments.create_batch(s, who.actor, body.fund_district)
        )
    )


@router.get("/payment-batches", response_model=list[BatchPublic])
def list_batches(
    db: DatabaseDep, who: Reader, status: PaymentBatchStatus | None = None
) -> list[BatchPublic]:
    with db.session() as s:
        query = select(PaymentBatch).order_by(PaymentBatch.id.desc())
        if status:
            query = query.where(PaymentBatch.status == status)
        found = s.scalars(query.limit(200))
        return [BatchPublic.model_validate(b) for b in found if _sees_batch(who, b)]


def _sees_batch(who: Principal, batch: PaymentBatch) -> bool:
    return who.role != "caseworker" or who.works_on_district(batch.fund.district_code)


@router.get("/payment-batches/{batch_id}", response_model=BatchPublic)
def get_batch(batch_id: PathId, db: DatabaseDep, who: Reader) -> BatchPublic:
    with db.session() as s:
        batch = payments.get_batch(s, batch_id)
        if not _sees_batch(who, batch):
            raise forbidden(f"payment batch {batch_id}")
        return BatchPublic.model_validate(batch)


@router.post("/payment-batches/{batch_id}/paid", response_model=BatchPublic)
def mark_paid(
    batch_id: PathId, body: PaidBody, db: DatabaseDep, who: Finance, today: Today
) -> BatchPublic:
    """Idempotent: marking a paid batch paid again changes nothing."""
    return db.write(
        lambda s: BatchPublic.model_validate(
            payments.mark_paid(s, who.actor, batch_id, _paid_on(body, today))
        )
    )


@router.get("/funds/{district_code}", response_model=FundPublic)
def fund_balance(district_code: DistrictCode, db: DatabaseDep, who: Reader) -> FundPublic:
    if who.role == "caseworker" and not who.works_on_district(district_code):
        raise forbidden(f"the fund of {district_code}")
    with db.session() as s:
        return FundPublic(district_code=district_code, balance=registry.balance(s, district_code))


@router.post("/claims/{claim_id}/recovery", response_model=RecoveryPublic, status_code=201)
def order_recovery(
    claim_id: PathId, body: RecoveryCreate, db: DatabaseDep, who: Caseworker
) -> RecoveryPublic:
    def work(s: Session) -> RecoveryPublic:
        from skillsubsidy.services.claims import get_claim

        if not who.works_on_district(get_claim(s, claim_id).district_code):
            raise forbidden(f"claim {claim_id}")
        recovery = payments.order_recovery(s, who.actor, claim_id, body.reason, body.amount)
        return RecoveryPublic.model_validate(recovery)

    return db.write(work)


@router.post("/recoveries/{recovery_id}/recovered", response_model=RecoveryPublic)
def record_recovered(
    recovery_id: PathId, body: PaidBody, db: DatabaseDep, who: Finance, today: Today
) -> RecoveryPublic:
    return db.write(
        lambda s: RecoveryPublic.model_validate(
            payments.record_recovered(s, who.actor, recovery_id, _paid_on(body, today))
        )
    )


def _paid_on(body: PaidBody, today: dt.date) -> dt.date:
    """The bank's date: today unless given, never in the future."""
    if body.on is None:
        return today
    if body.on > today:
        raise InvalidInput("on", f"{body.on} is in the future")
    return body.on
