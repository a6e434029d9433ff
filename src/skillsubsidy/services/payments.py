"""拨付 and 追回: payment batches per fund from approved claims, and recovery of money paid
wrongly (003 二(四), 003 四(四) "追回其非法所得").

A claim is paid once: the payment table holds one row per claim (a unique key), so neither
two batches nor a repeated "mark paid" can pay it twice; marking a paid batch paid again
changes nothing. No fund pays below zero: a batch is drafted only within what the fund holds
less what its other drafted batches already take (the fund locked while drafting), and a
batch the fund cannot cover is not marked paid. A payment keeps the account it was drafted
with: a later change of account applies to later batches.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from skillsubsidy.domain.workflow import ClaimStatus, PaymentBatchStatus, RecoveryStatus
from skillsubsidy.services import registry
from skillsubsidy.services.audit import move, record
from skillsubsidy.services.claims import get_claim
from skillsubsidy.services.errors import InProgress, InvalidInput, NotFound, Refused
from skillsubsidy.store.db import claim_exclusively
from skillsubsidy.store.models import (
    Claim,
    FundMovement,
    Organisation,
    Payment,
    PaymentBatch,
    Recovery,
)


def create_batch(session: Session, actor: str, fund_district: str) -> PaymentBatch:
    """A batch of the approved, unpaid, eligible claims whose decision names this fund, oldest
    first, as far as the fund's free balance goes. A claim with no account on record, or
    beyond the balance, waits for the next batch (the event lists it)."""
    registry.ensure_district(session, fund_district, "fund_district")
    if not claim_exclusively(session, f"batch|{fund_district}"):
        raise InProgress(f"a batch for {fund_district} is being drafted right now: try again")
    fund = registry.locked_fund(session, fund_district)
    due = [
        c
        for c in session.scalars(
            select(Claim)
            .where(Claim.status == ClaimStatus.APPROVED)
            .where(~select(Payment.id).where(Payment.claim_id == Claim.id).exists())
            .options(selectinload(Claim.decisions), selectinload(Claim.person))
            .order_by(Claim.id)
        )
        if c.decision is not None
        and c.decision.eligible
        and c.decision.fund_district == fund_district
    ]
    accounts = {c.id: _account(session, c) for c in due}
    free = registry.fund_balance(session, fund.id) - drafted_total(session, fund.id)
    payable: list[Claim] = []
    beyond: list[int] = []
    for claim in due:
        if accounts[claim.id] is None:
            continue
        amount = claim.decision.amount if claim.decision else Decimal(0)
        if amount > free:
            beyond.append(claim.id)
            continue
        free -= amount
        payable.append(claim)
    if not payable:
        if beyond:
            raise Refused(
                f"the fund of {fund_district} has {max(free, Decimal(0)):.2f} free: not enough "
                f"for the {len(beyond)} approved claims waiting (allocate money first)"
            )
        raise Refused(f"no approved claim with an account waits for payment from {fund_district}")
    batch = PaymentBatch(fund_id=fund.id, status=PaymentBatchStatus.DRAFT)
    session.add(batch)
    session.flush()
    made: list[Payment] = []
    for claim in payable:
        decision, account = claim.decision, accounts[claim.id]
        assert decision is not None and account is not None
        kind, name, number = account
        made.append(
            Payment(
                batch_id=batch.id,
                claim_id=claim.id,
                amount=decision.amount,
                payee=decision.payee or claim.claimant,
                account_kind=kind,
                account_name=name,
                account_number=number,
            )
        )
    session.add_all(made)
    session.flush()
    record(
        session,
        "payment_batch",
        batch.id,
        "created",
        actor,
        to_status=PaymentBatchStatus.DRAFT,
        detail={
            "claims": [c.id for c in payable],
            "fund": fund_district,
            "total": str(sum((p.amount for p in made), Decimal(0))),
            "no_account": [c.id for c in due if accounts[c.id] is None],
            "beyond_balance": beyond,
        },
        records=[batch, *made],
    )
    return batch


def drafted_total(session: Session, fund_id: int, exclude_batch: int | None = None) -> Decimal:
    """What the fund's drafted, unpaid batches will take."""
    total = session.scalar(
        select(func.coalesce(func.sum(Payment.amount), 0))
        .join(PaymentBatch, PaymentBatch.id == Payment.batch_id)
        .where(
            PaymentBatch.fund_id == fund_id,
            PaymentBatch.status == PaymentBatchStatus.DRAFT,
            PaymentBatch.id != (exclude_batch or -1),
        )
    )
    return Decimal(total or 0).quantize(Decimal("0.01"))


