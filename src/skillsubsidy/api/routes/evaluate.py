"""``POST /api/v1/evaluate``: the contract's HTTP form (CONTRACT.md), same engine as the CLI."""

from __future__ import annotations

import re

from fastapi import APIRouter, HTTPException, Request

from skillsubsidy.api.limits import InputLimits
from skillsubsidy.api.schemas import EvaluateRequest, EvaluateResponse
from skillsubsidy.policy.engine import HistoryError, evaluate
from skillsubsidy.services.claims import engine
from skillsubsidy.services.errors import InvalidInput

router = APIRouter(tags=["evaluate"])


# anyone may call it: anonymous callers are limited per address (api.security)
@router.post("/evaluate", response_model=EvaluateResponse)
def evaluate_claims(body: EvaluateRequest, request: Request) -> EvaluateResponse:
    """Decide claims against history; invalid records get an ``error``, the rest decide.
    At most ``SKILLSUBSIDY_EVALUATE_MAX_CLAIMS`` claims and as many history records (413);
    a history record that cannot be counted is a 422 naming it."""
    limits: InputLimits = request.app.state.input_limits
    for name, records in (("claims", body.claims), ("history", body.history)):
        if len(records) > limits.max_evaluate:
            raise HTTPException(
                413, f"too many {name}: {len(records)}, at most {limits.max_evaluate} a request"
            )
    if not body.claims:
        return EvaluateResponse(decisions=[])
    try:
        decisions = evaluate(body.claims, body.history, engine=engine())
    except HistoryError as exc:
        raise InvalidInput(_history_field(str(exc)), str(exc)) from None
    return EvaluateResponse(decisions=decisions)


# the engine's message names the first record that cannot be counted and its field:
# "1 history record(s) cannot be counted: record 3 (p07): person.id_number: required"
_FIRST_BAD = re.compile(r"cannot be counted: record (\d+) \(.*?\): ([a-z_][a-z0-9_.]*): ")


def _history_field(message: str) -> str:
    """``history.<index>.<field>`` of the first bad record (``history`` if not said)."""
    found = _FIRST_BAD.search(message)
    if found is None:
        return "history"
    return f"history.{int(found.group(1)) - 1}.{found.group(2)}"
