"""Worked example of a project strategy: a futures-aware trend follower.

An EMA crossover sets the direction; the size comes from volatility in money: a position
may lose ``risk`` of the account on a one-ATR move, so on a futures root it holds
``risk x equity / (ATR x multiplier)`` whole contracts. The contract multiplier and the
held contract come from the futures broker; the strategy logs every roll leg it is told of.

This repository is itself a stratforge project (``[tool.stratforge]`` in its
``pyproject.toml``), so this file is a plugin for any ``stratforge`` command run inside it.
See docs/projects.md for the walk-through.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import backtrader as bt

from stratforge.plugin import Register, hookimpl
from stratforge.risk.guard import multiplier
from stratforge.sizers.sizing import real_scale

log = logging.getLogger("stratforge.project.atr_trend")


class AtrTrend(bt.Strategy):
    """EMA-crossover trend follower whose position risks a share of equity per ATR: whole
    contracts on a futures root (sized with its multiplier), units otherwise.

    The size is set when the trend changes, not every bar, so a position is not traded up
    and down with each wiggle of the ATR (a trend too volatile for one contract is skipped,
    once, and recorded); rolls keep the size, as the broker rolls the position.

    Params:
        fast: bars in the fast exponential moving average
        slow: bars in the slow exponential moving average
        atr_period: bars in the average true range
        risk: fraction of equity a one-ATR move of the whole position may cost
        max_contracts: largest position in contracts or units (0: no cap)
        long_only: never sell short; a down trend means flat
    """

    params = (
        ("fast", 20),
        ("slow", 100),
        ("atr_period", 20),
        ("risk", 0.01),
        ("max_contracts", 0),
        ("long_only", False),
    )

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> None:
        """Refuse combinations before the run starts (the message names the values)."""
        fast, slow = int(params.get("fast", 20)), int(params.get("slow", 100))
        if not 0 < fast < slow:
            raise ValueError(f"need 0 < fast < slow, got fast={fast}, slow={slow}")
        if not 0 < float(params.get("risk", 0.01)) <= 0.2:
            raise ValueError("risk must be in (0, 0.2]: a fraction of equity per ATR")

    def __init__(self) -> None:
        self.fast_ema = bt.ind.EMA(self.data.close, period=self.p.fast)
        self.slow_ema = bt.ind.EMA(self.data.close, period=self.p.slow)
        self.atr = bt.ind.ATR(self.data, period=self.p.atr_period)
        self.direction: float | None = None  # of the trend the position was sized for
        self.roll_legs: list[dict[str, Any]] = []

    @property
    def is_futures(self) -> bool:
        """A futures root's feed: the broker holds a view of it in real contract prices."""
        return self.data in getattr(self.broker, "views", {})

    def next(self) -> None:
        direction = 1.0 if self.fast_ema[0] > self.slow_ema[0] else -1.0
        if direction < 0 and self.p.long_only:
            direction = 0.0
        if direction == self.direction:
            return  # same trend: keep the size chosen when it began
        self.direction = direction
        target = direction * self.units()
        if target != self.position.size:
            self.order_target_size(target=target)

    def units(self) -> float:
        """Contracts (whole, on a futures root) or units a one-ATR move of which costs
        ``risk`` of the account value, capped at ``max_contracts``."""
        atr_money = self.atr[0] * real_scale(self.data) * multiplier(self.broker, self.data)
        if not atr_money > 0:
            return 0.0
        units = self.p.risk * self.broker.getvalue() / atr_money
        if self.p.max_contracts:
            units = min(units, float(self.p.max_contracts))
        if not self.is_futures:
            return units
        if units < 1:  # recorded in RunResult.risk_events, so a silent strategy is explained
            reason = f"risk budget buys {units:.2f} contracts (< 1)"
            self.broker.record_skip(self.data, "atr_trend", units, reason)
        return float(math.floor(units))

    def notify_order(self, order: bt.Order) -> None:
        """Roll legs arrive here like any order (``info["roll"]``): the broker closed the old
        contract and opened the next at their own prices; log both legs."""
        if order.status != order.Completed or not order.info.get("roll"):
            return
        leg = {
            "date": bt.num2date(order.executed.dt).date().isoformat(),
            "contract": order.info.get("contract"),
            "size": order.executed.size,
            "price": order.executed.price,
        }
        self.roll_legs.append(leg)
        log.info(
            "roll leg %s: %+g %s at %.2f", leg["date"], leg["size"], leg["contract"], leg["price"]
        )

    def result_info(self) -> dict[str, Any]:
        """Kept in ``RunResult.strategy_info``: the roll legs this strategy was told of."""
        return {"roll_legs": self.roll_legs}


@hookimpl
def register_strategies(register: Register) -> None:
    register(AtrTrend, name="atr_trend")
