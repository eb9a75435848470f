"""Price channels."""

from __future__ import annotations

import backtrader as bt


class DonchianChannel(bt.Indicator):
    """Highest high and lowest low of the previous ``period`` bars, and their midpoint.

    Params:
        period: channel length in bars
        lookback: bars to shift the channel back; 1 excludes the current bar (for breakouts)
    """

    lines = ("upper", "middle", "lower")
    params = (("period", 20), ("lookback", 1))
    plotinfo = {"subplot": False}

    def __init__(self) -> None:
        high = self.data.high(-self.p.lookback) if self.p.lookback else self.data.high
        low = self.data.low(-self.p.lookback) if self.p.lookback else self.data.low
        self.lines.upper = bt.ind.Highest(high, period=self.p.period)
        self.lines.lower = bt.ind.Lowest(low, period=self.p.period)
        self.lines.middle = (self.lines.upper + self.lines.lower) / 2.0
