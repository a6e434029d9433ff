"""Command line: ``skillsubsidy evaluate | packs check | db upgrade | users token | users
revoke | serve | demo``.

Exit status of ``evaluate`` (CONTRACT.md): 0 all records valid, 1 some records invalid (their
lines carry ``error``), 2 the command could not run.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import nullcontext
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from skillsubsidy.store.db import Database

T = TypeVar("T")

app = typer.Typer(
    help="skillsubsidy — 职业技能培训补贴: rules engine and tools.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
packs_app = typer.Typer(help="Policy packs: inspect and validate.", no_args_is_help=True)
app.add_typer(packs_app, name="packs")

EXIT_INVALID_RECORDS = 1
EXIT_CANNOT_RUN = 2


def _fail(message: str) -> typer.Exit:
    typer.echo(f"skillsubsidy: {message}", err=True)
    return typer.Exit(EXIT_CANNOT_RUN)


@app.command()
def evaluate(
    claims: Annotated[Path, typer.Argument(help="claims file: .jsonl, .csv or .xlsx")],
    history: Annotated[
        Path | None, typer.Option("--history", help="claims granted before (same formats)")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", help="decisions file (JSON Lines); default stdout")
    ] = None,
) -> None:
    """Decide every claim of CLAIMS and write one decision per line, in input order."""
    from skillsubsidy.policy.engine import Engine, HistoryError, write_jsonl
    from skillsubsidy.policy.loader import PackError
    from skillsubsidy.policy.readers import InputFileError, read_claim_batches, read_claims

    total = invalid = 0
    tmp = output.with_name(output.name + ".partial") if output else None
    try:
        # the history frame is handed over, not kept: the engine keeps only its ledger keys
        decided = Engine().decide_batches(
            read_claim_batches(claims), read_claims(history) if history else None
        )
        # the first batch comes only once every record was read and checked: an unreadable
        # file stops the run before anything is written
        first = next(decided)
        with tmp.open("wb") if tmp else nullcontext(sys.stdout.buffer) as out:
            for batch in chain([first], decided):
                write_jsonl(batch, out)
                total += batch.height
                invalid += int(batch["error_field"].is_not_null().sum())
            out.flush()
        if tmp and output:
            tmp.replace(output)  # never leave a half-written decisions file
    except (InputFileError, HistoryError, PackError) as exc:
        raise _fail(str(exc)) from None
    except OSError as exc:
        raise _fail(f"cannot write decisions: {exc}") from None
    finally:
        if tmp and tmp.exists():
            tmp.unlink()
    if invalid:
        typer.echo(f"skillsubsidy: {invalid} of {total} records invalid", err=True)
        raise typer.Exit(EXIT_INVALID_RECORDS)


@packs_app.command("check")
def packs_check(
    folder: Annotated[
        Path | None, typer.Argument(help="a packs folder (default: the packs shipped)")
    ] = None,
) -> None:
    """Validate every policy pack; name the file, key and reason of each problem."""
    from skillsubsidy.policy.loader import PACKS_DIR, PackError, load_catalogue

    try:
        catalogue = load_catalogue(folder or PACKS_DIR)
    except PackError as exc:
        for file, key, reason in exc.problems:
            typer.echo(f"{file}: {key}: {reason}", err=True)
        raise typer.Exit(EXIT_INVALID_RECORDS) from None
    for pack_id in catalogue.pack_ids:
        periods = [p for p in catalogue.periods if p.id == pack_id]
        info = periods[0].info
        typer.echo(
            f"ok  {pack_id:20} {info.document}  kinds: {', '.join(info.kinds)}"
            + (f"  ({len(periods)} dated periods)" if len(periods) > 1 else "")
        )


@packs_app.command("list")
def packs_list() -> None:
    """List the packs, their jurisdiction and key-date window."""
    from skillsubsidy.policy.loader import default_catalogue

    cat = default_catalogue()
    for pack_id in cat.pack_ids:
        sel = cat.info(pack_id).selection
        window = f"{sel.from_ or '…'} .. {sel.until or '…'}" if sel.by_date else "only when named"
        typer.echo(f"{pack_id:20} {cat.info(pack_id).jurisdiction:8} {window}")


db_app = typer.Typer(help="The database: migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
DEMO_DATABASE = Path("skillsubsidy-demo.db")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database (SKILLSUBSIDY_DATABASE_URL, default SQLite) to the newest schema."""
    from skillsubsidy.store.db import Database

    db = Database()
    db.upgrade()
    typer.echo(f"database at the newest schema: {db.engine.url.render_as_string()}")


audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify() -> None:
    """Walk the audit chain and the money records it seals (SKILLSUBSIDY_DATABASE_URL):
    exit 0 when intact, 1 naming the first broken record."""
    from skillsubsidy.store.chain import verify
    from skillsubsidy.store.db import Database

    db = Database()
    try:
        with db.session() as s:
            broken = verify(s)
    finally:
        db.dispose()
    if broken is not None:
        typer.echo(f"audit chain broken: {broken}", err=True)
        raise typer.Exit(EXIT_INVALID_RECORDS)
    typer.echo("audit chain intact")


users_app = typer.Typer(help="Users: API tokens.", no_args_is_help=True)
app.add_typer(users_app, name="users")
CLI_ACTOR = "admin:cli"  # who the audit trail names for a token issued or revoked here


