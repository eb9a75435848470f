"""/backtests: submit a RunSpec, follow it, read its results."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Request, Response

from stratforge.api.deps import SessionDep, StateDep
from stratforge.api.routes import _jobs
from stratforge.api.schemas import BACKTEST_EXAMPLE, FUTURES_EXAMPLE, BacktestOut
from stratforge.core.spec import RunSpec
from stratforge.jobs.plan import plan_backtest
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
    plan_backtest(spec, state.plugins, network_roots=state.settings.network_roots())
    datasets = _jobs.check_datasets(session, [spec], "")
    return _jobs.submit(
        request=request,
        response=response,
        state=state,
        session=session,
        table=BacktestRun,
        spec=spec,
        strategy=spec.strategy.name,
        datasets=datasets,
        idempotency_key=idempotency_key,
    )


_jobs.add_lifecycle_routes(
    router, table=BacktestRun, kind=None, out_model=BacktestOut, noun="backtest"
)


def _part(name: str) -> Any:
    def read(
        state: StateDep, session: SessionDep, job_id: str, format: _jobs.Format = "json"
    ) -> Any:
        rows = _jobs.result_of(state, _jobs.fetch(session, BacktestRun, job_id))[name]
        return _jobs.table_response(rows, format, f"{job_id}-{name}")

    read.__name__ = f"get_{name}"
    read.__doc__ = f"The run's {name}, from storage, as JSON or CSV."
    return read


for _name in ("trades", "orders", "equity", "rolls"):
    router.add_api_route(f"/{{job_id}}/{_name}", _part(_name), methods=["GET"], name=f"get_{_name}")
