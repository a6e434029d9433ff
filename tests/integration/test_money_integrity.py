"""The controls on money, tried as an attacker and a careless user would, on both databases:
nobody redirects a payout, invents a certificate or a date, passes both 初审 and 复核, moves a
claim, makes a second live claim, pays a fund below zero, or edits the trail unseen."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from stdnum.cn import uscc

from skillsubsidy.api.app import create_app
from skillsubsidy.demo.seed import Demo
from skillsubsidy.domain.dates import china_today
from skillsubsidy.domain.workflow import ClaimStatus
from skillsubsidy.services import claims, classes, notices, payments, payouts, registry
from skillsubsidy.services.errors import InvalidInput, Refused
from skillsubsidy.store.chain import verify
from skillsubsidy.store.db import Database
from skillsubsidy.store.models import (
    Claim,
    District,
    Event,
    FundAccount,
    FundMovement,
    Objection,
    Payment,
    Person,
)
from tests.conftest import make_id

TODAY = china_today()
D = dt.date
DemoDb = tuple[Database, Demo]


def _as(demo: Demo, username: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {demo.users[username]}", **extra}


@pytest.fixture
def api(demo_db: DemoDb) -> Any:
    db, demo = demo_db
    with TestClient(create_app(db)) as client:
        yield client, db, demo


def _person(db: Database, id_number: str) -> Person:
    with db.session() as s:
        person = s.scalar(select(Person).where(Person.id_number == id_number))
        assert person is not None
        return person


def _events(db: Database, entity: str, entity_id: int) -> list[Event]:
    with db.session() as s:
        return list(
            s.scalars(
                select(Event)
                .where(Event.entity == entity, Event.entity_id == entity_id)
                .order_by(Event.seq)
            )
        )


# 1. payout redirection -------------------------------------------------------------------


def test_registration_and_enrolment_never_redirect_a_payout(api: Any) -> None:
    client, db, demo = api
    trainee = demo.people[0]  # 陈晓明, card SSC330302001 on record
    before = _person(db, trainee)
    for user in ("yucai", "jinggong", "jishi", "lucheng"):
        answer = client.post(
            "/api/v1/people",
            json={"id_number": trainee, "name": "陈晓明", "social_security_card": "EVIL0001"},
            headers=_as(demo, user),
        )
        assert answer.status_code == 409, (user, answer.text)
        assert "账户变更" in answer.json()["detail"]
    # nor through a roster line
    electricians = demo.classes["electricians"]
    answer = client.post(
        f"/api/v1/classes/{electricians}/enrolments",
        json={"id_number": trainee, "name": "陈晓明", "bank_account": "6222EVIL"},
        headers=_as(demo, "yucai"),
    )
    assert answer.status_code in (403, 409), answer.text
    after = _person(db, trainee)
    assert (after.social_security_card, after.bank_account) == (
        before.social_security_card,
        before.bank_account,
    )
    # the same account again is no change, and is accepted
    same = client.post(
        "/api/v1/people",
        json={"id_number": trainee, "name": "陈晓明", "social_security_card": "SSC330302001"},
        headers=_as(demo, "yucai"),
    )
    assert same.status_code == 201
    with db.session() as s:
        assert verify(s) is None


def test_a_change_of_account_is_its_own_approved_step(api: Any) -> None:
    client, db, demo = api
    approved = demo.claims[ClaimStatus.APPROVED]
    with db.session() as s:
        person = s.get(Claim, approved).person
        old_card, person_id = person.social_security_card, person.id
    batch = db.run(lambda s: payments.create_batch(s, "finance:demo", "330302").id)

    # the trainee asks (the demo trainee for themselves through the API) …
    asked = client.post(
        "/api/v1/payout-changes",
        json={"field": "social_security_card", "new_value": "SSC-NEW-12345678"},
        headers=_as(demo, "chenxm"),
    )
    assert asked.status_code == 201, asked.text
    assert asked.json()["new_value"].endswith("5678") and "NEW" not in asked.json()["new_value"]
    # … and may not decide their own request; an institution may not either
    for user in ("chenxm", "yucai", "finance"):
        decided = client.post(
            f"/api/v1/payout-changes/{asked.json()['id']}/decision",
            json={"approve": True, "reason": "本人申请"},
            headers=_as(demo, user),
        )
        assert decided.status_code == 403, user
    # a caseworker of another district may not
    other = client.post(
        f"/api/v1/payout-changes/{asked.json()['id']}/decision",
        json={"approve": True, "reason": "核实"},
        headers=_as(demo, "longwan"),
    )
    assert other.status_code == 403
    ok = client.post(
        f"/api/v1/payout-changes/{asked.json()['id']}/decision",
        json={"approve": True, "reason": "本人持身份证及新卡申请，核实无误"},
        headers=_as(demo, "lucheng"),
    )
    assert ok.status_code == 200 and ok.json()["status"] == "approved"
    assert _person(db, demo.people[0]).social_security_card == "SSC-NEW-12345678"

    # a change for the approved claim's trainee, after its batch was drafted
    change = db.run(
        lambda s: (
            payouts.request_change(
                s, "trainee:someone", "social_security_card", "SSC-LATER-0001", person_id=person_id
            ).id
        )
    )
    db.run(lambda s: payouts.decide_change(s, "caseworker:lucheng", change, True, "核实无误"))
    with db.session() as s:
        [payment] = s.scalars(select(Payment).where(Payment.batch_id == batch)).all()
        assert payment.account_number == old_card  # drafted with the old account, kept
        assert s.get(Person, person_id).social_security_card == "SSC-LATER-0001"
    # the trail shows both accounts masked, never in full
    trail = json.dumps([e.detail for e in _events(db, "person", person_id)], ensure_ascii=False)
    assert "SSC-LATER-0001" not in trail and "0001" in trail
    assert old_card not in trail
    with db.session() as s:
        assert verify(s) is None


# 2. self-asserted facts ------------------------------------------------------------------


def _competition(id_number: str, **person: Any) -> dict[str, Any]:
    return {
        "jurisdiction": "wenzhou",
        "kind": "certificate",
        "claimant": "individual",
        "route": "competition",
        "district": "330302",
        "person": {"id_number": id_number, "hukou_local": True, **person},
    }


def test_the_facts_that_decide_money_come_from_the_records(api: Any) -> None:
    client, db, demo = api
    me = demo.people[0]
    body: dict[str, Any] = {"facts": _competition(me), "person_name": "陈晓明"}
    invented = {
        "certificate": {"type": "vocational", "occupation": "电工", "level": 1},
        "applied_on": "2024-01-02",
        "training": {"hours": 999},
        "policy": "wenzhou-2022",
    }
    for key, value in invented.items():
        answer = client.post(
            "/api/v1/claims",
            json={**body, "facts": {**body["facts"], key: value}},
            headers=_as(demo, "chenxm"),
        )
        assert answer.status_code == 422, (key, answer.text)
        assert key in ".".join(str(p) for p in answer.json()["detail"][0]["loc"])
    # a kind that rests on a certificate must name one; a certificate of someone else is no use
    missing = client.post("/api/v1/claims", json=body, headers=_as(demo, "chenxm"))
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"] == ["body", "certificate_id"]
    with db.session() as s:
        foreign = s.scalar(select(Claim.certificate_id).where(Claim.certificate_id.is_not(None)))
    stolen = client.post(
        "/api/v1/claims", json={**body, "certificate_id": foreign}, headers=_as(demo, "chenxm")
    )
    assert stolen.status_code == 422
    # neither the trainee nor their training institution records the certificate
    cert = {
        "id_number": me,
        "name": "陈晓明",
        "type": "vocational",
        "occupation": "电工",
        "level": 4,
        "number": "NEW-0001",
        "issued_on": str(TODAY - dt.timedelta(days=10)),
    }
    for user in ("chenxm", "yucai"):
        assert (
            client.post("/api/v1/certificates", json=cert, headers=_as(demo, user)).status_code
            == 403
        )
    recorded = client.post("/api/v1/certificates", json=cert, headers=_as(demo, "lucheng"))
    assert recorded.status_code == 201
    made = client.post(
        "/api/v1/claims",
        json={**body, "certificate_id": recorded.json()["id"]},
        headers=_as(demo, "chenxm"),
    )
    assert made.status_code == 201, made.text
    claim = made.json()
    assert claim["applied_on"] == str(TODAY)  # the server's date, never the caller's
    # shown to the caseworker as declared by the applicant (告知承诺)
    assert claim["declared"] == {"route": "competition", "person.hukou_local": True}
    with db.session() as s:
        stored = s.get(Claim, claim["id"])
        assert stored.facts["certificate"]["level"] == 4  # from the record


def test_a_class_based_claim_names_its_class(api: Any) -> None:
    client, _, demo = api
    facts = {
        "jurisdiction": "wenzhou",
        "kind": "entrepreneurship",
        "claimant": "training_institution",
        "district": "330302",
        "person": {"id_number": demo.people[1]},
    }
    answer = client.post(
        "/api/v1/claims",
        json={
            "facts": facts,
            "person_name": "x",
            "organisation_id": demo.organisations["institution"],
        },
        headers=_as(demo, "yucai"),
    )
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "class_id"]


# 3. four eyes ----------------------------------------------------------------------------


def test_who_did_the_first_check_cannot_do_the_review(api: Any) -> None:
    client, _, demo = api
    claim = demo.claims[ClaimStatus.SUBMITTED]
    no_opinion = client.post(f"/api/v1/claims/{claim}/check", json={}, headers=_as(demo, "lucheng"))
    assert no_opinion.status_code == 422
    opinion = {"opinion": "材料齐全"}
    assert (
        client.post(f"/api/v1/claims/{claim}/check", json=opinion, headers=_as(demo, "lucheng"))
    ).status_code == 200
    same = client.post(f"/api/v1/claims/{claim}/review", json=opinion, headers=_as(demo, "lucheng"))
    assert same.status_code == 409 and "初审" in same.json()["detail"]
    other = client.post(
        f"/api/v1/claims/{claim}/review", json=opinion, headers=_as(demo, "luchengfh")
    )
    assert other.status_code == 200 and other.json()["status"] == "reviewed"
    # an admin is not exempt
    checked = demo.claims[ClaimStatus.CHECKED]
    with_admin = client.post(
        f"/api/v1/claims/{demo.claims[ClaimStatus.RETURNED]}/resubmit",
        json={"reason": "补正", "changes": {}},
        headers=_as(demo, "admin"),
    )
    assert with_admin.status_code == 200
    returned = demo.claims[ClaimStatus.RETURNED]
    client.post(f"/api/v1/claims/{returned}/check", json=opinion, headers=_as(demo, "admin"))
    admin_again = client.post(
        f"/api/v1/claims/{returned}/review", json=opinion, headers=_as(demo, "admin")
    )
    assert admin_again.status_code == 409
    events = client.get(f"/api/v1/claims/{checked}/events", headers=_as(demo, "audit")).json()
    assert any(e["action"] == "checked" and e["reason"] for e in events)  # the opinion kept


def test_an_objection_is_judged_by_neither_reviewer(api: Any) -> None:
    client, db, demo = api
    claim = demo.claims[ClaimStatus.RE_REVIEW]
    with db.session() as s:
        objection = s.scalar(select(Objection.id).where(Objection.claim_id == claim))
    body = {"upheld": False, "resolution": "经核查异议不成立"}
    for user in ("lucheng", "luchengfh"):  # 初审, 复核 of the claim
        answer = client.post(
            f"/api/v1/objections/{objection}/resolve", json=body, headers=_as(demo, user)
        )
        assert answer.status_code == 409, (user, answer.text)
    ok = client.post(
        f"/api/v1/objections/{objection}/resolve", json=body, headers=_as(demo, "luchengkz")
    )
    assert ok.status_code == 200


# 4. moving claims ------------------------------------------------------------------------


def test_district_date_and_person_of_a_claim_are_fixed(api: Any) -> None:
    client, db, demo = api
    claim = demo.claims[ClaimStatus.SUBMITTED]
    with db.session() as s:
        funds = s.scalar(select(func.count()).select_from(FundAccount))
    for changes in (
        {"district": "999999"},
        {"applied_on": "2020-01-01"},
        {"person": {"id_number": make_id(seq=999)}},
        {"jurisdiction": "jinhua"},
    ):
        answer = client.post(
            f"/api/v1/claims/{claim}/redecide",
            json={"reason": "改", "changes": changes},
            headers=_as(demo, "lucheng"),
        )
        assert answer.status_code == 422, (changes, answer.text)
    returned = demo.claims[ClaimStatus.RETURNED]
    moved = client.post(
        f"/api/v1/claims/{returned}/resubmit",
        json={"reason": "补正", "changes": {"district": "999999"}},
        headers=_as(demo, "admin"),
    )
    assert moved.status_code == 422
    with db.session() as s:
        assert s.get(District, "999999") is None
        assert s.scalar(select(func.count()).select_from(FundAccount)) == funds
    # nor is a district made up at submission
    answer = client.post(
        "/api/v1/claims",
        json={
            "facts": {**_competition(demo.people[0]), "district": "999999"},
            "person_name": "陈晓明",
            "certificate_id": 1,
        },
        headers=_as(demo, "chenxm"),
    )
    assert answer.status_code == 422


# 5. repeats ------------------------------------------------------------------------------


def test_a_repeat_is_refused_naming_the_first_and_a_key_replays(api: Any) -> None:
    client, _, demo = api
    me = demo.people[0]
    cert = client.post(
        "/api/v1/certificates",
        json={
            "id_number": me,
            "name": "陈晓明",
            "type": "vocational",
            "occupation": "焊工",
            "level": 4,
            "number": "REPEAT-1",
            "issued_on": str(TODAY - dt.timedelta(days=3)),
        },
        headers=_as(demo, "lucheng"),
    ).json()["id"]
    body = {"facts": _competition(me), "person_name": "陈晓明", "certificate_id": cert}
    key = {"Idempotency-Key": "claim-REPEAT-1"}
    first = client.post("/api/v1/claims", json=body, headers=_as(demo, "chenxm", **key))
    assert first.status_code == 201
    again = client.post("/api/v1/claims", json=body, headers=_as(demo, "chenxm", **key))
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["idempotency-replayed"] == "true"
    reused = client.post(
        "/api/v1/claims",
        json={**body, "person_name": "别人"},
        headers=_as(demo, "chenxm", **key),
    )
    assert reused.status_code == 422
    repeat = client.post("/api/v1/claims", json=body, headers=_as(demo, "chenxm"))
    assert repeat.status_code == 409
    assert repeat.json()["existing_claim"] == first.json()["id"]
    mine = client.get("/api/v1/claims", headers=_as(demo, "chenxm")).json()
    assert [c["id"] for c in mine if c["certificate_id"] == cert] == [first.json()["id"]]


# 6. funds --------------------------------------------------------------------------------


def _approved(db: Database, seq: int) -> int:
    """A competition claim of 1950.00 from fund 330302, through notice to approval."""
    id_number = make_id(seq=seq)

    def submit(s: Any) -> int:
        person = registry.register_person(s, id_number, "王小二", social_security_card=f"S{seq}")
        cert = registry.record_certificate(
            s,
            "caseworker",
            person,
            type="vocational",
            occupation="电工",
            level=4,
            number=f"F-{seq}",
            issued_on=D(2024, 4, 20),
        )
        return claims.submit_claim(
            s,
            "applicant",
            _competition(id_number),
            person_name="王小二",
            applied_on=D(2024, 5, 10),
            certificate_id=cert.id,
        ).id

    claim = db.run(submit)
    db.run(lambda s: claims.check_claim(s, "caseworker:a", claim, "齐全"))
    db.run(lambda s: claims.review_claim(s, "caseworker:b", claim, "无误"))
    notice = db.run(
        lambda s: notices.publish_notice(s, "caseworker:a", "330302", [claim], D(2024, 7, 1)).id
    )
    db.run(lambda s: notices.close_notice(s, "caseworker:a", notice, D(2024, 7, 8)))
    return claim


def test_no_fund_pays_below_zero(database: Database) -> None:
    db = database
    first = _approved(db, 611)
    with pytest.raises(Refused, match=r"0\.00 free"):
        db.run(lambda s: payments.create_batch(s, "finance", "330302"))
    db.run(lambda s: registry.allocate(s, "330302", Decimal("2000.00"), "finance", "预算"))
    batch = db.run(lambda s: payments.create_batch(s, "finance", "330302").id)
    second = _approved(db, 613)
    # 2000 held, 1950 taken by the drafted batch: 50 free, not enough for another 1950
    with pytest.raises(Refused, match=r"50\.00 free"):
        db.run(lambda s: payments.create_batch(s, "finance", "330302"))

    # money that left the fund some other way: the drafted batch is no longer covered
    def spend(s: Any) -> None:
        fund = registry.fund_of(s, "330302")
        s.add(FundMovement(fund_id=fund.id, amount=Decimal("-100.00"), kind="payment"))

    db.run(spend)
    with pytest.raises(Refused, match=r"1900\.00, 50\.00 short"):
        db.run(lambda s: payments.mark_paid(s, "finance", batch, D(2024, 7, 10)))
    with db.session() as s:
        assert s.get(Claim, first).status == ClaimStatus.APPROVED
        assert s.get(Claim, second).status == ClaimStatus.APPROVED
        assert registry.balance(s, "330302") == Decimal("1900.00")


# 9. the audit trail ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tamper", "broken"),
    [
        ("UPDATE decision SET amount = 99999 WHERE id = 4", "decision:4"),
        ("UPDATE person SET social_security_card = 'EVIL' WHERE id = 2", "person:2"),
        ("UPDATE claim SET status = 'approved' WHERE id = 1", "claim:1"),
        ("UPDATE payment SET account_number = 'EVIL'", "payment:"),
        ("UPDATE fund_movement SET amount = 1000000 WHERE id = 1", "fund_movement:1"),
        ("UPDATE event SET reason = 'x' WHERE seq = 5", "event"),
        ("DELETE FROM event WHERE seq = 7", "event"),
    ],
)
def test_an_edit_behind_the_application_is_seen(demo_db: DemoDb, tamper: str, broken: str) -> None:
    db, _ = demo_db
    with db.session() as s:
        assert verify(s) is None
    with db.engine.begin() as conn:
        conn.execute(text(tamper))
    with db.session() as s:
        found = verify(s)
    assert found is not None and found.what.startswith(broken), found


def test_audit_verify_from_the_command_line(
    demo_db: DemoDb, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from skillsubsidy.cli import app

    db, _ = demo_db
    monkeypatch.setenv("SKILLSUBSIDY_DATABASE_URL", db.url)
    intact = CliRunner().invoke(app, ["audit", "verify"])
    assert intact.exit_code == 0, intact.output
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE decision SET amount = 99999 WHERE id = 4"))
    broken = CliRunner().invoke(app, ["audit", "verify"])
    assert broken.exit_code == 1
    assert "decision:4" in broken.output


def test_the_application_role_cannot_edit_the_trail(
    postgres_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With SKILLSUBSIDY_APP_ROLE set, the migration lets the application's role only read
    and append events: an UPDATE or DELETE of the trail is refused by PostgreSQL itself."""
    import psycopg
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ProgrammingError

    owner = make_url(postgres_db_url)
    with psycopg.connect(
        host=owner.host,
        port=owner.port,
        user=owner.username,
        dbname=owner.database,
        autocommit=True,
    ) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_roles WHERE rolname = 'skillsubsidy_app'"
        ).fetchone()
        if not exists:
            conn.execute("CREATE ROLE skillsubsidy_app LOGIN")
    monkeypatch.setenv("SKILLSUBSIDY_APP_ROLE", "skillsubsidy_app")
    migrating = Database(postgres_db_url)  # as the owner
    migrating.upgrade()
    migrating.dispose()
    app_db = Database(owner.set(username="skillsubsidy_app").render_as_string(hide_password=False))
    try:
        app_db.run(lambda s: registry.allocate(s, "330302", Decimal("10.00"), "finance", "预算"))
        for statement in ("UPDATE event SET reason = 'x'", "DELETE FROM event"):
            with (
                pytest.raises(ProgrammingError, match="permission denied"),
                app_db.engine.begin() as conn,
            ):
                conn.execute(text(statement))
        with app_db.session() as s:
            assert verify(s) is None
    finally:
        app_db.dispose()


