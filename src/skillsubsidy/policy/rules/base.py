"""What a rule returns: checks that can fail, steps of the amount, and the amount itself.

Everything is a Polars expression over the claims of one pack period and one kind, so a
rule runs on a batch of one claim or a million the same way. Each check and step carries
the clause it rests on; the engine turns them into ``reasons`` and ``explanation``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import polars as pl

from skillsubsidy.policy.claims import MONEY
from skillsubsidy.policy.vocabulary import LEVEL_NAMES


@dataclass(frozen=True)
class Check:
    """A condition of eligibility; ``failed`` true adds ``reason`` (or a warning)."""

    reason: str
    failed: pl.Expr
    text: pl.Expr
    clause: str


@dataclass(frozen=True)
class Step:
    """One step of the amount, shown when ``shown`` holds (default: always)."""

    text: pl.Expr
    clause: str
    shown: pl.Expr | None = None


@dataclass
class Assessment:
    amount: pl.Expr
    steps: list[Step] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    warnings: list[Check] = field(default_factory=list)
    # columns a rule needs computed before its expressions run (name -> expression)
    columns: dict[str, pl.Expr] = field(default_factory=dict)

    def extend(self, other: Assessment) -> None:
        self.steps += other.steps
        self.checks += other.checks
        self.warnings += other.warnings
        self.columns.update(other.columns)


def money(value: Decimal | int | str) -> pl.Expr:
    return pl.lit(Decimal(str(value))).cast(MONEY)


def yuan(expr: pl.Expr) -> pl.Expr:
    """Text of an amount, rounded half up to the fen, e.g. ``1950.00``."""
    return rounded(expr).cast(pl.String)


def rounded(expr: pl.Expr) -> pl.Expr:
    return expr.round(2, mode="half_away_from_zero").cast(pl.Decimal(38, 2))


def percent(ratio: Decimal) -> str:
    return f"{(ratio * 100).normalize():f}%"


def plain(value: Decimal) -> str:
    return f"{value.normalize():f}"


def level_name(level: pl.Expr) -> pl.Expr:
    return level.replace_strict(
        list(LEVEL_NAMES), list(LEVEL_NAMES.values()), default="?", return_dtype=pl.String
    )


def lookup(key: pl.Expr, table: Mapping[Any, Decimal], default: Decimal | None = None) -> pl.Expr:
    """A pack table applied to a column: key → money (``default`` or null when absent)."""
    keys = list(table)
    values = [Decimal(str(v)) for v in table.values()]
    return key.replace_strict(
        keys,
        pl.Series(values, dtype=MONEY),
        default=pl.lit(default).cast(MONEY) if default is not None else None,
        return_dtype=MONEY,
    )


def text(template: str, *args: pl.Expr) -> pl.Expr:
    """Explanation text; absent values show as —."""
    return pl.format(template, *(a.cast(pl.String).fill_null("—") for a in args))


def const(value: str) -> pl.Expr:
    return pl.lit(value, dtype=pl.String)


def min_money(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    return pl.when(a <= b).then(a).otherwise(b)


def max_money(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    return pl.when(a >= b).then(a).otherwise(b)


def flag(name: str) -> pl.Expr:
    return pl.col(name).fill_null(False)
