"""Built-in indicators: backtrader's staples plus stratforge's own, registered by name."""

from __future__ import annotations

import backtrader as bt

from stratforge.indicators.channels import DonchianChannel
from stratforge.plugin.hookspecs import hookimpl
from stratforge.plugin.registry import Register

__all__ = ["DonchianChannel"]

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
