"""Roll yield (carry) of a futures feed, from the held and the next contract's prices."""

from __future__ import annotations

import math

import backtrader as bt
import numpy as np

from stratforge.plugin.errors import SpecError


class RollYield(bt.Indicator):
    """Annualised roll yield: ln(held contract / next contract) / years between expiries.

    Positive in backwardation (later contracts cheaper: a long position gains as its
    contract converges up), negative in contango. On bars where no later contract has a
    price, the last known value is carried forward (never a later one). Needs a futures
    feed (a data spec with ``root``), which carries the next contract's close.

    Params:
        smoothing: bars in a simple moving average of the yield (1 = unsmoothed)
    """

    lines = ("roll_yield",)
    params = (("smoothing", 1),)
    plotinfo = {"subplot": True}

    @classmethod
    def check_params(cls, params: dict[str, object]) -> None:
        if int(params.get("smoothing", 1)) < 1:  # type: ignore[call-overload]
            raise ValueError("smoothing must be at least 1 bar")

    def __init__(self) -> None:
        if not hasattr(self.data.lines, "next_close"):
            raise SpecError(
                "data.root",
                f"roll_yield needs a futures feed; {self.data._name!r} has no contract chain "
                "(set a futures root in the data spec)",
            )
        self.addminperiod(self.p.smoothing)
        self._last = math.nan
        self._window: list[float] = []

    def next(self) -> None:
        lines = self.data.lines
        value = _annualised(lines.raw_close[0], lines.next_close[0], lines.carry_years[0])
        if math.isfinite(value):
            self._last = value
        self._window.append(self._last)
        if len(self._window) > self.p.smoothing:
            self._window.pop(0)
        self.lines.roll_yield[0] = float(np.mean(self._window))

    def once(self, start: int, end: int) -> None:
        lines = self.data.lines
        raw = np.asarray(lines.raw_close.array[:end], dtype=np.float64)
        nxt = np.asarray(lines.next_close.array[:end], dtype=np.float64)
        years = np.asarray(lines.carry_years.array[:end], dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = np.log(raw / nxt) / years
        value[~np.isfinite(value)] = np.nan
        filled = _forward_fill(value)
        smoothing = int(self.p.smoothing)
        if smoothing > 1:
            sums = np.cumsum(np.nan_to_num(filled))
            counts = np.cumsum(np.isfinite(filled))
            window_sum = sums - np.concatenate((np.zeros(smoothing), sums[:-smoothing]))
            window_n = counts - np.concatenate((np.zeros(smoothing), counts[:-smoothing]))
            with np.errstate(invalid="ignore", divide="ignore"):
                filled = np.where(window_n == smoothing, window_sum / window_n, np.nan)
        out = self.lines.roll_yield.array
        for i in range(start, end):
            out[i] = filled[i]


def _annualised(held: float, following: float, years: float) -> float:
    if not (held > 0 and following > 0 and years > 0):
        return math.nan
    return math.log(held / following) / years


def _forward_fill(values: np.ndarray) -> np.ndarray:
    """Each NaN replaced by the last earlier finite value (left NaN before the first)."""
    index = np.where(np.isfinite(values), np.arange(len(values)), 0)
    np.maximum.accumulate(index, out=index)
    filled = values[index]
    if len(values) and not np.isfinite(values[0]):
        first = np.flatnonzero(np.isfinite(values))
        filled[: first[0] if len(first) else len(values)] = np.nan
    return filled
