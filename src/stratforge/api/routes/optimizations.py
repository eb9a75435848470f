"""/optimizations: parameter searches, their trials as they arrive, and their results."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Query, Response
from fastapi.responses import StreamingResponse

from stratforge.api.deps import SessionDep, StateDep
from stratforge.api.routes import _jobs
from stratforge.api.routes.backtests import IdempotencyKey
from stratforge.api.schemas import OPTIMIZATION_EXAMPLE, OptimizationOut, Page, TrialOut
from stratforge.core.optimize import OptimizeSpec
from stratforge.jobs.plan import plan_search
from stratforge.store import jobs
from stratforge.store.kinds import OPTIMIZE

router = APIRouter(prefix="/optimizations", tags=["optimizations"])


@router.post("", status_code=202, response_model=OptimizationOut)
def submit_optimization(
    response: Response,
    state: StateDep,
    session: SessionDep,
    spec: Annotated[
        OptimizeSpec,
        Body(openapi_examples={"grid": {"summary": "SMA grid", "value": OPTIMIZATION_EXAMPLE}}),
    ],
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Queue a parameter search; trials stream into /optimizations/{id}/trials."""
    plan = plan_search(
        spec,
        state.plugins,
        max_backtests=state.settings.max_trials,
        network_roots=state.settings.network_roots(),
    )
    return _jobs.submit(
        response=response,
        state=state,
        session=session,
        kind=OPTIMIZE,
        spec=spec,
        planned=plan.search,
        strategy=spec.base.strategy.name,
        datasets=_jobs.check_datasets(session, [spec.base], "base."),
        idempotency_key=idempotency_key,
        total=plan.trials,
    )


@router.get("/{job_id}/trials", response_model=list[TrialOut])
def get_trials(
    session: SessionDep,
    job_id: str,
    sort: Annotated[str, Query(description="number, objective, or any metric name")] = "number",
    descending: bool = False,
    status: Annotated[str | None, Query(pattern="^(completed|failed|pruned)$")] = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
    offset: Annotated[int, Query(ge=0, le=_jobs.MAX_OFFSET)] = 0,
    format: _jobs.Format = "json",
) -> Any:
    """Trials so far (they arrive while the search runs), sortable by any metric; CSV with
    ``format=csv``."""
    _jobs.fetch(session, OPTIMIZE, job_id)
    rows = jobs.list_trials(session, optimization_id=job_id)
    if status:
        rows = [r for r in rows if r.status == status]
    known = {"number", "objective", *(k for r in rows for k in (r.metrics or {}))}
    if sort not in known and rows:
        from stratforge.plugin.registry import did_you_mean

        raise HTTPException(
            422,
            detail=[
                {
                    "loc": ["query", "sort"],
                    "msg": f"cannot sort by {sort!r}; {did_you_mean(sort, known)}",
                    "type": "value_error",
                }
            ],
        )

    def key(row: Any) -> tuple[bool, Any]:
        value = (
            getattr(row, sort) if sort in ("number", "objective") else (row.metrics or {}).get(sort)
        )
        if not isinstance(value, (int, float)):
            return (True, 0.0)
        return (False, -value if descending else value)

    rows.sort(key=key)
    out = [
        TrialOut(**r.model_dump(exclude={"id", "optimization_id"}))
        for r in rows[offset : offset + limit]
    ]
    if format == "csv":
        return _jobs.table_response([_flat(t) for t in out], format, f"{job_id}-trials")
    return out


def _flat(trial: TrialOut) -> dict[str, Any]:
    """One CSV row: parameters and metrics as their own columns."""
    row = trial.model_dump(exclude={"params", "metrics"})
    row.update({f"param_{k}": v for k, v in trial.params.items()})
    row.update(trial.metrics or {})
    return row


@router.get("", response_model=Page)
async def list_optimizations(
    state: StateDep,
    status: _jobs.Status = None,
    strategy: str | None = None,
    limit: _jobs.Limit = 50,
    offset: _jobs.Offset = 0,
) -> Response:
    """List optimizations, newest first."""
    return _jobs.listing(
        state, OPTIMIZE, status=status, strategy=strategy, limit=limit, offset=offset
    )


@router.get("/{job_id}", response_model=OptimizationOut)
async def get_optimization(state: StateDep, job_id: str) -> Any:
    """An optimization's state."""
    return _jobs.state_of(state, OPTIMIZE, job_id)


@router.get("/{job_id}/result")
def get_result(state: StateDep, session: SessionDep, job_id: str) -> dict[str, Any]:
    """The optimization's whole result, as stored."""
    return _jobs.result_of(state, _jobs.fetch(session, OPTIMIZE, job_id))


@router.post("/{job_id}/cancel", response_model=OptimizationOut)
def cancel_optimization(state: StateDep, session: SessionDep, job_id: str) -> Any:
    """Cancel a queued or running optimization (409 once it has finished)."""
    return _jobs.cancel(state, session, _jobs.fetch(session, OPTIMIZE, job_id))


@router.delete("/{job_id}", status_code=204)
def delete_optimization(state: StateDep, session: SessionDep, job_id: str) -> Response:
    """Delete an optimization that is not running, with its stored results."""
    return _jobs.remove(state, session, _jobs.fetch(session, OPTIMIZE, job_id))


@router.get("/{job_id}/events", response_class=StreamingResponse)
async def optimization_events(state: StateDep, job_id: str) -> StreamingResponse:
    """Server-Sent Events with the optimization's status and progress until it ends."""
    return _jobs.follow(state, OPTIMIZE, job_id)
