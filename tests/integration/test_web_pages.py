"""The pages over HTTP: every form refuses a post without its CSRF token, a bad roster gets
its error page and changes nothing, user input is escaped, and each role sees its pages."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlalchemy import func, select

from skillsubsidy.api.app import create_app
from skillsubsidy.demo.seed import DEMO_PASSWORD, Demo, seed
from skillsubsidy.store.db import Database
from skillsubsidy.store.models import Enrolment, Person
from skillsubsidy.web import class_pages, finance_pages, pages


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Demo, Database]]:
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('web') / 'demo.db'}")
    db.upgrade()
    made = seed(db)
    with TestClient(create_app(db)) as client:
        yield client, made, db
    db.dispose()


def _token(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no form token"
    return found.group(1)


def _sign_in(client: TestClient, username: str) -> str:
    client.cookies.clear()
    token = _token(client.get("/login").text)
    answer = client.post(
        "/login", data={"username": username, "password": DEMO_PASSWORD, "csrf": token}
    )
    assert answer.status_code == 200 and username in answer.text
    return _token(answer.text)


# every form of the pages, with all its fields filled as a real user would, but a forged token
FORMS: list[tuple[str, dict[str, str]]] = [
    ("/login", {"username": "admin", "password": DEMO_PASSWORD}),
    ("/logout", {}),
    ("/claims/1/check", {}),
    ("/claims/1/reject", {"reason": "理由"}),
    ("/objections/1/resolve", {"outcome": "dismissed", "resolution": "不成立"}),
    ("/notices", {"district": "330302", "claim_ids": "4"}),
    ("/notices/1/close", {}),
    ("/notices/3/objections", {"claim_id": "16", "objector": "某", "contact": "1", "grounds": "g"}),
    (
        "/classes",
        {
            "title": "t",
            "subsidy_kind": "project",
            "district_code": "330302",
            "hours": "8",
            "starts_on": "2030-01-01",
            "ends_on": "2030-01-02",
            "venue": "v",
        },
    ),
    ("/classes/1/file", {}),
    ("/classes/1/approve", {}),
    ("/classes/1/claims", {}),
    ("/finance/batches", {"fund": "330302"}),
    ("/finance/batches/1/paid", {}),
    ("/finance/recoveries/1/recovered", {}),
    ("/eligibility", {"jurisdiction": "wenzhou", "district": "330302"}),
]


def test_every_form_needs_its_token(site: tuple[TestClient, Demo, Database]) -> None:
    client, _, _ = site
    routes = {
        r.path
        for router in (pages.router, class_pages.router, finance_pages.router)
        for r in router.routes
        if isinstance(r, APIRoute) and "POST" in r.methods
    }
    listed = {re.sub(r"/\d+", "/{}", url) for url, _ in FORMS}
    # the roster upload is checked below, with its file; the claim actions share one route
    assert {re.sub(r"\{[^}]+\}", "{}", r) for r in routes} - listed <= {
        "/classes/{}/roster",
        "/claims/{}/{}",
    }
    _sign_in(client, "admin")
    for url, fields in FORMS:
        answer = client.post(url, data={**fields, "csrf": "forged"}, follow_redirects=False)
        assert answer.status_code == 403, (url, answer.status_code)
    roster = client.post(
        "/classes/1/roster", data={"csrf": "forged"}, files={"roster": ("r.xlsx", _roster([]))}
    )
    assert roster.status_code == 403


def _roster(rows: list[list[object]], header: list[str] | None = None) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(header or ["姓名", "公民身份号码", "联系电话", "社会保障卡号"])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("content", "shown"),
    [
        (lambda: _roster([["张三", "x"]], header=["名字", "号码"]), "缺少此列"),
        (lambda: _roster([["张三", "330302199005172011"]]), "check character wrong"),
        (
            lambda: _roster([["张三", "33030219900517201X"], ["张三", "33030219900517201X"]]),
            "与第 2 行重复",
        ),
        (lambda: os.urandom(10 * 1024 * 1024), "文件过大"),
    ],
    ids=["wrong columns", "bad id", "duplicate person", "10 MB of junk"],
)
def test_a_bad_roster_gets_its_error_page(
    site: tuple[TestClient, Demo, Database], content: object, shown: str
) -> None:
    client, demo, db = site
    token = _sign_in(client, "yucai")
    before = _counts(db)
    data = content()  # type: ignore[operator]
    answer = client.post(
        f"/classes/{demo.classes['syb']}/roster",
        data={"csrf": token},
        files={"roster": ("roster.xlsx", data)},
    )
    assert answer.status_code == 422
    assert "花名册未导入" in answer.text and shown in answer.text
    assert _counts(db) == before


def _counts(db: Database) -> tuple[int, int]:
    with db.session() as s:
        return (
            int(s.scalar(select(func.count()).select_from(Enrolment)) or 0),
            int(s.scalar(select(func.count()).select_from(Person)) or 0),
        )


def test_pages_by_role(site: tuple[TestClient, Demo, Database]) -> None:
    client, demo, _ = site
    _sign_in(client, "chenxm")
    assert client.get("/finance").status_code == 403
    assert client.get(f"/claims/{demo.claims['paid']}").status_code == 403
    _sign_in(client, "finance")
    assert "拨付批次" in client.get("/finance").text
    payment_list = client.get("/finance/batches/1/payments.xlsx")
    assert payment_list.status_code == 200 and payment_list.content[:2] == b"PK"
    client.cookies.clear()
    assert client.get("/claims", follow_redirects=False).status_code == 303  # sign in first
    notice = client.get("/notices/1/list.pdf")
    assert notice.status_code == 200 and notice.content[:4] == b"%PDF"


def test_screens_written_by_the_browser_tests_are_not_committed() -> None:
    ignored = (Path(__file__).resolve().parents[2] / ".gitignore").read_text()
    assert "/artefacts/" in ignored
