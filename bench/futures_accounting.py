"""Futures accounting on real data: a five-market portfolio against an independent mark-to-market.

Reads pysystemtrade's multiple prices (``../shared/oracle/pysystemtrade``, real contract
prices of SP500, GOLD, CRUDE_W, US10 and CORN, each on its own exchange's timestamps) and
builds each market's contract chain and roll points as ``bench/futures.py`` does. One market
(GOLD) is booked as if quoted in EUR against a seeded EUR/USD walk, so FX is exercised on a
real calendar. The run holds a position in every market from the first step, changes its size
on a few steps and rolls it at every pysystemtrade roll.

The script works out, without stratforge's broker, every fill the account must see (the
orders at the next bar of their market, both legs of every roll) and books them with the
independent mark-to-market of ``tests/accounting_helpers.py``; then it compares the account
value at every step of the run, each roll event and each closed trade's PnL. It stops with an
error on any difference beyond float rounding.

    .venv/bin/python bench/futures_accounting.py                   # 2018-01-01 to 2023-08-31
    .venv/bin/python bench/futures_accounting.py --start 2010-01-01
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from futures import ORACLE, oracle_chain  # noqa: E402  (bench/futures.py)

from stratforge import RunSpec, run_backtest  # noqa: E402
from stratforge.core.plugins import Plugins  # noqa: E402
from stratforge.core.settings import Settings  # noqa: E402
from stratforge.futures import ContractChain, ContractSpec  # noqa: E402
from stratforge.futures.chain import RollPoint  # noqa: E402
from tests.accounting_helpers import Book, Fill, Market, equity_by_step  # noqa: E402

MARKETS = {"SP500": 50.0, "GOLD": 100.0, "CRUDE_W": 1000.0, "US10": 1000.0, "CORN": 50.0}
"""pysystemtrade's point sizes (config/instrumentconfig.csv)."""
IN_EUR = "GOLD"
COMMISSION = 2.5
CASH = 10_000_000.0
ORDERS = {0: 2, 400: 1, 1500: -2, 2600: -1, 3300: 3}
"""Call of ``next`` (0: the first step on which every market has a bar) -> contracts bought
(sold when negative), the same for every market."""


class Portfolio(bt.Strategy):
    """Buys ORDERS[n] contracts of every market on its n-th call of ``next``."""

    def __init__(self) -> None:
        self.calls = 0

    def next(self) -> None:
        size = ORDERS.get(self.calls)
        self.calls += 1
        if size:
            for data in self.datas:
                (self.buy if size > 0 else self.sell)(data=data, size=abs(size))


@dataclasses.dataclass
class Loaded:
    name: str
    chain: ContractChain
    rolls: list[RollPoint]
    fx: pd.Series | None


def load(name: str, start: pd.Timestamp) -> Loaded:
    full, rolls, _moved = oracle_chain(name)
    spec = dataclasses.replace(
        full.spec,
        multiplier=MARKETS[name],
        commission=COMMISSION,
        initial_margin=1_000.0,
        currency="EUR" if name == IN_EUR else "USD",
    )
    # from *start* to the last bar of the contract held after pysystemtrade's last roll, and
    # no later contract: the series then ends where pysystemtrade's does, with no forced roll
    last = rolls[-1].to_contract
    end = full.frames[last].index[-1]
    frames = {
        c: f.loc[start:end] for c, f in full.frames.items() if c <= last and len(f.loc[start:end])
    }
    chain = ContractChain(spec, frames)
    first = min(f.index[0] for f in frames.values())
    kept = [r for r in rolls if r.at > first and r.from_contract in frames]
    fx = None
    if name == IN_EUR:
        stamps = pd.DatetimeIndex(sorted(set().union(*(f.index for f in frames.values()))))
        walk = np.random.default_rng(3).normal(0.0, 0.004, len(stamps)).cumsum()
        fx = pd.Series(1.1 * np.exp(walk), index=stamps)
    return Loaded(name, chain, kept, fx)


def run(markets: list[Loaded]) -> Any:
    plugins = Plugins.load(Settings())
    reg = plugins.registries
    reg.strategies.register(Portfolio, name="portfolio", plugin="bench")
    for market in markets:
        reg.contracts.register(market.chain.spec, name=market.name, plugin="bench", replace=True)

    def oracle(*, name: str, contract: ContractSpec | None = None) -> ContractChain:
        return next(m.chain for m in markets if m.name == name)

    def eurusd() -> pd.DataFrame:
        rates = next(m.fx for m in markets if m.fx is not None)
        assert rates is not None
        frame = pd.DataFrame({c: rates.to_numpy() for c in ("open", "high", "low", "close")})
        frame["volume"] = frame["openinterest"] = 0.0
        frame.index = pd.DatetimeIndex(rates.index, name="datetime")
        return frame

    reg.data_sources.register(oracle, name="oracle", plugin="bench")
    reg.data_sources.register(eurusd, name="eurusd", plugin="bench")
    datas = [
        {
            "source": "oracle",
            "args": {"name": m.name},
            "root": m.name,
            "adjust": "difference",
            "fill_missing": True,
            "roll": {"name": "schedule", "params": {"dates": [str(r.at) for r in m.rolls]}},
        }
        for m in markets
    ]
    spec = {
        "data": datas,
        "strategy": {"name": "portfolio"},
        "cash": CASH,
        "fx_rates": {"EUR": {"source": "eurusd"}},
    }
    return run_backtest(RunSpec.model_validate(spec), plugins=plugins)


