"""Sizers on hand-computed cases, including futures multipliers and whole contracts."""

from __future__ import annotations

import logging
import math
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd
import pytest

from stratforge import RunSpec, run_backtest
from stratforge.core.plugins import Plugins
from stratforge.core.settings import Settings
from tests.conftest import ohlc_frame

BAR = 30  # the bar on which the test strategy asks its sizer


class BuyOnce(bt.Strategy):
    """Buys once, at a given bar, whatever size the run's sizer gives.

    Params:
        bar: bar index at which to buy
    """

    params = (("bar", BAR),)

    def next(self) -> None:
        if len(self) - 1 == self.p.bar:
            self.buy()


@pytest.fixture(scope="module")
def plugins() -> Plugins:
    loaded = Plugins.load(Settings())
    loaded.registries.strategies.register(BuyOnce, name="buy_once", plugin="tests")
    return loaded


def wiggly(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(4)
    return ohlc_frame(list(100 + np.cumsum(rng.normal(0, 1.5, n))))


def bought(plugins: Plugins, sizer: dict[str, Any], frame: pd.DataFrame | None = None, **spec):
    payload = {"strategy": {"name": "buy_once"}, "sizer": sizer, **spec}
    result = run_backtest(RunSpec.model_validate(payload), plugins=plugins, frame=frame)
    return result, [o.size for o in result.orders if not o.roll]


def true_ranges(frame: pd.DataFrame) -> pd.Series:
    previous = frame["close"].shift()
    return pd.concat(
        [
            frame["high"] - frame["low"],
            (frame["high"] - previous).abs(),
            (frame["low"] - previous).abs(),
        ],
        axis=1,
    ).max(axis=1)


def test_fixed_size(plugins: Plugins) -> None:
    assert bought(plugins, {"name": "fixed", "params": {"stake": 3}}, wiggly())[1] == [3.0]


def test_percent_of_equity(plugins: Plugins) -> None:
    frame = wiggly()
    _, sizes = bought(plugins, {"name": "percent", "params": {"percent": 50}}, frame)
    assert sizes == [pytest.approx(50_000 / frame["close"].iloc[BAR])]
    _, whole = bought(plugins, {"name": "percent", "params": {"percent": 50, "whole": True}}, frame)
    assert whole == [math.floor(50_000 / frame["close"].iloc[BAR])]


def test_fixed_fractional_risk_uses_an_atr_stop(plugins: Plugins) -> None:
    frame = wiggly()
    params = {"risk": 0.02, "atr_period": 14, "atr_multiple": 3.0}
    _, sizes = bought(plugins, {"name": "fixed_fractional", "params": params}, frame)
    atr = true_ranges(frame).iloc[BAR - 13 : BAR + 1].mean()
    assert sizes == [pytest.approx(0.02 * 100_000 / (3.0 * atr))]


def test_volatility_target(plugins: Plugins) -> None:
    frame = wiggly()
    params = {"target": 0.15, "lookback": 20, "periods_per_year": 252}
    _, sizes = bought(plugins, {"name": "volatility_target", "params": params}, frame)
    sigma = frame["close"].diff().iloc[BAR - 19 : BAR + 1].std(ddof=1)
    assert sizes == [pytest.approx(0.15 * 100_000 / (sigma * math.sqrt(252)))]


def futures_spec(sizer: dict[str, Any]) -> dict[str, Any]:
    return {
        "data": {"source": "synthetic", "root": "ES", "args": {"bars": 120, "seed": 5}},
        "sizer": sizer,
        "cash": 1_000_000.0,
    }


def test_futures_margin_sizer_whole_contracts(plugins: Plugins) -> None:
    margin = plugins.registries.contracts.get("ES").initial_margin
    sizer = {"name": "futures_margin", "params": {"max_margin_to_equity": 0.3}}
    result, sizes = bought(plugins, **futures_spec(sizer))
    assert sizes == [math.floor(0.3 * 1_000_000 / margin)]
    assert result.orders[0].contract is not None


def test_futures_risk_sizer_respects_the_multiplier(plugins: Plugins) -> None:
    sizer = {"name": "futures_risk", "params": {"risk": 0.02, "atr_period": 10}}
    result, sizes = bought(plugins, **futures_spec(sizer))
    prices = result.prices[0]
    frame = pd.DataFrame({k: getattr(prices, k) for k in ("high", "low", "close")})
    atr = true_ranges(frame).iloc[BAR - 9 : BAR + 1].mean()
    multiplier = plugins.registries.contracts.get("ES").multiplier
    assert multiplier == 50
    assert sizes == [math.floor(0.02 * 1_000_000 / (2.0 * atr * multiplier))]


def test_futures_sizers_never_round_to_zero_silently(plugins: Plugins, caplog) -> None:
    sizer = {"name": "futures_risk", "params": {"risk": 0.00001}}
    with caplog.at_level(logging.WARNING, logger="stratforge.sizers"):
        result, sizes = bought(plugins, **futures_spec(sizer))
    assert sizes == []  # no order at all
    (event,) = result.risk_events
    assert (event.rule, event.action, event.allowed) == ("sizer:FuturesRisk", "skipped", 0.0)
    assert 0 < event.requested < 1 and "rounds down to 0" in event.reason
    assert "no order placed" in caplog.text


def test_margin_sizer_needs_a_margin(plugins: Plugins) -> None:
    from stratforge.core.errors import SpecError

    with pytest.raises(SpecError, match="no margin per contract"):
        bought(plugins, {"name": "futures_margin"}, wiggly())
