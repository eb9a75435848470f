"""Managed-futures baselines: trend following, turtle breakouts and carry, volatility-sized.

Sizes come from risk, not from a sizer: each traded feed gets a position whose annualised
volatility (bar-to-bar price changes x multiplier) is a target share of account value.
Price changes, not returns, are used because back-adjusted futures keep changes exact.
"""

from __future__ import annotations

import math
from typing import Any

import backtrader as bt

from stratforge.indicators.carry import RollYield
from stratforge.risk.guard import multiplier, reference_price
from stratforge.sizers.sizing import bars_per_year, real_scale
from stratforge.strategies.base import has_new_bar


def is_futures(broker: bt.BrokerBase, data: Any) -> bool:
    return data in getattr(broker, "views", {})


class VolTargetStrategy(bt.Strategy):
    """Rebalances each traded feed to ``signal x volatility-targeted size`` every few bars.

    Subclasses implement ``signal(data)`` in [-1, 1] and may trade every feed
    (``trade_all``) or only the first.

    Params:
        target_vol: annualised volatility of each position as a fraction of equity
        vol_lookback: bars of price changes used to estimate volatility
        rebalance: bars between rebalances
        buffer: skip a rebalance that changes the position by less than this fraction
        periods_per_year: bars per year for annualising; 0 infers it from the timestamps
        long_only: never sell short; a negative signal means flat
    """

    params = (
        ("target_vol", 0.20),
        ("vol_lookback", 60),
        ("rebalance", 5),
        ("buffer", 0.10),
        ("periods_per_year", 0.0),
        ("long_only", False),
    )
    trade_all = False

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> None:
        if float(params.get("target_vol", 0.2)) <= 0:
            raise ValueError("target_vol must be > 0 (annualised, e.g. 0.2 for 20%)")
        for name in ("vol_lookback", "rebalance"):
            if int(params.get(name, 1)) < 1:
                raise ValueError(f"{name} must be at least 1 bar")

    def __init__(self) -> None:
        self.traded = list(self.datas) if self.trade_all else [self.datas[0]]
        self.volatility = {
            data: bt.ind.StdDev(data.close - data.close(-1), period=self.p.vol_lookback)
            for data in self.traded
        }
        for data, indicator in self.volatility.items():
            indicator.plotinfo.plot = data is self.traded[0]
        self._bars: dict[Any, int] = {data: 0 for data in self.traded}
        self._skipping: dict[Any, bool] = {}

    def signal(self, data: Any) -> float:
        raise NotImplementedError

    def next(self) -> None:
        # Each market counts its own bars and is rebalanced only on them: in a portfolio on
        # several calendars, ``next`` also runs at the other markets' bars.
        for data in self.traded:
            if not has_new_bar(self, data):
                continue
            self._bars[data] += 1
            if (self._bars[data] - 1) % self.p.rebalance == 0:
                self._rebalance(data, self.target_position(data))

    def target_position(self, data: Any) -> float:
        signal = max(-1.0, min(1.0, self.signal(data)))
        if self.p.long_only:
            signal = max(signal, 0.0)
        units = self.risk_units(data)
        if not math.isfinite(units):
            return self.getposition(data).size
        target = signal * units
        if not is_futures(self.broker, data):
            return target
        skipped = bool(target) and round(target) == 0
        if skipped and not self._skipping.get(data):  # once per stretch, not every rebalance
            reason = f"volatility target buys {abs(target):.2f} contracts (rounds to 0)"
            self.broker.record_skip(data, type(self).__name__, target, reason)
        self._skipping[data] = skipped
        return float(round(target))

    def risk_units(self, data: Any) -> float:
        """Units whose annualised volatility is this feed's share of ``target_vol``."""
        periods = self.p.periods_per_year or bars_per_year(data, self.p.vol_lookback)
        sigma = float(self.volatility[data][0]) * real_scale(data) * math.sqrt(periods)
        unit_risk = sigma * multiplier(self.broker, data)
        if not unit_risk > 0:
            return math.nan
        weight = 1.0 / math.sqrt(len(self.traded))  # equal risk, markets assumed uncorrelated
        return self.p.target_vol * weight * self.broker.getvalue() / unit_risk

    def _rebalance(self, data: Any, target: float) -> None:
        current = self.getposition(data).size
        change = target - current
        if abs(change) < 1e-12:
            return
        if target and current and abs(change) < self.p.buffer * abs(current):
            return
        self.order_target_size(data=data, target=target)


class TrendFollowing(VolTargetStrategy):
    """Time-series momentum, the classic managed-futures baseline: long what rose over the
    look-back, short what fell, each position sized to a volatility target.

    Params:
        lookback: bars over which the price change sets the direction (252 = a year daily)
        target_vol: annualised volatility of each position as a fraction of equity
        vol_lookback: bars of price changes used to estimate volatility
        rebalance: bars between rebalances
        buffer: skip a rebalance that changes the position by less than this fraction
        periods_per_year: bars per year for annualising; 0 infers it from the timestamps
        long_only: never sell short; a negative signal means flat
    """

    params = (("lookback", 252),)

    def __init__(self) -> None:
        super().__init__()
        self.momentum = {
            data: bt.ind.Momentum(data.close, period=self.p.lookback) for data in self.traded
        }
        for data, indicator in self.momentum.items():
            indicator.plotinfo.plot = data is self.traded[0]

    def signal(self, data: Any) -> float:
        change = float(self.momentum[data][0])
        return 1.0 if change > 0 else -1.0 if change < 0 else 0.0


