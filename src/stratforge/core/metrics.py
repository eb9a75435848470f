"""Performance metrics computed from the recorded equity curve and trades."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from stratforge.analyzers.stats import calmar_ratio, trade_statistics, value_at_risk
from stratforge.core.results import Metrics

DAYS_PER_YEAR = 365.25


def compute_metrics(
    *,
    times: np.ndarray,
    values: np.ndarray,
    positions: np.ndarray,
    trade_pnls: Sequence[float],
    start_value: float,
) -> Metrics:
    """Metrics for one run; *times* are backtrader float days, *values* the account value."""
    years = (times[-1] - times[0]) / DAYS_PER_YEAR if len(times) > 1 else 0.0
    periods = (len(values) - 1) / years if years > 0 else None
    returns = np.diff(values) / values[:-1] if len(values) > 1 else np.empty(0)
    end_value = float(values[-1]) if len(values) else start_value
    total_return = end_value / start_value - 1.0
    drawdown, dd_bars, dd_days = _drawdowns(times, values)
    growth = _cagr(total_return, years)
    risk = value_at_risk(returns, 0.95, "historical") if len(returns) > 1 else {}
    trade_stats = trade_statistics(trade_pnls) if trade_pnls else {}
    return Metrics(
        start_value=start_value,
        end_value=end_value,
        total_return=total_return,
        cagr=growth,
        annual_volatility=_volatility(returns, periods),
        sharpe=_sharpe(returns, periods),
        sortino=_sortino(returns, periods),
        max_drawdown=drawdown,
        max_drawdown_bars=dd_bars,
        max_drawdown_days=dd_days,
        trades=len(trade_pnls),
        win_rate=_win_rate(trade_pnls),
        profit_factor=_profit_factor(trade_pnls),
        calmar=calmar_ratio(growth, drawdown),
        var_95=risk.get("var"),
        cvar_95=risk.get("cvar"),
        sqn=trade_stats.get("sqn"),
        expectancy=trade_stats.get("expectancy"),
        payoff_ratio=trade_stats.get("payoff_ratio"),
        exposure=float(np.count_nonzero(positions) / len(positions)) if len(positions) else 0.0,
        bars=len(values),
        periods_per_year=periods,
    )


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _cagr(total_return: float, years: float) -> float | None:
    if years <= 0 or total_return <= -1.0:
        return None
    return _finite((1.0 + total_return) ** (1.0 / years) - 1.0)


def _volatility(returns: np.ndarray, periods: float | None) -> float | None:
    if periods is None or len(returns) < 2:
        return None
    return _finite(float(np.std(returns, ddof=1)) * math.sqrt(periods))


def _sharpe(returns: np.ndarray, periods: float | None) -> float | None:
    if periods is None or len(returns) < 2:
        return None
    std = float(np.std(returns, ddof=1))
    if std == 0.0:
        return None
    return _finite(float(np.mean(returns)) / std * math.sqrt(periods))


def _sortino(returns: np.ndarray, periods: float | None) -> float | None:
    if periods is None or len(returns) < 2:
        return None
    downside = math.sqrt(float(np.mean(np.minimum(returns, 0.0) ** 2)))
    if downside == 0.0:
        return None
    return _finite(float(np.mean(returns)) / downside * math.sqrt(periods))


def _drawdowns(times: np.ndarray, values: np.ndarray) -> tuple[float, int, float]:
    """Max drawdown fraction, and the longest underwater stretch in bars and days."""
    if len(values) == 0:
        return 0.0, 0, 0.0
    peaks = np.maximum.accumulate(values)
    depth = float(np.max(1.0 - values / peaks))
    underwater = values < peaks
    longest_bars, longest_days, start = 0, 0.0, None
    # Boundaries of underwater stretches, found without a per-bar Python loop.
    edges = np.flatnonzero(np.diff(np.concatenate(([False], underwater, [False])).astype(np.int8)))
    for begin, end in zip(edges[::2], edges[1::2], strict=True):
        start = begin - 1  # the peak bar the stretch started from
        bars = int(end - start) if end < len(values) else int(end - 1 - start)
        last = min(end, len(values) - 1)
        longest_bars = max(longest_bars, bars)
        longest_days = max(longest_days, float(times[last] - times[start]))
    return depth, longest_bars, longest_days


def _win_rate(pnls: Sequence[float]) -> float | None:
    if not pnls:
        return None
    return sum(1 for pnl in pnls if pnl > 0) / len(pnls)


def _profit_factor(pnls: Sequence[float]) -> float | None:
    gains = sum(pnl for pnl in pnls if pnl > 0)
    losses = -sum(pnl for pnl in pnls if pnl < 0)
    if losses == 0:
        return None
    return gains / losses
