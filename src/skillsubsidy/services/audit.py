"""The audit trail: one event per step of every workflow (who, when, what, why), chained and
sealing the money records it writes (``store.chain``)."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from skillsubsidy.domain.workflow import check_move
from skillsubsidy.store import chain
from skillsubsidy.store.models import Event, utc_now


def record(
    session: Session,
    entity: str,
    entity_id: int,
    action: str,
    actor: str,
    *,
    from_status: StrEnum | None = None,
    to_status: StrEnum | None = None,
    reason: str | None = None,
    detail: dict[str, Any] | None = None,
    records: Iterable[Any] = (),
) -> Event:
    """An event of this transaction; ``records`` are the money records it writes, sealed
    with their content at commit."""
    event = Event(
        entity=entity,
        entity_id=entity_id,
        action=action,
        actor=actor,
        from_status=str(from_status) if from_status else None,
        to_status=str(to_status) if to_status else None,
        reason=reason,
        detail=detail,
        at=utc_now(),
    )
    chain.append(session, event, records)
    return event


def move(
    session: Session,
    entity: str,
    record_obj: Any,
    wanted: StrEnum,
    action: str,
    actor: str,
    reason: str | None = None,
    detail: dict[str, Any] | None = None,
    records: Iterable[Any] = (),
) -> None:
    """Move ``record_obj.status`` to ``wanted`` if the workflow allows it, and record it
    (sealing the record when it is one of money's)."""
    current = record_obj.status
    check_move(f"{entity} {record_obj.id}", current, wanted)
    record_obj.status = wanted
    session.flush()
    record(
        session,
        entity,
        record_obj.id,
        action,
        actor,
        from_status=current,
        to_status=wanted,
        reason=reason,
        detail=detail,
        records=[record_obj, *records] if chain.is_sealed(record_obj) else records,
    )


def trail(session: Session, entity: str, entity_id: int) -> list[Event]:
    """Every event of one record, in the order they happened."""
    return list(
        session.scalars(
            select(Event)
            .where(Event.entity == entity, Event.entity_id == entity_id)
            .order_by(Event.id)
        )
    )
