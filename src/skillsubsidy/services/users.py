"""Users and their roles. An API token is shown once when made and stored only as a hash."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from skillsubsidy.services.errors import InvalidInput
from skillsubsidy.store.models import User

ROLES = (
    "caseworker",
    "institution",
    "employer",
    "school",
    "trainee",
    "finance",
    "auditor",
    "admin",
)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(
    session: Session,
    username: str,
    role: str,
    display_name: str | None = None,
    *,
    districts: Sequence[str] = (),
    organisation_id: int | None = None,
    person_id: int | None = None,
    token: str | None = None,
) -> tuple[User, str]:
    """(the user, their API token)."""
    if role not in ROLES:
        raise InvalidInput("role", f"one of {', '.join(ROLES)}")
    if role == "caseworker" and not districts:
        raise InvalidInput("districts", "a caseworker works for at least one district")
    if role in ("institution", "employer", "school") and organisation_id is None:
        raise InvalidInput("organisation_id", f"a {role} user belongs to an organisation")
    if role == "trainee" and person_id is None:
        raise InvalidInput("person_id", "a trainee user is a registered person")
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise InvalidInput("username", f"'{username}' is taken")
    token = token or secrets.token_urlsafe(24)
    user = User(
        username=username,
        display_name=display_name or username,
        role=role,
        districts=list(districts),
        organisation_id=organisation_id,
        person_id=person_id,
        token_hash=token_hash(token),
    )
    session.add(user)
    session.flush()
    return user, token


def hash_password(password: str) -> str:
    """scrypt (RFC 7914) with a random salt, stored as ``scrypt$n$r$p$salt$hash``."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt$16384$8$1${salt.hex()}${digest.hex()}"


def check_password(user: User, password: str) -> bool:
    if not user.password_hash or not user.active:
        return False
    _, n, r, p, salt, digest = user.password_hash.split("$")
    got = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p))
    return secrets.compare_digest(got.hex(), digest)


def set_password(user: User, password: str) -> None:
    if len(password) < 4:
        raise InvalidInput("password", "at least 4 characters")
    user.password_hash = hash_password(password)


def by_username(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def by_token(session: Session, token: str) -> User | None:
    return session.scalar(
        select(User).where(User.token_hash == token_hash(token), User.active.is_(True))
    )
