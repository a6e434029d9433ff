"""Controls every response and every anonymous caller goes through.

* ``SecurityHeaders``: the browser-side hardening headers on every answer (pages, API,
  static files), and the ``Secure`` flag on cookies sent over HTTPS.
* ``AnonymousLimits``: per-address rate limits for the work anyone may ask for without
  signing in (the engine's evaluation, public objections).

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
import time
from collections.abc import Callable

from fastapi import HTTPException, Request, status
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from skillsubsidy.api.auth import DatabaseDep
from skillsubsidy.services import users

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


def client_address(request: Request) -> str:
    """The key an address is counted under: the IP, IPv6 cut to its /64 (one subscriber
    usually holds a whole /64, and would otherwise get a fresh budget per address)."""
    host = request.client.host if request.client else ""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host[:64] or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


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
    limits: AnonymousLimits = request.app.state.anonymous_limits
    return limits.hit(name, client_address(request))


def too_many(retry_after: int) -> HTTPException:
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS,
        f"too many requests from this address: try again in {retry_after} s",
        headers={"Retry-After": str(retry_after)},
    )


def _bearer_user(request: Request, db: DatabaseDep) -> bool:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return False
    with db.session() as s:
        return users.by_token(s, token.strip()) is not None


def anonymous_limit(name: str) -> Callable[[Request, DatabaseDep], None]:
    """A route dependency: callers without a valid bearer token are limited per address
    (an invalid token counts as none)."""

    def check(request: Request, db: DatabaseDep) -> None:
        if _bearer_user(request, db):
            return
        retry_after = over_limit(request, name)
        if retry_after is not None:
            raise too_many(retry_after)

    return check
