"""Properties every decision keeps, over generated claims of every kind and pack:
amounts never negative, never above the kind's cap, zero when ineligible, and the same
whether a claim is decided alone or inside a batch of unrelated people."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import make_id

from skillsubsidy.policy.engine import Engine, evaluate
from skillsubsidy.policy.vocabulary import CLAIMANTS, COURSES, KINDS

# The highest amount any pack grants per trainee for each kind (POLICY.md §4–§8).
KIND_CAP = {
    "certificate": Decimal(3800) * Decimal("1.3") * 2,  # 003 一(一)2(4): 200 % of A 一级 ×1.3
    "project": Decimal(2000),  # 000 一(二)1
    "pre_job": Decimal(200),  # 000 一(三)
    "apprenticeship": Decimal(7800),  # 002 附件3 三, ×1.3 uplift
    "master_apprentice": Decimal(3500) * Decimal("1.5"),  # 000 一(五)
    "entrepreneurship": Decimal(1500),  # 000 一(六), 003 一(四)
    "enterprise_training": Decimal(300),  # 004 四(一)2
    "order_training": Decimal(5000),  # 004 四(二)
    "new_skill_cert": Decimal(800),  # 004 五(三)
}
OCCUPATIONS = [
    "电工",
    "车工",
    "焊工",
    "养老护理员",
    "茶艺师",
    "高低压电器及成套设备装配工",
    "手工木工",
    "人工智能训练师",
    "家政服务员",
    "制图员",
    "低压电工作业",
]
DISTRICTS = [
    "330300",
    "330302",
    "330303",
    "330304",
    "330305",
    "WZ-BAY",
    "WZ-OEDZ",
    "330700",
    "330702",
    "330703",
    "JH-EDZ",
    "130100",
]

dates = st.dates(dt.date(2019, 6, 1), dt.date(2025, 6, 30))
flags = st.booleans()
money = st.decimals(min_value=0, max_value=12000, places=2).map(str)


@st.composite
def claims(draw: st.DrawFn, seq: int = 1) -> dict[str, Any]:
    issued = draw(dates)
    started = issued - dt.timedelta(days=draw(st.integers(5, 200)))
    kind = draw(st.sampled_from(KINDS))
    return {
        "id": f"c{seq}",
        "jurisdiction": draw(st.sampled_from(["wenzhou", "jinhua", "county"])),
        "kind": kind,
        "claimant": draw(st.sampled_from(CLAIMANTS)),
        "route": draw(st.sampled_from(["institution", "self_study", "competition"])),
        "district": draw(st.sampled_from(DISTRICTS)),
        "claimant_city_level": draw(flags),
        "applied_on": (issued + dt.timedelta(days=draw(st.integers(0, 500)))).isoformat(),
        "person": {
            "id_number": make_id(
                "330302", draw(st.dates(dt.date(1950, 1, 1), dt.date(2010, 1, 1))), seq
            ),
            **{
                f: draw(flags)
                for f in (
                    "hukou_local",
                    "residence_permit_local",
                    "ui_insured_local",
                    "works_locally",
                    "public_servant",
                    "receives_pension",
                    "domestic_service_worker",
                    "graduating_year_student",
                    "key_group",
                    "skill_upgrade_subsidy_eligible",
                    "holds_prior_certificate",
                )
            },
            "social_insurance_months": draw(st.integers(0, 24)),
        },
        "certificate": {
            "type": draw(
                st.sampled_from(
                    ["vocational", "special_ability", "training_pass", "special_operation"]
                )
            ),
            "occupation": draw(st.sampled_from(OCCUPATIONS)),
            "level": draw(st.sampled_from([5, 3])),
            "issued_on": issued.isoformat(),
            "renewal": draw(flags),
            "in_shortage_list": draw(flags),
        },
        "training": {
            "hours": str(draw(st.decimals(0, 300, places=1))),
            "days": draw(st.integers(0, 60)),
            "enrolled_on": started.isoformat(),
            "starts_on": started.isoformat(),
            "filed_on": (started - dt.timedelta(days=draw(st.integers(-3, 10)))).isoformat(),
            "filed_district": draw(st.sampled_from(DISTRICTS)),
            "course": draw(st.sampled_from(COURSES)),
            "local_specialty": draw(flags),
            "employment_rate": str(draw(st.decimals(0, 1, places=2))),
        },
        "employer": {
            "ui_district": draw(st.sampled_from(DISTRICTS)),
            "hired_on": (started - dt.timedelta(days=draw(st.integers(0, 500)))).isoformat(),
            "key_manufacturing": draw(flags),
            "trade_friction": draw(flags),
        },
        "apprentice": {
            "type": draw(st.sampled_from(["employee", "student"])),
            "fee": draw(money),
            "allowance_paid": draw(money),
            "vocational_cert": draw(flags),
            "labour_contract": draw(flags),
            "social_insurance": draw(flags),
        },
        "business_started_within_6_months": draw(flags),
    }


ENGINE = Engine()
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(claims())
def test_amounts_are_bounded_and_zero_when_ineligible(claim: dict[str, Any]) -> None:
    (decision,) = evaluate([claim], engine=ENGINE)
    assert "error" not in decision, decision
    amount = Decimal(decision["amount"])
    assert amount >= 0
    assert amount <= KIND_CAP[claim["kind"]]
    assert amount == amount.quantize(Decimal("0.01"))
    if decision["eligible"]:
        assert decision["reasons"] == []
        assert decision["payee"] == claim["claimant"] and decision["fund"]
    else:
        assert amount == 0 and decision["reasons"]
    assert decision["explanation"]


@SETTINGS
@given(claims(seq=1), st.lists(st.integers(2, 50), min_size=1, max_size=6, unique=True), st.data())
def test_same_decision_alone_or_among_unrelated_people(
    claim: dict[str, Any], others: list[int], data: st.DataObject
) -> None:
    batch = [data.draw(claims(seq=n)) for n in others]
    position = data.draw(st.integers(0, len(batch)))
    batch.insert(position, claim)
    alone = evaluate([claim], engine=ENGINE)[0]
    together = evaluate(batch, engine=ENGINE)[position]
    assert together == alone
