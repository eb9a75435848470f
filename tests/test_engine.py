"""The engine end to end: golden values, bare-backtrader agreement, determinism, errors."""

from __future__ import annotations

import json

import backtrader as bt
import pandas as pd
import pytest

from stratforge import RunSpec, run_backtest
from stratforge.core.errors import SpecError
from stratforge.core.plugins import Plugins
from tests.conftest import ohlc_frame

# Closes chosen so SMA(2) and SMA(3) cross by hand-checkable margins. The fixture's open is
# the previous close, so a market order placed on bar i fills at close[i].
#   bar:    0  1  2  3  4  5  6  7  8  9 10 11 12 13 14 15 16
CLOSES = [12, 11, 10, 10, 11, 12, 13, 14, 13, 12, 11, 10, 9, 10, 11, 12, 13]
# SMA2 - SMA3 on bar 3 = 10 - 10.333 < 0 and on bar 4 = 10.5 - 10.333 > 0: cross up on bar 4,
#   buy 1 at bar 5's open = 11.
# Bar 8: 13.5 - 13.333 > 0, bar 9: 12.5 - 13 < 0: cross down, close long and sell 1 at 12.
# Bar 13: 9.5 - 9.667 < 0, bar 14: 10.5 - 10 > 0: cross up, cover and buy 1 at 11.
# Long 1 from 11 with last close 13: final value = 1000 + (12-11) + (12-11) + (13-11) = 1004.


def golden_spec(**overrides) -> RunSpec:
    spec = {
        "strategy": {"name": "sma_cross", "params": {"fast": 2, "slow": 3}},
        "cash": 1000.0,
        "data": {"symbol": "FIX"},
    }
    spec.update(overrides)
    return RunSpec.model_validate(spec)


def test_golden_sma_crossover(plugins: Plugins) -> None:
    result = run_backtest(golden_spec(), plugins=plugins, frame=ohlc_frame(CLOSES))
    trades = [t.model_dump() for t in result.trades]
    assert [
        (t["direction"], t["entry_datetime"], t["entry_price"], t["exit_datetime"], t["exit_price"])
        for t in trades
    ] == [
        ("long", "2024-01-06T00:00:00", 11.0, "2024-01-11T00:00:00", 12.0),
        ("short", "2024-01-11T00:00:00", 12.0, "2024-01-16T00:00:00", 11.0),
    ]
    assert [(t["size"], t["pnl"], t["pnl_net"], t["bars_held"]) for t in trades] == [
        (1.0, 1.0, 1.0, 5),
        (-1.0, 1.0, 1.0, 5),
    ]
    assert result.metrics.end_value == 1004.0
    assert result.equity.value[-1] == 1004.0 and result.equity.position[-1] == 1.0
    assert result.metrics.trades == 2 and result.metrics.win_rate == 1.0
    assert [o.status for o in result.orders] == ["Completed"] * 3
    # a reversal is one order for twice the stake: it closes one position and opens the next
    assert [(o.side, o.executed_size, o.executed_price) for o in result.orders] == [
        ("buy", 1.0, 11.0),
        ("sell", -2.0, 12.0),
        ("buy", 2.0, 11.0),
    ]


def test_golden_with_per_unit_commission(plugins: Plugins) -> None:
    spec = golden_spec(commission={"value": 0.5, "kind": "per_unit"})
    result = run_backtest(spec, plugins=plugins, frame=ohlc_frame(CLOSES))
    # five units filled (1 + 2 + 2) at 0.5 each
    assert result.metrics.end_value == pytest.approx(1001.5)
    assert [t.pnl_net for t in result.trades] == [0.0, 0.0]
    assert [t.commission for t in result.trades] == [1.0, 1.0]


