"""Build: a Cerebro from a resolved run and its loaded markets (brokers, feeds, strategy,
sizer, analyzers, risk rules, the recorder, then the plugins' ``configure_cerebro``). The
third step of a run (resolve -> load -> build -> collect)."""

from __future__ import annotations

import backtrader as bt
import pandas as pd

from stratforge.core.components import Component
from stratforge.core.load import Market
from stratforge.core.plugins import Plugins
from stratforge.core.recorder import ProgressCallback, RunRecorder
from stratforge.core.resolve import ResolvedData, ResolvedRun
from stratforge.core.spec import RunSpec
from stratforge.data.feed import make_feed
from stratforge.futures.broker import FuturesBroker, futures_comminfo
from stratforge.futures.feed import RollingFeed
from stratforge.risk.guard import GuardedBroker, RiskGuard, RiskMonitor, RiskRule

_TIMEFRAMES = {
    "ticks": bt.TimeFrame.Ticks,
    "seconds": bt.TimeFrame.Seconds,
    "minutes": bt.TimeFrame.Minutes,
    "days": bt.TimeFrame.Days,
    "weeks": bt.TimeFrame.Weeks,
    "months": bt.TimeFrame.Months,
    "years": bt.TimeFrame.Years,
}


RECORDER = "_stratforge_recorder"


RISK_MONITOR = "_stratforge_risk"


def infer_timeframe(index: pd.DatetimeIndex) -> tuple[str, int]:
    """Timeframe and compression from the median bar spacing."""
    step = pd.Series(index).diff().median()
    seconds = step.total_seconds() if pd.notna(step) else 86400.0
    if seconds >= 28 * 86400:
        return "months", 1
    if seconds >= 7 * 86400:
        return "weeks", 1
    if seconds >= 86400:
        return "days", 1
    if seconds >= 60:
        return "minutes", max(1, round(seconds / 60))
    return "seconds", max(1, round(seconds))


def build_cerebro(
    resolved: ResolvedRun,
    markets: list[Market],
    plugins: Plugins,
    on_progress: ProgressCallback | None = None,
    *,
    release_bars: bool = False,
) -> bt.Cerebro:
    """A Cerebro with preload and runonce on, the recorder added, plugins configured;
    with *release_bars*, each market lets go of its bars once its feed has preloaded them
    (a one-off run: no later run reads these markets)."""
    spec = resolved.spec
    cerebro = bt.Cerebro(stdstats=False, preload=True, runonce=True, tradehistory=True)
    futures = any(m.series is not None for m in markets)
    cerebro.broker = FuturesBroker() if futures else GuardedBroker()
    _configure_broker(cerebro.broker, spec)
    if resolved.risk_rules:
        cerebro.broker.guard = RiskGuard([_risk_rule(c) for c in resolved.risk_rules])
    for data, market in zip(resolved.datas, markets, strict=True):
        cerebro.adddata(_feed(market, data, cerebro.broker, release_bars))
    cerebro.broker.watch(cerebro.datas)
    cerebro.addstrategy(resolved.strategy.obj, **resolved.strategy.params)
    if resolved.sizer:
        cerebro.addsizer(resolved.sizer.obj, **resolved.sizer.params)
    for indicator in resolved.indicators:
        cerebro.addindicator(indicator.obj, **indicator.params)
    for name, analyzer in analyzer_names(resolved.analyzers):
        cerebro.addanalyzer(analyzer.obj, _name=name, **analyzer.params)
    if on_progress is None:
        cerebro.addanalyzer(RunRecorder, _name=RECORDER)
    else:
        steps = len(union_clock(markets))
        cerebro.addanalyzer(RunRecorder, _name=RECORDER, on_progress=on_progress, total=steps)
    if resolved.risk_rules:
        cerebro.addanalyzer(RiskMonitor, _name=RISK_MONITOR)
    plugins.manager.hook.configure_cerebro(cerebro=cerebro, spec=spec)
    return cerebro


def _risk_rule(component: Component) -> RiskRule:
    """A fresh rule instance per run: rules keep state (daily counters, halts)."""
    rule: RiskRule = component.obj(**component.params)
    rule.name = component.name
    return rule


def _feed(
    market: Market, resolved: ResolvedData, broker: bt.BrokerBase, release_bars: bool = False
) -> bt.feed.DataBase:
    data = resolved.spec
    timeframe, compression = infer_timeframe(pd.DatetimeIndex(market.frame.index))
    options = {
        "name": market.name,
        "timeframe": _TIMEFRAMES[data.timeframe or timeframe],
        "compression": data.compression or compression,
        "on_preloaded": market.release_bars if release_bars else None,
    }
    if market.series is None:
        return make_feed(columns=market.columns(), **options)
    contract = resolved.contract
    assert contract is not None and isinstance(broker, FuturesBroker)
    feed = RollingFeed.from_series(market.series, contract, columns=market.columns(), **options)
    broker.attach(feed)
    broker.addcommissioninfo(
        futures_comminfo(
            contract,
            feed,
            commission=data.commission,
            margin=data.margin,
            foreign=market.fx is not None,
        ),
        name=market.name,
    )
    return feed


def analyzer_names(analyzers: list[Component]) -> list[tuple[str, Component]]:
    seen: dict[str, int] = {}
    named = []
    for analyzer in analyzers:
        seen[analyzer.name] = seen.get(analyzer.name, 0) + 1
        count = seen[analyzer.name]
        named.append((analyzer.name if count == 1 else f"{analyzer.name}_{count}", analyzer))
    return named


def _configure_broker(broker: bt.BrokerBase, spec: RunSpec) -> None:
    broker.setcash(spec.cash)
    commission = spec.commission
    broker.setcommission(
        commission=commission.value,
        commtype=bt.CommInfoBase.COMM_PERC
        if commission.kind == "percent"
        else bt.CommInfoBase.COMM_FIXED,
        percabs=True,
        mult=commission.multiplier,
        margin=commission.margin,
        stocklike=commission.margin is None,
    )
    if spec.slippage.percent:
        broker.set_slippage_perc(spec.slippage.percent)
    elif spec.slippage.fixed:
        broker.set_slippage_fixed(spec.slippage.fixed)


def union_clock(markets: list[Market]) -> pd.DatetimeIndex:
    """Every distinct bar time of the run: the steps a multi-feed run takes."""
    index = pd.DatetimeIndex(markets[0].frame.index)
    for market in markets[1:]:
        index = index.union(pd.DatetimeIndex(market.frame.index))
    return index
