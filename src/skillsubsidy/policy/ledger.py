"""Ledger checks over a trainee's granted claims (POLICY.md §9).

Per jurisdiction and trainee, claims are taken in order — the history first, then the batch by
``applied_on`` (ties: input order) — and each is checked against the claims *granted* before
it. Whether a claim is granted depends on the earlier ones, so this is a scan; it is linear in
the batch: one sort, then one pass over the trainees who have more than one claim.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import polars as pl

from skillsubsidy.policy.schema import LedgerRules

LedgerFinding = tuple[str, str, str]  # reason, text, clause


def ledger_keys(frame: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """The columns the scan reads, derived from a validated claim frame."""
    kind = pl.col("kind")
    cert_type = pl.col("certificate.type").fill_null("")
    occ = pl.col("_occupation").fill_null("")
    level = pl.col("_level").cast(pl.String).fill_null("")
    year = pl.col("applied_on").dt.year()
    renewal = pl.col("certificate.renewal").fill_null(False)
    duplicate_key = (
        pl.when(kind.is_in(["certificate", "master_apprentice"]))
        .then(pl.concat_str(pl.lit("C"), cert_type, occ, level, separator="|"))
        .when(kind == "project")
        .then(pl.concat_str(pl.lit("P"), cert_type, occ, separator="|"))
        .when(kind == "enterprise_training")
        .then(pl.concat_str(pl.lit("E"), occ, level, year.cast(pl.String), separator="|"))
        .when(kind == "new_skill_cert")
        .then(
            pl.concat_str(
                pl.lit("N"),
                pl.when(cert_type == "special_operation").then(pl.lit("SO")).otherwise(level),
                separator="|",
            )
        )
    )
    return frame.lazy().select(
        "_idx",
        "jurisdiction",
        pl.col("person.id_number").alias("_pid"),
        "applied_on",
        kind,
        year.alias("_year"),
        duplicate_key.alias("_dup_key"),
        # a renewal is not a second certificate; it still records the occupation
        ~((kind == "project") & renewal).alias("_dup_checked"),
        pl.when(kind == "entrepreneurship")
        .then(pl.coalesce("training.enrolled_on", "applied_on").dt.year())
        .alias("_ent_year"),
        pl.when(kind == "entrepreneurship").then(pl.col("training.course")).alias("_course"),
        ((kind == "certificate") & (pl.col("claimant") == "school")).alias("_school_cert"),
    )


@dataclass
class _Trainee:
    per_year: Counter[int] = field(default_factory=Counter)
    duplicate_keys: set[str] = field(default_factory=set)
    entrepreneurship_years: set[int] = field(default_factory=set)
    courses: set[str] = field(default_factory=set)
    school_certificate: bool = False
    new_skill_certs: int = 0

    def grant(
        self,
        year: int,
        key: str | None,
        ent_year: int | None,
        course: str | None,
        school: bool,
        kind: str,
    ) -> None:
        self.per_year[year] += 1
        if key:
            self.duplicate_keys.add(key)
        if ent_year is not None:
            self.entrepreneurship_years.add(ent_year)
        if course:
            self.courses.add(course)
        self.school_certificate |= school
        self.new_skill_certs += kind == "new_skill_cert"


def scan(
    batch: pl.DataFrame,
    history: pl.DataFrame | None,
    rules_of: dict[int, LedgerRules],
    first_only_reference: dict[int, str],
) -> dict[int, list[LedgerFinding]]:
    """Findings per batch ``_idx``.

    ``batch`` holds ``ledger_keys`` columns plus ``_period_no`` (the pack period deciding the
    claim), ``_pre_ok`` (no other check failed) and ``_first_only`` (a first-certificate-only
    new_skill_cert). ``history`` holds ``ledger_keys`` columns of claims granted before.
    """
    frames = [batch.with_columns(pl.lit(1, dtype=pl.Int8).alias("_phase"))]
    if history is not None and history.height:
        frames.append(
            history.with_columns(
                pl.lit(0, dtype=pl.Int8).alias("_phase"),
                pl.lit(None, dtype=pl.Int32).alias("_period_no"),
                pl.lit(True).alias("_pre_ok"),
                pl.lit(False).alias("_first_only"),
            ).select(frames[0].columns)
        )
    rows = pl.concat(frames, how="vertical_relaxed")
    group = ["jurisdiction", "_pid"]
    # only trainees with something earlier to compare against need the scan
    rows = rows.filter(
        (pl.len().over(group) > 1) & ((pl.col("_phase") == 1).sum().over(group) > 0)
    ).sort([*group, "_phase", "applied_on", "_idx"])
    findings: dict[int, list[LedgerFinding]] = {}
    if rows.height == 0:
        return findings
    cols = {c: rows[c].to_list() for c in rows.columns}
    trainee = _Trainee()
    previous: tuple[str, str] | None = None
    for i in range(rows.height):
        who = (cols["jurisdiction"][i], cols["_pid"][i])
        if who != previous:
            trainee, previous = _Trainee(), who
        kind, year, key = cols["kind"][i], cols["_year"][i], cols["_dup_key"][i]
        ent_year, course = cols["_ent_year"][i], cols["_course"][i]
        school = cols["_school_cert"][i]
        if cols["_phase"][i] == 0:
            trainee.grant(year, key, ent_year, course, school, kind)
            continue
        rules = rules_of.get(cols["_period_no"][i])
        found: list[LedgerFinding] = []
        if rules is not None:
            limit = rules.annual_limit
            if limit and trainee.per_year[year] >= limit.count:
                found.append(
                    (
                        "annual_limit_reached",
                        f"{year} 年已享受 {trainee.per_year[year]} 次培训补贴，每人每年不超过 {limit.count} 次",
                        limit.reference,
                    )
                )
            dup = rules.duplicate_occupation_level
            if dup and key and cols["_dup_checked"][i] and key in trainee.duplicate_keys:
                found.append(
                    (
                        "duplicate_occupation_level",
                        "同一职业（工种）同一等级已享受过补贴，不得重复享受",
                        dup.reference,
                    )
                )
            ent = rules.entrepreneurship_repeat
            if (
                ent
                and kind == "entrepreneurship"
                and (ent_year in trainee.entrepreneurship_years or course in trainee.courses)
            ):
                found.append(
                    (
                        "entrepreneurship_repeat",
                        f"创业培训当年度只可参加一项、合格后不可重复参训（{ent_year} 年 / {course}）",
                        ent.reference,
                    )
                )
            grad = rules.graduating_year_once
            if grad and school and trainee.school_certificate:
                found.append(
                    (
                        "graduating_year_used",
                        "毕业学年已享受过一次院校组织的职业资格培训补贴",
                        grad.reference,
                    )
                )
        if cols["_first_only"][i] and trainee.new_skill_certs:
            found.append(
                (
                    "not_first_certificate",
                    "已享受过取证补贴，中级工取证补贴仅限初次取证",
                    first_only_reference.get(cols["_period_no"][i], ""),
                )
            )
        if found:
            findings[cols["_idx"][i]] = found
        elif cols["_pre_ok"][i]:
            trainee.grant(year, key, ent_year, course, school, kind)
    return findings
