"""The claim record of the evaluation contract, and its columnar validation.

Input of any format arrives as a frame of *text* columns named by dotted field names
(``person.id_number``). ``validate`` turns it into typed columns and, per record, the first
problem found (``_error_field``, ``_error_message``); a bad record never stops the batch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import reduce

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

MONEY = pl.Decimal(38, 6)


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

# Fields required only for some claims: (field, when, why). `when` reads the raw text columns.
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
    ("apprentice.type", _kind == "apprenticeship", "required for an apprenticeship claim"),
    (
        "apprentice.fee",
        (_kind == "apprenticeship")
        & (pl.col("apprentice.type") == "employee")
        & (pl.col("jurisdiction") != "county"),
        "required for an employee apprentice (the actual training fee)",
    ),
    (
        "apprentice.allowance_paid",
        (_kind == "apprenticeship")
        & (pl.col("apprentice.type") == "student")
        & (pl.col("jurisdiction") == "wenzhou"),
        "required for a student apprentice (the allowance the employer paid)",
    ),
    (
        "apprentice.fee",
        (_kind == "apprenticeship")
        & (pl.col("apprentice.type") == "student")
        & (pl.col("jurisdiction") == "jinhua"),
        "required for a student apprentice (the actual training fee)",
    ),
    ("training.course", _kind == "entrepreneurship", "required for entrepreneurship training"),
    (
        "training.hours",
        (_kind == "project")
        & ((_cert_type == "training_pass") | (pl.col("jurisdiction") == "jinhua")),
        "required for project training paid by the hour",
    ),
    ("training.days", _kind == "order_training", "required for order training"),
    ("training.employment_rate", _kind == "order_training", "required for order training"),
)

_TRUE = ("true", "1", "是", "yes", "y")
_FALSE = ("false", "0", "否", "no", "n")
_DATE_RE = r"^\d{4}-\d{2}-\d{2}$"
_NUMBER_RE = r"^-?\d+(\.\d+)?$"
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def _typed(field: Field, raw: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(typed value, error message or null) for one field's text column."""
    value: pl.Expr
    msg: pl.Expr
    null = pl.lit(None, dtype=pl.String)
    present = raw.is_not_null()
    t = field.type
    if t in ("text", "id_number"):  # the ID's own check is _id_number_error
        return raw, null
    if t == "enum":
        ok = raw.is_in(list(field.choices))
        msg = pl.format("unknown value '{}'; expected one of: " + ", ".join(field.choices), raw)
        return raw, pl.when(present & ~ok).then(msg).otherwise(null)
    if t == "district":
        ok = raw.str.contains(r"^\d{6}$") | raw.is_in(list(NAMED_DISTRICTS))
        msg = pl.format(
            "'{}' is not a district code (6 digits, or " + ", ".join(NAMED_DISTRICTS) + ")", raw
        )
        return raw, pl.when(present & ~ok).then(msg).otherwise(null)
    if t == "bool":
        low = raw.str.to_lowercase()
        value = pl.when(low.is_in(_TRUE)).then(True).when(low.is_in(_FALSE)).then(False)
        bad = present & ~low.is_in(_TRUE + _FALSE)
        msg = pl.format("'{}' is not a boolean (true/false, 1/0, 是/否)", raw)
        return value.fill_null(False), pl.when(bad).then(msg).otherwise(null)
    if t == "date":
        shaped = raw.str.contains(_DATE_RE)
        value = pl.when(shaped).then(raw.str.strptime(pl.Date, "%Y-%m-%d", strict=False))
        msg = pl.format("'{}' is not a date (YYYY-MM-DD)", raw)
        return value, pl.when(present & value.is_null()).then(msg).otherwise(null)
    if t in ("count", "level"):
        value = pl.when(raw.str.contains(r"^\d{1,6}$")).then(raw.cast(pl.Int32, strict=False))
        negative = raw.str.contains(r"^-\d+$")
        if t == "level":
            bad_range = value.is_not_null() & ((value < 1) | (value > 5))
            msg = (
                pl.when(bad_range)
                .then(pl.format("level {} is not 1..5 (5 = 五级/初级工 … 1 = 一级/高级技师)", raw))
                .when(value.is_null())
                .then(pl.format("'{}' is not a level 1..5", raw))
            )
        else:
            bad_range = pl.lit(False)
            msg = (
                pl.when(negative)
                .then(pl.format("must not be negative (got {})", raw))
                .when(value.is_null())
                .then(pl.format("'{}' is not a whole number", raw))
            )
        bad = present & (value.is_null() | bad_range)
        return value, pl.when(bad).then(msg).otherwise(null)
    # number, money, rate: exact decimals
    shaped = raw.str.contains(_NUMBER_RE)
    value = pl.when(shaped).then(raw.cast(MONEY, strict=False))
    places = raw.str.extract(r"\.(\d+)$").str.len_chars().fill_null(0)
    max_places = {"money": 2, "number": 2, "rate": 4}[t]
    too_big = pl.lit(False) if t != "rate" else value > 1
    msg = (
        pl.when(~shaped)
        .then(pl.format("'{}' is not a number", raw))
        .when(value < 0)
        .then(pl.format("must not be negative (got {})", raw))
        .when(places > max_places)
        .then(pl.format(f"at most {max_places} decimal places (got {{}})", raw))
        .when(too_big)
        .then(pl.format("a rate between 0 and 1 (got {})", raw))
    )
    return value, pl.when(present).then(msg).otherwise(null)


