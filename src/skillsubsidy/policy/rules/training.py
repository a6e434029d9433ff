"""Flat and tiered per-trainee subsidies: 岗前技能培训 (pre_job), 企业新型学徒制
(apprenticeship), 创业培训 (entrepreneurship), and the county's 企业职工培训
(enterprise_training) and 订单式培训 (order_training)."""

from __future__ import annotations

import polars as pl

from skillsubsidy.policy.conditions import compile_condition
from skillsubsidy.policy.rules.base import (
    Assessment,
    Check,
    Step,
    const,
    flag,
    lookup,
    max_money,
    min_money,
    money,
    number,
    percent,
    plain,
    text,
    times,
    yuan,
)
from skillsubsidy.policy.rules.common import offered_to
from skillsubsidy.policy.schema import (
    ApprenticeshipRule,
    EnterpriseTrainingRule,
    EntrepreneurshipRule,
    OrderTrainingRule,
    PreJobEmployer,
    PreJobRule,
)

HOURS = pl.col("training.hours").fill_null(0)
DAYS = pl.col("training.days").fill_null(0)
CLAIMANT = pl.col("claimant")


def assess_pre_job(rule: PreJobRule) -> Assessment:
    """000 一(三): 200 元/人 for at least 8 hours, to a new hire's employer or, for domestic
    service workers, to the training institution."""
    result = Assessment(amount=money(rule.amount))
    result.checks.append(offered_to(list(rule.claimants), rule.reference, "岗前技能培训补贴"))
    result.checks.append(
        Check(
            "hours_below_minimum",
            money(rule.minimum_hours) > HOURS,
            text(f"培训 {{}} 课时，不足 {plain(rule.minimum_hours)} 课时（1天）", number(HOURS)),
            rule.reference,
        )
    )
    for claimant, spec in rule.claimants.items():
        mine = CLAIMANT == claimant
        result.steps.append(
            Step(const(f"{spec.label}：{plain(rule.amount)} 元/人"), spec.reference, shown=mine)
        )
        if isinstance(spec, PreJobEmployer):
            hired = pl.col("employer.hired_on")
            deadline = hired.dt.offset_by(f"{spec.new_hire_months}mo")
            began = pl.col("_training_began")
            result.checks.append(
                Check(
                    "not_new_hire",
                    mine & (hired.is_null() | (began > deadline) | (began < hired)),
                    text(
                        f"劳动合同签订日 {{}}，培训 {{}} 开始，不在签订之日起 {spec.new_hire_months} 个月内",
                        hired,
                        began,
                    ),
                    spec.reference,
                )
            )
        else:
            result.checks.append(
                Check(
                    "not_offered",
                    mine & ~compile_condition(spec.requires),
                    const(f"{spec.label}：须满足 {spec.requires}"),
                    spec.reference,
                )
            )
    return result


def assess_apprenticeship(rule: ApprenticeshipRule) -> Assessment:
    """Employee apprentices by the training fee; student apprentices by the allowance paid."""
    a_type = pl.col("apprentice.type")
    fee = pl.col("apprentice.fee").fill_null(0)
    employee, student = a_type == "employee", a_type == "student"
    e = rule.employee
    result = Assessment(amount=pl.lit(None))
    result.checks.append(offered_to(rule.claimants, rule.reference, "企业新型学徒制培训补贴"))
    result.checks.append(
        Check(
            "not_offered",
            a_type.is_null(),
            const("学徒类型未填（职工学徒或学生学徒），无法确定补贴标准"),
            rule.reference,
        )
    )
    if e.kind == "fee_share":
        assert e.full_below and e.share and e.floor and e.cap and e.without_vocational_cert
        standard = (
            pl.when(fee <= money(e.full_below))
            .then(fee)
            .otherwise(min_money(max_money(times(fee, e.share), money(e.floor)), money(e.cap)))
        )
        cert = flag("apprentice.vocational_cert")
        emp_amount = (
            pl.when(cert).then(standard).otherwise(times(standard, e.without_vocational_cert))
        )
        result.steps += [
            Step(
                text(
                    f"职工学徒实际培训费 {{}} 元：不高于 {plain(e.full_below)} 元按实，否则取 "
                    f"{percent(e.share)} 与 {plain(e.floor)} 元之高者，最高 {plain(e.cap)} 元：{{}} 元",
                    yuan(fee),
                    yuan(standard),
                ),
                e.reference,
                shown=employee,
            ),
            Step(
                text(
                    f"仅取得培训合格证书，按标准的 {percent(e.without_vocational_cert)} 支付：{{}} 元",
                    yuan(emp_amount),
                ),
                e.reference,
                shown=employee & ~cert,
            ),
        ]
    elif e.kind == "ceiling":
        assert e.cap is not None
        cap = money(e.cap)
        if e.uplift:
            u = e.uplift
            applies = compile_condition(u.if_) & (
                pl.col("_training_began") <= pl.lit(u.training_began_by)
            )
            cap = pl.when(applies).then(money(e.cap * u.factor)).otherwise(cap)
            result.steps.append(
                Step(
                    text(
                        f"{u.training_began_by:%Y}年底前开始的培训，企业属（{u.if_}），"
                        f"上限上浮 {percent(u.factor - 1)}：{{}} 元",
                        yuan(cap),
                    ),
                    u.reference,
                    shown=employee & applies,
                )
            )
        emp_amount = min_money(fee, cap)
        result.steps.append(
            Step(
                text(
                    "职工学徒实际培训费 {} 元，不超过 {} 元按实补贴：{} 元",
                    yuan(fee),
                    yuan(cap),
                    yuan(emp_amount),
                ),
                e.reference,
                shown=employee,
            )
        )
    else:
        assert e.amount is not None
        emp_amount = money(e.amount)
        result.steps.append(
            Step(
                const(f"企业职工参加新型学徒制培训：每人每年 {plain(e.amount)} 元"),
                e.reference,
                shown=employee,
            )
        )
    s = rule.student
    if s is None:
        stu_amount: pl.Expr = money(0)
        result.checks.append(
            Check("not_offered", student, const("本办法不补贴学生学徒"), rule.reference)
        )
    else:
        paid = (
            pl.col("apprentice.allowance_paid")
            if s.kind == "allowance"
            else pl.col("apprentice.fee")
        ).fill_null(0)
        stu_amount = min_money(paid, money(s.cap))
        what = "企业支付的实习津贴" if s.kind == "allowance" else "实际培训费"
        result.steps.append(
            Step(
                text(
                    f"学生学徒{what} {{}} 元，每人每年不高于 {plain(s.cap)} 元：{{}} 元",
                    yuan(paid),
                    yuan(stu_amount),
                ),
                s.reference,
                shown=student,
            )
        )
        if s.requires:
            result.checks.append(
                Check(
                    "no_labour_contract",
                    student & ~compile_condition(s.requires),
                    const(f"培训后企业未与学徒签订劳动合同并缴纳社会保险（须 {s.requires}）"),
                    s.reference,
                )
            )
    result.amount = pl.when(employee).then(emp_amount).otherwise(stu_amount)
    return result


