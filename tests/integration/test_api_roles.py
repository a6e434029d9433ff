"""The REST API by role: each role can do its part and nothing else, on a seeded demo set,
on both databases. 401 without a token, 403 outside the role or its scope."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from skillsubsidy.api.app import create_app
from skillsubsidy.demo.seed import Demo, seed
from skillsubsidy.domain.dates import china_today
from skillsubsidy.domain.workflow import ClaimStatus
from skillsubsidy.store.db import Database
from tests.postgres import fresh_database

TODAY = china_today()
ROLES = ("admin", "lucheng", "longwan", "yucai", "jinggong", "jishi", "chenxm", "finance", "audit")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def demo_api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, Demo]]:
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('api') / 'demo.db'}"
        else:
            url = stack.enter_context(fresh_database(request.getfixturevalue("postgres_url")))
        db = Database(url)
        stack.callback(db.dispose)
        db.upgrade()
        made = seed(db)
        with TestClient(create_app(db)) as client:
            yield client, made


def _as(demo: Demo, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {demo.users[username]}"}


def _status(
    client: TestClient, demo: Demo, user: str | None, method: str, path: str, body: Any = None
) -> int:
    headers = _as(demo, user) if user else {}
    return client.request(method, path, json=body, headers=headers).status_code


def test_sign_in_is_required(demo_api: tuple[TestClient, Demo]) -> None:
    client, demo = demo_api
    claim = demo.claims[ClaimStatus.SUBMITTED]
    assert _status(client, demo, None, "GET", f"/api/v1/claims/{claim}") == 401
    assert client.get("/api/v1/claims", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_who_sees_a_claim(demo_api: tuple[TestClient, Demo]) -> None:
    client, demo = demo_api
    claim = demo.claims[ClaimStatus.PAID]  # 鹿城区 330302, a trainee of 育才's class
    allowed = {"admin", "lucheng", "yucai", "finance", "audit"}
    for user in ROLES:
        for path in (f"/api/v1/claims/{claim}", f"/api/v1/claims/{claim}/events"):
            expected = 200 if user in allowed else 403
            assert _status(client, demo, user, "GET", path) == expected, (user, path)


def test_lists_are_scoped(demo_api: tuple[TestClient, Demo]) -> None:
    client, demo = demo_api
    counts = {u: len(client.get("/api/v1/claims", headers=_as(demo, u)).json()) for u in ROLES}
    assert counts["lucheng"] == counts["admin"] == counts["audit"] > 20
    assert counts["longwan"] == counts["jinggong"] == counts["jishi"] == counts["chenxm"] == 0
    assert counts["yucai"] == counts["lucheng"]  # every demo claim rests on 育才's classes


def test_only_a_caseworker_of_the_district_takes_the_steps(
    demo_api: tuple[TestClient, Demo],
) -> None:
    client, demo = demo_api
    claim = demo.claims[ClaimStatus.SUBMITTED]
    opinion = {"opinion": "材料齐全"}
    for user in ("longwan", "yucai", "jinggong", "chenxm", "finance", "audit"):
        assert (
            _status(client, demo, user, "POST", f"/api/v1/claims/{claim}/check", opinion) == 403
        ), user
    assert _status(client, demo, "lucheng", "POST", f"/api/v1/claims/{claim}/check", opinion) == 200
    events = client.get(f"/api/v1/claims/{claim}/events", headers=_as(demo, "audit")).json()
    assert [e["action"] for e in events][-1] == "checked"
    assert events[-1]["actor"] == "caseworker:lucheng"
    # an illegal move is a conflict, and says what is allowed
    again = client.post(f"/api/v1/claims/{claim}/check", json=opinion, headers=_as(demo, "lucheng"))
    assert again.status_code == 409 and "allowed from 'checked'" in again.json()["detail"]


def test_finance_pays_and_nobody_else(demo_api: tuple[TestClient, Demo]) -> None:
    client, demo = demo_api
    body = {"fund_district": "330302"}
    for user in ("lucheng", "yucai", "chenxm", "audit"):
        assert _status(client, demo, user, "POST", "/api/v1/payment-batches", body) == 403
    made = client.post("/api/v1/payment-batches", json=body, headers=_as(demo, "finance"))
    assert made.status_code == 201
    assert [p["claim_id"] for p in made.json()["payments"]] == [demo.claims[ClaimStatus.APPROVED]]
    for user, expected in (
        ("finance", 200),
        ("audit", 200),
        ("lucheng", 200),
        ("longwan", 403),
        ("yucai", 403),
    ):
        assert _status(client, demo, user, "GET", "/api/v1/funds/330302") == expected, user


def test_organisations_file_their_own_classes(demo_api: tuple[TestClient, Demo]) -> None:
    client, demo = demo_api
    body = {
        "organisation_id": demo.organisations["institution"],
        "district_code": "330302",
        "subsidy_kind": "certificate",
        "title": "电工培训班",
        "hours": "40",
        "starts_on": str(TODAY + dt.timedelta(days=90)),
        "ends_on": str(TODAY + dt.timedelta(days=106)),
        "venue": "学院路",
        "occupation": "电工",
        "level": 4,
    }
    assert _status(client, demo, "jinggong", "POST", "/api/v1/classes", body) == 403
    assert _status(client, demo, "lucheng", "POST", "/api/v1/classes", body) == 403
    made = client.post("/api/v1/classes", json=body, headers=_as(demo, "yucai"))
    assert made.status_code == 201
    cls = made.json()["id"]
    assert _status(client, demo, "jinggong", "POST", f"/api/v1/classes/{cls}/file") == 403
    filed = client.post(f"/api/v1/classes/{cls}/file", headers=_as(demo, "yucai"))
    assert filed.status_code == 200 and filed.json()["filed_on"] == TODAY.isoformat()
    assert _status(client, demo, "longwan", "POST", f"/api/v1/classes/{cls}/approve") == 403
    assert _status(client, demo, "lucheng", "POST", f"/api/v1/classes/{cls}/approve") == 200


def test_admin_alone_registers_organisations(demo_api: tuple[TestClient, Demo]) -> None:
    client, demo = demo_api
    body = {
        "kind": "employer",
        "name": "新公司",
        "credit_code": "91330302MA2H7E4R5X",
        "district_code": "330302",
    }
    for user in ("lucheng", "yucai", "finance", "audit"):
        assert _status(client, demo, user, "POST", "/api/v1/organisations", body) == 403


def test_validation_errors_name_the_field(demo_api: tuple[TestClient, Demo]) -> None:
    client, demo = demo_api
    bad_id = {
        "facts": {
            "jurisdiction": "wenzhou",
            "kind": "certificate",
            "claimant": "individual",
            "route": "competition",
            "district": "330302",
            "person": {"id_number": "330302199001011234"},
        },
        "person_name": "某人",
        "certificate_id": 1,
    }
    answer = client.post("/api/v1/claims", json=bad_id, headers=_as(demo, "lucheng"))
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "person", "id_number"]
    missing = client.post("/api/v1/classes", json={"title": "x"}, headers=_as(demo, "yucai"))
    assert missing.status_code == 422
    assert {"organisation_id", "venue"} <= {d["loc"][-1] for d in missing.json()["detail"]}


def test_the_public_notice_masks_and_takes_objections(demo_api: tuple[TestClient, Demo]) -> None:
    client, demo = demo_api
    in_notice = demo.claims[ClaimStatus.IN_NOTICE]
    events = client.get(f"/api/v1/claims/{in_notice}/events", headers=_as(demo, "audit")).json()
    notice = next(e["detail"]["notice_id"] for e in events if e["action"] == "published")
    shown = client.get(f"/api/v1/notices/{notice}")
    assert shown.status_code == 200
    text = shown.text
    assert all(number not in text for number in demo.people)  # never an ID number
    assert all("*" in line["payee"] for line in shown.json()["lines"])
    objection = {
        "claim_id": in_notice,
        "objector": "路人",
        "contact": "139",
        "grounds": "疑似重复申领",
    }
    assert client.post(f"/api/v1/notices/{notice}/objections", json=objection).status_code == 201
    got = client.get(f"/api/v1/claims/{in_notice}", headers=_as(demo, "lucheng")).json()
    assert got["status"] == "re_review"


def test_evaluate_is_the_contract(demo_api: tuple[TestClient, Demo]) -> None:
    client, _ = demo_api
    claim = {
        "id": "x1",
        "jurisdiction": "wenzhou",
        "kind": "certificate",
        "claimant": "individual",
        "route": "competition",
        "district": "330302",
        "applied_on": "2024-05-10",
        "person": {"id_number": "330302199005172011", "hukou_local": True},
        "certificate": {
            "type": "vocational",
            "occupation": "电工",
            "level": 4,
            "issued_on": "2024-04-20",
        },
    }
    answer = client.post("/api/v1/evaluate", json={"claims": [claim, {"id": "x2"}]})
    assert answer.status_code == 200
    first, second = answer.json()["decisions"]
    assert second["error"]["field"] == "jurisdiction"
    assert first["id"] == "x1" and ("amount" in first or "error" in first)
    assert client.get("/openapi.json").json()["paths"]["/api/v1/evaluate"]


def test_lists_for_each_desk(demo_api: tuple[TestClient, Demo]) -> None:
    client, demo = demo_api
    assert client.get("/api/v1/notices").status_code == 200  # public
    assert len(client.get("/api/v1/notices?district=330302").json()) >= 2
    lodged = client.get("/api/v1/objections?status=lodged", headers=_as(demo, "lucheng"))
    assert lodged.status_code == 200 and len(lodged.json()) >= 1
    assert client.get("/api/v1/objections", headers=_as(demo, "longwan")).json() == []
    assert _status(client, demo, "yucai", "GET", "/api/v1/objections") == 403
    assert _status(client, demo, "finance", "GET", "/api/v1/payment-batches") == 200
    assert _status(client, demo, "chenxm", "GET", "/api/v1/payment-batches") == 403
    me = client.get("/api/v1/me", headers=_as(demo, "longwan")).json()
    assert me == {
        "username": "longwan",
        "role": "caseworker",
        "districts": ["330303"],
        "organisation_id": None,
        "person_id": None,
    }


def test_a_certificate_is_recorded_once(demo_api: tuple[TestClient, Demo]) -> None:
    client, demo = demo_api
    body = {
        "id_number": demo.people[0],
        "name": "陈晓明",
        "type": "vocational",
        "occupation": "电工",
        "level": 3,
        "number": "Z-ONCE-1",
        "issued_on": "2025-01-10",
    }
    for user in ("chenxm", "yucai", "jinggong"):  # a training institution does not certify
        assert _status(client, demo, user, "POST", "/api/v1/certificates", body) == 403, user
    assert _status(client, demo, "lucheng", "POST", "/api/v1/certificates", body) == 201
    again = client.post("/api/v1/certificates", json=body, headers=_as(demo, "lucheng"))
    assert again.status_code == 422 and again.json()["detail"][0]["loc"][-1] == "number"


def test_dates_are_the_servers_and_status_filters_are_checked(
    demo_api: tuple[TestClient, Demo],
) -> None:
    client, demo = demo_api
    body = {
        "district_code": "330302",
        "claim_ids": [demo.claims[ClaimStatus.REVIEWED]],
        "published_on": "2020-01-01",
    }
    backdated = client.post("/api/v1/notices", json=body, headers=_as(demo, "lucheng"))
    assert backdated.status_code == 422  # a notice cannot be backdated into closing early
    bad = client.get("/api/v1/claims?status=nonsense", headers=_as(demo, "lucheng"))
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "status"]
    paid_later = client.post(
        "/api/v1/payment-batches/1/paid", json={"on": "2999-01-01"}, headers=_as(demo, "finance")
    )
    assert paid_later.status_code in (200, 422)  # an already paid batch answers 200 first
    assert _status(client, demo, "longwan", "GET", "/api/v1/payment-batches/1") == 403
    assert client.get("/api/v1/payment-batches", headers=_as(demo, "longwan")).json() == []
