"""/optimizations and /walkforwards: searches and walk-forward analyses."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Query, Request, Response
from fastapi.responses import StreamingResponse

from stratforge.api.deps import SessionDep, StateDep, quick_session
from stratforge.api.routes import _jobs
from stratforge.api.routes.backtests import IdempotencyKey
from stratforge.api.schemas import (
    OPTIMIZATION_EXAMPLE,
    WALKFORWARD_EXAMPLE,
    OptimizationOut,
    Page,
    TrialOut,
)
from stratforge.core.engine import resolve
from stratforge.core.errors import SpecError
from stratforge.core.optimize import OptimizeSpec, check_space, make_optimizer
from stratforge.core.space import grid_size
from stratforge.core.walkforward import WalkForwardSpec
from stratforge.store import jobs
from stratforge.store.tables import Optimization

router = APIRouter(prefix="/optimizations", tags=["optimizations"])
walkforward_router = APIRouter(prefix="/walkforwards", tags=["walk-forward"])
Status = Annotated[str | None, Query(pattern="^(queued|running|completed|failed|cancelled)$")]


def _check_search(state: Any, search: OptimizeSpec, where: str) -> int | None:
    """Validate a search before queueing it; returns the number of trials if known."""
    try:
        resolve(search.base, state.plugins)
        check_space(search, state.plugins)
        make_optimizer(search, state.plugins)
    except SpecError as exc:
        raise SpecError(f"{where}{exc.field}", exc.message) from None
    size = grid_size(search.space) if search.method.name == "grid" else None
    total = min(filter(None, [search.trials, size]), default=None)
    limit = state.settings.max_trials
    if (total or search.trials or 0) > limit:
        raise SpecError(
            f"{where}space",
            f"the search has {total} trials, more than the limit of {limit}; "
            "narrow the ranges or use method random with a trials budget",
        )
    return total


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
    total = _check_search(state, spec, "")
    datasets = _jobs.check_datasets(session, [spec.base], "base.")
    return _jobs.submit(
        request=request,
        response=response,
        state=state,
        session=session,
        table=Optimization,
        payload=spec.model_dump(mode="json"),
        strategy=spec.base.strategy.name,
        datasets=datasets,
        idempotency_key=idempotency_key,
        kind="optimize",
        total=total,
    )


@router.get("", response_model=Page)
async def list_optimizations(
    request: Request,
    state: StateDep,
    status: Status = None,
    strategy: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    with quick_session(state) as session:
        return _jobs.page(
            request,
            session,
            Optimization,
            status=status,
            strategy=strategy,
            limit=limit,
            offset=offset,
            kind="optimize",
        )


@router.get("/{job_id}", response_model=OptimizationOut)
async def get_optimization(request: Request, state: StateDep, job_id: str) -> Any:
    with quick_session(state) as session:
        job = _jobs.fetch(session, Optimization, job_id, "optimize")
        return _jobs.as_json(_jobs.job_out(request, job))


@router.get("/{job_id}/trials", response_model=list[TrialOut])
def get_trials(
    session: SessionDep,
    job_id: str,
    sort: Annotated[str, Query(description="number, objective, or any metric name")] = "number",
    descending: bool = False,
    status: Annotated[str | None, Query(pattern="^(completed|failed|pruned)$")] = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Any:
    """Trials so far (they arrive while the search runs), sortable by any metric."""
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
    return [
        TrialOut(**r.model_dump(exclude={"id", "optimization_id"}))
        for r in rows[offset : offset + limit]
    ]


@router.get("/{job_id}/result")
def get_optimization_result(state: StateDep, session: SessionDep, job_id: str) -> dict[str, Any]:
    return _jobs.result_of(state, _jobs.fetch(session, Optimization, job_id, "optimize"))


@router.post("/{job_id}/cancel", response_model=OptimizationOut)
def cancel_optimization(request: Request, state: StateDep, session: SessionDep, job_id: str) -> Any:
    """Stop a search; trials already finished are kept."""
    return _jobs.cancel(
        request, state, session, _jobs.fetch(session, Optimization, job_id, "optimize")
    )


@router.delete("/{job_id}", status_code=204)
def delete_optimization(state: StateDep, session: SessionDep, job_id: str) -> Response:
    return _jobs.remove(state, session, _jobs.fetch(session, Optimization, job_id, "optimize"))


@router.get("/{job_id}/events", response_class=StreamingResponse)
def optimization_events(state: StateDep, session: SessionDep, job_id: str) -> StreamingResponse:
    _jobs.fetch(session, Optimization, job_id, "optimize")
    return _jobs.events(state, Optimization, job_id)


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
    _check_search(state, spec.search, "search.")
    datasets = _jobs.check_datasets(session, [spec.search.base], "search.base.")
    return _jobs.submit(
        request=request,
        response=response,
        state=state,
        session=session,
        table=Optimization,
        payload=spec.model_dump(mode="json"),
        strategy=spec.search.base.strategy.name,
        datasets=datasets,
        idempotency_key=idempotency_key,
        kind="walkforward",
    )


@walkforward_router.get("", response_model=Page)
async def list_walkforwards(
    request: Request,
    state: StateDep,
    status: Status = None,
    strategy: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    with quick_session(state) as session:
        return _jobs.page(
            request,
            session,
            Optimization,
            status=status,
            strategy=strategy,
            limit=limit,
            offset=offset,
            kind="walkforward",
        )


@walkforward_router.get("/{job_id}", response_model=OptimizationOut)
async def get_walkforward(request: Request, state: StateDep, job_id: str) -> Any:
    with quick_session(state) as session:
        job = _jobs.fetch(session, Optimization, job_id, "walkforward")
        return _jobs.as_json(_jobs.job_out(request, job))


@walkforward_router.get("/{job_id}/result")
def get_walkforward_result(state: StateDep, session: SessionDep, job_id: str) -> dict[str, Any]:
    return _jobs.result_of(state, _jobs.fetch(session, Optimization, job_id, "walkforward"))


@walkforward_router.post("/{job_id}/cancel", response_model=OptimizationOut)
def cancel_walkforward(request: Request, state: StateDep, session: SessionDep, job_id: str) -> Any:
    return _jobs.cancel(
        request, state, session, _jobs.fetch(session, Optimization, job_id, "walkforward")
    )


@walkforward_router.delete("/{job_id}", status_code=204)
def delete_walkforward(state: StateDep, session: SessionDep, job_id: str) -> Response:
    return _jobs.remove(state, session, _jobs.fetch(session, Optimization, job_id, "walkforward"))


@walkforward_router.get("/{job_id}/events", response_class=StreamingResponse)
def walkforward_events(state: StateDep, session: SessionDep, job_id: str) -> StreamingResponse:
    _jobs.fetch(session, Optimization, job_id, "walkforward")
    return _jobs.events(state, Optimization, job_id)
