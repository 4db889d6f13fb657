"""Liveness and readiness for whoever runs the service (a load balancer, an
orchestrator): no token, nothing sensitive.

``GET /healthz`` answers while the process serves requests and touches nothing.
``GET /readyz`` reaches the catalog, every storage location and the broker
(``ingest.health.check_readiness``): 200 when all answer, 503 (problem+json,
with the same ``parts``) when one does not. A part says only whether it is
reachable and, when not, a plain sentence: no path, host or URL.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from strongroom.api.problems import MEDIA_TYPE, Problem, problem_type


class PartOut(BaseModel):
    part: str = Field(description="`catalog`, `storage`, `replica 1` …, `broker`")
    ok: bool
    problem: str | None = Field(default=None, description="what is wrong, in a sentence")


class AliveOut(BaseModel):
    status: Literal["ok"]


class ReadyOut(BaseModel):
    status: Literal["ready"]
    parts: list[PartOut]


class NotReadyProblem(Problem):
    parts: list[PartOut] = Field(description="every part, reachable or not")


router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=AliveOut, summary="Is the service alive?")
async def alive() -> dict[str, Any]:
    """200 while this process serves requests. Reaches nothing; no token needed."""
    return {"status": "ok"}


@router.get("/readyz", response_model=ReadyOut, response_model_exclude_none=True,
            summary="Can the service reach every part?",
            responses={503: {"model": NotReadyProblem,
                             "description": "A part cannot be reached; `parts` says which"}})
def ready(request: Request) -> Any:
    """Reach the catalog, every storage location and the broker (when configured),
    each within a few seconds. 200 when all answer; 503 when one does not, each
    part with a sentence saying what is wrong. No token needed."""
    from ingest.health import check_readiness

    state = request.app.state.strongroom
    broker = None
    if state.settings.broker_url:
        from workers.health import BrokerProbe

        broker = BrokerProbe(state.settings.broker_url)
    readiness = check_readiness(state.services, broker)
    parts = [part.public() for part in readiness.parts]
    if readiness.ready:
        return {"status": "ready", "parts": parts}
    names = ", ".join(part.part for part in readiness.problems)
    body = NotReadyProblem(type=problem_type("not-ready"), title="Not ready", status=503,
                           detail=f"cannot be reached: {names}", instance=request.url.path,
                           parts=[PartOut(**part) for part in parts])
    return JSONResponse(body.model_dump(exclude_none=True), status_code=503,
                        media_type=MEDIA_TYPE, headers={"Cache-Control": "no-store"})
