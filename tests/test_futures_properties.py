"""Property tests of futures accounting over random calendars, roll schedules and orders.

Hypothesis draws a portfolio: one to three feeds, each on its own calendar (random
holidays, some ending early), each a chain of contract months with a random roll schedule,
some quoted in EUR against a random FX series, some whose last contract expires on the
feed's final bar; and a script of market orders on random steps. For every draw the test
works out, without stratforge, every fill the account must see (roll legs, orders,
settlements) and the account value at every step (tests/accounting_helpers.py), then checks
the RunResult against that:

* one roll event and two legs per contract switch of a held position, none otherwise;
* account equity equal to the independent mark-to-market at every step, FX included;
* every closed trade's PnL equal to the independent one, and closed trades plus open PnL
  equal to the equity change;
* the same equity whichever adjustment the feeds use (none, difference, ratio).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from stratforge import RunSpec, run_backtest
from stratforge.core.plugins import Plugins
from stratforge.core.settings import Settings
from stratforge.futures import ContractChain, ContractId, ContractSpec
from tests.accounting_helpers import Book, Fill, Market, equity_by_step
from tests.futures_helpers import TEST_SPEC
from tests.test_futures_accounting import Scripted, bars

MONTHS = "HMU"
START_CASH = 10_000_000.0
EUR_SPEC = dataclasses.replace(TEST_SPEC, root="TE", currency="EUR")
DRAWN: dict[str, Any] = {}


@dataclass
class Feed:
    """One drawn market: its bar days, contracts (raw bars), roll days and FX."""

    root: str
    days: pd.DatetimeIndex
    frames: dict[str, pd.DataFrame]
    roll_days: list[pd.Timestamp]
    expire_last: bool
    fx: pd.Series | None

    def __repr__(self) -> str:  # hypothesis prints falsifying examples: keep them short
        return (
            f"Feed({self.root}, {len(self.days)} days to {self.days[-1].date()}, "
            f"{list(self.frames)}, rolls={[d.date().isoformat() for d in self.roll_days]}, "
            f"expire_last={self.expire_last}, fx={self.fx is not None})"
        )

    def held_on(self, day: pd.Timestamp) -> str:
        return list(self.frames)[sum(1 for r in self.roll_days if r <= day)]

    def chain(self) -> ContractChain:
        spec = EUR_SPEC if self.root == "TE" else TEST_SPEC
        frames = {ContractId.parse(code): frame for code, frame in self.frames.items()}
        last = ContractId.parse(list(self.frames)[-1])
        expiries = {last: self.days[-1].date()} if self.expire_last else {}
        return ContractChain(spec, frames, expiries)


def drawn_chain(*, key: str, contract: ContractSpec | None = None) -> ContractChain:
    return DRAWN[key].chain()


def drawn_fx(*, key: str) -> pd.DataFrame:
    rates = DRAWN[key].fx
    return pd.DataFrame(
        {c: rates.to_numpy() for c in ("open", "high", "low", "close")}
        | {"volume": 0.0, "openinterest": 0.0},
        index=pd.DatetimeIndex(rates.index, name="datetime"),
    )


@pytest.fixture(scope="module")
def plugins() -> Plugins:
    loaded = Plugins.load(Settings())
    reg = loaded.registries
    reg.contracts.register(TEST_SPEC, name="TT", plugin="tests")
    reg.contracts.register(EUR_SPEC, name="TE", plugin="tests")
    reg.strategies.register(Scripted, name="scripted", plugin="tests")
    reg.data_sources.register(drawn_chain, name="drawn_chain", plugin="tests")
    reg.data_sources.register(drawn_fx, name="drawn_fx", plugin="tests")
    return loaded


@st.composite
def feeds(draw: st.DrawFn, base: pd.DatetimeIndex, root: str) -> Feed:
    holidays = draw(st.sets(st.integers(1, len(base) - 1), max_size=len(base) // 5))
    days = base[[i for i in range(len(base)) if i not in holidays]]
    if draw(st.booleans()):  # data that ends early
        days = days[: draw(st.integers(8, len(days)))]
    count = draw(st.integers(1, len(MONTHS)))
    roll_at = sorted(
        draw(st.sets(st.integers(2, len(days) - 2), min_size=count - 1, max_size=count - 1))
    )
    frames = {}
    for k, month in enumerate(MONTHS[:count]):
        steps = draw(st.lists(st.integers(-4, 4), min_size=len(days), max_size=len(days)))
        closes = 100.0 + 8 * k + np.cumsum(steps) / 2
        frames[f"{root}{month}24"] = bars(list(closes), days)
    fx = None
    if root == "TE":
        cents = draw(st.lists(st.integers(60, 180), min_size=len(base), max_size=len(base)))
        fx = pd.Series(np.asarray(cents) / 100, index=base)
    return Feed(root, days, frames, [days[i] for i in roll_at], draw(st.booleans()), fx)


@st.composite
def portfolios(draw: st.DrawFn) -> tuple[list[Feed], list[dict[str, Any]]]:
    base = pd.bdate_range("2024-01-01", periods=draw(st.integers(20, 40)))
    roots = draw(st.lists(st.sampled_from(["TT", "TE"]), min_size=1, max_size=3))
    drawn = [draw(feeds(base, root)) for root in roots]
    steps = len(pd.DatetimeIndex(sorted(set().union(*(f.days for f in drawn)))))
    # most feeds open a position at once, so rolls and expiries usually meet one
    opening = [
        {"at": 1, "feed": i, "size": draw(st.sampled_from([-2, -1, 1, 2]))}
        for i in range(len(drawn))
        if draw(st.integers(0, 3))
    ]
    script = opening + draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "at": st.integers(1, steps),
                    "feed": st.integers(0, len(drawn) - 1),
                    "size": st.sampled_from([-3, -2, -1, 1, 2, 3]),
                }
            ),
            max_size=8,
        )
    )
    return drawn, script


def expected_fills(
    feed: Feed, index: int, script: list[dict], clock: pd.DatetimeIndex
) -> tuple[list[Fill], list[tuple[pd.Timestamp, str, str, float]]]:
    """Every execution the account must see for one feed, and its roll events.

    Orders that fill on one bar execute in the order they were placed: by step, and in
    script order within a step (the order ``Scripted`` places them in). A feed with no bar
    for a few steps fills all the orders of those steps on its next bar, and the script
    need not list them by step: taken in script order, a later order could fill first and
    split the trades differently (a long closed and a short opened, where the account
    held one short it reduced).
    """
    placed = [(clock[a["at"] - 1], a["size"]) for a in script if a["feed"] == index]
    orders = sorted(placed, key=lambda order: order[0])  # stable: same step, script order
    fills: list[Fill] = []
    rolls = []
    position = 0.0
    for day in feed.days:
        held = feed.held_on(day)
        frame = feed.frames[held]
        if day in feed.roll_days and position:
            old = feed.frames[feed.held_on(day - pd.Timedelta(microseconds=1))]
            old_code = feed.held_on(day - pd.Timedelta(microseconds=1))
            fills.append(Fill(day, old_code, -position, float(old.loc[day, "open"])))
            fills.append(Fill(day, held, position, float(frame.loc[day, "open"])))
            rolls.append((day, old_code, held, position))
        previous = feed.days[feed.days < day]
        since = previous[-1] if len(previous) else pd.Timestamp.min
        for placed, size in orders:
            if since <= placed < day:
                fills.append(Fill(day, held, float(size), float(frame.loc[day, "open"])))
                position += size
        if day == feed.days[-1] and feed.expire_last and position:
            fills.append(Fill(day, held, -position, float(frame.loc[day, "close"])))
            position = 0.0
    return fills, rolls


def orders_listed_out_of_step() -> tuple[list[Feed], list[dict[str, Any]]]:
    """A portfolio where two orders fill on one bar in the reverse of their script order.

    The second feed has no bar on steps 2 to 4, so the sell placed on step 2 and the buy
    placed on step 3 (listed first) both fill on step 5: the account goes short 3 and
    reduces to 2 (one trade), never long 1 then short 2 (two trades).
    """
    base = pd.bdate_range("2024-01-01", periods=20)
    gapped = base[[i for i in range(len(base)) if i not in (1, 2, 3)]]
    closes = [100.0, 101.0, 103.0, 102.0, 104.0] + [104.0 + k / 2 for k in range(12)]
    drawn = [
        Feed("TT", base, {"TTH24": bars([100.0] * len(base), base)}, [], False, None),
        Feed("TT", gapped, {"TTH24": bars(closes, gapped)}, [], False, None),
    ]
    script = [
        {"at": 3, "feed": 1, "size": 1},
        {"at": 2, "feed": 1, "size": -3},
        {"at": 10, "feed": 1, "size": 2},
    ]
    return drawn, script


def run(plugins: Plugins, drawn: list[Feed], script: list[dict], adjust: str) -> Any:
    datas, fx_rates = [], {}
    for i, feed in enumerate(drawn):
        DRAWN[f"feed{i}"] = feed
        datas.append(
            {
                "source": "drawn_chain",
                "args": {"key": f"feed{i}"},
                "root": feed.root,
                "symbol": f"M{i}",
                "adjust": adjust,
                "roll": {
                    "name": "schedule",
                    "params": {"dates": [d.date().isoformat() for d in feed.roll_days]},
                },
            }
        )
        if feed.fx is not None:
            fx_rates["EUR"] = {"source": "drawn_fx", "args": {"key": f"feed{i}"}}
    # every EUR feed shares the first EUR feed's rates, as one account's FX series would
    for feed in drawn:
        if feed.fx is not None:
            feed.fx = next(f.fx for f in drawn if f.fx is not None)
    spec = {
        "data": datas,
        "strategy": {"name": "scripted", "params": {"script": script}},
        "cash": START_CASH,
        "fx_rates": fx_rates,
    }
    return run_backtest(RunSpec.model_validate(spec), plugins=plugins)


def result_fills(result: Any, name: str) -> list[Fill]:
    return [
        Fill(pd.Timestamp(o.executed_datetime), o.contract, o.executed_size, o.executed_price)
        for o in result.orders
        if o.data == name and o.executed_size
    ]


def key(fill: Fill) -> tuple:
    return (fill.day, fill.contract, fill.size, round(fill.price, 9))


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(portfolio=portfolios())
@example(portfolio=orders_listed_out_of_step())
def test_accounting_equals_an_independent_mark_to_market(
    plugins: Plugins, portfolio: tuple[list[Feed], list[dict[str, Any]]]
) -> None:
    drawn, script = portfolio
    result = run(plugins, drawn, script, "difference")
    clock = pd.DatetimeIndex(result.equity.datetime)
    assert list(clock) == sorted(set().union(*(f.days for f in drawn)))
    books = []
    for i, feed in enumerate(drawn):
        name = f"M{i}"
        fills, rolls = expected_fills(feed, i, script, clock)
        # every execution, roll legs and settlements included, and nothing else
        assert sorted(map(key, result_fills(result, name))) == sorted(map(key, fills))
        events = [
            (pd.Timestamp(r.datetime), r.from_contract, r.to_contract, r.size)
            for r in result.rolls
            if r.data == name
        ]
        assert events == rolls  # one roll per contract switch of a held position
        assert sum(o.roll for o in result.orders if o.data == name) == 2 * len(rolls)
        event(f"rolls of a held position: {min(len(rolls), 2)}+")
        event(f"settled at expiry: {len([r for r in result.settlements if r.data == name])}")
        event(f"quoted in EUR: {feed.fx is not None}; ended early: {feed.days[-1] != clock[-1]}")
        closes = {code: frame["close"] for code, frame in feed.frames.items()}
        market = Market(
            name, closes, feed.days, TEST_SPEC.multiplier, TEST_SPEC.commission, feed.fx
        )
        book = Book(market).run(fills)
        books.append(book)
        trades = [t for t in result.trades if t.data == name]
        assert [t.pnl for t in trades] == pytest.approx(
            [t.pnl for t in book.closed], rel=1e-9, abs=1e-6
        )
        assert [t.pnl_net for t in trades] == pytest.approx(
            [t.pnl_net for t in book.closed], rel=1e-9, abs=1e-6
        )
    expected = equity_by_step(START_CASH, books, clock)
    assert result.equity.value == pytest.approx(list(expected), rel=1e-12)
    open_pnl = sum(b.open.pnl_net for b in books if b.open is not None)
    closed = sum(t.pnl_net for t in result.trades)
    change = result.metrics.end_value - result.metrics.start_value
    assert closed + open_pnl == pytest.approx(change, rel=1e-9, abs=1e-6)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(portfolio=portfolios())
def test_a_held_positions_result_does_not_depend_on_the_adjustment(
    plugins: Plugins, portfolio: tuple[list[Feed], list[dict[str, Any]]]
) -> None:
    drawn, script = portfolio
    runs = [run(plugins, drawn, script, adjust) for adjust in ("none", "difference", "ratio")]
    first = runs[0]
    for other in runs[1:]:
        assert other.equity.value == pytest.approx(first.equity.value, rel=1e-12)
        assert [t.pnl for t in other.trades] == pytest.approx(
            [t.pnl for t in first.trades], rel=1e-12
        )
        assert [r.model_dump() for r in other.rolls] == [r.model_dump() for r in first.rolls]
