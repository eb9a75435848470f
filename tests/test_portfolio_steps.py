"""A portfolio steps through the union of its feeds' bars, so a strategy's ``next`` also runs
at the other feeds' bars. A feed whose bar did not change must not be traded on again: its
signal is the one already acted on. Found by a new user's review: a daily feed beside a
four-bars-a-day feed placed each crossover's order four or five times (end value $1,452 of
$1,000,000)."""

from __future__ import annotations

import collections

import numpy as np
import pandas as pd
import pytest

from stratforge import RunSpec, run_backtest
from stratforge.core.results import RunResult


def bars(index: pd.DatetimeIndex, seed: int, start: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = start * np.exp(np.cumsum(rng.normal(0.0, 0.01, len(index))))
    return pd.DataFrame(
        {"Open": close, "High": close * 1.002, "Low": close * 0.998, "Close": close},
        index=index,
    )


DAILY = bars(pd.bdate_range("2020-01-01", periods=400) + pd.Timedelta(hours=5), 1, 100.0)
DAYS = pd.bdate_range("2020-01-01", periods=400)
HOURS = [pd.Timedelta(hours=h) for h in (8, 11, 14, 17)]
FOUR_A_DAY = bars(pd.DatetimeIndex([day + hour for day in DAYS for hour in HOURS]), 2, 50.0)


def run(strategy: dict[str, object], *feeds: str) -> RunResult:
    frames = {"daily": DAILY, "intraday": FOUR_A_DAY}
    data = [{"source": "dataframe", "args": {"name": name}, "symbol": name} for name in feeds]
    spec = RunSpec.model_validate(
        {
            "data": data if len(data) > 1 else data[0],
            "strategy": strategy,
            "sizer": {"name": "fixed", "params": {"stake": 10}},
            "cash": 100_000,
        }
    )
    return run_backtest(spec, frames={name: frames[name] for name in feeds})


def orders_of(result: RunResult, data: str) -> list[tuple[str, str, float]]:
    return [(o.created_datetime, o.side, o.size) for o in result.orders if o.data == data]


@pytest.mark.parametrize(
    "strategy",
    [
        {"name": "sma_cross", "params": {"fast": 5, "slow": 20}},
        {"name": "donchian_breakout"},
        {"name": "rsi_reversion"},
        {"name": "bollinger_reversion"},
    ],
)
def test_a_single_feed_strategy_trades_its_feed_as_it_would_alone(
    strategy: dict[str, object],
) -> None:
    alone = run(strategy, "daily")
    beside = run(strategy, "daily", "intraday")
    assert orders_of(alone, "daily"), "the strategy should trade at all"
    assert orders_of(beside, "daily") == orders_of(alone, "daily")
    assert beside.trades[0].pnl_net == pytest.approx(alone.trades[0].pnl_net)


def test_each_market_of_a_vol_target_portfolio_is_rebalanced_on_its_own_bars() -> None:
    result = run({"name": "multi_market_trend", "params": {"lookback": 40}}, "daily", "intraday")
    for data in ("daily", "intraday"):
        created = collections.Counter(o.created_datetime for o in result.orders if o.data == data)
        assert created, f"{data} should be traded"
        assert max(created.values()) == 1, f"{data}: several orders at one bar"
    daily_times = {t.isoformat() for t in DAILY.index}
    assert {o.created_datetime for o in result.orders if o.data == "daily"} <= daily_times
