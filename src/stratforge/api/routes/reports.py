"""Reports of stored results: HTML pages (BokehJS served by this server, so they work with
no internet), ``json_item`` JSON for embedding, and the full-resolution rows a page fetches
when zoomed into a large run."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Annotated, Any, Literal

from bokeh.resources import Resources
from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from stratforge.api.deps import AppState, SessionDep, StateDep
from stratforge.api.routes import _jobs
from stratforge.core.errors import SpecError
from stratforge.core.results import RunResult
from stratforge.report.compare import comparison_report
from stratforge.report.output import embed_json, standalone_html
from stratforge.report.series import ReportSeries
from stratforge.report.stored import report_for
from stratforge.store.kinds import BACKTEST, OPTIMIZE, WALKFORWARD, JobKind

BOKEH_URL = "/bokeh/"  # create_app mounts BokehJS's own files under /bokeh/static
router = APIRouter(tags=["reports"])
Theme = Annotated[Literal["light", "dark"], Query(description="Colour theme.")]
Benchmark = Annotated[bool, Query(description="Show buy and hold of the first data.")]
Axis = Annotated[str | None, Query(description="Heatmap parameter (default: the first two).")]
Aggregate = Annotated[
    Literal["best", "max", "mean"],
    Query(description="Other parameters held at the best trial's values, or aggregated."),
]


@dataclass
class _SearchView:
    """How a search or walk-forward report is drawn: its query parameters, shared by the
    pages and the JSON of both kinds."""

    theme: Theme = "light"
    x: Axis = None
    y: Axis = None
    aggregate: Aggregate = "best"


SearchView = Annotated[_SearchView, Depends()]


def _layout(
    state: AppState, session: Session, kind: JobKind, job_id: str, **options: Any
) -> tuple[Any, str]:
    """The report layout and title of a completed job of *kind* (404, or 409 before it
    completes). A bad option (an unknown heatmap parameter) is a SpecError: 422 naming it."""
    document = _jobs.result_of(state, _jobs.fetch(session, kind, job_id))
    panels = state.plugins.registries.report_panels.as_dict()
    return report_for(document, kind=kind.name, panels=panels, **options)


def _html(layout: Any, title: str, theme: str) -> HTMLResponse:
    resources = Resources(mode="server", root_url=BOKEH_URL)
    return HTMLResponse(standalone_html(layout, title=title, theme=theme, resources=resources))


@router.get("/backtests/{job_id}/report", response_class=HTMLResponse)
def backtest_report_page(
    state: StateDep,
    session: SessionDep,
    job_id: str,
    theme: Theme = "light",
    benchmark: Benchmark = False,
) -> HTMLResponse:
    """The interactive report page of a completed backtest."""
    window = f"/api/v1/backtests/{job_id}/report/window"
    layout, title = _layout(
        state, session, BACKTEST, job_id, theme=theme, benchmark=benchmark, fetch_url=window
    )
    return _html(layout, title, theme)


@router.get("/backtests/{job_id}/report.json")
def backtest_report_json(
    state: StateDep,
    session: SessionDep,
    job_id: str,
    theme: Theme = "light",
    benchmark: Benchmark = False,
) -> Any:
    """The report as Bokeh ``json_item`` JSON: ``Bokeh.embed.embed_item(item, "div-id")``."""
    layout, _ = _layout(state, session, BACKTEST, job_id, theme=theme, benchmark=benchmark)
    return embed_json(layout, theme=theme)


@router.get("/backtests/{job_id}/report/window")
def backtest_report_window(
    state: StateDep,
    session: SessionDep,
    job_id: str,
    start: Annotated[float, Query(description="Window start, epoch milliseconds.")],
    end: Annotated[float, Query(description="Window end, epoch milliseconds.")],
) -> dict[str, Any]:
    """Full-resolution rows of every charted series in a time window (thinned past 250,000
    rows): what a report page draws when zoomed in beyond its embedded detail."""
    if end <= start:
        raise SpecError("end", "must be after start")
    job = _jobs.fetch(session, BACKTEST, job_id)
    document = _jobs.result_of(state, job)
    series = state.report_series.get(job.result_blob or "")
    if series is None:
        series = ReportSeries.from_result(RunResult.model_validate(document))
        state.remember_series(job.result_blob or "", series)
    return series.window(start, end)


@router.get("/optimizations/{job_id}/report", response_class=HTMLResponse)
def optimize_report_page(
    state: StateDep, session: SessionDep, job_id: str, view: SearchView
) -> HTMLResponse:
    """The interactive report page of a completed optimisation."""
    layout, title = _layout(state, session, OPTIMIZE, job_id, **asdict(view))
    return _html(layout, title, view.theme)


@router.get("/optimizations/{job_id}/report.json")
def optimize_report_json(
    state: StateDep, session: SessionDep, job_id: str, view: SearchView
) -> Any:
    """The optimisation report as Bokeh ``json_item`` JSON."""
    layout, _ = _layout(state, session, OPTIMIZE, job_id, **asdict(view))
    return embed_json(layout, theme=view.theme)


@router.get("/walkforwards/{job_id}/report", response_class=HTMLResponse)
def walkforward_report_page(
    state: StateDep, session: SessionDep, job_id: str, view: SearchView
) -> HTMLResponse:
    """The interactive report page of a completed walk-forward."""
    layout, title = _layout(state, session, WALKFORWARD, job_id, **asdict(view))
    return _html(layout, title, view.theme)


@router.get("/walkforwards/{job_id}/report.json")
def walkforward_report_json(
    state: StateDep, session: SessionDep, job_id: str, view: SearchView
) -> Any:
    """The walk-forward report as Bokeh ``json_item`` JSON."""
    layout, _ = _layout(state, session, WALKFORWARD, job_id, **asdict(view))
    return embed_json(layout, theme=view.theme)


CompareIds = Annotated[list[str], Query(min_length=1, max_length=12, description="Backtest ids.")]


def _comparison(state: AppState, session: Session, ids: list[str], theme: str) -> Any:
    results = {
        job_id: RunResult.model_validate(
            _jobs.result_of(state, _jobs.fetch(session, BACKTEST, job_id))
        )
        for job_id in ids
    }
    return comparison_report(results, theme=theme)


@router.get("/reports/compare", response_class=HTMLResponse)
def compare_page(
    state: StateDep, session: SessionDep, ids: CompareIds, theme: Theme = "light"
) -> HTMLResponse:
    """Several completed backtests side by side: growth, drawdown and metrics."""
    return _html(_comparison(state, session, ids, theme), "Comparison", theme)


@router.get("/reports/compare.json")
def compare_json(
    state: StateDep, session: SessionDep, ids: CompareIds, theme: Theme = "light"
) -> Any:
    """The comparison as Bokeh ``json_item`` JSON, for embedding."""
    return embed_json(_comparison(state, session, ids, theme), theme=theme)
