"""The rules engine: a batch of claims in, one decision per claim out (POLICY.md, CONTRACT.md).

Flow (columnar, Polars):
  text columns ─ claims.validate ─► typed claims + record errors
  ─ derive (age, key date, occupation…) ─ choose the pack period by key date
  ─ per (pack period, kind): the pack's checks and the kind's rule ─► amount, reasons, steps
  ─ ledger.scan over history + batch ─► ledger reasons
  ─ assemble decisions (amount rounded once, half up, to the fen)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any

import orjson
import polars as pl

from skillsubsidy.policy import claims as claim_schema
from skillsubsidy.policy import ledger
from skillsubsidy.policy.loader import Catalogue, PackPeriod, default_catalogue
from skillsubsidy.policy.readers import records_frame
from skillsubsidy.policy.rules import certificate, new_skill_cert, project, training
from skillsubsidy.policy.rules.base import (
    Assessment,
    Check,
    Text,
    choose,
    const,
    flat_concat,
    fragment,
    json_text,
    rounded,
    text,
    yuan,
)
from skillsubsidy.policy.rules.common import (
    age_limits,
    claim_deadline,
    district_name,
    fund_routing,
    training_filing,
)
from skillsubsidy.policy.vocabulary import (
    CLAIMANT_NAMES,
    KIND_NAMES,
    REASONS,
    ROUTES,
    WARNINGS,
)

# reasons and warnings travel as bit masks (one bit per code) until written
REASON_BIT = {r: 1 << n for n, r in enumerate(REASONS)}
WARNING_BIT = {w: 1 << n for n, w in enumerate(WARNINGS)}
MAX_ENTRIES = 63  # explanation entries of one (pack period, kind): bits of a UInt64
NO_POLICY_CLAUSE = {"wenzhou": "000 五(六)", "jinhua": "002 六", "county": "POLICY.md §2"}
# history records need only what the ledger reads
HISTORY_FIELDS = {"id", "jurisdiction", "kind", "applied_on", "person.id_number"}
HISTORY_COLUMNS = HISTORY_FIELDS | {
    "claimant",
    "route",
    "certificate.type",
    "certificate.occupation",
    "certificate.level",
    "certificate.issued_on",
    "certificate.renewal",
    "training.enrolled_on",
    "training.course",
}


class HistoryError(ValueError):
    """History records that cannot be counted (the ledger would be wrong without them)."""


@dataclass(frozen=True)
class _Plan:
    """Everything one (pack period, kind) needs, compiled once (see ``_plan``)."""

    assessment: Assessment
    reasons: pl.Expr  # bit mask of the failed checks
    warnings: pl.Expr
    fragments: tuple[Text, ...]  # the explanation entries, as JSON objects
    text_columns: tuple[str, ...]  # columns the fragments read
    decided: tuple[pl.Expr, ...]  # the decision columns (see _DECIDED) and ``_shown``, the
    # bit mask of the explanation entries a claim shows


def _kind_assessment(period: PackPeriod, kind: str, occupations: Sequence[str]) -> Assessment:
    rules = period.kinds
    rule = rules.get(kind)
    cert = rules.get("certificate")
    if rule is None:
        return Assessment(
            amount=pl.lit(None).cast(claim_schema.MONEY),
            checks=[
                Check(
                    "not_offered",
                    pl.lit(True),
                    const(f"{period.info.document}不含{KIND_NAMES[kind]}"),
                    period.info.kinds_reference,
                )
            ],
        )
    match kind:
        case "certificate":
            return certificate.assess(rule, occupations)
        case "master_apprentice":
            assert cert is not None, "master_apprentice uses the pack's certificate standards"
            return certificate.assess_master_apprentice(rule, cert, occupations)
        case "project":
            return project.assess(rule, cert)
        case "pre_job":
            return training.assess_pre_job(rule)
        case "apprenticeship":
            return training.assess_apprenticeship(rule)
        case "entrepreneurship":
            return training.assess_entrepreneurship(rule)
        case "enterprise_training":
            return training.assess_enterprise_training(rule)
        case "order_training":
            return training.assess_order_training(rule)
        case "new_skill_cert":
            return new_skill_cert.assess(rule)
    raise AssertionError(kind)


def _plan(period: PackPeriod, period_no: int, kind: str, occupations: Sequence[str]) -> _Plan:
    result = _kind_assessment(period, kind, occupations)
    age_checks, age_steps = age_limits(period.conditions.age)
    filed, late = training_filing(period.conditions.filing)
    result.checks = [
        *age_checks,
        *claim_deadline(period.conditions.deadline),
        *filed,
        *result.checks,
    ]
    result.steps = [*age_steps, *result.steps]
    result.warnings += late
    fund, label = fund_routing(period.funds)
    pre_ok = pl.col("_reasons") == 0

    named = f"{period.info.document}（{period.id}）"
    key_date = choose(
        pl.col("certificate.issued_on").is_not_null(),
        text("证书核发日期 {}", pl.col("_key_date")),
        text("申请日期 {}", pl.col("_key_date")),
    )
    chosen = choose(
        pl.col("policy").is_not_null(),
        text(f"按申请指定的 {named} 评估，{{}}", key_date),
        text(f"适用 {named}：{{}}", key_date),
    )
    entries = [(pl.lit(True), fragment(chosen, period.info.selection.reference))]
    entries += [
        (pre_ok & (s.shown if s.shown is not None else pl.lit(True)), fragment(s.text, s.clause))
        for s in result.steps
    ]
    entries += [(c.failed, fragment(c.text, c.clause)) for c in [*result.checks, *result.warnings]]
    if len(entries) > MAX_ENTRIES:
        raise AssertionError(f"{period.id}/{kind}: {len(entries)} explanation entries")
    fragments = tuple(f for _, f in entries)
    text_columns = {
        name
        for f in fragments
        for piece in f.pieces
        if isinstance(piece, pl.Expr)
        for name in piece.meta.root_names()
    }

    first_only = pl.lit(False)
    nsc = period.kinds.get("new_skill_cert")
    if kind == "new_skill_cert" and nsc is not None:
        first_only = (pl.col("certificate.type") == "vocational") & pl.col("_level").is_in(
            nsc.first_certificate_only.levels
        )
    decided = (
        pl.lit(period.id).alias("_policy"),
        pl.lit(period_no, dtype=pl.Int32).alias("_period_no"),
        pre_ok.alias("_pre_ok"),
        pl.when(pre_ok)
        .then(result.amount)
        .otherwise(pl.lit(0))
        .cast(claim_schema.MONEY)
        .fill_null(0)
        .alias("_amount"),
        _bits((cond, 1 << n) for n, (cond, _) in enumerate(entries)).alias("_shown"),
        fund.alias("_fund"),
        label.alias("_fund_label"),
        first_only.fill_null(False).alias("_first_only"),
        pl.lit(json_text(period.funds.reference)).alias("_fund_clause"),
    )
    return _Plan(
        assessment=result,
        reasons=_bits((c.failed, REASON_BIT[c.reason]) for c in result.checks),
        warnings=_bits((w.failed, WARNING_BIT[w.reason]) for w in result.warnings),
        fragments=fragments,
        text_columns=tuple(sorted(text_columns - {*_DECIDED, "_shown"})),
        decided=decided,
    )


def _derive(frame: pl.LazyFrame, catalogue: Catalogue) -> pl.LazyFrame:
    """Facts every rule reads: birth date, sex, age, key date, canonical occupation…"""
    aliases = catalogue.occupation_aliases
    id_number = pl.col("person.id_number")
    birth = claim_schema.birth_date(id_number)
    age_on = pl.coalesce("training.enrolled_on", "certificate.issued_on", "applied_on")
    key_date = pl.coalesce("certificate.issued_on", "applied_on")
    before_birthday = (age_on.dt.month() < birth.dt.month()) | (
        (age_on.dt.month() == birth.dt.month()) & (age_on.dt.day() < birth.dt.day())
    )
    age = age_on.dt.year() - birth.dt.year() - before_birthday.cast(pl.Int32)
    occupation = pl.col("certificate.occupation")
    return frame.with_columns(
        birth.alias("_birth"),
        claim_schema.is_male(id_number).alias("_male"),
        age_on.alias("_age_on"),
        age.alias("_age"),
        key_date.alias("_key_date"),
        (occupation.replace(dict(aliases)) if aliases else occupation).alias("_occupation"),
        pl.when(pl.col("certificate.type") == "special_ability")
        .then(pl.col("certificate.level").fill_null(5))
        .otherwise(pl.col("certificate.level"))
        .alias("_level"),
        pl.when(pl.col("claimant") == "individual")
        .then(pl.col("route").cast(pl.String).fill_null("institution"))
        .otherwise(pl.lit("institution"))
        .cast(pl.Enum(ROUTES))
        .alias("_route"),
        pl.coalesce("training.starts_on", "training.enrolled_on", key_date).alias(
            "_training_began"
        ),
    ).with_columns(
        # the rules read occupation lists many times per claim: by code, not by name
        pl.col("_occupation")
        .replace_strict(
            catalogue.occupations,
            range(1, len(catalogue.occupations) + 1),
            default=0,
            return_dtype=pl.UInt32,
        )
        .alias("_occ_code"),
    )


class Engine:
    """Decides batches of claims under a catalogue of policy packs."""

    def __init__(self, catalogue: Catalogue | None = None):
        self.catalogue = catalogue or default_catalogue()
        self.periods = self.catalogue.periods
        self._plans: dict[tuple[int, str], _Plan] = {}
        self._pack_jurisdiction = {p.id: p.info.jurisdiction for p in self.periods}

    def plan(self, period_no: int, kind: str) -> _Plan:
        key = (period_no, kind)
        if key not in self._plans:
            self._plans[key] = _plan(
                self.periods[period_no], period_no, kind, self.catalogue.occupations
            )
        return self._plans[key]

    # --- pack selection --------------------------------------------------------------

    def _period_expr(self) -> pl.Expr:
        """Index of the pack period deciding each claim, or null (no policy)."""
        key = pl.col("_key_date")
        chosen: pl.Expr = pl.lit(None, dtype=pl.Int32)
        for no, p in reversed(list(enumerate(self.periods))):
            in_period = pl.lit(True)
            if p.starts:
                in_period = in_period & (key >= pl.lit(p.starts))
            if p.ends:
                in_period = in_period & (key < pl.lit(p.ends))
            named = (pl.col("policy") == p.id) & in_period
            sel = p.info.selection
            by_date = pl.lit(False)
            if sel.by_date:
                by_date = pl.col("policy").is_null() & (
                    pl.col("jurisdiction") == p.info.jurisdiction
                )
                by_date = by_date & in_period & (key >= pl.lit(sel.from_))
                if sel.until:
                    by_date = by_date & (key <= pl.lit(sel.until))
            chosen = pl.when(named | by_date).then(pl.lit(no, dtype=pl.Int32)).otherwise(chosen)
        return chosen

    # --- deciding ----------------------------------------------------------------------

    def _decide_group(self, frame: pl.DataFrame, period_no: int, kind: str) -> pl.DataFrame:
        """Decide the claims of one pack period and kind.

        Reasons, warnings and the explanation entries shown are bit masks; the explanation
        text is then built per distinct mask, from only the entries that mask shows (a few
        hundred masks at most), so no text is formatted for a claim that does not show it.
        """
        plan = self.plan(period_no, kind)
        decided = (
            _with_rule_columns(frame, plan)
            .with_columns(plan.reasons.alias("_reasons"), plan.warnings.alias("_warnings"))
            .with_columns(*plan.decided)
            # only what the texts read travels on into the per-mask parts
            .select(*_DECIDED[:-1], "_shown", *plan.text_columns)
            .collect()
        )
        fragments = plan.fragments
        # common masks get a part each; the many rare ones share one part where every entry
        # is tested row by row (a part costs a query plan; a tested entry costs a pass)
        by_mask = sorted(
            decided.partition_by("_shown", as_dict=True).items(), key=lambda kv: -kv[1].height
        )
        least = max(_COMMON_MASK_ROWS, decided.height // 100)
        parts = [
            part.lazy().select(
                *_DECIDED[:-1],
                _joined([f for n, f in enumerate(fragments) if int(mask) >> n & 1]).alias(
                    "_explanation"
                ),
            )
            for rank, ((mask,), part) in enumerate(by_mask)
            if rank < _MAX_MASK_PARTS and part.height >= least
        ]
        rare = [
            part
            for rank, (_, part) in enumerate(by_mask)
            if rank >= _MAX_MASK_PARTS or part.height < least
        ]
        if rare:
            bit_set = [(pl.col("_shown") & (1 << n)) != 0 for n in range(len(fragments))]
            parts.append(
                pl.concat(rare)
                .lazy()
                .select(
                    *_DECIDED[:-1],
                    pl.concat_str(
                        [
                            pl.when(b).then(f.expr())
                            for b, f in zip(bit_set, fragments, strict=True)
                        ],
                        separator=",",
                        ignore_nulls=True,
                    ).alias("_explanation"),
                )
            )
        return pl.concat(pl.collect_all(parts))

    def amounts(
        self, frame: pl.DataFrame, period_no: int, kind: str, checks: bool = True
    ) -> pl.DataFrame:
        """The rule alone — amount and reasons, no explanation — for claims already derived
        (for simulations and the benchmark): ``_idx``, ``_reasons`` (mask), ``_amount``.
        ``checks=False``: the amount as if every check passed (what-if runs)."""
        plan = self.plan(period_no, kind)
        a = plan.assessment
        reasons = plan.reasons if checks else pl.lit(0, dtype=pl.UInt32)
        return (
            _with_rule_columns(frame, plan, [a.amount, reasons])
            .select(
                "_idx",
                reasons.alias("_reasons"),
                pl.when(reasons == 0)
                .then(a.amount)
                .otherwise(pl.lit(0))
                .cast(claim_schema.MONEY)
                .alias("_amount"),
            )
            .collect()
        )

    def derived(self, raw: pl.DataFrame) -> pl.DataFrame:
        """Valid claims of a text frame with the facts the rules read and ``_period_no``."""
        checked = claim_schema.validate(raw, self._pack_jurisdiction)
        return (
            _derive(
                checked.lazy().filter(pl.col("_error_field").is_null()),
                self.catalogue,
            )
            .with_columns(self._period_expr().alias("_period_no"))
            .collect()
        )

    def _no_policy(self, frame: pl.DataFrame) -> pl.DataFrame:
        clause = pl.col("jurisdiction").replace_strict(NO_POLICY_CLAUSE, return_dtype=pl.String)
        message = choose(
            pl.col("policy").is_not_null(),
            text("关键日期 {} 不在指定政策 {} 的适用期内", pl.col("_key_date"), pl.col("policy")),
            text(
                "关键日期 {} 时 {} 尚无适用的补贴政策", pl.col("_key_date"), pl.col("jurisdiction")
            ),
        )
        entry = flat_concat(('{"text":"', *message.pieces, '","clause":"', clause, '"}'))
        return (
            frame.lazy()
            .with_columns(
                pl.lit(None, dtype=pl.String).alias("_policy"),
                pl.lit(None, dtype=pl.Int32).alias("_period_no"),
                pl.lit(False).alias("_pre_ok"),
                pl.lit(0, dtype=claim_schema.MONEY).alias("_amount"),
                pl.lit(REASON_BIT["no_policy"], dtype=pl.UInt32).alias("_reasons"),
                pl.lit(0, dtype=pl.UInt32).alias("_warnings"),
                pl.lit(None, dtype=pl.String).alias("_fund"),
                pl.lit(None, dtype=pl.String).alias("_fund_label"),
                pl.lit(False).alias("_first_only"),
                pl.lit(None, dtype=pl.String).alias("_fund_clause"),
                entry.alias("_explanation"),
            )
            .select(_DECIDED)
            .collect()
        )

    def _history(self, raw: pl.DataFrame | None) -> pl.DataFrame | None:
        if raw is None or raw.height == 0:
            return None
        # only what the ledger reads is checked and kept
        raw = raw.select(c for c in raw.columns if c in HISTORY_COLUMNS or c.startswith("_"))
        checked = claim_schema.validate(raw, self._pack_jurisdiction, HISTORY_FIELDS)
        bad = checked.filter(pl.col("_error_field").is_in(list(HISTORY_FIELDS)))
        if bad.height:
            sample = "; ".join(
                f"record {r['_idx'] + 1} ({r['id'] or 'no id'}): {r['_error_field']}: {r['_error_message']}"
                for r in bad.head(5).iter_rows(named=True)
            )
            raise HistoryError(f"{bad.height} history record(s) cannot be counted: {sample}")
        derived = _derive(checked.lazy(), self.catalogue)
        return ledger.ledger_keys(derived).collect()

    def decide(self, raw: pl.DataFrame, history: pl.DataFrame | None = None) -> pl.DataFrame:
        """Decisions for a frame of text columns (see readers.records_frame), in input order.

        Columns: ``id``, ``policy``, ``eligible``, ``amount`` (Decimal, 2 places), ``payee``,
        ``fund``, ``reasons`` and ``warnings`` (bit masks, see ``reason_codes``), ``error_field``,
        ``error_message``, and ``line``: the decision as the contract's JSON object.
        """
        return pl.concat(list(self.decide_batches([raw], history)))

    def decide_batches(
        self, batches: Iterable[pl.DataFrame], history: pl.DataFrame | None = None
    ) -> Iterator[pl.DataFrame]:
        """``decide`` for input arriving in consecutive batches (one file read in chunks), with
        the decisions yielded batch by batch in input order.

        Reading and validation go batch by batch, so only one batch's text columns are ever
        held; the typed claims of all batches are then decided together: each (pack period,
        kind) query is planned once, however many batches there are, and the ledger sees
        every claim of a trainee whichever batch it came in.
        """
        hist = self._history(history)
        del history  # only the ledger's keys of it are kept
        errors: list[pl.DataFrame] = []
        valid_parts: list[pl.DataFrame] = []
        ends: list[int] = []  # one past each batch's last ``_idx``
        for raw in batches:
            if raw.height:
                ends.append(int(raw.item(-1, "_idx")) + 1)  # batches come in input order
            checked, invalid = claim_schema.validate_split(raw, self._pack_jurisdiction)
            del raw  # the text columns are done with: keep memory to the typed ones
            errors.append(invalid)
            valid_parts.append(
                _derive(checked.lazy(), self.catalogue)
                .with_columns(self._period_expr().alias("_period_no"))
                .collect()
            )
            del checked
        all_errors = pl.concat(errors) if errors else claim_schema.NO_ERRORS
        valid = pl.concat(valid_parts) if valid_parts else None
        del errors, valid_parts
        if valid is None:
            return
        # an id repeated in a later batch is that record's error (within a batch, validate
        # found it); such a record is not decided and counts for nobody's ledger
        repeated = _repeated_ids(all_errors, valid, len(ends))
        if repeated.len():
            all_errors = pl.concat(
                [
                    all_errors,
                    valid.filter(pl.col("_idx").is_in(repeated)).select(
                        "_idx",
                        "id",
                        pl.lit("id").alias("_error_field"),
                        pl.lit(claim_schema.DUPLICATE_ID).alias("_error_message"),
                    ),
                ]
            )
            valid = valid.filter(~pl.col("_idx").is_in(repeated))
        pre = self._pre_decide(valid)
        keys = (
            ledger.ledger_keys(valid)
            .join(pre.lazy().select("_idx", "_period_no", "_pre_ok", "_first_only"), on="_idx")
            .collect()
        )
        del valid
        findings = self._ledger(keys, hist)
        del keys
        # lines are finished and handed out batch by batch, in input order
        pre = pre.sort("_idx")
        all_errors = all_errors.sort("_idx")
        first = 0
        for end in ends:
            yield self._assemble(
                _idx_range(all_errors, first, end), _idx_range(pre, first, end), findings
            )
            first = end

    def _pre_decide(self, valid: pl.DataFrame) -> pl.DataFrame:
        """Every check but the ledger's, per (pack period, kind)."""
        decided = [self._no_policy(valid.filter(pl.col("_period_no").is_null()))]
        with_policy = valid.filter(pl.col("_period_no").is_not_null())
        for (period_no, kind), group in with_policy.partition_by(
            ["_period_no", "kind"], as_dict=True
        ).items():
            decided.append(self._decide_group(group, int(period_no), str(kind)))
        return pl.concat(decided, how="vertical_relaxed")

    def _ledger(self, keys: pl.DataFrame | None, hist: pl.DataFrame | None) -> pl.DataFrame:
        """Ledger findings: ``_idx``, ``_ledger_bits`` (reasons mask), ``_ledger_text``."""
        empty = pl.DataFrame(
            schema={"_idx": pl.UInt32, "_ledger_bits": pl.UInt32, "_ledger_text": pl.String}
        )
        if keys is None:
            return empty
        batch, earlier = ledger.candidates(keys, hist)
        if batch.height == 0:
            return empty
        rules_of = {no: p.conditions.ledger for no, p in enumerate(self.periods)}
        first_ref = {
            no: p.kinds["new_skill_cert"].first_certificate_only.reference
            for no, p in enumerate(self.periods)
            if "new_skill_cert" in p.kinds
        }
        findings = ledger.scan(batch, earlier, rules_of, first_ref)
        return pl.DataFrame(
            {
                "_idx": pl.Series(list(findings), dtype=pl.UInt32),
                "_ledger_bits": pl.Series(
                    [sum(REASON_BIT[r] for r, _, _ in f) for f in findings.values()],
                    dtype=pl.UInt32,
                ),
                "_ledger_text": pl.Series(
                    [
                        ",".join(orjson.dumps({"text": t, "clause": c}).decode() for _, t, c in f)
                        for f in findings.values()
                    ],
                    dtype=pl.String,
                ),
            }
        )

    def _assemble(
        self, errors: pl.DataFrame, pre: pl.DataFrame, findings: pl.DataFrame
    ) -> pl.DataFrame:
        """Final decisions of one batch in input order, each with its JSON line."""
        decided = pre.join(findings, on="_idx", how="left").with_columns(
            (pl.col("_reasons") | pl.col("_ledger_bits").fill_null(0)).alias("_reasons")
        )
        eligible = pl.col("_reasons") == 0
        payee_name = pl.col("claimant").replace_strict(
            {k: json_text(v) for k, v in CLAIMANT_NAMES.items()}, return_dtype=pl.String
        )
        conclusion = pl.when(eligible).then(
            pl.concat_str(
                pl.lit(',{"text":"核定补贴 '),
                yuan(pl.col("_amount")),
                pl.lit(" 元，支付给"),
                payee_name,
                pl.lit("，由"),
                district_name(pl.col("_fund")),
                pl.lit("（"),
                pl.col("_fund_label"),
                pl.lit('）培训资金列支","clause":"'),
                pl.col("_fund_clause"),
                pl.lit('"}'),
            )
        )
        finished = decided.lazy().with_columns(
            eligible.alias("eligible"),
            pl.when(eligible)
            .then(rounded(pl.col("_amount")))
            .otherwise(pl.lit(Decimal("0.00")).cast(pl.Decimal(38, 2)))
            .alias("amount"),
        )
        ok = finished.select(
            "_idx",
            "id",
            pl.col("_policy").alias("policy"),
            "eligible",
            "amount",
            pl.col("claimant").cast(pl.String).alias("payee"),
            pl.col("_fund").alias("fund"),
            pl.col("_reasons").alias("reasons"),
            pl.col("_warnings").alias("warnings"),
            pl.lit(None, dtype=pl.String).alias("error_field"),
            pl.lit(None, dtype=pl.String).alias("error_message"),
            _json_line(decided["_reasons"], decided["_warnings"], conclusion).alias("line"),
        ).collect()
        bad = errors.select(
            "_idx",
            "id",
            pl.lit(None, dtype=pl.String).alias("policy"),
            pl.lit(None, dtype=pl.Boolean).alias("eligible"),
            pl.lit(None, dtype=pl.Decimal(38, 2)).alias("amount"),
            pl.lit(None, dtype=pl.String).alias("payee"),
            pl.lit(None, dtype=pl.String).alias("fund"),
            pl.lit(None, dtype=pl.UInt32).alias("reasons"),
            pl.lit(None, dtype=pl.UInt32).alias("warnings"),
            pl.col("_error_field").alias("error_field"),
            pl.col("_error_message").alias("error_message"),
        )
        bad = bad.with_columns(
            pl.struct(
                "id",
                pl.struct(field=pl.col("error_field"), message=pl.col("error_message")).alias(
                    "error"
                ),
            )
            .struct.json_encode()
            .alias("line")
        )
        result: pl.DataFrame = pl.concat([ok, bad]).sort("_idx")
        return result


