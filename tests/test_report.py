"""Reports build from stored results alone, for every kind of run, with finite data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from bokeh.models import ColumnDataSource, DataTable, GlyphRenderer, Tabs

from stratforge import RunSpec, run_backtest
from stratforge.core.optimize import OptimizeSpec, optimize
from stratforge.core.results import RunResult
from stratforge.core.walkforward import WalkForwardSpec, walk_forward
from stratforge.report import (
    backtest_report,
    comparison_report,
    optimization_report,
    standalone_html,
    walkforward_report,
)
from stratforge.report.series import DETAIL_BUCKETS, VIEW_BUCKETS, Group, ReportSeries
from stratforge.report.stored import report_for, result_kind
from tests.conftest import ohlc_frame
from tests.futures_helpers import HELD_INTO_EXPIRY
from tests.report_helpers import assert_finite_json, normalised

SMA = {"name": "sma_cross", "params": {"fast": 10, "slow": 30}}


def run(data: object, **extra: object) -> RunResult:
    return run_backtest(RunSpec.model_validate({"data": data, "strategy": SMA, **extra}))


@pytest.fixture(scope="module")
def one_data() -> RunResult:
    analyzers = [{"name": "sharpe"}, {"name": "trade_stats"}, {"name": "drawdown"}]
    return run({"args": {"bars": 600}}, analyzers=analyzers)


@pytest.fixture(scope="module")
def futures() -> RunResult:
    return run({"root": "ES", "args": {"bars": 700}})


@pytest.fixture(scope="module")
def search() -> object:
    spec = OptimizeSpec.model_validate(
        {
            "base": {"data": {"args": {"bars": 400}}, "strategy": {"name": "sma_cross"}},
            "space": {
                "fast": {"kind": "int", "start": 5, "stop": 15, "step": 5},
                "slow": {"kind": "int", "start": 30, "stop": 50, "step": 10},
                "long_only": {"kind": "choice", "options": [True, False]},
            },
            "constraints": ["fast < slow"],
        }
    )
    return optimize(spec)


def chart_sources(layout: object) -> list[ColumnDataSource]:
    return [r.data_source for r in layout.select({"type": GlyphRenderer})]


def tab_titles(layout: Tabs) -> list[str]:
    return [tab.title for tab in layout.tabs]


def test_one_data_report_has_every_part(one_data: RunResult) -> None:
    layout = backtest_report(one_data, benchmark=True)
    titles = tab_titles(layout)
    for expected in ("Charts", "Metrics", "Analyzers", "Trades", "Run", "Monthly returns"):
        assert expected in titles
    names = {r.name for r in layout.select({"type": GlyphRenderer})}
    assert {"bars", "wicks"} <= names
    assert layout.select_one({"type": DataTable}).source.data["pnl_net"]  # the trade list
    equity = next(s for s in chart_sources(layout) if "benchmark" in s.data)
    assert len(equity.data["value"]) == len(one_data.equity.value)
    assert_finite_json(layout)


def test_risk_events_model_and_new_analyzers_are_reported() -> None:
    result = run_backtest(
        RunSpec.model_validate(
            {
                "data": {"args": {"bars": 300}},
                "strategy": {
                    "name": "ml_classifier",
                    "params": {"min_train": 120, "estimator_params": {"n_estimators": 8}},
                },
                "indicators": [{"name": "keltner_channel"}, {"name": "adaptive_supertrend"}],
                "analyzers": [{"name": "value_at_risk"}, {"name": "monte_carlo"}],
                "risk": [{"name": "bracket", "params": {"stop_loss": 0.01}}],
            }
        )
    )
    layout = backtest_report(result)
    titles = tab_titles(layout)
    assert {"Risk events", "Model", "Analyzers"} <= set(titles)
    model = layout.tabs[titles.index("Model")].child
    bars = model.select_one({"type": GlyphRenderer}).data_source.data
    assert sorted(bars["feature"]) == sorted(result.strategy_info["features"])
    risk = layout.tabs[titles.index("Risk events")].child
    assert set(risk.source.data["rule"]) == {"bracket"}
    # SuperTrend's direction and multiplier lines are data, not drawn on the price axis
    supertrend = next(i for i in result.indicators if i.indicator == "AdaptiveSuperTrend")
    assert set(supertrend.hidden_lines) == {"direction", "multiplier"}
    assert_finite_json(layout)


def test_zero_trade_run_reports(plugins: object) -> None:
    flat = run_backtest(RunSpec.model_validate({"strategy": SMA}), frame=ohlc_frame([100.0] * 80))
    assert flat.trades == []
    layout = backtest_report(flat)
    assert "Trades" in tab_titles(layout)
    assert_finite_json(layout)


def test_two_data_feeds_get_a_price_chart_each() -> None:
    result = run(
        [{"symbol": "A", "args": {"bars": 300}}, {"symbol": "B", "args": {"bars": 300, "seed": 7}}]
    )
    layout = backtest_report(result)
    price_charts = {
        r.data_source.id for r in layout.select({"type": GlyphRenderer, "name": "bars"})
    }
    assert len(price_charts) == 2
    assert_finite_json(layout)


def test_futures_report_marks_rolls_on_the_adjusted_series(futures: RunResult) -> None:
    assert futures.rolls
    layout = backtest_report(futures)
    rolls = next(s for s in chart_sources(layout) if "roll" in s.data)
    assert len(rolls.data["roll"]) == len([r for r in futures.rolls])
    assert (
        rolls.data["roll"][0]
        == f"{futures.rolls[0].from_contract} → {futures.rolls[0].to_contract}"
    )
    assert "Rolls" in tab_titles(layout)
    # fills are at real contract prices; their markers sit on the adjusted chart
    fills = next(s for s in chart_sources(layout) if "side" in s.data)
    shift = np.asarray(fills.data["y"]) - np.asarray(fills.data["price"])
    assert np.any(shift != 0)
    assert_finite_json(layout)


def test_futures_report_lists_settlements_at_expiry() -> None:
    """ESZ15 held into its last trade date, the run's end: the report has its own tab."""
    result = run_backtest(RunSpec.model_validate(HELD_INTO_EXPIRY))
    (event,) = result.settlements
    layout = backtest_report(result)
    assert "Settlements" in tab_titles(layout)
    table = next(s for s in layout.select({"type": ColumnDataSource}) if "settlement" in s.data)
    assert table.data["contract"] == [event.contract] and table.data["settlement"] == ["cash"]
    assert_finite_json(layout)


