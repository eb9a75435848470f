"""Built-in analyzers: backtrader's standard set under stable stratforge names, plus the
risk and performance analyzers of ``stratforge.analyzers.risk`` (see docs/analyzers.md)."""

from __future__ import annotations

import backtrader as bt

from stratforge.analyzers.risk import RISK_ANALYZERS
from stratforge.plugin.hookspecs import hookimpl
from stratforge.plugin.registry import Register

_BACKTRADER_ANALYZERS: dict[str, type[bt.Analyzer]] = {
    "sharpe": bt.analyzers.SharpeRatio,
    "drawdown": bt.analyzers.DrawDown,
    "trade_stats": bt.analyzers.TradeAnalyzer,
    "returns": bt.analyzers.Returns,
    "sqn": bt.analyzers.SQN,
    "time_return": bt.analyzers.TimeReturn,
    "vwr": bt.analyzers.VWR,
}


class AnnualReturn(bt.analyzers.TimeReturn):
    """Return of each calendar year (backtrader's own AnnualReturn needs the Broker observer,
    which stratforge runs leave out for speed).

    Params:
        fund: use the fund value (see backtrader's TimeReturn); default: automatic
    """

    params = (("timeframe", bt.TimeFrame.Years),)


@hookimpl
def register_analyzers(register: Register) -> None:
    for name, analyzer in _BACKTRADER_ANALYZERS.items():
        register(analyzer, name=name)
    register(AnnualReturn, name="annual_return")
    for name, (analyzer, aliases) in RISK_ANALYZERS.items():
        register(analyzer, name=name, aliases=aliases)
