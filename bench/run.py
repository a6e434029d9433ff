"""The engine benchmark: a city's year of mixed claims through `skillsubsidy evaluate`, and
the 2023 certificate rule alone in memory.

    python bench/run.py --claims 1000000 [--history 200000] [--rule-rows 5000000]

Claim files are generated once (bench/generate.py, fixed seed) into bench/data/ and reused.
Reports wall time, claims per second and peak memory (RSS) of the CLI run, then the in-memory
rate of the wenzhou-2023 certificate rule (amount and reasons, without explanations).
Figures are recorded in bench/README.md.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

import polars as pl

HERE = Path(__file__).parent
DATA = HERE / "data"
sys.path.insert(0, str(HERE))

import generate  # noqa: E402  (the generator beside this file)


def claim_files(n: int, history: int, seed: int) -> tuple[Path, Path | None]:
    DATA.mkdir(exist_ok=True)
    claims = DATA / f"claims-{n}-s{seed}.csv"
    hist = DATA / f"history-{history}-s{seed}.csv" if history else None
    if not claims.exists() or (hist and not hist.exists()):
        made = generate.generate(n, seed, history)
        made.claims.write_csv(claims)
        if hist and made.history is not None:
            made.history.write_csv(hist)
    return claims, hist


def run_cli(claims: Path, history: Path | None) -> tuple[float, float, int]:
    """(seconds, peak RSS in MiB, exit status) of one `skillsubsidy evaluate` run."""
    out = DATA / "decisions.jsonl"
    cmd = [sys.executable, "-m", "skillsubsidy", "evaluate", str(claims), "--output", str(out)]
    if history:
        cmd += ["--history", str(history)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(proc.stderr)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return seconds, peak, proc.returncode


def certificate_rule_rate(claims: Path, rows: int) -> tuple[int, float]:
    """(rows, seconds) of the wenzhou-2023 certificate rule over ``rows`` claims in memory."""
    from skillsubsidy.policy.engine import Engine

    engine = Engine()
    period_no = next(n for n, p in enumerate(engine.periods) if p.id == "wenzhou-2023")
    sample = pl.read_csv(claims, infer_schema=False, n_rows=200_000).with_row_index("_idx")
    derived = engine.derived(sample).filter(
        (pl.col("_period_no") == period_no) & (pl.col("kind") == "certificate")
    )
    frame = pl.concat([derived] * (rows // derived.height + 1)).head(rows).rechunk()
    engine.amounts(frame.head(1000), period_no, "certificate")  # compile once
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        engine.amounts(frame, period_no, "certificate")
        best = min(best, time.perf_counter() - start)
    return frame.height, best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--claims", type=int, default=1_000_000)
    parser.add_argument("--history", type=int, default=0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rule-rows", type=int, default=5_000_000)
    args = parser.parse_args()
    claims, history = claim_files(args.claims, args.history, args.seed)
    seconds, peak, status = run_cli(claims, history)
    print(
        f"evaluate  {args.claims:>10,} claims  {seconds:6.2f} s  "
        f"{args.claims / seconds:>10,.0f} claims/s  peak {peak:,.0f} MiB  exit {status}"
    )
    rows, rule_seconds = certificate_rule_rate(claims, args.rule_rows)
    print(
        f"rule      {rows:>10,} wenzhou-2023 certificate claims in memory  {rule_seconds:6.3f} s  "
        f"{rows / rule_seconds:>12,.0f} claims/s"
    )


if __name__ == "__main__":
    main()
