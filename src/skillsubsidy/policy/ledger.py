"""Ledger checks over a trainee's granted claims (POLICY.md §9).

Per jurisdiction and trainee, claims are taken in order — the history first, then the batch by
``applied_on`` (ties: input order) — and each is checked against the claims *granted* before
it. Whether a claim is granted depends on the earlier ones, so this is a scan; it is linear in
the batch: one sort, then one pass over the trainees who have more than one claim.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import polars as pl

from skillsubsidy.policy.schema import LedgerRules

LedgerFinding = tuple[str, str, str]  # reason, text, clause


def ledger_keys(frame: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """The columns the scan reads, derived from a validated claim frame."""
    kind = pl.col("kind")
    cert_type = pl.col("certificate.type").cast(pl.String).fill_null("")
    occ = pl.col("_occupation").cast(pl.String).fill_null("")
    level = pl.col("_level").cast(pl.String).fill_null("")
    year = pl.col("applied_on").dt.year()
    renewal = pl.col("certificate.renewal").fill_null(False)
    # an occupation not given cannot be shown to be the same one: no key, no duplicate
    named = pl.col("_occupation").is_not_null()
    duplicate_key = (
        pl.when(
            kind.is_in(["certificate", "master_apprentice", "project", "enterprise_training"])
            & ~named
        )
        .then(pl.lit(None, dtype=pl.String))
        .when(kind.is_in(["certificate", "master_apprentice"]))
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
    """What one trainee has been granted so far in the scan."""

    per_year: Counter[int] = field(default_factory=Counter)
    duplicate_keys: set[str] = field(default_factory=set)
    entrepreneurship_years: set[int] = field(default_factory=set)
    courses: set[str] = field(default_factory=set)
    school_certificate: bool = False
    new_skill_certs: int = 0

    def grant(self, row: _Row) -> None:
        self.per_year[row.year] += 1
        if row.key:
            self.duplicate_keys.add(row.key)
        if row.ent_year is not None:
            self.entrepreneurship_years.add(row.ent_year)
        if row.course:
            self.courses.add(row.course)
        self.school_certificate |= row.school
        self.new_skill_certs += row.kind == "new_skill_cert"


class _Row(NamedTuple):
    who: str  # jurisdiction and ID number
    phase: int
    idx: int
    kind: str
    year: int
    key: str | None
    checked: bool
    ent_year: int | None
    course: str | None
    school: bool
    period_no: int | None
    pre_ok: bool
    first_only: bool


_ROW_COLUMNS = (
    "_person",
    "_phase",
    "_idx",
    "kind",
    "_year",
    "_dup_key",
    "_dup_checked",
    "_ent_year",
    "_course",
    "_school_cert",
    "_period_no",
    "_pre_ok",
    "_first_only",
)


def _who(frame: pl.DataFrame) -> pl.Series:
    """A trainee's key: jurisdiction and ID number, hashed (only to find candidates fast; the
    scan itself compares the real values through the sort)."""
    return frame.select(
        pl.concat_str("jurisdiction", "_pid", separator="|").hash().alias("_who")
    ).to_series()


def candidates(
    batch: pl.DataFrame, history: pl.DataFrame | None
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """The batch and history claims (``ledger_keys`` frames) of trainees with more than one
    claim: nobody else can fail a ledger check."""
    who = _who(batch)
    hist_who = _who(history) if history is not None and history.height else None
    everyone = pl.concat([who, hist_who]) if hist_who is not None else who
    repeated = everyone.filter(everyone.is_duplicated()).unique()
    batch = batch.with_columns(who.alias("_who")).filter(pl.col("_who").is_in(repeated))
    if hist_who is None or history is None:
        return batch, None
    history = history.with_columns(hist_who.alias("_who")).filter(
        pl.col("_who").is_in(batch["_who"].unique())
    )
    return batch, history


def scan(
    batch: pl.DataFrame,
    history: pl.DataFrame | None,
    rules_of: dict[int, LedgerRules],
    first_only_reference: dict[int, str],
) -> dict[int, list[LedgerFinding]]:
    """Findings per batch ``_idx``.

    ``batch`` holds ``ledger_keys`` columns plus ``_who`` (see ``candidates``), ``_period_no``
    (the pack period deciding the claim), ``_pre_ok`` (no other check failed) and
    ``_first_only`` (a first-certificate-only new_skill_cert). ``history`` holds ``ledger_keys``
    columns and ``_who`` of claims granted before.
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
    rows = pl.concat(frames, how="vertical_relaxed").sort(
        ["_who", "jurisdiction", "_pid", "_phase", "applied_on", "_idx"]
    )
    rows = _may_fail(rows, rules_of).select(
        pl.concat_str("jurisdiction", "_pid", separator="|").alias("_person"),
        *_ROW_COLUMNS[1:],
    )
    findings: dict[int, list[LedgerFinding]] = {}
    trainee = _Trainee()
    previous = None
    for row in map(_Row._make, zip(*(rows[c].to_list() for c in _ROW_COLUMNS), strict=True)):
        if row.who != previous:
            trainee, previous = _Trainee(), row.who
        if row.phase == 0:
            trainee.grant(row)
            continue
        found = _check(
            row, trainee, rules_of.get(row.period_no) if row.period_no is not None else None
        )
        if row.first_only and trainee.new_skill_certs:
            found.append(
                (
                    "not_first_certificate",
                    "已享受过取证补贴，中级工取证补贴仅限初次取证",
                    first_only_reference.get(row.period_no or 0, ""),
                )
            )
        if found:
            findings[row.idx] = found
        elif row.pre_ok:
            trainee.grant(row)
    return findings


