"""Bad input never gets a 500: a clear refusal with its status and the place it names, on
SQLite and PostgreSQL. Text neither database can store (unpaired surrogates, NUL), bodies
and evaluations too large, wrong types of facts, ids and paging out of range, hours, money
and dates out of bounds; and every moment the API shows is China's time with its offset."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from skillsubsidy.api.app import create_app
from skillsubsidy.demo.seed import DEMO_PASSWORD, Demo, seed
from skillsubsidy.domain.dates import china_today
from skillsubsidy.domain.workflow import ClaimStatus
from skillsubsidy.store.db import Database
from skillsubsidy.store.models import Claim, Event, PublicNotice, TrainingClass
from tests.postgres import fresh_database

TODAY = china_today()
API = "/api/v1"
CHINA = dt.timedelta(hours=8)
Api = tuple[TestClient, Demo, Database]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('limits') / 'demo.db'}"
        else:
            url = stack.enter_context(fresh_database(request.getfixturevalue("postgres_url")))
        db = Database(url)
        stack.callback(db.dispose)
        db.upgrade()
        made = seed(db)
        app = create_app(db, clock=lambda: TODAY)
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client, made, db


def _as(demo: Demo, username: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {demo.users[username]}"} if username else {}


def _raw(
    client: TestClient, demo: Demo, user: str | None, path: str, text: str, method: str = "POST"
) -> Any:
    """A JSON body sent as written (escapes such as \\ud800 reach the server as they are)."""
    headers = {**_as(demo, user), "Content-Type": "application/json"}
    return client.request(method, path, content=text.encode(), headers=headers)


def _refused(answer: Any, status: int = 422) -> dict[str, Any]:
    """The first problem of a refusal, after checking its status and FastAPI's shape."""
    assert answer.status_code == status, (answer.status_code, answer.text[:500])
    detail = answer.json()["detail"]
    assert isinstance(detail, list) and detail, detail
    first: dict[str, Any] = detail[0]
    assert {"loc", "msg", "type"} <= first.keys()
    return first


def _status(db: Database, claim_id: int) -> str:
    with db.session() as s:
        claim = s.get(Claim, claim_id)
        assert claim is not None
        return str(claim.status)


def _open_notice(db: Database) -> int:
    with db.session() as s:
        found = s.scalar(select(PublicNotice.id).where(PublicNotice.status == "open").limit(1))
        assert found is not None
        return found


def _own_class(db: Database, demo: Demo) -> int:
    with db.session() as s:
        found = s.scalar(
            select(TrainingClass.id)
            .where(TrainingClass.organisation_id == demo.organisations["institution"])
            .order_by(TrainingClass.id)
            .limit(1)
        )
        assert found is not None
        return found


# --- text neither database can store ------------------------------------------------------


def test_unpaired_surrogates_and_nul_in_json_are_refused_naming_the_place(api: Api) -> None:
    client, demo, db = api
    submitted = demo.claims[ClaimStatus.SUBMITTED]
    notice = _open_notice(db)
    in_notice = demo.claims[ClaimStatus.IN_NOTICE]
    cases: list[tuple[str | None, str, str, list[str | int]]] = [
        ("lucheng", f"{API}/claims/{submitted}/return", '{"reason": "\\ud800"}', ["reason"]),
        ("lucheng", f"{API}/claims/{submitted}/return", '{"reason": "a\\u0000b"}', ["reason"]),
        ("lucheng", f"{API}/claims/{submitted}/reject", '{"reason": "\\udfff x"}', ["reason"]),
        (
            "lucheng",
            f"{API}/people",
            '{"id_number": "330302199005172036", "name": "\\udc00李"}',
            ["name"],
        ),
        (
            None,
            f"{API}/evaluate",
            '{"claims": [{"id": "a"}, {"id": "b", "person": {"id_number": "\\ud83d"}}]}',
            ["claims", 1, "person", "id_number"],
        ),
        (
            None,
            f"{API}/notices/{notice}/objections",
            json.dumps(
                {"claim_id": in_notice, "objector": "某", "contact": "1390000", "grounds": "g"}
            ).replace('"g"', '"g\\u0000"'),
            ["grounds"],
        ),
        # a key, too (shown with the character replaced)
        ("lucheng", f"{API}/claims/{submitted}/return", '{"reason\\udfff": "x"}', ["reason\ufffd"]),
    ]
    for user, path, text, where in cases:
        problem = _refused(_raw(client, demo, user, path, text))
        assert problem["loc"] == ["body", *where], (path, text, problem)
        assert "U+" in problem["msg"]
        assert problem["type"] == "value_error"
    assert _status(db, submitted) == ClaimStatus.SUBMITTED  # nothing was changed


