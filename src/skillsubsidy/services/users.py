"""Users and their roles. An API token is shown once when made and stored only as a hash;
it may expire and be revoked. Passwords are scrypt hashes; sign-in is throttled by username
and by address (``login_failure``), and a signed-in browser holds a server-side session
(``web_session``) whose id only the cookie carries."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import secrets
from collections.abc import Sequence

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from skillsubsidy.services import audit
from skillsubsidy.services.audit import record
from skillsubsidy.services.errors import InvalidInput, NotFound, ServiceError
from skillsubsidy.store.models import LoginFailure, User, WebSession, utc_now

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
MIN_PASSWORD = 12
# longer is refused: scrypt's first pass is linear in the password, so a megabyte of
# "password" would be a cheap way to make the server work
MAX_PASSWORD = 256
# sign-in throttle: this many failures within the window, per username and per address
LOGIN_WINDOW = dt.timedelta(minutes=15)
LOGIN_MAX_FAILURES = 10
SESSION_LIFETIME = dt.timedelta(hours=8)
TOKEN_DAYS = 90
MAX_TOKEN_DAYS = 366 * 5
DEMO_TOKEN_PREFIX = "demo-"
_KEY_LENGTH = 64  # login_failure.username / .address


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
    """(the user, their API token, valid ``TOKEN_DAYS`` days)."""
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
        token_expires_at=utc_now() + dt.timedelta(days=TOKEN_DAYS),
    )
    session.add(user)
    session.flush()
    # who may do what is sealed in the trail: a role or scope edited in the table is seen
    record(
        session,
        "user",
        user.id,
        "created",
        "system",
        detail={"username": username, "role": role, "districts": list(districts)},
        records=[user],
    )
    return user, token


# --- passwords -------------------------------------------------------------------------


def hash_password(password: str) -> str:
    """scrypt (RFC 7914) with a random salt, stored as ``scrypt$n$r$p$salt$hash``."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt$16384$8$1${salt.hex()}${digest.hex()}"


# checked when there is no real hash: the cost of the current hashes (and a digest no
# password gives), so an unknown username takes as long as a known one
_DECOY_HASH = f"scrypt$16384$8$1${'00' * 16}${'00' * 64}"


def _scrypt_matches(stored: str, password: str) -> bool:
    _, n, r, p, salt, digest = stored.split("$")
    # surrogatepass: a stray surrogate from a form is a wrong password, not an error
    secret = password.encode("utf-8", "surrogatepass")
    got = hashlib.scrypt(secret, salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p))
    return secrets.compare_digest(got.hex(), digest)


def check_password(user: User | None, password: str) -> bool:
    """Always one scrypt, whether or not the user exists, is active or has a password:
    the answer's timing must not tell which usernames exist."""
    usable = user is not None and user.active and bool(user.password_hash)
    stored = user.password_hash if usable and user is not None else None
    if stored is not None and not stored.startswith("scrypt$"):
        stored = None  # not a hash this code made: no sign-in with it
    if len(password) > MAX_PASSWORD:
        password, stored = "", None  # refused, after the same work
    matches = _scrypt_matches(stored or _DECOY_HASH, password)
    return matches and stored is not None


