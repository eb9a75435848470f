"""Positions that really roll: PnL identity, roll counts, no look-ahead, margin, FX."""

from __future__ import annotations

import backtrader as bt
import pandas as pd
import pytest

from stratforge import RunSpec, run_backtest
from stratforge.core.errors import SpecError
from stratforge.core.plugins import Plugins
from stratforge.core.settings import Settings
from stratforge.futures import ContractChain, ContractSpec
from tests.futures_helpers import TEST_SPEC, chain_of, contract_frame

MULT, COMMISSION = TEST_SPEC.multiplier, TEST_SPEC.commission


class HoldFrom(bt.Strategy):
    """Buy ``size`` on bar ``enter`` (1-based) and, if ``exit`` > 0, close on bar ``exit``."""

    params = (("size", 2), ("enter", 1), ("exit", 0), ("limit_offset", 0.0))

    def next(self) -> None:
        bar = len(self)
        if bar == self.p.enter:
            for data in self.datas:
                self.buy(data=data, size=self.p.size)
        elif bar == self.p.exit:
            for data in self.datas:
                self.close(data=data)


class OverBuy(bt.Strategy):
    params = (("size", 10),)

    def next(self) -> None:
        if len(self) == 1:
            self.buy(size=self.p.size)


def three_contracts() -> ContractChain:
    # Each contract trades every day; opens are the previous close.
    return chain_of(
        {
            "TTH24": contract_frame([100, 102, 101, 104, 106, 105], "2024-01-01"),
            "TTM24": contract_frame([110, 111, 115, 113, 117, 120, 118, 121, 125], "2024-01-01"),
            "TTU24": contract_frame([130 + i for i in range(12)], "2024-01-01"),
        }
    )


ROLL_DATES = ["2024-01-05", "2024-01-09"]


@pytest.fixture
def plugins() -> Plugins:
    """Real plugins plus a test contract, a hand-built chain source and test strategies."""
    loaded = Plugins.load(Settings())
    reg = loaded.registries
    reg.contracts.register(TEST_SPEC, name="TT", plugin="tests")
    reg.strategies.register(HoldFrom, name="hold_from", plugin="tests")
    reg.strategies.register(OverBuy, name="over_buy", plugin="tests")

    def hand_chain(*, drop_after: str = "", contract: ContractSpec | None = None) -> ContractChain:
        chain = three_contracts()
        if drop_after:  # as if later contracts were never listed
            cut = pd.Timestamp(drop_after)
            frames = {c: f.loc[:cut] for c, f in chain.frames.items() if f.index[0] <= cut}
            chain = ContractChain(chain.spec, {c: f for c, f in frames.items() if len(f)})
        return chain

    def constant_fx(*, rate: float = 2.0) -> pd.DataFrame:
        index = pd.DatetimeIndex(
            pd.date_range("2023-12-01", periods=120, freq="D"), name="datetime"
        )
        return pd.DataFrame(
            {c: rate for c in ("open", "high", "low", "close")}
            | {"volume": 0.0, "openinterest": 0.0},
            index=index,
        )

    reg.data_sources.register(hand_chain, name="hand_chain", plugin="tests")
    reg.data_sources.register(constant_fx, name="constant_fx", plugin="tests")
    return loaded


def tt_spec(**overrides) -> RunSpec:
    spec = {
        "data": {
            "source": "hand_chain",
            "root": "TT",
            "roll": {"name": "schedule", "params": {"dates": ROLL_DATES}},
        },
        "strategy": {"name": "hold_from"},
        "cash": 100_000.0,
    }
    for key, value in overrides.items():
        if key == "data":
            spec["data"] = {**spec["data"], **value}
        else:
            spec[key] = value
    return RunSpec.model_validate(spec)


