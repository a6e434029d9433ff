"""The tables of the system of record.

People are stored once, by citizen ID; organisations once, by unified social credit code.
Money is ``Numeric(14, 2)`` (read back as ``Decimal``). Statuses are the enums of
``domain.workflow``, stored as their text values with a CHECK constraint, so the same
schema serves SQLite and PostgreSQL. Every move of a workflow is an ``Event`` row.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Dialect,
    Enum,
    ForeignKey,
    Index,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from skillsubsidy.domain import claim_facts
from skillsubsidy.domain.workflow import (
    LEDGER_STATUSES,
    ClaimStatus,
    ClassStatus,
    NoticeStatus,
    ObjectionStatus,
    PaymentBatchStatus,
    PayoutChangeStatus,
    RecoveryStatus,
)

MONEY = Numeric(14, 2, asdecimal=True)
JSON_DOC = JSON().with_variant(JSONB(), "postgresql")
# a claim that holds its place in the trainee's ledger (on its way or granted)
LIVE_CLAIM = "status IN ({})".format(", ".join(f"'{s}'" for s in sorted(LEDGER_STATUSES)))


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A moment, stored in UTC and always read back timezone-aware (SQLite keeps no zone:
    without this its times come back naive and are read 8 hours early as Beijing time)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("a naive datetime cannot be stored: give it a zone")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        moment: dt.datetime = value
        if moment.tzinfo is None:
            return moment.replace(tzinfo=dt.UTC)
        return moment.astimezone(dt.UTC)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def status(enum: type[StrEnum], name: str) -> Enum:
    return Enum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    # constraint names fixed, so migrations are the same on every database
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        Decimal: MONEY,
        dt.date: Date(),
        dt.datetime: UTCDateTime(),
        dict[str, Any]: JSON_DOC,
        list[Any]: JSON_DOC,
    }


def _now() -> Any:
    # set by Python, in UTC, so a row's time is known before it is written (the audit chain
    # hashes it) and is the same on both databases
    return utc_now


class District(Base):
    """A district (区) or the city level (市本级), by its code (POLICY.md §10)."""

    __tablename__ = "district"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    jurisdiction: Mapped[str] = mapped_column(String(16))


class FundAccount(Base):
    """The training fund (职业技能培训补贴资金) a district pays from."""

    __tablename__ = "fund_account"
    id: Mapped[int] = mapped_column(primary_key=True)
    district_code: Mapped[str] = mapped_column(ForeignKey("district.code"), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    district: Mapped[District] = relationship()


class FundMovement(Base):
    """Money into (allocation, recovery) or out of (payment) a fund: the balance is their sum."""

    __tablename__ = "fund_movement"
    id: Mapped[int] = mapped_column(primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("fund_account.id"), index=True)
    amount: Mapped[Decimal]  # signed: + in, − out
    kind: Mapped[str] = mapped_column(String(16))  # allocation | payment | recovery
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payment.id"))
    recovery_id: Mapped[int | None] = mapped_column(ForeignKey("recovery.id"))
    note: Mapped[str | None] = mapped_column(String(256))
    at: Mapped[dt.datetime] = mapped_column(default=_now())


class Person(Base):
    """A trainee, real-name by citizen ID; birth date and sex come from the ID."""

    __tablename__ = "person"
    id: Mapped[int] = mapped_column(primary_key=True)
    id_number: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    birth_date: Mapped[dt.date]
    sex: Mapped[str] = mapped_column(String(1))  # M | F
    phone: Mapped[str | None] = mapped_column(String(32))
    # 社会保障卡 financial account: individual subsidies are paid to it
    social_security_card: Mapped[str | None] = mapped_column(String(32))
    bank_account: Mapped[str | None] = mapped_column(String(64))  # when no card account
    created_at: Mapped[dt.datetime] = mapped_column(default=_now())


class Organisation(Base):
    """Training institution, employer, school, designated institution, master studio,
    evaluation institution or department, by its unified social credit code."""

    __tablename__ = "organisation"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(128))
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    district_code: Mapped[str] = mapped_column(ForeignKey("district.code"))
    public_institution: Mapped[bool] = mapped_column(default=False)  # 机关事业单位
    bank_account: Mapped[str | None] = mapped_column(String(64))  # where its subsidies go


class TrainingClass(Base):
    """A training class (培训班), filed before it starts (开班备案)."""

    __tablename__ = "training_class"
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    jurisdiction: Mapped[str] = mapped_column(String(16))
    district_code: Mapped[str] = mapped_column(ForeignKey("district.code"))  # filed with
    subsidy_kind: Mapped[str] = mapped_column(String(32))  # the claim kind it leads to
    title: Mapped[str] = mapped_column(String(128))
    occupation: Mapped[str | None] = mapped_column(String(64))
    level: Mapped[int | None]
    course: Mapped[str | None] = mapped_column(String(16))  # entrepreneurship: SYB, IYB…
    hours: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    starts_on: Mapped[dt.date]
    ends_on: Mapped[dt.date]
    venue: Mapped[str] = mapped_column(String(256))
    teachers: Mapped[list[Any]] = mapped_column(default=list)
    schedule: Mapped[list[Any]] = mapped_column(default=list)  # [{"date", "from", "to", "topic"}]
    max_size: Mapped[int | None]
    domestic_service: Mapped[bool] = mapped_column(default=False)  # 家政服务人员岗前培训
    # 地方特色产业工种 (designated institutions): filed with the class, approved with its filing
    local_specialty: Mapped[bool] = mapped_column(default=False)
    # 订单式培训 就业率: recorded by the bureau once the class is over (004 四(二))
    employment_rate: Mapped[Decimal | None] = mapped_column(Numeric(5, 4))
    status: Mapped[ClassStatus] = mapped_column(
        status(ClassStatus, "class_status"), default=ClassStatus.DRAFT
    )
    filed_on: Mapped[dt.date | None]
    approved_on: Mapped[dt.date | None]
    over_size: Mapped[bool] = mapped_column(default=False)  # the roster broke the size rule
    organisation: Mapped[Organisation] = relationship()
    enrolments: Mapped[list[Enrolment]] = relationship(back_populates="training_class")


class Enrolment(Base):
    """A trainee on a class roster (实名制报名)."""

    __tablename__ = "enrolment"
    __table_args__ = (UniqueConstraint("class_id", "person_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("training_class.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    enrolled_on: Mapped[dt.date]
    training_class: Mapped[TrainingClass] = relationship(back_populates="enrolments")
    person: Mapped[Person] = relationship()


class Evidence(Base):
    """Proof the training happened: sign-in sheets, video clips, photos (metadata only)."""

    __tablename__ = "evidence"
    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("training_class.id"), index=True)
    enrolment_id: Mapped[int | None] = mapped_column(ForeignKey("enrolment.id"))
    kind: Mapped[str] = mapped_column(String(16))  # sign_in | video | photo | other
    description: Mapped[str] = mapped_column(String(256))
    file_name: Mapped[str | None] = mapped_column(String(256))
    duration_seconds: Mapped[int | None]
    recorded_on: Mapped[dt.date]


class Certificate(Base):
    """A certificate a trainee obtained (职业资格/技能等级/专项能力/培训合格/特种作业)."""

    __tablename__ = "certificate"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    type: Mapped[str] = mapped_column(String(32))
    occupation: Mapped[str | None] = mapped_column(String(64))
    level: Mapped[int | None]
    number: Mapped[str] = mapped_column(String(64), unique=True)
    issued_on: Mapped[dt.date]
    renewal: Mapped[bool] = mapped_column(default=False)
    issuer_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    person: Mapped[Person] = relationship()


class Claim(Base):
    """A subsidy claim. ``facts`` is the claim as the engine reads it (CONTRACT.md), built
    from the records it rests on; ``status`` moves only through the services."""

    __tablename__ = "claim"
    __table_args__ = (
        # one live claim per trainee and certificate, and per trainee, class and kind: a
        # repeat (or a race of 200 identical submissions) cannot become a second claim
        Index(
            "uq_claim_live_certificate",
            "person_id",
            "certificate_id",
            unique=True,
            sqlite_where=text(f"certificate_id IS NOT NULL AND {LIVE_CLAIM}"),
            postgresql_where=text(f"certificate_id IS NOT NULL AND {LIVE_CLAIM}"),
        ),
        Index(
            "uq_claim_live_class",
            "person_id",
            "class_id",
            "kind",
            unique=True,
            sqlite_where=text(f"class_id IS NOT NULL AND {LIVE_CLAIM}"),
            postgresql_where=text(f"class_id IS NOT NULL AND {LIVE_CLAIM}"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    claimant: Mapped[str] = mapped_column(String(32))
    jurisdiction: Mapped[str] = mapped_column(String(16))
    district_code: Mapped[str] = mapped_column(ForeignKey("district.code"), index=True)
    applied_on: Mapped[dt.date]
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    class_id: Mapped[int | None] = mapped_column(ForeignKey("training_class.id"), index=True)
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("certificate.id"))
    facts: Mapped[dict[str, Any]]
    status: Mapped[ClaimStatus] = mapped_column(status(ClaimStatus, "claim_status"), index=True)
    submitted_at: Mapped[dt.datetime] = mapped_column(default=_now())
    person: Mapped[Person] = relationship()
    organisation: Mapped[Organisation | None] = relationship()
    training_class: Mapped[TrainingClass | None] = relationship()
    decisions: Mapped[list[Decision]] = relationship(
        back_populates="claim", order_by="Decision.version"
    )

    @property
    def decision(self) -> Decision | None:
        """The decision in force: the latest."""
        return self.decisions[-1] if self.decisions else None

    @property
    def declared(self) -> dict[str, Any]:
        """What the applicant declared rather than the records gave (告知承诺)."""
        return claim_facts.declared(self.facts or {})


class Decision(Base):
    """The engine's decision on a claim, with its explanation and the pack that made it.
    Re-deciding adds a version; the earlier ones stay."""

    __tablename__ = "decision"
    __table_args__ = (UniqueConstraint("claim_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claim.id"), index=True)
    version: Mapped[int]
    pack_id: Mapped[str | None] = mapped_column(String(32))
    pack_version: Mapped[str] = mapped_column(String(32))
    eligible: Mapped[bool]
    amount: Mapped[Decimal]
    payee: Mapped[str | None] = mapped_column(String(32))
    fund_district: Mapped[str | None] = mapped_column(String(16))
    reasons: Mapped[list[Any]]
    warnings: Mapped[list[Any]]
    explanation: Mapped[list[Any]]
    decided_by: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime] = mapped_column(default=_now())
    claim: Mapped[Claim] = relationship(back_populates="decisions")


class Event(Base):
    """The audit trail: every move of every workflow, who made it, when and why."""

    __tablename__ = "event"
    __table_args__ = (Index("ix_event_entity", "entity", "entity_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    # the audit chain (store.chain): the event's place, the hash of the one before, its own
    seq: Mapped[int] = mapped_column(unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(32))  # claim | class | notice | objection …
    entity_id: Mapped[int]
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON_DOC)
    at: Mapped[dt.datetime] = mapped_column(default=_now())


class AuditHead(Base):
    """The end of the audit chain (one row): taken under lock by each transaction that
    appends events, so the chain is one line in commit order."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int]
    hash: Mapped[str] = mapped_column(String(64))


