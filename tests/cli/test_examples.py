"""Every public worked example (../shared/spec/examples.jsonl) through the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from tests.conftest import SHARED_SPEC

EXAMPLES = SHARED_SPEC / "examples.jsonl"
pytestmark = pytest.mark.skipif(not EXAMPLES.exists(), reason="../shared/spec not present")


def _batches() -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = defaultdict(list)
    if EXAMPLES.exists():
        for line in EXAMPLES.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                groups[row["claim"].get("batch", "")].append(row)
    return groups


@pytest.mark.parametrize("batch", sorted(_batches()), ids=lambda b: b or "singles")
def test_examples_through_cli(batch: str, tmp_path: Path) -> None:
    rows = _batches()[batch]
    claims = tmp_path / "claims.jsonl"
    claims.write_text(
        "\n".join(
            json.dumps({k: v for k, v in r["claim"].items() if k != "batch"}, ensure_ascii=False)
            for r in rows
        ),
        encoding="utf-8",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "skillsubsidy", "evaluate", str(claims)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr
    got = {d["id"]: d for d in map(json.loads, proc.stdout.splitlines())}
    for row in rows:
        exp, dec = row["expect"], got[row["claim"]["id"]]
        if "error" in exp:
            assert dec["error"]["field"] == exp["error"]["field"]
            continue
        assert "error" not in dec
        assert dec["policy"] == exp["policy"]
        assert dec["eligible"] == exp["eligible"]
        assert Decimal(dec["amount"]) == Decimal(exp["amount"])
        assert set(exp["reasons"]) <= set(dec["reasons"])
        assert set(exp.get("warnings", [])) <= set(dec["warnings"])
        if exp["eligible"]:
            assert dec["reasons"] == []
            assert (dec["payee"], dec["fund"]) == (exp["payee"], exp["fund"])
        if exp["policy"]:
            assert all(e["text"] and e["clause"] for e in dec["explanation"])