class BareSmaCross(bt.Strategy):
    """The same rules written as a backtrader user would, independent of stratforge."""

    params = (("fast", 10), ("slow", 30))

    def __init__(self) -> None:
        self.cross = bt.ind.CrossOver(
            bt.ind.SMA(period=self.p.fast), bt.ind.SMA(period=self.p.slow)
        )
        self.closed: list[tuple[float, float]] = []

    def notify_trade(self, trade: bt.Trade) -> None:
        if trade.isclosed:
            self.closed.append((trade.pnl, trade.pnlcomm))

    def next(self) -> None:
        if self.cross[0] > 0:
            self.order_target_size(target=1)
        elif self.cross[0] < 0:
            self.order_target_size(target=-1)


def bare_run(frame: pd.DataFrame, cash: float, **params) -> tuple[float, list[tuple[float, float]]]:
    cerebro = bt.Cerebro()
    cerebro.adddata(bt.feeds.PandasData(dataname=frame))
    cerebro.addstrategy(BareSmaCross, **params)
    cerebro.broker.setcash(cash)
    strategy = cerebro.run()[0]
    return cerebro.broker.getvalue(), strategy.closed


def test_golden_matches_bare_backtrader(plugins: Plugins) -> None:
    frame = ohlc_frame(CLOSES)
    value, closed = bare_run(frame, 1000.0, fast=2, slow=3)
    result = run_backtest(golden_spec(), plugins=plugins, frame=frame)
    assert value == result.metrics.end_value == 1004.0
    assert closed == [(t.pnl, t.pnl_net) for t in result.trades]


def test_synthetic_run_matches_bare_backtrader(plugins: Plugins) -> None:
    spec = RunSpec.model_validate(
        {"strategy": {"name": "sma_cross"}, "data": {"args": {"bars": 1500, "seed": 7}}}
    )
    result = run_backtest(spec, plugins=plugins)
    frame = plugins.registries.data_sources.get("synthetic")(bars=1500, seed=7)
    value, closed = bare_run(frame, spec.cash)
    assert result.metrics.end_value == value
    assert [(t.pnl, t.pnl_net) for t in result.trades] == closed
    assert len(result.trades) > 5


def test_same_spec_twice_is_byte_identical(plugins: Plugins) -> None:
    spec = RunSpec.model_validate(
        {
            "strategy": {"name": "rsi_reversion"},
            "data": {"args": {"bars": 800, "regime_length": 50}},
            "analyzers": [{"name": "trade_stats"}, {"name": "drawdown"}],
            "seed": 11,
        }
    )
    first = run_backtest(spec, plugins=plugins)
    second = run_backtest(spec, plugins=plugins)
    assert first.deterministic_json() == second.deterministic_json()
    assert first.provenance.wall_time_seconds > 0


def test_result_is_complete_and_json_serialisable(plugins: Plugins) -> None:
    spec = RunSpec.model_validate(
        {
            "strategy": {"name": "sma_cross", "params": {"fast": "5", "slow": "20"}},
            "data": {"args": {"bars": 300}},
            "analyzers": [{"name": "sharpe"}, {"name": "trade_stats"}, {"name": "position_time"}],
            "indicators": [{"name": "zscore", "params": {"period": 10}}],
        }
    )
    result = run_backtest(spec, plugins=plugins)
    payload = json.loads(result.to_json())
    assert set(payload) == {
        "spec",
        "metrics",
        "equity",
        "trades",
        "orders",
        "rolls",
        "settlements",
        "analyzers",
        "indicators",
        "prices",
        "risk_events",
        "strategy_info",
        "provenance",
    }
    assert len(payload["equity"]["value"]) == 300 == len(payload["equity"]["datetime"])
    (prices,) = payload["prices"]  # the bars, so a report needs no re-run
    assert len(prices["close"]) == 300 and prices["datetime"] == payload["equity"]["datetime"]
    assert prices["raw_close"] is None
    assert set(payload["analyzers"]) == {"sharpe", "trade_stats", "position_time"}
    assert abs(sum(payload["analyzers"]["position_time"].values()) - 1.0) < 1e-9
    indicators = {i["name"]: i for i in payload["indicators"]}
    assert {"fast_sma", "slow_sma", "crossover"} <= set(indicators)
    assert indicators["fast_sma"]["lines"]["sma"][3] is None  # warm-up is null, not NaN
    assert indicators["fast_sma"]["lines"]["sma"][4] is not None
    assert indicators["crossover"]["subplot"] is True
    assert any(i["indicator"] == "ZScore" for i in payload["indicators"])
    provenance = payload["provenance"]
    assert provenance["plugins"]["example"] == "0.3.0"
    assert len(provenance["data_sha256"]) == 64
    assert payload["spec"]["strategy"]["params"] == {"fast": "5", "slow": "20"}