class PayoutChange(Base):
    """A change of payout account, its own step: requested by the trainee (or the payee
    organisation for its own account), approved or refused by a caseworker."""

    __tablename__ = "payout_change"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    field: Mapped[str] = mapped_column(String(32))  # social_security_card | bank_account
    new_value: Mapped[str] = mapped_column(String(64))
    status: Mapped[PayoutChangeStatus] = mapped_column(
        status(PayoutChangeStatus, "payout_change_status"), default=PayoutChangeStatus.REQUESTED
    )
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[dt.datetime] = mapped_column(default=_now())
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime | None]
    reason: Mapped[str | None] = mapped_column(Text)


class IdempotencyRecord(Base):
    """The first answer to a create sent with an ``Idempotency-Key``: a repeat gets it again."""

    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("scope", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(64))  # hash of who sent it
    key: Mapped[str] = mapped_column(String(128))
    request_hash: Mapped[str] = mapped_column(String(64))  # method, path and body
    status_code: Mapped[int | None]  # None while the first request is in progress
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=_now())


class PublicNotice(Base):
    """公示: reviewed claims published together for at least 5 full days (000 二(二))."""

    __tablename__ = "public_notice"
    id: Mapped[int] = mapped_column(primary_key=True)
    district_code: Mapped[str] = mapped_column(ForeignKey("district.code"))
    title: Mapped[str] = mapped_column(String(128))
    published_on: Mapped[dt.date]
    closes_on: Mapped[dt.date]  # the first day it may close
    status: Mapped[NoticeStatus] = mapped_column(
        status(NoticeStatus, "notice_status"), default=NoticeStatus.OPEN
    )
    closed_on: Mapped[dt.date | None]
    items: Mapped[list[NoticeItem]] = relationship(back_populates="notice")


