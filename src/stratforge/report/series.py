"""The time series a report draws, and how they are thinned for display.

A chart cannot show more points than it has pixels, and a page that embeds a million bars
freezes the browser. Each drawn series is a *group* of columns over one time axis, thinned
per bucket of rows: price bars merge into coarser OHLC bars (first open, highest high,
lowest low, last close, summed volume), lines keep the real points where their primary
column is lowest and highest in each bucket. The same rules run in the browser
(``zoom.js``) when the view changes, so zooming in shows finer data down to single bars.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from stratforge.core.results import PriceSeries, RunResult

GroupKind = Literal["ohlc", "line"]

VIEW_BUCKETS = 2000  # buckets drawn for the visible range (about one per pixel column)
DETAIL_BUCKETS = 50_000  # buckets a standalone page embeds for zooming in offline
FETCH_LIMIT = 250_000  # most rows a window request returns before it is thinned too
OHLC_COLUMNS = ("open", "high", "low", "close", "volume")


@dataclass
class Group:
    """Columns drawn together over one time axis ``t`` (epoch milliseconds)."""

    name: str
    kind: GroupKind
    t: np.ndarray
    columns: dict[str, np.ndarray]
    primary: str = ""
    info: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.t)

    def window(self, start: float, end: float) -> Group:
        """Rows between *start* and *end* plus one either side, so lines reach the edges."""
        first = max(int(np.searchsorted(self.t, start, side="left")) - 1, 0)
        last = min(int(np.searchsorted(self.t, end, side="right")) + 1, len(self.t))
        return self._rows(slice(first, last))

    def thinned(self, buckets: int) -> Group:
        """At most about *buckets* rows (two per bucket for lines), extremes kept."""
        if len(self) <= buckets * (2 if self.kind == "line" else 1):
            return self
        starts = bucket_starts(len(self), buckets)
        if self.kind == "ohlc":
            return self._ohlc(starts)
        return self._rows(minmax_rows(self.columns[self.primary], starts))

    def view_columns(self) -> dict[str, np.ndarray]:
        """What a ColumnDataSource holds: ``t``, the columns, and candle geometry."""
        out = {"t": self.t, **self.columns}
        if self.kind == "ohlc":
            out.update(candle_geometry(self.t, self.columns["open"], self.columns["close"]))
        return out

    def _rows(self, rows: slice | np.ndarray) -> Group:
        return Group(
            self.name,
            self.kind,
            self.t[rows],
            {k: v[rows] for k, v in self.columns.items()},
            self.primary,
            self.info,
        )

    def _ohlc(self, starts: np.ndarray) -> Group:
        c = self.columns
        lasts = np.r_[starts[1:], len(self)] - 1
        merged = {
            "open": c["open"][starts],
            "high": np.maximum.reduceat(c["high"], starts),
            "low": np.minimum.reduceat(c["low"], starts),
            "close": c["close"][lasts],
            "volume": np.add.reduceat(c["volume"], starts),
        }
        extra = {k: v[lasts] for k, v in c.items() if k not in merged}
        return Group(self.name, "ohlc", self.t[starts], merged | extra, self.primary, self.info)


def bucket_starts(rows: int, buckets: int) -> np.ndarray:
    """First row of each of *buckets* near-equal buckets over *rows* rows."""
    return np.unique(np.linspace(0, rows, buckets, endpoint=False).astype(np.int64))


def minmax_rows(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Row numbers of each bucket's lowest and highest value, in time order."""
    rows = np.arange(len(values))
    bucket = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(values)]))
    lows = np.minimum.reduceat(values, starts)[bucket] == values
    highs = np.maximum.reduceat(values, starts)[bucket] == values
    first_low = np.minimum.reduceat(np.where(lows, rows, len(values)), starts)
    first_high = np.minimum.reduceat(np.where(highs, rows, len(values)), starts)
    pairs = np.sort(np.stack([first_low, first_high], axis=1), axis=1).ravel()
    keep = np.r_[True, pairs[1:] != pairs[:-1]]  # a flat bucket has one point, not two
    return pairs[keep]


