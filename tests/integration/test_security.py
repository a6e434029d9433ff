"""The security controls, on both databases: the sign-in throttle (by username and by
address, shared through the database), the same work for unknown users, the password rule,
server-side sessions (a copied cookie dies at sign-out), the Secure cookie over HTTPS, the
security headers, per-address limits of anonymous work, expiring and revocable tokens, and
``serve`` refusing a database with demo credentials."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from skillsubsidy import cli
from skillsubsidy.api.app import create_app
from skillsubsidy.api.security import CONTENT_SECURITY_POLICY
from skillsubsidy.services import users
from skillsubsidy.services.errors import InvalidInput, NotFound
from skillsubsidy.store.db import Database
from skillsubsidy.store.models import (
    Event,
    IdempotencyRecord,
    LoginFailure,
    User,
    WebSession,
    utc_now,
)

PASSWORD = "correct horse battery"
WEB = Path(__file__).resolve().parents[2] / "src" / "skillsubsidy" / "web"


@pytest.fixture(autouse=True)
def _one_signing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    # each app made here signs cookies alike, as the workers of one server do
    monkeypatch.setenv("SKILLSUBSIDY_SECRET_KEY", "test signing key")


def _user(db: Database, username: str = "alice", password: str = PASSWORD) -> str:
    """An admin with a password; returns their API token."""

    def work(s: Any) -> str:
        user, token = users.create_user(s, username, "admin")
        users.set_password(user, password)
        return token

    return db.write(work)


def _client(db: Database, address: str = "203.0.113.7", **options: Any) -> TestClient:
    return TestClient(create_app(db), client=(address, 50000), **options)


def _csrf(client: TestClient) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
    assert found
    return found.group(1)


def _login(client: TestClient, username: str, password: str) -> Any:
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf": _csrf(client)},
        follow_redirects=False,
    )


def _signed_in(client: TestClient) -> bool:
    return client.get("/claims", follow_redirects=False).status_code == 200


# --- sign-in throttle ----------------------------------------------------------------------


def test_sign_in_is_throttled_by_username(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    _user(database)
    for n in range(users.LOGIN_MAX_FAILURES):  # from ten addresses: the username counts
        assert _login(_client(database, f"198.51.100.{n}"), "alice", "wrong").status_code == 401

    def never(*_: object) -> bool:
        raise AssertionError("a throttled attempt must not check the password")

    monkeypatch.setattr(users, "check_password", never)
    client = _client(database, "192.0.2.99")
    answer = _login(client, "alice", PASSWORD)
    assert answer.status_code == 429
    assert 0 < int(answer.headers["retry-after"]) <= 15 * 60
    assert "登录失败次数过多" in answer.text
    assert not _signed_in(client)


def test_sign_in_is_throttled_by_address_and_a_success_does_not_reset_it(
    database: Database,
) -> None:
    _user(database)
    client = _client(database)
    for n in range(users.LOGIN_MAX_FAILURES - 1):
        assert _login(client, f"nobody{n}", "wrong").status_code == 401
    assert _login(client, "alice", PASSWORD).status_code == 303  # a success in between
    assert _login(client, "nobody", "wrong").status_code == 401  # the tenth failure
    assert _login(client, "alice", PASSWORD).status_code == 429
    # another address is not held up
    assert _login(_client(database, "192.0.2.1"), "alice", PASSWORD).status_code == 303


def test_failures_older_than_the_window_do_not_count_and_are_pruned(database: Database) -> None:
    _user(database)
    old = utc_now() - users.LOGIN_WINDOW - dt.timedelta(seconds=1)

    def fail_long_ago(s: Any) -> None:
        for _ in range(users.LOGIN_MAX_FAILURES):
            s.add(LoginFailure(username="alice", address="203.0.113.7", at=old))

    database.write(fail_long_ago)
    assert _login(_client(database), "alice", "wrong").status_code == 401
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(LoginFailure)) == 1


def test_an_unknown_username_costs_the_same_scrypt(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    _user(database)
    calls: list[tuple[int, int, int]] = []
    real = hashlib.scrypt

    def counting(password: bytes, *, salt: bytes, n: int, r: int, p: int) -> bytes:
        calls.append((n, r, p))
        return real(password, salt=salt, n=n, r=r, p=p)

    monkeypatch.setattr(hashlib, "scrypt", counting)
    with database.session() as s:
        for username, password in (
            ("alice", "wrong"),
            ("nobody", "wrong"),
            ("", "x"),
            ("a" * 500, "x"),
            ("alice", "x" * 100_000),
        ):
            calls.clear()
            assert users.sign_in(s, username, password) is None
            assert calls == [(2**14, 8, 1)], username[:10]
        calls.clear()
        assert users.sign_in(s, " alice ", PASSWORD) is not None
        assert calls == [(2**14, 8, 1)]


def test_passwords_have_at_least_12_characters(database: Database) -> None:
    def short(s: Any) -> None:
        user, _ = users.create_user(s, "bob", "admin")
        users.set_password(user, "x" * 11)

    with pytest.raises(InvalidInput, match="至少 12 个字符") as refused:
        database.write(short)
    assert refused.value.field == "password"
    _user(database, "carol", "x" * 12)
    assert _login(_client(database), "carol", "x" * 12).status_code == 303


def test_only_the_demo_seed_sets_a_short_password() -> None:
    """``set_demo_password`` skips the length rule: no page or route may call it."""
    source = WEB.parent
    callers = {
        str(path.relative_to(source))
        for path in source.rglob("*.py")
        if "set_demo_password" in path.read_text(encoding="utf-8")
    }
    assert callers == {"demo/seed.py", "services/users.py"}


# --- server-side sessions ------------------------------------------------------------------


def _cookie_sid(cookie: str) -> str:
    payload = cookie.split(".")[0]
    data = json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))
    assert set(data) <= {"sid", "csrf", "flash"}, data  # no user id in the cookie
    sid: str = data["sid"]
    return sid


def test_a_copied_cookie_no_longer_works_after_sign_out(database: Database) -> None:
    _user(database)
    client = _client(database)
    assert _login(client, "alice", PASSWORD).status_code == 303
    copied = client.cookies["session"]
    sid = _cookie_sid(copied)
    with database.session() as s:
        row = s.get(WebSession, hashlib.sha256(sid.encode()).hexdigest())
        assert row is not None and row.revoked_at is None
        assert s.get(WebSession, sid) is None  # only the hash is stored
        lifetime = row.expires_at - row.created_at
        assert lifetime == dt.timedelta(hours=8)
    thief = _client(database, "192.0.2.66", cookies={"session": copied})
    assert _signed_in(thief)
    page = client.get("/notices").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf
    assert client.post("/logout", data={"csrf": csrf.group(1)}, follow_redirects=False).status_code
    replay = _client(database, "192.0.2.66", cookies={"session": copied})
    answer = replay.get("/claims", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


def test_sign_in_rotates_the_session_id(database: Database) -> None:
    _user(database)
    client = _client(database)
    _login(client, "alice", PASSWORD)
    first = client.cookies["session"]
    _login(client, "alice", PASSWORD)  # signed in again, on the same browser
    second = client.cookies["session"]
    assert _cookie_sid(first) != _cookie_sid(second)
    assert not _signed_in(_client(database, cookies={"session": first}))  # revoked
    assert _signed_in(_client(database, cookies={"session": second}))


@pytest.mark.parametrize("how", ["expired", "revoked", "user deactivated"])
def test_a_dead_session_signs_no_one_in(database: Database, how: str) -> None:
    _user(database)
    client = _client(database)
    _login(client, "alice", PASSWORD)
    assert _signed_in(client)

    def kill(s: Any) -> None:
        row = s.scalars(select(WebSession)).one()
        if how == "expired":
            row.expires_at = utc_now() - dt.timedelta(seconds=1)
        elif how == "revoked":
            row.revoked_at = utc_now()
        else:
            s.get(User, row.user_id).active = False

    database.write(kill)
    assert not _signed_in(client)


def test_the_cookie_is_secure_over_https(database: Database) -> None:
    over_https = _client(database, base_url="https://testserver")
    cookie = over_https.get("/login").headers["set-cookie"]
    assert "secure" in cookie.lower() and "httponly" in cookie.lower()
    plain = _client(database).get("/login").headers["set-cookie"]
    assert "secure" not in plain.lower()  # a browser drops a Secure cookie sent over http


# --- security headers ----------------------------------------------------------------------


def test_every_answer_carries_the_security_headers(database: Database) -> None:
    client = _client(database)
    answers = [
        client.get("/login"),
        client.get("/"),
        client.get("/static/style.css"),
        client.get("/static/htmx.min.js"),
        client.get("/api/v1/notices"),
        client.get("/api/v1/claims"),  # 401
        client.get("/api/v1/nothing-here"),  # 404
        client.get("/claims", follow_redirects=False),  # 303 to sign in
        client.get("/healthz"),
    ]
    for answer in answers:
        headers = answer.headers
        where = (answer.request.url.path, answer.status_code)
        assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY, where
        assert headers["x-frame-options"] == "DENY", where
        assert headers["x-content-type-options"] == "nosniff", where
        assert headers["referrer-policy"] == "same-origin", where
        assert headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"


def test_the_pages_hold_no_inline_code_the_policy_would_block() -> None:
    inline = re.compile(
        r"<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+=|javascript:|hx-on", re.IGNORECASE
    )
    for template in (WEB / "templates").glob("*.html"):
        found = inline.search(template.read_text(encoding="utf-8"))
        assert found is None, (template.name, found and found.group(0))
    from skillsubsidy.web import charts

    svg = charts.bar_chart("t", [("a", Decimal(1))], chart_id="c")
    assert inline.search(svg) is None


# --- anonymous load ------------------------------------------------------------------------


def test_anonymous_evaluate_is_limited_per_address(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SKILLSUBSIDY_EVALUATE_RATE", "3/minute")
    token = _user(database)
    app = create_app(database)
    client = TestClient(app, client=("203.0.113.7", 1))

    def evaluate(headers: dict[str, str] | None = None) -> Any:
        return client.post("/api/v1/evaluate", json={"claims": []}, headers=headers or {})

    assert [evaluate().status_code for _ in range(3)] == [200, 200, 200]
    refused = evaluate()
    assert refused.status_code == 429
    assert 0 < int(refused.headers["retry-after"]) <= 60
    assert evaluate({"Authorization": "Bearer not-a-token"}).status_code == 429
    # refused before the idempotency middleware: nothing stored, so no 429 replayed later
    assert evaluate({"Idempotency-Key": "k-1"}).status_code == 429
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0
    signed_in = {"Authorization": f"Bearer {token}"}
    assert [evaluate(signed_in).status_code for _ in range(5)] == [200] * 5
    other = TestClient(app, client=("203.0.113.8", 1))
    assert other.post("/api/v1/evaluate", json={"claims": []}).status_code == 200
    # one IPv6 subscriber (a /64) is one address
    for n in range(3):
        v6 = TestClient(app, client=(f"2001:db8:1:2::{n + 1}", 1))
        assert v6.post("/api/v1/evaluate", json={"claims": []}).status_code == 200
    v6 = TestClient(app, client=("2001:db8:1:2:ffff::9", 1))
    assert v6.post("/api/v1/evaluate", json={"claims": []}).status_code == 429


def test_anonymous_objections_are_limited_per_address(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SKILLSUBSIDY_OBJECTION_RATE", "2/minute")
    client = _client(database)
    body = {"claim_id": 1, "objector": "王先生", "contact": "13800001111", "grounds": "未参训"}
    assert client.post("/api/v1/notices/999/objections", json=body).status_code == 404
    # the public notice's form shares the address's budget with the API
    form = {"claim_id": "1", "objector": "王先生", "contact": "1", "grounds": "g"}
    page = client.post("/notices/999/objections", data={**form, "csrf": _csrf(client)})
    assert page.status_code == 404
    refused = client.post("/notices/999/objections", data={**form, "csrf": _csrf(client)})
    assert refused.status_code == 429 and "请求过于频繁" in refused.text
    assert int(refused.headers["retry-after"]) > 0
    api = client.post("/api/v1/notices/999/objections", json=body)
    assert api.status_code == 429 and "retry-after" in api.headers


def test_a_rate_setting_that_is_not_a_rate_stops_the_start(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SKILLSUBSIDY_EVALUATE_RATE", "lots")
    with pytest.raises(RuntimeError, match="SKILLSUBSIDY_EVALUATE_RATE"):
        create_app(database)


# --- tokens --------------------------------------------------------------------------------


def _api_status(client: TestClient, token: str) -> int:
    return client.get("/api/v1/claims", headers={"Authorization": f"Bearer {token}"}).status_code


def test_expired_and_revoked_tokens_are_refused(database: Database) -> None:
    first = _user(database)
    client = _client(database)
    assert _api_status(client, first) == 200
    token = database.write(lambda s: users.issue_token(s, "admin:test", "alice", days=1))
    assert _api_status(client, first) == 401  # the old one is replaced
    assert _api_status(client, token) == 200
    with database.session() as s:
        user = users.by_username(s, "alice")
        assert user is not None and user.token_expires_at is not None
        left = user.token_expires_at - utc_now()
        assert dt.timedelta(hours=23) < left <= dt.timedelta(days=1)
        later = utc_now() + dt.timedelta(days=1, seconds=1)
        assert users.by_token(s, token, now=later) is None

    def expire(s: Any) -> None:
        found = users.by_username(s, "alice")
        assert found is not None
        found.token_expires_at = utc_now() - dt.timedelta(seconds=1)

    database.write(expire)
    assert _api_status(client, token) == 401
    token = database.write(lambda s: users.issue_token(s, "admin:test", "alice"))
    assert _api_status(client, token) == 200
    database.write(lambda s: users.revoke_token(s, "admin:test", "alice"))
    assert _api_status(client, token) == 401
    with database.session() as s:
        actions = list(
            s.scalars(
                select(Event.action)
                .where(Event.entity == "user", Event.action.like("token_%"))
                .order_by(Event.id)
            )
        )
    assert actions == ["token_issued", "token_issued", "token_revoked"]


@pytest.mark.parametrize(
    ("work", "error"),
    [
        (lambda s: users.issue_token(s, "t", "alice", days=0), InvalidInput),
        (lambda s: users.issue_token(s, "t", "alice", days=10_000), InvalidInput),
        (lambda s: users.issue_token(s, "t", "nobody"), NotFound),
        (lambda s: users.revoke_token(s, "t", "nobody"), NotFound),
    ],
    ids=["zero days", "too many days", "unknown user", "revoke unknown"],
)
def test_token_requests_that_make_no_sense_are_refused(
    database: Database, work: Callable[[Any], object], error: type[Exception]
) -> None:
    _user(database)
    with pytest.raises(error):
        database.write(work)


def test_cli_issues_and_revokes_tokens(database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    _user(database)
    monkeypatch.setenv("SKILLSUBSIDY_DATABASE_URL", database.url)
    runner = CliRunner()
    issued = runner.invoke(cli.app, ["users", "token", "alice", "--days", "30"])
    assert issued.exit_code == 0, issued.output
    token = issued.stdout.strip()
    with database.session() as s:
        user = users.by_token(s, token)
        assert user is not None and user.token_expires_at is not None
        assert user.token_expires_at - utc_now() > dt.timedelta(days=29)
    revoked = runner.invoke(cli.app, ["users", "revoke", "alice"])
    assert revoked.exit_code == 0, revoked.output
    with database.session() as s:
        assert users.by_token(s, token) is None
    unknown = runner.invoke(cli.app, ["users", "token", "nobody"])
    assert unknown.exit_code == 2 and "nobody" in unknown.stderr
    assert runner.invoke(cli.app, ["users", "token", "alice", "--days", "0"]).exit_code == 2


def test_cli_token_on_a_database_not_upgraded(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SKILLSUBSIDY_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    result = CliRunner().invoke(cli.app, ["users", "revoke", "alice"])
    assert result.exit_code == 2 and "db upgrade" in result.stderr


# --- demo credentials ----------------------------------------------------------------------


def test_serve_refuses_a_database_with_demo_credentials(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    _user(database)
    assert cli.demo_refusal(database) is None

    def demo_token(s: Any) -> None:
        users.create_user(s, "lucheng", "admin", token="demo-lucheng")

    database.write(demo_token)
    refusal = cli.demo_refusal(database)
    assert refusal is not None and "lucheng" in refusal and "--demo" in refusal

    def demo_password(s: Any) -> None:
        users.revoke_token(s, "t", "lucheng")
        found = users.by_username(s, "lucheng")
        assert found is not None
        users.set_demo_password(found, "demo")

    database.write(demo_password)  # the token revoked, the public password still there
    refusal = cli.demo_refusal(database)
    assert refusal is not None and "lucheng" in refusal

    def cleaned(s: Any) -> None:
        found = users.by_username(s, "lucheng")
        assert found is not None
        users.set_password(found, "a long private passphrase")

    database.write(cleaned)
    assert cli.demo_refusal(database) is None

    database.write(lambda s: users.create_user(s, "audit", "auditor", token="demo-audit"))
    monkeypatch.setenv("SKILLSUBSIDY_DATABASE_URL", database.url)
    import uvicorn

    def never(*_: object, **__: object) -> None:
        raise AssertionError("must not start")

    monkeypatch.setattr(uvicorn, "run", never)
    result = CliRunner().invoke(cli.app, ["serve"])
    assert result.exit_code == 2
    assert "demo users" in result.stderr and "audit" in result.stderr


def test_serve_demo_on_a_public_address_warns(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import uvicorn

    from skillsubsidy.demo import seed

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(seed, "seed", lambda _db: seed.Demo())
    monkeypatch.setattr(uvicorn, "run", lambda *_, **__: None)
    runner = CliRunner()
    public = runner.invoke(cli.app, ["serve", "--demo", "--host", "0.0.0.0"])
    assert public.exit_code == 0, public.output
    assert "warning" in public.stderr and "0.0.0.0" in public.stderr
    local = runner.invoke(cli.app, ["serve", "--demo"])
    assert local.exit_code == 0 and "warning" not in local.stderr