# found in review: what a record holds is never the applicant's to say ----------------------


def test_a_claim_on_a_class_is_filed_where_the_class_was_and_for_its_kind(api: Any) -> None:
    client, db, demo = api
    with db.session() as s:
        claim = s.get(Claim, demo.claims[ClaimStatus.SUBMITTED])
        person, cls, cert = claim.person.id_number, claim.class_id, claim.certificate_id
        name = claim.person.name
    db.run(lambda s: claims.withdraw_claim(s, "trainee", demo.claims[ClaimStatus.SUBMITTED]))
    base = {
        "facts": {
            "jurisdiction": "wenzhou",
            "kind": "certificate",
            "claimant": "individual",
            "district": "330303",  # 龙湾, but the class was filed in 鹿城
            "person": {"id_number": person},
        },
        "person_name": name,
        "class_id": cls,
        "certificate_id": cert,
    }
    moved = client.post("/api/v1/claims", json=base, headers=_as(demo, "longwan"))
    assert moved.status_code == 422 and moved.json()["detail"][0]["loc"] == ["body", "district"]
    shopping = {**base["facts"], "district": "330702", "jurisdiction": "jinhua"}
    assert (
        client.post(
            "/api/v1/claims", json={**base, "facts": shopping}, headers=_as(demo, "admin")
        ).status_code
        == 422
    )
    wrong_kind = {
        **base["facts"],
        "district": "330302",
        "kind": "project",
        "claimant": "individual",
    }
    answer = client.post(
        "/api/v1/claims", json={**base, "facts": wrong_kind}, headers=_as(demo, "lucheng")
    )
    assert answer.status_code == 422
    # and the trainee's jurisdiction follows the district even with no class behind the claim
    me = demo.people[0]
    jinhua = {**_competition(me), "jurisdiction": "jinhua"}
    assert client.post(
        "/api/v1/claims",
        json={"facts": jinhua, "person_name": "陈晓明", "certificate_id": cert},
        headers=_as(demo, "chenxm"),
    ).json()["detail"][0]["loc"] == ["body", "jurisdiction"]


