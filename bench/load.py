"""Load test: 200 identical creates at once against a real server on PostgreSQL.

    .venv/bin/python bench/load.py [--requests 200] [--batch-claims 20] [--database-url URL]

Starts a throwaway PostgreSQL server (``tests/postgres.py``; or uses the server of
``--database-url``, on a fresh database of its own that is dropped afterwards), builds the
schema, makes its users with known tokens (a caseworker of 330302, a trainee, finance; not
the demo data set), then runs ``skillsubsidy serve`` as a process of its own and sends it,
from as many threads released together by a barrier (each with its connection already
open):

a. the trainee's claim on one competition certificate, ``--requests`` times: exactly one
   claim is made (1 × 201, the rest 409 naming it);
a'. the same for a second certificate with one ``Idempotency-Key`` on every request: one
   claim, the first answer 201 and the others its replay (``Idempotency-Replayed: true``)
   or 409 with ``Retry-After`` while the first still runs;
b. finance's payment batch of fund 330302 (``--batch-claims`` approved claims waiting):
   exactly one batch (1 × 201, the rest 409).

After each: no 5xx, no timeout, p99 latency under 2 s, and the connection pool healthy
(``GET /api/v1/me`` answers quickly, no session of the server idle inside a transaction).
Prints a table; exits 1 when an expectation fails, naming it, with the server's tracebacks.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import math
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2 as httpx
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

# one TLS context for every client (plain HTTP is used; building one per client costs 0.15 s)
_TLS = ssl.create_default_context()
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.postgres import _find_binaries, _free_port, _Server, fresh_database  # noqa: E402

from skillsubsidy.demo.seed import citizen_id  # noqa: E402
from skillsubsidy.domain.dates import china_today  # noqa: E402
from skillsubsidy.services import claims, notices, registry, users  # noqa: E402
from skillsubsidy.store.db import URL_SETTING, Database  # noqa: E402

APP_NAME = "skillsubsidy-load"  # the server's sessions, as pg_stat_activity names them
DISTRICT = "330302"
P99_TARGET = 2.0  # seconds
ME_TARGET = 1.0  # seconds, for one GET /api/v1/me after a burst
TOKENS = {
    "caseworker": "load-caseworker-8c1f0e",
    "trainee": "load-trainee-51d2aa",
    "finance": "load-finance-93b7c4",
}
TRAINEE_NAME = "李建国"
TRAINEE_ID = citizen_id(DISTRICT, dt.date(1991, 3, 9), 211)


# --- set-up -----------------------------------------------------------------------------


@dataclass
class Setup:
    certificates: list[int]  # the trainee's: one per claim scenario
    batch_claims: list[int]  # approved, waiting in fund 330302


def _competition(id_number: str) -> dict[str, Any]:
    return {
        "jurisdiction": "wenzhou",
        "kind": "certificate",
        "claimant": "individual",
        "route": "competition",
        "district": DISTRICT,
        "person": {"id_number": id_number, "hukou_local": True},
    }


def prepare(db: Database, batch_claims: int) -> Setup:
    """Users, the trainee and their certificates, and ``batch_claims`` approved claims of
    other trainees in fund 330302 with the money for them, all through the services."""
    today = china_today()

    def people(s: Session) -> list[int]:
        trainee = registry.register_person(s, TRAINEE_ID, TRAINEE_NAME, actor="load")
        certs = [
            registry.record_certificate(
                s,
                "caseworker:load",
                trainee,
                type="vocational",
                occupation=occupation,
                level=4,
                number=f"LOAD-{n}",
                issued_on=today - dt.timedelta(days=10),
            ).id
            for n, occupation in enumerate(("电工", "焊工"))
        ]
        users.create_user(
            s, "load-caseworker", "caseworker", districts=[DISTRICT], token=TOKENS["caseworker"]
        )
        users.create_user(
            s, "load-trainee", "trainee", person_id=trainee.id, token=TOKENS["trainee"]
        )
        users.create_user(s, "load-finance", "finance", token=TOKENS["finance"])
        return certs

    certificates = db.run(people)

    def submit(s: Session) -> list[int]:
        made = []
        for n in range(batch_claims):
            id_number = citizen_id(DISTRICT, dt.date(1988, 1, 1) + dt.timedelta(days=n), 301)
            person = registry.register_person(s, id_number, "王小二", social_security_card=f"S{n}")
            cert = registry.record_certificate(
                s,
                "caseworker:load",
                person,
                type="vocational",
                occupation="电工",
                level=4,
                number=f"LOAD-B-{n}",
                issued_on=dt.date(2024, 4, 20),
            )
            claim = claims.submit_claim(
                s,
                "applicant",
                _competition(id_number),
                person_name="王小二",
                applied_on=dt.date(2024, 5, 10),
                certificate_id=cert.id,
            )
            made.append(claim.id)
        return made

    ids = db.run(submit)
    db.run(lambda s: [claims.check_claim(s, "caseworker:a", c, "材料齐全") for c in ids])
    db.run(lambda s: [claims.review_claim(s, "caseworker:b", c, "复核无误") for c in ids])
    notice = db.run(
        lambda s: notices.publish_notice(s, "caseworker:a", DISTRICT, ids, dt.date(2024, 7, 1)).id
    )
    db.run(lambda s: notices.close_notice(s, "caseworker:a", notice, dt.date(2024, 7, 8)))
    money = Decimal("1950.00") * batch_claims + Decimal("1000.00")
    db.run(lambda s: registry.allocate(s, DISTRICT, money, "finance:load", "load test"))
    return Setup(certificates, ids)


# --- the server -------------------------------------------------------------------------


@dataclass
class Target:
    """The server under load, and a connection of our own to its database."""

    base: str
    pid: int
    admin: Any  # a SQLAlchemy engine

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server (its worker processes included)."""
        return sum(_cpu_seconds(pid) for pid in (self.pid, *_children(self.pid)))

    def sessions_opened(self) -> int:
        """Sessions the database has accepted since it was made (pg_stat_database)."""
        with self.admin.connect() as conn:
            return int(
                conn.scalar(
                    text("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
                )
            )


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_busy() -> float:
    """CPU seconds the whole machine has spent busy since boot (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = task / "children"
        if children.exists():
            found += [int(c) for c in children.read_text().split()]
    return found


@contextlib.contextmanager
def server(url: str, admin: Any, log: Path, workers: int = 0) -> Iterator[Target]:
    """``skillsubsidy serve`` on a free port (or, with ``workers``, uvicorn with that many
    worker processes on the same application), until the block ends."""
    port = _free_port()
    env = {**os.environ, URL_SETTING: _named(url)}
    if workers:
        command = ["-m", "uvicorn", "skillsubsidy.api.app:create_app", "--factory"]
        command += ["--workers", str(workers)]
    else:
        command = ["-m", "skillsubsidy", "serve"]
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, *command, "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"the server exited with {proc.returncode}:\n{log.read_text()}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/healthz", timeout=1, verify=_TLS).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit(f"the server did not answer /healthz:\n{log.read_text()}")
            time.sleep(0.1)
        yield Target(base, proc.pid, admin)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _named(url: str) -> str:
    """The URL with the application name its sessions carry in pg_stat_activity."""
    return f"{url}{'&' if '?' in url else '?'}application_name={APP_NAME}"


def warm_up(target: Target, workers: int) -> None:
    """The engine's first decision compiles its plans (~0.5 s): done before the bursts,
    through POST /evaluate (once per worker, as far as the requests spread), so that they
    measure concurrency rather than a cold start."""
    today = china_today()
    facts = {
        **_competition(TRAINEE_ID),
        "id": "warm-up",
        "applied_on": today.isoformat(),
        "certificate": {
            "type": "vocational",
            "occupation": "电工",
            "level": 4,
            "issued_on": (today - dt.timedelta(days=10)).isoformat(),
        },
    }
    for _ in range(max(1, workers) * 4):
        with httpx.Client(base_url=target.base, timeout=60, verify=_TLS) as client:
            r = client.post("/api/v1/evaluate", json={"claims": [facts]})
            r.raise_for_status()
            assert r.json()["decisions"][0]["eligible"], r.text


# --- a burst of identical requests ------------------------------------------------------


@dataclass
class Answer:
    status: int | None  # None: no answer (timeout, connection error)
    seconds: float
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    error: str | None = None


def burst(
    base: str,
    n: int,
    path: str,
    body: dict[str, Any],
    headers: dict[str, str],
    on_release: Callable[[], None] = lambda: None,
) -> list[Answer]:
    """``n`` POSTs from ``n`` threads released at once (``on_release`` runs just before),
    each on a connection opened just before (well within uvicorn's 5 s keep-alive, so the
    server closes none under it)."""
    made, opened = threading.Barrier(n), threading.Barrier(n, action=on_release)
    answers: list[Answer | None] = [None] * n

    def one(i: int) -> None:
        with httpx.Client(base_url=base, timeout=60, verify=_TLS) as client:
            made.wait()
            client.get("/healthz")
            opened.wait()
            start = time.perf_counter()
            try:
                r = client.post(path, json=body, headers=headers)
            except httpx.HTTPError as exc:
                answers[i] = Answer(None, time.perf_counter() - start, error=repr(exc))
                return
            seconds = time.perf_counter() - start
            try:
                parsed = r.json()
            except ValueError:
                parsed = r.text
            answers[i] = Answer(r.status_code, seconds, dict(r.headers), parsed)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [a if a is not None else Answer(None, 0.0, error="thread failed") for a in answers]


def percentile(values: list[float], p: float) -> float:
    """Nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


# --- checks -----------------------------------------------------------------------------


@dataclass
class Check:
    what: str
    got: str
    expected: str
    ok: bool


@dataclass
class Scenario:
    name: str
    checks: list[Check] = field(default_factory=list)

    def check(self, what: str, got: object, expected: str = "", ok: bool = True) -> None:
        self.checks.append(Check(what, str(got), expected, ok))


def measured_burst(
    target: Target,
    scenario: Scenario,
    n: int,
    path: str,
    body: dict[str, Any],
    headers: dict[str, str],
) -> list[Answer]:
    """The burst, with what every scenario expects of it: no 5xx, no request left without
    an answer, p99 under the target; and what it cost the server."""
    sessions = target.sessions_opened()
    at: dict[str, float] = {}

    def release() -> None:
        at.update(cpu=target.cpu_seconds(), busy=_machine_busy(), wall=time.perf_counter())

    answers = burst(target.base, n, path, body, headers, release)
    used = target.cpu_seconds() - at["cpu"]
    wall = time.perf_counter() - at["wall"]
    busy_share = (_machine_busy() - at["busy"]) / (wall * (os.cpu_count() or 1))
    opened = target.sessions_opened() - sessions - 1  # our own look in between
    statuses = Counter(a.status for a in answers)
    listed = sorted(statuses.items(), key=lambda item: item[0] or 0)
    scenario.check("statuses", ", ".join(f"{c} × {s or 'no answer'}" for s, c in listed))
    failed = sum(c for s, c in statuses.items() if s is None or s >= 500)
    scenario.check("5xx or no answer", failed, "0", failed == 0)
    for error, count in Counter(a.error for a in answers if a.error).items():
        scenario.check("  no answer", f"{count} × {error}", "", False)
    times = [a.seconds for a in answers]
    p50, p99 = percentile(times, 50), percentile(times, 99)
    scenario.check("latency p50", f"{p50:.3f} s")
    scenario.check("latency p99", f"{p99:.3f} s", f"< {P99_TARGET:.0f} s", p99 < P99_TARGET)
    scenario.check("latency max", f"{max(times):.3f} s")
    scenario.check("server CPU (user + sys)", f"{used:.2f} s = {used / n * 1000:.1f} ms/request")
    scenario.check("server CPU / burst's wall time", f"{used / wall:.0%} of one core")
    scenario.check("machine CPU busy (all cores)", f"{busy_share:.0%}")
    scenario.check("database sessions opened", opened)
    return answers


def pool_checks(target: Target, scenario: Scenario, token: str) -> None:
    """After a burst the server still answers at once, and none of its sessions is left
    inside a transaction."""
    times, statuses = [], set()
    with httpx.Client(base_url=target.base, timeout=30, verify=_TLS) as client:
        for _ in range(5):
            start = time.perf_counter()
            r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
            times.append(time.perf_counter() - start)
            statuses.add(r.status_code)
    scenario.check(
        "GET /me after (worst of 5)",
        f"{max(times) * 1000:.0f} ms, {sorted(statuses)}",
        f"< {ME_TARGET * 1000:.0f} ms, [200]",
        max(times) < ME_TARGET and statuses == {200},
    )
    with target.admin.connect() as conn:
        idle, open_ = conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE state = 'idle in transaction'), count(*) "
                "FROM pg_stat_activity WHERE application_name = :app"
            ),
            {"app": APP_NAME},
        ).one()
    scenario.check("server sessions idle in transaction", idle, "0", idle == 0)
    scenario.check("server sessions open", open_)


