"""The backtest report: price with trades, rolls and indicators; equity and drawdown; the
run's metrics, analyzers, trades and metadata. Built from a stored RunResult alone."""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from bokeh.layouts import column, gridplot
from bokeh.models import (
    ColumnDataSource,
    LayoutDOM,
    NumeralTickFormatter,
    TabPanel,
    Tabs,
)
from bokeh.transform import linear_cmap
from pydantic import BaseModel

from stratforge.core.engine import default_plugins
from stratforge.core.results import PriceSeries, RunResult
from stratforge.report.charts import TimeAxis, time_hover
from stratforge.report.series import (
    DETAIL_BUCKETS,
    VIEW_BUCKETS,
    Group,
    ReportSeries,
    to_millis,
)
from stratforge.report.tables import analyzer_html, cards_html, grid, html_div, table_html
from stratforge.report.theme import ReportTheme, get_theme

PanelBuilder = Callable[[RunResult, ReportTheme], LayoutDOM | None]
"""A plugin's report panel: given the result and theme, a Bokeh layout, or None to skip."""


def backtest_report(
    result: RunResult,
    *,
    theme: str = "light",
    benchmark: bool = False,
    panels: Mapping[str, PanelBuilder] | None = None,
    fetch_url: str | None = None,
    buckets: int = VIEW_BUCKETS,
    detail: int = DETAIL_BUCKETS,
) -> LayoutDOM:
    """The whole report as one Bokeh layout (tabs: charts, metrics, analyzers, trades...).

    *panels* are extra tabs (default: every installed plugin's ``register_report_panels``).
    *fetch_url* is where a served page fetches full-resolution rows when zoomed in (the
    API's ``report/window``); a standalone page zooms into its embedded detail only.
    """
    look = get_theme(theme)
    if panels is None:
        panels = default_plugins().registries.report_panels.as_dict()
    series = ReportSeries.from_result(result, benchmark=benchmark)
    tabs = [
        TabPanel(child=charts(result, series, look, fetch_url, buckets, detail), title="Charts")
    ]
    tabs.append(TabPanel(child=metrics_panel(result, look), title="Metrics"))
    if result.analyzers:
        tabs.append(TabPanel(child=analyzers_panel(result, look), title="Analyzers"))
    tabs.append(TabPanel(child=trades_panel(result, look), title="Trades"))
    if result.rolls:
        tabs.append(TabPanel(child=rolls_panel(result), title="Rolls"))
    if result.settlements:
        tabs.append(TabPanel(child=events_panel(result.settlements), title="Settlements"))
    tabs.append(TabPanel(child=metadata_panel(result, look), title="Run"))
    for name, build in (panels or {}).items():
        panel = build(result, look)
        if panel is not None:
            tabs.append(TabPanel(child=panel, title=name))
    return Tabs(tabs=tabs, sizing_mode="stretch_width")


def charts(
    result: RunResult,
    series: ReportSeries,
    theme: ReportTheme,
    fetch_url: str | None,
    buckets: int,
    detail: int,
) -> LayoutDOM:
    groups = series.groups
    equity, drawdown = groups["equity"], groups["drawdown"]
    start = min(float(g.t[0]) for g in groups.values() if len(g))
    end = max(float(g.t[-1]) for g in groups.values() if len(g))
    axis = TimeAxis(start, end, theme, buckets=buckets, detail=detail)
    rows: list[Any] = []
    for prices in result.prices:
        group = groups[f"price:{prices.data}"]
        if not len(group):
            continue
        rows.append(price_chart(axis, result, prices, group, series))
        if np.any(group.columns["volume"] > 0):
            rows.append(volume_chart(axis, rows[-1].select_one({"name": "bars"}).data_source))
    for group in groups.values():
        if group.name.startswith("indicator:") and group.info.get("subplot") == "True":
            rows.append(indicator_chart(axis, group))
    rows.append(equity_chart(axis, equity))
    rows.append(drawdown_chart(axis, drawdown))
    axis.link_zoom(fetch_url)
    charts = gridplot(
        [[row] for row in rows],
        merge_tools=True,
        toolbar_location="right",
        sizing_mode="stretch_width",
    )
    return column([charts, axis.navigator(equity, "value")], sizing_mode="stretch_width")


