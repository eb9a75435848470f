"""Futures strategies and the roll-yield indicator, checked against independent numbers."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from stratforge import RunSpec, run_backtest
from stratforge.core.errors import SpecError
from stratforge.core.plugins import Plugins
from stratforge.futures.sources import synthetic


def futures(root: str, seed: int = 1, bars: int = 600, **args: Any) -> dict[str, Any]:
    return {"source": "synthetic", "root": root, "args": {"bars": bars, "seed": seed, **args}}


def run(plugins: Plugins, **spec: Any):
    return run_backtest(RunSpec.model_validate({"cash": 1_000_000.0, **spec}), plugins=plugins)


def test_roll_yield_matches_an_independent_computation(plugins: Plugins) -> None:
    spec = plugins.registries.contracts.get("CL")
    result = run(
        plugins,
        data=futures("CL", carry=-0.05),
        strategy={"name": "sma_cross"},
        indicators=[{"name": "roll_yield"}],
    )
    (record,) = [i for i in result.indicators if i.indicator == "RollYield"]
    got = np.array([np.nan if v is None else v for v in record.lines["roll_yield"]])

    chain = synthetic(bars=600, seed=1, carry=-0.05, contract=spec)
    closes = pd.DataFrame({c: f["close"] for c, f in chain.frames.items()}).sort_index(axis=1)
    index = pd.DatetimeIndex(result.prices[0].datetime)
    closes = closes.reindex(index)
    raw = np.asarray(result.prices[0].raw_close)
    expected = np.full(len(index), np.nan)
    for i, (when, price) in enumerate(zip(index, raw, strict=True)):
        row = closes.loc[when]
        held = next(c for c in closes.columns if row[c] == price)
        later = [c for c in closes.columns if c > held and np.isfinite(row[c])]
        if later:
            years = (spec.last_trade_date(later[0]) - spec.last_trade_date(held)).days / 365.25
            expected[i] = math.log(price / row[later[0]]) / years
    expected = pd.Series(expected).ffill().to_numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-12, equal_nan=True)
    assert np.nanmean(got) > 0  # negative carry in the generator = backwardation


def test_roll_yield_needs_a_futures_feed(plugins: Plugins) -> None:
    with pytest.raises(SpecError, match="roll_yield needs a futures feed"):
        run(plugins, strategy={"name": "sma_cross"}, indicators=[{"name": "roll_yield"}])


def test_trend_following_targets_volatility(plugins: Plugins) -> None:
    params = {"lookback": 100, "vol_lookback": 40, "periods_per_year": 252, "target_vol": 0.1}
    result = run(
        plugins,
        data={"source": "synthetic", "args": {"bars": 400}},
        strategy={"name": "trend_following", "params": params},
    )
    first = result.orders[0]
    index = result.equity.datetime
    bar = index.index(first.created_datetime)
    close = np.asarray(result.prices[0].close)
    assert bar == 100  # the first bar with both look-backs filled
    direction = np.sign(close[bar] - close[bar - 100])
    sigma = np.std(np.diff(close)[bar - 40 : bar], ddof=0)  # backtrader's StdDev: population
    expected = direction * 0.1 * result.equity.value[bar] / (sigma * math.sqrt(252))
    assert first.size == pytest.approx(expected, rel=1e-9)


def test_trend_following_futures_trade_whole_contracts(plugins: Plugins) -> None:
    result = run(
        plugins,
        data=futures("ES"),
        strategy={"name": "trend_following", "params": {"lookback": 120}},
    )
    sizes = [o.size for o in result.orders]
    assert sizes and all(s == int(s) for s in sizes)
    assert result.rolls, "a futures trend follower holds positions across rolls"


def test_multi_market_trend_trades_every_root(plugins: Plugins) -> None:
    data = [futures("ES"), futures("GC", 2), futures("ZB", 3)]
    result = run(
        plugins, data=data, strategy={"name": "multi_market_trend", "params": {"lookback": 120}}
    )
    assert {o.data for o in result.orders if not o.roll} == {"ES", "GC", "ZB"}


def test_carry_goes_with_the_sign_of_the_roll_yield(plugins: Plugins) -> None:
    data = [futures("CL", carry=-0.08), futures("GC", 2, carry=0.08)]
    result = run(plugins, data=data, strategy={"name": "carry", "params": {"smoothing": 5}})
    sides: dict[str, str] = {}
    for order in result.orders:
        if not order.roll:
            sides.setdefault(order.data, order.side)  # the opening order
    assert sides["CL"] == "buy"  # backwardation: long
    assert sides["GC"] == "sell"  # contango: short


def test_turtle_places_an_atr_stop(plugins: Plugins) -> None:
    result = run(
        plugins, data={"source": "synthetic", "args": {"bars": 500}}, strategy={"name": "turtle"}
    )
    (atr,) = [i for i in result.indicators if i.indicator == "ATR"]
    entry, stop = result.orders[0], next(o for o in result.orders if o.type == "Stop")
    assert stop.created_datetime == entry.created_datetime
    bar = result.equity.datetime.index(entry.created_datetime)
    close = result.prices[0].close[bar]
    side = 1 if entry.side == "buy" else -1
    assert stop.price == pytest.approx(close - side * 2.0 * atr.lines["atr"][bar])
    assert entry.size == pytest.approx(0.01 * result.equity.value[bar] / atr.lines["atr"][bar])


def test_turtle_records_a_futures_size_below_one_contract(plugins: Plugins) -> None:
    result = run_backtest(
        RunSpec.model_validate(
            {"data": futures("CL"), "strategy": {"name": "turtle", "params": {"risk": 0.0001}}}
        ),
        plugins=plugins,
    )
    assert not result.orders
    assert result.risk_events and result.risk_events[0].action == "skipped"