def _with_rule_columns(
    frame: pl.DataFrame, plan: _Plan, for_exprs: Sequence[pl.Expr] | None = None
) -> pl.LazyFrame:
    """The claims with the helper columns the plan's rule computes, in order; with
    ``for_exprs``, only those these expressions read (directly or through another)."""
    columns = plan.assessment.columns
    wanted = set(columns)
    if for_exprs is not None:
        wanted = {n for e in for_exprs for n in e.meta.root_names()}
        for name in reversed(columns):
            if name in wanted:
                wanted.update(columns[name].meta.root_names())
    lf = frame.lazy()
    for name, expr in columns.items():
        if name in wanted:
            lf = lf.with_columns(expr.alias(name))
    return lf


def _repeated_ids(errors: pl.DataFrame, valid: pl.DataFrame, batches: int) -> pl.Series:
    """``_idx`` of the valid records whose id an earlier record (of any batch) already used."""
    if batches < 2:
        return pl.Series("_idx", [], dtype=pl.UInt32)
    ids = pl.concat([errors.select("_idx", "id"), valid.select("_idx", "id")]).sort("_idx")
    repeated = ids.filter(pl.col("id").is_not_null() & ~pl.col("id").is_first_distinct())
    return repeated.filter(pl.col("_idx").is_in(valid["_idx"]))["_idx"]


