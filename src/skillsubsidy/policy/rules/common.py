"""Checks every pack shares in kind (POLICY.md §3) and fund routing (§10), from pack data."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np
import polars as pl

from skillsubsidy.policy.conditions import any_of, compile_condition
from skillsubsidy.policy.rules.base import Check, Step, choose, const, text
from skillsubsidy.policy.schema import AgeRule, DeadlineRule, FilingRule, Funds, Residency
from skillsubsidy.policy.vocabulary import CLAIMANT_NAMES, DISTRICT_NAMES

AGE = pl.col("_age")


def age_limits(rule: AgeRule) -> tuple[list[Check], list[Step]]:
    """Age at enrolment (else certificate, else application) within the working-age bounds."""
    too_young = rule.minimum > AGE
    young = Check(
        "age_out_of_range",
        too_young,
        text(f"年龄 {{}} 周岁（以 {{}} 计），低于 {rule.minimum} 周岁", AGE, pl.col("_age_on")),
        rule.reference,
    )
    if rule.maximum is None:
        return [young], []
    male = pl.col("_male")
    bound = pl.when(male).then(rule.maximum["male"]).otherwise(rule.maximum["female"])
    for w in rule.widened:
        sex_ok = male if w.sex == "male" else ~male
        bound = pl.when(compile_condition(w.when) & sex_ok).then(w.maximum).otherwise(bound)
    over = bound < AGE
    beyond_ok = (
        compile_condition(rule.beyond_maximum_if) if rule.beyond_maximum_if else pl.lit(False)
    )
    sex = choose(male, const("男性"), const("女性"))
    old = Check(
        "age_out_of_range",
        over & ~beyond_ok,
        text(
            "年龄 {} 周岁（以 {} 计），超过{} {} 周岁上限，且不符合不设年龄上限的条件（"
            + (rule.beyond_maximum_if or "无")
            + "）",
            AGE,
            pl.col("_age_on"),
            sex,
            bound,
        ),
        rule.reference,
    )
    allowed = Step(
        text(
            "年龄 {} 周岁，超过{} {} 周岁上限，但符合不设年龄上限的条件（"
            + (rule.beyond_maximum_if or "")
            + "）",
            AGE,
            sex,
            bound,
        ),
        rule.reference,
        shown=over & beyond_ok,
    )
    return [young, old], [allowed]


def claim_deadline(rule: DeadlineRule | None) -> list[Check]:
    """Apply within a year of the certificate's issue (same month and day is still in time)."""
    if rule is None:
        return []
    issued, applied = pl.col("certificate.issued_on"), pl.col("applied_on")
    last_day = issued.dt.offset_by(f"{rule.months_after_issue}mo")
    if rule.months_after_issue % 12 == 0:
        # whole years: the last day looked up by day number (a million claims cannot afford
        # calendar arithmetic); the text above still shows it as offset_by computes it
        late = _days(applied) > _days(issued) + years_later(issued, rule.months_after_issue // 12)
    else:
        late = applied > last_day
    return [
        Check(
            "deadline_passed",
            issued.is_not_null() & late,
            text(
                "证书核发日期 {}，申请日期 {}，已超过核发之日起的申请期限（截止 {}）",
                issued,
                pl.col("applied_on"),
                last_day,
            ),
            rule.reference,
        )
    ]


# The Gregorian calendar repeats every 400 years, which are exactly 146,097 days: a table of
# one cycle gives, for any date, how many days later the same day n years on falls.
_CYCLE_DAYS = 146_097


@cache
def _years_later_table(years: int) -> pl.Series:
    """Days from each day of a 400-year cycle (day 0 = 1970-01-01) to the same day
    ``years`` later; 29 February goes to 28 February in a common year (as ``offset_by``)."""
    day = np.arange(_CYCLE_DAYS).astype("datetime64[D]")
    year = day.astype("datetime64[Y]")
    month = day.astype("datetime64[M]")
    target_month = (year + years).astype("datetime64[M]") + (month - year.astype("datetime64[M]"))
    day_of_month = day - month.astype("datetime64[D]")
    target = target_month.astype("datetime64[D]") + day_of_month
    # a 29 February that rolled into 1 March of a common year goes back to 28 February
    overflow = target.astype("datetime64[M]") != target_month
    target[overflow] = target_month[overflow].astype("datetime64[D]") + 27
    return pl.Series((target - day).astype(np.int32))


def years_later(date: pl.Expr, years: int) -> pl.Expr:
    """Days from ``date`` to the same day ``years`` later (see ``_years_later_table``)."""
    return pl.lit(_years_later_table(years)).gather(_days(date) % _CYCLE_DAYS)


def _days(date: pl.Expr) -> pl.Expr:
    return date.to_physical().cast(pl.Int64)


def training_filing(rule: FilingRule | None) -> tuple[list[Check], list[Check]]:
    """先备案、后开班: filed on or before the start; a soft warning when filed late."""
    if rule is None:
        return [], []
    scopes = [
        (pl.col("kind") == s.kind) & (pl.col("_route") == s.route if s.route else pl.lit(True))
        for s in rule.required_for
    ]
    required = pl.any_horizontal(scopes) if scopes else pl.lit(False)
    if rule.exempt_if:
        required = required & ~compile_condition(rule.exempt_if)
    filed, starts = pl.col("training.filed_on"), pl.col("training.starts_on")
    after_start = starts.is_not_null() & (filed > starts)
    not_filed = Check(
        "training_not_filed",
        required & (filed.is_null() | after_start),
        choose(
            filed.is_null(),
            const("培训班未备案（缺少备案日期），不得享受培训补贴"),
            text("培训班 {} 开班，{} 才备案，不符合先备案、后开班", starts, filed),
        ),
        rule.reference,
    )
    warnings = []
    if rule.late_warning_days:
        days = (starts - filed).dt.total_days()
        warnings.append(
            Check(
                "filed_late",
                required & filed.is_not_null() & ~after_start & (days < rule.late_warning_days),
                text(
                    f"培训班 {{}} 开班，{{}} 备案，少于一般要求的开班前 {rule.late_warning_days} 日",
                    starts,
                    filed,
                ),
                rule.reference,
            )
        )
    return [not_filed], warnings


def residency(rule: Residency, applies: pl.Expr, reference: str | None = None) -> list[Check]:
    """The trainee's tie to the area (户籍, 居住证, 参保, 就业…): one condition suffices.
    ``reference``: the clause that applies the condition, when not the condition's own."""
    checks = [
        Check(
            "residency_not_met",
            applies & ~any_of(rule.any_of),
            const(f"不符合{rule.label}（以下之一：" + "；".join(rule.any_of) + "）"),
            reference or rule.reference,
        )
    ]
    if rule.excluded:
        checks.append(
            Check(
                "excluded_public_servant",
                applies & compile_condition(rule.excluded),
                const(f"不属于补贴对象：{rule.excluded}"),
                rule.excluded_reference or rule.reference,
            )
        )
    return checks


def offered_to(claimants: Sequence[str], reference: str, what: str) -> Check:
    """The claimant must be one the pack names for this kind."""
    names = "、".join(CLAIMANT_NAMES[c] for c in claimants)
    return Check(
        "not_offered",
        ~pl.col("claimant").is_in(list(claimants)),
        text(f"{what}由{names}申领，本申请人（{{}}）不在其列", pl.col("claimant")),
        reference,
    )


def fund_routing(funds: Funds) -> tuple[pl.Expr, pl.Expr]:
    """(fund district, why) — first matching route; a missing district falls back to the
    claim's own ``district`` (where it was filed)."""
    fund: pl.Expr = pl.lit(None, dtype=pl.String)
    label: pl.Expr = pl.lit(None, dtype=pl.String)
    for route in reversed(funds.routes):
        w = route.when
        parts = [pl.lit(True)]
        if w.kind:
            parts.append(pl.col("kind").is_in(list(w.kind)))
        if w.claimant:
            parts.append(pl.col("claimant").is_in(list(w.claimant)))
        if w.route:
            parts.append(pl.col("_route").is_in(list(w.route)))
        if w.condition:
            parts.append(compile_condition(w.condition))
        match = pl.all_horizontal(parts)
        value = pl.col(route.source) if route.source else pl.lit(route.code, dtype=pl.String)
        fund = pl.when(match).then(value).otherwise(fund)
        label = pl.when(match).then(const(route.label).expr()).otherwise(label)
    fund = pl.coalesce(fund, pl.col("district"))
    if funds.merge:
        fund = fund.replace(funds.merge)
    return fund, label


def district_name(code: pl.Expr) -> pl.Expr:
    return code.replace_strict(DISTRICT_NAMES, default=code, return_dtype=pl.String)


__all__ = [
    "age_limits",
    "claim_deadline",
    "district_name",
    "fund_routing",
    "offered_to",
    "residency",
    "training_filing",
]
