"""The small condition language of the packs, compiled to Polars expressions.

A condition is written for a policy officer to read, e.g.
``person.ui_insured_local and not person.public_servant``,
``person.works_locally and person.social_insurance_months >= 6``,
``category in (A, B)``, ``kind == pre_job``.
Grammar: ``clause ("or" clause)*``; ``clause = term ("and" term)*``;
``term = ["not"] field [op value]`` with op one of ``>= <= > < == !=`` or ``in (v, …)``.
A bare field is a boolean; a missing value counts as false.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from functools import reduce

import polars as pl

_TERM = re.compile(
    r"^(?P<neg>not\s+)?(?P<field>[A-Za-z_][\w.]*)"
    r"(?:\s*(?P<op>>=|<=|==|!=|>|<)\s*(?P<value>[\w.\-]+)"
    r"|\s+in\s+\((?P<members>[^)]*)\))?$"
)


class ConditionError(ValueError):
    """A condition that does not parse or names an unknown field."""


def fields_of(condition: str) -> set[str]:
    """The field names a condition reads (for the pack validator)."""
    return {_parse_term(t)[1] for c in _clauses(condition) for t in c}


def compile_condition(condition: str) -> pl.Expr:
    clauses = [
        reduce(lambda a, b: a & b, (_term_expr(*_parse_term(t)) for t in terms))
        for terms in _clauses(condition)
    ]
    return reduce(lambda a, b: a | b, clauses)


def any_of(conditions: Iterable[str]) -> pl.Expr:
    exprs = [compile_condition(c) for c in conditions]
    return reduce(lambda a, b: a | b, exprs) if exprs else pl.lit(False)


def _clauses(condition: str) -> list[list[str]]:
    text = condition.strip()
    if not text:
        raise ConditionError("empty condition")
    return [
        [t.strip() for t in re.split(r"\s+and\s+", clause)]
        for clause in re.split(r"\s+or\s+", text)
    ]


def _parse_term(term: str) -> tuple[bool, str, str | None, str | None, list[str] | None]:
    m = _TERM.match(term)
    if not m:
        raise ConditionError(f"cannot read {term!r}")
    members = m["members"]
    return (
        bool(m["neg"]),
        m["field"],
        m["op"],
        m["value"],
        [s.strip() for s in members.split(",") if s.strip()] if members is not None else None,
    )


def _literal(value: str) -> pl.Expr:
    try:
        return pl.lit(Decimal(value))
    except ArithmeticError:
        return pl.lit(value)


def _term_expr(
    negated: bool, field: str, op: str | None, value: str | None, members: list[str] | None
) -> pl.Expr:
    col = pl.col(field)
    if members is not None:
        expr = col.is_in(members).fill_null(False)
    elif op is None:
        expr = col.fill_null(False)
    else:
        assert value is not None
        lit = _literal(value)
        expr = {
            ">=": col >= lit,
            "<=": col <= lit,
            ">": col > lit,
            "<": col < lit,
            "==": col == lit,
            "!=": col != lit,
        }[op].fill_null(False)
    return ~expr if negated else expr