def test_an_organisation_claims_as_what_it_is(api: Any) -> None:
    client, db, demo = api
    # yucai (a training institution) claiming enterprise training as an "employer"
    cls = db.run(
        lambda s: (
            classes.create_class(
                s,
                "institution:yucai",
                organisation_id=demo.organisations["institution"],
                district_code="330302",
                subsidy_kind="pre_job",
                title="岗前培训",
                hours=Decimal(8),
                starts_on=TODAY,
                ends_on=TODAY,
                venue="学院路",
            ).id
        )
    )
    answer = client.post(
        "/api/v1/claims",
        json={
            "facts": {
                "jurisdiction": "wenzhou",
                "kind": "pre_job",
                "claimant": "employer",
                "district": "330302",
                "person": {"id_number": demo.people[1]},
            },
            "person_name": "x",
            "organisation_id": demo.organisations["institution"],
            "class_id": cls,
        },
        headers=_as(demo, "yucai"),
    )
    assert answer.status_code in (409, 422), answer.text
    # nor may an organisation file a trainee's individual claim
    individual = client.post(
        "/api/v1/claims",
        json={
            "facts": _competition(demo.people[1]),
            "person_name": "x",
            "organisation_id": demo.organisations["institution"],
            "certificate_id": 1,
        },
        headers=_as(demo, "yucai"),
    )
    assert individual.status_code == 422
    assert individual.json()["detail"][0]["loc"] == ["body", "organisation_id"]


