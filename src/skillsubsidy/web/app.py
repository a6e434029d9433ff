"""The pages on the API's application: sessions, static files, sign-in redirects."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from skillsubsidy.web import class_pages, finance_pages, pages
from skillsubsidy.web.session import SignInRequired, secret_key


def mount_pages(app: FastAPI) -> None:
    app.add_middleware(
        SessionMiddleware, secret_key=secret_key(), same_site="lax", max_age=8 * 3600
    )
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    app.include_router(pages.router)
    app.include_router(class_pages.router)
    app.include_router(finance_pages.router)

    @app.exception_handler(SignInRequired)
    def _sign_in(request: Request, _: SignInRequired) -> RedirectResponse:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
