"""People, organisations, districts and their funds: each stored once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from skillsubsidy.domain import identity
from skillsubsidy.policy.vocabulary import CERTIFICATE_TYPES, CLAIMANTS, DISTRICT_NAMES
from skillsubsidy.services.audit import record
from skillsubsidy.services.errors import InvalidInput
from skillsubsidy.store.models import (
    Certificate,
    District,
    FundAccount,
    FundMovement,
    Organisation,
    Person,
)

ORGANISATION_KINDS = tuple(c for c in CLAIMANTS if c != "individual")
JURISDICTION_OF = {
    "wenzhou": ("3303", "WZ-"),
    "jinhua": ("3307", "JH-"),
}


def ensure_district(session: Session, code: str, jurisdiction: str | None = None) -> District:
    """The district with its fund account, created on first use (names: POLICY.md §10)."""
    district = session.get(District, code)
    if district is None:
        name = DISTRICT_NAMES.get(code)
        if name is None and jurisdiction is None:
            raise InvalidInput("district", f"unknown district code '{code}'")
        district = District(
            code=code, name=name or code, jurisdiction=jurisdiction or _jurisdiction(code)
        )
        session.add(district)
        session.add(FundAccount(district_code=code, name=f"{district.name}职业技能培训补贴资金"))
        session.flush()
    return district


def _jurisdiction(code: str) -> str:
    for name, prefixes in JURISDICTION_OF.items():
        if code.startswith(prefixes):
            return name
    return "county"


def fund_of(session: Session, district_code: str) -> FundAccount:
    fund = session.scalar(select(FundAccount).where(FundAccount.district_code == district_code))
    if fund is None:
        ensure_district(session, district_code)
        fund = session.scalar(select(FundAccount).where(FundAccount.district_code == district_code))
    assert fund is not None
    return fund


def allocate(session: Session, district_code: str, amount: Decimal, actor: str, note: str) -> None:
    """Budget put into a district's training fund."""
    if amount <= 0:
        raise InvalidInput("amount", "an allocation must be positive")
    fund = fund_of(session, district_code)
    session.add(FundMovement(fund_id=fund.id, amount=amount, kind="allocation", note=note))
    session.flush()
    record(session, "fund", fund.id, "allocated", actor, detail={"amount": str(amount)})


def balance(session: Session, district_code: str) -> Decimal:
    fund = fund_of(session, district_code)
    total = session.scalar(
        select(func.coalesce(func.sum(FundMovement.amount), 0)).where(
            FundMovement.fund_id == fund.id
        )
    )
    return Decimal(total or 0).quantize(Decimal("0.01"))


def register_person(
    session: Session,
    id_number: str,
    name: str,
    phone: str | None = None,
    social_security_card: str | None = None,
    bank_account: str | None = None,
) -> Person:
    """The person with this citizen ID, created on first sight (personal data stored once;
    a later registration may add a phone or card number, never change the name silently)."""
    number = _checked(identity.citizen_id, id_number, "person.id_number")
    if not name.strip():
        raise InvalidInput("person.name", "required")
    person = session.scalar(select(Person).where(Person.id_number == number))
    if person is None:
        person = Person(
            id_number=number,
            name=name.strip(),
            birth_date=identity.birth_date(number),
            sex=identity.sex(number),
            phone=phone,
            social_security_card=social_security_card,
            bank_account=bank_account,
        )
        session.add(person)
        session.flush()
        return person
    if person.name != name.strip():
        raise InvalidInput(
            "person.name", f"ID {identity.masked_id(number)} is registered under another name"
        )
    person.phone = phone or person.phone
    person.social_security_card = social_security_card or person.social_security_card
    person.bank_account = bank_account or person.bank_account
    return person


def register_organisation(
    session: Session,
    kind: str,
    name: str,
    credit_code: str,
    district_code: str,
    public_institution: bool = False,
    bank_account: str | None = None,
) -> Organisation:
    if kind not in ORGANISATION_KINDS:
        raise InvalidInput("kind", f"unknown organisation kind '{kind}'")
    code = _checked(identity.credit_code, credit_code, "credit_code")
    ensure_district(session, district_code)
    org = session.scalar(select(Organisation).where(Organisation.credit_code == code))
    if org is None:
        org = Organisation(
            kind=kind,
            name=name,
            credit_code=code,
            district_code=district_code,
            public_institution=public_institution,
            bank_account=bank_account,
        )
        session.add(org)
        session.flush()
    return org


def record_certificate(
    session: Session,
    actor: str,
    person: Person,
    *,
    type: str,
    number: str,
    issued_on: dt.date,
    occupation: str | None = None,
    level: int | None = None,
    renewal: bool = False,
    issuer_id: int | None = None,
) -> Certificate:
    """A certificate a trainee obtained; its number is recorded once."""
    if type not in CERTIFICATE_TYPES:
        raise InvalidInput("type", f"one of {', '.join(CERTIFICATE_TYPES)}")
    if session.scalar(select(Certificate.id).where(Certificate.number == number)):
        raise InvalidInput("number", f"certificate {number} is recorded already")
    cert = Certificate(
        person_id=person.id,
        type=type,
        number=number,
        issued_on=issued_on,
        occupation=occupation,
        level=level,
        renewal=renewal,
        issuer_id=issuer_id,
    )
    session.add(cert)
    session.flush()
    record(
        session,
        "certificate",
        cert.id,
        "recorded",
        actor,
        detail={"number": number, "person_id": person.id},
    )
    return cert


def _checked(check: object, value: str, field: str) -> str:
    try:
        return check(value, field)  # type: ignore[operator,no-any-return]
    except identity.IdentityError as exc:
        raise InvalidInput(exc.field, exc.message) from None
