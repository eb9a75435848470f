"""/backtests: submit a RunSpec, follow it, read its results."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Query, Response
from fastapi.responses import StreamingResponse
from sqlmodel import Session

from stratforge.api.deps import AppState, SessionDep, StateDep
from stratforge.api.routes import _jobs
from stratforge.api.schemas import BACKTEST_EXAMPLE, FUTURES_EXAMPLE, BacktestOut, Page
from stratforge.core.results import RunResult
from stratforge.core.spec import RunSpec
from stratforge.jobs.plan import plan_backtest
from stratforge.store.kinds import BACKTEST

router = APIRouter(prefix="/backtests", tags=["backtests"])
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", max_length=200, description="Same key + same body: same run."),
]

RowOffset = Annotated[int, Query(ge=0, description="Rows (or steps) to skip.")]
RowLimit = Annotated[
    int | None, Query(ge=1, description="Rows (or steps) to return at most; all by default.")
]


def _rows(offset: RowOffset = 0, limit: RowLimit = None) -> slice:
    """The page a part endpoint returns: ``offset``/``limit`` as one slice."""
    return slice(offset, None if limit is None else offset + limit)


Rows = Annotated[slice, Depends(_rows)]


@router.post("", status_code=202, response_model=BacktestOut)
def submit_backtest(
    response: Response,
    state: StateDep,
    session: SessionDep,
    spec: Annotated[
        RunSpec,
        Body(
            openapi_examples={
                "stock-like": {
                    "summary": "SMA crossover on synthetic data",
                    "value": BACKTEST_EXAMPLE,
                },
                "futures": {"summary": "A rolled ES futures chain", "value": FUTURES_EXAMPLE},
            }
        ),
    ],
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Queue a backtest; 202 with its id and URL. Names and parameters are checked first."""
    planned = plan_backtest(spec, state.plugins, network_roots=state.settings.network_roots())
    return _jobs.submit(
        response=response,
        state=state,
        session=session,
        kind=BACKTEST,
        spec=spec,
        planned=planned,
        strategy=spec.strategy.name,
        datasets=_jobs.check_datasets(session, [spec], ""),
        idempotency_key=idempotency_key,
    )


@router.get("", response_model=Page)
async def list_backtests(
    state: StateDep,
    status: _jobs.Status = None,
    strategy: str | None = None,
    limit: _jobs.Limit = 50,
    offset: _jobs.Offset = 0,
) -> Response:
    """List backtests, newest first."""
    return _jobs.listing(
        state, BACKTEST, status=status, strategy=strategy, limit=limit, offset=offset
    )


@router.get("/{job_id}", response_model=BacktestOut)
async def get_backtest(state: StateDep, job_id: str) -> Any:
    """A backtest's state."""
    return _jobs.state_of(state, BACKTEST, job_id)


@router.get("/{job_id}/result", response_model=dict[str, Any])
def get_result(state: StateDep, session: SessionDep, job_id: str) -> Any:
    """The backtest's whole result, as stored."""
    document = _jobs.result_of(state, _jobs.fetch(session, BACKTEST, job_id))
    return _jobs.as_json(RunResult.model_validate(document))


@router.post("/{job_id}/cancel", response_model=BacktestOut)
def cancel_backtest(state: StateDep, session: SessionDep, job_id: str) -> Any:
    """Cancel a queued or running backtest (409 once it has finished)."""
    return _jobs.cancel(state, session, _jobs.fetch(session, BACKTEST, job_id))


@router.delete("/{job_id}", status_code=204)
def delete_backtest(state: StateDep, session: SessionDep, job_id: str) -> Response:
    """Delete a backtest that is not running, with its stored results."""
    return _jobs.remove(state, session, _jobs.fetch(session, BACKTEST, job_id))


@router.get("/{job_id}/events", response_class=StreamingResponse)
async def backtest_events(state: StateDep, job_id: str) -> StreamingResponse:
    """Server-Sent Events with the backtest's status and progress until it ends."""
    return _jobs.follow(state, BACKTEST, job_id)


@router.get("/{job_id}/trades")
def get_trades(
    state: StateDep,
    session: SessionDep,
    job_id: str,
    rows: Rows,
    format: _jobs.Format = "json",
) -> Any:
    """The run's trades, from storage, as JSON or CSV."""
    return _part(state, session, job_id, "trades", format, rows)


@router.get("/{job_id}/orders")
def get_orders(
    state: StateDep,
    session: SessionDep,
    job_id: str,
    rows: Rows,
    format: _jobs.Format = "json",
) -> Any:
    """The run's orders, from storage, as JSON or CSV."""
    return _part(state, session, job_id, "orders", format, rows)


@router.get("/{job_id}/equity")
def get_equity(
    state: StateDep,
    session: SessionDep,
    job_id: str,
    rows: Rows,
    format: _jobs.Format = "json",
) -> Any:
    """The run's equity (per-step datetime, value, cash, position columns), from storage, as
    JSON or CSV; ``offset``/``limit`` page through the steps of a long run."""
    return _part(state, session, job_id, "equity", format, rows)


@router.get("/{job_id}/rolls")
def get_rolls(
    state: StateDep,
    session: SessionDep,
    job_id: str,
    rows: Rows,
    format: _jobs.Format = "json",
) -> Any:
    """The run's rolls, from storage, as JSON or CSV."""
    return _part(state, session, job_id, "rolls", format, rows)


def _part(
    state: AppState, session: Session, job_id: str, name: str, format: str, rows: slice
) -> Any:
    """One part of the stored result (a page of its rows), named after the run in a CSV
    download. Equity is a dict of columns: each is cut to the same steps."""
    part = _jobs.result_of(state, _jobs.fetch(session, BACKTEST, job_id))[name]
    if isinstance(part, dict):
        page: Any = {column: values[rows] for column, values in part.items()}
    else:
        page = part[rows]
    return _jobs.table_response(page, format, f"{job_id}-{name}")
