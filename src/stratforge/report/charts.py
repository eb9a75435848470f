"""Shared chart pieces: linked time axes, the zoom re-thinning callback, the navigator."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any

import numpy as np
from bokeh.models import (
    ColumnDataSource,
    CrosshairTool,
    CustomJS,
    DataRange1d,
    HoverTool,
    Range1d,
    RangeTool,
    Span,
)
from bokeh.plotting import figure

from stratforge.report.series import DETAIL_BUCKETS, FETCH_LIMIT, VIEW_BUCKETS, Group
from stratforge.report.theme import ReportTheme

ZOOM_JS = files("stratforge.report").joinpath("zoom.js").read_text(encoding="utf-8")
TOOLS = "xpan,xwheel_zoom,box_zoom,reset,save"


@dataclass
class TimeAxis:
    """One x range shared by every time chart, with sources that follow its zoom."""

    start: float
    end: float
    theme: ReportTheme
    buckets: int = VIEW_BUCKETS
    detail: int = DETAIL_BUCKETS
    x_range: Range1d = field(init=False)
    vline: Span = field(init=False)
    _views: list[ColumnDataSource] = field(default_factory=list)
    _details: list[ColumnDataSource] = field(default_factory=list)
    _groups: list[Group] = field(default_factory=list)
    _strides: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        pad = max((self.end - self.start) * 0.02, 1.0)
        self.x_range = Range1d(
            start=self.start - pad,
            end=self.end + pad,
            bounds=(self.start - pad, self.end + pad),
            name="time",
        )
        self.vline = Span(dimension="height", line_dash="dotted", line_color=self.theme.muted)

    def source(self, group: Group) -> ColumnDataSource:
        """A source drawn now (thinned to the whole range) that zooming keeps up to date."""
        detail = group.thinned(self.detail if group.kind == "ohlc" else self.detail // 2)
        stride = len(group) / max(len(detail), 1)
        columns = detail.columns
        if stride > 1:  # already approximate: single precision halves the page's size
            columns = {k: v.astype(np.float32) for k, v in columns.items()}
        self._groups.append(group)
        self._details.append(ColumnDataSource({"t": detail.t, **columns}))
        self._strides.append(stride)
        view = ColumnDataSource(detail.thinned(self.buckets).view_columns())
        self._views.append(view)
        return view

    def figure(self, height: int, **kwargs: Any) -> Any:
        """A time chart on the shared range: drag to pan, wheel to zoom in time."""
        chart = figure(
            x_range=self.x_range,
            x_axis_type="datetime",
            height=height,
            tools=TOOLS,
            active_scroll="xwheel_zoom",
            active_drag="xpan",
            sizing_mode="stretch_width",
            y_range=DataRange1d(range_padding=0.06),
            **kwargs,
        )
        chart.add_tools(CrosshairTool(overlay=[self.vline, Span(dimension="width")]))
        chart.toolbar.logo = None
        chart.min_border_left = 70
        return chart

    def navigator(self, group: Group, column: str) -> Any:
        """A small overview with a draggable window that drives the shared range."""
        overview = group.thinned(self.buckets)
        chart = figure(
            height=90,
            x_axis_type="datetime",
            x_range=Range1d(self.x_range.start, self.x_range.end),
            y_axis_type=None,
            tools="",
            toolbar_location=None,
            sizing_mode="stretch_width",
        )
        chart.line(overview.t, overview.columns[column], color=self.theme.accent)
        tool = RangeTool(x_range=self.x_range)
        tool.overlay.fill_color = self.theme.accent
        tool.overlay.fill_alpha = 0.15
        chart.add_tools(tool)
        chart.ygrid.grid_line_color = None
        chart.min_border_left = 70
        return chart

    def link_zoom(self, fetch_url: str | None = None) -> None:
        """Re-thin every source to the visible range after each pan or zoom."""
        callback = CustomJS(
            args={
                "xr": self.x_range,
                "views": self._views,
                "details": self._details,
                "kinds": [g.kind for g in self._groups],
                "primaries": [g.primary for g in self._groups],
                "names": [g.name for g in self._groups],
                "strides": self._strides,
                "buckets": self.buckets,
                "fetch_url": fetch_url or "",
                "fetch_limit": FETCH_LIMIT,
                "headers": {},
            },
            code=ZOOM_JS,
        )
        self.x_range.js_on_change("start", callback)
        self.x_range.js_on_change("end", callback)


def time_hover(renderers: list[Any], fields: list[tuple[str, str]], **kwargs: Any) -> HoverTool:
    tooltips = [("date", "@t{%F %T}"), *fields]
    return HoverTool(
        renderers=renderers, tooltips=tooltips, formatters={"@t": "datetime"}, **kwargs
    )