def _idx_range(frame: pl.DataFrame, first: int, last: int) -> pl.DataFrame:
    """The rows of a frame sorted by ``_idx`` with ``first <= _idx < last`` (a zero-copy slice)."""
    idx = frame["_idx"]
    start = idx.search_sorted(first, side="left")
    stop = idx.search_sorted(last, side="left")
    return frame.slice(start, stop - start)


def _joined(fragments: Sequence[Text]) -> pl.Expr:
    """Explanation entries, comma-separated, as one flat concatenation."""
    pieces: list[str | pl.Expr] = []
    for n, f in enumerate(fragments):
        if n:
            pieces.append(",")
        pieces += f.pieces
    return flat_concat(pieces)


def _bits(flags: Iterable[tuple[pl.Expr, int]]) -> pl.Expr:
    """A bit mask: the sum of the distinct bits whose flag holds."""
    pairs = list(flags)
    wide = any(bit >= 1 << 32 for _, bit in pairs)
    dtype = pl.UInt64 if wide else pl.UInt32
    if not pairs:
        return pl.lit(0, dtype=dtype)
    # several checks may share a reason: OR, not add
    mask = pl.lit(0, dtype=dtype)
    for flag, bit in pairs:
        mask = mask | pl.when(flag.fill_null(False)).then(pl.lit(bit, dtype=dtype)).otherwise(
            pl.lit(0, dtype=dtype)
        )
    return mask