def set_password(user: User, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(
            "password", f"密码至少 {MIN_PASSWORD} 个字符（at least {MIN_PASSWORD} characters）"
        )
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(
            "password", f"密码最多 {MAX_PASSWORD} 个字符（at most {MAX_PASSWORD} characters）"
        )
    user.password_hash = hash_password(password)


# the demo users' passwords are hashed with this fixed salt: that marks them (no column
# needed), so ``demo_accounts`` finds them without checking any password
DEMO_SALT = hashlib.sha256(b"skillsubsidy demo data set").digest()[:16]


def set_demo_password(user: User, password: str) -> None:
    """The demo data set's short password, without the length rule and marked as a demo
    one. Only ``demo.seed`` calls this (no page or route does); ``serve`` refuses a
    database holding demo users unless it runs with ``--demo``."""
    digest = hashlib.scrypt(password.encode(), salt=DEMO_SALT, n=2**14, r=8, p=1)
    user.password_hash = f"scrypt$16384$8$1${DEMO_SALT.hex()}${digest.hex()}"


def by_username(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


# --- sign-in throttle ------------------------------------------------------------------


class LoginThrottled(ServiceError):
    """Too many failed sign-ins lately for this username or this address."""

    def __init__(self, retry_after: int):
        super().__init__(f"too many failed sign-ins: try again in {retry_after} s")
        self.retry_after = retry_after


def _key(value: str) -> str:
    return value.strip()[:_KEY_LENGTH]


def _retry_after(
    session: Session, column: InstrumentedAttribute[str], value: str, now: dt.datetime
) -> int | None:
    # the LOGIN_MAX_FAILURES-th newest failure in the window: once it leaves the window,
    # fewer than LOGIN_MAX_FAILURES remain and attempts are allowed again
    at = session.scalar(
        select(LoginFailure.at)
        .where(column == value, LoginFailure.at > now - LOGIN_WINDOW)
        .order_by(LoginFailure.at.desc())
        .offset(LOGIN_MAX_FAILURES - 1)
        .limit(1)
    )
    if at is None:
        return None
    return max(1, math.ceil((at + LOGIN_WINDOW - now).total_seconds()))


def open_login_attempt(
    session: Session, username: str, address: str, now: dt.datetime | None = None
) -> int:
    """Before any password is checked: ``LoginThrottled`` when the username or the address
    has failed ``LOGIN_MAX_FAILURES`` times within ``LOGIN_WINDOW``; else the attempt is
    recorded as a failure at once (its id returned) and erased only if it succeeds, so
    parallel guesses count before they finish. Failures are rows, not memory, so every
    worker sees them; rows older than the window are pruned."""
    now = now or utc_now()
    name, where = _key(username), _key(address)
    waits = [
        w
        for w in (
            _retry_after(session, LoginFailure.username, name, now),
            _retry_after(session, LoginFailure.address, where, now),
        )
        if w is not None
    ]
    if waits:
        raise LoginThrottled(max(waits))
    session.execute(delete(LoginFailure).where(LoginFailure.at <= now - LOGIN_WINDOW))
    attempt = LoginFailure(username=name, address=where, at=now)
    session.add(attempt)
    session.flush()
    return attempt.id


def sign_in(session: Session, username: str, password: str) -> User | None:
    """The user whose password this is, or None (one scrypt either way)."""
    name = username.strip()
    found = by_username(session, name) if 0 < len(name) <= _KEY_LENGTH else None
    return found if check_password(found, password) and found is not None else None


def complete_sign_in(
    session: Session,
    attempt_id: int,
    user_id: int,
    previous: str | None = None,
    now: dt.datetime | None = None,
) -> str:
    """A successful attempt: its provisional failure erased (only its own: the earlier
    failures of the address still count), the browser's previous session revoked, and a
    new session id (sign-in rotates it)."""
    session.execute(delete(LoginFailure).where(LoginFailure.id == attempt_id))
    if previous:
        end_web_session(session, previous, now)
    return start_web_session(session, user_id, now)


# --- browser sessions ------------------------------------------------------------------


def start_web_session(session: Session, user_id: int, now: dt.datetime | None = None) -> str:
    """A new session for a signed-in browser: the random id goes into the cookie, only
    its hash into the database (a copy of the table signs no one in)."""
    now = now or utc_now()
    session.execute(  # this user's dead sessions are of no more use
        delete(WebSession).where(
            WebSession.user_id == user_id,
            or_(WebSession.expires_at < now, WebSession.revoked_at.is_not(None)),
        )
    )
    raw = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            id=token_hash(raw), user_id=user_id, created_at=now, expires_at=now + SESSION_LIFETIME
        )
    )
    return raw


def web_session_user(session: Session, raw: str, now: dt.datetime | None = None) -> User | None:
    """The active user of a live (not revoked, not expired) session, else None."""
    now = now or utc_now()
    found = session.get(WebSession, token_hash(raw))
    if found is None or found.revoked_at is not None or found.expires_at <= now:
        return None
    user = session.get(User, found.user_id)
    return user if user is not None and user.active else None


def end_web_session(session: Session, raw: str, now: dt.datetime | None = None) -> None:
    """Sign-out: the session is revoked on the server, so a copy of the cookie is dead."""
    found = session.get(WebSession, token_hash(raw))
    if found is not None and found.revoked_at is None:
        found.revoked_at = now or utc_now()


# --- API tokens ------------------------------------------------------------------------


def by_token(session: Session, token: str, now: dt.datetime | None = None) -> User | None:
    """The active user of a token that is neither revoked (hash None) nor expired."""
    now = now or utc_now()
    user = session.scalar(
        select(User).where(User.token_hash == token_hash(token), User.active.is_(True))
    )
    if user is None or (user.token_expires_at is not None and user.token_expires_at <= now):
        return None
    return user


def issue_token(
    session: Session,
    actor: str,
    username: str,
    days: int = TOKEN_DAYS,
    now: dt.datetime | None = None,
) -> str:
    """A new API token for ``username``, valid ``days`` days; the old one stops working.
    Returned once: only its hash is kept."""
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise InvalidInput("days", f"from 1 to {MAX_TOKEN_DAYS}")
    user = by_username(session, username)
    if user is None:
        raise NotFound("user", username)
    token = secrets.token_urlsafe(32)
    user.token_hash = token_hash(token)
    user.token_expires_at = (now or utc_now()) + dt.timedelta(days=days)
    audit.record(session, "user", user.id, "token_issued", actor, detail={"days": days})
    return token


def revoke_token(session: Session, actor: str, username: str) -> None:
    """The user's API token stops working at once (their password still signs in)."""
    user = by_username(session, username)
    if user is None:
        raise NotFound("user", username)
    user.token_hash = None
    user.token_expires_at = None
    audit.record(session, "user", user.id, "token_revoked", actor)


def demo_accounts(session: Session) -> list[str]:
    """Active users still holding a demo credential: the token ``demo-<username>`` or a
    password set by ``set_demo_password``."""
    found = []
    for user in session.scalars(select(User).where(User.active.is_(True)).order_by(User.id)):
        demo_token = user.token_hash == token_hash(DEMO_TOKEN_PREFIX + user.username)
        demo_password = (user.password_hash or "").split("$")[4:5] == [DEMO_SALT.hex()]
        if demo_token or demo_password:
            found.append(user.username)
    return found