def expected_book(
    market: Loaded, clock: pd.DatetimeIndex, first_call: int
) -> tuple[Book, list[tuple]]:
    """The fills a futures account must see for one market, booked independently;
    *first_call* is the step of the strategy's first ``next``."""
    frames = {c.code: f for c, f in market.chain.frames.items()}
    rolls = {r.at: r for r in market.rolls}
    held = market.rolls[0].from_contract.code if market.rolls else min(frames)
    first = frames[held].index[0]
    bars = [first]
    for roll in market.rolls:
        segment = frames[roll.from_contract.code]
        bars += list(segment.index[(segment.index > bars[-1]) & (segment.index < roll.at)])
        bars.append(roll.at)
    tail = frames[market.rolls[-1].to_contract.code if market.rolls else held]
    bars += list(tail.index[tail.index > bars[-1]])
    days = pd.DatetimeIndex(bars)
    orders = sorted(
        (clock[first_call + n], size) for n, size in ORDERS.items() if first_call + n < len(clock)
    )
    fills, events, position = [], [], 0.0
    for day in days:
        if day in rolls:
            roll = rolls[day]
            old, new = roll.from_contract.code, roll.to_contract.code
            if position:
                earlier = frames[old]["close"].loc[:day]
                exit_price = float(frames[old]["open"].get(day, earlier.iloc[-1]))
                fills.append(Fill(day, old, -position, exit_price))
                fills.append(Fill(day, new, position, float(frames[new].loc[day, "open"])))
                events.append((day, old, new, position))
            held = new
        previous = days[days < day]
        since = previous[-1] if len(previous) else pd.Timestamp.min
        for placed, size in orders:
            if since <= placed < day:
                fills.append(Fill(day, held, float(size), float(frames[held].loc[day, "open"])))
                position += size
    closes = {code: frame["close"] for code, frame in frames.items()}
    account = Market(market.name, closes, days, MARKETS[market.name], COMMISSION, market.fx)
    return Book(account).run(fills), events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", default="2018-01-01", help="first timestamp used")
    args = parser.parse_args()
    if not ORACLE.is_dir():
        print(f"skipped: {ORACLE} is absent (the oracle data is not part of the repository)")
        return
    started = time.perf_counter()
    markets = [load(name, pd.Timestamp(args.start)) for name in MARKETS]
    loaded = time.perf_counter()
    result = run(markets)
    ran = time.perf_counter()
    clock = pd.DatetimeIndex(result.equity.datetime)
    books = []
    print(f"{len(clock):,} steps (the union of {len(markets)} markets' timestamps)")
    # backtrader calls next once every market has a bar: the latest first bar
    starts = [min(f.index[0] for f in m.chain.frames.values()) for m in markets]
    first_call = int(clock.get_loc(max(starts)))
    for market in markets:
        book, events = expected_book(market, clock, first_call)
        books.append(book)
        got = [
            (pd.Timestamp(r.datetime), r.from_contract, r.to_contract, r.size)
            for r in result.rolls
            if r.data == market.name
        ]
        assert got == events, f"{market.name}: roll events differ"
        trades = [t for t in result.trades if t.data == market.name]
        want = np.array([t.pnl_net for t in book.closed])
        have = np.array([t.pnl_net for t in trades])
        assert len(have) == len(want), f"{market.name}: {len(have)} trades, expected {len(want)}"
        worst = float(np.max(np.abs(have - want))) if len(want) else 0.0
        print(
            f"  {market.name:<8} {len(book.market.days):6,} bars  {len(events):3d} rolls of the "
            f"held position  {len(trades):3d} closed trades, max |PnL diff| {worst:.2e}"
            + ("  (quoted in EUR)" if market.fx is not None else "")
        )
        assert worst <= 1e-6 * max(1.0, float(np.max(np.abs(want))) if len(want) else 1.0)
    expected = equity_by_step(CASH, books, clock).to_numpy()
    value = np.asarray(result.equity.value)
    diff = np.abs(value - expected)
    print(
        f"account value at every step: max |diff| {diff.max():.2e} "
        f"(relative {np.max(diff / expected):.1e}), final {value[-1]:,.2f} "
        f"vs independent {expected[-1]:,.2f}"
    )
    assert np.max(diff / expected) < 1e-12, "the account value differs from the mark-to-market"
    print(f"load {loaded - started:.1f} s, backtest {ran - loaded:.1f} s, check done")


if __name__ == "__main__":
    main()
