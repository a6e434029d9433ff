"""Controls every response and every anonymous caller goes through.

* ``SecurityHeaders``: the browser-side hardening headers on every answer (pages, API,
  static files), and the ``Secure`` flag on cookies sent over HTTPS.
* ``AnonymousLimits``: per-address rate limits for the work anyone may ask for without
  signing in (the engine's evaluation, public objections): ``AnonymousLimitMiddleware`` for
  the API, ``over_limit`` for the pages.

The limits are counted in memory, per worker process (``limits``' moving window): with
``N`` workers an address gets up to ``N`` times the rate. That bounds the load; the sign-in
throttle, which must hold across workers, is kept in the database (``services.users``).

Behind a reverse proxy the client address and the scheme come from its headers only when
uvicorn is told to trust them (``--proxy-headers --forwarded-allow-ips <proxy>``); without
that every caller looks like the proxy.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
import time

from anyio import to_thread
from fastapi import Request
from fastapi.responses import JSONResponse
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from skillsubsidy.services import users
from skillsubsidy.store.db import Database

# the pages keep every script and style in /static (no inline code), so 'self' is enough
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'self'; "
    "img-src 'self' data:; object-src 'none'"
)
HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "strict-transport-security": "max-age=31536000; includeSubDomains",
}
EVALUATE_RATE_SETTING = "SKILLSUBSIDY_EVALUATE_RATE"
OBJECTION_RATE_SETTING = "SKILLSUBSIDY_OBJECTION_RATE"
DEFAULT_RATES = {"evaluate": "60/minute", "objection": "10/minute"}
SETTINGS = {"evaluate": EVALUATE_RATE_SETTING, "objection": OBJECTION_RATE_SETTING}


class SecurityHeaders:
    """Pure ASGI (not ``BaseHTTPMiddleware``): it only touches the start of each answer,
    so streamed files and downloads pass through unbuffered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _harden(list(message.get("headers", [])), https)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _harden(headers: list[tuple[bytes, bytes]], https: bool) -> list[tuple[bytes, bytes]]:
    present = {name.lower() for name, _ in headers}
    out = []
    for name, value in headers:
        # over HTTPS the session cookie must never travel over plain HTTP afterwards
        if https and name.lower() == b"set-cookie" and b"secure" not in _attributes(value):
            value += b"; Secure"
        out.append((name, value))
    out += [(k.encode(), v.encode()) for k, v in HEADERS.items() if k.encode() not in present]
    return out


def _attributes(cookie: bytes) -> set[bytes]:
    return {part.split(b"=")[0].strip().lower() for part in cookie.split(b";")[1:]}


def address_key(host: str) -> str:
    """The key an address is counted under: the IP, IPv6 cut to its /64 (one subscriber
    usually holds a whole /64, and would otherwise get a fresh budget per address)."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host[:64] or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def client_address(request: Request) -> str:
    return address_key(request.client.host if request.client else "")


def _rate(name: str) -> RateLimitItem:
    setting = SETTINGS[name]
    text = os.environ.get(setting) or DEFAULT_RATES[name]
    try:
        return parse(text)
    except ValueError:
        raise RuntimeError(
            f"{setting}='{text}' is not a rate such as '{DEFAULT_RATES[name]}'"
        ) from None


class AnonymousLimits:
    """The rates (``SKILLSUBSIDY_EVALUATE_RATE``, ``SKILLSUBSIDY_OBJECTION_RATE``; e.g.
    ``60/minute``, ``1000/hour``), read when the application is made."""

    def __init__(self) -> None:
        self.items = {name: _rate(name) for name in DEFAULT_RATES}
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    def hit(self, name: str, address: str) -> int | None:
        """Count one request; None when within the rate, else the seconds to wait."""
        item = self.items[name]
        if self.limiter.hit(item, name, address):
            return None
        reset = self.limiter.get_window_stats(item, name, address).reset_time
        return max(1, math.ceil(reset - time.time()))


def over_limit(request: Request, name: str) -> int | None:
    """For the pages, which answer a refusal with their own page."""
    limits: AnonymousLimits = request.app.state.anonymous_limits
    return limits.hit(name, client_address(request))


def _bearer_user(db: Database, authorization: str) -> bool:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return False
    with db.session() as s:
        return users.by_token(s, token.strip()) is not None


class AnonymousLimitMiddleware:
    """The API's anonymous limits, as middleware outside the idempotency middleware: a
    refused call is answered before its body is read or anything is written, so neither
    an ``Idempotency-Key`` record nor its 429 (which would be replayed after the wait) is
    ever stored. Callers with a valid bearer token pass; an invalid token counts as none."""

    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self.app = app
        self.rules = [
            ("evaluate", re.compile(rf"{re.escape(prefix)}/evaluate/?")),
            ("objection", re.compile(rf"{re.escape(prefix)}/notices/[^/]+/objections/?")),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        name = self._rule(scope)
        if name is not None:
            retry_after = await to_thread.run_sync(self._over_limit, scope, name)
            if retry_after is not None:
                text = f"too many requests from this address: try again in {retry_after} s"
                answer = JSONResponse(
                    {"detail": text},
                    status_code=429,
                    headers={"Retry-After": str(retry_after)},
                )
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _rule(self, scope: Scope) -> str | None:
        if scope["type"] != "http" or scope["method"] != "POST":
            return None
        return next((n for n, path in self.rules if path.fullmatch(scope["path"])), None)

    @staticmethod
    def _over_limit(scope: Scope, name: str) -> int | None:
        state = scope["app"].state
        authorization = Headers(scope=scope).get("authorization", "")
        if authorization and _bearer_user(state.database, authorization):
            return None
        client = scope.get("client")
        limits: AnonymousLimits = state.anonymous_limits
        return limits.hit(name, address_key(str(client[0]) if client else ""))
