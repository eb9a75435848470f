"""Built-in sizers, registered by name exactly like a third-party plugin's."""

from __future__ import annotations

import backtrader as bt

from stratforge.plugin.hookspecs import hookimpl
from stratforge.plugin.registry import Register
from stratforge.sizers.sizing import (
    BaseSizer,
    FixedFractionalRisk,
    FixedSize,
    FuturesMargin,
    FuturesRisk,
    PercentOfEquity,
    VolatilityTarget,
)

__all__ = [
    "BaseSizer",
    "FixedFractionalRisk",
    "FixedSize",
    "FuturesMargin",
    "FuturesRisk",
    "PercentOfEquity",
    "VolatilityTarget",
]


@hookimpl
def register_sizers(register: Register) -> None:
    register(FixedSize, name="fixed")
    register(PercentOfEquity, name="percent", aliases=["percent_of_equity"])
    register(FixedFractionalRisk, name="fixed_fractional", aliases=["atr_risk"])
    register(VolatilityTarget, name="volatility_target", aliases=["vol_target"])
    register(FuturesRisk, name="futures_risk")
    register(FuturesMargin, name="futures_margin")
    register(bt.sizers.AllInSizer, name="all_in")