def test_pnl_across_rolls_is_sum_of_contract_pnls_minus_roll_costs(plugins: Plugins) -> None:
    result = run_backtest(tt_spec(), plugins=plugins)
    chain = three_contracts()
    frames = {c.code: f for c, f in chain.frames.items()}
    day = pd.Timestamp
    # Independent of the engine: bought 2 on Jan 2's open, rolled on Jan 5 and Jan 9 at each
    # contract's open, held to the last bar (Jan 12, TTU24's close).
    legs = [
        (
            "TTH24",
            frames["TTH24"].loc[day("2024-01-02"), "open"],
            frames["TTH24"].loc[day("2024-01-05"), "open"],
        ),
        (
            "TTM24",
            frames["TTM24"].loc[day("2024-01-05"), "open"],
            frames["TTM24"].loc[day("2024-01-09"), "open"],
        ),
        (
            "TTU24",
            frames["TTU24"].loc[day("2024-01-09"), "open"],
            frames["TTU24"]["close"].iloc[-1],
        ),
    ]
    contract_pnls = [(exit_ - entry) * 2 * MULT for _, entry, exit_ in legs]
    entry_commission = 2 * COMMISSION
    roll_costs = sum(r.cost for r in result.rolls)
    assert roll_costs == pytest.approx(2 * (2 * 2 * COMMISSION))
    net = result.metrics.end_value - result.metrics.start_value
    assert net == pytest.approx(sum(contract_pnls) - roll_costs - entry_commission, rel=1e-9)
    # closed trades are the per-contract legs, in real contract prices
    assert [(t.contract, t.entry_price, t.exit_price) for t in result.trades] == [
        (code, entry, exit_) for code, entry, exit_ in legs[:2]
    ]
    assert [t.pnl for t in result.trades] == pytest.approx(contract_pnls[:2])
    roll_fills = [(o.contract, o.side, o.executed_price) for o in result.orders if o.roll]
    assert roll_fills == [
        ("TTH24", "sell", legs[0][2]),
        ("TTM24", "buy", legs[1][1]),
        ("TTM24", "sell", legs[1][2]),
        ("TTU24", "buy", legs[2][1]),
    ]


def test_roll_costs_include_slippage(plugins: Plugins) -> None:
    result = run_backtest(tt_spec(slippage={"percent": 0.001}), plugins=plugins)
    first = result.rolls[0]
    assert first.slippage > 0 and first.cost == pytest.approx(first.commission + first.slippage)
    assert first.exit_price < 104.0 and first.entry_price > 113.0  # worse than the raw opens


def test_roll_events_only_while_a_position_is_open(plugins: Plugins) -> None:
    held = run_backtest(tt_spec(), plugins=plugins)
    assert [(r.from_contract, r.to_contract, r.size) for r in held.rolls] == [
        ("TTH24", "TTM24", 2.0),
        ("TTM24", "TTU24", 2.0),
    ]
    late = run_backtest(
        tt_spec(strategy={"name": "hold_from", "params": {"enter": 6}}), plugins=plugins
    )
    assert [(r.from_contract, r.to_contract) for r in late.rolls] == [("TTM24", "TTU24")]
    early_exit = tt_spec(strategy={"name": "hold_from", "params": {"enter": 1, "exit": 2}})
    assert run_backtest(early_exit, plugins=plugins).rolls == []
    flat = tt_spec(strategy={"name": "hold_from", "params": {"enter": 99}})
    assert run_backtest(flat, plugins=plugins).rolls == []


def test_signals_see_adjusted_prices_fills_use_raw(plugins: Plugins) -> None:
    result = run_backtest(tt_spec(), plugins=plugins)
    # equity is marked with raw contract prices: the last value is cash + (close - entry) ...
    assert result.equity.position[-1] == 2.0
    assert {o.contract for o in result.orders} == {"TTH24", "TTM24", "TTU24"}


def test_no_look_ahead_through_later_contracts(plugins: Plugins) -> None:
    window = {"end": "2024-01-08"}  # before the second roll
    sma = {"name": "sma_cross", "params": {"fast": 2, "slow": 3}}
    full = run_backtest(tt_spec(data=window, strategy=sma), plugins=plugins)
    truncated = run_backtest(
        tt_spec(data={**window, "args": {"drop_after": "2024-01-08"}}, strategy=sma),
        plugins=plugins,
    )
    assert full.trades == truncated.trades and full.orders == truncated.orders
    assert full.equity == truncated.equity


def test_order_beyond_margin_is_rejected_not_filled(plugins: Plugins) -> None:
    spec = tt_spec(strategy={"name": "over_buy", "params": {"size": 10}}, cash=5_000.0)
    result = run_backtest(spec, plugins=plugins)
    assert [o.status for o in result.orders] == ["Margin"]
    assert result.orders[0].executed_size == 0
    assert result.trades == [] and result.rolls == []
    assert result.metrics.end_value == 5_000.0
    fits = run_backtest(
        tt_spec(strategy={"name": "over_buy", "params": {"size": 4}}, cash=5_000.0), plugins=plugins
    )
    assert fits.orders[0].status == "Completed"
    assert fits.metrics.peak_margin == 4 * TEST_SPEC.initial_margin
    assert fits.metrics.peak_margin_to_equity == pytest.approx(4_000 / 5_000, rel=0.05)


