"""One claim of each kind walked through the whole process: class filed and approved,
trainee enrolled, certificate recorded, claim submitted, 初审, 复核, public notice with an
upheld and a dismissed objection, disbursement from the right fund, and a recovery."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from stdnum.cn import uscc

from skillsubsidy.domain.workflow import ClaimStatus
from skillsubsidy.services import claims, classes, notices, payments, registry
from skillsubsidy.services.audit import trail
from skillsubsidy.store.chain import verify
from skillsubsidy.store.db import Database
from skillsubsidy.store.models import Claim, Payment
from tests.conftest import make_id

D = dt.date
CASEWORKER = "caseworker:lucheng"
CHIEF = "caseworker:chief"  # neither 初审 nor 复核: may judge objections


def _code(prefix: str) -> str:
    """A valid unified social credit code: the check character added to 17 characters."""
    return prefix + uscc.calc_check_digit(prefix)


def _org(s: Any, kind: str, district: str, prefix: str) -> int:
    org = registry.register_organisation(
        s, kind, f"{kind} {prefix[-4:]}", _code(prefix), district, bank_account=f"6222{prefix[-8:]}"
    )
    return org.id


def _class(
    s: Any,
    org_id: int,
    district: str,
    kind: str,
    starts_on: dt.date,
    filed_on: dt.date,
    **extra: Any,
) -> int:
    cls = classes.create_class(
        s,
        "institution",
        organisation_id=org_id,
        district_code=district,
        subsidy_kind=kind,
        title=f"{kind} 培训班",
        hours=extra.pop("hours", Decimal(40)),
        starts_on=starts_on,
        ends_on=starts_on + dt.timedelta(days=extra.pop("days", 11) - 1),
        venue="温州市鹿城区学院路1号",
        teachers=[{"name": "李老师", "certificate": "高级技师"}],
        **extra,
    )
    classes.file_class(s, "institution", cls.id, filed_on)
    classes.approve_class(s, CASEWORKER, cls.id, filed_on + dt.timedelta(days=1))
    return cls.id


def _enrolled(s: Any, class_id: int, id_number: str, name: str, on: dt.date) -> None:
    person = registry.register_person(
        s, id_number, name, social_security_card=f"SSC{id_number[-6:]}"
    )
    classes.enrol(s, "institution", class_id, person, on)


def _certificate(s: Any, id_number: str, name: str, **values: Any) -> int:
    person = registry.register_person(
        s, id_number, name, social_security_card=f"SSC{id_number[-6:]}"
    )
    return registry.record_certificate(s, CASEWORKER, person, **values).id


def _submit(db: Database, facts: dict[str, Any], name: str, **links: Any) -> Claim:
    """Submitted on the day ``applied_on`` says (the server's date then)."""
    given = dict(facts)
    on = D.fromisoformat(given.pop("applied_on"))
    return db.run(
        lambda s: claims.submit_claim(
            s, "applicant", given, person_name=name, applied_on=on, **links
        )
    )


def test_every_kind_through_the_whole_process(database: Database) -> None:
    db = database
    ids = {k: make_id("330302", D(1990, 5, 17), 211 + 2 * n) for n, k in enumerate(range(9))}

    def setup(s: Any) -> dict[str, int]:
        registry.add_district(s, "admin", "130100", "示范县", "county")
        out = {
            "inst": _org(s, "training_institution", "330302", "52330302MA2H7E4R8"),
            "employer_lw": _org(s, "employer", "330303", "91330303MA2H7E4R6"),
            "employer_lc": _org(s, "employer", "330302", "91330302MA2H7E4R5"),
            "studio": _org(s, "master_studio", "330302", "52330302MA2H7E4R9"),
            "county_employer": _org(s, "employer", "130100", "91130100MA2H7E4R9"),
            "county_inst": _org(s, "training_institution", "130100", "52130100MA2H7E4RA"),
            "evaluator": _org(s, "evaluation_institution", "130100", "12130100MA2H7E4RB"),
        }
        for district in ("330302", "330303", "130100"):
            registry.allocate(s, district, Decimal("100000.00"), "finance", "2024 年度预算")
        return out

    orgs = db.run(setup)

    # 1. certificate, individual via institution: 电工 四级, B类 1500 × 1.3 (003 附件1, 附件3)
    cert_class = db.run(
        lambda s: _class(
            s,
            orgs["inst"],
            "330302",
            "certificate",
            D(2024, 3, 11),
            D(2024, 3, 1),
            occupation="电工",
            level=4,
        )
    )
    db.run(lambda s: _enrolled(s, cert_class, ids[0], "张小三", D(2024, 3, 11)))
    cert_id = db.run(
        lambda s: _certificate(
            s,
            ids[0],
            "张小三",
            type="vocational",
            occupation="电工",
            level=4,
            number="3303240001",
            issued_on=D(2024, 4, 20),
        )
    )
    c_cert = _submit(
        db,
        {
            "jurisdiction": "wenzhou",
            "kind": "certificate",
            "claimant": "individual",
            "district": "330302",
            "applied_on": "2024-05-10",
            "person": {"id_number": ids[0], "hukou_local": True},
        },
        "张小三",
        class_id=cert_class,
        certificate_id=cert_id,
    )
    # 2. project, training institution: 30 课时 × 20 (003 一(二)2)
    proj_class = db.run(
        lambda s: _class(
            s, orgs["inst"], "330302", "project", D(2024, 4, 8), D(2024, 4, 1), hours=Decimal(30)
        )
    )
    db.run(lambda s: _enrolled(s, proj_class, ids[1], "李四", D(2024, 4, 8)))
    proj_cert = db.run(
        lambda s: _certificate(
            s, ids[1], "李四", type="training_pass", number="PX-1", issued_on=D(2024, 5, 1)
        )
    )
    c_proj = _submit(
        db,
        {
            "jurisdiction": "wenzhou",
            "kind": "project",
            "claimant": "training_institution",
            "district": "330302",
            "applied_on": "2024-05-20",
            "person": {"id_number": ids[1]},
        },
        "李四",
        class_id=proj_class,
        certificate_id=proj_cert,
        organisation_id=orgs["inst"],
    )
    # 3. pre_job, employer (wenzhou-2022): 8 课时, a new hire → 200 (000 一(三)), paid by the
    #    employer's unemployment-insurance district 330303
    pre_class = db.run(
        lambda s: _class(
            s,
            orgs["employer_lw"],
            "330302",
            "pre_job",
            D(2022, 6, 6),
            D(2022, 6, 1),
            hours=Decimal(8),
        )
    )
    db.run(lambda s: _enrolled(s, pre_class, ids[2], "王五", D(2022, 6, 6)))
    c_pre = _submit(
        db,
        {
            "jurisdiction": "wenzhou",
            "kind": "pre_job",
            "claimant": "employer",
            "district": "330302",
            "applied_on": "2022-07-01",
            "person": {"id_number": ids[2]},
            "employer": {"hired_on": "2022-05-01"},
        },
        "王五",
        class_id=pre_class,
        organisation_id=orgs["employer_lw"],
    )
    # 4. apprenticeship, employee with a vocational certificate: fee 5000 → max(3000, 4000)
    c_app = _submit(
        db,
        {
            "jurisdiction": "wenzhou",
            "kind": "apprenticeship",
            "claimant": "employer",
            "district": "330302",
            "applied_on": "2024-06-01",
            "person": {"id_number": ids[3]},
            "apprentice": {"type": "employee", "fee": "5000", "vocational_cert": True},
        },
        "赵六",
        organisation_id=orgs["employer_lc"],
    )
    # 5. master_apprentice (wenzhou-2022): 焊工 三级 2000, to the master studio
    ma_class = db.run(
        lambda s: _class(
            s,
            orgs["studio"],
            "330302",
            "master_apprentice",
            D(2022, 3, 7),
            D(2022, 3, 1),
            occupation="焊工",
            level=3,
        )
    )
    db.run(lambda s: _enrolled(s, ma_class, ids[4], "孙七", D(2022, 3, 7)))
    ma_cert = db.run(
        lambda s: _certificate(
            s,
            ids[4],
            "孙七",
            type="vocational",
            occupation="焊工",
            level=3,
            number="3303220005",
            issued_on=D(2022, 9, 1),
        )
    )
    c_ma = _submit(
        db,
        {
            "jurisdiction": "wenzhou",
            "kind": "master_apprentice",
            "claimant": "master_studio",
            "district": "330302",
            "applied_on": "2022-10-01",
            "person": {"id_number": ids[4]},
        },
        "孙七",
        class_id=ma_class,
        certificate_id=ma_cert,
        organisation_id=orgs["studio"],
    )
    # 6. entrepreneurship SYB, business started → 1000 (003 一(四))
    ent_class = db.run(
        lambda s: _class(
            s,
            orgs["inst"],
            "330302",
            "entrepreneurship",
            D(2024, 3, 4),
            D(2024, 2, 26),
            course="SYB",
        )
    )
    db.run(lambda s: _enrolled(s, ent_class, ids[5], "周八", D(2024, 3, 4)))
    c_ent = _submit(
        db,
        {
            "jurisdiction": "wenzhou",
            "kind": "entrepreneurship",
            "claimant": "training_institution",
            "district": "330302",
            "applied_on": "2024-04-15",
            "person": {"id_number": ids[5]},
            "business_started_within_6_months": True,
        },
        "周八",
        class_id=ent_class,
        organisation_id=orgs["inst"],
    )
    # 7.–9. the county: enterprise training 3 days → 300; order training 10 days at 85 % → 1500;
    #    new-skill certificate 五级 → 400, claimed by the individual from 2024 (004 四, 五)
    et_class = db.run(
        lambda s: _class(
            s,
            orgs["county_employer"],
            "130100",
            "enterprise_training",
            D(2024, 4, 8),
            D(2024, 4, 1),
        )
    )
    db.run(lambda s: _enrolled(s, et_class, ids[6], "吴九", D(2024, 4, 8)))
    et_cert = db.run(
        lambda s: _certificate(
            s,
            ids[6],
            "吴九",
            type="vocational",
            occupation="焊工",
            level=4,
            number="1301240007",
            issued_on=D(2024, 4, 20),
        )
    )
    c_ent_tr = _submit(
        db,
        {
            "jurisdiction": "county",
            "kind": "enterprise_training",
            "claimant": "employer",
            "district": "130100",
            "applied_on": "2024-05-01",
            "person": {"id_number": ids[6]},
        },
        "吴九",
        class_id=et_class,
        certificate_id=et_cert,
        organisation_id=orgs["county_employer"],
    )
    order_class = db.run(
        lambda s: _class(
            s,
            orgs["county_inst"],
            "130100",
            "order_training",
            D(2024, 3, 1),
            D(2024, 2, 20),
            days=10,
        )
    )
    db.run(lambda s: _enrolled(s, order_class, ids[7], "郑十", D(2024, 3, 1)))

    def employed(s: Any) -> None:  # the bureau records the class's employment rate
        classes.start_class(s, "institution", order_class, D(2024, 3, 1))
        classes.finish_class(s, "institution", order_class, D(2024, 3, 10))
        classes.record_employment_rate(s, CASEWORKER, order_class, Decimal("0.85"))

    db.run(employed)
    c_order = _submit(
        db,
        {
            "jurisdiction": "county",
            "kind": "order_training",
            "claimant": "training_institution",
            "district": "130100",
            "applied_on": "2024-05-01",
            "person": {"id_number": ids[7]},
        },
        "郑十",
        class_id=order_class,
        organisation_id=orgs["county_inst"],
    )
    nsc_cert = db.run(
        lambda s: _certificate(
            s,
            ids[8],
            "钱十一",
            type="vocational",
            occupation="电工",
            level=5,
            number="1301240009",
            issued_on=D(2024, 3, 1),
        )
    )
    c_nsc = _submit(
        db,
        {
            "jurisdiction": "county",
            "kind": "new_skill_cert",
            "claimant": "individual",
            "district": "130100",
            "applied_on": "2024-04-01",
            "person": {"id_number": ids[8]},
        },
        "钱十一",
        certificate_id=nsc_cert,
    )
    every = [c_cert, c_proj, c_pre, c_app, c_ma, c_ent, c_ent_tr, c_order, c_nsc]
    expected = [
        "1950.00",
        "600.00",
        "200.00",
        "4000.00",
        "2000.00",
        "1000.00",
        "300.00",
        "1500.00",
        "400.00",
    ]
    with db.session() as s:
        got = [s.get(Claim, c.id) for c in every]
        assert [c.status for c in got] == [ClaimStatus.SUBMITTED] * 9, [
            (c.kind, c.decision.reasons) for c in got if c.decision
        ]
        assert [str(c.decision.amount) for c in got] == expected
        assert got[2].decision.fund_district == "330303"  # the employer's district pays

    for c in every:
        db.run(lambda s, c=c: claims.check_claim(s, CASEWORKER, c.id, "材料齐全"))
        db.run(lambda s, c=c: claims.review_claim(s, "reviewer", c.id, "复核无误"))

    wz = db.run(
        lambda s: (
            notices.publish_notice(
                s, CASEWORKER, "330302", [c.id for c in every[:6]], D(2024, 7, 1)
            ).id
        )
    )
    cty = db.run(
        lambda s: (
            notices.publish_notice(
                s, CASEWORKER, "130100", [c.id for c in every[6:]], D(2024, 7, 1)
            ).id
        )
    )

    upheld = db.run(
        lambda s: (
            notices.lodge_objection(
                s, wz, c_proj.id, "匿名", "13800000000", "该学员未实际参加培训", D(2024, 7, 2)
            ).id
        )
    )
    dismissed = db.run(
        lambda s: (
            notices.lodge_objection(
                s, wz, c_cert.id, "陈先生", "chen@example.cn", "证书疑似重复", D(2024, 7, 3)
            ).id
        )
    )
    db.run(
        lambda s: notices.resolve_objection(
            s, CHIEF, upheld, True, "签到记录与视频不符，异议成立", D(2024, 7, 4)
        )
    )
    db.run(
        lambda s: notices.resolve_objection(
            s, CHIEF, dismissed, False, "证书核验无误，异议不成立", D(2024, 7, 4)
        )
    )
    for notice in (wz, cty):
        db.run(lambda s, n=notice: notices.close_notice(s, CASEWORKER, n, D(2024, 7, 7)))

    with db.session() as s:
        assert s.get(Claim, c_proj.id).status == ClaimStatus.CANCELLED
        assert s.get(Claim, c_cert.id).status == ClaimStatus.APPROVED

    batches = {
        fund: db.run(lambda s, f=fund: payments.create_batch(s, "finance", f).id)
        for fund in ("330302", "330303", "130100")
    }
    for batch in batches.values():
        db.run(lambda s, b=batch: payments.mark_paid(s, "finance", b, D(2024, 7, 10)))
    db.run(lambda s: payments.mark_paid(s, "finance", batches["330302"], D(2024, 7, 11)))  # again

    recovery = db.run(
        lambda s: payments.order_recovery(s, "auditor", c_app.id, "学徒劳动合同系伪造，骗取补贴").id
    )
    db.run(lambda s: payments.record_recovered(s, "finance", recovery, D(2024, 8, 1)))

    with db.session() as s:
        status = {c.kind: s.get(Claim, c.id).status for c in every}
        assert status == {
            "certificate": ClaimStatus.PAID,
            "project": ClaimStatus.CANCELLED,
            "pre_job": ClaimStatus.PAID,
            "apprenticeship": ClaimStatus.RECOVERED,
            "master_apprentice": ClaimStatus.PAID,
            "entrepreneurship": ClaimStatus.PAID,
            "enterprise_training": ClaimStatus.PAID,
            "order_training": ClaimStatus.PAID,
            "new_skill_cert": ClaimStatus.PAID,
        }
        paid = {p.claim_id: p for p in s.scalars(select(Payment))}
        assert set(paid) == {c.id for c in every} - {c_proj.id}
        assert paid[c_cert.id].account_kind == "social_security_card"
        assert paid[c_ent.id].account_kind == "organisation"
        # 330302 paid 1950 + 4000 + 2000 + 1000 and got the 4000 back; 330303 paid 200
        assert registry.balance(s, "330302") == Decimal("100000.00") - Decimal("4950.00")
        assert registry.balance(s, "330303") == Decimal("99800.00")
        assert registry.balance(s, "130100") == Decimal("100000.00") - Decimal("2200.00")

        steps = [(e.action, e.to_status) for e in trail(s, "claim", c_cert.id)]
        assert steps == [
            ("submitted", "submitted"),
            ("decided", None),
            ("checked", "checked"),
            ("reviewed", "reviewed"),
            ("published", "in_notice"),
            ("objection_lodged", "re_review"),
            ("objection_dismissed", "in_notice"),
            ("approved", "approved"),
            ("paid", "paid"),
        ]
        told = [e.action for e in trail(s, "objection", upheld)]
        assert told == ["lodged", "upheld", "objector_told"]
        # every step chained, every money record as its event wrote it
        assert verify(s) is None
