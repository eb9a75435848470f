"""Each built-in risk rule on a hand-made scenario that triggers it, through the real engine."""

from __future__ import annotations

from typing import Any

import backtrader as bt
import pytest

from stratforge import RunSpec, run_backtest
from stratforge.core.errors import SpecError
from stratforge.core.plugins import Plugins
from stratforge.core.settings import Settings
from tests.conftest import ohlc_frame


class Scripted(bt.Strategy):
    """Submits market orders from a script: ``[[bar, size], ...]`` (negative sells).

    Params:
        script: orders to submit, as [bar index, signed size] pairs
    """

    params = (("script", ()),)

    def next(self) -> None:
        for bar, size in self.p.script:
            if bar == len(self) - 1:
                (self.buy if size > 0 else self.sell)(size=abs(size))


@pytest.fixture(scope="module")
def plugins() -> Plugins:
    loaded = Plugins.load(Settings())
    loaded.registries.strategies.register(Scripted, name="scripted", plugin="tests")
    return loaded


def run(plugins: Plugins, frame: Any, script: list[list[float]], risk: list[dict[str, Any]]):
    spec = RunSpec.model_validate(
        {"strategy": {"name": "scripted", "params": {"script": script}}, "risk": risk}
    )
    return run_backtest(spec, plugins=plugins, frame=frame)


def events(result: Any) -> list[tuple[str, str, float | None, float | None]]:
    return [(e.rule, e.action, e.requested, e.allowed) for e in result.risk_events]


def test_max_position_trims_then_rejects_but_lets_exits_through(plugins: Plugins) -> None:
    frame = ohlc_frame([100.0] * 10)
    script = [[1, 5], [3, 2], [5, -2]]
    result = run(plugins, frame, script, [{"name": "max_position", "params": {"max_size": 3}}])
    assert events(result) == [
        ("max_position", "trimmed", 5.0, 3.0),
        ("max_position", "rejected", 2.0, 0.0),
    ]
    statuses = [(o.side, o.size, o.status, o.risk_rule) for o in result.orders]
    assert statuses == [
        ("buy", 3.0, "Completed", "max_position"),
        ("buy", 2.0, "Rejected", "max_position"),
        ("sell", -2.0, "Completed", None),
    ]
    assert result.equity.position[-1] == 1.0


def test_max_position_per_feed_limits(plugins: Plugins) -> None:
    frame = ohlc_frame([100.0] * 6)
    rule = {"name": "max_position", "params": {"max_size": 10, "limits": {"synthetic": 2}}}
    result = run(plugins, frame, [[1, 5]], [rule])
    assert events(result) == [("max_position", "trimmed", 5.0, 2.0)]


def test_max_gross_exposure_trims_to_a_share_of_equity(plugins: Plugins) -> None:
    frame = ohlc_frame([100.0, 100.0, 125.0, 125.0, 125.0])
    rule = {"name": "max_gross_exposure", "params": {"max_exposure": 0.5}}
    result = run(plugins, frame, [[2, 1000]], [rule])
    # at bar 2: no position, value 100,000, last price 125 -> at most 50,000 / 125 = 400 units
    assert events(result) == [("max_gross_exposure", "trimmed", 1000.0, pytest.approx(400.0))]
    assert result.orders[0].executed_size == pytest.approx(400.0)


def test_max_daily_loss_flattens_and_halts_for_the_rest_of_the_day(plugins: Plugins) -> None:
    closes = [100.0] * 3 + [90.0] * 27  # hourly bars: day 1 is bars 0-23, day 2 from bar 24
    frame = ohlc_frame(closes, start="2024-01-01", freq="h")
    script = [[0, 1000], [6, 100], [25, 100]]
    rule = {"name": "max_daily_loss", "params": {"max_loss": 0.02}}
    result = run(plugins, frame, script, [rule])
    assert [(e.rule, e.action, e.datetime) for e in result.risk_events] == [
        ("max_daily_loss", "flattened", "2024-01-01T03:00:00"),
        ("max_daily_loss", "halted", "2024-01-01T03:00:00"),
        ("max_daily_loss", "rejected", "2024-01-01T06:00:00"),
    ]
    flatten = next(o for o in result.orders if o.risk_rule == "max_daily_loss" and o.side == "sell")
    assert flatten.executed_datetime == "2024-01-01T04:00:00" and flatten.executed_size == -1000
    # a new day: trading resumes
    last = result.orders[-1]
    assert (last.side, last.status, last.created_datetime) == (
        "buy",
        "Completed",
        "2024-01-02T01:00:00",
    )
    assert result.equity.position[-1] == 100


