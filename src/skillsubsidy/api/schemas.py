"""Request and response bodies. Create models take only what a caller may set; Public
models show what a caller may see."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

# --- the bounds every input is held to (a 422 naming the field, never a 500) -------------
# the ids are INTEGER columns: 32 bits on PostgreSQL (SQLite's would hold 64); a larger id
# is a 422, never a database overflow
MAX_ID = 2**31 - 1
# an id in a body, and in a path
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
# paging of every list
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=10**9)]
# a filter by code or kind in a query string; a district's code in a path
Filter = Annotated[str | None, Query(max_length=64)]
DistrictCode = Annotated[str, Path(min_length=1, max_length=16)]
# money: whole fen, more than nothing, at most 100 million yuan
Money = Annotated[
    Decimal, Field(gt=0, le=100_000_000, max_digits=11, decimal_places=2, allow_inf_nan=False)
]
# a class's hours (课时): finite, at most 2 decimal places (the column is NUMERIC(8, 2))
Hours = Annotated[Decimal, Field(gt=0, le=10_000, decimal_places=2, allow_inf_nan=False)]
# a reason, opinion or resolution
Reason = Annotated[str, Field(min_length=1, max_length=2000)]
MAX_SIZE = 10_000  # trainees in one class
MAX_DURATION = 24 * 3600  # seconds of one recording (one day of training at most)
# the sane windows of dates (the upper ends depend on the server's date: checked in the routes)
EARLIEST_CERTIFICATE = dt.date(1990, 1, 1)
EARLIEST = dt.date(2000, 1, 1)  # classes, evidence, payments
CLASS_HORIZON_YEARS = 2  # a class starts and ends at most this far ahead

CHINA_ZONE = zoneinfo.ZoneInfo("Asia/Shanghai")


def china_time(moment: dt.datetime) -> dt.datetime:
    """A stored moment (UTC; a naive one is read as UTC, as the store writes it) in
    Asia/Shanghai: RFC 3339 with its offset, e.g. ``2026-12-03T17:32:05+08:00``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(CHINA_ZONE)


# every datetime a Public model shows
Moment = Annotated[dt.datetime, PlainSerializer(china_time, return_type=dt.datetime)]


class ErrorPublic(BaseModel):
    """A refusal in words; a 409 may add the clause, or the live claim a claim repeats."""

    detail: str


class FieldError(BaseModel):
    """One problem, where it is (``["body", "hours"]``, ``["query", "limit"]``…)."""

    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorPublic(BaseModel):
    """422: FastAPI's shape, used by every refusal that names a field."""

    detail: list[FieldError]


def _refusal(model: type[BaseModel], text: str) -> dict[str, Any]:
    return {"model": model, "description": text}


# declared on every operation (api.app), so the OpenAPI covers each answer the API gives
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _refusal(ErrorPublic, "the body could not be read"),
    401: _refusal(ErrorPublic, "sign-in required, or an unknown, expired or revoked token"),
    403: _refusal(ErrorPublic, "outside the caller's role or scope"),
    404: _refusal(ErrorPublic, "no such record"),
    409: _refusal(ErrorPublic, "refused by the process (the clause), a repeat, or a conflict"),
    413: _refusal(ErrorPublic, "too large: the body, or too many claims in one evaluation"),
    422: _refusal(ValidationErrorPublic, "invalid input, naming the field"),
    429: _refusal(ErrorPublic, "too many anonymous requests from this address"),
    503: _refusal(ErrorPublic, "busy: nothing was changed, try again (Retry-After)"),
}


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class EvaluateRequest(_In):
    claims: list[dict[str, Any]]
    history: list[dict[str, Any]] = []


class EvaluateResponse(BaseModel):
    decisions: list[dict[str, Any]]


class OrganisationCreate(_In):
    kind: str = Field(max_length=32)
    name: str = Field(min_length=1, max_length=128)
    credit_code: str = Field(max_length=18)
    district_code: str = Field(max_length=16)
    public_institution: bool = False
    bank_account: str | None = Field(default=None, max_length=64)


