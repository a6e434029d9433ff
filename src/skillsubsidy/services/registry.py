"""People, organisations, districts and their funds: each stored once.

Districts and their funds come only from the district registry (POLICY.md §10, and those the
bureau adds with ``add_district``), never from a request. A registered person's payout
account never changes through registration or enrolment: that is its own step
(``services.payouts``); the bureau may only fill in an account where none is on record.
Every registration and change is an event, account numbers masked.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from skillsubsidy.domain import identity
from skillsubsidy.policy.vocabulary import CERTIFICATE_TYPES, CLAIMANTS, DISTRICT_NAMES
from skillsubsidy.services.audit import record
from skillsubsidy.services.errors import InvalidInput, Refused
from skillsubsidy.store.models import (
    Certificate,
    District,
    Enrolment,
    FundAccount,
    FundMovement,
    Organisation,
    Person,
    TrainingClass,
)

ORGANISATION_KINDS = tuple(c for c in CLAIMANTS if c != "individual")
JURISDICTION_OF = {
    "wenzhou": ("3303", "WZ-"),
    "jinhua": ("3307", "JH-"),
}


def ensure_district(session: Session, code: str, field: str = "district") -> District:
    """The district with its fund account: one the bureau registered, or one of POLICY.md
    §10's codes (registered on first use). Any other code is refused, naming ``field``."""
    district = session.get(District, code) if isinstance(code, str) else None
    if district is None:
        name = DISTRICT_NAMES.get(code) if isinstance(code, str) else None
        if name is None:
            raise InvalidInput(field, f"unknown district code '{code}'")
        district = _add(session, code, name, _jurisdiction(code))
    return district


def add_district(session: Session, actor: str, code: str, name: str, jurisdiction: str) -> District:
    """The bureau registers a district (a county, a new zone) and its training fund."""
    if session.get(District, code) is not None:
        raise Refused(f"district {code} is registered already")
    if not code.strip() or not name.strip():
        raise InvalidInput("code" if not code.strip() else "name", "required")
    district = _add(session, code.strip(), name.strip(), jurisdiction)
    record(session, "district", 0, "registered", actor, detail={"code": code, "name": name})
    return district


def _add(session: Session, code: str, name: str, jurisdiction: str) -> District:
    district = District(code=code, name=name, jurisdiction=jurisdiction)
    session.add(district)
    fund = FundAccount(district_code=code, name=f"{name}职业技能培训补贴资金")
    session.add(fund)
    session.flush()
    record(
        session,
        "fund",
        fund.id,
        "opened",
        "system",
        detail={"district": code, "jurisdiction": jurisdiction},
        records=[fund],
    )
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


