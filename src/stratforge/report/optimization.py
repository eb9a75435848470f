"""Optimisation and walk-forward reports: where the objective is high, how stable it is,
and whether the chosen parameters held up out of sample."""

from __future__ import annotations

import html
from typing import Any, Literal

import numpy as np
import pandas as pd
from bokeh.layouts import column, gridplot
from bokeh.models import (
    ColorBar,
    ColumnDataSource,
    HoverTool,
    LayoutDOM,
    LinearColorMapper,
    NumeralTickFormatter,
    TabPanel,
    Tabs,
)
from bokeh.palettes import Viridis256
from bokeh.plotting import figure
from bokeh.transform import dodge

from stratforge.core.errors import SpecError
from stratforge.core.optimize import SearchResult
from stratforge.core.walkforward import WalkForwardResult
from stratforge.plugin.registry import did_you_mean
from stratforge.report.series import to_millis
from stratforge.report.tables import grid, html_div, table_html
from stratforge.report.theme import ReportTheme, get_theme

Aggregate = Literal["best", "max", "mean"]
MAX_AXIS_VALUES = 15  # more distinct values than this are binned on a heatmap axis
BINS = 10


def optimization_report(
    result: SearchResult,
    *,
    theme: str = "light",
    x: str | None = None,
    y: str | None = None,
    aggregate: Aggregate = "best",
) -> LayoutDOM:
    """Summary, objective heatmap over two parameters, scatter per parameter, trial table.

    Parameters other than *x* and *y* are held at the best trial's values (``best``) or
    aggregated over (``max``/``mean``).
    """
    look = get_theme(theme)
    names = parameter_names(result)
    frame = trial_frame(result, names)
    metric = str(result.spec.get("metric", "objective"))
    tabs = []
    done = frame[frame["status"] == "completed"].dropna(subset=["objective"])
    if len(names) >= 2 and len(done):
        x, y = heatmap_axes(names, x, y)
        best = result.best.params if result.best else {}
        chart = heatmap(done, x, y, names, best, aggregate, metric, look)
        tabs.append(TabPanel(child=chart, title="Heatmap"))
    if len(done):
        tabs.append(TabPanel(child=scatter_grid(done, names, metric, look), title="Objective"))
    tabs.append(TabPanel(child=trials_table(frame, names), title="Trials"))
    tabs.append(TabPanel(child=summary_panel(result, look), title="Summary"))
    return Tabs(tabs=tabs, sizing_mode="stretch_width")


def parameter_names(result: SearchResult) -> list[str]:
    space = result.spec.get("space") or {}
    names = list(space)
    for trial in result.trials:
        names.extend(k for k in trial.params if k not in names)
    return names


def trial_frame(result: SearchResult, names: list[str]) -> pd.DataFrame:
    rows = []
    for trial in result.trials:
        row: dict[str, Any] = {"number": trial.number, "status": trial.status}
        row.update({name: trial.params.get(name) for name in names})
        row["objective"] = trial.objective
        metrics = trial.metrics or {}
        for key in ("total_return", "sharpe", "max_drawdown", "trades"):
            row[key] = metrics.get(key)
        row["seconds"] = trial.seconds
        rows.append(row)
    columns = ["number", "status", *names, "objective"]
    columns += ["total_return", "sharpe", "max_drawdown", "trades", "seconds"]
    return pd.DataFrame(rows, columns=columns)


def heatmap_axes(names: list[str], x: str | None, y: str | None) -> tuple[str, str]:
    for given, field in ((x, "x"), (y, "y")):
        if given is not None and given not in names:
            raise SpecError(field, f"no parameter {given!r}; {did_you_mean(given, names)}")
    x = x or next(n for n in names if n != y)
    y = y or next(n for n in names if n != x)
    if x == y:
        raise SpecError("y", f"choose a parameter other than x ({x!r})")
    return x, y


def axis_labels(values: pd.Series) -> tuple[pd.Series, list[str]]:
    """Each value's label on a heatmap axis and the axis' factors in order; numeric
    parameters with many distinct values (random searches) are binned."""
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().all():
        distinct = np.sort(numeric.unique())
        if len(distinct) > MAX_AXIS_VALUES:
            binned = pd.cut(numeric, BINS)
            labels = binned.map(lambda b: f"{b.left:.4g}–{b.right:.4g}").astype(str)
            factors = [f"{b.left:.4g}–{b.right:.4g}" for b in binned.cat.categories]
            return labels, [f for f in factors if f in set(labels)]
        labels = numeric.map(_number_label)
        return labels, [_number_label(v) for v in distinct]
    labels = values.astype(str)
    return labels, sorted(labels.unique())


