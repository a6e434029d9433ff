"""Write decisions as JSON Lines, straight from the columnar frame (no Python loop per claim)."""

from __future__ import annotations

from typing import IO

import polars as pl

_DECISION = [
    "id",
    "policy",
    "eligible",
    "amount",
    "payee",
    "fund",
    "reasons",
    "warnings",
    "explanation",
]


def json_lines(decisions: pl.DataFrame) -> pl.Series:
    """One JSON object per decision; an invalid record carries only its id and ``error``."""
    ok = pl.struct(
        *[pl.col("amount").cast(pl.String) if c == "amount" else pl.col(c) for c in _DECISION]
    )
    bad = pl.struct("id", "error")
    line = (
        pl.when(pl.col("error").is_null())
        .then(ok.struct.json_encode())
        .otherwise(bad.struct.json_encode())
    )
    return decisions.select(line.alias("line")).to_series()


def write_jsonl(decisions: pl.DataFrame, out: IO[bytes], chunk: int = 200_000) -> None:
    for start in range(0, decisions.height, chunk):
        lines = json_lines(decisions.slice(start, chunk))
        out.write(("\n".join(lines.to_list()) + "\n").encode("utf-8"))
