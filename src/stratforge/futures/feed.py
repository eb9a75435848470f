"""The roll-aware feed: strategies see adjusted prices, the broker trades raw contracts.

``RollingFeed`` carries the adjusted continuous series in the standard OHLC lines (what
indicators and signals use) plus the raw prices of the contract held on each bar.
``ExecutionView`` presents the same feed to the broker with the raw prices in place of the
OHLC lines, so fills, notional, margin and PnL use real contract prices.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stratforge.data.feed import ArrayFeed, feed_columns
from stratforge.futures.continuous import ContinuousSeries
from stratforge.futures.contracts import ContractSpec

MULTIPLICATIVE = ("ratio",)


class RollingFeed(ArrayFeed):
    """An adjusted continuous series with the held contract's raw prices per bar.

    Lines beyond OHLCV: ``raw_open``/``raw_high``/``raw_low``/``raw_close`` (unadjusted
    prices of the contract held), ``roll_exit`` (on a roll bar, the old contract's price for
    closing a position; NaN otherwise), ``contract_no`` (index into ``contracts``), ``fx``
    (account-currency value of one unit of the contract's currency), and ``next_close`` /
    ``carry_years`` (the next contract's close and years between the expiries: carry).
    """

    lines = (
        "raw_open",
        "raw_high",
        "raw_low",
        "raw_close",
        "roll_exit",
        "contract_no",
        "fx",
        "next_close",
        "carry_years",
    )
    params = (("series", None), ("spec", None), ("fx_rates", None))

    def __init__(self) -> None:
        super().__init__()
        series: ContinuousSeries = self.p.series
        self.series = series
        self.spec: ContractSpec = self.p.spec
        self.contract_codes = [c.code for c in series.contracts]
        self.multiplicative = series.adjustment in MULTIPLICATIVE

    @staticmethod
    def columns_for(
        series: ContinuousSeries, fx_rates: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        """The arrays a RollingFeed loads, computed once per series."""
        raw = series.raw
        fx = np.ones(len(raw)) if fx_rates is None else np.asarray(fx_rates, dtype=np.float64)
        extra = {
            "raw_open": raw["open"].to_numpy(),
            "raw_high": raw["high"].to_numpy(),
            "raw_low": raw["low"].to_numpy(),
            "raw_close": raw["close"].to_numpy(),
            "roll_exit": raw["roll_exit"].to_numpy(),
            "contract_no": series.contract_index.astype(np.float64),
            "fx": fx,
            "next_close": raw["next_close"].to_numpy(),
            "carry_years": raw["carry_years"].to_numpy(),
        }
        return feed_columns(series.frame, extra)

    @classmethod
    def from_series(
        cls,
        series: ContinuousSeries,
        spec: ContractSpec,
        *,
        fx_rates: np.ndarray | None = None,
        columns: dict[str, np.ndarray] | None = None,
        **kwargs: Any,
    ) -> RollingFeed:
        ready = columns if columns is not None else cls.columns_for(series, fx_rates)
        return cls(columns=ready, series=series, spec=spec, **kwargs)

    def contract_code(self, ago: int = 0) -> str:
        return self.contract_codes[int(self.lines.contract_no[ago])]

    def to_raw(self, price: float | None, ago: int = 0) -> float | None:
        """An adjusted price level expressed in the held contract's raw prices."""
        if price is None:
            return None
        adjusted, raw = self.lines.close[ago], self.lines.raw_close[ago]
        if self.multiplicative:
            return price * raw / adjusted
        return price - (adjusted - raw)

    def from_raw(self, price: float, ago: int = 0) -> float:
        adjusted, raw = self.lines.close[ago], self.lines.raw_close[ago]
        if self.multiplicative:
            return price * adjusted / raw
        return price + (adjusted - raw)

    def is_roll_bar(self) -> bool:
        return bool(np.isfinite(self.lines.roll_exit[0]))

    def held_expires_now(self) -> bool:
        """True on the feed's final bar when the contract held has reached its last trade
        date: nothing follows it, so a position in it must be settled now."""
        if len(self) < self.buflen() or not self.series.last_trade_dates:
            return False
        expiry = self.series.last_trade_dates[int(self.lines.contract_no[0])]
        return self.datetime.date(0) >= expiry


class ExecutionView:
    """The feed as the broker sees it: same identity and clock, raw contract prices.

    backtrader reads ``data.open[0]`` etc. for fills and valuation, and ``tick_*`` first when
    present; those are pinned to ``None`` so the raw lines are always used.
    """

    tick_open = tick_high = tick_low = tick_close = tick_volume = tick_openinterest = None

    def __init__(self, feed: RollingFeed) -> None:
        self.feed = feed
        self.open = feed.lines.raw_open
        self.high = feed.lines.raw_high
        self.low = feed.lines.raw_low
        self.close = feed.lines.raw_close

    def __getattr__(self, name: str) -> Any:
        return getattr(self.feed, name)

    def __len__(self) -> int:
        return len(self.feed)

    def __repr__(self) -> str:
        return f"ExecutionView({self.feed._name})"
