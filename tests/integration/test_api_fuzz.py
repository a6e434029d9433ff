"""The whole OpenAPI, fuzzed: schemathesis makes requests for every operation from the
application's own /openapi.json (valid data and invalid data alike) and sends them in-process
to the application on a seeded demo database, anonymously and as each demo role. No answer
may be a 5xx, and every answer must be declared for its operation with that body shape.

Fast enough for CI: ``SKILLSUBSIDY_FUZZ_EXAMPLES`` examples an operation (default 25), no
deadline, derandomised (the same requests every run). SQLite for every role; PostgreSQL too
(its own checks of types, lengths and text find what SQLite lets through).
"""

from __future__ import annotations

import contextlib
import os
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from skillsubsidy.api.app import create_app
from skillsubsidy.demo.seed import Demo, seed
from skillsubsidy.store.db import Database
from tests.postgres import fresh_database

EXAMPLES = int(os.environ.get("SKILLSUBSIDY_FUZZ_EXAMPLES", "25"))
# anonymous, then one demo user of each role
IDENTITIES = (None, "admin", "lucheng", "yucai", "jinggong", "jishi", "chenxm", "finance", "audit")
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
# the anonymous limits would answer most anonymous requests with 429 after the first minute
UNLIMITED = {
    "SKILLSUBSIDY_EVALUATE_RATE": "1000000/minute",
    "SKILLSUBSIDY_OBJECTION_RATE": "1000000/minute",
}


@dataclass
class Fuzzed:
    schema: Any  # schemathesis' OpenAPI schema of the application
    demo: Demo
    ids: dict[str, list[Any]]  # real values of path parameters, besides random ones


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzzed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Fuzzed]:
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'demo.db'}"
        else:
            url = stack.enter_context(fresh_database(request.getfixturevalue("postgres_url")))
        db = Database(url)
        stack.callback(db.dispose)
        db.upgrade()
        demo = seed(db)
        with pytest.MonkeyPatch.context() as env:
            for name, value in UNLIMITED.items():
                env.setenv(name, value)
            app = create_app(db)  # the limits are read here
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        few = [1, 2, 3]
        ids: dict[str, list[Any]] = {
            "claim_id": sorted(set(demo.claims.values())),
            "class_id": sorted(set(demo.classes.values())) or few,
            "district_code": ["330302", "330303", "330300"],
        }
        for name in ("batch_id", "notice_id", "objection_id", "recovery_id", "change_id"):
            ids[name] = few
        yield Fuzzed(schema, demo, ids)


def _strategy(operation: Any, ids: dict[str, list[Any]]) -> st.SearchStrategy[Any]:
    """Valid and invalid requests; with path parameters, also ones naming real records."""
    kinds = [operation.as_strategy(GenerationMode.POSITIVE)]
    kinds.append(operation.as_strategy(GenerationMode.NEGATIVE))
    names = [p.name for p in operation.path_parameters]
    if names and all(n in ids for n in names):
        for i in range(max(len(ids[n]) for n in names)):
            real = {n: ids[n][i % len(ids[n])] for n in names}
            kinds.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=real))
    return st.one_of(kinds)


def _run(
    operation: Any, strategy: st.SearchStrategy[Any], headers: dict[str, str]
) -> Callable[[], None]:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        print_blob=False,
    )
    @given(case=strategy)
    def test(case: Any) -> None:
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS, headers=headers)

    return test  # type: ignore[no-any-return]


@pytest.mark.parametrize("user", IDENTITIES, ids=lambda u: u or "anonymous")
def test_no_server_error_and_every_answer_is_declared(fuzzed: Fuzzed, user: str | None) -> None:
    headers = {"Authorization": f"Bearer {fuzzed.demo.users[user]}"} if user else {}
    operations = [result.ok() for result in fuzzed.schema.get_all_operations()]
    assert len(operations) > 35  # the whole API, not an empty or broken schema
    failures = []
    for operation in operations:
        try:
            _run(operation, _strategy(operation, fuzzed.ids), headers)()
        except Exception as exc:  # every operation is tried; all failures are reported
            failures.append(f"{operation.label}:\n{''.join(traceback.format_exception_only(exc))}")
    assert not failures, f"{len(failures)} operation(s) failed:\n\n" + "\n\n".join(failures)
