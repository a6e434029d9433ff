"""Who is calling, and what their role lets them do.

Bearer tokens identify users. Roles: caseworker (their districts), institution / employer /
school (their own organisation), trainee (their own claims), finance, auditor (reads
everything, changes nothing), admin. Each route states the roles it serves; ``Principal``
decides whether a record is within the caller's scope.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Select, or_, select

from skillsubsidy.services import users
from skillsubsidy.store.db import Database
from skillsubsidy.store.models import Claim, TrainingClass, User

ORGANISATION_ROLES = ("institution", "employer", "school")
READ_ALL = ("admin", "auditor", "finance")

_bearer = HTTPBearer(auto_error=False)
AnySelect = TypeVar("AnySelect", bound="Select[*tuple[Any, ...]]")


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    role: str
    districts: tuple[str, ...]
    organisation_id: int | None
    person_id: int | None

    @classmethod
    def of(cls, user: User) -> Principal:
        return cls(
            user.id,
            user.username,
            user.role,
            tuple(user.districts or ()),
            user.organisation_id,
            user.person_id,
        )

    @property
    def actor(self) -> str:
        return f"{self.role}:{self.username}"

    def sees_claim(self, claim: Claim) -> bool:
        if self.role in READ_ALL:
            return True
        if self.role == "caseworker":
            return claim.district_code in self.districts
        if self.role in ORGANISATION_ROLES:
            # its own claims, and its trainees' claims on the classes it runs
            on_its_class = claim.training_class is not None and (
                claim.training_class.organisation_id == self.organisation_id
            )
            return claim.organisation_id == self.organisation_id or on_its_class
        return self.role == "trainee" and claim.person_id == self.person_id

    def works_on_district(self, district: str) -> bool:
        return self.role == "admin" or (self.role == "caseworker" and district in self.districts)

    def claims_in_scope(self, query: AnySelect) -> AnySelect:
        """A query over claims cut to the ones ``sees_claim`` lets through (API and pages)."""
        if self.role == "caseworker":
            return query.where(Claim.district_code.in_(self.districts))
        if self.role in ORGANISATION_ROLES:
            its_classes = select(TrainingClass.id).where(
                TrainingClass.organisation_id == self.organisation_id
            )
            return query.where(
                or_(Claim.organisation_id == self.organisation_id, Claim.class_id.in_(its_classes))
            )
        if self.role == "trainee":
            return query.where(Claim.person_id == self.person_id)
        return query

    def runs_class(self, cls: TrainingClass) -> bool:
        """The caller's organisation runs the class (or the caller is an admin)."""
        return self.role == "admin" or cls.organisation_id == self.organisation_id

    def sees_class(self, cls: TrainingClass) -> bool:
        if self.role in READ_ALL:
            return True
        if self.role == "caseworker":
            return cls.district_code in self.districts
        return self.role in ORGANISATION_ROLES and cls.organisation_id == self.organisation_id


def database(request: Request) -> Database:
    db: Database = request.app.state.database
    return db


DatabaseDep = Annotated[Database, Depends(database)]


def today(request: Request) -> dt.date:
    """The date of a step is the server's date (Asia/Shanghai), never the caller's: a notice
    cannot be backdated into closing early, nor a filing into being in time."""
    clock: Callable[[], dt.date] = request.app.state.clock
    return clock()


Today = Annotated[dt.date, Depends(today)]


def principal(
    db: DatabaseDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "sign-in required: Authorization: Bearer <token>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    with db.session() as s:
        user = users.by_token(s, credentials.credentials)
        if user is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "unknown, expired or revoked token",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return Principal.of(user)


def roles(*allowed: str) -> Callable[[Principal], Principal]:
    """A dependency: the caller, if their role is one of ``allowed`` (admin always is)."""

    def check(who: Annotated[Principal, Depends(principal)]) -> Principal:
        if who.role != "admin" and who.role not in allowed:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"role '{who.role}' may not do this")
        return who

    return check


def forbidden(what: str) -> HTTPException:
    return HTTPException(status.HTTP_403_FORBIDDEN, f"outside your scope: {what}")