class NoticeItem(Base):
    __tablename__ = "notice_item"
    __table_args__ = (UniqueConstraint("notice_id", "claim_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("public_notice.id"), index=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claim.id"), index=True)
    notice: Mapped[PublicNotice] = relationship(back_populates="items")
    claim: Mapped[Claim] = relationship()


class Objection(Base):
    """异议 lodged during a notice; the objector is told the outcome (003 二(三))."""

    __tablename__ = "objection"
    # one contact objects to one claim once: a repeat counts as the first
    __table_args__ = (UniqueConstraint("claim_id", "notice_id", "contact_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("public_notice.id"), index=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claim.id"), index=True)
    lodged_on: Mapped[dt.date]
    objector: Mapped[str] = mapped_column(String(64))
    contact: Mapped[str] = mapped_column(String(128))
    contact_key: Mapped[str] = mapped_column(String(128))  # the contact, normalised
    grounds: Mapped[str] = mapped_column(Text)
    status: Mapped[ObjectionStatus] = mapped_column(
        status(ObjectionStatus, "objection_status"), default=ObjectionStatus.LODGED
    )
    resolution: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[dt.datetime | None]
    objector_told_at: Mapped[dt.datetime | None]


class PaymentBatch(Base):
    """A disbursement (拨付) batch: approved claims paid from one fund."""

    __tablename__ = "payment_batch"
    id: Mapped[int] = mapped_column(primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("fund_account.id"), index=True)
    status: Mapped[PaymentBatchStatus] = mapped_column(
        status(PaymentBatchStatus, "batch_status"), default=PaymentBatchStatus.DRAFT
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=_now())
    paid_on: Mapped[dt.date | None]
    fund: Mapped[FundAccount] = relationship()
    payments: Mapped[list[Payment]] = relationship(back_populates="batch")


