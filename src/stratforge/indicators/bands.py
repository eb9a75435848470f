"""Volatility bands around an exponential moving average."""

from __future__ import annotations

import math
from typing import Any

import backtrader as bt


class _EwVariance(bt.Indicator):
    """Exponentially weighted variance of ``data0`` around its EMA ``data1`` (a helper).

    West's incremental form, numerically stable for any price level:
    ``var = (1 - alpha) * (var[-1] + alpha * (x - mean[-1]) ** 2)``. It is seeded with the
    population variance of the first ``period`` values, as backtrader seeds the EMA with their
    mean, so it equals the EMA of ``x ** 2`` minus the squared EMA of ``x``.
    """

    lines = ("var", "std")
    params = (("period", 20), ("alpha", 0.1))
    plotinfo = {"plot": False}

    def nextstart(self) -> None:
        values = self.data.get(size=self.p.period)
        mean = math.fsum(values) / self.p.period
        var = math.fsum((v - mean) ** 2 for v in values) / self.p.period
        self.lines.var[0] = var
        self.lines.std[0] = math.sqrt(var)

    def next(self) -> None:
        alpha = self.p.alpha
        diff = self.data[0] - self.data1[-1]
        var = (1.0 - alpha) * (self.lines.var[-1] + alpha * diff * diff)
        self.lines.var[0] = var
        self.lines.std[0] = math.sqrt(var)

    def oncestart(self, start: int, end: int) -> None:
        values = self.data.array[end - self.p.period : end]
        mean = math.fsum(values) / self.p.period
        var = math.fsum((v - mean) ** 2 for v in values) / self.p.period
        self.lines.var.array[start] = var
        self.lines.std.array[start] = math.sqrt(var)

    def once(self, start: int, end: int) -> None:
        src, means = self.data.array, self.data1.array
        variances, stds = self.lines.var.array, self.lines.std.array
        alpha, decay = self.p.alpha, 1.0 - self.p.alpha
        var = variances[start - 1]
        for i in range(start, end):
            diff = src[i] - means[i - 1]
            var = decay * (var + alpha * diff * diff)
            variances[i] = var
            stds[i] = math.sqrt(var)


class BollingerSmoother(bt.Indicator):
    """Bollinger bands from exponential weights: they react to a shock and then decay.

    With ``alpha = 2 / (period + 1)`` and ``x`` the input (the close for a data feed)::

        mid       = EMA(x, period)  (backtrader's EMA, seeded with the SMA of the first bars)
        var       = (1 - alpha) * (var[-1] + alpha * (x - mid[-1]) ** 2)
                    (seeded with the population variance of the first ``period`` values;
                    equal to EMA(x ** 2) - EMA(x) ** 2, the exponentially weighted,
                    not bias-corrected variance)
        top, bot  = mid +/- devfactor * sqrt(var)
        percent_b = (x - bot) / (top - bot), NaN when the bands have zero width

    All lines start on bar ``period`` (index ``period - 1``), like the EMA.

    Params:
        period: span of the EMA and of the weighted deviation, in bars (alpha = 2 / (period + 1))
        devfactor: band half-width in weighted standard deviations
    """

    lines = ("mid", "top", "bot", "percent_b")
    params = (("period", 20), ("devfactor", 2.0))
    plotinfo = {"subplot": False}
    # percent_b is on a 0-1 scale; backtrader's own plot leaves it off the price chart
    plotlines = {"percent_b": {"_plotskip": True}}

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> None:
        period = params.get("period", cls.params.period)
        if period < 1:
            raise ValueError(f"period must be at least 1 bar, got {period}")

    def __init__(self) -> None:
        ema = bt.ind.EMA(self.data, period=self.p.period)
        deviation = _EwVariance(self.data, ema, period=self.p.period, alpha=ema.alpha)
        width = self.p.devfactor * deviation.std
        top, bot = ema + width, ema - width
        self.lines.mid = ema
        self.lines.top = top
        self.lines.bot = bot
        self.lines.percent_b = bt.DivByZero(self.data - bot, top - bot, zero=math.nan)


class KeltnerChannel(bt.Indicator):
    """EMA of the close with bands a multiple of the average true range away.

    ``mid = EMA(close, period)``, ``top/bot = mid +/- multiplier * ATR(atr_period)`` with
    backtrader's Wilder ATR. Unlike Bollinger bands the width follows bar ranges and gaps,
    not the close's deviation from the mean.

    Params:
        period: span of the EMA of the close, in bars
        atr_period: look-back of the average true range (Wilder smoothing), in bars
        multiplier: band distance from the EMA in ATRs
    """

    lines = ("mid", "top", "bot")
    params = (("period", 20), ("atr_period", 10), ("multiplier", 2.0))
    plotinfo = {"subplot": False}

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> None:
        for name in ("period", "atr_period"):
            value = params.get(name, getattr(cls.params, name))
            if value < 1:
                raise ValueError(f"{name} must be at least 1 bar, got {value}")

    def __init__(self) -> None:
        mid = bt.ind.EMA(self.data.close, period=self.p.period)
        width = self.p.multiplier * bt.ind.ATR(self.data, period=self.p.atr_period)
        self.lines.mid = mid
        self.lines.top = mid + width
        self.lines.bot = mid - width
