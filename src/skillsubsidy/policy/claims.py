"""The claim record of the evaluation contract, and its columnar validation.

Input of any format arrives as a frame of *text* columns named by dotted field names
(``person.id_number``). ``validate`` turns it into typed columns and, per record, the first
problem found (``_error_field``, ``_error_message``); a bad record never stops the batch.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from itertools import product

import polars as pl

from skillsubsidy.policy.vocabulary import (
    APPRENTICE_TYPES,
    CERTIFICATE_TYPES,
    CLAIMANTS,
    COURSES,
    JURISDICTIONS,
    KINDS,
    NAMED_DISTRICTS,
    ROUTES,
)

# Decimal fields (money, hours, days, rates) are read exactly as Decimal(38, 6) and then kept
# as integers of millionths (rules/base.py explains why)
DECIMAL = pl.Decimal(38, 6)
MICRO = 10**6
MONEY = pl.Int128
DUPLICATE_ID = "duplicate id in this batch"


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # text enum bool date count number money rate level district id_number
    choices: tuple[str, ...] = ()
    required: bool = False


FIELDS: tuple[Field, ...] = (
    Field("id", "text", required=True),
    Field("jurisdiction", "enum", JURISDICTIONS, required=True),
    Field("policy", "text"),
    Field("kind", "enum", KINDS, required=True),
    Field("claimant", "enum", CLAIMANTS, required=True),
    Field("route", "enum", ROUTES),
    Field("district", "district", required=True),
    Field("claimant_city_level", "bool"),
    Field("applied_on", "date", required=True),
    Field("person.id_number", "id_number", required=True),
    *(
        Field(f"person.{flag}", "bool")
        for flag in (
            "hukou_local",
            "residence_permit_local",
            "ui_insured_local",
            "unemployment_registered_local",
            "works_locally",
            "unemployed_graduate",
            "public_servant",
            "receives_pension",
            "receives_resident_pension",
            "domestic_service_worker",
            "graduating_year_student",
            "key_group",
            "skill_upgrade_subsidy_eligible",
            "holds_prior_certificate",
        )
    ),
    Field("person.social_insurance_months", "count"),
    Field("certificate.type", "enum", CERTIFICATE_TYPES),
    Field("certificate.occupation", "text"),
    Field("certificate.level", "level"),
    Field("certificate.issued_on", "date"),
    Field("certificate.number", "text"),
    Field("certificate.renewal", "bool"),
    Field("certificate.in_shortage_list", "bool"),
    Field("certificate.skill_upgrade_subsidy_received", "bool"),
    Field("training.hours", "number"),
    Field("training.days", "number"),
    Field("training.enrolled_on", "date"),
    Field("training.starts_on", "date"),
    Field("training.filed_on", "date"),
    Field("training.filed_district", "district"),
    Field("training.course", "enum", COURSES),
    Field("training.local_specialty", "bool"),
    Field("training.employment_rate", "rate"),
    Field("employer.ui_district", "district"),
    Field("employer.hired_on", "date"),
    Field("employer.key_manufacturing", "bool"),
    Field("employer.trade_friction", "bool"),
    Field("employer.public_institution", "bool"),
    Field("apprentice.type", "enum", APPRENTICE_TYPES),
    Field("apprentice.fee", "money"),
    Field("apprentice.allowance_paid", "money"),
    Field("apprentice.vocational_cert", "bool"),
    Field("apprentice.labour_contract", "bool"),
    Field("apprentice.social_insurance", "bool"),
    Field("business_started_within_6_months", "bool"),
)
FIELD_NAMES = tuple(f.name for f in FIELDS)

# Fields required only for some claims (CONTRACT.md): (field, when, why). `when` reads the raw
# text columns. Other kind-specific facts (fees, hours, days, course…) are not record errors
# when absent: the rules read them as 0 or refuse the claim with a reason.
_kind = pl.col("kind")
_cert_type = pl.col("certificate.type")
CONDITIONAL_REQUIREMENTS: tuple[tuple[str, pl.Expr, str], ...] = (
    (
        "certificate.type",
        _kind.is_in(["certificate", "project", "master_apprentice", "new_skill_cert"]),
        "required for a claim resting on a certificate",
    ),
    (
        "certificate.level",
        (_cert_type == "vocational")
        & _kind.is_in(["certificate", "master_apprentice", "new_skill_cert"]),
        "required for a vocational certificate",
    ),
)


def _all_cases(*words: str) -> list[str]:
    """Every upper/lower-case spelling: booleans are read case-insensitively by exact lookup."""
    return ["".join(c) for w in words for c in product(*((ch.lower(), ch.upper()) for ch in w))]


_TRUE = (*_all_cases("true", "yes", "y"), "1", "是")
_FALSE = (*_all_cases("false", "no", "n"), "0", "否")
_BOOLEANS = dict.fromkeys(_TRUE, True) | dict.fromkeys(_FALSE, False)
_NUMBER_RE = r"^-?\d+(\.\d+)?$"


@dataclass(frozen=True)
class Problem:
    """One way a field can be wrong: ``bad`` is cheap and evaluated for every record; the
    ``message`` only for the records that fail."""

    field: str
    bad: pl.Expr
    message: pl.Expr


def _parse(field: Field, raw: pl.Expr, plain_booleans: bool = False) -> pl.Expr:
    """The typed value of one field's text column (null where absent or unreadable).

    ``plain_booleans``: the column holds only ``true``/``false`` (a cheap comparison then
    reads it; otherwise every spelling of the contract is looked up)."""
    t = field.type
    if t == "bool":
        if plain_booleans:
            return pl.when(raw == "true").then(True).when(raw == "false").then(False)
        return raw.replace_strict(_BOOLEANS, default=None, return_dtype=pl.Boolean)
    if t == "date":
        return pl.when(raw.str.len_bytes() == 10).then(
            raw.str.strptime(pl.Date, "%Y-%m-%d", strict=False)
        )
    if t in ("count", "level"):
        return raw.cast(pl.Int32, strict=False)
    if t in ("number", "money", "rate"):
        return raw.cast(DECIMAL, strict=False)
    return raw


def _field_problems(field: Field, raw: pl.Expr, value: pl.Expr) -> list[Problem]:
    """The ways a present value can be wrong; ``value`` is the parsed column."""
    present = raw.is_not_null()
    name, t = field.name, field.type

    def problem(bad: pl.Expr, message: pl.Expr) -> Problem:
        return Problem(name, present & bad, message)

    if t == "id_number":
        return _id_number_problems(name, raw)
    if t == "enum":
        msg = pl.format("unknown value '{}'; expected one of: " + ", ".join(field.choices), raw)
        return [problem(~raw.is_in(list(field.choices)), msg)]
    if t == "district":
        ok = raw.str.contains(r"^\d{6}$") | raw.is_in(list(NAMED_DISTRICTS))
        msg = pl.format(
            "'{}' is not a district code (6 digits, or " + ", ".join(NAMED_DISTRICTS) + ")", raw
        )
        return [problem(~ok, msg)]
    if t == "bool":
        return [
            problem(
                value.is_null(), pl.format("'{}' is not a boolean (true/false, 1/0, 是/否)", raw)
            )
        ]
    if t == "date":
        return [problem(value.is_null(), pl.format("'{}' is not a date (YYYY-MM-DD)", raw))]
    if t == "level":
        return [
            problem(
                value.is_null() | (value < 1) | (value > 5),
                pl.format("'{}' is not a level 1..5 (5 = 五级/初级工 … 1 = 一级/高级技师)", raw),
            )
        ]
    if t == "count":
        return [
            problem(value.is_null(), pl.format("'{}' is not a whole number", raw)),
            problem(value < 0, pl.format("must not be negative (got {})", raw)),
        ]
    if t in ("number", "money", "rate"):
        # the contract sets no precision; beyond the rules' exact millionths a value would
        # silently lose digits, so that is the record's error
        max_places = 6
        length = raw.str.len_bytes().cast(pl.Int64)
        places = length - raw.str.find(".", literal=True).cast(pl.Int64).fill_null(length) - 1
        problems = [
            problem(
                value.is_null() | ~raw.str.contains(_NUMBER_RE),
                pl.format("'{}' is not a number", raw),
            ),
            problem(value < 0, pl.format("must not be negative (got {})", raw)),
            problem(
                places > max_places,
                pl.format(f"at most {max_places} decimal places (got {{}})", raw),
            ),
        ]
        if t == "rate":
            problems.append(problem(value > 1, pl.format("a rate between 0 and 1 (got {})", raw)))
        return problems
    return []


def _id_number_problems(name: str, raw: pl.Expr) -> list[Problem]:
    """GB 11643-1999 citizen ID: 17 digits with an existing birth date, then the ISO 7064
    MOD 11-2 check character (X for 10).

    The region code is deliberately not checked against the birth year (POLICY.md §3.1):
    IDs keep the district code current when they were issued. The check sum uses the same
    identity as python-stdnum: Σ dᵢ·2^(17−i) ≡ int(body, 13) (mod 11), since 13 ≡ 2.
    """
    present = raw.is_not_null()
    body = raw.str.slice(0, 17)
    weighted = body.str.to_integer(base=13, strict=False)
    # (1 − 2w) mod 11, kept non-negative: −2 ≡ 9 (mod 11)
    expected = ((1 + 9 * (weighted % 11)) % 11).replace_strict(
        list(range(11)), [*"0123456789", "X"], default=None, return_dtype=pl.String
    )
    birth = raw.str.slice(6, 8).str.strptime(pl.Date, "%Y%m%d", strict=False)
    length = raw.str.len_chars()
    well_formed = (length == 18) & raw.str.contains(r"^\d{17}[\dX]$")
    return [
        Problem(
            name, present & (length != 18), pl.format("must be 18 characters (got {})", length)
        ),
        Problem(
            name,
            present & ~well_formed,
            pl.lit("must be 17 digits and a check character (0-9 or X)"),
        ),
        Problem(
            name,
            present & birth.is_null(),
            pl.format("birth date {} does not exist", raw.str.slice(6, 8)),
        ),
        Problem(
            name, present & (raw.str.slice(17, 1) != expected), pl.lit("check character wrong")
        ),
    ]


def birth_date(id_number: pl.Expr) -> pl.Expr:
    return id_number.str.slice(6, 8).str.strptime(pl.Date, "%Y%m%d", strict=False)


def is_male(id_number: pl.Expr) -> pl.Expr:
    """17th digit odd = male (GB 11643-1999)."""
    return id_number.str.slice(16, 1).cast(pl.Int32, strict=False).mod(2) == 1


_ERROR_COLUMNS = ("_error_field", "_error_message")
NO_ERRORS = pl.DataFrame(
    schema={
        "_idx": pl.UInt32,
        "id": pl.String,
        "_error_field": pl.String,
        "_error_message": pl.String,
    }
)
_PARSED = "\x00parsed:"  # prefix of the parsed columns while both forms are at hand
_READ_ERROR = pl.col("_pre_error_field").is_not_null()


def _problems(
    known_packs: Mapping[str, str], required: Collection[str] | None = None
) -> list[Problem]:
    """Every possible problem, in the order records report them (first found wins).
    ``required``: only these fields are required (default: as the contract says)."""
    problems: list[Problem] = []
    for f in FIELDS:
        raw = pl.col(f.name)
        if f.required if required is None else f.name in required:
            problems.append(Problem(f.name, raw.is_null(), pl.lit("required")))
        for name, when, why in CONDITIONAL_REQUIREMENTS if required is None else ():
            if name == f.name:
                problems.append(Problem(f.name, raw.is_null() & when.fill_null(False), pl.lit(why)))
        problems += _field_problems(f, raw, pl.col(_PARSED + f.name))
    policy, level = pl.col("policy"), pl.col("certificate.level")
    problems += [
        Problem(
            "policy",
            policy.is_not_null() & ~policy.is_in(list(known_packs)),
            pl.format("unknown pack '{}'; expected one of: " + ", ".join(known_packs), policy),
        ),
        Problem(
            "policy",
            policy.is_not_null()
            & (policy.replace_strict(dict(known_packs), default=None) != pl.col("jurisdiction")),
            pl.format("pack '{}' is not for jurisdiction '{}'", policy, pl.col("jurisdiction")),
        ),
        Problem(
            "certificate.level",
            (pl.col("certificate.type") == "special_ability")
            & level.is_not_null()
            & ~level.is_in(["5", "3"]),
            pl.lit("a special-ability certificate is level 5 (初级) or 3 (高级)"),
        ),
        # ids must be unique in a batch: the later copies are the errors
        Problem("id", pl.col("_duplicate_id"), pl.lit(DUPLICATE_ID)),
    ]
    return problems


def validate(
    raw: pl.DataFrame, known_packs: Mapping[str, str], required: Collection[str] | None = None
) -> pl.DataFrame:
    """Every record, valid or not, as typed columns for every contract field (what could not
    be read is null) plus ``_error_field``/``_error_message`` (null on valid records), in
    input order. Arguments as ``validate_split``, which is cheaper where the invalid
    records' values are not needed."""
    both, problems = _checked(raw, known_packs, required)
    out = both.select("_idx", *(_typed(f) for f in FIELDS))
    if not both["_bad"].any():
        return out.with_columns(pl.lit(None, dtype=pl.String).alias(c) for c in _ERROR_COLUMNS)
    messages = _errors(both.lazy().filter(pl.col("_bad")), problems).drop("id").collect()
    return out.join(messages, on="_idx", how="left", maintain_order="left")