def _user_work(work: Callable[[Session], T]) -> T:
    """One transaction on the configured database; refusals and an unreachable or
    un-migrated database end with exit status 2 and the reason."""
    from sqlalchemy.exc import SQLAlchemyError

    from skillsubsidy.services.errors import ServiceError
    from skillsubsidy.store.db import Database

    db = Database()
    try:
        return db.run(work)
    except ServiceError as exc:
        raise _fail(str(exc)) from None
    except SQLAlchemyError as exc:
        reason = str(exc).splitlines()[0]
        raise _fail(f"database: {reason} (is it reachable and upgraded: db upgrade?)") from None
    finally:
        db.dispose()


@users_app.command("token")
def users_token(
    username: Annotated[str, typer.Argument(help="the user")],
    days: Annotated[int, typer.Option("--days", help="days until the token expires")] = 90,
) -> None:
    """Issue USERNAME a new API token (the old one stops working). Printed once: only its
    hash is kept."""
    from skillsubsidy.services import users

    token = _user_work(lambda s: users.issue_token(s, CLI_ACTOR, username, days))
    typer.echo(token)
    typer.echo(f"token of {username}: valid {days} days, shown only now", err=True)


@users_app.command("revoke")
def users_revoke(username: Annotated[str, typer.Argument(help="the user")]) -> None:
    """Revoke USERNAME's API token at once."""
    from skillsubsidy.services import users

    _user_work(lambda s: users.revoke_token(s, CLI_ACTOR, username))
    typer.echo(f"token of {username} revoked")


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def demo_refusal(db: Database) -> str | None:
    """Why ``serve`` without ``--demo`` must not serve this database, or None: a demo user
    whose public credential (token ``demo-<username>``, password ``demo``) still works."""
    from skillsubsidy.services import users

    with db.session() as s:
        found = users.demo_accounts(s)
    if not found:
        return None
    return (
        f"the database holds demo users with public credentials ({', '.join(found)}): "
        "serve it with --demo, or revoke their tokens and passwords first "
        "(skillsubsidy users revoke USERNAME)"
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
    demo_data: Annotated[
        bool, typer.Option("--demo", help=f"a fresh demo data set in ./{DEMO_DATABASE}")
    ] = False,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="worker processes (PostgreSQL: one per core)")
    ] = 1,
) -> None:
    """Run the web application and the REST API (SQLite by default)."""
    import uvicorn

    from skillsubsidy.api.app import create_app
    from skillsubsidy.store.db import Database

    if demo_data:
        from skillsubsidy.demo.seed import seed

        if host not in LOOPBACK:
            typer.echo(
                f"skillsubsidy: warning: the demo users' passwords and tokens are public; "
                f"--host {host} lets other machines sign in with them",
                err=True,
            )

        DEMO_DATABASE.unlink(missing_ok=True)
        for suffix in ("-wal", "-shm"):
            Path(f"{DEMO_DATABASE}{suffix}").unlink(missing_ok=True)
        db = Database(f"sqlite:///{DEMO_DATABASE.resolve()}")
        db.upgrade()
        typer.echo("seeding the demo data set …")
        made = seed(db)
        typer.echo("demo users (API token = demo-<username>): " + ", ".join(made.users))
    else:
        db = Database()
        db.upgrade()
        if (refusal := demo_refusal(db)) is not None:
            db.dispose()
            raise _fail(refusal)
    typer.echo(f"skillsubsidy on http://{host}:{port}/  (API: /api/v1, OpenAPI: /openapi.json)")
    if workers > 1:
        # each worker builds its own app from the environment: the same database, the same
        # cookie-signing key (else a session signed by one worker is unknown to the next)
        import os
        import secrets

        from skillsubsidy.store.db import URL_SETTING
        from skillsubsidy.web.session import SECRET_SETTING

        os.environ[URL_SETTING] = db.url
        os.environ.setdefault(SECRET_SETTING, secrets.token_urlsafe(32))
        os.environ[DEMO_SETTING] = "1" if demo_data else ""
        db.dispose()
        uvicorn.run(
            "skillsubsidy.cli:worker_app",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_level="info",
        )
        return
    application = create_app(db)
    application.state.demo = demo_data
    uvicorn.run(application, host=host, port=port, log_level="info")


DEMO_SETTING = "SKILLSUBSIDY_DEMO_SERVER"


def worker_app() -> object:
    """The application of one ``serve --workers`` process (settings from the environment)."""
    import os

    from skillsubsidy.api.app import create_app

    application = create_app()
    application.state.demo = bool(os.environ.get(DEMO_SETTING))
    return application


@app.command()
def demo() -> None:
    """Decide the worked examples shipped with the project and print a summary table."""
    import json
    from importlib.resources import files

    from rich.console import Console
    from rich.table import Table

    from skillsubsidy.policy.engine import evaluate as run

    lines = files("skillsubsidy").joinpath("demo/claims.jsonl").read_text(encoding="utf-8")
    claims = [json.loads(line) for line in lines.splitlines() if line.strip()]
    table = Table(title="skillsubsidy demo: 示例申请的补贴决定")
    for col in ("id", "policy", "kind", "amount", "payee", "fund", "reasons / error"):
        table.add_column(col)
    kinds = {c["id"]: c["kind"] for c in claims}
    for d in run(claims):
        if "error" in d:
            table.add_row(
                d["id"],
                "",
                kinds[d["id"]],
                "",
                "",
                "",
                f"{d['error']['field']}: {d['error']['message']}",
            )
        else:
            table.add_row(
                d["id"],
                d["policy"] or "—",
                kinds[d["id"]],
                d["amount"],
                d["payee"],
                d["fund"] or "—",
                ", ".join(d["reasons"]),
            )
    Console().print(table)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
