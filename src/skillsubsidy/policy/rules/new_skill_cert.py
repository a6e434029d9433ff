"""新增技能人才取证补贴 (new_skill_cert), 004 五: by level for a first certificate of that
level; the intermediate level only as a first certificate; claimed by the evaluation
institution, from 2024 by the individual (a dated value of the pack)."""

from __future__ import annotations

import polars as pl

from skillsubsidy.policy.rules.base import (
    Assessment,
    Check,
    Step,
    choose,
    const,
    flag,
    level_name,
    lookup,
    money,
    text,
    yuan,
)
from skillsubsidy.policy.schema import NewSkillCertRule
from skillsubsidy.policy.vocabulary import CLAIMANT_NAMES

LEVEL = pl.col("_level")
CERT_TYPE = pl.col("certificate.type")


def assess(rule: NewSkillCertRule) -> Assessment:
    a = rule.amounts
    vocational = CERT_TYPE == "vocational"
    special_op = CERT_TYPE == "special_operation"
    renewal = flag("certificate.renewal")
    amount = (
        pl.when(vocational)
        .then(lookup(LEVEL, dict(a.vocational)))
        .when(special_op & ~renewal)
        .then(money(a.special_operation))
    )
    first_only = vocational & LEVEL.is_in(rule.first_certificate_only.levels)
    claimant = rule.claimant.value
    return Assessment(
        amount=amount,
        steps=[
            Step(
                text("{} 取证补贴：{} 元", level_name(LEVEL), yuan(amount)),
                a.reference,
                shown=vocational,
            ),
            Step(
                text("特种作业操作证初次取证：{} 元", yuan(amount)), a.reference, shown=special_op
            ),
        ],
        checks=[
            Check(
                "not_offered",
                amount.is_null(),
                choose(
                    special_op,
                    const("特种作业操作证复审不属于新增取证补贴"),
                    text("{} 证书不在取证补贴范围", level_name(LEVEL)),
                ),
                a.reference,
            ),
            Check(
                "not_offered",
                pl.col("claimant") != claimant,
                const(f"取证补贴此时由{CLAIMANT_NAMES[claimant]}申领"),
                rule.claimant.reference,
            ),
            Check(
                "skill_upgrade_subsidy_eligible",
                flag("person.skill_upgrade_subsidy_eligible"),
                const("缴纳失业保险、符合享受技能提升补贴的企业职工，不再享受取证补贴"),
                rule.skill_upgrade_reference,
            ),
            Check(
                "not_first_certificate",
                first_only & flag("person.holds_prior_certificate"),
                const("中级工取证补贴仅限初次取证直接取中级工，本人已持有证书"),
                rule.first_certificate_only.reference,
            ),
        ],
    )