class OrganisationPublic(_Out):
    id: int
    kind: str
    name: str
    credit_code: str
    district_code: str


class PersonCreate(_In):
    id_number: str = Field(max_length=18)
    name: str = Field(min_length=1, max_length=64)
    phone: str | None = Field(default=None, max_length=32)
    social_security_card: str | None = Field(default=None, max_length=32)
    bank_account: str | None = Field(default=None, max_length=64)


class DistrictCreate(_In):
    code: str = Field(min_length=1, max_length=16, pattern=r"^[0-9A-Z-]+$")
    name: str = Field(min_length=1, max_length=64)
    jurisdiction: str = Field(pattern=r"^(wenzhou|jinhua|county)$")


class PayoutChangeCreate(_In):
    field: str = Field(pattern=r"^(social_security_card|bank_account)$")
    new_value: str = Field(min_length=4, max_length=64, pattern=r"^[0-9A-Za-z -]+$")
    # a caseworker asking on a holder's behalf names the holder; a holder never does
    person_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    organisation_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class PayoutChangeDecision(_In):
    approve: bool
    reason: str = Field(min_length=1, max_length=2000)


class PayoutChangePublic(BaseModel):
    """A change of account, numbers masked (the last 4 characters)."""

    id: int
    person_id: int | None
    organisation_id: int | None
    field: str
    new_value: str
    status: str
    requested_by: str
    decided_by: str | None
    reason: str | None

    @classmethod
    def of(cls, change: Any) -> PayoutChangePublic:
        masked = "*" * max(len(change.new_value) - 4, 0) + change.new_value[-4:]
        return cls(
            id=change.id,
            person_id=change.person_id,
            organisation_id=change.organisation_id,
            field=change.field,
            new_value=masked,
            status=str(change.status),
            requested_by=change.requested_by,
            decided_by=change.decided_by,
            reason=change.reason,
        )


class PersonPublic(_Out):
    id: int
    name: str
    birth_date: dt.date
    sex: str


class ClassCreate(_In):
    organisation_id: Id
    district_code: str = Field(max_length=16)
    subsidy_kind: str = Field(max_length=32)
    title: str = Field(min_length=1, max_length=128)
    hours: Hours
    starts_on: dt.date = Field(ge=EARLIEST)  # and at most 2 years ahead: the route checks
    ends_on: dt.date = Field(ge=EARLIEST)  # not before starts_on: the route checks
    venue: str = Field(min_length=1, max_length=256)
    occupation: str | None = Field(default=None, max_length=64)
    level: int | None = Field(default=None, ge=1, le=5)
    course: str | None = Field(default=None, max_length=16)
    teachers: list[dict[str, Any]] = Field(default=[], max_length=200)
    schedule: list[dict[str, Any]] = Field(default=[], max_length=2000)
    max_size: int | None = Field(default=None, ge=1, le=MAX_SIZE)
    domestic_service: bool = False


class ClassPublic(_Out):
    id: int
    organisation_id: int
    district_code: str
    subsidy_kind: str
    title: str
    occupation: str | None
    level: int | None
    hours: Decimal
    starts_on: dt.date
    ends_on: dt.date
    status: str
    filed_on: dt.date | None
    over_size: bool


class PaidBody(_In):
    on: dt.date | None = Field(default=None, ge=EARLIEST)  # the bank's date, if before today


class ReasonBody(_In):
    reason: str = Field(min_length=1, max_length=2000)


class OpinionBody(_In):
    """初审 / 复核: the caseworker's opinion (审核意见)."""

    opinion: str = Field(min_length=1, max_length=2000)


class EnrolmentCreate(_In):
    id_number: str = Field(max_length=18)
    name: str = Field(min_length=1, max_length=64)
    social_security_card: str | None = Field(default=None, max_length=32)
    bank_account: str | None = Field(default=None, max_length=64)


