"""Several backtests side by side: equity (scaled to a common start), drawdown, metrics."""

from __future__ import annotations

import html
from collections.abc import Mapping

import numpy as np
from bokeh.layouts import column
from bokeh.models import ColumnDataSource, HoverTool, LayoutDOM, NumeralTickFormatter
from bokeh.plotting import figure

from stratforge.core.errors import SpecError
from stratforge.core.results import RunResult
from stratforge.report.series import equity_groups
from stratforge.report.tables import format_value, html_div, label
from stratforge.report.theme import ReportTheme, get_theme

COMPARED = (
    "total_return",
    "cagr",
    "annual_volatility",
    "sharpe",
    "sortino",
    "max_drawdown",
    "max_drawdown_days",
    "trades",
    "win_rate",
    "profit_factor",
    "exposure",
)


def comparison_report(
    results: Mapping[str, RunResult], *, theme: str = "light", buckets: int = 4000
) -> LayoutDOM:
    """Growth of 1 and drawdown of each run on shared axes, and a metrics table."""
    if not results:
        raise SpecError("results", "give at least one run to compare")
    look = get_theme(theme)
    growth = figure(
        x_axis_type="datetime",
        height=340,
        sizing_mode="stretch_width",
        title="Growth of 1",
        tools="xpan,xwheel_zoom,box_zoom,reset,save",
        active_scroll="xwheel_zoom",
    )
    drawdown = figure(
        x_axis_type="datetime",
        height=200,
        sizing_mode="stretch_width",
        title="Drawdown",
        x_range=growth.x_range,
        tools="xpan,xwheel_zoom,box_zoom,reset,save",
        active_scroll="xwheel_zoom",
    )
    for number, (name, result) in enumerate(results.items()):
        color = look.palette[number % len(look.palette)]
        equity, under = equity_groups(result, benchmark=False)
        equity, under = equity.thinned(buckets), under.thinned(buckets)
        start = float(result.equity.value[0]) or 1.0
        source = ColumnDataSource({"t": equity.t, "growth": equity.columns["value"] / start})
        growth.line("t", "growth", source=source, color=color, line_width=1.6, legend_label=name)
        dd = ColumnDataSource({"t": under.t, "drawdown": under.columns["drawdown"]})
        drawdown.line("t", "drawdown", source=dd, color=color, legend_label=name)
    growth.add_tools(
        HoverTool(
            tooltips=[("date", "@t{%F}"), ("growth", "@growth{0.000}")],
            formatters={"@t": "datetime"},
        )
    )
    drawdown.yaxis.formatter = NumeralTickFormatter(format="0%")
    for chart in (growth, drawdown):
        chart.legend.location = "top_left"
        chart.legend.click_policy = "hide"
        chart.toolbar.logo = None
    return column([growth, drawdown, metrics_table(results, look)], sizing_mode="stretch_width")


def metrics_table(results: Mapping[str, RunResult], theme: ReportTheme) -> LayoutDOM:
    names = list(results)
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    rows = []
    for metric in COMPARED:
        values = [getattr(results[n].metrics, metric) for n in names]
        numbers = [v for v in values if isinstance(v, (int, float)) and np.isfinite(v)]
        best = max(numbers) if numbers and metric != "annual_volatility" else None
        cells = "".join(
            f'<td class="num">{"<b>" if v == best and len(names) > 1 else ""}'
            f"{html.escape(format_value(metric, v))}</td>"
            for v in values
        )
        rows.append(f"<tr><td>{html.escape(label(metric))}</td>{cells}</tr>")
    body = f"<h3>Metrics</h3><table><tr><th></th>{head}</tr>{''.join(rows)}</table>"
    return html_div(body, theme, sizing_mode="stretch_width")