def price_chart(
    axis: TimeAxis, result: RunResult, prices: PriceSeries, group: Group, series: ReportSeries
) -> Any:
    theme = axis.theme
    chart = axis.figure(360, title=prices.data)
    source = axis.source(group)
    colors = linear_cmap("up", [theme.down, theme.up], 0, 1)
    wicks = chart.segment("t", "high", "t", "low", source=source, color=colors, name="wicks")
    bars = chart.vbar(
        "t", "w", "top", "bottom", source=source, fill_color=colors, line_color=colors, name="bars"
    )
    chart.y_range.renderers = [wicks]
    fields = [("open", "@open{0,0.00}"), ("high", "@high{0,0.00}"), ("low", "@low{0,0.00}")]
    fields += [("close", "@close{0,0.00}"), ("volume", "@volume{0,0}")]
    chart.add_tools(time_hover([bars], fields, mode="vline"))
    for number, group_ in enumerate(overlays(series, prices.data)):
        indicator_lines(axis, chart, group_, number)
    price_t = to_millis(prices.datetime)  # parsed once for every marker placed on the bars
    trade_lines(chart, result, prices, price_t, theme)
    fill_markers(chart, result, prices, price_t, theme)
    roll_markers(chart, result, prices, price_t, theme)
    style_legend(chart)
    chart.yaxis.formatter = NumeralTickFormatter(format="0,0.[00]")
    return chart


def style_legend(chart: Any) -> None:
    """Top-left, translucent, click an entry to hide its glyphs (when there is a legend)."""
    if chart.legend:
        chart.legend.click_policy = "hide"
        chart.legend.location = "top_left"
        chart.legend.background_fill_alpha = 0.6


def overlays(series: ReportSeries, data: str) -> list[Group]:
    return [
        g
        for g in series.groups.values()
        if g.name.startswith("indicator:")
        and g.info.get("subplot") == "False"
        and g.info.get("data") in (data, "")
    ]


def indicator_lines(axis: TimeAxis, chart: Any, group: Group, offset: int = 0) -> None:
    source = axis.source(group)
    renderers = []
    for number, line in enumerate(group.columns):
        color = axis.theme.palette[(offset + number) % len(axis.theme.palette)]
        label = f"{group.info['label']}.{line}" if len(group.columns) > 1 else group.info["label"]
        renderers.append(
            chart.line("t", line, source=source, color=color, line_width=1.4, legend_label=label)
        )
    fields = [(line, f"@{{{line}}}{{0,0.[0000]}}") for line in group.columns]
    chart.add_tools(time_hover(renderers[:1], fields, mode="vline"))


def volume_chart(axis: TimeAxis, source: ColumnDataSource) -> Any:
    chart = axis.figure(90)
    colors = linear_cmap("up", [axis.theme.down, axis.theme.up], 0, 1)
    chart.vbar("t", "w", "volume", source=source, fill_color=colors, line_color=None, alpha=0.6)
    chart.yaxis.formatter = NumeralTickFormatter(format="0.[0]a")
    chart.yaxis.axis_label = "volume"
    return chart


def indicator_chart(axis: TimeAxis, group: Group) -> Any:
    chart = axis.figure(150, title=group.info["label"])
    indicator_lines(axis, chart, group)
    style_legend(chart)
    return chart


def equity_chart(axis: TimeAxis, group: Group) -> Any:
    chart = axis.figure(240, title="Account value")
    source = axis.source(group)
    value = chart.line(
        "t",
        "value",
        source=source,
        color=axis.theme.accent,
        line_width=1.6,
        legend_label="strategy",
    )
    fields = [("value", "@value{0,0.00}")]
    if "benchmark" in group.columns:
        chart.line(
            "t",
            "benchmark",
            source=source,
            color=axis.theme.benchmark,
            line_dash="dashed",
            legend_label="buy and hold",
        )
        fields.append(("buy and hold", "@benchmark{0,0.00}"))
    chart.add_tools(time_hover([value], fields, mode="vline"))
    style_legend(chart)
    chart.yaxis.formatter = NumeralTickFormatter(format="0,0")
    return chart