def _may_fail(rows: pl.DataFrame, rules_of: dict[int, LedgerRules]) -> pl.DataFrame:
    """The rows of the trainees for whom some ledger check could fail.

    Supposing every claim that passed its other checks is granted, each check is a running
    count over the trainee's earlier claims (``_earlier``, no loop). A trainee none of whose
    claims fails under that supposition is done: nothing was refused, so the supposition
    held. Only the others need the exact scan, where a refusal changes what counts later.
    ``rows`` are in scan order.
    """

    def per_period(value: dict[int, object], dtype: pl.DataType) -> pl.Expr:
        return pl.col("_period_no").replace_strict(value, default=None, return_dtype=dtype)

    kind = pl.col("kind")
    facts = rows.select(
        pl.col("_who"),
        pl.col("_year").fill_null(0),
        pl.col("_dup_key").hash().alias("_dup"),
        pl.col("_ent_year").fill_null(0),
        pl.col("_course").cast(pl.String).hash().alias("_course"),
        pl.col("_pre_ok").cast(pl.Int32).alias("granted"),
        (pl.col("_phase") == 1).alias("batch"),
        (kind == "entrepreneurship").alias("ent"),
        (kind == "new_skill_cert").alias("nsc"),
        pl.col("_school_cert").fill_null(False).alias("school"),
        pl.col("_first_only").fill_null(False).alias("first_only"),
        (pl.col("_dup_checked") & pl.col("_dup_key").is_not_null()).fill_null(False).alias("dup"),
        per_period(
            {n: r.annual_limit.count for n, r in rules_of.items() if r.annual_limit}, pl.Int32()
        )
        .fill_null(np.iinfo(np.int32).max)
        .alias("limit"),
        *(
            per_period({n: True for n, r in rules_of.items() if getattr(r, rule)}, pl.Boolean())
            .fill_null(False)
            .alias(rule)
            for rule in (
                "duplicate_occupation_level",
                "entrepreneurship_repeat",
                "graduating_year_once",
            )
        ),
    )
    col = {name: facts[name].to_numpy() for name in facts.columns}
    who, granted = col["_who"], col["granted"]
    ent, school, nsc = granted * col["ent"], granted * col["school"], granted * col["nsc"]
    fails = col["batch"] & (
        (_earlier(granted, who, col["_year"]) >= col["limit"])
        | (
            col["duplicate_occupation_level"]
            & col["dup"]
            & (_earlier(granted, who, col["_dup"]) > 0)
        )
        | (
            col["entrepreneurship_repeat"]
            & col["ent"]
            & (
                (_earlier(ent, who, col["_ent_year"]) > 0)
                | (_earlier(ent, who, col["_course"]) > 0)
            )
        )
        | (col["graduating_year_once"] & col["school"] & (_earlier(school, who) > 0))
        | (col["first_only"] & (_earlier(nsc, who) > 0))
    )
    return rows.filter(pl.col("_who").is_in(pl.Series(np.unique(who[fails]))))


def _earlier(amount: np.ndarray, *keys: np.ndarray) -> np.ndarray:
    """Per row, the sum of ``amount`` over the rows before it with the same ``keys``.

    One stable sort by the keys keeps each group's rows in their order; an exclusive running
    sum then minus its value at the group's first row gives the sum before each row.
    """
    n = len(amount)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort(keys[::-1])  # stable; the last key given to lexsort is the primary
    ordered = amount[order].astype(np.int64)
    exclusive = np.cumsum(ordered) - ordered
    first = np.zeros(n, dtype=bool)
    first[0] = True
    for key in keys:
        k = key[order]
        first[1:] |= k[1:] != k[:-1]
    group_start = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    result = np.empty(n, dtype=np.int64)
    result[order] = exclusive - exclusive[group_start]
    return result


def _check(row: _Row, trainee: _Trainee, rules: LedgerRules | None) -> list[LedgerFinding]:
    """The ledger rules of the claim's pack against what the trainee was granted before."""
    found: list[LedgerFinding] = []
    if rules is None:
        return found
    limit = rules.annual_limit
    if limit and trainee.per_year[row.year] >= limit.count:
        found.append(
            (
                "annual_limit_reached",
                f"{row.year} 年已享受 {trainee.per_year[row.year]} 次培训补贴，每人每年不超过 {limit.count} 次",
                limit.reference,
            )
        )
    dup = rules.duplicate_occupation_level
    if dup and row.key and row.checked and row.key in trainee.duplicate_keys:
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
        and row.kind == "entrepreneurship"
        and (row.ent_year in trainee.entrepreneurship_years or row.course in trainee.courses)
    ):
        found.append(
            (
                "entrepreneurship_repeat",
                f"创业培训当年度只可参加一项、合格后不可重复参训（{row.ent_year} 年 / {row.course}）",
                ent.reference,
            )
        )
    grad = rules.graduating_year_once
    if grad and row.school and trainee.school_certificate:
        found.append(
            (
                "graduating_year_used",
                "毕业学年已享受过一次院校组织的职业资格培训补贴",
                grad.reference,
            )
        )
    return found