def _number_label(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.6g}"


def _heatmap_rows(
    done: pd.DataFrame,
    x: str,
    y: str,
    names: list[str],
    best: dict[str, Any],
    aggregate: Aggregate,
) -> tuple[pd.DataFrame, str]:
    """The trials a heatmap of x by y shows, and the note saying how the other parameters
    were treated (held at the best trial's values, or aggregated)."""
    others = [n for n in names if n not in (x, y)]
    if not (aggregate == "best" and others and best):
        return done, "other parameters aggregated by " + aggregate
    held = np.ones(len(done), dtype=bool)
    for name in others:
        held &= (done[name] == best.get(name)).to_numpy()
    note = "other parameters held at the best trial's: " + ", ".join(
        f"{n}={best.get(n)}" for n in others
    )
    return done[held], note


def heatmap(
    done: pd.DataFrame,
    x: str,
    y: str,
    names: list[str],
    best: dict[str, Any],
    aggregate: Aggregate,
    metric: str,
    theme: ReportTheme,
) -> LayoutDOM:
    rows, note = _heatmap_rows(done, x, y, names, best, aggregate)
    x_labels, x_factors = axis_labels(rows[x])
    y_labels, y_factors = axis_labels(rows[y])
    how = "max" if aggregate == "best" else aggregate
    cells = (
        pd.DataFrame({"x": x_labels, "y": y_labels, "value": rows["objective"].astype(float)})
        .groupby(["x", "y"], sort=False)["value"]
        .agg([how, "count"])
        .reset_index()
        .rename(columns={how: "value"})
    )
    mapper = LinearColorMapper(
        palette=Viridis256, low=float(cells["value"].min()), high=float(cells["value"].max())
    )
    chart = figure(
        x_range=x_factors,
        y_range=y_factors,
        height=min(620, 120 + 34 * len(y_factors)),
        sizing_mode="stretch_width",
        title=f"{metric} over {x} × {y} ({note})",
        tools="hover,save",
        toolbar_location="right",
        x_axis_label=x,
        y_axis_label=y,
    )
    source = ColumnDataSource(
        {
            "x": cells["x"].tolist(),
            "y": cells["y"].tolist(),
            "value": cells["value"].tolist(),
            "count": cells["count"].tolist(),
        }
    )
    chart.rect(
        "x",
        "y",
        0.96,
        0.96,
        source=source,
        line_color=None,
        fill_color={"field": "value", "transform": mapper},
        name="cells",
    )
    hover = chart.select_one(HoverTool)
    hover.tooltips = [(x, "@x"), (y, "@y"), (metric, "@value{0,0.0000}"), ("trials", "@count")]
    chart.add_layout(ColorBar(color_mapper=mapper, title=metric), "right")
    chart.grid.grid_line_color = None
    chart.xaxis.major_label_orientation = 0.8 if len(x_factors) > 12 else 0
    chart.toolbar.logo = None
    return chart


def scatter_grid(done: pd.DataFrame, names: list[str], metric: str, theme: ReportTheme) -> Any:
    charts = []
    for name in names:
        values = pd.to_numeric(done[name], errors="coerce")
        numeric = values.notna().all()
        chart = figure(
            height=260,
            width=360,
            title=f"{metric} by {name}",
            x_axis_label=name,
            tools="hover,box_zoom,reset,save",
            **({} if numeric else {"x_range": sorted(done[name].astype(str).unique())}),
        )
        source = ColumnDataSource(
            {
                "x": values.tolist() if numeric else done[name].astype(str).tolist(),
                "objective": done["objective"].astype(float).tolist(),
                "trial": done["number"].tolist(),
            }
        )
        chart.scatter("x", "objective", source=source, size=7, alpha=0.7, color=theme.accent)
        chart.select_one(HoverTool).tooltips = [
            ("trial", "@trial"),
            (name, "@x"),
            (metric, "@objective{0,0.0000}"),
        ]
        chart.toolbar.logo = None
        charts.append(chart)
    return gridplot(charts, ncols=3, merge_tools=False)