def drawdown_chart(axis: TimeAxis, group: Group) -> Any:
    chart = axis.figure(150, title="Drawdown")
    source = axis.source(group)
    chart.varea("t", 0, "drawdown", source=source, fill_color=axis.theme.drawdown, alpha=0.35)
    line = chart.line("t", "drawdown", source=source, color=axis.theme.drawdown)
    chart.add_tools(time_hover([line], [("drawdown", "@drawdown{0.00%}")], mode="vline"))
    chart.yaxis.formatter = NumeralTickFormatter(format="0%")
    return chart


def chart_prices(
    prices: PriceSeries, price_t: np.ndarray, times: np.ndarray, fills: np.ndarray
) -> np.ndarray:
    """Fill prices placed on the drawn series: for futures, real contract prices are moved
    onto the adjusted continuous series by that bar's adjustment."""
    if prices.raw_close is None or not len(fills):
        return fills
    at = np.clip(np.searchsorted(price_t, times, side="right") - 1, 0, len(price_t) - 1)
    adjusted = np.asarray(prices.close, dtype=np.float64)[at]
    raw = np.asarray(prices.raw_close, dtype=np.float64)[at]
    if prices.adjustment == "ratio":
        return fills * adjusted / raw
    return fills + (adjusted - raw)


def fill_markers(
    chart: Any, result: RunResult, prices: PriceSeries, price_t: np.ndarray, theme: ReportTheme
) -> None:
    fills = [
        o
        for o in result.orders
        if o.data == prices.data and o.executed_datetime and o.executed_price and not o.roll
    ]
    if not fills:
        return
    t = to_millis([o.executed_datetime or "" for o in fills])
    price = np.array([o.executed_price for o in fills], dtype=np.float64)
    buy = [o.side == "buy" for o in fills]
    source = ColumnDataSource(
        {
            "t": t,
            "y": chart_prices(prices, price_t, t, price),
            "price": price,
            "side": [o.side for o in fills],
            "size": [o.executed_size for o in fills],
            "contract": [o.contract or "" for o in fills],
            "commission": [o.commission for o in fills],
            "marker": ["triangle" if b else "inverted_triangle" for b in buy],
            "color": [theme.up if b else theme.down for b in buy],
        }
    )
    markers = chart.scatter(
        "t",
        "y",
        source=source,
        marker="marker",
        size=11,
        fill_color="color",
        line_color=theme.text,
        line_width=0.5,
        legend_label="fills",
    )
    fields = [("side", "@side"), ("size", "@size"), ("price", "@price{0,0.00}")]
    fields += [("commission", "@commission{0,0.00}")]
    if any(o.contract for o in fills):
        fields.append(("contract", "@contract"))
    chart.add_tools(time_hover([markers], fields))


def trade_lines(
    chart: Any, result: RunResult, prices: PriceSeries, price_t: np.ndarray, theme: ReportTheme
) -> None:
    trades = [t for t in result.trades if t.data == prices.data and t.exit_price is not None]
    if not trades:
        return
    t0 = to_millis([t.entry_datetime for t in trades])
    t1 = to_millis([t.exit_datetime for t in trades])
    entry = np.array([t.entry_price for t in trades], dtype=np.float64)
    exit_ = np.array([t.exit_price for t in trades], dtype=np.float64)
    won = [t.pnl_net > 0 for t in trades]
    source = ColumnDataSource(
        {
            "t": t0,
            "t1": t1,
            "y0": chart_prices(prices, price_t, t0, entry),
            "y1": chart_prices(prices, price_t, t1, exit_),
            "direction": [t.direction for t in trades],
            "size": [t.size for t in trades],
            "entry": entry,
            "exit": exit_,
            "pnl": [t.pnl_net for t in trades],
            "bars": [t.bars_held for t in trades],
            "color": [theme.up if w else theme.down for w in won],
        }
    )
    segments = chart.segment(
        "t",
        "y0",
        "t1",
        "y1",
        source=source,
        color="color",
        line_width=2.5,
        alpha=0.75,
        line_dash="dashed",
        legend_label="trades",
    )
    fields = [("trade", "@direction @size"), ("entry", "@entry{0,0.00}")]
    fields += [("exit", "@exit{0,0.00}"), ("net PnL", "@pnl{0,0.00}"), ("bars", "@bars")]
    chart.add_tools(time_hover([segments], fields, line_policy="interp"))