def test_a_proper_surrogate_pair_is_text_like_any_other(api: Api) -> None:
    client, demo, _ = api
    answer = _raw(client, demo, None, f"{API}/evaluate", '{"claims": [{"id": "\\ud83d\\ude00"}]}')
    assert answer.status_code == 200, answer.text
    assert answer.json()["decisions"][0]["id"] == "😀"


def test_non_finite_numbers_in_json_are_refused(api: Api) -> None:
    client, demo, _ = api
    org = demo.organisations["institution"]
    body = (
        f'{{"organisation_id": {org}, "district_code": "330302", "subsidy_kind": "project", '
        '"title": "t", "hours": 8, "starts_on": "2030-01-01", "ends_on": "2030-01-02", '
        '"venue": "v", "teachers": [{"name": "x", "rate": NUMBER}]}'
    )
    for number in ("NaN", "Infinity", "-Infinity", "1e400"):
        text = body.replace("NUMBER", number)
        problem = _refused(_raw(client, demo, "yucai", f"{API}/classes", text))
        assert problem["loc"] == ["body", "teachers", 0, "rate"], number
        assert "finite" in problem["msg"]


def test_nul_in_the_query_the_path_and_forms_is_refused(api: Api) -> None:
    client, demo, _ = api
    problem = _refused(client.get(f"{API}/claims?district=%00", headers=_as(demo, "lucheng")))
    assert problem["loc"] == ["query", "district"]
    problem = _refused(client.get(f"{API}/claims?kind=a%00b", headers=_as(demo, "audit")))
    assert problem["loc"] == ["query", "kind"]
    problem = _refused(client.get(f"{API}/funds/33%0002", headers=_as(demo, "finance")))
    assert problem["loc"] == ["path"]
    # a form field (the sign-in page)
    problem = _refused(client.post("/login", data={"username": "a\x00", "password": "x"}))
    assert problem["loc"] == ["body", "username"]
    # and a text field of a multipart form; the file itself is data and may hold NUL bytes
    problem = _refused(
        client.post(
            "/classes/1/roster",
            data={"csrf": "x\x00"},
            files={"roster": ("r.xlsx", b"\x00\x01", "application/octet-stream")},
        )
    )
    assert problem["loc"] == ["body", "csrf"]


# --- sizes --------------------------------------------------------------------------------


def test_bodies_above_their_limit_are_refused_with_413(api: Api) -> None:
    client, demo, db = api
    submitted = demo.claims[ClaimStatus.SUBMITTED]
    path = f"{API}/claims/{submitted}/return"
    big = '{"reason": "' + "x" * (2 * 1024 * 1024) + '"}'
    answer = _raw(client, demo, "lucheng", path, big)
    assert answer.status_code == 413
    assert "2097152 bytes" in answer.json()["detail"]

    # without a Content-Length (sent in chunks), counted as it arrives
    def chunks() -> Iterator[bytes]:
        yield b'{"reason": "'
        for _ in range(3):
            yield b"x" * (1024 * 1024)
        yield b'"}'

    answer = client.post(
        path, content=chunks(), headers={**_as(demo, "lucheng"), "Content-Type": "application/json"}
    )
    assert answer.status_code == 413
    assert _status(db, submitted) == ClaimStatus.SUBMITTED
    # an upload (the roster page) has its own, larger limit: 3 MiB reaches the page...
    three = {"roster": ("r.xlsx", b"\x00" * (3 * 1024 * 1024), "application/octet-stream")}
    answer = client.post("/classes/1/roster", files=three, follow_redirects=False)
    assert answer.status_code != 413
    # ...13 MiB does not
    thirteen = {"roster": ("r.xlsx", b"\x00" * (13 * 1024 * 1024), "application/octet-stream")}
    answer = client.post("/classes/1/roster", files=thirteen, follow_redirects=False)
    assert answer.status_code == 413