def test_optimisation_and_walk_forward_reports(search: object) -> None:
    layout = optimization_report(search, theme="dark")
    assert tab_titles(layout) == ["Heatmap", "Objective", "Trials", "Summary"]
    cells = layout.select_one({"name": "cells"}).data_source.data
    assert set(cells["x"]) <= {"5", "10", "15"} and set(cells["y"]) <= {"30", "40", "50"}
    assert_finite_json(layout)
    with pytest.raises(ValueError, match="did you mean 'fast'"):
        optimization_report(search, x="fsat")
    spec = WalkForwardSpec.model_validate(
        {
            "search": {
                **json.loads(search.model_dump_json())["spec"],
                "space": {"fast": {"kind": "int", "start": 5, "stop": 10, "step": 5}},
            },
            "train": 150,
            "test": 60,
        }
    )
    walk = walk_forward(spec)
    layout = walkforward_report(walk)
    assert tab_titles(layout) == ["Windows", "Parameters", "Summary"]
    assert_finite_json(layout)


def test_comparison_report(one_data: RunResult, futures: RunResult) -> None:
    layout = comparison_report({"stock": one_data, "ES": futures})
    assert_finite_json(layout)
    with pytest.raises(ValueError):
        comparison_report({})


def test_same_result_renders_identically(one_data: RunResult) -> None:
    stored = RunResult.model_validate_json(one_data.to_json())
    first = standalone_html(backtest_report(stored), title="t")
    second = standalone_html(backtest_report(stored), title="t")
    assert first != second  # element ids differ...
    assert normalised(first) == normalised(second)  # ...nothing else does


