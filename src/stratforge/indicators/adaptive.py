"""Indicators whose smoothing or band width adapts to the market."""

from __future__ import annotations

from typing import Any

import backtrader as bt


class _SuperTrendState(bt.Indicator):
    """The SuperTrend band recursion (a helper); its lines are the state, so replay is safe.

    Datas: the price feed (for the close), the basic upper band and the basic lower band.
    """

    lines = ("supertrend", "direction", "upper", "lower")
    plotinfo = {"plot": False}

    def nextstart(self) -> None:
        upper, lower = self.data1[0], self.data2[0]
        # no previous trend to follow: start on the side of the bar's midpoint the close is on
        direction = 1.0 if self.data.close[0] >= (upper + lower) / 2.0 else -1.0
        self._store(0, upper, lower, direction)

    def next(self) -> None:
        close, prev_close = self.data.close[0], self.data.close[-1]
        prev_upper, prev_lower = self.lines.upper[-1], self.lines.lower[-1]
        upper, lower = self.data1[0], self.data2[0]
        # a band only tightens, unless the previous close broke through it
        if not (upper < prev_upper or prev_close > prev_upper):
            upper = prev_upper
        if not (lower > prev_lower or prev_close < prev_lower):
            lower = prev_lower
        direction = self.lines.direction[-1]
        if direction > 0 and close < lower:
            direction = -1.0
        elif direction < 0 and close > upper:
            direction = 1.0
        self._store(0, upper, lower, direction)

    def _store(self, ago: int, upper: float, lower: float, direction: float) -> None:
        self.lines.upper[ago] = upper
        self.lines.lower[ago] = lower
        self.lines.direction[ago] = direction
        self.lines.supertrend[ago] = lower if direction > 0 else upper

    def once(self, start: int, end: int) -> None:
        close = self.data.close.array
        basic_upper, basic_lower = self.data1.array, self.data2.array
        out_st, out_dir = self.lines.supertrend.array, self.lines.direction.array
        out_upper, out_lower = self.lines.upper.array, self.lines.lower.array
        # the default oncestart() calls once() for the first bar: seed it like nextstart()
        if start == self._minperiod - 1:
            upper, lower = basic_upper[start], basic_lower[start]
            direction = 1.0 if close[start] >= (upper + lower) / 2.0 else -1.0
            out_upper[start], out_lower[start], out_dir[start] = upper, lower, direction
            out_st[start] = lower if direction > 0 else upper
            start += 1
        upper, lower, direction = out_upper[start - 1], out_lower[start - 1], out_dir[start - 1]
        for i in range(start, end):
            prev_close = close[i - 1]
            if basic_upper[i] < upper or prev_close > upper:
                upper = basic_upper[i]
            if basic_lower[i] > lower or prev_close < lower:
                lower = basic_lower[i]
            if direction > 0 and close[i] < lower:
                direction = -1.0
            elif direction < 0 and close[i] > upper:
                direction = 1.0
            out_upper[i], out_lower[i], out_dir[i] = upper, lower, direction
            out_st[i] = lower if direction > 0 else upper