def test_the_limits_are_settings(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    _, demo, db = api
    monkeypatch.setenv("SKILLSUBSIDY_MAX_BODY_BYTES", "1000")
    monkeypatch.setenv("SKILLSUBSIDY_EVALUATE_MAX_CLAIMS", "3")
    with TestClient(create_app(db, clock=lambda: TODAY)) as client:
        answer = _raw(client, demo, None, f"{API}/evaluate", '{"claims": [], "x": "' + "y" * 1000)
        assert answer.status_code == 413 and "1000 bytes" in answer.json()["detail"]
        claims = [{"id": str(i)} for i in range(4)]
        answer = client.post(f"{API}/evaluate", json={"claims": claims})
        assert answer.status_code == 413 and "at most 3" in answer.json()["detail"]
        assert client.post(f"{API}/evaluate", json={"claims": claims[:3]}).status_code == 200
    monkeypatch.setenv("SKILLSUBSIDY_MAX_BODY_BYTES", "a lot")
    with pytest.raises(RuntimeError, match="SKILLSUBSIDY_MAX_BODY_BYTES"):
        create_app(db)


def test_an_evaluation_carries_at_most_1000_claims_and_1000_history_records(api: Api) -> None:
    client, demo, _ = api
    many = [{"id": str(i)} for i in range(1001)]
    answer = client.post(f"{API}/evaluate", json={"claims": many}, headers=_as(demo, "admin"))
    assert answer.status_code == 413
    assert "too many claims: 1001, at most 1000" in answer.json()["detail"]
    answer = client.post(
        f"{API}/evaluate", json={"claims": many[:1], "history": many}, headers=_as(demo, "admin")
    )
    assert answer.status_code == 413 and "history" in answer.json()["detail"]
    answer = client.post(
        f"{API}/evaluate", json={"claims": many[:1000]}, headers=_as(demo, "admin")
    )
    assert answer.status_code == 200 and len(answer.json()["decisions"]) == 1000


# --- facts of the wrong type --------------------------------------------------------------


def _a_claim(db: Database) -> dict[str, Any]:
    """A valid claim of the contract, from the demo's records."""
    with db.session() as s:
        claim = s.scalars(select(Claim).order_by(Claim.id)).first()
        assert claim is not None
        return dict(claim.facts)


@pytest.mark.parametrize("wrong", [{"a": 1}, [1], ["wenzhou"], 1.5, True])
def test_facts_of_the_wrong_type_in_an_evaluation(api: Api, wrong: object) -> None:
    client, _, db = api
    good = _a_claim(db)
    bad = {**good, "id": "bad", "jurisdiction": wrong}
    answer = client.post(f"{API}/evaluate", json={"claims": [good, bad]})
    assert answer.status_code == 200, answer.text
    first, second = answer.json()["decisions"]
    assert "error" not in first
    assert second["error"]["field"] == "jurisdiction"
    # history the ledger cannot count: a 422 naming the record and the field
    answer = client.post(f"{API}/evaluate", json={"claims": [good], "history": [good, bad]})
    problem = _refused(answer)
    assert problem["loc"] == ["body", "history", "1", "jurisdiction"]
    assert "record 2 (bad)" in problem["msg"]


def _claim_body(db: Database, demo: Demo) -> dict[str, Any]:
    """A claim as its applicant would submit it again (its declared facts, its records)."""
    with db.session() as s:
        claim = s.get(Claim, demo.claims[ClaimStatus.WITHDRAWN])
        assert claim is not None
        facts = {
            k: v
            for k, v in claim.facts.items()
            if k in ("jurisdiction", "kind", "claimant", "district", "route")
        }
        facts["person"] = {"id_number": claim.person.id_number}
        return {
            "facts": facts,
            "person_name": claim.person.name,
            "class_id": claim.class_id,
            "certificate_id": claim.certificate_id,
        }


@pytest.mark.parametrize(
    ("fact", "wrong"),
    [
        (("kind",), [1]),
        (("kind",), {"a": 1}),
        (("kind",), 1.5),
        (("jurisdiction",), {"a": 1}),
        (("district",), ["330302"]),
        (("route",), {"a": 1}),
        (("person",), "330302"),
        (("person", "id_number"), ["x"]),
        (("person", "hukou_local"), {"a": 1}),
        (("person", "hukou_local"), "是" * 300),
    ],
)
def test_facts_of_the_wrong_type_in_a_claim(api: Api, fact: tuple[str, ...], wrong: object) -> None:
    client, demo, db = api
    body = _claim_body(db, demo)
    if len(fact) == 1:
        body["facts"][fact[0]] = wrong
        changes: dict[str, Any] = {fact[0]: wrong}
    else:
        body["facts"][fact[0]][fact[1]] = wrong
        changes = {fact[0]: {fact[1]: wrong}}
    answer = client.post(f"{API}/claims", json=body, headers=_as(demo, "admin"))
    assert _refused(answer)["loc"] == ["body", "facts", *fact]
    # the changes of a re-decision are facts too
    answer = client.post(
        f"{API}/claims/{demo.claims[ClaimStatus.SUBMITTED]}/redecide",
        json={"reason": "r", "changes": changes},
        headers=_as(demo, "lucheng"),
    )
    assert _refused(answer)["loc"] == ["body", "changes", *fact]


# --- ids, paging, numbers, dates and lengths ------------------------------------------------


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/claims/0", "claim_id"),
        ("/claims/2147483648", "claim_id"),
        ("/claims/9223372036854775808", "claim_id"),
        ("/claims/99999999999999999999/events", "claim_id"),
        ("/classes/-1", "class_id"),
        ("/payment-batches/2147483648", "batch_id"),
        ("/notices/0", "notice_id"),
    ],
)
def test_ids_in_paths_are_bounded(api: Api, path: str, name: str) -> None:
    client, demo, _ = api
    problem = _refused(client.get(API + path, headers=_as(demo, "admin")))
    assert problem["loc"] == ["path", name]


