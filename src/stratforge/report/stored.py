"""A report for any stored result document: backtest, optimisation or walk-forward."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bokeh.models import LayoutDOM

from stratforge.core.optimize import SearchResult
from stratforge.core.results import RunResult
from stratforge.core.walkforward import WalkForwardResult
from stratforge.report.backtest import PanelBuilder, backtest_report
from stratforge.report.optimization import Aggregate, optimization_report, walkforward_report


def result_kind(document: Mapping[str, Any]) -> str:
    """backtest, optimize or walkforward, from the document's own fields."""
    if "equity" in document and "metrics" in document:
        return "backtest"
    if "windows" in document:
        return "walkforward"
    if "trials" in document:
        return "optimize"
    raise ValueError("not a stratforge result: expected a backtest, optimisation or walk-forward")


def report_for(
    document: Mapping[str, Any],
    *,
    kind: str | None = None,
    theme: str = "light",
    benchmark: bool = False,
    panels: Mapping[str, PanelBuilder] | None = None,
    fetch_url: str | None = None,
    x: str | None = None,
    y: str | None = None,
    aggregate: Aggregate = "best",
) -> tuple[LayoutDOM, str]:
    """The layout and a title for a stored result."""
    kind = kind or result_kind(document)
    if kind == "backtest":
        run = RunResult.model_validate(document)
        layout = backtest_report(
            run, theme=theme, benchmark=benchmark, panels=panels, fetch_url=fetch_url
        )
        return layout, backtest_title(run)
    if kind == "walkforward":
        walk = WalkForwardResult.model_validate(document)
        strategy = _strategy(walk.spec.get("search", {}))
        return walkforward_report(walk, theme=theme), f"Walk-forward of {strategy}"
    search = SearchResult.model_validate(document)
    layout = optimization_report(search, theme=theme, x=x, y=y, aggregate=aggregate)
    return layout, f"Optimisation of {_strategy(search.spec)} ({search.spec.get('metric')})"


def backtest_title(run: RunResult) -> str:
    names = ", ".join(p.data for p in run.prices) or "data"
    return f"{run.spec.get('strategy', {}).get('name', 'backtest')} on {names}"


def _strategy(spec: Mapping[str, Any]) -> str:
    return str(((spec.get("base") or {}).get("strategy") or {}).get("name", "strategy"))
