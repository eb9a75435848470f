"""Continuous series from contract chains: splice by roll points, then adjust.

The gap at each roll is measured on the last bar of the old contract's segment (the bar
before the roll), where both contracts must have a close:

* ``none``: raw splice.
* ``difference`` (backward Panama): add each later gap (next - current) to earlier prices;
  the last value equals the last raw price.
* ``ratio`` (backward proportional): multiply earlier prices by next / current; per-bar
  returns off the roll are preserved.
* ``forward_difference``: keep the first contract's level and subtract earlier gaps from
  later prices.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from stratforge.futures.chain import ContractChain, RollPoint
from stratforge.futures.contracts import ContractId

Adjustment = Literal["none", "difference", "ratio", "forward_difference"]
ADJUSTMENTS: tuple[str, ...] = ("none", "difference", "ratio", "forward_difference")
PRICE_COLUMNS = ("open", "high", "low", "close")
ROLL_COLUMNS = (
    "date",
    "from_contract",
    "to_contract",
    "measured_on",
    "from_price",
    "to_price",
    "gap",
    "factor",
)


class MissingRollPriceError(ValueError):
    """A contract has no price on the bar where a roll gap must be measured."""


@dataclass
class ContinuousSeries:
    """An adjusted continuous frame with the raw prices and contract behind every bar."""

    root: str
    adjustment: str
    frame: pd.DataFrame
    """Canonical OHLCV + openinterest, prices adjusted: what strategies and indicators see."""
    raw: pd.DataFrame
    """Unadjusted open/high/low/close of the contract held on each bar, plus ``roll_exit``:
    on a roll bar, the old contract's price for closing the position (its open that bar, or
    its last close when it has no bar then); NaN elsewhere. ``next_close`` is the close of
    the nearest later-expiring contract priced on that bar and ``carry_years`` the time
    between the two expiries (both NaN when no later contract has a price): the inputs of
    roll yield (carry)."""
    contracts: list[ContractId]
    """Contracts in the order used; ``contract_index`` indexes this list."""
    contract_index: np.ndarray
    rolls: pd.DataFrame
    """One row per roll: ``ROLL_COLUMNS``."""
    last_trade_dates: list[dt.date] = field(default_factory=list)
    """The last trade date of each of ``contracts`` (the chain's, overrides included)."""

    def contract_codes(self) -> pd.Series:
        codes = np.array([c.code for c in self.contracts], dtype=object)
        return pd.Series(codes[self.contract_index], index=self.frame.index, name="contract")


def build_continuous(
    chain: ContractChain,
    rolls: Sequence[RollPoint],
    adjustment: Adjustment | str = "difference",
    *,
    fill_missing: bool = False,
) -> ContinuousSeries:
    """Splice *chain* at *rolls* and adjust the prices; see the module docstring."""
    if adjustment not in ADJUSTMENTS:
        raise ValueError(f"adjustment {adjustment!r} is not one of {', '.join(ADJUSTMENTS)}")
    rolls, first = _without_rolled_leaders(chain, [_snap_to_bar(chain, roll) for roll in rolls])
    contracts = _segment_contracts(chain, rolls, first)
    starts = [None, *[r.at for r in rolls]]
    pieces: list[pd.DataFrame] = []
    gaps: list[float] = []
    factors: list[float] = []
    table: list[dict[str, object]] = []
    for k, contract in enumerate(contracts):
        frame = chain.frames[contract]
        end = rolls[k].at if k < len(rolls) else None
        piece = frame.loc[starts[k] :] if starts[k] is not None else frame
        if end is not None:
            piece = piece.loc[piece.index < end]
        if not len(piece):
            raise ValueError(f"contract {contract} has no bars between its rolls")
        pieces.append(piece)
    for k, roll in enumerate(rolls):
        row = _measure_gap(chain, roll, pieces[k].index[-1], fill_missing)
        gaps.append(float(row["gap"]))  # type: ignore[arg-type]
        factors.append(float(row["factor"]))  # type: ignore[arg-type]
        table.append(row)
    return _assemble(chain, contracts, pieces, rolls, gaps, factors, table, adjustment)


def _without_rolled_leaders(
    chain: ContractChain, rolls: list[RollPoint]
) -> tuple[list[RollPoint], ContractId | None]:
    """Drop leading rolls out of contracts that have no bar before the roll; with the
    contract the series then starts in (None when nothing was dropped).

    A window that starts between a contract's roll date and its expiry still holds that
    contract's last bars, but the roll rule already moved on at the first bar: the series
    starts in the contract the rule holds there, not with an empty segment.
    """
    first: ContractId | None = None
    while rolls and not (chain.frames[rolls[0].from_contract].index < rolls[0].at).any():
        first, rolls = rolls[0].to_contract, rolls[1:]
    return rolls, first


def _snap_to_bar(chain: ContractChain, roll: RollPoint) -> RollPoint:
    """A roll at the new contract's first bar at or after ``roll.at``."""
    index = chain.frames[roll.to_contract].index
    position = int(index.searchsorted(roll.at, side="left"))
    if position >= len(index):
        raise ValueError(f"{roll.to_contract} has no bar on or after the roll at {roll.at}")
    at = index[position]
    return roll if at == roll.at else RollPoint(at, roll.from_contract, roll.to_contract)


def _segment_contracts(
    chain: ContractChain, rolls: Sequence[RollPoint], first: ContractId | None = None
) -> list[ContractId]:
    available = chain.contracts()
    if not available:
        raise ValueError(f"the {chain.root} chain has no contract with data")
    contracts = [rolls[0].from_contract if rolls else first or available[0]]
    for roll in rolls:
        if roll.from_contract != contracts[-1]:
            raise ValueError(f"roll {roll} does not start from the held contract {contracts[-1]}")
        if roll.to_contract <= roll.from_contract:
            raise ValueError(f"roll {roll} goes backwards")
        contracts.append(roll.to_contract)
    if any(b.at <= a.at for a, b in itertools.pairwise(rolls)):
        raise ValueError("roll points must be in increasing time order")
    return contracts


def _measure_gap(
    chain: ContractChain, roll: RollPoint, measured_on: pd.Timestamp, fill_missing: bool
) -> dict[str, object]:
    old_price = _close_on(chain, roll.from_contract, measured_on, roll, fill_missing)
    new_price = _close_on(chain, roll.to_contract, measured_on, roll, fill_missing)
    return {
        "date": roll.at,
        "from_contract": roll.from_contract.code,
        "to_contract": roll.to_contract.code,
        "measured_on": measured_on,
        "from_price": old_price,
        "to_price": new_price,
        "gap": new_price - old_price,
        "factor": new_price / old_price if old_price else float("nan"),
    }


def _close_on(
    chain: ContractChain,
    contract: ContractId,
    when: pd.Timestamp,
    roll: RollPoint,
    fill_missing: bool,
) -> float:
    closes = chain.frames[contract]["close"]
    if when in closes.index and np.isfinite(closes.loc[when]):
        return float(closes.loc[when])
    if fill_missing:
        earlier = closes.loc[:when].dropna()
        if len(earlier):
            return float(earlier.iloc[-1])
    raise MissingRollPriceError(
        f"{contract} has no close on {when}, the bar before the roll from "
        f"{roll.from_contract} to {roll.to_contract}; supply that price, or set "
        "fill_missing=true (CLI --fill-missing) to use its last earlier close"
    )


def _offsets(gaps: list[float], factors: list[float], adjustment: str) -> tuple[list, list]:
    """Per-segment additive offsets and multiplicative factors."""
    n = len(gaps) + 1
    add, mul = [0.0] * n, [1.0] * n
    if adjustment == "difference":
        for k in range(n - 2, -1, -1):
            add[k] = add[k + 1] + gaps[k]
    elif adjustment == "forward_difference":
        for k in range(1, n):
            add[k] = add[k - 1] - gaps[k - 1]
    elif adjustment == "ratio":
        for k in range(n - 2, -1, -1):
            if not np.isfinite(factors[k]) or factors[k] <= 0:
                raise ValueError(
                    f"ratio adjustment needs positive prices; roll {k + 1} has factor {factors[k]}"
                )
            mul[k] = mul[k + 1] * factors[k]
    return add, mul


def _add_gaps_in_roll_order(
    prices: np.ndarray, lengths: np.ndarray, gaps: list[float]
) -> np.ndarray:
    """Backward Panama, adding each roll's gap to all earlier prices, oldest roll first.

    Summing a segment's later gaps first and adding the sum once is the same in exact
    arithmetic, but this order reproduces the usual implementation (pysystemtrade's) bit
    for bit in float64.
    """
    adjusted = prices.copy()
    bounds = np.concatenate(([0], np.cumsum(lengths)))
    for k in range(len(gaps)):
        segment = adjusted[bounds[k] : bounds[k + 1]]
        for gap in gaps[k:]:
            segment += gap
    return adjusted


def _assemble(
    chain: ContractChain,
    contracts: list[ContractId],
    pieces: list[pd.DataFrame],
    rolls: Sequence[RollPoint],
    gaps: list[float],
    factors: list[float],
    table: list[dict[str, object]],
    adjustment: str,
) -> ContinuousSeries:
    add, mul = _offsets(gaps, factors, adjustment)
    lengths = np.array([len(p) for p in pieces])
    index_of = np.repeat(np.arange(len(pieces)), lengths)
    raw = pd.concat(pieces)
    prices = raw.loc[:, list(PRICE_COLUMNS)].to_numpy(dtype=np.float64)
    if adjustment == "difference":
        adjusted = _add_gaps_in_roll_order(prices, lengths, gaps)
    else:
        adjusted = prices * np.asarray(mul)[index_of, None] + np.asarray(add)[index_of, None]
    frame = pd.DataFrame(adjusted, index=raw.index, columns=list(PRICE_COLUMNS))
    frame["volume"] = raw["volume"].to_numpy(dtype=np.float64)
    frame["openinterest"] = raw["openinterest"].to_numpy(dtype=np.float64)
    frame.index.name = "datetime"
    raw_prices = raw.loc[:, list(PRICE_COLUMNS)].copy()
    raw_prices["roll_exit"] = _roll_exits(chain, rolls, pd.DatetimeIndex(raw_prices.index), table)
    raw_prices["next_close"], raw_prices["carry_years"] = _next_contract(chain, contracts, pieces)
    return ContinuousSeries(
        root=chain.root,
        adjustment=adjustment,
        frame=frame,
        raw=raw_prices,
        contracts=contracts,
        contract_index=index_of,
        rolls=pd.DataFrame(table, columns=list(ROLL_COLUMNS)),
        last_trade_dates=[chain.last_trade_date(c) for c in contracts],
    )


_CARRY_CANDIDATES = 3


def _next_contract(
    chain: ContractChain, contracts: list[ContractId], pieces: list[pd.DataFrame]
) -> tuple[np.ndarray, np.ndarray]:
    """Per bar, the next contract's close and the years to its expiry from the held one's.

    The next contract is chosen per bar among those priced on that bar, so a contract that
    only starts trading later never shapes earlier values (no look-ahead when truncated).
    """
    available = chain.contracts()
    closes, years = [], []
    for held, piece in zip(contracts, pieces, strict=True):
        close = np.full(len(piece), np.nan)
        carry = np.full(len(piece), np.nan)
        later = [c for c in available if c > held][:_CARRY_CANDIDATES]
        expiry = chain.last_trade_date(held)
        for candidate in later:
            prices = chain.frames[candidate]["close"].reindex(piece.index).to_numpy(np.float64)
            fill = np.isnan(close) & np.isfinite(prices)
            close[fill] = prices[fill]
            carry[fill] = (chain.last_trade_date(candidate) - expiry).days / 365.25
        closes.append(close)
        years.append(carry)
    if not closes:
        return np.empty(0), np.empty(0)
    return np.concatenate(closes), np.concatenate(years)


def _roll_exits(
    chain: ContractChain,
    rolls: Sequence[RollPoint],
    index: pd.DatetimeIndex,
    table: list[dict[str, object]],
) -> np.ndarray:
    exits = np.full(len(index), np.nan)
    for roll, row in zip(rolls, table, strict=True):
        old = chain.frames[roll.from_contract]
        price = old["open"].get(roll.at, np.nan)
        if not np.isfinite(price):
            price = row["from_price"]
        exits[index.get_loc(roll.at)] = price
    return exits
