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
import os
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
    """(seconds, peak RSS in MiB, exit status) of one `skillsubsidy evaluate` run, in a
    process of its own (start-up and imports included)."""
    out = DATA / "decisions.jsonl"
    cmd = [sys.executable, "-m", "skillsubsidy", "evaluate", str(claims), "--output", str(out)]
    if history:
        cmd += ["--history", str(history)]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(proc.stderr.read() if proc.stderr else f"exit {code}")
    return seconds, usage.ru_maxrss / 1024, code


def certificate_rule_rate(claims: Path, rows: int, checks: bool) -> tuple[int, float]:
    """(rows, best seconds of 3) of the wenzhou-2023 certificate rule over ``rows`` claims in
    memory; ``checks``: with every eligibility check, else the amount alone."""
    from skillsubsidy.policy.engine import Engine

    engine = Engine()
    period_no = next(n for n, p in enumerate(engine.periods) if p.id == "wenzhou-2023")
    sample = pl.read_csv(claims, infer_schema=False, n_rows=200_000).with_row_index("_idx")
    derived = engine.derived(sample).filter(
        (pl.col("_period_no") == period_no) & (pl.col("kind") == "certificate")
    )
    frame = pl.concat([derived] * (rows // derived.height + 1)).head(rows).rechunk()
    engine.amounts(frame.head(1000), period_no, "certificate", checks)  # compile once
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        engine.amounts(frame, period_no, "certificate", checks)
        best = min(best, time.perf_counter() - start)
    return frame.height, best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--claims", type=int, default=1_000_000)
    parser.add_argument("--history", type=int, default=0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rule-rows", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="CLI runs (best and worst shown)")
    args = parser.parse_args()
    claims, history = claim_files(args.claims, args.history, args.seed)
    runs = sorted(run_cli(claims, history) for _ in range(args.repeat))
    best, worst = runs[0], runs[-1]
    with_history = f" + {args.history:,} history" if history else ""
    print(
        f"evaluate  {args.claims:,} claims{with_history} (CSV → JSONL, ledger included): "
        f"best {best[0]:.2f} s ({args.claims / best[0]:,.0f} claims/s), worst {worst[0]:.2f} s; "
        f"peak RSS {max(r[1] for r in runs):,.0f} MiB; exit {best[2]}"
    )
    for checks in (True, False):
        rows, seconds = certificate_rule_rate(claims, args.rule_rows, checks)
        what = "amount and every check" if checks else "amount alone"
        print(
            f"rule      wenzhou-2023 certificate, {what}: {rows:,} claims in memory in "
            f"{seconds:.3f} s ({rows / seconds:,.0f} claims/s)"
        )


if __name__ == "__main__":
    main()
