"""The built-in risk rules. Each is a dataclass: its fields are the params users set."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import backtrader as bt

from stratforge.risk.guard import Account, OrderRequest, RiskRule, Verdict


def _allowed_towards(order: OrderRequest, magnitude: float) -> float:
    """The signed order size that leaves the position at *magnitude* on the order's side."""
    target = math.copysign(max(magnitude, 0.0), order.after)
    return target - order.position


@dataclass
class MaxPosition(RiskRule):
    """Cap the position per instrument; larger orders are trimmed to the cap.

    Params:
        max_size: largest absolute position, in units (contracts for futures)
        limits: per-feed caps by feed name (e.g. {"ES": 2, "GC": 1}), overriding max_size
    """

    max_size: float = 1.0
    limits: dict[str, float] = field(default_factory=dict)

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> None:
        caps = [params.get("max_size", 1.0), *dict(params.get("limits") or {}).values()]
        if any(float(c) <= 0 for c in caps):
            raise ValueError(f"position caps must be > 0, got {caps}")

    def check_order(self, order: OrderRequest, account: Account) -> Verdict | None:
        cap = float(self.limits.get(order.data._name, self.max_size))
        if order.reduces or abs(order.after) <= cap + 1e-12:
            return None
        return Verdict(
            _allowed_towards(order, cap),
            f"position would be {order.after:g}, beyond the cap of {cap:g}",
        )


@dataclass
class MaxGrossExposure(RiskRule):
    """Cap the sum of absolute position values as a multiple of account value.

    Params:
        max_exposure: largest gross exposure as a fraction of account value (1.0 = 100%)
    """

    max_exposure: float = 1.0

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> None:
        if float(params.get("max_exposure", 1.0)) <= 0:
            raise ValueError("max_exposure must be > 0 (a fraction of account value)")

    def check_order(self, order: OrderRequest, account: Account) -> Verdict | None:
        if order.reduces:
            return None
        unit = abs(order.price * order.multiplier)
        if unit == 0 or not math.isfinite(unit):
            return None
        value = account.value
        room = self.max_exposure * value - account.gross_exposure(excluding=order.data)
        largest = room / unit
        if abs(order.after) <= largest + 1e-9:
            return None
        return Verdict(
            _allowed_towards(order, largest),
            f"gross exposure would exceed {self.max_exposure:.0%} of account value {value:,.0f}",
        )


@dataclass
class MaxDailyLoss(RiskRule):
    """Flatten everything and stop opening positions for the rest of the day after a loss.

    The loss is measured at each bar's close against the account value at the previous
    day's last bar; the closing orders fill at the next bar (with daily bars: the next day).

    Params:
        max_loss: largest loss in a day, as a fraction of the day's starting value
    """

    max_loss: float = 0.02
    _day: dt.date | None = field(default=None, init=False, repr=False)
    _day_start: float = field(default=0.0, init=False, repr=False)
    _last_value: float | None = field(default=None, init=False, repr=False)
    _halted_on: dt.date | None = field(default=None, init=False, repr=False)

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> None:
        if not 0 < float(params.get("max_loss", 0.02)) < 1:
            raise ValueError("max_loss must be between 0 and 1 (a fraction of account value)")

    def check_order(self, order: OrderRequest, account: Account) -> Verdict | None:
        if self._halted_on == order.when.date() and not order.reduces:
            return Verdict(0.0, f"trading halted for {self._halted_on} after the daily loss limit")
        return None

    def on_bar(self, account: Account) -> None:
        today, value = account.now.date(), account.value
        if today != self._day:
            self._day = today
            self._day_start = self._last_value if self._last_value is not None else value
        self._last_value = value
        if self._halted_on == today or self._day_start <= 0:
            return
        loss = 1.0 - value / self._day_start
        if loss >= self.max_loss:
            self._halted_on = today
            reason = f"lost {loss:.2%} today (limit {self.max_loss:.2%})"
            account.flatten(self.name, reason)
            account.record(account.strategy.datas[0], self.name, "halted", reason=reason)


@dataclass
class Bracket(RiskRule):
    """Protect every position with a stop-loss and a take-profit order (one cancels the other).

    Levels are fractions away from the position's average entry price; they are placed at
    the close of the bar a position opens or changes size, and follow futures rolls.

    Params:
        stop_loss: stop distance below a long's (above a short's) entry, as a fraction
        take_profit: target distance above a long's (below a short's) entry, as a fraction
    """

    stop_loss: float | None = 0.05
    take_profit: float | None = None
    _placed: dict[int, float] = field(default_factory=dict, init=False, repr=False)

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> None:
        levels = [params.get("stop_loss", 0.05), params.get("take_profit")]
        if all(level is None for level in levels):
            raise ValueError("set stop_loss, take_profit or both")
        if any(level is not None and not float(level) > 0 for level in levels):
            raise ValueError(f"stop_loss and take_profit must be > 0, got {levels}")
        if levels[0] is not None and float(levels[0]) >= 1:
            raise ValueError("stop_loss must be below 1 (a fraction of the entry price)")

    def on_bar(self, account: Account) -> None:
        strategy = account.strategy
        for data in strategy.datas:
            position = strategy.getposition(data)
            if position.size == self._placed.get(id(data), 0.0):
                continue
            account.cancel_orders(data=data, rule=self.name)
            self._placed[id(data)] = position.size
            if position.size:
                self._protect(account, data, position)

    def _protect(self, account: Account, data: Any, position: bt.Position) -> None:
        size, entry = position.size, position.price
        sign = 1.0 if size > 0 else -1.0
        exit_order = account.strategy.sell if size > 0 else account.strategy.buy
        placed = []
        stop = None
        if self.stop_loss is not None:
            level = entry * (1 - sign * self.stop_loss)
            stop = exit_order(
                data=data,
                size=abs(size),
                exectype=bt.Order.Stop,
                price=_level(data, level),
                risk_rule=self.name,
            )
            placed.append(f"stop {level:.6g}")
        if self.take_profit is not None:
            level = entry * (1 + sign * self.take_profit)
            exit_order(
                data=data,
                size=abs(size),
                exectype=bt.Order.Limit,
                price=_level(data, level),
                oco=stop,
                risk_rule=self.name,
            )
            placed.append(f"target {level:.6g}")
        reason = f"entry {entry:.6g}: " + ", ".join(placed)
        account.record(data, self.name, "bracket", allowed=size, reason=reason)


def _level(data: Any, raw_level: float) -> float:
    """A real-price level as the feed's (adjusted) price the strategy's orders use."""
    from_raw = getattr(data, "from_raw", None)
    return float(from_raw(raw_level)) if callable(from_raw) else raw_level


@dataclass
class MaxOrdersPerDay(RiskRule):
    """Reject orders beyond a daily count; orders that only reduce a position still pass.

    Params:
        max_orders: strategy orders allowed per calendar day (all feeds together)
    """

    max_orders: int = 10
    _counts: dict[dt.date, int] = field(default_factory=dict, init=False, repr=False)

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> None:
        if int(params.get("max_orders", 10)) < 1:
            raise ValueError("max_orders must be at least 1")

    def check_order(self, order: OrderRequest, account: Account) -> Verdict | None:
        day = order.when.date()
        count = self._counts.get(day, 0)
        if count >= self.max_orders and not order.reduces:
            return Verdict(0.0, f"{count} orders already placed on {day} (limit {self.max_orders})")
        self._counts = {day: count + 1}
        return None
