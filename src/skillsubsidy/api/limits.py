"""What every request is held to before the application sees it, and the bounds the routes
check against the server's date.

``InputGuard`` (pure ASGI, outside the idempotency middleware, so a refused request stores
nothing): a body above its limit is refused with 413 — ``SKILLSUBSIDY_MAX_BODY_BYTES``
(default 2 MiB), multipart uploads (the roster as Excel) ``SKILLSUBSIDY_MAX_UPLOAD_BYTES``
(default 12 MiB, above the roster's own 5 MiB, which the roster page reports itself). Text
that neither database can store is refused with 422 in FastAPI's validation-error shape,
naming where it is: an unpaired surrogate (``"\\ud800"`` in JSON: SQLite and PostgreSQL cannot
encode it) or U+0000 (PostgreSQL refuses NUL in text and JSONB), in any key or value of a
JSON body, in a form field, in the query string or in the path. The body is read once,
decoded once, and replayed to the application; a body that is not valid JSON is left to
FastAPI's own 422.

``SKILLSUBSIDY_EVALUATE_MAX_CLAIMS`` (default 1000): the claims, and the history records, one
``POST /api/v1/evaluate`` may carry (413 beyond).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from skillsubsidy.policy.claims import FIELD_NAMES
from skillsubsidy.services.errors import InvalidInput

MiB = 1024 * 1024
BODY_SETTING = "SKILLSUBSIDY_MAX_BODY_BYTES"
UPLOAD_SETTING = "SKILLSUBSIDY_MAX_UPLOAD_BYTES"
EVALUATE_SETTING = "SKILLSUBSIDY_EVALUATE_MAX_CLAIMS"
DEFAULTS = {BODY_SETTING: 2 * MiB, UPLOAD_SETTING: 12 * MiB, EVALUATE_SETTING: 1000}
# a code point neither database stores: NUL, or a surrogate (after decoding, any one is
# unpaired: a proper pair decodes to one code point above U+FFFF)
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
BODILESS = ("GET", "HEAD", "OPTIONS", "DELETE")


def _setting(name: str) -> int:
    text = os.environ.get(name)
    if not text:
        return DEFAULTS[name]
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise RuntimeError(f"{name}='{text}' is not a positive whole number")
    return value


@dataclass(frozen=True)
class InputLimits:
    """The limits, read from the environment when the application is made."""

    max_body: int
    max_upload: int
    max_evaluate: int

    @classmethod
    def from_environment(cls) -> InputLimits:
        return cls(_setting(BODY_SETTING), _setting(UPLOAD_SETTING), _setting(EVALUATE_SETTING))


def problem(text: str) -> str | None:
    """Why ``text`` cannot be stored, or None."""
    found = UNSTORABLE.search(text)
    if found is None:
        return None
    char = found.group()
    if char == "\x00":
        return "NUL (U+0000) is not allowed in text"
    return f"unpaired surrogate (U+{ord(char):04X}) is not allowed in text"


def json_problems(document: Any) -> Iterator[tuple[list[str | int], str]]:
    """(where, why) for every key or string value of a decoded JSON document that cannot be
    stored, and every number that is not finite (``NaN``, ``Infinity``, or ``1e400``, which
    decodes to infinity: PostgreSQL's JSONB refuses them); iterative, so any depth
    ``json.loads`` accepts is walked."""
    stack: list[tuple[list[str | int], Any]] = [([], document)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, str):
            why = problem(value)
            if why is not None:
                yield where, why
        elif isinstance(value, float) and not math.isfinite(value):
            yield where, "not a finite number"
        elif isinstance(value, dict):
            for key, inner in value.items():
                why = problem(key)
                if why is not None:
                    yield [*where, key], f"key: {why}"
                stack.append(([*where, key], inner))
        elif isinstance(value, list):
            stack.extend(([*where, i], inner) for i, inner in enumerate(value))


def _is_json(content_type: str | None) -> bool:
    """As FastAPI decides: no content type, ``application/json`` or ``application/*+json``."""
    if not content_type:
        return True
    kind = content_type.split(";", 1)[0].strip().lower()
    main, _, sub = kind.partition("/")
    return main == "application" and (sub == "json" or sub.endswith("+json"))


def _printable(where: list[str | int]) -> list[str | int]:
    """A location FastAPI's error shape (and a JSON encoder) accepts: no unstorable text."""
    return [UNSTORABLE.sub("\ufffd", part) if isinstance(part, str) else part for part in where]


def _invalid(where: list[str | int], message: str) -> JSONResponse:
    body = {"detail": [{"loc": _printable(where), "msg": message, "type": "value_error"}]}
    return JSONResponse(body, status_code=422)


class _TooLarge(Exception):
    pass


class InputGuard:
    """See the module's text. Requests that carry no body (GET, HEAD, … without
    ``Content-Length`` or ``Transfer-Encoding``) have only their path and query checked."""

    def __init__(self, app: ASGIApp, limits: InputLimits | None = None) -> None:
        self.app = app
        self.limits = limits or InputLimits.from_environment()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self._check_url(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        headers = Headers(scope=scope)
        has_body = "content-length" in headers or "transfer-encoding" in headers
        if scope["method"] in BODILESS and not has_body:
            await self.app(scope, receive, send)
            return
        content_type = headers.get("content-type")
        multipart = (content_type or "").lower().startswith("multipart/")
        limit = self.limits.max_upload if multipart else self.limits.max_body
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await self._too_large(limit)(scope, receive, send)
            return
        try:
            body, after = await _read(receive, limit)
        except _TooLarge:
            await self._too_large(limit)(scope, receive, send)
            return
        replay = _replayer(body, after, receive)
        if body:
            refusal = await self._check_body(scope, body, content_type)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, replay, send)

    @staticmethod
    def _too_large(limit: int) -> JSONResponse:
        return JSONResponse(
            {"detail": f"request body too large: at most {limit} bytes"}, status_code=413
        )

    @staticmethod
    def _check_url(scope: Scope) -> JSONResponse | None:
        why = problem(scope.get("path", ""))
        if why is not None:
            return _invalid(["path"], why)
        query = scope.get("query_string", b"").decode("latin-1")
        # decoded as Starlette does (percent-escapes as UTF-8, bad bytes replaced)
        for name, value in parse_qsl(query, keep_blank_values=True):
            why = problem(name) or problem(value)
            if why is not None:
                return _invalid(["query", name], why)
        return None

    @staticmethod
    async def _check_body(
        scope: Scope, body: bytes, content_type: str | None
    ) -> JSONResponse | None:
        if _is_json(content_type):
            try:
                document = json.loads(body)
            except (ValueError, RecursionError):
                return None  # not JSON: FastAPI answers that itself
            for where, why in json_problems(document):
                return _invalid(["body", *where], why)
            return None
        kind = (content_type or "").lower()
        if kind.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
            return await _check_form(scope, body)
        return None


async def _check_form(scope: Scope, body: bytes) -> JSONResponse | None:
    """The text fields of a form (files are data, not text)."""
    sent = False

    async def once() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    request = Request(scope, once)
    try:
        form = await request.form(max_files=1000, max_fields=10_000)
    except Exception:  # a malformed form: the application refuses it itself
        return None
    try:
        for name, value in form.multi_items():
            why = problem(name) or (problem(value) if isinstance(value, str) else None)
            if why is not None:
                return _invalid(["body", name], why)
    finally:
        await form.close()
    return None


async def _read(receive: Receive, limit: int) -> tuple[bytes, Message | None]:
    """The whole body (``_TooLarge`` past ``limit``), and a message that came instead of
    more body (a disconnect), if any."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(parts), message
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts), None


def _replayer(body: bytes, after: Message | None, receive: Receive) -> Receive:
    """A ``receive`` that gives the body read, once, then whatever the client sends next."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
    if after is not None:
        pending = [after]

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


# --- the facts of a claim (POST /claims, and the changes of redecide and resubmit) -------

# what the services look records up by, or compare with text columns: text only
TEXT_FACTS = frozenset(
    {"id", "jurisdiction", "policy", "kind", "claimant", "route", "district", "applied_on"}
    | {"person.id_number"}
)
MAX_FACT_TEXT = 256
# the contract's groups of facts: person.*, certificate.*, training.* …
FACT_GROUPS = frozenset(name.partition(".")[0] for name in FIELD_NAMES if "." in name)


def check_facts(facts: Mapping[str, Any], where: str) -> None:
    """The contract's shape (CONTRACT.md): top-level values and, one level down, the groups
    (``person``, ``certificate``…), each value one JSON scalar, the keys above text.
    ``InvalidInput`` names the first that is not (``facts.kind``)."""
    for key, value in facts.items():
        if key in FACT_GROUPS and value is not None:
            if not isinstance(value, dict):
                raise InvalidInput(f"{where}.{key}", "must be an object (its facts by name)")
            for name, inner in value.items():
                _check_fact(f"{key}.{name}", inner, where)
        else:
            _check_fact(key, value, where)


def _check_fact(name: str, value: object, where: str) -> None:
    field = f"{where}.{name}"
    if value is None:
        return
    if name in TEXT_FACTS and not isinstance(value, str):
        raise InvalidInput(field, "must be text (one value)")
    if not isinstance(value, str | int | float):  # bool is an int
        raise InvalidInput(field, "must be one value (text, number, true or false)")
    if isinstance(value, str) and len(value) > MAX_FACT_TEXT:
        raise InvalidInput(field, f"at most {MAX_FACT_TEXT} characters")


# --- dates bounded by the server's date (the routes check these; the schemas the fixed ends)


def not_after(field: str, value: dt.date | None, last: dt.date, what: str = "today") -> None:
    """``InvalidInput`` (422 naming ``field``) when ``value`` is later than ``last``."""
    if value is not None and value > last:
        raise InvalidInput(field, f"{value} is after {what} ({last})")


def years_ahead(today: dt.date, years: int) -> dt.date:
    try:
        return today.replace(year=today.year + years)
    except ValueError:  # 29 February
        return today.replace(year=today.year + years, day=28)