def trials_table(frame: pd.DataFrame, names: list[str]) -> LayoutDOM:
    columns = {c: [None if pd.isna(v) else v for v in frame[c].tolist()] for c in frame.columns}
    return grid(columns, percent=("total_return", "max_drawdown"), height=520)


def summary_panel(result: SearchResult, theme: ReportTheme) -> LayoutDOM:
    spec = result.spec
    method = (spec.get("method") or {}).get("name", "grid")
    strategy = ((spec.get("base") or {}).get("strategy") or {}).get("name", "")
    rows: list[tuple[str, Any]] = [
        ("strategy", strategy),
        ("method", method),
        ("metric", f"{spec.get('metric')} ({'max' if spec.get('maximize', True) else 'min'})"),
        ("completed", result.completed),
        ("failed", result.failed),
        ("pruned", result.pruned),
        ("cancelled", result.cancelled),
        ("wall time seconds", result.wall_time_seconds),
    ]
    body = "<h3>Search</h3>" + table_html(rows)
    if result.best:
        body += "<h3>Best trial</h3>" + table_html(
            [
                ("trial", result.best.number),
                ("objective", result.best.objective),
                *result.best.params.items(),
            ]
        )
    if result.deflated_sharpe:
        body += "<h3>Deflated Sharpe ratio</h3>" + table_html(result.deflated_sharpe.items())
    if result.pbo:
        scalars = [(k, v) for k, v in result.pbo.items() if not isinstance(v, (list, dict))]
        body += "<h3>Probability of backtest overfitting</h3>" + table_html(scalars)
    return html_div(body, theme, sizing_mode="stretch_width")


def walkforward_report(result: WalkForwardResult, *, theme: str = "light") -> LayoutDOM:
    """Window layout, per-window objective and parameters, stitched equity in and out of
    sample."""
    look = get_theme(theme)
    charts: list[Any] = [window_layout(result, look)]
    if result.oos_equity.get("datetime"):
        charts.append(stitched_equity(result, look))
    if result.windows:
        charts.append(window_objectives(result, look))
    overview = column(charts, sizing_mode="stretch_width")
    tabs = [
        TabPanel(child=overview, title="Windows"),
        TabPanel(child=windows_table(result), title="Parameters"),
        TabPanel(child=walkforward_summary(result, look), title="Summary"),
    ]
    return Tabs(tabs=tabs, sizing_mode="stretch_width")


def window_layout(result: WalkForwardResult, theme: ReportTheme) -> Any:
    labels = [f"W{w.index + 1}" for w in result.windows]
    chart = figure(
        y_range=list(reversed(labels)),
        x_axis_type="datetime",
        height=max(160, 26 * len(labels) + 70),
        sizing_mode="stretch_width",
        title="Train and test windows",
        tools="hover,xwheel_zoom,xpan,reset,save",
    )
    for part, color in (("train", theme.accent), ("test", theme.palette[1])):
        starts = to_millis([getattr(w, f"{part}_start") for w in result.windows])
        ends = to_millis([getattr(w, f"{part}_end") for w in result.windows])
        source = ColumnDataSource(
            {
                "window": labels,
                "left": starts,
                "right": ends,
                "bars": [getattr(w, f"{part}_bars") for w in result.windows],
                "part": [part] * len(labels),
            }
        )
        chart.hbar(
            y="window",
            left="left",
            right="right",
            height=0.6,
            source=source,
            color=color,
            alpha=0.8,
            legend_label=part,
        )
    chart.select_one(HoverTool).tooltips = [
        ("window", "@window @part"),
        ("from", "@left{%F}"),
        ("to", "@right{%F}"),
        ("bars", "@bars"),
    ]
    chart.select_one(HoverTool).formatters = {"@left": "datetime", "@right": "datetime"}
    chart.legend.location = "top_left"
    chart.toolbar.logo = None
    return chart


