"""The tamper-evident audit trail.

Every event carries the SHA-256 of its own content and of the event before it, in one chain
in commit order (``Event.seq``). The records that decide money — decisions, payments, fund
movements, claims' statuses, payout accounts, batches, recoveries — are *sealed*: the event
that writes one names it with the digest of its content (``detail.records``), so a row edited
behind the application's back no longer matches the event that wrote it.

Events are appended when a transaction commits (``seal``): the chain's end (``AuditHead``) is
locked, each new event gets the next place and its hashes, and is inserted once; nothing ever
updates an event, so on PostgreSQL the application's role can be denied UPDATE and DELETE.
``verify`` walks the chain and the sealed records.

With ``SKILLSUBSIDY_AUDIT_KEY`` set (from the first event on), an event's hash is an HMAC
under that key: someone who can write to the database but does not hold the key cannot
append an event that covers an edit. Without it the chain shows edits, but a writer who
knows the algorithm could re-seal one with a new event (it would still stand in the trail).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from skillsubsidy.store.models import (
    AuditHead,
    Certificate,
    Claim,
    Decision,
    Enrolment,
    Event,
    FundAccount,
    FundMovement,
    NoticeItem,
    Objection,
    Organisation,
    Payment,
    PaymentBatch,
    PayoutChange,
    Person,
    PublicNotice,
    Recovery,
    TrainingClass,
    User,
)

GENESIS = "0" * 64
KEY_SETTING = "SKILLSUBSIDY_AUDIT_KEY"
_CENT = Decimal("0.01")

# the records whose content an event seals, and the columns that make up that content
SEALED: dict[type[Any], tuple[str, ...]] = {
    Decision: (
        "id",
        "claim_id",
        "version",
        "pack_id",
        "eligible",
        "amount",
        "payee",
        "fund_district",
        "reasons",
    ),
    Claim: (
        "id",
        "reference",
        "kind",
        "claimant",
        "jurisdiction",
        "district_code",
        "applied_on",
        "person_id",
        "organisation_id",
        "class_id",
        "certificate_id",
        "status",
        "facts",
    ),
    Payment: (
        "id",
        "batch_id",
        "claim_id",
        "amount",
        "payee",
        "account_kind",
        "account_name",
        "account_number",
    ),
    PaymentBatch: ("id", "fund_id", "status", "paid_on"),
    FundMovement: ("id", "fund_id", "amount", "kind", "payment_id", "recovery_id"),
    Recovery: ("id", "claim_id", "payment_id", "amount", "status", "recovered_on"),
    Person: ("id", "id_number", "name", "social_security_card", "bank_account"),
    Organisation: (
        "id",
        "credit_code",
        "name",
        "kind",
        "district_code",
        "public_institution",
        "bank_account",
    ),
    # what a claim rests on: the certificate, the class and its roster
    Certificate: (
        "id",
        "person_id",
        "type",
        "occupation",
        "level",
        "number",
        "issued_on",
        "renewal",
        "issuer_id",
    ),
    TrainingClass: (
        "id",
        "organisation_id",
        "jurisdiction",
        "district_code",
        "subsidy_kind",
        "occupation",
        "level",
        "course",
        "hours",
        "starts_on",
        "ends_on",
        "domestic_service",
        "local_specialty",
        "employment_rate",
        "status",
        "filed_on",
        "approved_on",
    ),
    Enrolment: ("id", "class_id", "person_id", "enrolled_on"),
    # which district's money a fund is, a payout change asked for, who may do what
    FundAccount: ("id", "district_code"),
    PayoutChange: ("id", "person_id", "organisation_id", "field", "new_value", "status"),
    User: ("id", "username", "role", "districts", "organisation_id", "person_id", "active"),
    # the notice and its objections
    PublicNotice: ("id", "district_code", "published_on", "closes_on", "status", "closed_on"),
    NoticeItem: ("id", "notice_id", "claim_id"),
    Objection: ("id", "notice_id", "claim_id", "contact_key", "status"),
}
_NAMES = {model: model.__tablename__ for model in SEALED}
_BY_NAME = {name: model for model, name in _NAMES.items()}
PENDING = "audit_pending"  # session.info: events waiting for the commit, with their records


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        # money to the fen; finer numbers (a rate) as they are, normalised
        return (
            str(value.quantize(_CENT)) if value == value.quantize(_CENT) else str(value.normalize())
        )
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def canonical(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_plain
    ).encode()


def digest(record: Any) -> str:
    """The SHA-256 of a sealed record's content."""
    columns = SEALED[type(record)]
    content = {c: _plain(getattr(record, c)) for c in columns}
    return hashlib.sha256(canonical(content)).hexdigest()


