"""Position sizers: fixed, percent of equity, ATR risk, volatility targeting, futures contracts.

All of them value positions at real prices times the contract multiplier (the held
contract's price for futures, not the adjusted continuous one). Futures sizes round down
to whole contracts; a size that rounds to zero is never silent: it is logged and recorded
as a ``skipped`` risk event, and no order is placed.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import backtrader as bt
import numpy as np

from stratforge.plugin.errors import SpecError
from stratforge.risk.guard import multiplier, reference_price, risk_event

log = logging.getLogger("stratforge.sizers")


class BaseSizer(bt.Sizer):
    """Shared valuation helpers and the skip record; subclasses implement ``units``."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def _getsizing(self, comminfo: bt.CommInfoBase, cash: float, data: Any, isbuy: bool) -> float:
        units = self.units(data)
        if not math.isfinite(units) or units <= 0:
            return self._skip(data, units, "the size could not be computed (no volatility yet?)")
        if self.whole(data):
            whole = float(math.floor(units + 1e-9))
            if whole == 0:
                return self._skip(data, units, f"{units:.3g} rounds down to 0 whole units")
            return whole
        return units

    def units(self, data: Any) -> float:
        raise NotImplementedError

    def whole(self, data: Any) -> bool:
        """Futures trade whole contracts; other data follow the ``whole`` param if any."""
        if data in getattr(self.broker, "views", {}):
            return True
        return bool(getattr(self.p, "whole", False))

    def value_per_unit(self, data: Any) -> float:
        """Account-currency value of one unit (contract) at the last real price."""
        return abs(reference_price(self.broker, data) * multiplier(self.broker, data))

    def equity(self) -> float:
        return float(self.broker.getvalue())

    def _skip(self, data: Any, computed: float, reason: str) -> float:
        rule = f"sizer:{type(self).__name__}"
        log.warning("%s on %s: %s; no order placed", rule, data._name, reason)
        requested = computed if math.isfinite(computed) else None
        self.events.append(risk_event(data, rule, "skipped", requested, 0.0, reason))
        return 0.0


def real_scale(data: Any) -> float:
    """Factor from the feed's (adjusted) price changes to real contract price changes."""
    raw = getattr(getattr(data, "lines", None), "raw_close", None)
    if raw is None or getattr(data, "multiplicative", False) is False:
        return 1.0
    return float(raw[0]) / float(data.close[0])


def average_true_range(data: Any, period: int) -> float:
    """Simple mean of the last *period* true ranges, in real price units (NaN if too short)."""
    available = min(period + 1, len(data))
    if available < 2:
        return math.nan
    high = np.asarray(data.high.get(size=available), dtype=np.float64)
    low = np.asarray(data.low.get(size=available), dtype=np.float64)
    close = np.asarray(data.close.get(size=available), dtype=np.float64)
    prev = close[:-1]
    true_range = np.maximum(high[1:] - low[1:], np.abs(high[1:] - prev))
    true_range = np.maximum(true_range, np.abs(low[1:] - prev))
    return float(true_range.mean()) * real_scale(data)


def price_change_volatility(data: Any, lookback: int) -> float:
    """Standard deviation of the last *lookback* bar-to-bar price changes, real price units.

    Changes rather than returns: back-adjusted futures prices keep changes exact, not levels.
    """
    available = min(lookback + 1, len(data))
    if available < 3:
        return math.nan
    close = np.asarray(data.close.get(size=available), dtype=np.float64)
    return float(np.std(np.diff(close), ddof=1)) * real_scale(data)


def bars_per_year(data: Any, lookback: int) -> float:
    """Observed bars per calendar year over the last *lookback* bars (252-ish for daily)."""
    available = min(lookback + 1, len(data))
    if available < 2:
        return math.nan
    times = np.asarray(data.datetime.get(size=available), dtype=np.float64)
    days = times[-1] - times[0]
    return (available - 1) / (days / 365.25) if days > 0 else math.nan


class FixedSize(BaseSizer):
    """Always the same number of units (contracts for futures).

    Params:
        stake: units per order
    """

    params = (("stake", 1.0),)

    def units(self, data: Any) -> float:
        return float(self.p.stake)