class MultiMarketTrend(TrendFollowing):
    """Time-series momentum across every feed of the run (e.g. ES, CL, GC, ZB) at once,
    each market given an equal share of the volatility target (target / sqrt(markets)).

    Params:
        lookback: bars over which the price change sets the direction (252 = a year daily)
        target_vol: annualised volatility of the portfolio if markets were uncorrelated
        vol_lookback: bars of price changes used to estimate volatility
        rebalance: bars between rebalances
        buffer: skip a rebalance that changes the position by less than this fraction
        periods_per_year: bars per year for annualising; 0 infers it from the timestamps
        long_only: never sell short; a negative signal means flat
    """

    trade_all = True


class CarryStrategy(VolTargetStrategy):
    """Futures carry: long in backwardation, short in contango, on every feed of the run.

    The signal is the smoothed annualised roll yield (see the ``roll_yield`` indicator);
    positions are taken only beyond ``threshold`` and sized to a volatility target.

    Params:
        smoothing: bars in the moving average of the roll yield
        threshold: smallest absolute annualised roll yield that takes a position
        target_vol: annualised volatility of each position as a fraction of equity
        vol_lookback: bars of price changes used to estimate volatility
        rebalance: bars between rebalances
        buffer: skip a rebalance that changes the position by less than this fraction
        periods_per_year: bars per year for annualising; 0 infers it from the timestamps
        long_only: never sell short; contango means flat
    """

    params = (("smoothing", 20), ("threshold", 0.0), ("rebalance", 20))
    trade_all = True

    def __init__(self) -> None:
        super().__init__()
        self.carry = {data: RollYield(data, smoothing=self.p.smoothing) for data in self.traded}

    def signal(self, data: Any) -> float:
        value = float(self.carry[data][0])
        if not math.isfinite(value) or abs(value) <= self.p.threshold:
            return 0.0
        return 1.0 if value > 0 else -1.0


class TurtleBreakout(bt.Strategy):
    """Turtle-style breakout: enter on a new N-bar extreme, exit on a shorter opposite one
    or at a protective stop a multiple of ATR from the entry.

    Each entry risks ``risk`` of equity per ATR of adverse move (the turtles' "unit");
    with ``risk`` 0 the run's sizer decides. Futures sizes round down to whole contracts.

    Params:
        entry: breakout channel: enter long above the highest high of this many bars
        exit: exit channel: leave a long below the lowest low of this many bars
        atr_period: bars in the average true range (the turtles' N)
        stop_atr: protective stop distance from the entry price, in ATRs
        risk: fraction of equity per ATR of adverse move; 0 uses the run's sizer
        long_only: never sell short
    """

    params = (
        ("entry", 20),
        ("exit", 10),
        ("atr_period", 20),
        ("stop_atr", 2.0),
        ("risk", 0.01),
        ("long_only", False),
    )

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> None:
        entry, exit_ = int(params.get("entry", 20)), int(params.get("exit", 10))
        if not 0 < exit_ <= entry:
            raise ValueError(f"need 0 < exit <= entry, got entry={entry}, exit={exit_}")

    def __init__(self) -> None:
        self.entry_high = bt.ind.Highest(self.data.high(-1), period=self.p.entry)
        self.entry_low = bt.ind.Lowest(self.data.low(-1), period=self.p.entry)
        self.exit_high = bt.ind.Highest(self.data.high(-1), period=self.p.exit)
        self.exit_low = bt.ind.Lowest(self.data.low(-1), period=self.p.exit)
        self.atr = bt.ind.ATR(self.data, period=self.p.atr_period)
        self.stop_order: bt.Order | None = None

    def next(self) -> None:
        if not has_new_bar(self):
            return  # the feed's bar is unchanged: its breakout was acted on already
        close, size = self.data.close[0], self.position.size
        if (size > 0 and close < self.exit_low[0]) or (size < 0 and close > self.exit_high[0]):
            self._exit()
        elif size <= 0 and close > self.entry_high[0]:
            self._enter(1.0)
        elif size >= 0 and close < self.entry_low[0] and not self.p.long_only:
            self._enter(-1.0)

    def _enter(self, side: float) -> None:
        self._exit()
        units = self._units()
        if units <= 0:
            return
        stop = self.data.close[0] - side * self.p.stop_atr * self.atr[0]
        if side > 0:
            self.buy(size=units)
            self.stop_order = self.sell(size=units, exectype=bt.Order.Stop, price=stop)
        else:
            self.sell(size=units)
            self.stop_order = self.buy(size=units, exectype=bt.Order.Stop, price=stop)

    def _exit(self) -> None:
        if self.stop_order is not None and self.stop_order.alive():
            self.cancel(self.stop_order)
        self.stop_order = None
        if self.position.size:
            self.close()

    def _units(self) -> float:
        if not self.p.risk:
            return float(self.getsizing(isbuy=True))
        unit_risk = self.atr[0] * real_scale(self.data) * multiplier(self.broker, self.data)
        if not unit_risk > 0 or reference_price(self.broker, self.data) <= 0:
            return 0.0
        units = self.p.risk * self.broker.getvalue() / unit_risk
        if not is_futures(self.broker, self.data):
            return units
        if units < 1:
            self.broker.record_skip(
                self.data, "turtle", units, f"risk budget buys {units:.2f} contracts (< 1)"
            )
        return float(math.floor(units))
