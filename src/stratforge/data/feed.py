"""A backtrader feed that loads from NumPy columns instead of pandas rows.

``bt.feeds.PandasData`` indexes the frame row by row, which costs tens of microseconds per
bar. ``ArrayFeed`` converts each column once and, when Cerebro preloads, fills the line
buffers in one extend per line.
"""

from __future__ import annotations

import array
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd

OHLCV_LINES = ("open", "high", "low", "close", "volume", "openinterest")

_ORDINAL_1970 = 719163  # datetime(1970, 1, 1).toordinal()
_US_PER_DAY = 86_400_000_000


def date2num_array(index: pd.DatetimeIndex) -> np.ndarray:
    """Vectorised ``backtrader.date2num`` for a tz-naive index (same float arithmetic)."""
    micros_total = index.as_unit("us").asi8  # microseconds: backtrader's resolution
    days, rem = np.divmod(micros_total, _US_PER_DAY)
    hours, rem = np.divmod(rem, 3_600_000_000)
    minutes, rem = np.divmod(rem, 60_000_000)
    seconds, micros = np.divmod(rem, 1_000_000)
    base = (days + _ORDINAL_1970).astype(np.float64)
    fraction = hours / 24.0 + minutes / 1440.0 + seconds / 86400.0 + micros / 86400000000.0
    return base + fraction


def feed_columns(
    frame: pd.DataFrame, extra: dict[str, np.ndarray] | None = None
) -> dict[str, np.ndarray]:
    """The float64 arrays an ArrayFeed loads: computed once, reusable across runs."""
    columns = {
        "datetime": date2num_array(pd.DatetimeIndex(frame.index)),
        **{
            name: np.ascontiguousarray(frame[name].to_numpy(dtype=np.float64))
            for name in OHLCV_LINES
        },
    }
    for name, values in (extra or {}).items():  # lines a subclass declares
        columns[name] = np.ascontiguousarray(values, dtype=np.float64)
    return columns


class ArrayFeed(bt.feed.DataBase):
    """Feed a canonical OHLCV frame (DatetimeIndex + float columns) to backtrader.

    Pass ``frame`` (and ``extra`` columns for subclass lines), or ready ``columns`` from
    ``feed_columns`` when the same data feeds many runs. ``on_preloaded`` is called once
    the lines hold every bar (a one-off run lets go of its frames then).
    """

    params = (("frame", None), ("extra", None), ("columns", None), ("on_preloaded", None))

    def __init__(self) -> None:
        if self.p.columns is not None:
            self._columns: dict[str, np.ndarray] = self.p.columns
            self.p.columns = None  # the feed's own reference only: it lets go after preload
        elif self.p.frame is not None:
            self._columns = feed_columns(self.p.frame, self.p.extra)
        else:
            raise ValueError("ArrayFeed needs frame=<canonical OHLCV DataFrame> or columns=...")
        self._rows: list[list[float]] | None = None
        self._cursor = 0

    def start(self) -> None:
        super().start()
        self._cursor = 0

    # Bars are whole: the broker then reads each bar's prices from the lines. backtrader
    # copies every line into tick_* attributes on every bar for replayed/resampled data;
    # skipping that for plain bars saves about a tenth of a run.
    def _tick_nullify(self) -> None:
        if self._filters:
            super()._tick_nullify()

    def _tick_fill(self, force: bool = False) -> None:
        if self._filters:
            super()._tick_fill(force)

    def preload(self) -> None:
        self._preload()
        if self.p.on_preloaded is not None:
            self.p.on_preloaded()

    def _preload(self) -> None:
        if not self._can_bulk_load():
            super().preload()
            return
        for name, values in self._columns.items():
            # bytes, not a list of Python floats: no 32-byte object per value on the way
            raw = np.ascontiguousarray(values, dtype=np.float64).tobytes()
            getattr(self.lines, name).array.frombytes(raw)
        self._cursor = len(self._columns["datetime"])  # nothing left for _load
        self._columns = {name: np.empty(0) for name in self._columns}  # copied into the lines
        self._last()
        self.home()

    def _can_bulk_load(self) -> bool:
        if self._filters or self._ffilters or self._tzinput:
            return False
        if self.fromdate != float("-inf") or self.todate != float("inf"):
            return False
        return all(
            isinstance(getattr(self.lines, name).array, array.array)
            and len(getattr(self.lines, name).array) == 0
            for name in self._columns
        )

    def _load(self) -> bool:
        if self._rows is None:
            self._rows = [values.tolist() for values in self._columns.values()]
        i = self._cursor
        if i >= len(self._rows[0]):
            return False
        for name, values in zip(self._columns, self._rows, strict=True):
            getattr(self.lines, name)[0] = values[i]
        self._cursor = i + 1
        return True


def make_feed(frame: pd.DataFrame | None = None, **kwargs: Any) -> ArrayFeed:
    """An ``ArrayFeed`` for *frame* (or ``columns=``); other kwargs go to backtrader."""
    return ArrayFeed(frame=frame, **kwargs)