class PercentOfEquity(BaseSizer):
    """Units worth a percentage of account value at the last price (times the multiplier).

    Params:
        percent: position value as a percentage of account value (100 = fully invested)
        whole: round down to whole units (futures always trade whole contracts)
    """

    params = (("percent", 10.0), ("whole", False))

    def units(self, data: Any) -> float:
        return self.equity() * self.p.percent / 100.0 / self.value_per_unit(data)


class FixedFractionalRisk(BaseSizer):
    """Risk a fixed fraction of equity per trade, the stop being a multiple of ATR away.

    units = risk x equity / (atr_multiple x ATR x multiplier).

    Params:
        risk: fraction of account value lost if the stop is hit (0.01 = 1%)
        atr_period: bars in the average true range
        atr_multiple: stop distance in ATRs
        whole: round down to whole units (futures always trade whole contracts)
    """

    params = (("risk", 0.01), ("atr_period", 20), ("atr_multiple", 2.0), ("whole", False))

    def units(self, data: Any) -> float:
        stop = self.p.atr_multiple * average_true_range(data, self.p.atr_period)
        return self.p.risk * self.equity() / (stop * multiplier(self.broker, data))


class VolatilityTarget(BaseSizer):
    """Size so that the position's annualised volatility equals a target share of equity.

    units = target x equity / (sigma x sqrt(bars per year) x multiplier), where sigma is
    the standard deviation of bar-to-bar price changes over ``lookback`` bars.

    Params:
        target: annualised volatility of the position as a fraction of equity (0.1 = 10%)
        lookback: bars of price changes used to estimate volatility
        periods_per_year: bars per year for annualising; 0 infers it from the timestamps
        whole: round down to whole units (futures always trade whole contracts)
    """

    params = (("target", 0.10), ("lookback", 20), ("periods_per_year", 0.0), ("whole", False))

    def units(self, data: Any) -> float:
        periods = self.p.periods_per_year or bars_per_year(data, self.p.lookback)
        sigma = price_change_volatility(data, self.p.lookback) * math.sqrt(periods)
        return self.p.target * self.equity() / (sigma * multiplier(self.broker, data))


class FuturesRisk(BaseSizer):
    """Whole futures contracts risking a fraction of equity to an ATR stop, capped by margin.

    contracts = floor(risk x equity / (atr_multiple x ATR x multiplier)), and no more than
    ``max_margin_to_equity`` x equity / initial margin when that cap is set.

    Params:
        risk: fraction of account value lost if the stop is hit (0.01 = 1%)
        atr_period: bars in the average true range
        atr_multiple: stop distance in ATRs
        max_margin_to_equity: cap on initial margin as a fraction of equity; 0 for no cap
    """

    params = (
        ("risk", 0.01),
        ("atr_period", 20),
        ("atr_multiple", 2.0),
        ("max_margin_to_equity", 0.0),
    )

    def whole(self, data: Any) -> bool:
        return True

    def units(self, data: Any) -> float:
        stop = self.p.atr_multiple * average_true_range(data, self.p.atr_period)
        by_risk = self.p.risk * self.equity() / (stop * multiplier(self.broker, data))
        if self.p.max_margin_to_equity:
            return min(by_risk, _by_margin(self, data, self.p.max_margin_to_equity))
        return by_risk


class FuturesMargin(BaseSizer):
    """As many whole futures contracts as keep initial margin under a share of equity.

    Params:
        max_margin_to_equity: initial margin of the position as a fraction of equity
    """

    params = (("max_margin_to_equity", 0.2),)

    def whole(self, data: Any) -> bool:
        return True

    def units(self, data: Any) -> float:
        return _by_margin(self, data, self.p.max_margin_to_equity)


def _by_margin(sizer: BaseSizer, data: Any, fraction: float) -> float:
    view = getattr(sizer.broker, "views", {}).get(data, data)
    comminfo = sizer.broker.getcommissioninfo(view)
    margin = 0.0 if comminfo.stocklike else comminfo.get_margin(reference_price(sizer.broker, data))
    if not margin:
        raise SpecError(
            "sizer.name",
            f"{data._name} has no margin per contract: margin sizing needs a futures root "
            "(data.root) or commission.margin",
        )
    return fraction * sizer.equity() / margin
