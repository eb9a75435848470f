"""/optimizations and /walkforwards: searches and walk-forward analyses."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Query, Request, Response

from stratforge.api.deps import SessionDep, StateDep
from stratforge.api.routes import _jobs
from stratforge.api.routes.backtests import IdempotencyKey
from stratforge.api.schemas import (
    OPTIMIZATION_EXAMPLE,
    WALKFORWARD_EXAMPLE,
    OptimizationOut,
    TrialOut,
)
from stratforge.core.optimize import OptimizeSpec
from stratforge.core.walkforward import WalkForwardSpec
from stratforge.jobs.plan import plan_search, plan_walkforward
from stratforge.store import jobs
from stratforge.store.tables import Optimization

router = APIRouter(prefix="/optimizations", tags=["optimizations"])
walkforward_router = APIRouter(prefix="/walkforwards", tags=["walk-forward"])


@router.post("", status_code=202, response_model=OptimizationOut)
def submit_optimization(
    request: Request,
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
    datasets = _jobs.check_datasets(session, [spec.base], "base.")
    return _jobs.submit(
        request=request,
        response=response,
        state=state,
        session=session,
        table=Optimization,
        spec=spec,
        strategy=spec.base.strategy.name,
        datasets=datasets,
        idempotency_key=idempotency_key,
        kind="optimize",
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
    _jobs.fetch(session, Optimization, job_id, "optimize")
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


_jobs.add_lifecycle_routes(
    router, table=Optimization, kind="optimize", out_model=OptimizationOut, noun="optimization"
)


# -- walk-forward ------------------------------------------------------------------------


@walkforward_router.post("", status_code=202, response_model=OptimizationOut)
def submit_walkforward(
    request: Request,
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
    plan_walkforward(
        spec,
        state.plugins,
        max_backtests=state.settings.max_trials,
        network_roots=state.settings.network_roots(),
    )
    datasets = _jobs.check_datasets(session, [spec.search.base], "search.base.")
    return _jobs.submit(
        request=request,
        response=response,
        state=state,
        session=session,
        table=Optimization,
        spec=spec,
        strategy=spec.search.base.strategy.name,
        datasets=datasets,
        idempotency_key=idempotency_key,
        kind="walkforward",
    )


_jobs.add_lifecycle_routes(
    walkforward_router,
    table=Optimization,
    kind="walkforward",
    out_model=OptimizationOut,
    noun="walk-forward",
)