def _codes(masks: pl.Series, codes: Sequence[str]) -> dict[int, str]:
    """JSON array text for each distinct mask present."""
    return {
        int(m): orjson.dumps(reason_codes(int(m), codes)).decode()
        for m in masks.unique().drop_nulls()
    }


def _json_line(reasons: pl.Series, warnings: pl.Series, conclusion: pl.Expr) -> pl.Expr:
    """The contract's JSON object of each valid decision, in one pass over the texts."""
    head = pl.struct(
        "id",
        pl.col("_policy").alias("policy"),
        "eligible",
        pl.col("amount").cast(pl.String),
        pl.col("claimant").cast(pl.String).alias("payee"),
        pl.col("_fund").alias("fund"),
    ).struct.json_encode()
    return pl.concat_str(
        head.str.head(-1),
        pl.lit(',"reasons":'),
        pl.col("_reasons").replace_strict(_codes(reasons, REASONS), return_dtype=pl.String),
        pl.lit(',"warnings":'),
        pl.col("_warnings").replace_strict(_codes(warnings, WARNINGS), return_dtype=pl.String),
        pl.lit(',"explanation":['),
        pl.col("_explanation"),
        pl.concat_str(pl.lit(","), "_ledger_text"),
        conclusion,
        pl.lit("]}"),
        ignore_nulls=True,
    )