def validate_split(
    raw: pl.DataFrame, known_packs: Mapping[str, str], required: Collection[str] | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The valid records as typed columns for every contract field (input order), and the
    invalid ones as ``_idx``, ``id``, ``_error_field``, ``_error_message`` (the first problem
    found).

    ``raw`` holds text columns (any subset of FIELD_NAMES; others are ignored; absent values
    null, see readers.py) and may hold ``_pre_error_field``/``_pre_error_message`` found while
    reading (e.g. a JSON line that does not parse). ``known_packs`` maps pack id →
    jurisdiction for the ``policy`` field. ``required``: the fields a record must have, when
    not the contract's (history records need only what the ledger reads).

    Cost is what a million records can afford: every field is parsed once; the checks are
    cheap flags over the parsed values; messages are built only for the failing records,
    and the two sets are never joined back together.
    """
    both, problems = _checked(raw, known_packs, required)
    typed = [_typed(f) for f in FIELDS]
    if not both["_bad"].any():
        return both.select("_idx", *typed), NO_ERRORS
    valid = both.lazy().filter(~pl.col("_bad")).select("_idx", *typed)
    errors = _errors(both.lazy().filter(pl.col("_bad")), problems)
    valid_frame, error_frame = pl.collect_all([valid, errors])
    return valid_frame, error_frame


def _checked(
    raw: pl.DataFrame, known_packs: Mapping[str, str], required: Collection[str] | None
) -> tuple[pl.DataFrame, list[Problem]]:
    """The text columns with each field's parsed form beside it and ``_bad`` (some problem
    found), and the problems checked, in the order records report them."""
    missing = [n for n in FIELD_NAMES if n not in raw.columns]
    frame = raw.lazy().with_columns(pl.lit(None, dtype=pl.String).alias(n) for n in missing)
    if "_pre_error_field" not in raw.columns:
        frame = frame.with_columns(
            pl.lit(None, dtype=pl.String).alias("_pre_error_field"),
            pl.lit(None, dtype=pl.String).alias("_pre_error_message"),
        )
    booleans = [f.name for f in FIELDS if f.type == "bool"]
    unusual = frame.select(
        (pl.col(n).is_not_null() & ~pl.col(n).is_in(["true", "false"])).any() for n in booleans
    ).collect()
    plain = {n for n in booleans if not unusual[n].item()}
    frame = frame.with_columns(pl.col("person.id_number").str.to_uppercase()).with_columns(
        # over the whole batch, before records are set aside
        (pl.col("id").is_not_null() & ~pl.col("id").is_first_distinct()).alias("_duplicate_id"),
        *(_parse(f, pl.col(f.name), f.name in plain).alias(_PARSED + f.name) for f in FIELDS),
    )
    problems = _problems(known_packs, required)
    both = frame.with_columns(
        pl.any_horizontal(_READ_ERROR, *(p.bad.fill_null(False) for p in problems)).alias("_bad")
    ).collect()
    return both, problems


def _errors(failing: pl.LazyFrame, problems: list[Problem]) -> pl.LazyFrame:
    """``_idx``, ``id`` and the first problem of each failing record."""
    field_expr: pl.Expr = pl.lit(None, dtype=pl.String)
    message_expr: pl.Expr = pl.lit(None, dtype=pl.String)
    for p in reversed(problems):
        field_expr = pl.when(p.bad.fill_null(False)).then(pl.lit(p.field)).otherwise(field_expr)
        message_expr = pl.when(p.bad.fill_null(False)).then(p.message).otherwise(message_expr)
    return failing.select(
        "_idx",
        "id",
        pl.when(_READ_ERROR)
        .then(pl.col("_pre_error_field"))
        .otherwise(field_expr)
        .alias("_error_field"),
        pl.when(_READ_ERROR)
        .then(pl.col("_pre_error_message"))
        .otherwise(message_expr)
        .alias("_error_message"),
    )


def _typed(f: Field) -> pl.Expr:
    """The column of field ``f`` as the rules read it, from its parsed form."""
    parsed = pl.col(_PARSED + f.name)
    if f.type == "bool":
        return parsed.fill_null(False).alias(f.name)
    if f.type in ("number", "money", "rate"):
        return parsed.to_physical().alias(f.name)  # millionths
    if f.type == "enum":
        # enums as Polars Enum: the rules compare them many times per claim
        return parsed.cast(pl.Enum(f.choices), strict=False).alias(f.name)
    return parsed.alias(f.name)
