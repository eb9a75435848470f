"""Look-ahead check: does a strategy decide anything with bars it could not have seen?

The strategy runs once on the full data, then again on the same bars cut after each of a
sample of its signal bars (bars where it created orders). A strategy that only uses the
past makes the same orders and computes the same indicator values up to the cut; any
difference, or an error at the cut, means it read a later bar.

The cut is made on the bars the strategy sees (for futures: the already adjusted
continuous series), so this checks the strategy and its indicators, not how a back-adjusted
history changes as new contracts arrive.
"""

from __future__ import annotations

import dataclasses
import math
import random
from dataclasses import dataclass, field
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd

from stratforge.core.build import build_cerebro
from stratforge.core.collect import num2iso
from stratforge.core.engine import prepare
from stratforge.core.load import Market
from stratforge.core.plugins import Plugins
from stratforge.core.spec import RunSpec
from stratforge.data.feed import date2num_array
from stratforge.futures.continuous import ContinuousSeries

DEFAULT_SAMPLES = 10


@dataclass(frozen=True)
class Finding:
    """One difference between the full run and a run cut after ``cut``."""

    cut: str
    kind: str
    """``order``, ``indicator`` or ``error``."""
    detail: str


@dataclass
class LookaheadReport:
    """The outcome of ``check_lookahead``: passed when no cut changed anything."""

    strategy: str
    bars: int
    cuts: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.findings

    def to_dict(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "passed": self.passed,
            "bars": self.bars,
            "cuts": self.cuts,
            "findings": [dataclasses.asdict(f) for f in self.findings],
        }


@dataclass
class _Trace:
    """What a run decided: its orders and its indicators' values, per bar of data0."""

    times: np.ndarray
    orders: list[tuple[float, str, str, float, str, float | None]]
    indicators: dict[str, dict[str, np.ndarray]]


def check_lookahead(
    spec: RunSpec,
    *,
    samples: int = DEFAULT_SAMPLES,
    plugins: Plugins | None = None,
    frame: pd.DataFrame | None = None,
) -> LookaheadReport:
    """Re-run *spec* cut after up to *samples* signal bars and compare with the full run."""
    if samples < 1:
        raise ValueError("samples must be at least 1")
    prepared = prepare(spec, plugins=plugins, frame=frame)
    full = _trace(prepared.resolved, prepared.markets, prepared.plugins)
    report = LookaheadReport(strategy=spec.strategy.name, bars=len(full.times))
    for cut in _cut_points(full, samples):
        when = num2iso(np.array([full.times[cut]]))[0]
        report.cuts.append(when)
        markets = [_truncated(m, full.times[cut]) for m in prepared.markets]
        try:
            partial = _trace(prepared.resolved, markets, prepared.plugins)
        except Exception as exc:  # a strategy reading past the last bar fails here
            report.findings.append(
                Finding(when, "error", f"the run cut here failed: {type(exc).__name__}: {exc}")
            )
            continue
        report.findings.extend(_compare(full, partial, cut, when))
    return report


def _trace(resolved: Any, markets: list[Market], plugins: Plugins) -> _Trace:
    seed = resolved.spec.seed
    random.seed(seed)
    np.random.seed(seed % 2**32)
    cerebro = build_cerebro(resolved, markets, plugins)
    orders: list[tuple[float, str, str, float, str, float | None]] = []
    cerebro.broker.on_order = lambda order: orders.append(_signature(order))
    strategy: bt.Strategy = cerebro.run()[0]
    data0 = strategy.datas[0]
    times = np.asarray(data0.datetime.array, dtype=np.float64)[: len(data0)]
    return _Trace(times, sorted(orders), _indicator_values(strategy))


def _signature(order: bt.Order) -> tuple[float, str, str, float, str, float | None]:
    """An order as created (brokers may reprice resting orders later, e.g. on a roll)."""
    market = order.exectype in (None, bt.Order.Market, bt.Order.Close)
    return (
        float(order.created.dt),
        getattr(order.data, "_name", ""),
        "buy" if order.isbuy() else "sell",
        float(order.created.size),
        order.getordername(),
        None if market or order.created.price is None else float(order.created.price),
    )


