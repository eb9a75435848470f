"""The example plugin: one indicator, one strategy, one analyzer, registered by hooks."""

from __future__ import annotations

from typing import Any

import backtrader as bt

from stratforge import hookimpl


class ZScore(bt.Indicator):
    """How many standard deviations the close is from its simple moving average.

    Params:
        period: window of the moving average and the standard deviation, in bars
    """

    lines = ("zscore",)
    params = (("period", 20),)
    plotinfo = {"subplot": True, "plothlines": [-2.0, 0.0, 2.0]}

    def __init__(self) -> None:
        mean = bt.ind.SMA(self.data, period=self.p.period)
        deviation = bt.ind.StdDev(self.data, period=self.p.period)
        self.lines.zscore = bt.DivByZero(self.data - mean, deviation, zero=0.0)


class ZScoreReversion(bt.Strategy):
    """Sell stretched prices, buy depressed ones, and exit when they return to the mean.

    Params:
        period: z-score window, in bars
        entry: open a position when the z-score passes +/- this many deviations
        exit: close it when the z-score is back within +/- this many deviations
        stake: units per trade
    """

    params = (("period", 20), ("entry", 2.0), ("exit", 0.5), ("stake", 1.0))

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> None:
        entry = params.get("entry", cls.params.entry)
        exit_ = params.get("exit", cls.params.exit)
        if not 0 <= exit_ < entry:
            raise ValueError(f"need 0 <= exit < entry, got exit={exit_}, entry={entry}")

    def __init__(self) -> None:
        self.zscore = ZScore(self.data.close, period=self.p.period)

    def next(self) -> None:
        z = self.zscore[0]
        if z < -self.p.entry:
            self.order_target_size(target=self.p.stake)
        elif z > self.p.entry:
            self.order_target_size(target=-self.p.stake)
        elif abs(z) < self.p.exit and self.position.size:
            self.close()


class PositionTime(bt.Analyzer):
    """Fractions of bars spent long, short and flat in the first data."""

    def start(self) -> None:
        self.counts = {"long": 0, "short": 0, "flat": 0}

    def next(self) -> None:
        size = self.strategy.getposition(self.strategy.datas[0]).size
        self.counts["long" if size > 0 else "short" if size < 0 else "flat"] += 1

    def get_analysis(self) -> dict[str, float]:
        bars = sum(self.counts.values()) or 1
        return {side: count / bars for side, count in self.counts.items()}


@hookimpl
def register_indicators(register: Any) -> None:
    register(ZScore, name="zscore")


@hookimpl
def register_strategies(register: Any) -> None:
    register(ZScoreReversion, name="zscore_reversion")


@hookimpl
def register_analyzers(register: Any) -> None:
    register(PositionTime, name="position_time")


def position_time_panel(result: Any, theme: Any, /) -> Any:
    """A report tab: a bar chart of time spent long, short and flat (needs position_time)."""
    shares = next((v for k, v in result.analyzers.items() if k.startswith("position_time")), None)
    if not shares:
        return None
    from bokeh.plotting import figure

    sides = list(shares)
    chart = figure(x_range=sides, height=260, width=420, title="Time in market", tools="")
    colors = [theme.up, theme.down, theme.muted][: len(sides)]
    chart.vbar(x=sides, top=[shares[s] for s in sides], width=0.6, color=colors)
    chart.yaxis.axis_label = "fraction of bars"
    chart.toolbar_location = None
    return chart


@hookimpl
def register_report_panels(register: Any) -> None:
    register(position_time_panel, name="Time in market")
