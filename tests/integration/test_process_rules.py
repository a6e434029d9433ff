"""The rules of the process itself: filing before the start, no late enrolment, five full
days of notice, payment once, only legal moves, and nothing half-written on error."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from stdnum.cn import uscc

from skillsubsidy.domain.workflow import ClaimStatus, IllegalTransition
from skillsubsidy.services import claims, classes, notices, payments, registry
from skillsubsidy.services.errors import InvalidInput, Refused
from skillsubsidy.store.db import Database
from skillsubsidy.store.models import (
    Base,
    Certificate,
    Claim,
    District,
    Event,
    Payment,
    PublicNotice,
    TrainingClass,
)
from tests.conftest import make_id

D = dt.date


def _institution(s: Any, district: str = "330302") -> int:
    prefix = "52330302MA2H7E4R8"
    org = registry.register_organisation(
        s,
        "training_institution",
        "鹿城职业培训学校",
        prefix + uscc.calc_check_digit(prefix),
        district,
        bank_account="62220001",
    )
    return org.id


def _draft(s: Any, starts_on: dt.date, kind: str = "certificate", **extra: Any) -> int:
    cls = classes.create_class(
        s,
        "institution",
        organisation_id=_institution(s),
        district_code="330302",
        subsidy_kind=kind,
        title="电工培训班",
        hours=Decimal(40),
        starts_on=starts_on,
        ends_on=starts_on + dt.timedelta(days=5),
        venue="学院路1号",
        occupation="电工",
        level=4,
        **extra,
    )
    return cls.id


def _competition_claim(db: Database, seq: int, applied_on: str = "2024-05-10") -> int:
    """A competition certificate claim (no class behind it) on a recorded certificate."""
    id_number = make_id(seq=seq)
    facts = {
        "jurisdiction": "wenzhou",
        "kind": "certificate",
        "claimant": "individual",
        "route": "competition",
        "district": "330302",
        "person": {"id_number": id_number, "hukou_local": True},
    }

    def submit(s: Any) -> int:
        person = registry.register_person(s, id_number, "张小三", social_security_card=f"SSC{seq}")
        cert = registry.record_certificate(
            s,
            "caseworker",
            person,
            type="vocational",
            occupation="电工",
            level=4,
            number=f"C-{seq}",
            issued_on=D(2024, 4, 20),
        )
        return claims.submit_claim(
            s,
            "applicant",
            facts,
            person_name="张小三",
            applied_on=D.fromisoformat(applied_on),
            certificate_id=cert.id,
        ).id

    return db.run(submit)


def _reviewed(db: Database, seq: int) -> int:
    claim_id = _competition_claim(db, seq)
    db.run(lambda s: claims.check_claim(s, "caseworker", claim_id, "材料齐全"))
    db.run(lambda s: claims.review_claim(s, "reviewer", claim_id, "复核无误"))
    return claim_id


def test_migrations_match_the_models(database: Database) -> None:
    with database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_filing_under_wenzhou_2022_needs_two_days(database: Database) -> None:
    late = database.run(lambda s: _draft(s, D(2022, 6, 6)))
    with pytest.raises(Refused, match="at least 2 days"):
        database.run(lambda s: classes.file_class(s, "institution", late, D(2022, 6, 5)))
    database.run(lambda s: classes.file_class(s, "institution", late, D(2022, 6, 4)))
    # domestic-service pre-job training may be filed flexibly (000 三(一))
    flexible = database.run(
        lambda s: _draft(s, D(2022, 6, 6), kind="pre_job", domestic_service=True)
    )
    database.run(lambda s: classes.file_class(s, "institution", flexible, D(2022, 6, 6)))
    # under wenzhou-2023 the day before is enough; after the start never
    later = database.run(lambda s: _draft(s, D(2024, 6, 6)))
    with pytest.raises(Refused, match="before it starts"):
        database.run(lambda s: classes.file_class(s, "institution", later, D(2024, 6, 7)))
    database.run(lambda s: classes.file_class(s, "institution", later, D(2024, 6, 5)))
    with database.session() as s:
        assert s.get(TrainingClass, late).status == "filed"


def test_no_enrolment_after_the_start_and_the_size_rule_is_flagged(database: Database) -> None:
    cls_id = database.run(lambda s: _draft(s, D(2024, 3, 4), kind="entrepreneurship", course="SYB"))

    def enrol(s: Any, seq: int, on: dt.date) -> None:
        person = registry.register_person(s, make_id(seq=seq), f"学员{seq}")
        classes.enrol(s, "institution", cls_id, person, on)

    with pytest.raises(Refused, match="no enrolment after the start"):
        database.run(lambda s: enrol(s, 401, D(2024, 3, 5)))
    for n in range(51):
        database.run(lambda s, n=n: enrol(s, 403 + 2 * n, D(2024, 3, 1)))
    with pytest.raises(InvalidInput, match="already on this class"):
        database.run(lambda s: enrol(s, 403, D(2024, 3, 1)))
    with database.session() as s:
        assert s.get(TrainingClass, cls_id).over_size  # 一般每班不超过50人
        flagged = s.scalars(select(Event.reason).where(Event.action == "over_size")).all()
        assert flagged == ["roster above 50 (000 一(六); 003 一(四))"]


def test_a_notice_runs_five_full_days(database: Database) -> None:
    claim_id = _reviewed(database, 501)
    notice_id = database.run(
        lambda s: notices.publish_notice(s, "caseworker", "330302", [claim_id], D(2024, 7, 1)).id
    )
    with pytest.raises(Refused, match="5 full days"):
        database.run(lambda s: notices.close_notice(s, "caseworker", notice_id, D(2024, 7, 6)))
    database.run(lambda s: notices.close_notice(s, "caseworker", notice_id, D(2024, 7, 7)))
    with pytest.raises(Refused):
        database.run(
            lambda s: notices.lodge_objection(
                s, notice_id, claim_id, "某人", "138", "理由", D(2024, 7, 7)
            )
        )
    with database.session() as s:
        assert s.get(Claim, claim_id).status == ClaimStatus.APPROVED


def test_a_claim_is_paid_once(database: Database) -> None:
    claim_id = _reviewed(database, 601)
    database.run(lambda s: registry.allocate(s, "330302", Decimal("10000.00"), "finance", "预算"))
    notice_id = database.run(
        lambda s: notices.publish_notice(s, "caseworker", "330302", [claim_id], D(2024, 7, 1)).id
    )
    database.run(lambda s: notices.close_notice(s, "caseworker", notice_id, D(2024, 7, 8)))
    batch = database.run(lambda s: payments.create_batch(s, "finance", "330302").id)
    with pytest.raises(Refused, match="no approved claim"):
        database.run(lambda s: payments.create_batch(s, "finance", "330302"))
    for _ in range(2):
        database.run(lambda s: payments.mark_paid(s, "finance", batch, D(2024, 7, 10)))
    with pytest.raises(IntegrityError):  # the schema itself refuses a second payment

        def pay_again(s: Any) -> None:
            first = s.scalar(select(Payment))
            s.add(
                Payment(
                    batch_id=first.batch_id,
                    claim_id=claim_id,
                    amount=Decimal(1),
                    payee="individual",
                    account_kind="bank",
                    account_name="x",
                    account_number="1",
                )
            )
            s.flush()

        database.run(pay_again)
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(Payment)) == 1
        assert registry.balance(s, "330302") == Decimal("8050.00")


def test_only_legal_moves(database: Database) -> None:
    claim_id = _competition_claim(database, 701)
    with pytest.raises(IllegalTransition, match="cannot go from 'submitted' to 'reviewed'"):
        database.run(lambda s: claims.review_claim(s, "reviewer", claim_id, "同意"))
    database.run(lambda s: claims.return_claim(s, "caseworker", claim_id, "缺少证书扫描件"))
    with pytest.raises(IllegalTransition):
        database.run(lambda s: claims.check_claim(s, "caseworker", claim_id, "同意"))
    database.run(lambda s: claims.resubmit_claim(s, "applicant", claim_id))
    with database.session() as s:
        claim = s.get(Claim, claim_id)
        assert claim.status == ClaimStatus.SUBMITTED
        assert [d.version for d in claim.decisions] == [1, 2]  # re-decided on resubmission


def test_an_error_leaves_nothing_written(database: Database) -> None:
    good = _reviewed(database, 801)
    with pytest.raises(Exception):  # noqa: B017 - the claim id does not exist
        database.run(
            lambda s: notices.publish_notice(
                s, "caseworker", "330302", [good, 99999], D(2024, 7, 1)
            )
        )
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(PublicNotice)) == 0
        assert s.get(Claim, good).status == ClaimStatus.REVIEWED
    with pytest.raises(InvalidInput, match=r"person\.id_number"):
        database.run(
            lambda s: claims.submit_claim(
                s,
                "applicant",
                {"person": {"id_number": "330302199005172011"}},
                person_name="某人",
                applied_on=D(2024, 5, 10),
            )
        )


def test_an_ineligible_claim_is_recorded_as_rejected_with_its_reasons(database: Database) -> None:
    claim_id = _competition_claim(database, 901, applied_on="2025-06-01")  # > 1 year after
    with database.session() as s:
        claim = s.get(Claim, claim_id)
        assert claim.status == ClaimStatus.REJECTED
        assert claim.decision is not None and claim.decision.reasons == ["deadline_passed"]
        assert claim.decision.explanation[-1]["clause"] == "003 五(六)"


def test_a_claim_under_re_review_is_not_published_again(database: Database) -> None:
    claim_id = _reviewed(database, 951)
    notice_id = database.run(
        lambda s: notices.publish_notice(s, "caseworker", "330302", [claim_id], D(2024, 7, 1)).id
    )
    objection = database.run(
        lambda s: (
            notices.lodge_objection(
                s, notice_id, claim_id, "某人", "138", "重复申领", D(2024, 7, 2)
            ).id
        )
    )
    with pytest.raises(Refused, match="only reviewed claims are published"):
        database.run(
            lambda s: notices.publish_notice(s, "caseworker", "330302", [claim_id], D(2024, 7, 3))
        )
    database.run(
        lambda s: notices.resolve_objection(s, "chief", objection, True, "成立", D(2024, 7, 4))
    )
    with pytest.raises(Refused, match="upheld already"):
        database.run(
            lambda s: notices.resolve_objection(s, "chief", objection, False, "再议", D(2024, 7, 5))
        )
    with database.session() as s:
        assert s.get(Claim, claim_id).status == ClaimStatus.CANCELLED


def test_a_correction_cannot_override_the_records(database: Database) -> None:
    def setup(s: Any) -> tuple[int, int]:
        cls_id = _draft(s, D(2024, 3, 4))
        classes.file_class(s, "institution", cls_id, D(2024, 2, 26))
        classes.approve_class(s, "caseworker", cls_id, D(2024, 2, 27))
        person = registry.register_person(s, make_id(seq=953), "张小三")
        classes.enrol(s, "institution", cls_id, person, D(2024, 3, 1))
        cert = Certificate(
            person_id=person.id,
            type="vocational",
            occupation="电工",
            level=4,
            number="C-953",
            issued_on=D(2024, 4, 20),
        )
        s.add(cert)
        s.flush()
        return cls_id, cert.id

    cls_id, cert_id = database.run(setup)
    facts: dict[str, Any] = {
        "jurisdiction": "wenzhou",
        "kind": "certificate",
        "claimant": "individual",
        "district": "330302",
        "person": {"id_number": make_id(seq=953), "hukou_local": True},
    }

    def submit(s: Any, given: dict[str, Any]) -> int:
        return claims.submit_claim(
            s,
            "applicant",
            given,
            person_name="张小三",
            applied_on=D(2024, 5, 10),
            class_id=cls_id,
            certificate_id=cert_id,
        ).id

    # the form cannot say 一级 when the certificate says 四级, nor give its own date
    for wrong, field in (
        ({"certificate": {"level": 1}}, "certificate.level"),
        ({"training": {"hours": 999}}, "training"),
        ({"applied_on": "2024-01-01"}, "applied_on"),
    ):
        with pytest.raises(InvalidInput, match=re.escape(field)):
            database.run(lambda s, w=wrong: submit(s, {**facts, **w}))
    claim_id = database.run(lambda s: submit(s, facts))
    database.run(lambda s: claims.return_claim(s, "caseworker", claim_id, "补材料"))
    with pytest.raises(InvalidInput, match=r"certificate\.level"):
        database.run(
            lambda s: claims.resubmit_claim(s, "applicant", claim_id, {"certificate": {"level": 1}})
        )
    database.run(lambda s: claims.resubmit_claim(s, "applicant", claim_id, {}))
    for fixed in ({"kind": "project"}, {"district": "999999"}, {"applied_on": "2024-01-01"}):
        with pytest.raises(InvalidInput, match="cannot be changed"):
            database.run(
                lambda s, f=fixed: claims.redecide_claim(s, "caseworker", claim_id, "改", f)
            )
    with database.session() as s:
        claim = s.get(Claim, claim_id)
        assert [str(d.amount) for d in claim.decisions] == ["1950.00", "1950.00"]
        assert claim.facts["certificate"]["level"] == 4
        assert claim.facts["training"]["hours"] == "40.00"
        assert (claim.district_code, claim.applied_on) == ("330302", D(2024, 5, 10))
        assert s.get(District, "999999") is None  # no district made up from a request


def test_a_claim_rests_on_an_approved_class_of_its_claimant(database: Database) -> None:
    def setup(s: Any) -> tuple[int, int, int]:
        cls_id = _draft(s, D(2024, 3, 4), kind="project")
        classes.file_class(s, "institution", cls_id, D(2024, 2, 26))
        classes.refuse_filing(s, "caseworker", cls_id, "课程安排不全")
        prefix = "91330302MA2H7E4R5"
        other = registry.register_organisation(
            s,
            "training_institution",
            "另一家学校",
            prefix + uscc.calc_check_digit(prefix),
            "330302",
        )
        person = registry.register_person(s, make_id(seq=955), "李四")
        cert = registry.record_certificate(
            s, "caseworker", person, type="training_pass", number="P-955", issued_on=D(2024, 4, 20)
        )
        return cls_id, other.id, cert.id

    cls_id, other, cert_id = database.run(setup)
    facts = {
        "jurisdiction": "wenzhou",
        "kind": "project",
        "claimant": "training_institution",
        "district": "330302",
        "person": {"id_number": make_id(seq=955)},
    }
    with pytest.raises(Refused, match="refused"):
        database.run(
            lambda s: claims.submit_claim(
                s,
                "applicant",
                facts,
                person_name="李四",
                applied_on=D(2024, 5, 10),
                class_id=cls_id,
                certificate_id=cert_id,
                organisation_id=other,
            )
        )
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(Claim)) == 0
