"""Four classic rule-based strategies: trend following and mean reversion."""

from __future__ import annotations

from typing import Any

import backtrader as bt

from stratforge.strategies.base import SignalStrategy

_RSI_LEVELS = ("oversold", "exit_level", "overbought")


class SmaCross(SignalStrategy):
    """Long when the fast SMA crosses above the slow SMA, short when it crosses below.

    Params:
        fast: period of the fast simple moving average, in bars
        slow: period of the slow simple moving average, in bars
        long_only: never sell short; a cross down only closes a long position
    """

    params = (("fast", 10), ("slow", 30))

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> None:
        fast, slow = params.get("fast", cls.params.fast), params.get("slow", cls.params.slow)
        if not 0 < fast < slow:
            raise ValueError(f"need 0 < fast < slow, got fast={fast}, slow={slow}")

    def __init__(self) -> None:
        self.fast_sma = bt.ind.SMA(self.data.close, period=self.p.fast)
        self.slow_sma = bt.ind.SMA(self.data.close, period=self.p.slow)
        self.crossover = bt.ind.CrossOver(self.fast_sma, self.slow_sma)

    def next(self) -> None:
        if not self.fresh():
            return  # the feed's bar is unchanged: its signal was acted on already
        if self.crossover[0] > 0:
            self.go_long()
        elif self.crossover[0] < 0:
            self.go_short()


class DonchianBreakout(SignalStrategy):
    """Turtle-style breakout: enter on a new N-bar extreme, exit on a shorter opposite one.

    Params:
        entry: breakout channel length: enter long above the highest high of this many bars
        exit: exit channel length: leave a long below the lowest low of this many bars
        long_only: never sell short
    """

    params = (("entry", 20), ("exit", 10))

    def __init__(self) -> None:
        self.entry_high = bt.ind.Highest(self.data.high(-1), period=self.p.entry)
        self.entry_low = bt.ind.Lowest(self.data.low(-1), period=self.p.entry)
        self.exit_high = bt.ind.Highest(self.data.high(-1), period=self.p.exit)
        self.exit_low = bt.ind.Lowest(self.data.low(-1), period=self.p.exit)

    def next(self) -> None:
        if not self.fresh():
            return  # the feed's bar is unchanged: its signal was acted on already
        close = self.data.close[0]
        size = self.position.size
        if close > self.entry_high[0]:
            self.go_long()
        elif close < self.entry_low[0]:
            self.go_short()
        elif (size > 0 and close < self.exit_low[0]) or (size < 0 and close > self.exit_high[0]):
            self.go_flat()


class RsiReversion(SignalStrategy):
    """Buy oversold, sell overbought, exit when RSI returns to the middle.

    Params:
        period: RSI look-back in bars
        oversold: go long when RSI falls below this level
        overbought: go short when RSI rises above this level
        exit_level: close the position when RSI crosses back through this level
        long_only: never sell short
    """

    params = (("period", 14), ("oversold", 30.0), ("overbought", 70.0), ("exit_level", 50.0))

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> None:
        levels = [params.get(k, getattr(cls.params, k)) for k in _RSI_LEVELS]
        if not 0 < levels[0] < levels[1] < levels[2] < 100:
            raise ValueError(
                "need 0 < oversold < exit_level < overbought < 100, got " + str(levels)
            )

    def __init__(self) -> None:
        self.rsi = bt.ind.RSI(self.data.close, period=self.p.period, safediv=True)

    def next(self) -> None:
        if not self.fresh():
            return  # the feed's bar is unchanged: its signal was acted on already
        rsi = self.rsi[0]
        size = self.position.size
        if rsi < self.p.oversold:
            self.go_long()
        elif rsi > self.p.overbought:
            self.go_short()
        elif (size > 0 and rsi > self.p.exit_level) or (size < 0 and rsi < self.p.exit_level):
            self.go_flat()


class BollingerReversion(SignalStrategy):
    """Fade moves outside the Bollinger bands, exit at the middle band.

    Params:
        period: moving-average and standard-deviation window, in bars
        devfactor: band width in standard deviations
        long_only: never sell short
    """

    params = (("period", 20), ("devfactor", 2.0))

    def __init__(self) -> None:
        self.bands = bt.ind.BollingerBands(
            self.data.close, period=self.p.period, devfactor=self.p.devfactor
        )

    def next(self) -> None:
        if not self.fresh():
            return  # the feed's bar is unchanged: its signal was acted on already
        close = self.data.close[0]
        size = self.position.size
        if close < self.bands.bot[0]:
            self.go_long()
        elif close > self.bands.top[0]:
            self.go_short()
        elif (size > 0 and close >= self.bands.mid[0]) or (size < 0 and close <= self.bands.mid[0]):
            self.go_flat()