def test_margin_and_commission_overrides(plugins: Plugins) -> None:
    result = run_backtest(tt_spec(data={"margin": 2_500.0, "commission": 0.5}), plugins=plugins)
    assert result.metrics.peak_margin == 2 * 2_500.0
    assert result.rolls[0].commission == 2 * 2 * 0.5


def eur_spec() -> ContractSpec:
    import dataclasses

    return dataclasses.replace(TEST_SPEC, root="TE", currency="EUR")


def test_foreign_currency_needs_fx_rates(plugins: Plugins) -> None:
    plugins.registries.contracts.register(eur_spec(), name="TE", plugin="tests")
    spec = tt_spec(data={"root": "TE"})
    with pytest.raises(SpecError) as info:
        run_backtest(spec, plugins=plugins)
    assert info.value.field == "fx_rates.EUR" and "quoted in EUR" in str(info.value)


def test_foreign_currency_pnl_is_converted(plugins: Plugins) -> None:
    plugins.registries.contracts.register(eur_spec(), name="TE", plugin="tests")
    usd = run_backtest(tt_spec(), plugins=plugins)
    eur = run_backtest(
        tt_spec(
            data={"root": "TE"}, fx_rates={"EUR": {"source": "constant_fx", "args": {"rate": 2.0}}}
        ),
        plugins=plugins,
    )
    usd_net = usd.metrics.end_value - usd.metrics.start_value
    eur_net = eur.metrics.end_value - eur.metrics.start_value
    assert eur_net == pytest.approx(2 * usd_net, rel=1e-12)


def test_fx_series_must_cover_the_first_bar(plugins: Plugins) -> None:
    plugins.registries.contracts.register(eur_spec(), name="TE", plugin="tests")

    def late_fx() -> pd.DataFrame:
        index = pd.DatetimeIndex(pd.date_range("2024-01-03", periods=30, freq="D"), name="datetime")
        return pd.DataFrame(
            {c: 1.1 for c in ("open", "high", "low", "close", "volume", "openinterest")},
            index=index,
        )

    plugins.registries.data_sources.register(late_fx, name="late_fx", plugin="tests")
    spec = tt_spec(data={"root": "TE"}, fx_rates={"EUR": {"source": "late_fx"}})
    with pytest.raises(SpecError, match="no EUR rate on or before 2024-01-01"):
        run_backtest(spec, plugins=plugins)


def test_two_roots_in_one_run(plugins: Plugins) -> None:
    spec = RunSpec.model_validate(
        {
            "data": [
                {
                    "source": "synthetic",
                    "root": "ES",
                    "args": {"bars": 300},
                    "roll": {"name": "volume"},
                },
                {"source": "synthetic", "root": "GC", "args": {"bars": 300, "seed": 3}},
            ],
            "strategy": {"name": "hold_from", "params": {"size": 1}},
            "cash": 500_000.0,
        }
    )
    result = run_backtest(spec, plugins=plugins)
    assert {r.data for r in result.rolls} == {"ES", "GC"}
    assert {o.data for o in result.orders if not o.roll} == {"ES", "GC"}


def test_futures_spec_errors_name_the_field(plugins: Plugins) -> None:
    cases = [
        ({"root": "ESS"}, "data.root", "did you mean 'ES'"),
        (
            {"source": "csv", "args": {"path": "x.csv"}},
            "data.source",
            "cannot load a futures chain",
        ),
        ({"roll": {"name": "volumee"}}, "data.roll.name", "did you mean 'volume'"),
        (
            {"roll": {"name": "volume", "params": {"confirn": 2}}},
            "data.roll.params.confirn",
            "'confirm'",
        ),
    ]
    for data, field, fragment in cases:
        spec = tt_spec(data={"source": "synthetic", "root": "ES", **data})
        with pytest.raises(SpecError) as info:
            run_backtest(spec, plugins=plugins)
        assert info.value.field == field and fragment in str(info.value)
    with pytest.raises(SpecError, match="a roll rule needs a futures root"):
        run_backtest(
            RunSpec.model_validate(
                {"data": {"roll": {"name": "volume"}}, "strategy": {"name": "sma_cross"}}
            ),
            plugins=plugins,
        )