@pytest.mark.parametrize(
    "path", ["/notices/2147483648", "/notices/9223372036854775808", "/notices/0/list.pdf"]
)
def test_ids_in_the_paths_of_public_pages_are_bounded(api: Api, path: str) -> None:
    client, _, _ = api
    client.cookies.clear()
    assert _refused(client.get(path))["loc"] == ["path", "notice_id"]


def test_the_largest_id_is_just_not_found(api: Api) -> None:
    client, demo, _ = api
    answer = client.get(f"{API}/claims/{2**31 - 1}", headers=_as(demo, "admin"))
    assert answer.status_code == 404


PAGING = [("limit=0", "limit"), ("limit=1001", "limit"), ("offset=-1", "offset")]
PAGING += [("offset=1000000001", "offset"), ("offset=99999999999999999999", "offset")]


@pytest.mark.parametrize(("query", "name"), PAGING)
def test_paging_is_bounded(api: Api, query: str, name: str) -> None:
    client, demo, _ = api
    problem = _refused(client.get(f"{API}/claims?{query}", headers=_as(demo, "admin")))
    assert problem["loc"] == ["query", name]


def test_paging_at_its_bounds(api: Api) -> None:
    client, demo, _ = api
    answer = client.get(f"{API}/claims?limit=1000&offset=1000000000", headers=_as(demo, "admin"))
    assert answer.status_code == 200 and answer.json() == []
    answer = client.get(f"{API}/claims?limit=1", headers=_as(demo, "admin"))
    assert answer.status_code == 200 and len(answer.json()) == 1


def test_ids_in_bodies_are_bounded(api: Api) -> None:
    client, demo, db = api
    notice = _open_notice(db)
    objection = {"claim_id": 2**31, "objector": "某", "contact": "1390000", "grounds": "g"}
    problem = _refused(client.post(f"{API}/notices/{notice}/objections", json=objection))
    assert problem["loc"] == ["body", "claim_id"]
    body = {**_claim_body(db, demo), "class_id": 0}
    problem = _refused(client.post(f"{API}/claims", json=body, headers=_as(demo, "admin")))
    assert problem["loc"] == ["body", "class_id"]
    publish = {"district_code": "330302", "claim_ids": [1, 2**64]}
    problem = _refused(client.post(f"{API}/notices", json=publish, headers=_as(demo, "lucheng")))
    assert problem["loc"] == ["body", "claim_ids", 1]


def _class(demo: Demo, **changes: Any) -> dict[str, Any]:
    start = TODAY + dt.timedelta(days=30)
    return {
        "organisation_id": demo.organisations["institution"],
        "district_code": "330302",
        "subsidy_kind": "project",
        "title": "电工培训班",
        "hours": "48",
        "starts_on": start.isoformat(),
        "ends_on": (start + dt.timedelta(days=10)).isoformat(),
        "venue": "鹿城区",
        "occupation": "电工",
        "level": 4,
        **changes,
    }