def _account(session: Session, claim: Claim) -> tuple[str, str, str] | None:
    """(kind, name, number) paid to: an individual's social security card (else their bank
    account), an organisation's account; None when none is on record."""
    decision = claim.decision
    payee = (decision.payee if decision else None) or claim.claimant
    if payee == "individual":
        person = claim.person
        if person.social_security_card:
            return "social_security_card", person.name, person.social_security_card
        if person.bank_account:
            return "bank", person.name, person.bank_account
        return None
    org = session.get(Organisation, claim.organisation_id) if claim.organisation_id else None
    if org is None or not org.bank_account:
        return None
    return "organisation", org.name, org.bank_account


def get_batch(session: Session, batch_id: int, lock: bool = False) -> PaymentBatch:
    if lock:
        batch = session.scalar(
            select(PaymentBatch)
            .where(PaymentBatch.id == batch_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    else:
        batch = session.get(PaymentBatch, batch_id)
    if batch is None:
        raise NotFound("payment batch", batch_id)
    return batch


def mark_paid(session: Session, actor: str, batch_id: int, paid_on: dt.date) -> PaymentBatch:
    """The bank has paid the batch: claims become paid and the fund is debited. Idempotent.
    Refused when the fund cannot cover it, saying by how much."""
    batch = get_batch(session, batch_id, lock=True)
    if batch.status == PaymentBatchStatus.PAID:
        return batch
    fund = registry.locked_fund(session, batch.fund.district_code)
    total = sum((p.amount for p in batch.payments), Decimal(0))
    held = registry.fund_balance(session, fund.id)
    if total > held:
        raise Refused(
            f"the fund of {batch.fund.district_code} holds {held:.2f}, {total - held:.2f} short "
            f"of batch {batch.id}'s {total:.2f}"
        )
    batch.paid_on = paid_on
    move(session, "payment_batch", batch, PaymentBatchStatus.PAID, "paid", actor)
    for payment in sorted(batch.payments, key=lambda p: p.claim_id):
        claim = get_claim(session, payment.claim_id, lock=True)
        movement = FundMovement(
            fund_id=batch.fund_id,
            amount=-payment.amount,
            kind="payment",
            payment_id=payment.id,
            note=f"claim {claim.reference}",
        )
        session.add(movement)
        session.flush()
        move(
            session,
            "claim",
            claim,
            ClaimStatus.PAID,
            "paid",
            actor,
            detail={"batch_id": batch.id, "amount": str(payment.amount)},
            records=[movement],
        )
    session.flush()
    return batch


def order_recovery(
    session: Session, actor: str, claim_id: int, reason: str, amount: Decimal | None = None
) -> Recovery:
    """A paid claim found wrongly paid (fraud, error): the money is ordered back."""
    claim = get_claim(session, claim_id, lock=True)
    payment = session.scalar(select(Payment).where(Payment.claim_id == claim.id))
    if payment is None or claim.status != ClaimStatus.PAID:
        raise Refused(f"claim {claim.id} was not paid: nothing to recover")
    if not reason.strip():
        raise InvalidInput("reason", "required")
    due = payment.amount if amount is None else amount
    if due <= 0 or due > payment.amount or due != due.quantize(Decimal("0.01")):
        raise InvalidInput("amount", f"in yuan and fen, between 0.01 and the {payment.amount} paid")
    recovery = Recovery(
        claim_id=claim.id,
        payment_id=payment.id,
        amount=due,
        reason=reason,
        status=RecoveryStatus.ORDERED,
    )
    session.add(recovery)
    session.flush()
    record(
        session,
        "recovery",
        recovery.id,
        "ordered",
        actor,
        to_status=RecoveryStatus.ORDERED,
        reason=reason,
        detail={"claim_id": claim.id, "amount": str(due)},
        records=[recovery],
    )
    move(session, "claim", claim, ClaimStatus.RECOVERED, "recovery_ordered", actor, reason=reason)
    return recovery


def record_recovered(session: Session, actor: str, recovery_id: int, on: dt.date) -> Recovery:
    """The money is back: the fund is credited."""
    recovery = session.scalar(
        select(Recovery)
        .where(Recovery.id == recovery_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if recovery is None:
        raise NotFound("recovery", recovery_id)
    payment = session.get(Payment, recovery.payment_id)
    assert payment is not None
    registry.locked_fund(session, payment.batch.fund.district_code)
    recovery.recovered_on = on
    movement = FundMovement(
        fund_id=payment.batch.fund_id,
        amount=recovery.amount,
        kind="recovery",
        recovery_id=recovery.id,
        note=f"claim {recovery.claim_id}",
    )
    session.add(movement)
    session.flush()
    move(
        session,
        "recovery",
        recovery,
        RecoveryStatus.RECOVERED,
        "recovered",
        actor,
        records=[movement],
    )
    return recovery
