"""The per-pack case files (tests/policy/cases/*.yaml): readable input → expected decision,
one case per rule and per boundary, for a policy officer to review."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from skillsubsidy.policy.engine import Engine, evaluate

CASES_DIR = Path(__file__).parent / "cases"


def _cases() -> list[Any]:
    params = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        for case in yaml.safe_load(path.read_text("utf-8"))["cases"]:
            params.append(pytest.param(case, id=f"{path.stem}: {case['name']}"))
    return params


def _check(expect: dict[str, Any], got: dict[str, Any]) -> None:
    assert "error" not in got, got.get("error")
    assert got["policy"] == expect["policy"]
    assert sorted(got["reasons"]) == sorted(expect["reasons"]), got["explanation"]
    assert got["eligible"] == expect["eligible"]
    assert Decimal(got["amount"]) == Decimal(expect["amount"]), got["explanation"]
    if "warnings" in expect:
        assert sorted(got["warnings"]) == sorted(expect["warnings"])
    if "payee" in expect:
        assert got["payee"] == expect["payee"]
    if "fund" in expect:
        assert got["fund"] == expect["fund"]
    if expect["policy"]:
        assert got["explanation"] and all(e["clause"] for e in got["explanation"])


@pytest.mark.parametrize("case", _cases())
def test_case(case: dict[str, Any], engine: Engine) -> None:
    items = (
        case["batch"] if "batch" in case else [{"claim": case["claim"], "expect": case["expect"]}]
    )
    got = evaluate([i["claim"] for i in items], case.get("history", []), engine=engine)
    for item, decision in zip(items, got, strict=True):
        assert decision["id"] == item["claim"]["id"]
        _check(item["expect"], decision)
