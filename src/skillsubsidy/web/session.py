"""Sign-in for the pages: a signed session cookie holding the user id, and a CSRF token
that every form sends back (checked on every POST)."""

from __future__ import annotations

import os
import secrets
from typing import Annotated

from fastapi import Depends, Form, HTTPException, Request, status

from skillsubsidy.api.auth import DatabaseDep, Principal
from skillsubsidy.store.models import User

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


def signed_in(request: Request, db: DatabaseDep) -> Principal | None:
    user_id = request.session.get("user_id")
    if user_id is None:
        return None
    with db.session() as s:
        user = s.get(User, user_id)
        if user is None or not user.active:
            request.session.pop("user_id", None)
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