def _id_number_error(raw: pl.Expr) -> pl.Expr:
    """GB 11643-1999 citizen ID: region, existing birth date, sequence, MOD 11-2 check.

    The region code is deliberately not checked against the birth year (POLICY.md §3.1):
    IDs keep the district code current when they were issued.
    """
    null = pl.lit(None, dtype=pl.String)
    digits = [raw.str.slice(i, 1).cast(pl.Int32, strict=False) for i in range(17)]
    total = reduce(lambda a, b: a + b, (d * w for d, w in zip(digits, _ID_WEIGHTS, strict=True)))
    expected = total.mod(11).replace_strict(
        list(range(11)), list(_ID_CHECK), return_dtype=pl.String
    )
    birth = raw.str.slice(6, 8).str.strptime(pl.Date, "%Y%m%d", strict=False)
    return (
        pl.when(raw.str.len_chars() != 18)
        .then(pl.format("must be 18 characters (got {})", raw.str.len_chars()))
        .when(~raw.str.contains(r"^\d{17}[\dX]$"))
        .then(pl.lit("must be 17 digits and a check character (0-9 or X)"))
        .when(birth.is_null())
        .then(pl.format("birth date {} does not exist", raw.str.slice(6, 8)))
        .when(raw.str.slice(17, 1) != expected)
        .then(pl.lit("check character wrong"))
        .otherwise(null)
    )


def birth_date(id_number: pl.Expr) -> pl.Expr:
    return id_number.str.slice(6, 8).str.strptime(pl.Date, "%Y%m%d", strict=False)


def is_male(id_number: pl.Expr) -> pl.Expr:
    """17th digit odd = male (GB 11643-1999)."""
    return id_number.str.slice(16, 1).cast(pl.Int32, strict=False).mod(2) == 1


def validate(raw: pl.DataFrame, known_packs: Mapping[str, str]) -> pl.DataFrame:
    """Typed columns for every contract field, plus ``_error_field``/``_error_message``.

    ``raw`` holds text columns (any subset of FIELD_NAMES; others are ignored) and may hold
    ``_pre_error_field``/``_pre_error_message`` found while reading (e.g. a JSON line that
    does not parse). ``known_packs`` maps pack id → jurisdiction for the ``policy`` field.
    """
    missing = [n for n in FIELD_NAMES if n not in raw.columns]
    frame = raw.with_columns(
        *(pl.lit(None, dtype=pl.String).alias(n) for n in missing),
    ).with_columns(
        # surrounding blanks are never meaningful; an all-blank cell is an absent field
        pl.col(n).cast(pl.String).str.strip_chars().replace("", None)
        for n in FIELD_NAMES
    )
    frame = frame.with_columns(pl.col("person.id_number").str.to_uppercase())
    typed: list[pl.Expr] = []
    errors: list[tuple[str, pl.Expr]] = []
    null = pl.lit(None, dtype=pl.String)
    for f in FIELDS:
        raw_col = pl.col(f.name)
        value, err = _typed(f, raw_col)
        if f.type == "id_number":
            err = _id_number_error(raw_col)
        if f.required:
            err = pl.when(raw_col.is_null()).then(pl.lit("required")).otherwise(err)
        for name, when, why in CONDITIONAL_REQUIREMENTS:
            if name == f.name:
                err = (
                    pl.when(raw_col.is_null() & when.fill_null(False))
                    .then(pl.lit(why))
                    .otherwise(err)
                )
        typed.append(value.alias(f.name))
        errors.append((f.name, err))
    policy = pl.col("policy")
    policy_err = (
        pl.when(policy.is_not_null() & ~policy.is_in(list(known_packs)))
        .then(pl.format("unknown pack '{}'; expected one of: " + ", ".join(known_packs), policy))
        .when(
            policy.is_not_null()
            & (policy.replace_strict(dict(known_packs), default=None) != pl.col("jurisdiction"))
        )
        .then(pl.format("pack '{}' is not for jurisdiction '{}'", policy, pl.col("jurisdiction")))
        .otherwise(null)
    )
    level_err = (
        pl.when(
            (pl.col("certificate.type") == "special_ability")
            & pl.col("certificate.level").is_not_null()
            & ~pl.col("certificate.level").is_in(["5", "3"])
        )
        .then(pl.lit("a special-ability certificate is level 5 (初级) or 3 (高级)"))
        .otherwise(null)
    )
    errors += [("policy", policy_err), ("certificate.level", level_err)]
    pre_field = pl.col("_pre_error_field") if "_pre_error_field" in frame.columns else null
    pre_msg = pl.col("_pre_error_message") if "_pre_error_message" in frame.columns else null
    error_field = pl.coalesce(
        pre_field, *(pl.when(e.is_not_null()).then(pl.lit(n)) for n, e in errors)
    )
    error_message = pl.coalesce(pre_msg, *(e for _, e in errors))
    out = frame.select(
        "_idx",
        *typed,
        error_field.alias("_error_field"),
        error_message.alias("_error_message"),
    )
    # ids must be unique in a batch: the later copies are the errors
    dup = pl.col("id").is_not_null() & ~pl.col("id").is_first_distinct()
    return out.with_columns(
        pl.when(pl.col("_error_field").is_null() & dup)
        .then(pl.lit("id"))
        .otherwise(pl.col("_error_field"))
        .alias("_error_field"),
        pl.when(pl.col("_error_field").is_null() & dup)
        .then(pl.lit("duplicate id in this batch"))
        .otherwise(pl.col("_error_message"))
        .alias("_error_message"),
    )
