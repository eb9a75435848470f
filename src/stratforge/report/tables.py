"""Readable tables: headline cards, analyzer output, run metadata and sortable grids."""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bokeh.models import (
    ColumnDataSource,
    DataTable,
    DateFormatter,
    Div,
    InlineStyleSheet,
    NumberFormatter,
    StringFormatter,
    TableColumn,
)

from stratforge.core.results import PERCENT_METRICS
from stratforge.report.theme import ReportTheme

PERCENT = PERCENT_METRICS | {"oos_total_return"}
HEADLINE = ("total_return", "cagr", "sharpe", "sortino", "max_drawdown", "trades", "win_rate")
DASH = "\u2013"  # shown for a missing value
SEP = " / "  # between the keys of a nested analyzer value
MAX_ROWS = 400  # per analyzer section; longer series are summarised by their length


def format_value(name: str, value: Any) -> str:
    if value is None:
        return DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if name in PERCENT:
            return f"{value:.2%}"
        return f"{value:,.4f}" if abs(value) < 1000 else f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, (list, dict)):
        text = json.dumps(value)
        return text if len(text) <= 80 else f"{type(value).__name__} of {len(value)} items"
    return str(value)


def label(name: str) -> str:
    return name.replace("_", " ")


def html_div(body: str, theme: ReportTheme, **kwargs: Any) -> Div:
    return Div(text=body, stylesheets=[InlineStyleSheet(css=theme.css())], **kwargs)


def table_html(rows: Iterable[tuple[str, Any]], headers: tuple[str, str] | None = None) -> str:
    head = ""
    if headers:
        head = f"<tr><th>{html.escape(headers[0])}</th><th>{html.escape(headers[1])}</th></tr>"
    body = "".join(
        f"<tr><td>{html.escape(label(key))}</td>"
        f'<td class="num">{html.escape(format_value(key, value))}</td></tr>'
        for key, value in rows
    )
    return f"<table>{head}{body}</table>"


def cards_html(values: Mapping[str, Any], names: Sequence[str] = HEADLINE) -> str:
    cards = "".join(
        f'<div class="card"><b>{html.escape(format_value(n, values.get(n)))}</b>'
        f"<span>{html.escape(label(n))}</span></div>"
        for n in names
        if n in values
    )
    return f'<div class="cards">{cards}</div>'


def flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Nested analyzer output as (path, scalar) rows: ``won / pnl / average``."""
    if isinstance(value, Mapping):
        rows: list[tuple[str, Any]] = []
        for key, inner in value.items():
            rows.extend(flatten(inner, f"{prefix}{SEP}{key}" if prefix else str(key)))
        return rows
    return [(prefix or "value", value)]


def analyzer_html(name: str, output: Any) -> str:
    """One analyzer's output as a titled table; top-level sections become sub-tables."""
    parts = [f"<h3>{html.escape(name)}</h3>"]
    if isinstance(output, Mapping) and any(isinstance(v, Mapping) for v in output.values()):
        scalars = [(k, v) for k, v in output.items() if not isinstance(v, Mapping)]
        if scalars:
            parts.append(table_html(scalars))
        for key, inner in output.items():
            if isinstance(inner, Mapping):
                parts.append(f"<h3>{html.escape(name)}{SEP}{html.escape(str(key))}</h3>")
                parts.append(table_html(_capped(flatten(inner))))
    else:
        parts.append(table_html(_capped(flatten(output))))
    return "".join(parts)


def _capped(rows: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    if len(rows) <= MAX_ROWS:
        return rows
    return [*rows[: MAX_ROWS // 2], ("…", f"{len(rows) - MAX_ROWS} rows"), *rows[-MAX_ROWS // 2 :]]


def grid(
    columns: Mapping[str, Sequence[Any]],
    *,
    titles: Mapping[str, str] | None = None,
    percent: Iterable[str] = (),
    datetimes: Iterable[str] = (),
    height: int = 420,
) -> DataTable:
    """A sortable DataTable; numbers right-aligned, percentages and datetimes formatted."""
    percent, datetimes = set(percent), set(datetimes)
    table_columns = []
    for name, values in columns.items():
        sample = next((v for v in values if v is not None), None)
        if name in datetimes:
            formatter: Any = DateFormatter(format="%Y-%m-%d %H:%M")
        elif name in percent:
            formatter = NumberFormatter(format="0.00%", text_align="right", null_format=DASH)
        elif isinstance(sample, (int, float)) and not isinstance(sample, bool):
            formatter = NumberFormatter(format="0,0.[0000]", text_align="right", null_format=DASH)
        else:
            formatter = StringFormatter()
        title = (titles or {}).get(name, label(name))
        table_columns.append(TableColumn(field=name, title=title, formatter=formatter))
    source = ColumnDataSource({k: _cells(v) for k, v in columns.items()})
    return DataTable(
        source=source,
        columns=table_columns,
        sortable=True,
        reorderable=False,
        index_position=None,
        height=height,
        sizing_mode="stretch_width",
    )


def _cells(values: Sequence[Any]) -> list[Any]:
    """Cells as JSON values: missing numbers stay null (shown as a dash, never NaN),
    non-finite floats become null, nested values become text."""
    out: list[Any] = []
    for value in values:
        if isinstance(value, float) and not math.isfinite(value):
            out.append(None)
        elif isinstance(value, (dict, list)):
            out.append(json.dumps(value))
        else:
            out.append(value)
    return out