def test_report_for_detects_the_kind(one_data: RunResult, search: object) -> None:
    assert result_kind(json.loads(one_data.to_json())) == "backtest"
    assert result_kind(json.loads(search.model_dump_json())) == "optimize"
    with pytest.raises(ValueError, match="not a stratforge result"):
        result_kind({"hello": 1})
    _layout, title = report_for(json.loads(one_data.to_json()))
    assert title == "sma_cross on synthetic"


def test_thinning_keeps_extremes_and_bounds_rows() -> None:
    rng = np.random.default_rng(3)
    n = 300_001
    t = np.arange(n, dtype=np.float64) * 60_000
    close = 100 + np.cumsum(rng.normal(size=n))
    high, low = close + rng.random(n), close - rng.random(n)
    bars = Group(
        "p",
        "ohlc",
        t,
        {"open": close, "high": high, "low": low, "close": close, "volume": np.ones(n)},
    )
    thin = bars.thinned(1000)
    assert len(thin) <= 1000
    assert thin.columns["high"].max() == high.max() and thin.columns["low"].min() == low.min()
    assert thin.columns["volume"].sum() == n and thin.columns["close"][-1] == close[-1]
    line = Group("e", "line", t, {"value": close}, primary="value").thinned(1000)
    assert len(line) <= 2000
    assert line.columns["value"].max() == close.max() and line.columns["value"].min() == close.min()
    assert np.all(np.diff(line.t) > 0)  # real points, in time order
    window = bars.window(t[1000], t[2000])
    assert window.t[0] <= t[1000] and window.t[-1] >= t[2000] and len(window) == 1003


def test_large_run_is_thinned_for_the_page(one_data: RunResult) -> None:
    """A 400,000-bar result (built directly, no backtest) embeds bounded detail."""
    n = 400_000
    times = (np.datetime64("2020-01-01T00:00") + np.arange(n).astype("timedelta64[m]")).astype(str)
    close = (100 + np.cumsum(np.random.default_rng(0).normal(size=n) * 0.01)).tolist()
    price = one_data.prices[0].model_copy(
        update={
            "datetime": times.tolist(),
            "open": close,
            "high": close,
            "low": close,
            "close": close,
            "volume": [1.0] * n,
        }
    )
    equity = one_data.equity.model_copy(
        update={"datetime": times.tolist(), "value": close, "cash": close, "position": [0.0] * n}
    )
    big = one_data.model_copy(
        update={"prices": [price], "equity": equity, "indicators": [], "trades": [], "orders": []}
    )
    layout = backtest_report(big)
    drawn = [s for s in chart_sources(layout) if "t" in s.data]
    assert drawn
    for source in drawn:
        assert len(source.data["t"]) <= 2 * VIEW_BUCKETS
    html = standalone_html(layout, title="big")
    assert len(html) < 10_000_000
    series = ReportSeries.from_result(big)
    window = series.window(
        float(series.groups["equity"].t[500]), float(series.groups["equity"].t[900])
    )
    assert len(window["equity"]["t"]) == 403  # full resolution when zoomed in
    assert n > DETAIL_BUCKETS


def test_report_cli_writes_offline_html(one_data: RunResult, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from stratforge.cli import app

    source = one_data.write(tmp_path / "run.json")
    target = tmp_path / "report.html"
    runner = CliRunner()
    outcome = runner.invoke(app, ["report", str(source), "--out", str(target), "--theme", "dark"])
    assert outcome.exit_code == 0, outcome.output
    page = target.read_text()
    assert "cdn.bokeh.org" not in page and "Bokeh.embed" in page
    assert "#20262b" in page.lower()  # the dark page background
    bad = runner.invoke(app, ["report", "bt_missing", "--out", str(target)])
    assert bad.exit_code == 2 and "bt_missing" in bad.output
    neither = runner.invoke(app, ["report", "--out", str(target)])
    assert neither.exit_code == 2