@pytest.mark.parametrize("hours", ["1e400", 1e20, "1e20", 0, "-1", "1.001", "NaN", "Infinity"])
def test_class_hours_are_bounded_and_finite(api: Api, hours: object) -> None:
    client, demo, _ = api
    answer = client.post(
        f"{API}/classes", json=_class(demo, hours=hours), headers=_as(demo, "yucai")
    )
    assert _refused(answer)["loc"] == ["body", "hours"]
    listed = client.get(f"{API}/classes", headers=_as(demo, "yucai"))
    assert listed.status_code == 200
    assert all(Decimal(c["hours"]).is_finite() for c in listed.json())


def test_a_class_within_the_bounds_is_filed(api: Api) -> None:
    client, demo, _ = api
    body = _class(demo, hours="10000.00", max_size=10_000)
    answer = client.post(f"{API}/classes", json=body, headers=_as(demo, "yucai"))
    assert answer.status_code == 201, answer.text
    assert Decimal(answer.json()["hours"]) == 10_000


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"starts_on": "1999-12-31", "ends_on": "2000-01-10"}, "starts_on"),
        ({"ends_on": (TODAY + dt.timedelta(days=1)).isoformat()}, "ends_on"),  # before the start
        # more than 2 years ahead
        (
            {"starts_on": f"{TODAY.year + 3}-01-01", "ends_on": f"{TODAY.year + 3}-01-02"},
            "starts_on",
        ),
        ({"ends_on": f"{TODAY.year + 3}-01-01"}, "ends_on"),
        ({"max_size": 10_001}, "max_size"),
        ({"title": "t" * 129}, "title"),
        ({"teachers": [{"name": "x"}] * 201}, "teachers"),
        ({"organisation_id": 2**31}, "organisation_id"),
    ],
)
def test_class_dates_and_sizes_are_bounded(api: Api, changes: dict[str, Any], field: str) -> None:
    client, demo, _ = api
    answer = client.post(f"{API}/classes", json=_class(demo, **changes), headers=_as(demo, "yucai"))
    assert _refused(answer)["loc"] == ["body", field]


@pytest.mark.parametrize("amount", ["0.001", 0, "-5", "100000000.01", "NaN", "1e9"])
def test_money_is_bounded(api: Api, amount: object) -> None:
    client, demo, _ = api
    paid = demo.claims[ClaimStatus.PAID]
    answer = client.post(
        f"{API}/claims/{paid}/recovery",
        json={"reason": "多发", "amount": amount},
        headers=_as(demo, "lucheng"),
    )
    assert _refused(answer)["loc"] == ["body", "amount"]


def _certificate(**changes: Any) -> dict[str, Any]:
    return {
        "id_number": "330302199005172036",
        "name": "张三",
        "type": "vocational",
        "occupation": "电工",
        "level": 4,
        "number": f"N-{changes.get('issued_on', '')}",
        "issued_on": TODAY.isoformat(),
        **changes,
    }


@pytest.mark.parametrize(
    "issued_on", [(TODAY + dt.timedelta(days=1)).isoformat(), "1989-12-31", "2999-01-01"]
)
def test_a_certificate_is_issued_between_1990_and_today(api: Api, issued_on: str) -> None:
    client, demo, _ = api
    body = _certificate(issued_on=issued_on)
    answer = client.post(f"{API}/certificates", json=body, headers=_as(demo, "lucheng"))
    problem = _refused(answer)
    assert problem["loc"] == ["body", "issued_on"]


def test_evidence_and_payments_are_not_dated_in_the_future(api: Api) -> None:
    client, demo, db = api
    own = _own_class(db, demo)
    tomorrow = (TODAY + dt.timedelta(days=1)).isoformat()
    evidence = {"kind": "sign_in", "description": "签到表", "recorded_on": tomorrow}
    answer = client.post(f"{API}/classes/{own}/evidence", json=evidence, headers=_as(demo, "yucai"))
    assert _refused(answer)["loc"] == ["body", "recorded_on"]
    long = {**evidence, "recorded_on": TODAY.isoformat(), "duration_seconds": 10**9}
    answer = client.post(f"{API}/classes/{own}/evidence", json=long, headers=_as(demo, "yucai"))
    assert _refused(answer)["loc"] == ["body", "duration_seconds"]
    answer = client.post(
        f"{API}/payment-batches/1/paid", json={"on": "1999-12-31"}, headers=_as(demo, "finance")
    )
    assert _refused(answer)["loc"] == ["body", "on"]


