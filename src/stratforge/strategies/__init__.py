"""Built-in strategies, registered through the same hook a third-party plugin uses."""

from __future__ import annotations

from stratforge.plugin.hookspecs import hookimpl
from stratforge.plugin.registry import Register
from stratforge.strategies.base import SignalStrategy
from stratforge.strategies.classic import (
    BollingerReversion,
    DonchianBreakout,
    RsiReversion,
    SmaCross,
)

__all__ = ["BollingerReversion", "DonchianBreakout", "RsiReversion", "SignalStrategy", "SmaCross"]


@hookimpl
def register_strategies(register: Register) -> None:
    register(SmaCross, name="sma_cross", aliases=["sma_crossover"])
    register(DonchianBreakout, name="donchian_breakout", aliases=["turtle"])
    register(RsiReversion, name="rsi_reversion")
    register(BollingerReversion, name="bollinger_reversion")