class Payment(Base):
    """One claim's payment; a claim is paid at most once (unique ``claim_id``)."""

    __tablename__ = "payment"
    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("payment_batch.id"), index=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claim.id"), unique=True)
    amount: Mapped[Decimal]
    payee: Mapped[str] = mapped_column(String(32))
    # social_security_card | bank | organisation
    account_kind: Mapped[str] = mapped_column(String(32))
    account_name: Mapped[str] = mapped_column(String(128))
    account_number: Mapped[str] = mapped_column(String(64))
    batch: Mapped[PaymentBatch] = relationship(back_populates="payments")
    claim: Mapped[Claim] = relationship()


class Recovery(Base):
    """追回: money paid wrongly (e.g. fraud), ordered back and credited to the fund."""

    __tablename__ = "recovery"
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claim.id"), unique=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payment.id"))
    amount: Mapped[Decimal]
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[RecoveryStatus] = mapped_column(
        status(RecoveryStatus, "recovery_status"), default=RecoveryStatus.ORDERED
    )
    ordered_at: Mapped[dt.datetime] = mapped_column(default=_now())
    recovered_on: Mapped[dt.date | None]


class User(Base):
    """Someone who signs in, with one role and its scope: caseworkers their districts,
    institutions, employers and schools their organisation, trainees themselves."""

    __tablename__ = "app_user"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    districts: Mapped[list[Any]] = mapped_column(default=list)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    # sha256 of the API token; None once revoked
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    token_expires_at: Mapped[dt.datetime | None]
    password_hash: Mapped[str | None] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(default=True)


class WebSession(Base):
    """A signed-in browser session, held on the server: the cookie carries only its id, and
    signing out revokes it, so a copied cookie stops working."""

    __tablename__ = "web_session"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the cookie's id
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=_now())
    expires_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]


class LoginFailure(Base):
    """A failed sign-in, for throttling by username and by address."""

    __tablename__ = "login_failure"
    __table_args__ = (
        Index("ix_login_failure_username_at", "username", "at"),
        Index("ix_login_failure_address_at", "address", "at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(default=_now())