def test_bracket_stop_loss_exits_at_the_stop(plugins: Plugins) -> None:
    frame = ohlc_frame([100.0, 100.0, 100.0, 99.0, 97.0, 94.0, 90.0, 90.0])
    rule = {"name": "bracket", "params": {"stop_loss": 0.05, "take_profit": 0.2}}
    result = run(plugins, frame, [[0, 10]], [rule])
    (placed,) = [e for e in result.risk_events if e.action == "bracket"]
    assert placed.allowed == 10 and "stop 95" in placed.reason and "target 120" in placed.reason
    (trade,) = result.trades
    assert trade.entry_price == 100.0 and trade.exit_price == pytest.approx(95.0)
    by_type = {(o.type, o.status) for o in result.orders if o.risk_rule == "bracket"}
    assert by_type == {("Stop", "Completed"), ("Limit", "Canceled")}


def test_bracket_take_profit_exits_at_the_target(plugins: Plugins) -> None:
    frame = ohlc_frame([100.0, 100.0, 101.0, 103.0, 106.0, 108.0, 108.0])
    rule = {"name": "bracket", "params": {"stop_loss": 0.05, "take_profit": 0.05}}
    result = run(plugins, frame, [[0, -10]], [rule])  # a short: target below, stop above
    (trade,) = result.trades
    assert trade.direction == "short" and trade.exit_price == pytest.approx(105.0)
    stop = next(o for o in result.orders if o.type == "Stop")
    assert stop.status == "Completed" and stop.risk_rule == "bracket"


def test_max_orders_per_day(plugins: Plugins) -> None:
    frame = ohlc_frame([100.0] * 30, freq="h")
    script = [[1, 1], [2, 1], [3, 1], [4, -1], [25, 1]]
    rule = {"name": "max_orders_per_day", "params": {"max_orders": 2}}
    result = run(plugins, frame, script, [rule])
    assert events(result) == [("max_orders_per_day", "rejected", 1.0, 0.0)]
    assert [o.status for o in result.orders] == [
        "Completed",
        "Completed",
        "Rejected",
        "Completed",  # an exit still passes
        "Completed",  # the next day
    ]


def test_rules_apply_in_order_and_to_any_strategy(plugins: Plugins) -> None:
    spec = RunSpec.model_validate(
        {
            "strategy": {"name": "sma_cross", "params": {"fast": 5, "slow": 20}},
            "data": {"args": {"bars": 400}},
            "sizer": {"name": "fixed", "params": {"stake": 10}},
            "risk": [{"name": "max_position", "params": {"max_size": 4}}],
        }
    )
    result = run_backtest(spec, plugins=plugins)
    assert max(abs(p) for p in result.equity.position) == 4
    assert result.risk_events and all(e.rule == "max_position" for e in result.risk_events)


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"name": "max_postion"}, "risk[0].name"),
        ({"name": "max_position", "params": {"max_size": -1}}, "risk[0].params"),
        ({"name": "bracket", "params": {"stop_loss": None}}, "risk[0].params"),
        ({"name": "max_daily_loss", "params": {"max_loss": 2}}, "risk[0].params"),
        ({"name": "max_orders_per_day", "params": {"max_order": 2}}, "risk[0].params.max_order"),
    ],
)
def test_bad_rules_name_the_field(plugins: Plugins, rule: dict[str, Any], field: str) -> None:
    spec = RunSpec.model_validate({"strategy": {"name": "sma_cross"}, "risk": [rule]})
    with pytest.raises(SpecError) as caught:
        run_backtest(spec, plugins=plugins)
    assert caught.value.field == field


def test_unknown_rule_suggests_the_closest_name(plugins: Plugins) -> None:
    spec = RunSpec.model_validate({"strategy": {"name": "sma_cross"}, "risk": [{"name": "brackt"}]})
    with pytest.raises(SpecError, match="did you mean 'bracket'"):
        run_backtest(spec, plugins=plugins)


def test_futures_orders_are_reviewed_in_whole_contracts_and_rolls_are_not(plugins: Plugins) -> None:
    spec = RunSpec.model_validate(
        {
            "data": {"source": "synthetic", "root": "ES", "args": {"bars": 100}},
            "strategy": {"name": "scripted", "params": {"script": [[1, 2], [3, 1], [5, -1]]}},
            "cash": 2_000_000.0,
            "risk": [{"name": "max_position", "params": {"max_size": 2}}],
        }
    )
    result = run_backtest(spec, plugins=plugins)
    mine = [(o.side, o.size, o.status, o.risk_rule) for o in result.orders if not o.roll]
    assert mine == [
        ("buy", 2.0, "Completed", None),
        ("buy", 1.0, "Rejected", "max_position"),
        ("sell", -1.0, "Completed", None),
    ]
    assert any(o.roll and o.status == "Completed" for o in result.orders)
    assert events(result) == [("max_position", "rejected", 1.0, 0.0)]