def test_training_days_and_the_employment_rate_come_from_the_class(database: Database) -> None:
    db = database
    id_number = make_id("130100", seq=621)

    def setup(s: Any) -> tuple[int, int]:
        registry.add_district(s, "admin", "130100", "示范县", "county")
        org = registry.register_organisation(
            s,
            "training_institution",
            "县培训学校",
            "52130100MA2H7E4RA" + uscc.calc_check_digit("52130100MA2H7E4RA"),
            "130100",
        )
        cls = classes.create_class(
            s,
            "institution",
            organisation_id=org.id,
            district_code="130100",
            subsidy_kind="order_training",
            title="订单班",
            hours=Decimal(8),
            starts_on=D(2024, 6, 10),
            ends_on=D(2024, 6, 10),
            venue="县城",
        )
        classes.file_class(s, "institution", cls.id, D(2024, 6, 1))
        classes.approve_class(s, "caseworker:a", cls.id, D(2024, 6, 2))
        person = registry.register_person(s, id_number, "吴一")
        classes.enrol(s, "institution", cls.id, person, D(2024, 6, 3))
        classes.start_class(s, "institution", cls.id, D(2024, 6, 10))
        classes.finish_class(s, "institution", cls.id, D(2024, 6, 10))
        return cls.id, org.id

    cls, org = db.run(setup)
    facts: dict[str, Any] = {
        "jurisdiction": "county",
        "kind": "order_training",
        "claimant": "training_institution",
        "district": "130100",
        "person": {"id_number": id_number},
    }

    def submit(s: Any, given: dict[str, Any]) -> Claim:
        return claims.submit_claim(
            s,
            "institution",
            given,
            person_name="吴一",
            applied_on=D(2024, 7, 1),
            class_id=cls,
            organisation_id=org,
        )

    with pytest.raises(InvalidInput, match="training"):
        db.run(lambda s: submit(s, {**facts, "training": {"days": 1000, "employment_rate": 1}}))
    first = db.run(lambda s: submit(s, facts))
    assert first.status == ClaimStatus.REJECTED  # no rate recorded: nothing to pay
    assert "employment_rate_below_minimum" in first.decision.reasons
    db.run(lambda s: classes.record_employment_rate(s, "caseworker:a", cls, Decimal("0.9")))
    second = db.run(lambda s: submit(s, facts))
    assert second.decision.eligible and second.decision.amount == Decimal("150.00")  # 1 day
    with db.session() as s:
        assert verify(s) is None


