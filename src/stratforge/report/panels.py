"""Built-in report panels, registered through ``register_report_panels`` like any plugin's.

Bokeh is imported when a panel is built, not when plugins load (Ray workers load plugins
and never draw).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from stratforge.plugin.hookspecs import hookimpl

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def monthly_returns(result: Any) -> pd.DataFrame:
    """Compounded return per calendar month of the account value: years x months."""
    values = pd.Series(
        np.asarray(result.equity.value, dtype=np.float64),
        index=pd.DatetimeIndex(result.equity.datetime),
    )
    month_end = values.groupby(values.index.to_period("M")).last()
    previous = month_end.shift(1)
    previous.iloc[0] = values.iloc[0]
    returns = month_end / previous - 1.0
    frame = pd.DataFrame(
        {"year": returns.index.year, "month": returns.index.month, "ret": returns.to_numpy()}
    )
    return frame.pivot(index="year", columns="month", values="ret")


def monthly_returns_panel(result: Any, theme: Any, /) -> Any:
    """A heatmap of monthly returns (the classic tear-sheet table, coloured)."""
    if len(result.equity.value) < 2:
        return None
    from bokeh.models import ColumnDataSource, HoverTool, LinearColorMapper
    from bokeh.plotting import figure

    table = monthly_returns(result)
    if table.size < 2:
        return None
    cells = table.stack().dropna().reset_index()
    cells.columns = pd.Index(["year", "month", "ret"])
    years = [str(y) for y in table.index]
    extreme = float(np.nanmax(np.abs(cells["ret"]))) or 0.01
    source = ColumnDataSource(
        {
            "year": cells["year"].astype(str).tolist(),
            "month": [MONTHS[m - 1] for m in cells["month"]],
            "ret": cells["ret"].tolist(),
            "text": [f"{r:+.1%}" for r in cells["ret"]],
        }
    )
    mapper = LinearColorMapper(
        palette=[theme.down, theme.background, theme.up], low=-extreme, high=extreme
    )
    chart = figure(
        x_range=list(MONTHS),
        y_range=list(reversed(years)),
        height=max(160, 28 * len(years) + 60),
        sizing_mode="stretch_width",
        title="Monthly returns",
        tools="",
        toolbar_location=None,
    )
    chart.rect(
        "month",
        "year",
        1,
        1,
        source=source,
        fill_color={"field": "ret", "transform": mapper},
        line_color=theme.grid,
    )
    chart.text(
        "month",
        "year",
        text="text",
        source=source,
        text_align="center",
        text_baseline="middle",
        text_font_size="11px",
        text_color=theme.text,
    )
    chart.add_tools(HoverTool(tooltips=[("month", "@month @year"), ("return", "@ret{+0.00%}")]))
    chart.grid.grid_line_color = None
    return chart


def risk_events_panel(result: Any, theme: Any, /) -> Any:
    """Every order a risk rule or sizer trimmed, rejected or placed, and why."""
    if not result.risk_events:
        return None
    from stratforge.report.series import to_millis
    from stratforge.report.tables import grid

    rows = [event.model_dump() for event in result.risk_events]
    columns = {key: [row[key] for row in rows] for key in rows[0]}
    columns["datetime"] = to_millis(columns["datetime"]).tolist()
    return grid(columns, datetimes=("datetime",))


def model_panel(result: Any, theme: Any, /) -> Any:
    """A model-based strategy's feature importances (last fit) and its fits over time."""
    info = result.strategy_info or {}
    importances = info.get("feature_importances")
    fits = info.get("models") or []
    if not importances and not fits:
        return None
    from bokeh.layouts import column
    from bokeh.models import ColumnDataSource, HoverTool
    from bokeh.plotting import figure

    from stratforge.report.tables import grid

    parts = []
    if importances:
        ranked = sorted(importances.items(), key=lambda kv: kv[1] or 0.0)
        names = [name for name, _ in ranked]
        source = ColumnDataSource({"feature": names, "weight": [v or 0.0 for _, v in ranked]})
        chart = figure(
            y_range=names,
            height=max(160, 26 * len(names) + 60),
            sizing_mode="stretch_width",
            title=f"Feature importances of the last {info.get('estimator', 'model')} fit",
            tools="",
            toolbar_location=None,
        )
        chart.hbar(y="feature", right="weight", height=0.7, source=source, color=theme.up)
        chart.add_tools(HoverTool(tooltips=[("feature", "@feature"), ("weight", "@weight{0.000}")]))
        parts.append(chart)
    scalar = [k for k, v in (fits[0] if fits else {}).items() if not isinstance(v, dict | list)]
    if fits and scalar:
        parts.append(grid({k: [fit.get(k) for fit in fits] for k in scalar}, height=300))
    return column(*parts, sizing_mode="stretch_width")


@hookimpl
def register_report_panels(register: Any) -> None:
    register(monthly_returns_panel, name="Monthly returns")
    register(risk_events_panel, name="Risk events")
    register(model_panel, name="Model")