def test_reasons_have_a_maximum_length(api: Api) -> None:
    client, demo, db = api
    submitted = demo.claims[ClaimStatus.SUBMITTED]
    for path in ("return", "reject"):
        answer = client.post(
            f"{API}/claims/{submitted}/{path}",
            json={"reason": "理" * 2001},
            headers=_as(demo, "lucheng"),
        )
        assert _refused(answer)["loc"] == ["body", "reason"]
    assert _status(db, submitted) == ClaimStatus.SUBMITTED


# --- moments ----------------------------------------------------------------------------------


def test_moments_are_china_time_with_their_offset(api: Api) -> None:
    client, demo, db = api
    paid = demo.claims[ClaimStatus.PAID]
    answer = client.get(f"{API}/claims/{paid}/events", headers=_as(demo, "audit"))
    assert answer.status_code == 200
    shown = answer.json()
    with db.session() as s:
        stored = {
            e.id: e.at
            for e in s.scalars(
                select(Event).where(Event.entity == "claim", Event.entity_id == paid)
            )
        }
    assert len(shown) == len(stored) > 3
    for event in shown:
        assert event["at"].endswith("+08:00"), event["at"]
        moment = dt.datetime.fromisoformat(event["at"])
        assert moment.utcoffset() == CHINA
        assert moment == stored[event["id"]]  # the same instant as the one stored in UTC
        assert stored[event["id"]].utcoffset() == dt.timedelta(0)
    decided = client.get(f"{API}/claims/{paid}", headers=_as(demo, "audit")).json()["decision"]
    assert decided["decided_at"].endswith("+08:00")


def _sign_in(client: TestClient, username: str) -> str:
    """Signed in on the pages; the form token of the page answered."""
    client.cookies.clear()
    form = client.get("/login").text
    token = form.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    answer = client.post(
        "/login", data={"username": username, "password": DEMO_PASSWORD, "csrf": token}
    )
    assert answer.status_code == 200
    return answer.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]


PAGE_CLASS = [("hours", "1e400"), ("hours", "1e20"), ("hours", "0.001"), ("max_size", "99999")]
PAGE_CLASS += [("title", "t" * 129), ("venue", "v" * 257)]


@pytest.mark.parametrize(("field", "value"), PAGE_CLASS)
def test_the_class_form_of_the_pages_is_bounded(api: Api, field: str, value: str) -> None:
    client, demo, _ = api
    token = _sign_in(client, "yucai")
    start = TODAY + dt.timedelta(days=30)
    form = {
        "csrf": token,
        "title": "电工班",
        "subsidy_kind": "project",
        "district_code": "330302",
        "hours": "48",
        "starts_on": start.isoformat(),
        "ends_on": (start + dt.timedelta(days=5)).isoformat(),
        "venue": "鹿城区",
        field: value,
    }
    answer = client.post("/classes", data=form, follow_redirects=False)
    client.cookies.clear()
    assert answer.status_code == 422, (answer.status_code, answer.text[:300])
    listed = client.get(f"{API}/classes", headers=_as(demo, "yucai"))
    assert listed.status_code == 200
    assert all(Decimal(c["hours"]) <= 10_000 for c in listed.json())


def test_the_objection_form_of_the_pages_is_bounded(api: Api) -> None:
    client, demo, db = api
    notice = _open_notice(db)
    page = client.get(f"/notices/{notice}").text
    token = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    form = {
        "csrf": token,
        "claim_id": str(demo.claims[ClaimStatus.IN_NOTICE]),
        "objector": "某" * 65,
        "contact": "1390000",
        "grounds": "g",
    }
    answer = client.post(f"/notices/{notice}/objections", data=form, follow_redirects=False)
    client.cookies.clear()
    assert _refused(answer)["loc"] == ["body", "objector"]


def test_the_pages_show_china_time(api: Api) -> None:
    client, demo, db = api
    paid = demo.claims[ClaimStatus.PAID]
    with db.session() as s:
        first = s.scalars(
            select(Event).where(Event.entity == "claim", Event.entity_id == paid).order_by(Event.id)
        ).first()
        assert first is not None
        utc = first.at
    _sign_in(client, "lucheng")
    page = client.get(f"/claims/{paid}").text
    client.cookies.clear()
    china = (utc + CHINA).strftime("%Y-%m-%d %H:%M")
    assert china in page
    assert utc.strftime("%Y-%m-%d %H:%M") not in page
