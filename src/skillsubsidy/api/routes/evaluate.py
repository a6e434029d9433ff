"""``POST /api/v1/evaluate``: the contract's HTTP form (CONTRACT.md), same engine as the CLI."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from skillsubsidy.api.schemas import EvaluateRequest, EvaluateResponse
from skillsubsidy.api.security import anonymous_limit
from skillsubsidy.policy.engine import evaluate
from skillsubsidy.services.claims import engine

router = APIRouter(tags=["evaluate"])


# anyone may call it: anonymous callers are limited per address (api.security)
@router.post(
    "/evaluate",
    response_model=EvaluateResponse,
    dependencies=[Depends(anonymous_limit("evaluate"))],
)
def evaluate_claims(body: EvaluateRequest) -> EvaluateResponse:
    """Decide claims against history; invalid records get an ``error``, the rest decide."""
    if not body.claims:
        return EvaluateResponse(decisions=[])
    return EvaluateResponse(decisions=evaluate(body.claims, body.history, engine=engine()))