def stitched_equity(result: WalkForwardResult, theme: ReportTheme) -> Any:
    chart = figure(
        x_axis_type="datetime",
        height=300,
        sizing_mode="stretch_width",
        title="Stitched equity: in-sample best vs out-of-sample",
        tools="xpan,xwheel_zoom,box_zoom,reset,save",
        active_scroll="xwheel_zoom",
    )
    for curve, label, color, dash in (
        (result.is_equity, "in sample (train, best params)", theme.benchmark, "dashed"),
        (result.oos_equity, "out of sample (test)", theme.accent, "solid"),
    ):
        if curve.get("datetime"):
            source = ColumnDataSource(
                {"t": to_millis(curve["datetime"]), "value": np.asarray(curve["value"], float)}
            )
            chart.line(
                "t",
                "value",
                source=source,
                color=color,
                line_dash=dash,
                line_width=1.6,
                legend_label=label,
            )
    chart.add_tools(
        HoverTool(
            tooltips=[("date", "@t{%F}"), ("value", "@value{0,0}")],
            formatters={"@t": "datetime"},
            mode="vline",
        )
    )
    chart.legend.location = "top_left"
    chart.yaxis.formatter = NumeralTickFormatter(format="0,0")
    chart.toolbar.logo = None
    return chart


def window_objectives(result: WalkForwardResult, theme: ReportTheme) -> Any:
    labels = [f"W{w.index + 1}" for w in result.windows]
    metric = str(result.spec.get("search", {}).get("metric", "objective"))
    source = ColumnDataSource(
        {
            "window": labels,
            "in_sample": [_finite(w.in_sample) for w in result.windows],
            "out_of_sample": [_finite(w.out_of_sample) for w in result.windows],
            "params": [
                ", ".join(f"{k}={v}" for k, v in (w.best_params or {}).items())
                for w in result.windows
            ],
        }
    )
    chart = figure(
        x_range=labels,
        height=260,
        sizing_mode="stretch_width",
        title=f"{metric} per window: in sample vs out of sample",
        tools="hover,save",
    )
    chart.vbar(
        x=dodge("window", -0.17, range=chart.x_range),
        top="in_sample",
        width=0.3,
        source=source,
        color=theme.benchmark,
        legend_label="in sample",
    )
    chart.vbar(
        x=dodge("window", 0.17, range=chart.x_range),
        top="out_of_sample",
        width=0.3,
        source=source,
        color=theme.accent,
        legend_label="out of sample",
    )
    chart.select_one(HoverTool).tooltips = [
        ("window", "@window"),
        ("in sample", "@in_sample{0,0.0000}"),
        ("out of sample", "@out_of_sample{0,0.0000}"),
        ("params", "@params"),
    ]
    chart.toolbar.logo = None
    return chart


def _finite(value: float | None) -> float:
    return 0.0 if value is None or not np.isfinite(value) else float(value)


def windows_table(result: WalkForwardResult) -> LayoutDOM:
    names: list[str] = []
    for window in result.windows:
        names.extend(k for k in (window.best_params or {}) if k not in names)
    columns: dict[str, list[Any]] = {
        "window": [w.index + 1 for w in result.windows],
        "train_start": to_millis([w.train_start for w in result.windows]).tolist(),
        "test_start": to_millis([w.test_start for w in result.windows]).tolist(),
        "test_end": to_millis([w.test_end for w in result.windows]).tolist(),
        "trials": [w.trials for w in result.windows],
        **{n: [(w.best_params or {}).get(n) for w in result.windows] for n in names},
        "in_sample": [w.in_sample for w in result.windows],
        "out_of_sample": [w.out_of_sample for w in result.windows],
    }
    return grid(columns, datetimes=("train_start", "test_start", "test_end"), height=360)


def walkforward_summary(result: WalkForwardResult, theme: ReportTheme) -> LayoutDOM:
    search = result.spec.get("search", {})
    rows: list[tuple[str, Any]] = [
        ("strategy", ((search.get("base") or {}).get("strategy") or {}).get("name", "")),
        ("metric", search.get("metric")),
        ("windows", len(result.windows)),
        ("train", result.spec.get("train")),
        ("test", result.spec.get("test")),
        ("anchored", result.spec.get("anchored", False)),
        ("efficiency", result.efficiency),
        ("oos_total_return", result.oos_total_return),
        ("cancelled", result.cancelled),
    ]
    body = "<h3>Walk-forward</h3>" + table_html(rows)
    body += (
        "<p>Efficiency is the mean out-of-sample objective over the mean in-sample one: "
        "near 1 means the optimised parameters kept working on unseen data.</p>"
    )
    return html_div(html.unescape(body), theme, sizing_mode="stretch_width")
