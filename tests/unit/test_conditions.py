"""The pack condition language."""

from __future__ import annotations

import polars as pl
import pytest

from skillsubsidy.policy.conditions import ConditionError, compile_condition, fields_of

FRAME = pl.DataFrame(
    {
        "a": [True, True, False, None],
        "b": [False, True, True, None],
        "n": [7, 5, 6, None],
        "cat": ["A", "C", "B", None],
    }
)


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("a", [True, True, False, False]),
        ("a and not b", [True, False, False, False]),
        ("a or b", [True, True, True, False]),
        ("n >= 6", [True, False, True, False]),
        ("a and n >= 6 or b and n < 6", [True, True, False, False]),
        ("cat in (A, B)", [True, False, True, False]),
        ("cat == C", [False, True, False, False]),
    ],
)
def test_conditions(condition: str, expected: list[bool]) -> None:
    assert FRAME.select(compile_condition(condition)).to_series().to_list() == expected


@pytest.mark.parametrize("bad", ["", "a >=", "a and", "(a)", "a = 1"])
def test_malformed_conditions_are_refused(bad: str) -> None:
    with pytest.raises(ConditionError):
        compile_condition(bad)


def test_fields_of() -> None:
    assert fields_of("person.x and not person.y or n >= 6") == {"person.x", "person.y", "n"}