def claim_burst(target: Target, n: int, certificate: int, key: str | None = None) -> Scenario:
    keyed = " (one Idempotency-Key)" if key else ""
    scenario = Scenario(f"a{'′' if key else ''}. {n} × POST /api/v1/claims{keyed}")
    body = {
        "facts": _competition(TRAINEE_ID),
        "person_name": TRAINEE_NAME,
        "certificate_id": certificate,
    }
    headers = {"Authorization": f"Bearer {TOKENS['trainee']}"}
    if key:
        headers["Idempotency-Key"] = key
    answers = measured_burst(target, scenario, n, "/api/v1/claims", body, headers)
    with target.admin.connect() as conn:
        made = conn.scalars(
            text("SELECT id FROM claim WHERE certificate_id = :c"), {"c": certificate}
        ).all()
    scenario.check("claims in the database", len(made), "1", len(made) == 1)
    claim_id = made[0] if len(made) == 1 else None
    created = [a for a in answers if a.status == 201]
    replays = [a for a in created if a.headers.get("idempotency-replayed") == "true"]
    first = [a for a in created if a not in replays]
    ok = len(first) == 1 and isinstance(first[0].body, dict) and first[0].body["id"] == claim_id
    scenario.check("201 made it", len(first), "1", ok)
    refused = [a for a in answers if a.status == 409]
    if key is None:
        # a repeat is refused naming the first claim, or, while the first is still being
        # decided, told to try again shortly (Retry-After)
        naming = [a for a in refused if _field(a, "existing_claim") == claim_id]
        retry = [a for a in refused if a not in naming and "retry-after" in a.headers]
        scenario.check(
            "409 naming it / 409 with Retry-After",
            f"{len(naming)} / {len(retry)}",
            str(n - 1),
            len(naming) + len(retry) == n - 1,
        )
    else:
        same = [a for a in replays if _field(a, "id") == claim_id]
        scenario.check(
            "201 replays of it", f"{len(same)} of {len(replays)}", "all", same == replays
        )
        told = [a for a in refused if "retry-after" in a.headers]
        scenario.check(
            "409 with Retry-After (first still running)",
            f"{len(told)} of {len(refused)}",
            "all",
            told == refused,
        )
        total = len(first) + len(replays) + len(refused)
        scenario.check("first + replays + 409", total, str(n), total == n)
    pool_checks(target, scenario, TOKENS["trainee"])
    return scenario


