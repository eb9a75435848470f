"""Roll rules: when a continuous series switches from one contract to the next.

Each rule is a function ``rule(chain, **params) -> list[RollPoint]`` registered through
``register_roll_rules``. Rules never roll backwards, skip contracts with no data, and use
only data up to the bar on which they decide (no look-ahead).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from stratforge.futures.calendar import add_business_days, rule_calendar
from stratforge.futures.chain import ContractChain, RollPoint
from stratforge.futures.contracts import ContractId
from stratforge.plugin.hookspecs import hookimpl
from stratforge.plugin.registry import Register

RollRule = Callable[..., list[RollPoint]]


class RollRuleError(ValueError):
    """A roll rule cannot produce a schedule for this chain."""


def _first_bar_at_or_after(frame: pd.DataFrame, when: pd.Timestamp) -> pd.Timestamp | None:
    position = int(frame.index.searchsorted(when, side="left"))
    return frame.index[position] if position < len(frame.index) else None


def _after_last_bar(frame: pd.DataFrame, old: pd.DataFrame) -> pd.Timestamp | None:
    """The first bar of *frame* after *old*'s last bar: where a forced roll happens."""
    position = frame.index.searchsorted(old.index[-1], side="right")
    return frame.index[position] if position < len(frame.index) else None


def roll_at_targets(
    chain: ContractChain, target: Callable[[ContractId], pd.Timestamp]
) -> list[RollPoint]:
    """Roll from each contract at the first bar of the next one on or after ``target``,
    and at the latest just after the old contract's last bar."""
    return _roll_at(chain, lambda contract, _since: target(contract))


def _roll_at(
    chain: ContractChain, target: Callable[[ContractId, pd.Timestamp], pd.Timestamp]
) -> list[RollPoint]:
    """``roll_at_targets`` whose target also sees when the held contract's segment began."""
    contracts = chain.contracts()
    rolls: list[RollPoint] = []
    segment_start: pd.Timestamp | None = None
    for current, upcoming in itertools.pairwise(contracts):
        old, new = chain.frames[current], chain.frames[upcoming]
        since = segment_start if segment_start is not None else old.index[0]
        when = max(target(current, since), new.index[0])
        if segment_start is not None:
            when = max(when, segment_start + pd.Timedelta(microseconds=1))
        at = _first_bar_at_or_after(new, when)
        forced = _after_last_bar(new, old)
        if at is None or (forced is not None and at > forced):
            at = forced
        if at is None:
            break  # the next contract has no bar after this one: the series ends here
        rolls.append(RollPoint(at, current, upcoming))
        segment_start = at
    return rolls


def days_before_expiry(chain: ContractChain, /, *, days: int = 5) -> list[RollPoint]:
    """Roll N business days before the current contract's last trade date.

    Args:
        days: business days before the last trade date on which the next contract takes over
    """
    if days < 0:
        raise RollRuleError("days must be >= 0")
    calendar = rule_calendar(chain.spec.expiry_rule).name

    def target(contract: ContractId) -> pd.Timestamp:
        expiry = chain.last_trade_date(contract)
        return pd.Timestamp(add_business_days(expiry, -days, calendar=calendar))

    return roll_at_targets(chain, target)


def first_of_month(chain: ContractChain, /) -> list[RollPoint]:
    """Roll on the first day of the current contract's month, or at its last trade date if
    that comes first (energy contracts expire in the month before)."""

    def target(contract: ContractId) -> pd.Timestamp:
        first_day = dt.date(contract.year, contract.month, 1)
        return pd.Timestamp(min(first_day, chain.last_trade_date(contract)))

    return roll_at_targets(chain, target)


def schedule(chain: ContractChain, /, *, dates: list[str]) -> list[RollPoint]:
    """Roll on explicit dates: on each date, from the contract then held to the next one.

    Dates before the data (or before the window of a backtest) are history and ignored; a
    contract whose data ends before the next date is rolled when it ends.

    Args:
        dates: roll dates in increasing order, as a JSON list or comma-separated ISO dates
    """
    parsed = [pd.Timestamp(d) for d in dates]
    if any(b <= a for a, b in itertools.pairwise(parsed)):
        raise RollRuleError("schedule dates must be strictly increasing")
    far_future = pd.Timestamp("2200-01-01")  # no date left: roll only when forced

    def next_date(_contract: ContractId, since: pd.Timestamp) -> pd.Timestamp:
        return next((d for d in parsed if d > since), far_future)

    return _roll_at(chain, next_date)


def _crossover(chain: ContractChain, column: str, confirm: int) -> list[RollPoint]:
    if confirm < 1:
        raise RollRuleError("confirm must be >= 1")
    contracts = chain.contracts()
    rolls: list[RollPoint] = []
    segment_start = chain.frames[contracts[0]].index[0] if contracts else None
    for current, upcoming in itertools.pairwise(contracts):
        old, new = chain.frames[current], chain.frames[upcoming]
        at = _first_confirmed_crossover(old, new, column, confirm, segment_start)
        forced = _after_last_bar(new, old)
        if at is None or (forced is not None and at > forced):
            at = forced
        if at is None:
            break
        rolls.append(RollPoint(at, current, upcoming))
        segment_start = at
    return rolls


def _first_confirmed_crossover(
    old: pd.DataFrame,
    new: pd.DataFrame,
    column: str,
    confirm: int,
    segment_start: pd.Timestamp | None,
) -> pd.Timestamp | None:
    """The bar after ``confirm`` consecutive bars on which new[column] > old[column]."""
    both = pd.concat([old[column], new[column]], axis=1, keys=["old", "new"], join="inner")
    if segment_start is not None:
        both = both.loc[segment_start:]
    ahead = (both["new"] > both["old"]).to_numpy()
    if not ahead.any():
        return None
    run = np.convolve(ahead.astype(np.int64), np.ones(confirm, dtype=np.int64))[: len(ahead)]
    confirmed = np.flatnonzero(run >= confirm)
    if not len(confirmed):
        return None
    decided_on = both.index[confirmed[0]]
    position = new.index.searchsorted(decided_on, side="right")
    return new.index[position] if position < len(new.index) else None


def volume_crossover(chain: ContractChain, /, *, confirm: int = 1) -> list[RollPoint]:
    """Roll when the next contract's volume exceeds the current one's.

    Args:
        confirm: consecutive bars the next contract must lead before the roll (on the bar after)
    """
    return _crossover(chain, "volume", confirm)


def open_interest_crossover(chain: ContractChain, /, *, confirm: int = 1) -> list[RollPoint]:
    """Roll when the next contract's open interest exceeds the current one's.

    Args:
        confirm: consecutive bars the next contract must lead before the roll (on the bar after)
    """
    return _crossover(chain, "openinterest", confirm)


BUILTIN_ROLL_RULES: dict[str, tuple[RollRule, Sequence[str]]] = {
    "days_before_expiry": (days_before_expiry, ("expiry",)),
    "volume": (volume_crossover, ("volume_crossover",)),
    "open_interest": (open_interest_crossover, ("oi", "open_interest_crossover")),
    "first_of_month": (first_of_month, ("calendar_month",)),
    "schedule": (schedule, ("calendar",)),
}


@hookimpl
def register_roll_rules(register: Register) -> None:
    for name, (rule, aliases) in BUILTIN_ROLL_RULES.items():
        register(rule, name=name, aliases=list(aliases))