def reason_codes(mask: int, codes: Sequence[str] = REASONS) -> list[str]:
    """The codes of a reasons (or, with WARNINGS, warnings) mask."""
    return [c for n, c in enumerate(codes) if mask >> n & 1]


_COMMON_MASK_ROWS = 2_000
_MAX_MASK_PARTS = 24

_DECIDED = [
    "_idx",
    "id",
    "claimant",
    "_policy",
    "_period_no",
    "_pre_ok",
    "_amount",
    "_reasons",
    "_warnings",
    "_fund",
    "_fund_label",
    "_first_only",
    "_fund_clause",
    "_explanation",
]


def write_jsonl(decisions: pl.DataFrame, out: IO[bytes]) -> None:
    """The decisions as JSON Lines, in input order."""
    decisions.select("line").write_csv(out, include_header=False, quote_style="never")


def decisions_to_dicts(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Decisions as the contract's JSON objects (amount as a 2-place decimal string)."""
    return [orjson.loads(line) for line in frame["line"]]


def evaluate(
    claims: Iterable[Mapping[str, Any]],
    history: Iterable[Mapping[str, Any]] = (),
    engine: Engine | None = None,
) -> list[dict[str, Any]]:
    """In-process form of the contract: claim dicts in, decision dicts out (input order)."""
    engine = engine or Engine()
    hist = list(history)
    frame = engine.decide(records_frame(claims), records_frame(hist) if hist else None)
    return decisions_to_dicts(frame)
