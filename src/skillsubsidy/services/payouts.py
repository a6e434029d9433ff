"""账户变更: a change of the account a subsidy is paid to, as its own step.

The holder asks (the trainee for their own card or bank account, an organisation's user for
the organisation's account), or a caseworker asks on the holder's behalf (the trainee at the
counter, with their ID and card); a caseworker of the holder's district who did not ask
approves or refuses. Filling in an account where none is on record is a change like any
other. The trail shows the old and the new account masked. A payment batch already drafted
keeps the account it was drafted with: a change applies to the batches drafted after its
approval.
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from skillsubsidy.domain.workflow import LEDGER_STATUSES, PayoutChangeStatus
from skillsubsidy.services.audit import move, record
from skillsubsidy.services.errors import InvalidInput, NotFound, Refused
from skillsubsidy.services.registry import PAYOUT_FIELDS, mask_account
from skillsubsidy.store.models import (
    Claim,
    Enrolment,
    Organisation,
    PayoutChange,
    Person,
    TrainingClass,
    utc_now,
)

T = TypeVar("T")


def request_change(
    session: Session,
    actor: str,
    field: str,
    new_value: str,
    *,
    person_id: int | None = None,
    organisation_id: int | None = None,
) -> PayoutChange:
    """The holder asks for a new payout account (one open request per holder)."""
    if (person_id is None) == (organisation_id is None):
        raise InvalidInput("holder", "a change is for one person or one organisation")
    allowed = PAYOUT_FIELDS if person_id is not None else ("bank_account",)
    if field not in allowed:
        raise InvalidInput("field", f"one of {', '.join(allowed)}")
    value = new_value.strip()
    if not value or not value.replace(" ", "").replace("-", "").isalnum():
        raise InvalidInput("new_value", "an account number (letters and digits)")
    holder = _holder(session, person_id, organisation_id, lock=True)  # one request at a time
    if getattr(holder, field) == value:
        raise InvalidInput("new_value", "this account is on record already")
    open_request = session.scalar(
        select(PayoutChange.id).where(
            PayoutChange.person_id == person_id
            if person_id is not None
            else PayoutChange.organisation_id == organisation_id,
            PayoutChange.status == PayoutChangeStatus.REQUESTED,
        )
    )
    if open_request is not None:
        raise Refused(f"account change {open_request} is still waiting for the bureau")
    change = PayoutChange(
        person_id=person_id,
        organisation_id=organisation_id,
        field=field,
        new_value=value,
        status=PayoutChangeStatus.REQUESTED,
        requested_by=actor,
    )
    session.add(change)
    session.flush()
    record(
        session,
        "payout_change",
        change.id,
        "requested",
        actor,
        to_status=PayoutChangeStatus.REQUESTED,
        detail=_masked(change, holder),
        records=[change],
    )
    return change


def get_change(session: Session, change_id: int, lock: bool = False) -> PayoutChange:
    query = select(PayoutChange).where(PayoutChange.id == change_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    change = session.scalar(query)
    if change is None:
        raise NotFound("account change", change_id)
    return change


def holder_districts(session: Session, change: PayoutChange) -> set[str]:
    return districts_of(session, change.person_id, change.organisation_id)


def districts_of(session: Session, person_id: int | None, organisation_id: int | None) -> set[str]:
    """Where the holder belongs: an organisation's district; a person's, the district of
    their citizen ID's region and every district they claim in or train in (a caseworker
    of any of them may decide)."""
    if organisation_id is not None:
        org = session.get(Organisation, organisation_id)
        return {org.district_code} if org else set()
    person = session.get(Person, person_id)
    home = {person.id_number[:6]} if person else set()
    claimed = select(Claim.district_code).where(
        Claim.person_id == person_id, Claim.status.in_(LEDGER_STATUSES)
    )
    trained = (
        select(TrainingClass.district_code)
        .join(Enrolment, Enrolment.class_id == TrainingClass.id)
        .where(Enrolment.person_id == person_id)
    )
    return home | set(session.scalars(claimed)) | set(session.scalars(trained))


def decide_change(
    session: Session, actor: str, change_id: int, approve: bool, reason: str
) -> PayoutChange:
    """The caseworker approves (the account is changed) or refuses, saying why."""
    change = get_change(session, change_id, lock=True)
    if not reason.strip():
        raise InvalidInput("reason", "required")
    if change.requested_by == actor:
        raise Refused("who asked for an account change cannot decide it")
    holder = _holder(session, change.person_id, change.organisation_id, lock=True)
    detail = _masked(change, holder)
    wanted = PayoutChangeStatus.APPROVED if approve else PayoutChangeStatus.REFUSED
    change.decided_by, change.decided_at, change.reason = actor, utc_now(), reason
    move(session, "payout_change", change, wanted, str(wanted), actor, reason=reason, detail=detail)
    if approve:
        setattr(holder, change.field, change.new_value)
        session.flush()
        record(
            session,
            "person" if isinstance(holder, Person) else "organisation",
            holder.id,
            "payout_changed",
            actor,
            reason=reason,
            detail={**detail, "change_id": change.id},
            records=[holder],
        )
    return change


def _holder(
    session: Session, person_id: int | None, organisation_id: int | None, lock: bool = False
) -> Person | Organisation:
    holder: Person | Organisation | None
    if person_id is not None:
        holder = _fetch(session, select(Person).where(Person.id == person_id), lock)
    else:
        holder = _fetch(
            session, select(Organisation).where(Organisation.id == organisation_id), lock
        )
    key = person_id if person_id is not None else organisation_id
    if holder is None:
        raise NotFound("person" if person_id is not None else "organisation", key)
    return holder


def _fetch(session: Session, query: Select[T], lock: bool) -> T | None:
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalar(query)


def _masked(change: PayoutChange, holder: Person | Organisation) -> dict[str, object]:
    return {
        "field": change.field,
        "old": mask_account(getattr(holder, change.field)),
        "new": mask_account(change.new_value),
    }