def _field(answer: Answer, name: str) -> Any:
    return answer.body.get(name) if isinstance(answer.body, dict) else None


def batch_burst(target: Target, n: int, waiting: list[int]) -> Scenario:
    scenario = Scenario(f"b. {n} × POST /api/v1/payment-batches ({len(waiting)} claims due)")
    headers = {"Authorization": f"Bearer {TOKENS['finance']}"}
    body = {"fund_district": DISTRICT}
    answers = measured_burst(target, scenario, n, "/api/v1/payment-batches", body, headers)
    statuses = Counter(a.status for a in answers)
    scenario.check(
        "201 / 409",
        f"{statuses[201]} / {statuses[409]}",
        f"1 / {n - 1}",
        statuses[201] == 1 and statuses[409] == n - 1,
    )
    with target.admin.connect() as conn:
        batches = conn.scalar(text("SELECT count(*) FROM payment_batch"))
        drafted = conn.scalars(text("SELECT claim_id FROM payment ORDER BY claim_id")).all()
    scenario.check("batches in the database", batches, "1", batches == 1)
    scenario.check(
        "payments drafted (the claims due)", len(drafted), str(len(waiting)), drafted == waiting
    )
    pool_checks(target, scenario, TOKENS["finance"])
    return scenario


def audit_check(url: str) -> Check:
    done = subprocess.run(
        [sys.executable, "-m", "skillsubsidy", "audit", "verify"],
        env={**os.environ, URL_SETTING: url},
        capture_output=True,
        text=True,
        timeout=300,
    )
    said = (done.stdout + done.stderr).strip().splitlines()
    return Check(
        "skillsubsidy audit verify", said[-1] if said else "", "exit 0", done.returncode == 0
    )