def locked_fund(session: Session, district_code: str) -> FundAccount:
    """The district's fund, locked for this transaction: whoever drafts or pays from it (or
    credits it) next waits, then sees this transaction's movements."""
    fund = session.scalar(
        select(FundAccount)
        .where(FundAccount.district_code == district_code)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return fund if fund is not None else fund_of(session, district_code)


def allocate(session: Session, district_code: str, amount: Decimal, actor: str, note: str) -> None:
    """Budget put into a district's training fund."""
    if amount <= 0:
        raise InvalidInput("amount", "an allocation must be positive")
    fund = locked_fund(session, district_code)
    movement = FundMovement(fund_id=fund.id, amount=amount, kind="allocation", note=note)
    session.add(movement)
    session.flush()
    record(
        session,
        "fund",
        fund.id,
        "allocated",
        actor,
        detail={"amount": str(amount)},
        records=[movement],
    )


def balance(session: Session, district_code: str) -> Decimal:
    return fund_balance(session, fund_of(session, district_code).id)


def fund_balance(session: Session, fund_id: int) -> Decimal:
    """What the fund holds: allocations and recoveries in, payments out."""
    total = session.scalar(
        select(func.coalesce(func.sum(FundMovement.amount), 0)).where(
            FundMovement.fund_id == fund_id
        )
    )
    return Decimal(total or 0).quantize(Decimal("0.01"))


PAYOUT_FIELDS = ("social_security_card", "bank_account")


def register_person(
    session: Session,
    id_number: str,
    name: str,
    phone: str | None = None,
    social_security_card: str | None = None,
    bank_account: str | None = None,
    *,
    actor: str = "system",
    lock: bool = False,
) -> Person:
    """The person with this citizen ID, created on first sight (personal data stored once).

    A later registration never changes the name, and never a payout account, not even where
    none is on record: an account for a registered person is an account change
    (``services.payouts``: asked for, then approved by a second person). ``lock``: the row is
    locked for the transaction."""
    number = _checked(identity.citizen_id, id_number, "person.id_number")
    if not name.strip():
        raise InvalidInput("person.name", "required")
    person = _find_person(session, number, lock)
    accounts = {"social_security_card": social_security_card, "bank_account": bank_account}
    if person is None:
        person = Person(
            id_number=number,
            name=name.strip(),
            birth_date=identity.birth_date(number),
            sex=identity.sex(number),
            phone=phone,
            **accounts,
        )
        session.add(person)
        session.flush()
        record(
            session,
            "person",
            person.id,
            "registered",
            actor,
            detail={"id_number": identity.masked_id(number), **masked_accounts(person)},
            records=[person],
        )
        return person
    if person.name != name.strip():
        raise InvalidInput(
            "person.name", f"ID {identity.masked_id(number)} is registered under another name"
        )
    for field, given in accounts.items():
        if given and given != getattr(person, field):
            raise Refused(
                f"ID {identity.masked_id(number)} is registered: its payout account is set or "
                "changed only through an account-change request (账户变更), approved by the bureau",
            )
    if phone and person.phone is None:
        person.phone = phone
    return person


def _find_person(session: Session, number: str, lock: bool) -> Person | None:
    query = select(Person).where(Person.id_number == number)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalar(query)


def lock_person(session: Session, id_number: str, name: str, actor: str) -> Person:
    """The trainee's row, created if new and locked either way: two submissions for one
    trainee are decided one after the other, the second seeing the first (PostgreSQL; on
    SQLite writers queue anyway)."""
    number = _checked(identity.citizen_id, id_number, "person.id_number")
    person = _find_person(session, number, lock=True)
    if person is None:
        # a race to register the same new person: the loser's insert fails on the unique key
        # inside a savepoint, and it then waits for the winner's row like anyone else
        try:
            with session.begin_nested():
                register_person(session, number, name, actor=actor)
        except IntegrityError:
            pass
        person = _find_person(session, number, lock=True)
        assert person is not None
    if person.name != name.strip():
        raise InvalidInput(
            "person.name", f"ID {identity.masked_id(number)} is registered under another name"
        )
    return person


def mask_account(number: str | None) -> str | None:
    """An account number as the trail shows it: the last 4 characters."""
    if not number:
        return None
    return "*" * max(len(number) - 4, 0) + number[-4:]


def masked_accounts(holder: Person | Organisation) -> dict[str, str | None]:
    fields = PAYOUT_FIELDS if isinstance(holder, Person) else ("bank_account",)
    return {f: mask_account(getattr(holder, f)) for f in fields}


def register_organisation(
    session: Session,
    kind: str,
    name: str,
    credit_code: str,
    district_code: str,
    public_institution: bool = False,
    bank_account: str | None = None,
    *,
    actor: str = "system",
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
        record(
            session,
            "organisation",
            org.id,
            "registered",
            actor,
            detail={"credit_code": code, "name": name, **masked_accounts(org)},
            records=[org],
        )
    elif bank_account and bank_account != org.bank_account:
        raise Refused(
            f"organisation {code} is registered: its account is changed only through an "
            "account-change request (账户变更), approved by the bureau"
        )
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
    if issuer_id is not None and _trained(session, person.id, issuer_id):
        raise Refused(
            "an institution does not record certificates of its own trainees: the bureau or "
            "the assessment body does"
        )
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
        records=[cert],
    )
    return cert


def _trained(session: Session, person_id: int, organisation_id: int) -> bool:
    """The organisation runs a class the person is on."""
    on_class = (
        select(Enrolment.id)
        .join(TrainingClass, TrainingClass.id == Enrolment.class_id)
        .where(Enrolment.person_id == person_id, TrainingClass.organisation_id == organisation_id)
    )
    return session.scalar(on_class.limit(1)) is not None


def _checked(check: object, value: str, field: str) -> str:
    try:
        return check(value, field)  # type: ignore[operator,no-any-return]
    except identity.IdentityError as exc:
        raise InvalidInput(exc.field, exc.message) from None
