"""Deciding in batches, and the two ways explanation texts are built, change nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml

from skillsubsidy.policy import engine as engine_module
from skillsubsidy.policy.engine import Engine
from skillsubsidy.policy.readers import records_frame

CASES = Path(__file__).parent / "cases"


def sample_claims() -> list[dict[str, Any]]:
    """Every claim of the case files (ids made unique), in file order: all kinds, packs,
    reasons and a good share of ledger situations, plus a few invalid records."""
    claims: list[dict[str, Any]] = []
    for path in sorted(CASES.glob("*.yaml")):
        for case in yaml.safe_load(path.read_text("utf-8"))["cases"]:
            items = case.get("batch") or [{"claim": case["claim"]}]
            claims += [{**i["claim"], "id": f"{path.stem}/{i['claim']['id']}"} for i in items]
    claims.insert(5, {"id": "broken", "jurisdiction": "wenzhou"})
    claims.insert(50, {**claims[40], "id": "bad-kind", "kind": "holiday"})
    return claims


def lines(frame: pl.DataFrame) -> list[str]:
    return frame["line"].to_list()


@pytest.fixture(scope="module")
def whole(engine: Engine) -> pl.DataFrame:
    return engine.decide(records_frame(sample_claims()))


def test_batches_give_the_same_decisions(engine: Engine, whole: pl.DataFrame) -> None:
    raw = records_frame(sample_claims())
    batched = pl.concat(list(engine.decide_batches(raw.iter_slices(37))))
    assert lines(batched) == lines(whole)
    assert json.loads(lines(whole)[5])["error"] == {"field": "kind", "message": "required"}


def test_an_id_repeated_in_a_later_batch_is_an_error(engine: Engine) -> None:
    claims = sample_claims()[:10]
    claims.append({**claims[0]})  # same id, ten records later
    raw = records_frame(claims)
    batched = [json.loads(x) for f in engine.decide_batches(raw.iter_slices(4)) for x in lines(f)]
    whole = [json.loads(x) for x in lines(engine.decide(raw))]
    assert batched == whole
    assert batched[-1]["error"] == {"field": "id", "message": "duplicate id in this batch"}
    assert "error" not in batched[0]


def test_common_and_rare_explanation_paths_agree(
    engine: Engine, whole: pl.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    # every mask its own part (the path large batches take) against the shared part
    monkeypatch.setattr(engine_module, "_COMMON_MASK_ROWS", 1)
    monkeypatch.setattr(engine_module, "_MAX_MASK_PARTS", 10_000)
    assert lines(Engine(engine.catalogue).decide(records_frame(sample_claims()))) == lines(whole)