def server_problems(log: Path) -> list[str]:
    """The tracebacks and 5xx answers in the server's log."""
    lines = log.read_text(errors="replace").splitlines()
    found = []
    for i, line in enumerate(lines):
        if line.startswith("Traceback"):
            found.append("\n".join(lines[i : i + 60]))
        elif '" 5' in line and "HTTP/1.1" in line:
            found.append(line)
    return found


# --- report -----------------------------------------------------------------------------


def print_table(scenarios: list[Scenario]) -> None:
    rows = [("scenario / check", "measured", "expected", "")]
    for sc in scenarios:
        rows.append((sc.name, "", "", ""))
        for c in sc.checks:
            rows.append(("  " + c.what, c.got, c.expected, "ok" if c.ok else "FAIL"))
    widths = [max(_width(r[i]) for r in rows) for i in range(4)]
    for i, row in enumerate(rows):
        print("  ".join(_pad(cell, w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))


def _width(s: str) -> int:
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in s)  # CJK takes two columns


def _pad(s: str, width: int) -> str:
    return s + " " * (width - _width(s))


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per burst")
    parser.add_argument("--batch-claims", type=int, default=20, help="approved claims due")
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server to use (a fresh database is made on it and dropped after); "
        "default: a throwaway server of our own",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="0: `skillsubsidy serve` (one process); N: uvicorn with N worker processes",
    )
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        if args.database_url:
            server_url = args.database_url
        else:
            binaries = _find_binaries()
            if binaries is None:
                print("PostgreSQL binaries (initdb, pg_ctl) not found", file=sys.stderr)
                return 2
            pg = _Server(*binaries)
            stack.callback(pg.stop)
            pg.start()
            server_url = f"postgresql+psycopg://postgres@127.0.0.1:{pg.port}/skillsubsidy_test"
        url = stack.enter_context(fresh_database(server_url))
        admin = create_engine(url, pool_size=2)
        stack.callback(admin.dispose)
        db = Database(url)
        db.upgrade()
        started = time.perf_counter()
        setup = prepare(db, args.batch_claims)
        db.dispose()
        serving = f"uvicorn --workers {args.workers}" if args.workers else "skillsubsidy serve"
        print(
            f"set-up {time.perf_counter() - started:.1f} s; {os.cpu_count()} cores; "
            f"{serving}; PostgreSQL at {urlsplit(server_url).netloc}"
        )
        log = Path(tempfile.mkdtemp(prefix="skillsubsidy-load-")) / "server.log"
        with server(url, admin, log, args.workers) as target:
            warm_up(target, args.workers)
            n = args.requests
            scenarios = [
                claim_burst(target, n, setup.certificates[0]),
                claim_burst(target, n, setup.certificates[1], key="load-claim-2"),
                batch_burst(target, n, setup.batch_claims),
            ]
        after = Scenario("after")
        after.checks.append(audit_check(url))
        problems = server_problems(log)
        after.check("tracebacks and 5xx in the server log", len(problems), "0", not problems)
        scenarios.append(after)
        print_table(scenarios)
        print(f"server log: {log}")
        for problem in problems[:5]:
            print("\n" + problem)
        failed = [f"{s.name}: {c.what.strip()}" for s in scenarios for c in s.checks if not c.ok]
        if failed:
            print("\nFAILED: " + "; ".join(failed))
            return 1
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