def _indicator_values(strategy: bt.Strategy) -> dict[str, dict[str, np.ndarray]]:
    values: dict[str, dict[str, np.ndarray]] = {}
    for position, indicator in enumerate(strategy.getindicators()):
        if not isinstance(indicator, bt.Indicator):
            continue
        name = f"{type(indicator).__name__}#{position}"
        values[name] = {
            alias: np.asarray(indicator.lines[i].array, dtype=np.float64)
            for i, alias in enumerate(indicator.getlinealiases())
        }
    return values


def _cut_points(full: _Trace, samples: int) -> list[int]:
    """Bars (indexes into data0) right after which to cut: evenly spread signal bars."""
    order_times = sorted({o[0] for o in full.orders})
    found = np.searchsorted(full.times, order_times)
    bars = [int(b) for b in found if b < len(full.times) - 1]
    if not bars:  # no signals: spread the cuts over the run instead
        bars = list(range(len(full.times) // 2, len(full.times) - 1))
    if len(bars) <= samples:
        return bars
    picks = np.linspace(0, len(bars) - 1, samples).round().astype(int).tolist()
    return sorted({bars[i] for i in picks})


def _truncated(market: Market, last_time: float) -> Market:
    """The market's bars up to *last_time* (backtrader float days), nothing later."""
    days = date2num_array(pd.DatetimeIndex(market.frame.index))
    keep = int(np.searchsorted(days, last_time + 1e-9, side="right"))
    series = market.series
    if series is not None:
        series = _cut_series(series, keep)
    fx = market.fx[:keep] if market.fx is not None else None
    return Market(market.name, market.frame.iloc[:keep], series, fx)


def _cut_series(series: ContinuousSeries, keep: int) -> ContinuousSeries:
    last = series.frame.index[keep - 1]
    rolls = (
        series.rolls[pd.to_datetime(series.rolls["date"]) <= last]
        if len(series.rolls)
        else series.rolls
    )
    return dataclasses.replace(
        series,
        frame=series.frame.iloc[:keep],
        raw=series.raw.iloc[:keep],
        contract_index=series.contract_index[:keep],
        rolls=rolls,
    )


def _compare(full: _Trace, partial: _Trace, cut: int, when: str) -> list[Finding]:
    findings = []
    limit = full.times[cut] + 1e-9
    expected = [o for o in full.orders if o[0] <= limit]
    if expected != partial.orders:
        findings.append(Finding(when, "order", _order_difference(expected, partial.orders)))
    for name, lines in full.indicators.items():
        cut_lines = partial.indicators.get(name)
        if cut_lines is None:
            findings.append(Finding(when, "indicator", f"{name} missing in the cut run"))
            continue
        for alias, values in lines.items():
            bar = _first_difference(values[: cut + 1], cut_lines[alias][: cut + 1])
            if bar is not None:
                at = num2iso(np.array([full.times[bar]]))[0]
                findings.append(
                    Finding(
                        when,
                        "indicator",
                        f"{name}.{alias} on {at}: {values[bar]!r} with all data, "
                        f"{cut_lines[alias][bar]!r} with data cut after {when}",
                    )
                )
    return findings


def _first_difference(a: np.ndarray, b: np.ndarray) -> int | None:
    if len(a) != len(b):
        return min(len(a), len(b)) - 1 if min(len(a), len(b)) else 0
    same = np.isclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True)
    bad = np.flatnonzero(~same)
    return int(bad[0]) if len(bad) else None


def _order_difference(expected: list[Any], actual: list[Any]) -> str:
    for i, (a, b) in enumerate(zip(expected, actual, strict=False)):
        if a != b:
            return f"order {i + 1}: {_describe(a)} with all data, {_describe(b)} with data cut"
    if len(expected) > len(actual):
        return f"{_describe(expected[len(actual)])} only happens with later bars available"
    return f"{_describe(actual[len(expected)])} only happens with the data cut"


def _describe(order: tuple[float, str, str, float, str, float | None]) -> str:
    when = num2iso(np.array([order[0]]))[0]
    price = "" if order[5] is None or not math.isfinite(order[5]) else f" at {order[5]:.6g}"
    return f"{order[2]} {abs(order[3]):g} {order[1]} {order[4]}{price} on {when}"
