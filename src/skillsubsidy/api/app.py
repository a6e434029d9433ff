"""The FastAPI application: routers under ``/api/v1``, service refusals as HTTP answers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from skillsubsidy import __version__
from skillsubsidy.api.idempotency import IdempotencyMiddleware
from skillsubsidy.api.limits import InputGuard, InputLimits
from skillsubsidy.api.routes import claims, classes, evaluate, finance, notices, registry
from skillsubsidy.api.schemas import ERROR_RESPONSES
from skillsubsidy.api.security import (
    AnonymousLimitMiddleware,
    AnonymousLimits,
    SecurityHeaders,
)
from skillsubsidy.domain.dates import china_today
from skillsubsidy.domain.workflow import IllegalTransition
from skillsubsidy.services.errors import InvalidInput, NotFound, Refused
from skillsubsidy.store.db import Busy, Database
from skillsubsidy.web.app import mount_pages

API = "/api/v1"


def create_app(
    database: Database | None = None, clock: Callable[[], dt.date] = china_today
) -> FastAPI:
    """``clock`` gives the date of each step (tests set it; the server uses China's date)."""
    app = FastAPI(
        title="skillsubsidy",
        version=__version__,
        summary="职业技能培训补贴: decisions, classes, claims, notices, payments",
        openapi_url="/openapi.json",
        docs_url=None,  # the interactive docs load their scripts from the internet
        redoc_url=None,
        responses=ERROR_RESPONSES,  # the refusals below, so the OpenAPI covers every answer
    )
    app.state.database = database or Database()
    app.state.clock = clock
    for module in (evaluate, registry, classes, claims, notices, finance):
        app.include_router(module.router, prefix=API)
    mount_pages(app)
    # a repeated create with the same Idempotency-Key gets the first answer again
    app.add_middleware(IdempotencyMiddleware, prefix=API)
    # bodies within their limits, and only text both databases can store (api.limits);
    # outside the idempotency middleware, so a refused request stores nothing
    app.state.input_limits = InputLimits.from_environment()
    app.add_middleware(InputGuard, limits=app.state.input_limits)
    # per-address limits of anonymous work (per worker process: see api.security); outside
    # the idempotency middleware, so a refused call stores nothing
    app.state.anonymous_limits = AnonymousLimits()
    app.add_middleware(AnonymousLimitMiddleware, prefix=API)
    # added last, so outermost: it sees every answer, with the session cookie already set
    app.add_middleware(SecurityHeaders)

    @app.exception_handler(InvalidInput)
    def _invalid(_: Request, exc: InvalidInput) -> JSONResponse:
        # the shape of FastAPI's own validation errors: the field is named in ``loc``
        body = {
            "detail": [
                {"loc": ["body", *exc.field.split(".")], "msg": exc.message, "type": "value_error"}
            ]
        }
        return JSONResponse(body, status_code=422)

    @app.exception_handler(NotFound)
    def _missing(_: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(Refused)
    def _refused(_: Request, exc: Refused) -> JSONResponse:
        body: dict[str, object] = {"detail": str(exc), "clause": exc.clause}
        existing = getattr(exc, "existing_id", None)
        if existing is not None:  # a repeat of a live claim: name the first
            body["existing_claim"] = existing
        retry = getattr(exc, "retry_after", None)  # the same work under way elsewhere
        headers = {"Retry-After": str(retry)} if retry is not None else None
        return JSONResponse(body, status_code=409, headers=headers)

    @app.exception_handler(Busy)
    def _busy(_: Request, exc: Busy) -> JSONResponse:
        return JSONResponse(
            {"detail": "the system is busy: nothing was changed, try again shortly"},
            status_code=503,
            headers={"Retry-After": str(exc.retry_after)},
        )

    @app.exception_handler(IllegalTransition)
    def _illegal(_: Request, exc: IllegalTransition) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.exception_handler(IntegrityError)
    def _conflict(_: Request, exc: IntegrityError) -> JSONResponse:
        # a unique key taken meanwhile (the services check first; this is the last guard)
        return JSONResponse({"detail": "conflicts with an existing record"}, status_code=409)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
