"""Built-in indicators: backtrader's staples plus stratforge's own, registered by name."""

from __future__ import annotations

import backtrader as bt

from stratforge.indicators.adaptive import KAMA, AdaptiveSuperTrend
from stratforge.indicators.bands import BollingerSmoother, KeltnerChannel
from stratforge.indicators.carry import RollYield
from stratforge.indicators.channels import DonchianChannel
from stratforge.indicators.ehlers import GaussianFilter
from stratforge.plugin.hookspecs import hookimpl
from stratforge.plugin.registry import Register

__all__ = [
    "KAMA",
    "AdaptiveSuperTrend",
    "BollingerSmoother",
    "DonchianChannel",
    "GaussianFilter",
    "KeltnerChannel",
    "RollYield",
]

_BACKTRADER_STAPLES: dict[str, type[bt.Indicator]] = {
    "sma": bt.ind.SMA,
    "ema": bt.ind.EMA,
    "wma": bt.ind.WMA,
    "rsi": bt.ind.RSI,
    "macd": bt.ind.MACD,
    "atr": bt.ind.ATR,
    "bollinger_bands": bt.ind.BollingerBands,
    "stochastic": bt.ind.Stochastic,
    "crossover": bt.ind.CrossOver,
    "highest": bt.ind.Highest,
    "lowest": bt.ind.Lowest,
}


@hookimpl
def register_indicators(register: Register) -> None:
    for name, indicator in _BACKTRADER_STAPLES.items():
        register(indicator, name=name)
    register(DonchianChannel, name="donchian_channel", aliases=["donchian"])
    register(GaussianFilter, name="gaussian_filter")
    register(AdaptiveSuperTrend, name="adaptive_supertrend", aliases=["supertrend"])
    register(BollingerSmoother, name="bollinger_smoother")
    register(KeltnerChannel, name="keltner_channel", aliases=["keltner"])
    register(KAMA, name="kama")
    register(RollYield, name="roll_yield", aliases=["carry"])
