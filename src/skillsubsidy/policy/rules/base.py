"""What a rule returns: checks that can fail, steps of the amount, and the amount itself.

Everything is a Polars expression over the claims of one pack period and one kind, so a
rule runs on a batch of one claim or a million the same way. Each check and step carries
the clause it rests on; the engine turns them into ``reasons`` and ``explanation``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import polars as pl

from skillsubsidy.policy.claims import MICRO, MONEY
from skillsubsidy.policy.vocabulary import LEVEL_NAMES


@dataclass(frozen=True)
class Check:
    """A condition of eligibility; ``failed`` true adds ``reason`` (or a warning)."""

    reason: str
    failed: pl.Expr
    text: Text
    clause: str


@dataclass(frozen=True)
class Step:
    """One step of the amount, shown when ``shown`` holds (default: always)."""

    text: Text
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


# Inside the engine, money and the other decimal quantities (hours, days, rates) are exact
# integers of millionths (claims.MONEY): integer arithmetic is several times faster on Polars
# than 128-bit decimals, and a product of a 2-place amount with a pack ratio of up to 2
# places stays exact. They become Decimal again, rounded once, at the edge (``rounded``).


def _millionths(value: Decimal | int | str) -> int:
    scaled = Decimal(str(value)) * MICRO
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} has more than 6 decimal places")
    return int(scaled)


def money(value: Decimal | int | str) -> pl.Expr:
    """A pack amount (yuan) or quantity (hours, days, a rate) in the engine's fixed point."""
    return pl.lit(_millionths(value), dtype=MONEY)


def times(expr: pl.Expr, factor: Decimal | int | str) -> pl.Expr:
    """``expr`` (fixed point) × a pack constant (a plain number: ratio, rate per hour…),
    exactly: by the integer numerator, then by the power of ten of the denominator."""
    value = Decimal(str(factor)).normalize()
    if value == 1:
        return expr
    places = max(0, -int(value.as_tuple().exponent))
    numerator = int(value.scaleb(places))
    product = expr * numerator
    return product if places == 0 else product // 10**places


def yuan(expr: pl.Expr) -> pl.Expr:
    """Text of an amount, rounded half up to the fen, e.g. ``1950.00``."""
    return rounded(expr).cast(pl.String)


def rounded(expr: pl.Expr) -> pl.Expr:
    """A fixed-point amount (never negative) as Decimal yuan, rounded half up to the fen."""
    fen = (expr + MICRO // 200) // (MICRO // 100)
    return fen.cast(pl.Decimal(38, 2)) / 100


def percent(ratio: Decimal) -> str:
    return f"{(ratio * 100).normalize():f}%"


def plain(value: Decimal) -> str:
    return f"{value.normalize():f}"


def level_name(level: pl.Expr) -> pl.Expr:
    return dense_lookup(level, LEVEL_NAMES, pl.String(), "?")


def lookup(key: pl.Expr, table: Mapping[Any, Decimal], default: Decimal | None = None) -> pl.Expr:
    """A pack table applied to a column: key → money (``default`` or null when absent)."""
    values = {k: _millionths(v) for k, v in table.items()}
    fallback = _millionths(default) if default is not None else None
    if all(isinstance(k, int) and 0 <= k < _DENSE_KEYS for k in values):
        return dense_lookup(key, values, MONEY, fallback)
    return key.replace_strict(
        list(values),
        pl.Series(list(values.values()), dtype=MONEY),
        default=pl.lit(fallback, dtype=MONEY),
        return_dtype=MONEY,
    )


_DENSE_KEYS = 1_000


def dense_lookup(
    key: pl.Expr,
    table: Mapping[int, Any],
    dtype: pl.DataType | type[pl.DataType],
    default: Any = None,
) -> pl.Expr:
    """A table with small non-negative integer keys (levels, codes) applied to an integer
    column by position: an array read per claim, several times cheaper than a hash lookup.
    A key outside the table gives ``default``; a missing key, null."""
    size = max(table, default=-1) + 1
    values = pl.Series([table.get(k, default) for k in range(size)] + [default], dtype=dtype)
    position = pl.when(key.is_null() | key.is_between(0, size - 1)).then(key).otherwise(size)
    return pl.lit(values).gather(position.cast(pl.UInt32))


# Explanation texts are built as JSON string contents (escaped), because decisions are
# written as JSON Lines straight from the frame: see engine._decide_group.


def json_text(value: str) -> str:
    """``value`` escaped for use inside a JSON string."""
    return json.dumps(value, ensure_ascii=False)[1:-1]


def escaped(expr: pl.Expr) -> pl.Expr:
    """A text column escaped for use inside a JSON string (control characters become spaces)."""
    return (
        expr.str.replace_all("\\", "\\\\", literal=True)
        .str.replace_all('"', '\\"', literal=True)
        .str.replace_all(r"[\x00-\x1f]", " ")
    )


@dataclass(frozen=True)
class Text:
    """An explanation text as pieces: literal strings (already JSON-escaped) and expressions.

    Kept apart until the explanation of a group of claims is put together, so that all its
    entries become one flat ``concat_str`` (no nested intermediate strings).
    """

    pieces: tuple[str | pl.Expr, ...]

    def expr(self) -> pl.Expr:
        return flat_concat(self.pieces)


def flat_concat(pieces: Iterable[str | pl.Expr]) -> pl.Expr:
    """One ``concat_str`` of the pieces, adjacent literals merged."""
    merged: list[str | pl.Expr] = []
    for piece in pieces:
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] += piece
        elif not (isinstance(piece, str) and not piece):
            merged.append(piece)
    exprs = [pl.lit(p, dtype=pl.String) if isinstance(p, str) else p for p in merged]
    if not exprs:
        return pl.lit("", dtype=pl.String)
    return exprs[0] if len(exprs) == 1 else pl.concat_str(exprs)


