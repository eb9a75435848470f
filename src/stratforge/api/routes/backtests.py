"""/backtests: submit a RunSpec, follow it, read its results."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Request, Response
from fastapi.responses import StreamingResponse

from stratforge.api.deps import SessionDep, StateDep, quick_session
from stratforge.api.routes import _jobs
from stratforge.api.schemas import BACKTEST_EXAMPLE, FUTURES_EXAMPLE, BacktestOut, Page
from stratforge.core.engine import resolve
from stratforge.core.spec import RunSpec
from stratforge.store.tables import BacktestRun

router = APIRouter(prefix="/backtests", tags=["backtests"])
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", max_length=200, description="Same key + same body: same run."),
]


@router.post("", status_code=202, response_model=BacktestOut)
def submit_backtest(
    request: Request,
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
    resolve(spec, state.plugins)
    datasets = _jobs.check_datasets(session, [spec], "")
    return _jobs.submit(
        request=request,
        response=response,
        state=state,
        session=session,
        table=BacktestRun,
        payload=spec.model_dump(mode="json"),
        strategy=spec.strategy.name,
        datasets=datasets,
        idempotency_key=idempotency_key,
    )


@router.get("", response_model=Page)
async def list_backtests(
    request: Request,
    state: StateDep,
    status: Annotated[
        str | None, Query(pattern="^(queued|running|completed|failed|cancelled)$")
    ] = None,
    strategy: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    with quick_session(state) as session:
        return _jobs.page(
            request,
            session,
            BacktestRun,
            status=status,
            strategy=strategy,
            limit=limit,
            offset=offset,
        )


@router.get("/{run_id}", response_model=BacktestOut)
async def get_backtest(request: Request, state: StateDep, run_id: str) -> Any:
    with quick_session(state) as session:
        return _jobs.as_json(_jobs.job_out(request, _jobs.fetch(session, BacktestRun, run_id)))


@router.get("/{run_id}/result")
def get_result(state: StateDep, session: SessionDep, run_id: str) -> dict[str, Any]:
    """The whole RunResult, as stored."""
    return _jobs.result_of(state, _jobs.fetch(session, BacktestRun, run_id))


def _part(name: str) -> Any:
    def read(state: StateDep, session: SessionDep, run_id: str) -> Any:
        return _jobs.result_of(state, _jobs.fetch(session, BacktestRun, run_id))[name]

    read.__name__ = f"get_{name}"
    read.__doc__ = f"The run's {name}, from storage."
    return read


for _name in ("trades", "orders", "equity", "rolls"):
    router.add_api_route(f"/{{run_id}}/{_name}", _part(_name), methods=["GET"], name=f"get_{_name}")


@router.post("/{run_id}/cancel", response_model=BacktestOut)
def cancel_backtest(request: Request, state: StateDep, session: SessionDep, run_id: str) -> Any:
    """Cancel a queued or running backtest (409 once it has finished)."""
    return _jobs.cancel(request, state, session, _jobs.fetch(session, BacktestRun, run_id))


@router.delete("/{run_id}", status_code=204)
def delete_backtest(state: StateDep, session: SessionDep, run_id: str) -> Response:
    """Delete a backtest that is not running, with its stored results."""
    return _jobs.remove(state, session, _jobs.fetch(session, BacktestRun, run_id))


@router.get("/{run_id}/events", response_class=StreamingResponse)
def backtest_events(state: StateDep, session: SessionDep, run_id: str) -> StreamingResponse:
    """Server-Sent Events with status and progress until the run ends."""
    _jobs.fetch(session, BacktestRun, run_id)
    return _jobs.events(state, BacktestRun, run_id)