def candle_geometry(t: np.ndarray, open_: np.ndarray, close: np.ndarray) -> dict[str, np.ndarray]:
    """Body top/bottom, direction and width (80% of the typical bar spacing)."""
    spacing = float(np.median(np.diff(t))) if len(t) > 1 else 86_400_000.0
    return {
        "top": np.maximum(open_, close),
        "bottom": np.minimum(open_, close),
        "up": (close >= open_).astype(np.float64),
        "w": np.full(len(t), spacing * 0.8),
    }


def to_millis(texts: list[str]) -> np.ndarray:
    """ISO-8601 strings as float epoch milliseconds, Bokeh's datetime unit."""
    return np.asarray(texts, dtype="datetime64[ms]").astype(np.int64).astype(np.float64)


def finite_rows(group: Group) -> Group:
    """Rows where every column is finite: warm-up NaNs are not drawn, nor embedded."""
    mask = np.ones(len(group), dtype=bool)
    for values in group.columns.values():
        mask &= np.isfinite(values)
    return group if mask.all() else group._rows(mask)


def price_group(series: PriceSeries) -> Group:
    columns = {name: np.asarray(getattr(series, name), dtype=np.float64) for name in OHLC_COLUMNS}
    return finite_rows(Group(f"price:{series.data}", "ohlc", to_millis(series.datetime), columns))


def equity_groups(result: RunResult, benchmark: bool) -> tuple[Group, Group]:
    """Account value (with a buy-and-hold benchmark when asked) and drawdown."""
    t = to_millis(result.equity.datetime)
    value = np.asarray(result.equity.value, dtype=np.float64)
    columns = {"value": value}
    if benchmark and result.prices:
        columns["benchmark"] = buy_and_hold(result.prices[0], t, float(value[0]))
    peak = np.maximum.accumulate(value)
    drawdown = np.where(peak > 0, value / peak - 1.0, 0.0)
    equity = finite_rows(Group("equity", "line", t, columns, primary="value"))
    return equity, Group("drawdown", "line", t, {"drawdown": drawdown}, primary="drawdown")


def buy_and_hold(series: PriceSeries, t: np.ndarray, start_value: float) -> np.ndarray:
    """The first data's close scaled to the starting value, on the equity's time axis."""
    price_t = to_millis(series.datetime)
    close = np.asarray(series.close, dtype=np.float64)
    at = np.clip(np.searchsorted(price_t, t, side="right") - 1, 0, len(close) - 1)
    return start_value * close[at] / close[0]


def indicator_groups(result: RunResult, times: dict[str, np.ndarray]) -> list[Group]:
    """One group per plotted indicator, on the time axis of the data it was computed on."""
    groups = []
    equity_t = to_millis(result.equity.datetime)
    for record in result.indicators:
        if not record.plot or not record.lines:
            continue
        length = len(next(iter(record.lines.values())))
        t = times.get(record.data)
        if t is None or len(t) != length:
            t = equity_t if len(equity_t) == length else None
        if t is None:
            continue
        columns = {
            line: np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)
            for line, values in record.lines.items()
            if line not in record.hidden_lines
        }
        if not columns:
            continue
        group = Group(
            f"indicator:{record.name}",
            "line",
            t,
            columns,
            primary=next(iter(columns)),
            info={"data": record.data, "subplot": str(record.subplot), "label": record.name},
        )
        groups.append(finite_rows(group))
    return groups


@dataclass
class ReportSeries:
    """Every drawn group of one backtest result, by name."""

    groups: dict[str, Group]

    @classmethod
    def from_result(cls, result: RunResult, *, benchmark: bool = False) -> ReportSeries:
        prices = [price_group(series) for series in result.prices]
        times = {s.data: g.t for s, g in zip(result.prices, prices, strict=True)}
        groups = [*prices, *equity_groups(result, benchmark), *indicator_groups(result, times)]
        return cls({group.name: group for group in groups})

    def window(self, start: float, end: float, limit: int = FETCH_LIMIT) -> dict[str, dict]:
        """Rows of every group in a time window, as JSON-ready columns (for zoom requests)."""
        out = {}
        for name, group in self.groups.items():
            part = group.window(start, end).thinned(limit)
            out[name] = {k: v.tolist() for k, v in {"t": part.t, **part.columns}.items()}
        return out
