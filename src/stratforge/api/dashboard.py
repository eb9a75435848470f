"""The web dashboard: server-rendered pages over the same REST API.

Pages are page shells (navigation, headings, forms' skeletons) rendered with Jinja2; a few
small ES modules under /ui/static fill them from /api/v1 with the user's API key, so the
pages themselves hold no data and need no key. Every asset is served from the package:
nothing comes from a CDN."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from bokeh.resources import Resources
from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from stratforge import __version__
from stratforge.api.deps import StateDep
from stratforge.api.routes.plugins import plugin_kinds
from stratforge.api.routes.reports import BOKEH_URL
from stratforge.core.results import Metrics
from stratforge.store.kinds import BY_RESOURCE
from stratforge.store.tables import STATUSES

WEB = Path(__file__).parent / "web"
STATIC_URL = "/ui/static"
templates = Jinja2Templates(directory=WEB / "templates")
router = APIRouter(include_in_schema=False)
NAV = [
    ("/", "Runs", "runs"),
    ("/new/backtest", "New backtest", "backtest"),
    ("/new/optimization", "New optimisation", "optimization"),
    ("/datasets", "Datasets", "datasets"),
    ("/markets", "Markets", "markets"),
    ("/plugins", "Plugins", "plugins"),
    ("/contracts", "Contracts", "contracts"),
    ("/docs", "API docs", "docs"),
]


def install(app: FastAPI) -> None:
    app.mount(STATIC_URL, StaticFiles(directory=WEB / "static"), name="dashboard-static")
    app.include_router(router)


def render(
    request: Request,
    template: str,
    *,
    page: str,
    title: str,
    section: str | None = None,
    **extra: Any,
) -> HTMLResponse:
    context = {
        "page": page,
        "title": title,
        "section": section or page,
        "nav": NAV,
        "static": STATIC_URL,
        "version": __version__,
        "data": extra.pop("data", {}),
        **extra,
    }
    return templates.TemplateResponse(request, template, context)


@router.get("/", response_class=HTMLResponse)
def runs_page(request: Request) -> HTMLResponse:
    return render(request, "runs.html", page="runs", title="Runs", statuses=STATUSES)


@router.get("/new/{mode}", response_class=HTMLResponse)
def new_run_page(request: Request, mode: str) -> HTMLResponse:
    if mode not in ("backtest", "optimization"):
        raise HTTPException(404, detail="use /new/backtest or /new/optimization")
    title = "New backtest" if mode == "backtest" else "New optimisation"
    return render(
        request,
        "new.html",
        page="new",
        section=mode,
        title=title,
        mode=mode,
        metrics=_metric_names(),
        data={"mode": mode},
    )


@cache
def _bokeh_js() -> list[str]:
    """BokehJS's script URLs on this server (the run and compare pages embed reports)."""
    return list(Resources(mode="server", root_url=BOKEH_URL).js_files)


@router.get("/runs/{resource}/{job_id}", response_class=HTMLResponse)
def run_page(request: Request, resource: str, job_id: str) -> HTMLResponse:
    if resource not in BY_RESOURCE:
        raise HTTPException(404, detail=f"no run kind {resource!r}")
    return render(
        request,
        "run.html",
        page="run",
        section="runs",
        title=job_id,
        bokeh_js=_bokeh_js(),
        data={"resource": resource, "id": job_id},
    )


@router.get("/compare", response_class=HTMLResponse)
def compare_page(request: Request) -> HTMLResponse:
    return render(
        request,
        "run.html",
        page="compare",
        section="runs",
        title="Comparison",
        bokeh_js=_bokeh_js(),
    )


@router.get("/datasets", response_class=HTMLResponse)
def datasets_page(request: Request) -> HTMLResponse:
    return render(request, "datasets.html", page="datasets", title="Datasets")


@router.get("/markets", response_class=HTMLResponse)
def markets_page(request: Request) -> HTMLResponse:
    return render(request, "markets.html", page="markets", title="Markets")


@router.get("/plugins", response_class=HTMLResponse)
def plugins_page(request: Request, state: StateDep) -> HTMLResponse:
    kinds = plugin_kinds(state)  # the filter offers what the loaded registries hold
    return render(request, "plugins.html", page="plugins", title="Plugins", kinds=kinds)


@router.get("/contracts", response_class=HTMLResponse)
def contracts_page(request: Request) -> HTMLResponse:
    return render(request, "contracts.html", page="contracts", title="Futures contracts")


def _metric_names() -> list[dict[str, str]]:
    """Metrics an optimisation can rank by, with their descriptions, for the form."""
    return [
        {"name": name, "description": field.description or ""}
        for name, field in Metrics.model_fields.items()
        if name not in ("start_value", "bars", "periods_per_year")
    ]