def test_a_shortage_finding_is_the_bureaus_and_four_eyes_hold_after_it(api: Any) -> None:
    client, _, demo = api
    claim = demo.claims[ClaimStatus.SUBMITTED]
    finding = {"certificate": {"in_shortage_list": True}}
    returned = demo.claims[ClaimStatus.RETURNED]
    by_applicant = client.post(
        f"/api/v1/claims/{returned}/resubmit",
        json={"reason": "补正", "changes": finding},
        headers=_as(demo, "admin"),
    )
    assert by_applicant.status_code == 422
    by_bureau = client.post(
        f"/api/v1/claims/{claim}/redecide",
        json={"reason": "该工种列入紧缺目录", "changes": finding},
        headers=_as(demo, "lucheng"),
    )
    assert by_bureau.status_code == 200, by_bureau.text
    opinion = {"opinion": "同意"}
    client.post(f"/api/v1/claims/{claim}/check", json=opinion, headers=_as(demo, "luchengfh"))
    # after 初审 the decision is no longer re-decided (it would reach 复核 unchecked)
    late = client.post(
        f"/api/v1/claims/{claim}/redecide",
        json={"reason": "改", "changes": {}},
        headers=_as(demo, "luchengkz"),
    )
    assert late.status_code == 409


def test_the_bureau_sets_an_account_only_through_a_change_approved_by_another(api: Any) -> None:
    client, db, demo = api
    nobody = make_id("330302", seq=631)
    cert = {
        "id_number": nobody,
        "name": "周无卡",
        "type": "vocational",
        "occupation": "电工",
        "level": 4,
        "number": "NOCARD-1",
        "issued_on": str(TODAY - dt.timedelta(days=5)),
    }
    assert (
        client.post("/api/v1/certificates", json=cert, headers=_as(demo, "lucheng")).status_code
        == 201
    )
    fill = client.post(
        "/api/v1/people",
        json={"id_number": nobody, "name": "周无卡", "social_security_card": "CASEWORKER01"},
        headers=_as(demo, "lucheng"),
    )
    assert fill.status_code == 409
    person_id = _person(db, nobody).id
    asked = client.post(
        "/api/v1/payout-changes",
        json={
            "field": "social_security_card",
            "new_value": "SSC-COUNTER-0001",
            "person_id": person_id,
        },
        headers=_as(demo, "lucheng"),
    )
    assert asked.status_code == 201, asked.text
    own = client.post(
        f"/api/v1/payout-changes/{asked.json()['id']}/decision",
        json={"approve": True, "reason": "核实"},
        headers=_as(demo, "lucheng"),
    )
    assert own.status_code == 409  # who asked does not decide
    assert _person(db, nobody).social_security_card is None
    other = client.post(
        f"/api/v1/payout-changes/{asked.json()['id']}/decision",
        json={"approve": True, "reason": "持卡核实无误"},
        headers=_as(demo, "luchengfh"),
    )
    assert other.status_code == 200
    assert _person(db, nobody).social_security_card == "SSC-COUNTER-0001"


