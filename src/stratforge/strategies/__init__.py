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
from stratforge.strategies.futures import (
    CarryStrategy,
    MultiMarketTrend,
    TrendFollowing,
    TurtleBreakout,
    VolTargetStrategy,
)
from stratforge.strategies.ml import MLClassifier

__all__ = [
    "BollingerReversion",
    "CarryStrategy",
    "DonchianBreakout",
    "MLClassifier",
    "MultiMarketTrend",
    "RsiReversion",
    "SignalStrategy",
    "SmaCross",
    "TrendFollowing",
    "TurtleBreakout",
    "VolTargetStrategy",
]


@hookimpl
def register_strategies(register: Register) -> None:
    register(SmaCross, name="sma_cross", aliases=["sma_crossover"])
    register(DonchianBreakout, name="donchian_breakout")
    register(RsiReversion, name="rsi_reversion")
    register(BollingerReversion, name="bollinger_reversion")
    register(TrendFollowing, name="trend_following", aliases=["tsmom"])
    register(MultiMarketTrend, name="multi_market_trend")
    register(TurtleBreakout, name="turtle", aliases=["turtle_breakout"])
    register(CarryStrategy, name="carry")
    register(MLClassifier, name="ml_classifier", aliases=["ml"])