class EvidenceCreate(_In):
    kind: str = Field(max_length=16)
    description: str = Field(min_length=1, max_length=256)
    recorded_on: dt.date = Field(ge=EARLIEST)  # not in the future: the route checks
    file_name: str | None = Field(default=None, max_length=256)
    duration_seconds: int | None = Field(default=None, ge=0, le=MAX_DURATION)


class CertificateCreate(_In):
    id_number: str = Field(max_length=18)
    name: str = Field(min_length=1, max_length=64)
    type: str = Field(max_length=32)
    occupation: str | None = Field(default=None, max_length=64)
    level: int | None = Field(default=None, ge=1, le=5)
    number: str = Field(min_length=1, max_length=64)
    issued_on: dt.date = Field(ge=EARLIEST_CERTIFICATE)  # not after today: the route checks
    renewal: bool = False


class ClaimCreate(_In):
    # what the applicant declares of the claim (CONTRACT.md fields that no record holds:
    # jurisdiction, kind, claimant, district, route, person.* answers, …); the certificate,
    # the training and the date come from the records and the server
    facts: dict[str, Any]
    person_name: str = Field(min_length=1, max_length=64)
    organisation_id: Id | None = None
    class_id: Id | None = None
    certificate_id: Id | None = None


class ChangesBody(_In):
    reason: str = Field(min_length=1, max_length=2000)
    changes: dict[str, Any] = {}


class DecisionPublic(_Out):
    version: int
    pack_id: str | None
    pack_version: str
    eligible: bool
    amount: Decimal
    payee: str | None
    fund_district: str | None
    reasons: list[str]
    warnings: list[str]
    explanation: list[dict[str, Any]]
    decided_by: str
    decided_at: Moment


class ClaimPublic(_Out):
    id: int
    reference: str
    kind: str
    claimant: str
    jurisdiction: str
    district_code: str
    applied_on: dt.date
    status: str
    organisation_id: int | None
    class_id: int | None
    certificate_id: int | None
    # what the applicant declared (告知承诺), apart from what the records gave
    declared: dict[str, Any]
    decision: DecisionPublic | None


class EventPublic(_Out):
    id: int
    action: str
    from_status: str | None
    to_status: str | None
    actor: str
    reason: str | None
    detail: dict[str, Any] | None
    at: Moment


class NoticeCreate(_In):
    district_code: str = Field(max_length=16)
    claim_ids: list[Id] = Field(min_length=1, max_length=1000)
    title: str | None = Field(default=None, max_length=128)


class NoticeLine(BaseModel):
    """One published line: who (unit or masked name), how many, the standard, the amount."""

    claim_id: int
    kind: str
    payee: str
    count: int
    standard: str
    amount: Decimal


class NoticePublic(BaseModel):
    id: int
    title: str
    district_code: str
    published_on: dt.date
    last_day: dt.date
    status: str
    lines: list[NoticeLine]


class ObjectionCreate(_In):
    claim_id: Id
    objector: str = Field(min_length=1, max_length=64)
    contact: str = Field(min_length=1, max_length=128)
    grounds: str = Field(min_length=1, max_length=2000)


class ObjectionPublic(_Out):
    id: int
    notice_id: int
    claim_id: int
    status: str
    lodged_on: dt.date
    resolution: str | None


class ObjectionResolve(_In):
    upheld: bool
    resolution: str = Field(min_length=1, max_length=2000)


class BatchCreate(_In):
    fund_district: str = Field(max_length=16)


class PaymentPublic(_Out):
    claim_id: int
    amount: Decimal
    payee: str
    account_kind: str
    account_name: str


class BatchPublic(_Out):
    id: int
    fund_id: int
    status: str
    paid_on: dt.date | None
    payments: list[PaymentPublic]


class RecoveryCreate(_In):
    reason: str = Field(min_length=1, max_length=2000)
    amount: Money | None = None


class RecoveryPublic(_Out):
    id: int
    claim_id: int
    amount: Decimal
    status: str
    recovered_on: dt.date | None


class FundPublic(BaseModel):
    district_code: str
    balance: Decimal
