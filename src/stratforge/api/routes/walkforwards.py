"""/walkforwards: walk-forward analyses (a search repeated over rolling windows)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response
from fastapi.responses import StreamingResponse

from stratforge.api.deps import SessionDep, StateDep
from stratforge.api.routes import _jobs
from stratforge.api.routes.backtests import IdempotencyKey
from stratforge.api.schemas import WALKFORWARD_EXAMPLE, OptimizationOut, Page
from stratforge.core.walkforward import WalkForwardSpec
from stratforge.jobs.plan import plan_walkforward
from stratforge.store.kinds import WALKFORWARD

router = APIRouter(prefix="/walkforwards", tags=["walk-forward"])


@router.post("", status_code=202, response_model=OptimizationOut)
def submit_walkforward(
    response: Response,
    state: StateDep,
    session: SessionDep,
    spec: Annotated[
        WalkForwardSpec,
        Body(
            openapi_examples={"rolling": {"summary": "400/200 bars", "value": WALKFORWARD_EXAMPLE}}
        ),
    ],
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Queue a walk-forward analysis."""
    plan = plan_walkforward(
        spec,
        state.plugins,
        max_backtests=state.settings.max_trials,
        network_roots=state.settings.network_roots(),
    )
    return _jobs.submit(
        response=response,
        state=state,
        session=session,
        kind=WALKFORWARD,
        spec=spec,
        planned=spec.model_copy(update={"search": plan.search}),
        strategy=spec.search.base.strategy.name,
        datasets=_jobs.check_datasets(session, [spec.search.base], "search.base."),
        idempotency_key=idempotency_key,
    )


@router.get("", response_model=Page)
async def list_walk_forwards(
    state: StateDep,
    status: _jobs.Status = None,
    strategy: str | None = None,
    limit: _jobs.Limit = 50,
    offset: _jobs.Offset = 0,
) -> Response:
    """List walkforwards, newest first."""
    return _jobs.listing(
        state, WALKFORWARD, status=status, strategy=strategy, limit=limit, offset=offset
    )


@router.get("/{job_id}", response_model=OptimizationOut)
async def get_walk_forward(state: StateDep, job_id: str) -> Any:
    """A walk-forward's state."""
    return _jobs.state_of(state, WALKFORWARD, job_id)


@router.get("/{job_id}/result")
def get_result(state: StateDep, session: SessionDep, job_id: str) -> dict[str, Any]:
    """The walk-forward's whole result, as stored."""
    return _jobs.result_of(state, _jobs.fetch(session, WALKFORWARD, job_id))


@router.post("/{job_id}/cancel", response_model=OptimizationOut)
def cancel_walk_forward(state: StateDep, session: SessionDep, job_id: str) -> Any:
    """Cancel a queued or running walk-forward (409 once it has finished)."""
    return _jobs.cancel(state, session, _jobs.fetch(session, WALKFORWARD, job_id))


@router.delete("/{job_id}", status_code=204)
def delete_walk_forward(state: StateDep, session: SessionDep, job_id: str) -> Response:
    """Delete a walk-forward that is not running, with its stored results."""
    return _jobs.remove(state, session, _jobs.fetch(session, WALKFORWARD, job_id))


@router.get("/{job_id}/events", response_class=StreamingResponse)
async def walk_forward_events(state: StateDep, job_id: str) -> StreamingResponse:
    """Server-Sent Events with the walk-forward's status and progress until it ends."""
    return _jobs.follow(state, WALKFORWARD, job_id)