def roll_markers(
    chart: Any, result: RunResult, prices: PriceSeries, price_t: np.ndarray, theme: ReportTheme
) -> None:
    rolls = [r for r in result.rolls if r.data == prices.data]
    if not rolls:
        return
    t = to_millis([r.datetime for r in rolls])
    at = np.clip(np.searchsorted(price_t, t, side="right") - 1, 0, len(price_t) - 1)
    source = ColumnDataSource(
        {
            "t": t,
            "y": np.asarray(prices.high, dtype=np.float64)[at],
            "roll": [f"{r.from_contract} → {r.to_contract}" for r in rolls],
            "size": [r.size for r in rolls],
            "prices": [f"{r.exit_price:,.2f} → {r.entry_price:,.2f}" for r in rolls],
            "cost": [r.cost for r in rolls],
            "status": [r.status for r in rolls],
        }
    )
    markers = chart.scatter(
        "t",
        "y",
        source=source,
        marker="diamond",
        size=12,
        fill_color=theme.roll,
        line_color=theme.text,
        line_width=0.5,
        legend_label="rolls",
    )
    fields = [("roll", "@roll"), ("size", "@size"), ("prices", "@prices")]
    fields += [("cost", "@cost{0,0.00}"), ("status", "@status")]
    chart.add_tools(time_hover([markers], fields))


def metrics_panel(result: RunResult, theme: ReportTheme) -> LayoutDOM:
    values = result.metrics.model_dump()
    body = cards_html(values) + table_html(values.items(), ("metric", "value"))
    return html_div(body, theme, sizing_mode="stretch_width")


def analyzers_panel(result: RunResult, theme: ReportTheme) -> LayoutDOM:
    body = "".join(analyzer_html(name, output) for name, output in result.analyzers.items())
    return html_div(body, theme, sizing_mode="stretch_width")


def trades_panel(result: RunResult, theme: ReportTheme) -> LayoutDOM:
    if not result.trades:
        return html_div("<p>No trades were closed in this run.</p>", theme)
    rows = [t.model_dump() for t in result.trades]
    columns = {key: [row[key] for row in rows] for key in rows[0]}
    if all(c is None for c in columns["contract"]):
        del columns["contract"]
    for key in ("entry_datetime", "exit_datetime"):
        columns[key] = to_millis(columns[key]).tolist()
    return grid(columns, datetimes=("entry_datetime", "exit_datetime"))


def rolls_panel(result: RunResult) -> LayoutDOM:
    return events_panel(result.rolls)


def events_panel(events: Sequence[BaseModel]) -> LayoutDOM:
    """A sortable table of dated events (rolls, settlements at expiry), one row each."""
    rows = [event.model_dump() for event in events]
    columns = {key: [row[key] for row in rows] for key in rows[0]}
    columns["datetime"] = to_millis(columns["datetime"]).tolist()
    return grid(columns, datetimes=("datetime",))


def metadata_panel(result: RunResult, theme: ReportTheme) -> LayoutDOM:
    provenance = result.provenance.model_dump()
    plugins = provenance.pop("plugins")
    spec = html.escape(json.dumps(result.spec, indent=2, sort_keys=True))
    body = (
        "<h3>Provenance</h3>"
        + table_html(provenance.items())
        + "<h3>Plugins</h3>"
        + table_html((name, version or "built-in") for name, version in plugins.items())
        + f"<h3>RunSpec</h3><pre><code>{spec}</code></pre>"
    )
    return html_div(body, theme, sizing_mode="stretch_width")
