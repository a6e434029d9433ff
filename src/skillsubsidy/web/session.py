"""Sign-in for the pages: a signed session cookie holding the random id of a server-side
session (``web_session``; revoked at sign-out, expiring after eight hours), and a CSRF token
that every form sends back (checked on every POST)."""

from __future__ import annotations

import os
import secrets
from typing import Annotated

from fastapi import Depends, Form, HTTPException, Request, status

from skillsubsidy.api.auth import DatabaseDep, Principal
from skillsubsidy.services import users

SECRET_SETTING = "SKILLSUBSIDY_SECRET_KEY"
ENV_SETTING = "SKILLSUBSIDY_ENV"


def secret_key() -> str:
    """The cookie-signing key. Outside development it must be set: a key made up at start
    would sign sessions nobody else can check, and one written here anyone could forge."""
    key = os.environ.get(SECRET_SETTING)
    if key:
        return key
    if os.environ.get(ENV_SETTING, "development") != "development":
        raise RuntimeError(f"{SECRET_SETTING} must be set when {ENV_SETTING} is not development")
    return secrets.token_urlsafe(32)


def csrf_token(request: Request) -> str:
    token: str | None = request.session.get("csrf")
    if token is None:
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return token


def check_csrf(request: Request, csrf: Annotated[str, Form()] = "") -> None:
    """A POST from a page must carry the session's token (form field or X-CSRF-Token)."""
    sent = csrf or request.headers.get("x-csrf-token", "")
    expected = request.session.get("csrf")
    if not expected or not secrets.compare_digest(sent, expected):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "表单已过期或来源不明，请刷新页面后重试")


Csrf = Annotated[None, Depends(check_csrf)]


SESSION_KEY = "sid"  # the raw session id; the database keeps only its sha256


def signed_in(request: Request, db: DatabaseDep) -> Principal | None:
    """The user of the cookie's session, if that session is live on the server: a signed
    cookie alone is not enough (a copy of it dies at sign-out)."""
    raw = request.session.get(SESSION_KEY)
    if not isinstance(raw, str) or not raw:
        return None
    with db.session() as s:
        user = users.web_session_user(s, raw)
        if user is None:
            request.session.pop(SESSION_KEY, None)
            return None
        return Principal.of(user)


class SignInRequired(Exception):
    """Raised by pages that need a user; answered with a redirect to the sign-in page."""


def user(who: Annotated[Principal | None, Depends(signed_in)]) -> Principal:
    if who is None:
        raise SignInRequired
    return who


UserDep = Annotated[Principal, Depends(user)]
MaybeUser = Annotated[Principal | None, Depends(signed_in)]