def test_third_party_strategy_runs(plugins: Plugins) -> None:
    spec = RunSpec.model_validate(
        {"strategy": {"name": "zscore_reversion", "params": {"entry": 1.5}}, "data": {}}
    )
    result = run_backtest(spec, plugins=plugins)
    assert result.metrics.trades > 0


def test_start_and_end_cut_the_data(plugins: Plugins) -> None:
    spec = RunSpec.model_validate(
        {
            "strategy": {"name": "sma_cross"},
            "data": {"args": {"bars": 600}, "start": "2016-01-01", "end": "2016-06-30"},
        }
    )
    result = run_backtest(spec, plugins=plugins)
    assert result.equity.datetime[0] >= "2016-01-01"
    assert result.equity.datetime[-1] <= "2016-06-30T23:59:59"


@pytest.mark.parametrize(
    ("spec", "field", "fragment"),
    [
        ({"strategy": {"name": "sma_corss"}}, "strategy.name", "did you mean 'sma_cross'"),
        (
            {"strategy": {"name": "sma_cross", "params": {"fsat": 3}}},
            "strategy.params.fsat",
            "did you mean 'fast'?",
        ),
        (
            {"strategy": {"name": "sma_cross", "params": {"fast": 50, "slow": 20}}},
            "strategy.params",
            "need 0 < fast < slow",
        ),
        (
            {"strategy": {"name": "sma_cross"}, "sizer": {"name": "fixd"}},
            "sizer.name",
            "did you mean 'fixed'?",
        ),
        (
            {"strategy": {"name": "sma_cross"}, "analyzers": [{"name": "sharp"}]},
            "analyzers[0].name",
            "'sharpe'",
        ),
        (
            {"strategy": {"name": "sma_cross"}, "data": {"source": "csvv"}},
            "data.source",
            "did you mean 'csv'?",
        ),
        (
            {"strategy": {"name": "sma_cross"}, "data": {"args": {"barz": 10}}},
            "data.args.barz",
            "did you mean 'bars'?",
        ),
        (
            {"strategy": {"name": "sma_cross"}, "slippage": {"percent": 0.1, "fixed": 1}},
            "slippage",
            "not both",
        ),
    ],
)
def test_bad_specs_name_the_field(plugins: Plugins, spec: dict, field: str, fragment: str) -> None:
    with pytest.raises(SpecError) as info:
        run_backtest(RunSpec.model_validate(spec), plugins=plugins)
    assert info.value.field == field
    assert fragment in str(info.value)


def test_configure_cerebro_hook_is_called(write_plugin) -> None:
    from stratforge.core.settings import Settings

    directory = write_plugin(
        "cheat",
        "from stratforge import hookimpl\n"
        "@hookimpl\n"
        "def configure_cerebro(cerebro, spec):\n"
        "    cerebro.broker.setcash(spec.cash * 5)\n",
    )
    plugins = Plugins.load(Settings(plugins_dirs=[directory]))
    result = run_backtest(golden_spec(), plugins=plugins, frame=ohlc_frame(CLOSES))
    assert result.metrics.start_value == 5000.0
    assert result.metrics.end_value == 5004.0