class AdaptiveSuperTrend(bt.Indicator):
    """SuperTrend whose ATR multiplier widens in volatile regimes and narrows in calm ones.

    ``ratio = ATR(period) / SMA(ATR(period), regime_period)`` (1 when that average is 0),
    ``multiplier = clip(multiplier * ratio, min_multiplier, max_multiplier)``. The bands are
    ``hl2 +/- multiplier * ATR`` (backtrader's Wilder ATR) with the standard SuperTrend
    recursion: the final upper band only falls and the lower only rises, unless the previous
    close crossed them; ``direction`` turns -1 when the close falls below the final lower band
    and +1 when it rises above the final upper one; ``supertrend`` is the lower band in an
    uptrend and the upper band in a downtrend. On the first bar (``period + regime_period``)
    the direction is +1 if the close is at or above hl2.

    Plots on the price: ``supertrend`` is the trailing stop; ``direction`` (+1/-1) and
    ``multiplier`` (the adapted value) are for strategies and skipped by backtrader's plot.

    Params:
        period: look-back of the average true range, in bars
        multiplier: ATR multiple of the bands in an average-volatility regime
        regime_period: bars of ATR history that define the average regime
        min_multiplier: lower bound of the adapted multiplier
        max_multiplier: upper bound of the adapted multiplier
    """

    lines = ("supertrend", "direction", "multiplier")
    params = (
        ("period", 10),
        ("multiplier", 3.0),
        ("regime_period", 100),
        ("min_multiplier", 1.5),
        ("max_multiplier", 6.0),
    )
    plotinfo = {"subplot": False}
    plotlines = {"direction": {"_plotskip": True}, "multiplier": {"_plotskip": True}}

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> None:
        merged = {name: params.get(name, default) for name, default in cls.params._getitems()}
        for name in ("period", "regime_period"):
            if merged[name] < 1:
                raise ValueError(f"{name} must be at least 1 bar, got {merged[name]}")
        low, high = merged["min_multiplier"], merged["max_multiplier"]
        if not 0 <= low <= high:
            raise ValueError(f"need 0 <= min_multiplier <= max_multiplier, got {low}, {high}")

    def __init__(self) -> None:
        atr = bt.ind.ATR(self.data, period=self.p.period)
        regime = bt.ind.SMA(atr, period=self.p.regime_period)
        adapted = self.p.multiplier * bt.DivByZero(atr, regime, zero=1.0)
        multiplier = bt.Max(self.p.min_multiplier, bt.Min(self.p.max_multiplier, adapted))
        hl2 = (self.data.high + self.data.low) / 2.0
        width = multiplier * atr
        state = _SuperTrendState(self.data, hl2 + width, hl2 - width)
        self.lines.supertrend = state.supertrend
        self.lines.direction = state.direction
        self.lines.multiplier = multiplier


class KAMA(bt.Indicator):
    """Kaufman's adaptive moving average: fast in a clean trend, nearly flat in chop.

    ``ER = |x - x[-period]| / sum of |x - x[-1]| over period bars`` (0 when the price did not
    move), ``sc = (ER * (2 / (fast + 1) - 2 / (slow + 1)) + 2 / (slow + 1)) ** 2`` and
    ``kama = kama[-1] + sc * (x - kama[-1])``. The first value, on the first bar with an ER
    (bar ``period + 1``), is the price itself.

    Params:
        period: efficiency-ratio window, in bars
        fast: EMA period used in a perfectly efficient trend (ER = 1)
        slow: EMA period used when the price goes nowhere (ER = 0)
    """

    lines = ("kama",)
    params = (("period", 10), ("fast", 2), ("slow", 30))
    plotinfo = {"subplot": False}

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> None:
        period = params.get("period", cls.params.period)
        fast, slow = params.get("fast", cls.params.fast), params.get("slow", cls.params.slow)
        if period < 1:
            raise ValueError(f"period must be at least 1 bar, got {period}")
        if not 0 < fast < slow:
            raise ValueError(f"need 0 < fast < slow, got fast={fast}, slow={slow}")

    def __init__(self) -> None:
        change = abs(self.data - self.data(-self.p.period))
        path = bt.ind.SumN(abs(self.data - self.data(-1)), period=self.p.period)
        efficiency = bt.DivByZero(change, path, zero=0.0)
        fast_sc, slow_sc = 2.0 / (self.p.fast + 1.0), 2.0 / (self.p.slow + 1.0)
        root = efficiency * (fast_sc - slow_sc) + slow_sc
        self.smoothing = root * root

    def nextstart(self) -> None:
        self.lines.kama[0] = self.data[0]

    def next(self) -> None:
        prev = self.lines.kama[-1]
        self.lines.kama[0] = prev + self.smoothing[0] * (self.data[0] - prev)

    def oncestart(self, start: int, end: int) -> None:
        self.lines.kama.array[start] = self.data.array[start]

    def once(self, start: int, end: int) -> None:
        src, smoothing, dst = self.data.array, self.smoothing.array, self.lines.kama.array
        prev = dst[start - 1]
        for i in range(start, end):
            dst[i] = prev = prev + smoothing[i] * (src[i] - prev)
