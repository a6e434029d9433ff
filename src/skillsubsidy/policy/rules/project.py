"""项目制培训补贴 (project), POLICY.md §4, §5, §7: by the hour with a cap, or flat per
special-operation certificate (renewals less)."""

from __future__ import annotations

import polars as pl

from skillsubsidy.policy.claims import MONEY
from skillsubsidy.policy.conditions import compile_condition
from skillsubsidy.policy.rules.base import (
    Assessment,
    Check,
    Step,
    choose,
    const,
    flag,
    min_money,
    money,
    number,
    percent,
    plain,
    text,
    times,
    yuan,
)
from skillsubsidy.policy.rules.common import residency
from skillsubsidy.policy.schema import (
    CertificateRule,
    ProjectClaimantRate,
    ProjectRule,
    ProjectType,
)

HOURS = pl.col("training.hours").fill_null(0)
RENEWAL = flag("certificate.renewal")
TRAINING_BEGAN = pl.col("_training_began")


def _hourly(per_hour: object, cap: object) -> pl.Expr:
    return min_money(times(HOURS, str(per_hour)), money(str(cap)))


def _by_type(name: str, t: ProjectType) -> tuple[pl.Expr | None, list[Step]]:
    """The amount a certificate type carries by itself (None: set per claimant)."""
    mine = pl.col("certificate.type") == name
    if t.flat is not None:
        amount = (
            pl.when(RENEWAL & pl.lit(t.renewal is not None))
            .then(money(t.renewal if t.renewal is not None else 0))
            .otherwise(money(t.flat))
        )
        step = Step(
            choose(
                RENEWAL,
                const(f"{t.label}复审培训：{plain(t.renewal or t.flat)} 元/人"),
                const(f"{t.label}（新证）：{plain(t.flat)} 元/人"),
            ),
            t.reference,
            shown=mine,
        )
        return amount, [step]
    if t.per_hour is not None and t.cap is not None:
        step = Step(
            text(
                f"{t.label}：{{}} 课时 × {plain(t.per_hour)} 元，不超过 {plain(t.cap)} 元：{{}} 元",
                number(HOURS),
                yuan(_hourly(t.per_hour, t.cap)),
            ),
            t.reference,
            shown=mine,
        )
        return _hourly(t.per_hour, t.cap), [step]
    return None, []


def _by_claimant(name: str, r: ProjectClaimantRate) -> Assessment:
    mine = pl.col("claimant") == name
    amount = _hourly(r.per_hour, r.cap)
    steps = [
        Step(
            text(
                f"{r.label}：{{}} 课时 × {plain(r.per_hour)} 元，不超过 {plain(r.cap)} 元：{{}} 元",
                number(HOURS),
                yuan(amount),
            ),
            r.reference,
            shown=mine & ~(RENEWAL & pl.lit(r.special_operation_renewal is not None)),
        )
    ]
    checks = []
    if r.special_operation_renewal is not None:
        renewal = (pl.col("certificate.type") == "special_operation") & RENEWAL
        amount = pl.when(renewal).then(money(r.special_operation_renewal)).otherwise(amount)
        steps.append(
            Step(
                const(f"特种作业人员操作证复审培训：{plain(r.special_operation_renewal)} 元/人"),
                r.reference,
                shown=mine & renewal,
            )
        )
    if r.minimum_hours is not None:
        checks.append(
            Check(
                "hours_below_minimum",
                mine & (money(r.minimum_hours) > HOURS),
                text(f"培训 {{}} 课时，每期不少于 {r.minimum_hours} 课时", number(HOURS)),
                r.reference,
            )
        )
    if r.uplift is not None:
        u = r.uplift
        applies = compile_condition(u.if_) & (pl.lit(u.training_began_by) >= TRAINING_BEGAN)
        steps.append(
            Step(
                text(
                    f"{u.training_began_by:%Y}年底前开始的培训，企业属（{u.if_}），"
                    f"上浮 {percent(u.factor - 1)}：{{}} 元",
                    yuan(times(amount, u.factor)),
                ),
                u.reference,
                shown=mine & applies,
            )
        )
        amount = pl.when(applies).then(times(amount, u.factor)).otherwise(amount)
    return Assessment(amount=pl.when(mine).then(amount), steps=steps, checks=checks)


def assess(rule: ProjectRule, certificate: CertificateRule | None) -> Assessment:
    cert_type = pl.col("certificate.type")
    offered: list[pl.Expr] = []
    amount: pl.Expr = pl.lit(None, dtype=MONEY)
    result = Assessment(amount=amount)
    for name, t in rule.types.items():
        mine = (cert_type == name) & pl.col("claimant").is_in(list(t.claimants))
        offered.append(mine)
        type_amount, steps = _by_type(name, t)
        result.steps += steps
        if type_amount is not None:
            amount = pl.when(mine).then(type_amount).otherwise(amount)
    for claimant, rate in rule.by_claimant.items():
        part = _by_claimant(claimant, rate)
        result.extend(part)
        amount = pl.when(pl.col("claimant") == claimant).then(part.amount).otherwise(amount)
    result.checks.append(
        Check(
            "not_offered",
            ~pl.any_horizontal(offered) if offered else pl.lit(True),
            text(
                "项目制培训不补贴该证书类型与申请人的组合（{}，{}）", cert_type, pl.col("claimant")
            ),
            rule.reference,
        )
    )
    if rule.trainee_residency and certificate is not None:
        result.checks += residency(
            certificate.residency, pl.lit(True), rule.trainee_residency_reference
        )
    result.amount = amount
    return result
