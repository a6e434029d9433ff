"""Idempotent creates: a request sent again with the same ``Idempotency-Key`` gets the first
answer again instead of doing the work twice (a client that timed out may retry safely).

A key belongs to whoever sent it (``scope``: a hash of their credentials) and to one request
(method, path and body): reusing it for another request is refused. While the first request
runs, a repeat is told to wait; a first request that never finished (a crashed worker) is
taken over after ``STALE``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from skillsubsidy.store.db import Database
from skillsubsidy.store.models import IdempotencyRecord, utc_now

STALE = dt.timedelta(seconds=60)
KEEP = dt.timedelta(days=1)  # how long an answer is kept for a repeat


@dataclass(frozen=True)
class Replay:
    status_code: int
    body: str


class InProgress(Exception):
    """The first request with this key is still running."""


class KeyReused(Exception):
    """The key was used before for a different request."""


def begin(db: Database, scope: str, key: str, request_hash: str) -> Replay | None:
    """Claim the key for this request: None to go ahead, or the first answer to replay."""
    try:
        db.run(lambda s: s.add(IdempotencyRecord(scope=scope, key=key, request_hash=request_hash)))
        return None
    except IntegrityError:
        pass

    def look(s: Session) -> Replay | None:
        found = s.scalar(
            select(IdempotencyRecord)
            .where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)
            .with_for_update()
        )
        if found is None:  # forgotten meanwhile (the first failed): this one goes ahead
            s.add(IdempotencyRecord(scope=scope, key=key, request_hash=request_hash))
            return None
        if found.request_hash != request_hash:
            raise KeyReused
        if found.status_code is not None and found.body is not None:
            return Replay(found.status_code, found.body)
        if utc_now() - found.created_at < STALE:
            raise InProgress
        found.created_at = utc_now()  # the first never finished: this one takes over
        return None

    return db.run(look)


def finish(db: Database, scope: str, key: str, status_code: int, body: str) -> None:
    """Keep the answer for repeats; an answer of a server failure is not kept (a repeat
    then runs again)."""

    def keep(s: Session) -> None:
        found = s.scalar(
            select(IdempotencyRecord).where(
                IdempotencyRecord.scope == scope, IdempotencyRecord.key == key
            )
        )
        if found is None:
            return
        if status_code >= 500:
            s.delete(found)
        else:
            found.status_code, found.body = status_code, body
        s.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < utc_now() - KEEP))

    db.run(keep)
