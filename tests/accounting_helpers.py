"""An independent mark-to-market of futures fills, for checking the engine's accounting.

Nothing here uses stratforge's broker, feeds or results code: given the raw prices of each
contract, the FX rate of each day, the multiplier, the per-contract commission and a list
of fills, it books what a futures account books. Each day a contract has a bar, a held
position is settled from its last mark to that day's close; a fill settles the position
to the fill price first. Every amount is converted at the rate on or before the feed's
bar. Commission is charged per contract and side.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


@dataclass(frozen=True)
class Fill:
    """One execution: on *day*, *size* (signed) of *contract* at *price*."""

    day: pd.Timestamp
    contract: str
    size: float
    price: float


@dataclass
class Market:
    """What the account needs to know of one traded feed."""

    name: str
    closes: dict[str, pd.Series]
    """Raw close per contract code, indexed by the days that contract has a bar."""
    days: pd.DatetimeIndex
    """The days the feed has a bar (the only days its fills and settlements happen)."""
    multiplier: float
    commission: float
    fx: pd.Series | None = None
    """Account-currency price of one unit of the contract's currency, by day."""

    def rate(self, day: pd.Timestamp) -> float:
        if self.fx is None:
            return 1.0
        earlier = self.fx.loc[:day]
        if not len(earlier):
            raise ValueError(f"no FX rate on or before {day}")
        return float(earlier.iloc[-1])


@dataclass
class Trade:
    contract: str
    pnl: float = 0.0
    commission: float = 0.0

    @property
    def pnl_net(self) -> float:
        return self.pnl - self.commission


@dataclass
class Book:
    """The independent books of one feed: its equity change by day and its trades."""

    market: Market
    change: dict[pd.Timestamp, float] = field(default_factory=dict)
    closed: list[Trade] = field(default_factory=list)
    open: Trade | None = None
    position: float = 0.0
    contract: str | None = None
    mark: float = 0.0

    def run(self, fills: list[Fill]) -> Book:
        by_day: dict[pd.Timestamp, list[Fill]] = {}
        for fill in fills:
            if fill.day not in self.market.days:
                raise AssertionError(f"{self.market.name}: fill on {fill.day}, not a bar day")
            by_day.setdefault(fill.day, []).append(fill)
        total = 0.0
        for day in self.market.days:
            rate = self.market.rate(day)
            for fill in by_day.get(day, []):
                total += self._execute(fill, rate)
            total += self._settle_to_close(day, rate)
            self.change[day] = total
        return self

    def _execute(self, fill: Fill, rate: float) -> float:
        unit = self.market.multiplier * rate
        booked = 0.0
        if self.position:
            if fill.contract != self.contract:
                raise AssertionError(f"fill in {fill.contract} while {self.contract} is held")
            variation = self.position * (fill.price - self.mark) * unit
            assert self.open is not None
            self.open.pnl += variation
            booked += variation
        after = self.position + fill.size
        closing = self.position and (after == 0 or (after > 0) != (self.position > 0))
        closed_size = abs(self.position) if closing else 0.0
        commission_rate = self.market.commission * rate
        if closing:
            assert self.open is not None
            self.open.commission += closed_size * commission_rate
            self.closed.append(self.open)
            self.open = None
        rest = abs(fill.size) - closed_size  # opened, added or reduced without closing
        if self.open is None and after:
            self.open = Trade(fill.contract)
        if self.open is not None and rest > 0:
            self.open.commission += rest * commission_rate
        booked -= abs(fill.size) * commission_rate
        self.position, self.contract, self.mark = after, fill.contract, fill.price
        return booked

    def _settle_to_close(self, day: pd.Timestamp, rate: float) -> float:
        if not self.position or self.contract is None:
            return 0.0
        closes = self.market.closes[self.contract]
        if day not in closes.index:
            return 0.0
        close = float(closes.loc[day])
        variation = self.position * (close - self.mark) * self.market.multiplier * rate
        assert self.open is not None
        self.open.pnl += variation
        self.mark = close
        return variation


def equity_by_step(start: float, books: list[Book], steps: pd.DatetimeIndex) -> pd.Series:
    """The account value at each step of the run: start plus every feed's change so far
    (a feed with no bar on a step keeps its change of its last bar)."""
    value = pd.Series(start, index=steps, dtype=float)
    for book in books:
        change = pd.Series(book.change, dtype=float).sort_index()
        value += change.reindex(steps, method="ffill").fillna(0.0).to_numpy()
    return value
