"""A realistic demo data set, made through the services (so it obeys every rule): three
districts of 温州市区 and the county, an institution, an employer and a school, filed classes
with their rosters, certificates, and claims in every status of the process, with demo users
of every role. The demo users' API tokens are ``demo-<username>``, their password ``demo``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from stdnum.cn import uscc
from stdnum.iso7064 import mod_11_2

from skillsubsidy.domain.dates import china_today
from skillsubsidy.domain.workflow import ClaimStatus
from skillsubsidy.services import claims, classes, notices, payments, registry, users
from skillsubsidy.store.db import Database
from skillsubsidy.store.models import Claim, User

D = dt.date
DEMO_PASSWORD = "demo"  # every demo user's password for the web pages
SURNAMES = "张王李赵陈刘杨黄吴周徐孙胡朱高林何郭马罗"
GIVEN = ["晓明", "丽华", "建国", "海燕", "志强", "雪梅", "伟", "静", "磊", "敏", "俊杰", "婷婷"]


def citizen_id(region: str, born: dt.date, seq: int) -> str:
    """A valid citizen ID: region, birth date, sequence (odd = male) and its check character."""
    body = f"{region}{born:%Y%m%d}{seq:03d}"
    return body + mod_11_2.calc_check_digit(body)


def credit_code(first17: str) -> str:
    return first17 + uscc.calc_check_digit(first17)


@dataclass
class Demo:
    """What the seed made, for tests and the sign-in page."""

    organisations: dict[str, int] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)  # username → token
    claims: dict[str, int] = field(default_factory=dict)  # status → a claim in it
    classes: dict[str, int] = field(default_factory=dict)
    people: list[str] = field(default_factory=list)


def seed(db: Database) -> Demo:
    """Fill an empty, upgraded database with the demo set (refuses a database with users)."""
    with db.session() as s:
        if s.scalar(select(User.id).limit(1)) is not None:
            raise RuntimeError("the database already has users: demo data goes into an empty one")
    demo = Demo()
    db.run(lambda s: _organisations(s, demo))
    db.run(lambda s: _users(s, demo))
    _classes_and_claims(db, demo)
    return demo


def _organisations(s: Session, demo: Demo) -> None:
    registry.ensure_district(s, "330302")
    registry.ensure_district(s, "330303")
    registry.ensure_district(s, "330300")
    registry.add_district(s, "system:demo", "130100", "示范县", "county")
    for district in ("330302", "330303", "330300", "130100"):
        registry.allocate(s, district, Decimal("500000.00"), "finance:demo", "年度培训补贴资金")
    for key, kind, name, code, district in (
        (
            "institution",
            "training_institution",
            "温州市鹿城区育才职业技能培训学校",
            "52330302MA2H7E4R8",
            "330302",
        ),
        ("employer", "employer", "温州龙湾精工机械有限公司", "91330303MA2H7E4R6", "330303"),
        ("school", "school", "温州技师学院", "12330300MA2H7E4R7", "330300"),
        ("county_employer", "employer", "县城东电器有限公司", "91130100MA2H7E4R9", "130100"),
    ):
        org = registry.register_organisation(
            s, kind, name, credit_code(code), district, bank_account=f"6222 0212 {code[-8:]}"
        )
        demo.organisations[key] = org.id


def _users(s: Session, demo: Demo) -> None:
    trainee = registry.register_person(
        s, citizen_id("330302", D(1995, 3, 8), 231), "陈晓明", "13906770001", "SSC330302001"
    )
    demo.people.append(trainee.id_number)
    for username, role, name, scope in (
        ("admin", "admin", "系统管理员", {}),
        ("lucheng", "caseworker", "鹿城区经办人", {"districts": ["330302", "330300"]}),
        # 复核 and objections are for other people than 初审 (four eyes)
        ("luchengfh", "caseworker", "鹿城区复核员", {"districts": ["330302", "330300"]}),
        ("luchengkz", "caseworker", "鹿城区科长", {"districts": ["330302", "330300"]}),
        ("longwan", "caseworker", "龙湾区经办人", {"districts": ["330303"]}),
        ("county", "caseworker", "县人社局经办人", {"districts": ["130100"]}),
        (
            "yucai",
            "institution",
            "育才培训学校",
            {"organisation_id": demo.organisations["institution"]},
        ),
        (
            "jinggong",
            "employer",
            "精工机械人事部",
            {"organisation_id": demo.organisations["employer"]},
        ),
        ("jishi", "school", "技师学院教务处", {"organisation_id": demo.organisations["school"]}),
        ("chenxm", "trainee", "陈晓明", {"person_id": trainee.id}),
        ("finance", "finance", "财务科", {}),
        ("audit", "auditor", "审计员", {}),
    ):
        token = f"demo-{username}"
        user, _ = users.create_user(s, username, role, name, token=token, **scope)
        users.set_demo_password(user, DEMO_PASSWORD)  # below the length rule: demo only
        demo.users[username] = token


def _person(s: Session, demo: Demo, n: int) -> tuple[str, str]:
    number = citizen_id("330302", D(1980 + n % 20, 1 + n % 12, 1 + n % 27), 101 + 2 * n)
    name = SURNAMES[n % len(SURNAMES)] + GIVEN[n % len(GIVEN)]
    registry.register_person(s, number, name, f"139{n:08d}", f"SSC{number[-8:]}")
    demo.people.append(number)
    return number, name


def _classes_and_claims(db: Database, demo: Demo) -> None:
    inst = demo.organisations["institution"]

    def make_class(s: Session, kind: str, title: str, starts: dt.date, **extra: Any) -> int:
        cls = classes.create_class(
            s,
            "institution:yucai",
            organisation_id=inst,
            district_code="330302",
            subsidy_kind=kind,
            title=title,
            hours=extra.pop("hours", Decimal(48)),
            starts_on=starts,
            ends_on=starts + dt.timedelta(days=14),
            venue="温州市鹿城区学院中路 288 号 3 楼实训室",
            teachers=[{"name": "林志强", "qualification": "电工高级技师"}],
            schedule=[{"date": str(starts), "topic": "安全用电与电工基础"}],
            **extra,
        )
        classes.file_class(s, "institution:yucai", cls.id, starts - dt.timedelta(days=7))
        classes.approve_class(s, "caseworker:lucheng", cls.id, starts - dt.timedelta(days=5))
        return cls.id

    electricians = db.run(
        lambda s: make_class(
            s,
            "certificate",
            "2024 年第一期电工（四级）培训班",
            D(2024, 3, 4),
            occupation="电工",
            level=4,
        )
    )
    welders = db.run(
        lambda s: make_class(
            s, "certificate", "2024 年焊工（五级）培训班", D(2024, 4, 8), occupation="焊工", level=5
        )
    )
    syb = db.run(
        lambda s: make_class(
            s,
            "entrepreneurship",
            "2024 年 SYB 创业培训班",
            D(2024, 5, 6),
            course="SYB",
            hours=Decimal(80),
        )
    )
    demo.classes = {"electricians": electricians, "welders": welders, "syb": syb}

    def enrolled_claim(
        s: Session,
        n: int,
        cls_id: int,
        occupation: str,
        level: int,
        issued: dt.date,
        applied: dt.date,
    ) -> int:
        number, name = _person(s, demo, n)
        person = registry.register_person(s, number, name)
        cls = classes.get_class(s, cls_id)
        classes.enrol(s, "institution:yucai", cls_id, person, cls.starts_on)
        cert = registry.record_certificate(
            s,
            "caseworker:lucheng",
            person,
            type="vocational",
            occupation=occupation,
            level=level,
            number=f"Z{issued:%Y%m}{n:05d}",
            issued_on=issued,
        )
        facts = {
            "jurisdiction": "wenzhou",
            "kind": "certificate",
            "claimant": "individual",
            "district": "330302",
            "person": {"id_number": number, "hukou_local": n % 3 != 0, "ui_insured_local": True},
        }
        return claims.submit_claim(
            s,
            "trainee",
            facts,
            person_name=name,
            applied_on=applied,
            class_id=cls_id,
            certificate_id=cert.id,
        ).id

    made: list[int] = []
    for n in range(24):
        cls_id, occupation, level = (
            (electricians, "电工", 4) if n % 2 == 0 else (welders, "焊工", 5)
        )
        issued = D(2024, 5, 10) + dt.timedelta(days=n)

        def submit(
            s: Session,
            n: int = n,
            c: int = cls_id,
            o: str = occupation,
            lv: int = level,
            i: dt.date = issued,
        ) -> int:
            return enrolled_claim(s, n, c, o, lv, i, i + dt.timedelta(days=20))

        made.append(db.run(submit))
    # an ineligible one: applied more than a year after the certificate (003 五(六))
    made.append(
        db.run(
            lambda s: enrolled_claim(s, 40, electricians, "电工", 4, D(2024, 5, 1), D(2025, 6, 2))
        )
    )
    demo.claims[ClaimStatus.REJECTED] = made[-1]

    cw = "caseworker:lucheng"
    reviewer = "caseworker:luchengfh"
    chief = "caseworker:luchengkz"

    def step(claim_id: int, *actions: str) -> None:
        for action in actions:

            def act(s: Session, a: str = action) -> object:
                match a:
                    case "check":
                        return claims.check_claim(s, cw, claim_id, "材料齐全，符合申领条件")
                    case "review":
                        return claims.review_claim(s, reviewer, claim_id, "复核无误，同意公示")
                    case "return":
                        return claims.return_claim(s, cw, claim_id, "请补充上传证书扫描件")
                    case "withdraw":
                        return claims.withdraw_claim(s, "trainee", claim_id, "申请人撤回")
                    case _:
                        return claims.reject_claim(s, cw, claim_id, "培训签到记录缺失")

            db.run(act)

    pending = iter(made[:-1])
    demo.claims[ClaimStatus.SUBMITTED] = next(pending)
    returned = next(pending)
    step(returned, "return")
    demo.claims[ClaimStatus.RETURNED] = returned
    checked = next(pending)
    step(checked, "check")
    demo.claims[ClaimStatus.CHECKED] = checked
    reviewed = next(pending)
    step(reviewed, "check", "review")
    demo.claims[ClaimStatus.REVIEWED] = reviewed
    withdrawn = next(pending)
    step(withdrawn, "withdraw")
    demo.claims[ClaimStatus.WITHDRAWN] = withdrawn
    refused = next(pending)
    step(refused, "check", "reject")
    # a closed notice: paid, recovered, cancelled by an upheld objection
    closed = [next(pending) for _ in range(8)]
    for claim_id in closed:
        step(claim_id, "check", "review")
    old = db.run(lambda s: notices.publish_notice(s, cw, "330302", closed, D(2024, 7, 1)).id)
    objection = db.run(
        lambda s: (
            notices.lodge_objection(
                s,
                old,
                closed[0],
                "王先生",
                "13800001111",
                "该学员培训期间在外地工作，未实际参训",
                D(2024, 7, 3),
            ).id
        )
    )
    db.run(
        lambda s: notices.resolve_objection(
            s,
            chief,
            objection,
            True,
            "经核查签到视频，学员未到场，异议成立",
            D(2024, 7, 5),
        )
    )
    demo.claims[ClaimStatus.CANCELLED] = closed[0]
    db.run(lambda s: notices.close_notice(s, cw, old, D(2024, 7, 8)))
    batch = db.run(lambda s: payments.create_batch(s, "finance:demo", "330302").id)
    db.run(lambda s: payments.mark_paid(s, "finance:demo", batch, D(2024, 7, 15)))
    demo.claims[ClaimStatus.PAID] = closed[1]
    recovery = db.run(
        lambda s: payments.order_recovery(s, cw, closed[2], "证书系伪造，骗取培训补贴，依法追回")
    )
    db.run(lambda s: payments.record_recovered(s, "finance:demo", recovery.id, D(2024, 8, 1)))
    demo.claims[ClaimStatus.RECOVERED] = closed[2]
    # an approved claim waiting for payment, from a second closed notice
    approved = next(pending)
    step(approved, "check", "review")
    second = db.run(lambda s: notices.publish_notice(s, cw, "330302", [approved], D(2024, 8, 1)).id)
    db.run(lambda s: notices.close_notice(s, cw, second, D(2024, 8, 7)))
    demo.claims[ClaimStatus.APPROVED] = approved
    # an open notice, one claim under re-review after an objection
    current = [next(pending) for _ in range(4)]
    for claim_id in current:
        step(claim_id, "check", "review")
    today = china_today()
    open_notice = db.run(lambda s: notices.publish_notice(s, cw, "330302", current, today).id)
    db.run(
        lambda s: notices.lodge_objection(
            s,
            open_notice,
            current[0],
            "李女士",
            "li@example.cn",
            "同一证书疑似已在其他单位申领",
            today,
        )
    )
    demo.claims[ClaimStatus.IN_NOTICE] = current[1]
    demo.claims[ClaimStatus.RE_REVIEW] = current[0]
    with db.session() as s:
        for status, claim_id in demo.claims.items():
            got = s.get(Claim, claim_id)
            assert got is not None and got.status == status, (status, got and got.status)
