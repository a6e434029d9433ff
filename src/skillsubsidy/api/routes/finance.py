"""拨付, fund balances and 追回."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy import select
from sqlalchemy.orm import Session

from skillsubsidy.api.auth import DatabaseDep, Principal, forbidden, roles
from skillsubsidy.api.schemas import (
    BatchCreate,
    BatchPublic,
    DateBody,
    FundPublic,
    RecoveryCreate,
    RecoveryPublic,
)
from skillsubsidy.services import payments, registry
from skillsubsidy.store.models import PaymentBatch

router = APIRouter(tags=["finance"])
Finance = Annotated[Principal, Depends(roles("finance"))]
Caseworker = Annotated[Principal, Depends(roles("caseworker"))]
Reader = Annotated[Principal, Depends(roles("finance", "auditor", "caseworker"))]


@router.post("/payment-batches", response_model=BatchPublic, status_code=201)
def create_batch(body: BatchCreate, db: DatabaseDep, who: Finance) -> BatchPublic:
    return db.run(
        lambda s: BatchPublic.model_validate(
            payments.create_batch(s, who.actor, body.fund_district)
        )
    )


@router.get("/payment-batches", response_model=list[BatchPublic])
def list_batches(db: DatabaseDep, who: Reader, status: str | None = None) -> list[BatchPublic]:
    with db.session() as s:
        query = select(PaymentBatch).order_by(PaymentBatch.id.desc())
        if status:
            query = query.where(PaymentBatch.status == status)
        return [BatchPublic.model_validate(b) for b in s.scalars(query.limit(200))]


@router.get("/payment-batches/{batch_id}", response_model=BatchPublic)
def get_batch(batch_id: int, db: DatabaseDep, who: Reader) -> BatchPublic:
    with db.session() as s:
        return BatchPublic.model_validate(payments.get_batch(s, batch_id))


@router.post("/payment-batches/{batch_id}/paid", response_model=BatchPublic)
def mark_paid(batch_id: int, body: DateBody, db: DatabaseDep, who: Finance) -> BatchPublic:
    """Idempotent: marking a paid batch paid again changes nothing."""
    return db.run(
        lambda s: BatchPublic.model_validate(payments.mark_paid(s, who.actor, batch_id, body.on))
    )


@router.get("/funds/{district_code}", response_model=FundPublic)
def fund_balance(district_code: str, db: DatabaseDep, who: Reader) -> FundPublic:
    if who.role == "caseworker" and not who.works_on_district(district_code):
        raise forbidden(f"the fund of {district_code}")
    with db.session() as s:
        return FundPublic(district_code=district_code, balance=registry.balance(s, district_code))


@router.post("/claims/{claim_id}/recovery", response_model=RecoveryPublic, status_code=201)
def order_recovery(
    claim_id: int, body: RecoveryCreate, db: DatabaseDep, who: Caseworker
) -> RecoveryPublic:
    def work(s: Session) -> RecoveryPublic:
        from skillsubsidy.services.claims import get_claim

        if not who.works_on_district(get_claim(s, claim_id).district_code):
            raise forbidden(f"claim {claim_id}")
        recovery = payments.order_recovery(s, who.actor, claim_id, body.reason, body.amount)
        return RecoveryPublic.model_validate(recovery)

    return db.run(work)


@router.post("/recoveries/{recovery_id}/recovered", response_model=RecoveryPublic)
def record_recovered(
    recovery_id: int, body: DateBody, db: DatabaseDep, who: Finance
) -> RecoveryPublic:
    return db.run(
        lambda s: RecoveryPublic.model_validate(
            payments.record_recovered(s, who.actor, recovery_id, body.on)
        )
    )