def text(template: str, *args: pl.Expr | Text) -> Text:
    """Explanation text (JSON-escaped); ``{}`` marks an argument; absent values show as —."""
    parts = json_text(template).split("{}")
    if len(parts) != len(args) + 1:
        raise ValueError(f"{template!r} takes {len(parts) - 1} arguments, got {len(args)}")
    pieces: list[str | pl.Expr] = [parts[0]]
    for arg, part in zip(args, parts[1:], strict=True):
        if isinstance(arg, Text):
            pieces += arg.pieces
        else:
            value = arg.cast(pl.String)
            if arg.meta.output_name(raise_if_undetermined=False) not in _SAFE:
                value = escaped(value)
            pieces.append(value.fill_null("—"))
        pieces.append(part)
    return Text(tuple(pieces))


# columns whose text needs no escaping (validated codes, numbers, dates)
_SAFE = frozenset(
    {
        "_age",
        "_age_on",
        "_key_date",
        "applied_on",
        "certificate.issued_on",
        "training.starts_on",
        "training.filed_on",
        "training.hours",
        "training.days",
        "employer.hired_on",
        "_training_began",
        "claimant",
        "_route",
        "certificate.type",
        "training.course",
        "jurisdiction",
        "policy",
        "category",
        "_amount",
        "_standard",
        "_base",
        "_level",
        "certificate.level",
        "_fund",
        "training.employment_rate",
        "apprentice.fee",
        "apprentice.allowance_paid",
    }
)


def const(value: str) -> Text:
    """A fixed explanation text."""
    return Text((json_text(value),))


def choose(condition: pl.Expr, then: Text, otherwise: Text) -> Text:
    """One of two texts, row by row."""
    return Text((pl.when(condition).then(then.expr()).otherwise(otherwise.expr()),))


def fragment(body: Text, clause: str) -> Text:
    """One explanation entry as a JSON object."""
    return Text(
        ('{"text":"', *body.pieces, '","clause":' + json.dumps(clause, ensure_ascii=False) + "}")
    )


def number(expr: pl.Expr) -> pl.Expr:
    """A quantity as people write it: ``40``, ``7.5`` (not ``40.000000``)."""
    return rounded(expr).cast(pl.String).str.replace(r"\.?0+$", "")


def min_money(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    """The smaller of two amounts (``a`` capped at ``b``; each operand appears once)."""
    return a.clip(upper_bound=b)


def max_money(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    """The larger of two amounts (``a`` raised to ``b``)."""
    return a.clip(lower_bound=b)


def flag(name: str) -> pl.Expr:
    return pl.col(name).fill_null(False)
