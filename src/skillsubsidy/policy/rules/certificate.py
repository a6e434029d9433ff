"""职业资格/职业培训鉴定补贴 (certificate) and 以师带徒 (master_apprentice), POLICY.md §4–§7.

amount = standard(category, level) × shortage uplift × claimant ratio
         [+ designated-institution hours, capped]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from skillsubsidy.policy.claims import MICRO, MONEY
from skillsubsidy.policy.conditions import any_of, compile_condition
from skillsubsidy.policy.rules.base import (
    Assessment,
    Check,
    Step,
    const,
    dense_lookup,
    flag,
    level_name,
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
from skillsubsidy.policy.rules.common import offered_to, residency
from skillsubsidy.policy.schema import (
    CertificateRule,
    IndividualClaim,
    MasterApprenticeRule,
    OrganisationClaim,
)

OCC = pl.col("_occupation")
OCC_CODE = pl.col("_occ_code")
LEVEL = pl.col("_level")
CERT_TYPE = pl.col("certificate.type")
VOCATIONAL = CERT_TYPE == "vocational"
SPECIAL_ABILITY = CERT_TYPE == "special_ability"
STANDARD = pl.col("_standard")
BASE = pl.col("_base")


def _category_numbers(rule: CertificateRule) -> dict[str, int]:
    return {cat: n for n, cat in enumerate(rule.standards.vocational)}


def by_occupation(
    table: Mapping[str, Any],
    occupations: Sequence[str],
    dtype: pl.DataType | type[pl.DataType],
    default: Any = None,
) -> pl.Expr:
    """A table keyed by occupation name, read through the claim's occupation code
    (``_occ_code``: 1 + the name's position in ``occupations``, 0 for any other name)."""
    codes = {n + 1: table[name] for n, name in enumerate(occupations) if name in table}
    unknown = set(table) - set(occupations)
    assert not unknown, f"occupations missing from the catalogue's list: {sorted(unknown)}"
    return dense_lookup(OCC_CODE, codes, dtype, default)


def occupation_category_no(rule: CertificateRule, occupations: Sequence[str]) -> pl.Expr:
    """附件1: the category of a vocational certificate's occupation, as its number in the
    standards table (a number, so that the standard is an integer-keyed lookup)."""
    numbers = _category_numbers(rule)
    table = {occ: numbers[cat] for cat, occs in rule.categories.lists.items() for occ in occs}
    default = numbers[rule.categories.default]
    return pl.when(VOCATIONAL).then(by_occupation(table, occupations, pl.Int32(), default))


def occupation_category(rule: CertificateRule) -> pl.Expr:
    """The category's name (A/B/C/D) from its number."""
    numbers = _category_numbers(rule)
    names = {n: cat for cat, n in numbers.items()}
    return dense_lookup(pl.col("_category_no"), names, pl.String())


def in_shortage_list(rule: CertificateRule, occupations: Sequence[str]) -> pl.Expr:
    """紧缺职业（工种）: the occupation listed at this level, or (no published list) the
    claim's own statement."""
    s = rule.shortage
    if s.source == "claim":
        return VOCATIONAL & flag("certificate.in_shortage_list")
    # one lookup of the level range, packed as highest × 10 + lowest
    packed = by_occupation(
        {k: v[0] * 10 + v[1] for k, v in s.list.items()}, occupations, pl.Int32()
    )
    highest, lowest = packed // 10, packed % 10
    return (VOCATIONAL & (highest >= LEVEL) & (lowest <= LEVEL)).fill_null(False)


def certificate_standard(rule: CertificateRule, occupations: Sequence[str]) -> Assessment:
    """The catalogue standard with the shortage uplift: column ``_base``."""
    std = rule.standards
    # one integer key per (category, level): category number × 10 + level
    numbers = _category_numbers(rule)
    voc_table = {
        numbers[cat] * 10 + level: amount
        for cat, levels in std.vocational.items()
        for level, amount in levels.items()
    }
    vocational = lookup(pl.col("_category_no") * 10 + LEVEL, voc_table)
    special = lookup(LEVEL, dict(std.special_ability))
    standard = pl.when(VOCATIONAL).then(vocational).when(SPECIAL_ABILITY).then(special)
    categorised = bool(rule.categories.lists)
    label = text("{}类 ", pl.col("category")) if categorised else const("")
    steps = [
        Step(
            text("{}：{}类职业（工种）", OCC, pl.col("category")),
            rule.categories.reference,
            shown=VOCATIONAL if categorised else pl.lit(False),
        ),
        Step(
            text("{}{} 补贴标准 {} 元", label, level_name(LEVEL), yuan(STANDARD)),
            std.reference,
            shown=VOCATIONAL,
        ),
        Step(
            text("专项职业能力证书（{}）补贴标准 {} 元", level_name(LEVEL), yuan(STANDARD)),
            std.reference,
            shown=SPECIAL_ABILITY,
        ),
        Step(
            text(
                f"{{}} {{}} 属紧缺职业（工种），上浮 {percent(rule.shortage.factor - 1)}：{{}} 元",
                OCC,
                level_name(LEVEL),
                yuan(BASE),
            ),
            rule.shortage.reference,
            shown=pl.col("shortage"),
        ),
    ]
    not_a_certificate = Check(
        "not_offered",
        ~(VOCATIONAL | SPECIAL_ABILITY) | STANDARD.is_null(),
        text("{} 不属于本补贴的证书类型或等级", CERT_TYPE),
        std.reference,
    )
    return Assessment(
        amount=BASE,
        steps=steps,
        checks=[not_a_certificate],
        columns={
            "_category_no": occupation_category_no(rule, occupations),
            "category": occupation_category(rule),
            "shortage": in_shortage_list(rule, occupations),
            "_standard": standard,
            "_base": pl.when(pl.col("shortage"))
            .then(times(STANDARD, rule.shortage.factor))
            .otherwise(STANDARD),
        },
    )


def _claim_route(claimant: str, route: str | None) -> pl.Expr:
    match = pl.col("claimant") == claimant
    return match & (pl.col("_route") == route) if route else match


def assess(rule: CertificateRule, occupations: Sequence[str]) -> Assessment:
    result = certificate_standard(rule, occupations)
    # the amount by claimant and route: the base × that route's ratio
    ratioed: pl.Expr = pl.lit(None, dtype=MONEY)
    offered: list[pl.Expr] = []
    for claimant, spec in rule.claimants.items():
        if isinstance(spec, IndividualClaim):
            for route, r in spec.routes.items():
                match = _claim_route(claimant, route)
                offered.append(match)
                ratioed = pl.when(match).then(times(BASE, r.ratio)).otherwise(ratioed)
                result.steps.append(
                    Step(
                        text(
                            f"{r.label}，按标准的 {percent(r.ratio)} 补贴：{{}} 元",
                            yuan(pl.col("_amount")),
                        ),
                        r.reference,
                        shown=match,
                    )
                )
            continue
        result.extend(_organisation(rule, claimant, spec))
        match = _claim_route(claimant, None)
        offered.append(match)
        ratioed = pl.when(match).then(times(BASE, spec.ratio)).otherwise(ratioed)
    result.checks.append(
        Check(
            "not_offered",
            ~pl.any_horizontal(offered),
            text(
                "本办法不补贴该申领方式（申请人 {}，途径 {}）", pl.col("claimant"), pl.col("_route")
            ),
            rule.reference,
        )
    )
    result.checks += residency(rule.residency, pl.col("claimant") == "individual")
    if rule.skill_upgrade_exclusion:
        result.checks.append(
            Check(
                "duplicate_occupation_level",
                flag("certificate.skill_upgrade_subsidy_received"),
                const("已申领技能提升补贴的不得申请"),
                rule.skill_upgrade_exclusion.reference,
            )
        )
    amount = ratioed
    for claimant, spec in rule.claimants.items():
        if isinstance(spec, OrganisationClaim) and spec.hours:
            amount = (
                pl.when(pl.col("claimant") == claimant).then(_with_hours(spec)).otherwise(amount)
            )
    result.columns["_amount"] = amount
    result.amount = pl.col("_amount")
    return result


def _organisation(rule: CertificateRule, claimant: str, spec: OrganisationClaim) -> Assessment:
    """Employer / school / designated institution: ratio, requirements and scope."""
    mine = pl.col("claimant") == claimant
    out = Assessment(amount=pl.lit(None))
    out.steps.append(
        Step(
            text(
                f"{spec.label}，按标准的 {percent(spec.ratio)} 补贴：{{}} 元",
                yuan(times(BASE, spec.ratio)),
            ),
            spec.reference,
            shown=mine,
        )
    )
    if spec.refused_if:
        out.checks.append(
            Check(
                "not_offered",
                mine & compile_condition(spec.refused_if),
                const(f"{spec.label}：不含（{spec.refused_if}）"),
                spec.refused_reference or spec.reference,
            )
        )
    if spec.requires:
        reason = (
            "not_graduating_year" if "graduating_year_student" in spec.requires else "not_offered"
        )
        out.checks.append(
            Check(
                reason,
                mine & ~compile_condition(spec.requires),
                const(f"须满足：{spec.requires}"),
                spec.reference,
            )
        )
    if spec.scope_any_of:
        out.checks.append(
            Check(
                "not_offered",
                mine & ~any_of(spec.scope_any_of),
                const(f"{spec.label}只承担以下培训之一：" + "；".join(spec.scope_any_of)),
                spec.reference,
            )
        )
    if spec.hours:
        h = spec.hours
        minimum = dense_lookup(LEVEL, dict(h.minimum), pl.Int32())
        hours = pl.col("training.hours").fill_null(0)
        out.checks.append(
            Check(
                "hours_below_minimum",
                mine & VOCATIONAL & (hours < minimum * MICRO),
                text(
                    f"{h.hours_note} {{}}，低于{{}}最低 {{}} 课时",
                    number(hours),
                    level_name(LEVEL),
                    minimum,
                ),
                h.reference,
            )
        )
        out.steps.append(
            Step(
                text(
                    f"{h.hours_note} {{}}，超过最低 {{}} 课时的部分每课时加 {plain(h.extra_per_hour)} 元，"
                    f"最高为标准的 {percent(h.cap_multiple)}：{{}} 元",
                    number(hours),
                    minimum,
                    yuan(pl.col("_amount")),
                ),
                h.reference,
                shown=mine & VOCATIONAL,
            )
        )
    return out


def _with_hours(spec: OrganisationClaim) -> pl.Expr:
    """003 一(一)2(4): base + (hours − minimum) × 20, at most 200 % of base."""
    assert spec.hours is not None
    h = spec.hours
    minimum = dense_lookup(LEVEL, dict(h.minimum), pl.Int32())
    extra_hours = max_money(
        pl.col("training.hours").fill_null(0) - minimum.cast(MONEY) * MICRO, money(0)
    )
    base = times(BASE, spec.ratio)
    topped = min_money(base + times(extra_hours, h.extra_per_hour), times(base, h.cap_multiple))
    return pl.when(VOCATIONAL).then(topped).otherwise(base)


def assess_master_apprentice(
    rule: MasterApprenticeRule, certificate: CertificateRule, occupations: Sequence[str]
) -> Assessment:
    """000 一(五): per certificate, the catalogue standard (with uplift), to the master studio."""
    result = certificate_standard(certificate, occupations)
    result.checks.append(offered_to(rule.claimants, rule.reference, "以师带徒培训补贴"))
    result.steps.append(
        Step(text("按取得证书人数和标准补贴大师工作室：{} 元", yuan(BASE)), rule.reference)
    )
    result.checks.append(
        Check(
            "not_offered",
            ~VOCATIONAL,
            const("以师带徒培训按取得职业资格证书补贴，专项能力证书不在其列"),
            rule.reference,
        )
    )
    return result