def record_key(record: Any) -> str:
    return f"{_NAMES[type(record)]}:{record.id}"


def _chain_hash(data: bytes) -> str:
    key = os.environ.get(KEY_SETTING)
    if key:
        return hmac.new(key.encode(), data, hashlib.sha256).hexdigest()
    return hashlib.sha256(data).hexdigest()


def event_hash(event: Event, prev_hash: str) -> str:
    content = {
        "seq": event.seq,
        "prev": prev_hash,
        "entity": event.entity,
        "entity_id": event.entity_id,
        "action": event.action,
        "from": event.from_status,
        "to": event.to_status,
        "actor": event.actor,
        "reason": event.reason,
        "detail": event.detail,
        "at": _plain(event.at),
    }
    return _chain_hash(canonical(content))


def is_sealed(record: Any) -> bool:
    return type(record) in SEALED


def append(session: Session, event: Event, records: Iterable[Any] = ()) -> None:
    """Queue ``event`` for the chain; it is written when the transaction commits, sealing the
    content ``records`` then have."""
    pending: list[tuple[Event, list[Any]]] = session.info.setdefault(PENDING, [])
    pending.append((event, list(records)))


def pending_events(session: Session) -> list[Event]:
    """The events this transaction will write (not yet in the table)."""
    return [event for event, _ in session.info.get(PENDING, [])]


def seal(session: Session) -> None:
    """Write the queued events at the end of the chain (called just before commit)."""
    pending: list[tuple[Event, list[Any]]] = session.info.pop(PENDING, [])
    if not pending:
        return
    session.flush()  # every record named has its id and its final content
    head = session.scalar(
        select(AuditHead)
        .where(AuditHead.id == 1)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS)
        session.add(head)
    for event, records in pending:
        if records:
            sealed = {record_key(r): digest(r) for r in records}
            event.detail = {**(event.detail or {}), "records": sealed}
        event.seq = head.seq + 1
        event.prev_hash = head.hash
        event.hash = event_hash(event, head.hash)
        head.seq, head.hash = event.seq, event.hash
        session.add(event)
    session.flush()


@dataclass(frozen=True)
class Break:
    """The first record that does not match the chain."""

    what: str
    why: str

    def __str__(self) -> str:
        return f"{self.what}: {self.why}"


def verify(session: Session) -> Break | None:
    """Walk the chain, then the sealed records: None when intact, else the first break."""
    sealed: dict[str, str] = {}
    prev, seq = GENESIS, 0
    for event in _events(session):
        seq += 1
        if event.seq != seq:
            return Break(f"event {event.id}", f"at place {event.seq}, expected {seq} (a gap)")
        if event.prev_hash != prev:
            return Break(f"event {event.id}", "does not follow the event before it")
        if event_hash(event, prev) != event.hash:
            return Break(f"event {event.id}", "its content was changed after it was written")
        prev = event.hash
        for key, value in ((event.detail or {}).get("records") or {}).items():
            sealed[key] = value  # the latest event that wrote the record holds its content
    head = session.get(AuditHead, 1)
    if seq and (head is None or head.seq != seq or head.hash != prev):
        return Break("audit chain", f"ends at event {seq}, but its head was moved")
    for model in SEALED:
        for record in session.scalars(select(model).order_by(model.id)):
            key = record_key(record)
            if key not in sealed:
                return Break(key, "no event records this record")
            if digest(record) != sealed[key]:
                return Break(key, "differs from what its last event recorded")
    return None


def _events(session: Session) -> Iterator[Event]:
    last = 0
    while True:
        page = list(
            session.scalars(select(Event).where(Event.seq > last).order_by(Event.seq).limit(5000))
        )
        if not page:
            return
        yield from page
        last = page[-1].seq
        session.expunge_all()


def model_named(name: str) -> type[Any]:
    return _BY_NAME[name]
