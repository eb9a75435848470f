"""Worked example of a project indicator: Kaufman's efficiency ratio.

This repository is itself a stratforge project (``[tool.stratforge]`` in its
``pyproject.toml``), so this file is a plugin for any ``stratforge`` command run inside it.
See docs/projects.md for the walk-through.
"""

from __future__ import annotations

import backtrader as bt

from stratforge.plugin import Register, hookimpl


class EfficiencyRatio(bt.Indicator):
    """How straight the path of the close was: its net change over ``period`` bars divided
    by the sum of the bar-to-bar changes, from 0 (noise) to 1 (a straight line).

    Built from price changes only, so on a difference-adjusted (back-adjusted) futures
    series it equals the ratio of the contracts' real prices: the roll gaps are gone.

    Params:
        period: bars of the net change and of the summed bar-to-bar changes
    """

    lines = ("er",)
    params = (("period", 20),)
    plotinfo = {"subplot": True, "plothlines": [0.3], "plotymargin": 0.05}

    def __init__(self) -> None:
        net = abs(self.data - self.data(-self.p.period))
        path = bt.ind.SumN(abs(self.data - self.data(-1)), period=self.p.period)
        self.lines.er = bt.DivByZero(net, path, zero=0.0)


@hookimpl
def register_indicators(register: Register) -> None:
    register(EfficiencyRatio, name="efficiency_ratio")
