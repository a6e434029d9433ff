"""The ``Idempotency-Key`` header on every POST under /api/v1 (``services.idempotency``).

A repeat of a create with the same key from the same caller gets the first answer again,
marked ``Idempotency-Replayed: true``; a repeat while the first runs gets 409 with
``Retry-After``; the same key with another request gets 422. A key is the signed-in caller's
(their user): an anonymous request or an unknown token is passed on untouched (it is refused
or limited on its own), so nobody fills the table without signing in. The request is compared
by method, path and body (JSON compared as data, not as bytes).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from anyio import to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from skillsubsidy.services import idempotency, users
from skillsubsidy.store.db import Busy, Database

HEADER = b"idempotency-key"
MAX_KEY = 128


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, prefix: str = "/api/"):
        self.app, self.prefix = app, prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        key_bytes = headers.get(HEADER)
        if key_bytes is None or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        key = key_bytes.decode("latin-1")
        if not (0 < len(key) <= MAX_KEY and key.isascii() and key.isprintable()):
            await _json(send, 422, _error("Idempotency-Key", f"1 to {MAX_KEY} printable ASCII"))
            return
        db: Database = scope["app"].state.database
        user_id = await to_thread.run_sync(_user, db, headers.get(b"authorization", b""))
        if user_id is None:
            await self.app(scope, receive, send)
            return
        body, more = await _read(receive)
        scope_hash = hashlib.sha256(f"user:{user_id}".encode()).hexdigest()
        request_hash = hashlib.sha256(
            b"\n".join([scope["path"].encode(), scope.get("query_string", b""), _canonical(body)])
        ).hexdigest()
        try:
            replay = await to_thread.run_sync(idempotency.begin, db, scope_hash, key, request_hash)
        except idempotency.KeyReused:
            await _json(send, 422, _error("Idempotency-Key", "used before for another request"))
            return
        except (idempotency.InProgress, Busy):
            await _json(
                send,
                409,
                {"detail": "the first request with this Idempotency-Key is still running"},
                [(b"retry-after", b"1")],
            )
            return
        if replay is not None:
            await _json(
                send,
                replay.status_code,
                json.loads(replay.body),
                [(b"idempotency-replayed", b"true")],
            )
            return
        status: list[int] = []
        chunks: list[bytes] = []

        async def replayed_receive() -> Message:
            nonlocal more
            if more is not None:
                message, more = more, None
                return message
            return await receive()

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replayed_receive, capture)
        finally:
            code = status[0] if status else 500
            text = b"".join(chunks).decode("utf-8", "replace")
            if not _is_json(text):
                code = 500 if code >= 500 else code
                text = json.dumps({"detail": text})
            await to_thread.run_sync(idempotency.finish, db, scope_hash, key, code, text)


async def _read(receive: Receive) -> tuple[bytes, Message | None]:
    """The whole body, and one message that replays it to the app."""
    parts: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(parts), message
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            body = b"".join(parts)
            return body, {"type": "http.request", "body": body, "more_body": False}


def _user(db: Database, authorization: bytes) -> int | None:
    """The signed-in user of a bearer token, or None."""
    scheme, _, token = authorization.decode("latin-1").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    with db.session() as s:
        user = users.by_token(s, token.strip())
        return user.id if user is not None else None


def _canonical(body: bytes) -> bytes:
    """JSON as data (key order and spacing aside); anything else as it came."""
    try:
        return json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        return body


def _error(field: str, message: str) -> dict[str, Any]:
    return {"detail": [{"loc": ["header", field], "msg": message, "type": "value_error"}]}


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


async def _json(
    send: Send, status: int, body: Any, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    data = json.dumps(body, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})