def test_one_open_account_change_per_holder_under_a_race(database: Database) -> None:
    import threading

    person_id = database.run(
        lambda s: (
            registry.register_person(s, make_id(seq=641), "郑一", social_security_card="OLD1").id
        )
    )
    start = threading.Barrier(8)
    outcomes: list[object] = []

    def ask(n: int) -> None:
        start.wait()
        try:
            outcomes.append(
                database.run(
                    lambda s: (
                        payouts.request_change(
                            s, "trainee:z", "bank_account", f"6222{n:08d}", person_id=person_id
                        ).id
                    )
                )
            )
        except Refused as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(isinstance(o, int) for o in outcomes) == 1, outcomes
    assert sum(isinstance(o, Refused) for o in outcomes) == 7


def test_with_a_key_a_forged_event_cannot_cover_an_edit(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under SKILLSUBSIDY_AUDIT_KEY a writer without the key edits a payment account and appends
    an event sealing the new content: verify still names the forgery."""
    from skillsubsidy.store import chain
    from skillsubsidy.store.models import AuditHead, utc_now

    monkeypatch.setenv(chain.KEY_SETTING, "a secret the database never holds")
    db = database
    db.run(lambda s: registry.allocate(s, "330302", Decimal("5000.00"), "finance", "预算"))
    _approved(db, 651)
    db.run(lambda s: payments.create_batch(s, "finance", "330302"))
    with db.session() as s:
        assert verify(s) is None
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE payment SET account_number = 'ATTACKER0001'"))

    def forge(s: Any) -> None:  # the public algorithm, without the key
        monkeypatch.delenv(chain.KEY_SETTING)
        payment = s.scalar(select(Payment))
        head = s.get(AuditHead, 1)
        event = Event(
            entity="payment_batch", entity_id=1, action="note", actor="system", at=utc_now()
        )
        event.detail = {"records": {chain.record_key(payment): chain.digest(payment)}}
        event.seq, event.prev_hash = head.seq + 1, head.hash
        event.hash = chain.event_hash(event, head.hash)
        head.seq, head.hash = event.seq, event.hash
        s.add(event)

    with db.engine.connect() as conn:
        from sqlalchemy.orm import Session

        with Session(conn) as s:
            forge(s)
            s.commit()
        conn.commit()
    monkeypatch.setenv(chain.KEY_SETTING, "a secret the database never holds")
    with db.session() as s:
        found = verify(s)
    assert found is not None and "changed after it was written" in found.why


def test_four_eyes_see_the_steps_of_the_same_transaction(database: Database) -> None:
    """初审 and 复核 by one person inside one unit of work are refused like two requests."""
    db = database
    id_number = make_id(seq=661)

    def both(s: Any) -> None:
        person = registry.register_person(s, id_number, "孙一", social_security_card="S661")
        cert = registry.record_certificate(
            s,
            "caseworker",
            person,
            type="vocational",
            occupation="电工",
            level=4,
            number="F-661",
            issued_on=D(2024, 4, 20),
        )
        claim = claims.submit_claim(
            s,
            "applicant",
            _competition(id_number),
            person_name="孙一",
            applied_on=D(2024, 5, 10),
            certificate_id=cert.id,
        )
        claims.check_claim(s, "caseworker:same", claim.id, "齐全")
        claims.review_claim(s, "caseworker:same", claim.id, "无误")

    with pytest.raises(claims.FourEyes):
        db.run(both)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Claim)) == 0