def assess_entrepreneurship(rule: EntrepreneurshipRule) -> Assessment:
    """SYB/IYB 1000, online / 互联网+ / 8+X 1500; 70 % unless a business starts in 6 months."""
    course = pl.col("training.course")
    standard = lookup(course, dict(rule.courses))
    started = flag("business_started_within_6_months")
    amount = pl.when(started).then(standard).otherwise(times(standard, rule.not_started_ratio))
    return Assessment(
        amount=amount,
        steps=[
            Step(text("创业培训（{}）：{} 元/人", course, yuan(standard)), rule.reference),
            Step(
                text(
                    f"培训后 6 个月内未实现创业就业，按标准的 {percent(rule.not_started_ratio)}：{{}} 元",
                    yuan(amount),
                ),
                rule.reference,
                shown=~started,
            ),
        ],
        checks=[
            offered_to(rule.claimants, rule.reference, "创业培训补贴"),
            Check(
                "not_offered",
                standard.is_null(),
                const("创业培训项目未填或不在补贴目录（SYB、IYB、网上创业、互联网+、8+X）"),
                rule.reference,
            ),
        ],
    )


def assess_enterprise_training(rule: EnterpriseTrainingRule) -> Assessment:
    """004 四(一)2: 300 元/人 when the training lasted 3 days or 24 hours."""
    long_enough = (money(rule.minimum_days) <= DAYS) | (money(rule.minimum_hours) <= HOURS)
    return Assessment(
        amount=money(rule.amount),
        steps=[Step(const(f"企业职工培训：每人 {plain(rule.amount)} 元"), rule.reference)],
        checks=[
            offered_to(rule.claimants, rule.reference, "企业职工技能培训补贴"),
            Check(
                "hours_below_minimum",
                ~long_enough,
                text(
                    f"培训 {{}} 天 / {{}} 学时，累计不少于 {plain(rule.minimum_days)} 天"
                    f"（或 {plain(rule.minimum_hours)} 学时）",
                    number(DAYS),
                    number(HOURS),
                ),
                rule.reference,
            ),
        ],
    )


def assess_order_training(rule: OrderTrainingRule) -> Assessment:
    """004 四(二): first 10 days at 150, later days at 100, at most 5000 per trainee, when at
    least 80 % of the trainees found work."""
    first = min_money(DAYS, money(rule.first_days))
    later = max_money(DAYS - money(rule.first_days), money(0))
    amount = min_money(
        times(first, rule.first_rate) + times(later, rule.later_rate), money(rule.cap)
    )
    rate = pl.col("training.employment_rate")
    return Assessment(
        amount=amount,
        steps=[
            Step(
                text(
                    f"培训 {{}} 天：前 {rule.first_days} 天每天 {plain(rule.first_rate)} 元，之后每天 "
                    f"{plain(rule.later_rate)} 元，最高 {plain(rule.cap)} 元：{{}} 元",
                    number(DAYS),
                    yuan(amount),
                ),
                rule.reference,
            )
        ],
        checks=[
            offered_to(rule.claimants, rule.reference, "订单式培训补贴"),
            Check(
                "employment_rate_below_minimum",
                rate.fill_null(0) < money(rule.minimum_employment_rate),
                text(
                    f"培训后就业率 {{}}，未达到 {percent(rule.minimum_employment_rate)}",
                    number(rate),
                ),
                rule.reference,
            ),
        ],
    )
