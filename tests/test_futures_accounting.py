"""Futures accounting against an independent mark-to-market (tests/accounting_helpers.py).

Each test builds contract prices by hand (or takes a seeded synthetic chain on the real
exchange calendars), works out by hand what the account must show, and compares the
RunResult with that. The property tests (test_futures_properties.py) do the same over random
calendars, roll schedules and orders.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd
import pytest

from stratforge import RunSpec, run_backtest
from stratforge.core.plugins import Plugins
from stratforge.core.settings import Settings
from stratforge.futures import ContractChain, ContractId, ContractSpec
from tests.accounting_helpers import Book, Fill, Market, equity_by_step
from tests.conftest import ohlc_frame
from tests.futures_helpers import TEST_SPEC

MULT, COMMISSION = TEST_SPEC.multiplier, TEST_SPEC.commission
CHAINS: dict[str, ContractChain] = {}
RATES: dict[str, pd.DataFrame] = {}


class Scripted(bt.Strategy):
    """Places the orders of ``script``: ``{"at": step or ISO date, "feed": i, "size": n,
    "type": "market" | "limit" | "stop", "price": adjusted level, "close": bool}``.

    ``at`` is matched against the strategy's clock (the union of every feed's bars). Every
    order notification is kept in ``notes`` for the tests.
    """

    params = (("script", ()),)

    def __init__(self) -> None:
        self.notes: list[dict[str, Any]] = []

    def next(self) -> None:
        step, today = len(self), self.datetime.date(0).isoformat()
        for action in self.p.script:
            if action["at"] in (step, today):
                self._place(action)

    def _place(self, action: dict[str, Any]) -> None:
        data = self.datas[action.get("feed", 0)]
        if action.get("close"):
            self.close(data=data)
            return
        kinds = {"market": bt.Order.Market, "limit": bt.Order.Limit, "stop": bt.Order.Stop}
        size = action["size"]
        place = self.buy if size > 0 else self.sell
        place(
            data=data,
            size=abs(size),
            exectype=kinds[action.get("type", "market")],
            price=action.get("price"),
        )

    def notify_order(self, order: bt.Order) -> None:
        if order.status in (order.Completed, order.Canceled, order.Margin, order.Rejected):
            self.notes.append(
                {
                    "status": order.getstatusname(),
                    "settlement": order.info.get("settlement"),
                    "date": bt.num2date(order.executed.dt).date().isoformat()
                    if order.executed.size
                    else None,
                }
            )

    def result_info(self) -> dict[str, Any]:
        return {"notes": self.notes}


def hand_chain(*, name: str, contract: ContractSpec | None = None) -> ContractChain:
    return CHAINS[name]


def hand_fx(*, name: str) -> pd.DataFrame:
    return RATES[name]


def hand_frame(*, name: str) -> pd.DataFrame:
    return RATES[name]


@pytest.fixture(scope="module")
def plugins() -> Plugins:
    loaded = Plugins.load(Settings())
    reg = loaded.registries
    reg.contracts.register(TEST_SPEC, name="TT", plugin="tests")
    reg.contracts.register(
        dataclasses.replace(TEST_SPEC, root="TE", currency="EUR"), name="TE", plugin="tests"
    )
    reg.contracts.register(
        dataclasses.replace(TEST_SPEC, root="TC", settlement="cash"), name="TC", plugin="tests"
    )
    reg.strategies.register(Scripted, name="scripted", plugin="tests")
    reg.data_sources.register(hand_chain, name="hand_chain", plugin="tests")
    reg.data_sources.register(hand_fx, name="hand_fx", plugin="tests")
    reg.data_sources.register(hand_frame, name="hand_frame", plugin="tests")
    return loaded


def bars(closes: list[float], days: pd.DatetimeIndex) -> pd.DataFrame:
    """Daily bars on *days*: open = previous close (the first: the close), wicks of 0.5."""
    return ohlc_frame(closes, index=days)


def chain(root: str, frames: dict[str, pd.DataFrame], **expiries: str) -> ContractChain:
    spec = {"TT": TEST_SPEC}.get(root) or dataclasses.replace(
        TEST_SPEC, root=root, currency="EUR" if root == "TE" else "USD"
    )
    if root == "TC":
        spec = dataclasses.replace(spec, settlement="cash")
    return ContractChain(
        spec,
        {ContractId.parse(code): frame for code, frame in frames.items()},
        {ContractId.parse(c): pd.Timestamp(d).date() for c, d in expiries.items()},
    )


def fx_frame(rates: list[float], days: pd.DatetimeIndex) -> pd.DataFrame:
    rate = np.asarray(rates, dtype=float)
    return pd.DataFrame(
        {"open": rate, "high": rate, "low": rate, "close": rate, "volume": 0.0}
        | {"openinterest": 0.0},
        index=pd.DatetimeIndex(days, name="datetime"),
    )


def data_spec(name: str, root: str = "TT", rolls: tuple[str, ...] = (), **extra: Any) -> dict:
    return {
        "source": "hand_chain",
        "args": {"name": name},
        "root": root,
        "roll": {"name": "schedule", "params": {"dates": list(rolls)}},
        **extra,
    }


def run(plugins: Plugins, datas: list[dict], script: list[dict], **spec: Any) -> Any:
    body = {
        "data": datas,
        "strategy": {"name": "scripted", "params": {"script": script}},
        "cash": 100_000.0,
        **spec,
    }
    return run_backtest(RunSpec.model_validate(body), plugins=plugins)


def fills_of(result: Any, data: str) -> list[Fill]:
    """Executed orders of one feed, in execution order, as independent fills."""
    return [
        Fill(
            pd.Timestamp(o.executed_datetime),
            o.contract,
            o.executed_size,
            o.executed_price,
        )
        for o in result.orders
        if o.data == data and o.executed_size
    ]


def equity_series(result: Any) -> pd.Series:
    return pd.Series(result.equity.value, index=pd.DatetimeIndex(result.equity.datetime))


def us_days(start: str, periods: int) -> pd.DatetimeIndex:
    return pd.bdate_range(start, periods=periods)


# -- 1. feeds that did not advance -----------------------------------------------------


def synthetic_root(root: str, start: str, bars_: int, seed: int = 0, **extra: Any) -> dict:
    return {
        "source": "synthetic",
        "root": root,
        "args": {"bars": bars_, "start": start, "seed": seed},
        **extra,
    }


EUR_RATES = {
    "EUR": {
        "source": "synthetic",
        "args": {"bars": 400, "start": "2015-06-01", "price": 1.1, "volatility": 0.08},
    }
}


def test_a_roll_happens_once_when_another_calendar_has_a_bar(plugins: Plugins) -> None:
    """CL (US calendar) with FESX (Eurex trades on Presidents' Day, 2016-02-15)."""
    cl = synthetic_root("CL", "2015-12-01", 120)
    fesx = synthetic_root("FESX", "2015-12-01", 120, seed=2)
    buy_cl = [{"at": 1, "feed": 0, "size": 5}]
    alone = run(plugins, [cl], buy_cl, cash=1_000_000.0)
    mixed = run(plugins, [cl, fesx], buy_cl, cash=1_000_000.0, fx_rates=EUR_RATES)
    switches = sorted({(r.from_contract, r.to_contract) for r in alone.rolls})
    assert len(alone.rolls) == len(switches) == 6  # one roll per contract switch
    assert [(r.datetime, r.to_contract, r.cost) for r in mixed.rolls] == [
        (r.datetime, r.to_contract, r.cost) for r in alone.rolls
    ]
    assert sum(o.roll for o in mixed.orders) == 2 * len(alone.rolls)
    # FESX is flat, so the account is CL's alone on every CL bar
    alone_equity, mixed_equity = equity_series(alone), equity_series(mixed)
    assert mixed_equity.loc[alone_equity.index].to_numpy() == pytest.approx(
        alone_equity.to_numpy(), rel=1e-12
    )
    assert mixed.trades == alone.trades


@pytest.mark.parametrize("kind", ["limit", "stop"])
def test_resting_orders_wait_for_their_own_feeds_next_bar(plugins: Plugins, kind: str) -> None:
    """ES has no bar on Martin Luther King Day (2016-01-18); FESX has."""
    es = synthetic_root("ES", "2015-12-01", 60)
    fesx = synthetic_root("FESX", "2015-12-01", 60, seed=2)
    probe = run(plugins, [es], [])
    prices = probe.prices[0]
    day, after = (prices.datetime.index(f"{d}T00:00:00") for d in ("2016-01-15", "2016-01-19"))
    assert probe.prices[0].raw_close is not None
    offset = prices.close[after] - probe.prices[0].raw_close[after]  # adjusted - raw
    # a level that both the stale bar of the 15th and the bar of the 19th reach
    if kind == "limit":
        level = max(prices.low[day], prices.low[after]) + 0.25
        expected = min(prices.open[after], level) - offset
    else:
        level = min(prices.high[day], prices.high[after]) - 0.25
        expected = max(prices.open[after], level) - offset
    script = [{"at": "2016-01-15", "feed": 0, "size": 1, "type": kind, "price": level}]
    alone = run(plugins, [es], script, cash=1_000_000.0)
    mixed = run(plugins, [es, fesx], script, cash=1_000_000.0, fx_rates=EUR_RATES)
    (fill,) = [o for o in mixed.orders if o.executed_size]
    assert fill.executed_datetime == "2016-01-19T00:00:00"
    assert fill.executed_price == pytest.approx(expected, abs=1e-9)
    assert [o.model_dump() for o in mixed.orders] == [o.model_dump() for o in alone.orders]


def test_plain_feeds_on_different_calendars_wait_for_their_own_bars(plugins: Plugins) -> None:
    """The same holds without futures: a stock with no bar on Jan 3 while another has one."""
    RATES["stock_a"] = bars(
        [100, 104, 103, 105],
        pd.DatetimeIndex(["2024-01-01", "2024-01-02", "2024-01-04", "2024-01-05"]),
    )
    RATES["stock_b"] = bars([50, 51, 52, 53, 54], us_days("2024-01-01", 5))
    stock_a = {"source": "hand_frame", "args": {"name": "stock_a"}}
    stock_b = {"source": "hand_frame", "args": {"name": "stock_b"}}
    # Jan 2's bar spans 99.5-104.5 and Jan 4's 102.5-104.5: a buy limit at 103.5 placed on
    # Jan 2 must wait for Jan 4 (it would fill on the stale Jan 2 bar on Jan 3's step)
    script = [{"at": "2024-01-02", "feed": 0, "size": 10, "type": "limit", "price": 103.5}]
    result = run(plugins, [stock_a, stock_b], script)
    (fill,) = [o for o in result.orders if o.executed_size]
    assert (fill.executed_datetime, fill.executed_price) == ("2024-01-04T00:00:00", 103.5)


# -- 2. stop and limit orders submitted on the bar before a roll ------------------------


def two_contracts_rolling_on_jan_5() -> None:
    days = pd.date_range("2024-01-01", periods=8, freq="D")
    CHAINS["roll5"] = chain(
        "TT",
        {
            "TTH24": bars([100, 101, 102, 103, 104, 105, 106, 107], days),
            "TTM24": bars([110, 111, 112, 113, 114, 115, 116, 117], days),
        },
    )


@pytest.mark.parametrize("adjust", ["difference", "ratio"])
def test_orders_placed_before_a_roll_move_to_the_new_contract(
    plugins: Plugins, adjust: str
) -> None:
    two_contracts_rolling_on_jan_5()
    data = data_spec("roll5", rolls=("2024-01-05",), adjust=adjust)
    probe = run(plugins, [data], [])
    jan4 = probe.prices[0].datetime.index("2024-01-04T00:00:00")
    adjusted_close = probe.prices[0].close[jan4]  # TTM24's 113 in both adjustments
    assert adjusted_close == pytest.approx(113.0)
    # Placed on Jan 4 at adjusted levels; on Jan 5 TTM24 opens at 113, high 114.5, low 112.5.
    stop = run(
        plugins,
        [data],
        [{"at": "2024-01-04", "size": 1, "type": "stop", "price": 113.5}],
    )
    (fill,) = [o for o in stop.orders if o.executed_size]
    assert (fill.contract, fill.executed_datetime[:10]) == ("TTM24", "2024-01-05")
    assert fill.executed_price == pytest.approx(113.5)  # at its level, not the 113 open
    limit = run(
        plugins,
        [data],
        [{"at": "2024-01-04", "size": 1, "type": "limit", "price": 113.2}],
    )
    (fill,) = [o for o in limit.orders if o.executed_size]
    assert (fill.contract, fill.executed_datetime[:10]) == ("TTM24", "2024-01-05")
    assert fill.executed_price == pytest.approx(113.0)  # the open, below its limit


# -- 3. contracts that expire before the data ends --------------------------------------


def expiring_and_continuing(root: str = "TT") -> None:
    short_days = us_days("2024-01-01", 7)  # Jan 1 .. Jan 9, the last contract expires Jan 9
    long_days = us_days("2024-01-01", 20)
    CHAINS[f"expiring_{root}"] = chain(
        root,
        {
            f"{root}H24": bars([100, 101, 103, 102, 104, 106, 105], short_days),
        },
        **{f"{root}H24": "2024-01-09"},
    )
    CHAINS["continuing"] = chain("TT", {"TTM24": bars([200 + i for i in range(20)], long_days)})


@pytest.mark.parametrize("root", ["TT", "TC"])
def test_a_position_at_expiry_is_settled_and_its_margin_released(
    plugins: Plugins, root: str
) -> None:
    expiring_and_continuing(root)
    slip = 0.25
    result = run(
        plugins,
        [data_spec(f"expiring_{root}", root=root), data_spec("continuing")],
        [{"at": 1, "feed": 0, "size": 2}, {"at": 8, "feed": 0, "close": True}],
        slippage={"fixed": slip},
    )
    (event,) = result.settlements
    physical = root == "TT"
    # bought 2 at Jan 2's open (100) + slippage; Jan 9's close is 105
    exit_price = 105 - slip if physical else 105
    assert (event.datetime[:10], event.contract, event.size) == ("2024-01-09", f"{root}H24", 2)
    assert event.settlement == ("physical" if physical else "cash")
    assert event.price == pytest.approx(exit_price)
    assert event.commission == pytest.approx(2 * COMMISSION)
    assert event.slippage == pytest.approx(2 * MULT * slip if physical else 0.0)
    expected = 100_000 + 2 * MULT * (exit_price - (100 + slip)) - 4 * COMMISSION
    equity = equity_series(result)
    after = equity.loc["2024-01-09":]
    assert after.to_numpy() == pytest.approx(expected, rel=1e-12)
    assert result.equity.cash[-1] == pytest.approx(expected, rel=1e-12)  # no margin held
    (trade,) = result.trades
    assert trade.pnl_net == pytest.approx(expected - 100_000)
    notes = result.strategy_info["notes"]
    assert {"status": "Completed", "settlement": event.settlement, "date": "2024-01-09"} in notes
    assert not [
        o
        for o in result.orders
        if o.executed_datetime and o.executed_datetime[:10] > "2024-01-09" and o.data == "TT"
    ]


def test_orders_on_a_feed_whose_data_ended_are_cancelled(plugins: Plugins) -> None:
    days = us_days("2024-01-01", 5)
    CHAINS["stops_early"] = chain("TT", {"TTH24": bars([100, 101, 102, 103, 104], days)})
    # the other market has one more day: the orders are cancelled on that very step
    CHAINS["one_more_day"] = chain(
        "TT", {"TTM24": bars([200 + i for i in range(6)], us_days("2024-01-01", 6))}
    )
    result = run(
        plugins,
        [data_spec("stops_early"), data_spec("one_more_day")],
        [
            {"at": 3, "feed": 0, "size": 1, "type": "limit", "price": 50.0},  # rests
            {"at": 5, "feed": 0, "size": 1},  # on the feed's last bar: nothing can fill it
        ],
    )
    assert [(o.data, o.type, o.status, o.executed_size) for o in result.orders] == [
        ("TT", "Limit", "Canceled", 0),
        ("TT", "Market", "Canceled", 0),
    ]
    assert [n["status"] for n in result.strategy_info["notes"]] == ["Canceled", "Canceled"]


# -- 4. one equity row per step of the run ---------------------------------------------


def test_equity_follows_the_union_clock_when_the_first_feed_ends_early(plugins: Plugins) -> None:
    CHAINS["short"] = chain(
        "TT", {"TTH24": bars([100 + i for i in range(40)], us_days("2020-01-01", 40))}
    )
    long_days = us_days("2020-01-01", 756)  # three years of business days
    CHAINS["long"] = chain(
        "TT",
        {"TTZ24": bars(list(100 + np.sin(np.arange(756) / 9) * 5), long_days)},
        TTZ24="2024-12-20",
    )
    result = run(
        plugins,
        [data_spec("short"), data_spec("long")],
        [{"at": 1, "feed": 1, "size": 1}],
    )
    steps = pd.DatetimeIndex(result.equity.datetime)
    assert steps.is_unique and steps.is_monotonic_increasing
    assert list(steps) == list(long_days)
    # 755 steps over 3 years of business days: about 252 a year, not 1,029
    assert result.metrics.periods_per_year == pytest.approx(
        755 / ((long_days[-1] - long_days[0]).days / 365.25)
    )
    assert 250 < result.metrics.periods_per_year < 263


def test_mixed_calendars_give_one_row_per_distinct_step(plugins: Plugins) -> None:
    us = pd.DatetimeIndex(["2024-01-01", "2024-01-02", "2024-01-04", "2024-01-05"])
    eu = pd.DatetimeIndex(["2024-01-01", "2024-01-03", "2024-01-04", "2024-01-08"])
    CHAINS["us"] = chain("TT", {"TTH24": bars([100, 101, 102, 103], us)})
    CHAINS["eu"] = chain("TT", {"TTH24": bars([50, 51, 52, 53], eu)})
    result = run(plugins, [data_spec("us"), data_spec("eu")], [])
    assert result.equity.datetime == [
        "2024-01-01T00:00:00",
        "2024-01-02T00:00:00",
        "2024-01-03T00:00:00",
        "2024-01-04T00:00:00",
        "2024-01-05T00:00:00",
        "2024-01-08T00:00:00",
    ]


# -- 5. and 6. foreign-currency margin and PnL ------------------------------------------


def eur_contract_with_rising_rate() -> pd.DatetimeIndex:
    days = us_days("2024-01-01", 10)
    CHAINS["eur"] = chain(
        "TE",
        {"TEH24": bars([100, 102, 101, 104, 103, 107, 106, 108, 111, 110], days)},
        TEH24="2024-03-15",
    )
    RATES["rising"] = fx_frame([1.0, 1.0, 1.5, 2.0, 2.0, 1.8, 1.6, 1.9, 2.1, 2.2], days)
    return days


def test_margin_of_a_foreign_contract_uses_the_rate_of_the_bar(plugins: Plugins) -> None:
    eur_contract_with_rising_rate()
    fx = {"EUR": {"source": "hand_fx", "args": {"name": "rising"}}}
    # Margin 1,000 EUR a contract; on Jan 4 (rate 2.0) 3 contracts need 6,000 USD of the 5,000
    result = run(
        plugins,
        [data_spec("eur", root="TE")],
        [{"at": 4, "size": 3}],
        cash=5_000.0,
        fx_rates=fx,
    )
    assert [o.status for o in result.orders] == ["Margin"]
    fits = run(
        plugins,
        [data_spec("eur", root="TE")],
        [{"at": 1, "size": 2}],
        cash=5_000.0,
        fx_rates=fx,
    )
    # held from Jan 2 (rate 1.0) to the end: the peak is 2 x 1,000 x 2.2 on the last bar
    assert fits.metrics.peak_margin == pytest.approx(2 * 1_000 * 2.2)


def test_foreign_trades_add_up_to_the_equity_change(plugins: Plugins) -> None:
    days = eur_contract_with_rising_rate()
    fx = {"EUR": {"source": "hand_fx", "args": {"name": "rising"}}}
    result = run(
        plugins,
        [data_spec("eur", root="TE")],
        [{"at": 1, "size": 2}, {"at": 4, "size": -3}, {"at": 7, "size": 1}],
        fx_rates=fx,
        cash=50_000.0,
    )
    market = Market(
        "TE",
        {"TEH24": CHAINS["eur"].frames[ContractId.parse("TEH24")]["close"]},
        days,
        MULT,
        COMMISSION,
        RATES["rising"]["close"],
    )
    book = Book(market).run(fills_of(result, "TE"))
    expected = equity_by_step(50_000.0, [book], pd.DatetimeIndex(result.equity.datetime))
    assert equity_series(result).to_numpy() == pytest.approx(expected.to_numpy(), rel=1e-12)
    assert [t.pnl for t in result.trades] == pytest.approx([t.pnl for t in book.closed], rel=1e-12)
    assert [t.pnl_net for t in result.trades] == pytest.approx(
        [t.pnl_net for t in book.closed], rel=1e-12
    )
    # long 2, reversed to short 1, then flat: two closed trades and nothing open
    assert book.open is None and len(result.trades) == 2
    net = sum(t.pnl_net for t in result.trades)
    assert net == pytest.approx(result.metrics.end_value - result.metrics.start_value, rel=1e-12)


# -- 7. a start between a contract's roll date and its expiry ---------------------------

ES_DEC_2018 = {"source": "synthetic", "root": "ES", "args": {"bars": 400, "start": "2018-06-01"}}


@pytest.mark.parametrize(
    "start", ["2018-12-14", "2018-12-17", "2018-12-18", "2018-12-19", "2018-12-20", "2018-12-21"]
)
def test_a_run_may_start_after_the_roll_before_the_expiry(plugins: Plugins, start: str) -> None:
    """ESZ18 expires on 2018-12-21; five business days before it (the default rule) the
    series holds ESH19, so a run starting from 12-14 on holds ESH19 from its first bar."""
    result = run(plugins, [{**ES_DEC_2018, "start": start}], [{"at": 1, "size": 1}])
    first_fill = next(o for o in result.orders if o.executed_size)
    assert first_fill.contract == "ESH19"
    assert result.prices[0].datetime[0] == f"{start}T00:00:00"
    assert [r.from_contract for r in result.rolls][:1] == ["ESH19"]


def test_a_run_starting_before_the_roll_still_holds_the_expiring_contract(
    plugins: Plugins,
) -> None:
    result = run(plugins, [{**ES_DEC_2018, "start": "2018-12-12"}], [{"at": 1, "size": 1}])
    first = result.rolls[0]
    assert (first.datetime[:10], first.from_contract, first.to_contract) == (
        "2018-12-14",
        "ESZ18",
        "ESH19",
    )


def test_walk_forward_windows_may_start_inside_a_roll(plugins: Plugins) -> None:
    from stratforge.core.walkforward import WalkForwardSpec, walk_forward

    spec = WalkForwardSpec.model_validate(
        {
            "search": {
                "base": {
                    "strategy": {"name": "sma_cross", "params": {"fast": 2, "slow": 6}},
                    "data": {**ES_DEC_2018, "args": {"bars": 260, "start": "2018-06-01"}},
                },
                "space": {"fast": {"kind": "choice", "options": [2, 3]}},
                "executor": "serial",
            },
            "train": 40,
            "test": 10,
            "step": 3,  # window starts every 3 bars: several fall inside each roll period
        }
    )
    result = walk_forward(spec, plugins=plugins)
    assert len(result.windows) == (260 - 50) // 3 + 1
    starts = [s[:10] for w in result.windows for s in (w.train_start, w.test_start)]
    # ESU18 and ESZ18 roll on 09-14 and 12-14 and expire on 09-21 and 12-21
    zones = [("2018-09-14", "2018-09-21"), ("2018-12-14", "2018-12-21")]
    assert len([s for s in starts if any(a <= s <= b for a, b in zones)]) >= 3
    assert all(w.best_params is not None for w in result.windows)


# -- 8. the PnL identity counts slippage once -------------------------------------------


def test_net_pnl_is_contract_pnls_at_fill_prices_less_commissions(plugins: Plugins) -> None:
    """Roll legs fill at slipped prices, so per-contract PnLs already carry the slippage;
    ``roll_cost`` (commission + slippage) is what the rolls cost against unslipped opens."""
    two_contracts_rolling_on_jan_5()
    slip = 0.5
    result = run(
        plugins,
        [data_spec("roll5", rolls=("2024-01-05",))],
        [{"at": 1, "size": 2}],
        slippage={"fixed": slip},
    )
    # by hand (opens are the previous closes): buy 2 TTH24 at Jan 2's open 100 + 0.5; roll
    # on Jan 5: sell at TTH24's open 103 - 0.5, buy TTM24 at its open 113 + 0.5; held to
    # Jan 8's close of 117
    legs = [(100 + slip, 103 - slip), (113 + slip, 117)]
    contract_pnls = [2 * MULT * (exit_ - entry) for entry, exit_ in legs]
    commissions = 3 * 2 * COMMISSION  # entry, and both roll legs
    net = result.metrics.end_value - result.metrics.start_value
    assert net == pytest.approx(sum(contract_pnls) - commissions, rel=1e-12)
    (roll,) = result.rolls
    assert roll.slippage == pytest.approx(2 * MULT * 2 * slip)
    assert roll.cost == pytest.approx(roll.commission + roll.slippage)
    assert result.trades[0].pnl == pytest.approx(contract_pnls[0])
    # counting roll_cost on top of fill-price PnLs would charge the slippage twice
    assert net != pytest.approx(sum(contract_pnls) - commissions - roll.slippage)


# -- 9. synthetic series that would overflow --------------------------------------------


def test_synthetic_series_refuse_absurd_price_paths() -> None:
    from stratforge.data.synthetic import generate_synthetic
    from stratforge.futures.synthetic import generate_chain

    with pytest.raises(ValueError, match=r"bars: 600,000 bars \(2,381 years\).*use fewer bars"):
        generate_synthetic(bars=600_000)
    with pytest.raises(ValueError, match="outside 1e-06 to 1e\\+06 times the start"):
        generate_chain(TEST_SPEC, start="2000-01-01", end="2060-12-31", volatility=3.0)
    assert generate_synthetic(bars=25_000).close.max() < 100 * 1e6  # 99 years is fine
