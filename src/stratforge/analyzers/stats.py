"""Risk and performance statistics as pure functions of equity curves, returns and trades.

No backtrader here: the analyzers in ``stratforge.analyzers.risk`` record what a run did and
call these. Conventions shared by every function:

* times are backtrader float day numbers (``bt.date2num``: days since 0001-01-01, plus one);
* returns are simple per-bar returns ``value[i] / value[i-1] - 1``;
* outputs are plain ``float``/``int``/``dict``/``list`` values, and anything undefined (too
  few observations, a zero denominator, a non-finite result) is ``None``, never NaN or inf;
* losses (drawdowns, VaR, CVaR) are positive fractions: 0.1 means a 10% loss.

Every run computes these, so they need only numpy and the standard library: importing
scipy.stats would cost several times the backtest of a few thousand bars. The moments,
normal quantiles and the Cornish-Fisher tail integral are the textbook closed forms,
checked against scipy in tests/test_analyzers.py.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

DAYS_PER_YEAR = 365.25
"""Calendar days per year used to turn elapsed time into years."""

UNIX_EPOCH_DAYS = 719163.0
"""The backtrader day number of 1970-01-01T00:00:00."""

VarMethod = Literal["historical", "gaussian", "cornish_fisher"]
VAR_METHODS: tuple[str, ...] = ("historical", "gaussian", "cornish_fisher")
MONTE_CARLO_METHODS: tuple[str, ...] = ("bootstrap", "shuffle")

_MC_CHUNK_CELLS = 2_000_000  # resampled PnLs held in memory at once
_STANDARD_NORMAL = NormalDist()


def finite(value: float | None) -> float | None:
    """*value* as a float, or None when it is None, NaN or infinite."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _array(values: npt.ArrayLike) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).reshape(-1)


# -- time ---------------------------------------------------------------------------------


def to_datetime64(times_in_days: npt.ArrayLike) -> np.ndarray:
    """backtrader float days as ``datetime64[ms]`` (rounded to the millisecond)."""
    days = _array(times_in_days)
    return np.round((days - UNIX_EPOCH_DAYS) * 86_400_000).astype("datetime64[ms]")


def to_iso(times_in_days: npt.ArrayLike) -> list[str]:
    """backtrader float days as ISO-8601 strings (seconds shown only when not whole)."""
    texts = np.datetime_as_string(to_datetime64(times_in_days), unit="ms").tolist()
    return [s.removesuffix(".000") for s in texts]


def elapsed_years(times_in_days: npt.ArrayLike) -> float:
    """Calendar years from the first to the last timestamp (0.0 for fewer than two)."""
    times = _array(times_in_days)
    if len(times) < 2:
        return 0.0
    return float(times[-1] - times[0]) / DAYS_PER_YEAR


def periods_per_year(times_in_days: npt.ArrayLike, override: float | None = None) -> float | None:
    """Bars per year: *override* when given, else observed as ``(bars - 1) / years``.

    The observed value suits any bar size and calendar (about 252 for exchange-traded daily
    bars, 365 for crypto); None when the timestamps span no time.
    """
    if override is not None:
        if not override > 0:
            raise ValueError(f"periods_per_year must be positive, got {override!r}")
        return float(override)
    times = _array(times_in_days)
    years = elapsed_years(times)
    if years <= 0:
        return None
    return (len(times) - 1) / years


# -- returns and ratios -------------------------------------------------------------------


def simple_returns(values: npt.ArrayLike) -> np.ndarray:
    """Per-bar simple returns of an equity curve (one fewer than the values)."""
    equity = _array(values)
    if len(equity) < 2:
        return np.empty(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.diff(equity) / equity[:-1]


def total_return(start_value: float, end_value: float) -> float | None:
    """``end / start - 1``; None when the start is not positive."""
    if not start_value > 0:
        return None
    return finite(end_value / start_value - 1.0)


def cagr(total: float | None, years: float) -> float | None:
    """Compound annual growth rate ``(1 + total) ** (1 / years) - 1``.

    None when no time passed or the account lost everything (total <= -100%).
    """
    if total is None or years <= 0 or total <= -1.0:
        return None
    return finite((1.0 + total) ** (1.0 / years) - 1.0)


def per_period_rate(annual_rate: float, periods: float) -> float:
    """An annual rate as the compounding-equivalent rate per period: ``(1+r)^(1/n) - 1``."""
    return float((1.0 + annual_rate) ** (1.0 / periods) - 1.0)


def annual_volatility(returns: npt.ArrayLike, periods: float | None) -> float | None:
    """Sample standard deviation (ddof=1) of per-bar returns times ``sqrt(periods)``."""
    r = _array(returns)
    if periods is None or len(r) < 2:
        return None
    return finite(float(np.std(r, ddof=1)) * math.sqrt(periods))


def sharpe_ratio(
    returns: npt.ArrayLike, periods: float | None, risk_free: float = 0.0
) -> float | None:
    """Annualised Sharpe ratio: ``mean(r - rf_p) / std(r - rf_p, ddof=1) * sqrt(periods)``.

    *risk_free* is an annual rate, converted per period with :func:`per_period_rate`.
    None with fewer than two returns, no ``periods`` or zero volatility.
    """
    r = _array(returns)
    if periods is None or len(r) < 2:
        return None
    excess = r - per_period_rate(risk_free, periods)
    std = float(np.std(excess, ddof=1))
    if not std > 0:
        return None
    return finite(float(np.mean(excess)) / std * math.sqrt(periods))


def downside_deviation(returns: npt.ArrayLike, target: float = 0.0) -> float | None:
    """Root mean square of ``min(r - target, 0)`` over all periods (not only losing ones)."""
    r = _array(returns)
    if len(r) == 0:
        return None
    return finite(math.sqrt(float(np.mean(np.minimum(r - target, 0.0) ** 2))))


def sortino_ratio(
    returns: npt.ArrayLike, periods: float | None, risk_free: float = 0.0
) -> float | None:
    """Annualised Sortino ratio: ``mean(r - rf_p) / downside_deviation(r, rf_p) * sqrt(n)``.

    None with fewer than two returns, no ``periods`` or no return below the risk-free rate.
    """
    r = _array(returns)
    if periods is None or len(r) < 2:
        return None
    rf = per_period_rate(risk_free, periods)
    downside = downside_deviation(r, rf)
    if not downside:
        return None
    return finite(float(np.mean(r - rf)) / downside * math.sqrt(periods))


def calmar_ratio(growth: float | None, max_drawdown: float | None) -> float | None:
    """CAGR divided by the maximum drawdown (a positive fraction); None if either is 0/None."""
    if growth is None or not max_drawdown:
        return None
    return finite(growth / max_drawdown)


def max_drawdown(values: npt.ArrayLike) -> float:
    """Largest peak-to-trough fall of the running maximum, as a positive fraction."""
    equity = _array(values)
    if len(equity) == 0:
        return 0.0
    peaks = np.maximum.accumulate(equity)
    with np.errstate(divide="ignore", invalid="ignore"):
        depth = np.max(1.0 - equity / peaks)
    return finite(float(depth)) or 0.0


def performance_summary(
    times_in_days: npt.ArrayLike,
    values: npt.ArrayLike,
    *,
    start_value: float | None = None,
    risk_free: float = 0.0,
    periods: float | None = None,
) -> dict[str, Any]:
    """Headline returns and risk-adjusted ratios of an equity curve.

    *start_value* (default: the first value) is the base of the total return and CAGR;
    *periods* overrides the observed bars per year used to annualise.
    """
    times, equity = _array(times_in_days), _array(values)
    start = float(equity[0]) if start_value is None and len(equity) else start_value
    end = float(equity[-1]) if len(equity) else start
    ppy = periods_per_year(times, periods)
    years = elapsed_years(times)
    returns = simple_returns(equity)
    total = total_return(start, end) if start is not None and end is not None else None
    growth = cagr(total, years)
    depth = max_drawdown(equity)
    return {
        "start_value": finite(start),
        "end_value": finite(end),
        "total_return": total,
        "cagr": growth,
        "annual_volatility": annual_volatility(returns, ppy),
        "sharpe": sharpe_ratio(returns, ppy, risk_free),
        "sortino": sortino_ratio(returns, ppy, risk_free),
        "calmar": calmar_ratio(growth, depth),
        "max_drawdown": depth,
        "risk_free": float(risk_free),
        "periods_per_year": finite(ppy),
        "years": years,
        "bars": len(equity),
    }


# -- drawdowns ----------------------------------------------------------------------------


def drawdown_episodes(times_in_days: npt.ArrayLike, values: npt.ArrayLike) -> list[dict[str, Any]]:
    """Every underwater stretch of an equity curve, in time order.

    Each episode is a dict with bar indices ``start`` (the peak bar), ``trough`` (lowest
    value) and ``end`` (first bar back at or above the peak, None if not recovered),
    ``depth`` (``1 - trough / peak``), ``recovered``, ``bars`` and ``days`` from the peak to
    the recovery (to the last bar when not recovered), and ``recovery_bars`` and
    ``recovery_days`` from the trough to the recovery (None when not recovered).
    """
    times, equity = _array(times_in_days), _array(values)
    n = len(equity)
    if n == 0:
        return []
    peaks = np.maximum.accumulate(equity)
    underwater = equity < peaks
    flags = np.concatenate(([False], underwater, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(flags))
    episodes = []
    for begin, stop in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True):
        start = begin - 1  # the peak the stretch fell from (bar 0 is never underwater)
        trough = begin + int(np.argmin(equity[begin:stop]))
        recovered = stop < n
        last = stop if recovered else n - 1
        with np.errstate(divide="ignore", invalid="ignore"):
            depth = finite(float(1.0 - equity[trough] / equity[start]))
        episodes.append(
            {
                "depth": depth,
                "start": start,
                "trough": trough,
                "end": stop if recovered else None,
                "recovered": recovered,
                "bars": last - start,
                "days": float(times[last] - times[start]),
                "recovery_bars": stop - trough if recovered else None,
                "recovery_days": float(times[stop] - times[trough]) if recovered else None,
            }
        )
    return episodes


def drawdown_analysis(
    times_in_days: npt.ArrayLike, values: npt.ArrayLike, *, top: int = 5
) -> dict[str, Any]:
    """Maximum drawdown, the longest underwater stretch and the *top* deepest episodes.

    Returns ``max_drawdown`` (0.0 without any), ``max`` (the deepest episode, see
    :func:`drawdown_episodes`, or None), ``longest`` (the episode with the most bars from
    peak to recovery, or to the end when not recovered; None without any), ``episodes`` (the
    *top* deepest, deepest first), ``count`` (number of episodes) and ``time_underwater``
    (fraction of bars below the running peak).
    """
    if top < 0:
        raise ValueError(f"top must be >= 0, got {top}")
    equity = _array(values)
    episodes = drawdown_episodes(times_in_days, equity)
    by_depth = sorted(episodes, key=lambda e: (-(e["depth"] or 0.0), e["start"]))
    longest = max(episodes, key=lambda e: (e["bars"], -e["start"]), default=None)
    underwater = int(np.count_nonzero(equity < np.maximum.accumulate(equity))) if len(equity) else 0
    return {
        "max_drawdown": (by_depth[0]["depth"] or 0.0) if by_depth else 0.0,
        "max": by_depth[0] if by_depth else None,
        "longest": longest,
        "episodes": by_depth[:top],
        "count": len(episodes),
        "time_underwater": underwater / len(equity) if len(equity) else None,
    }


# -- value at risk ------------------------------------------------------------------------


def return_moments(returns: npt.ArrayLike) -> dict[str, Any]:
    """Mean, sample std (ddof=1), skewness and excess kurtosis (both biased, as scipy's
    ``skew`` and ``kurtosis`` defaults)."""
    r = _array(returns)
    n = len(r)
    spread = n >= 2 and float(np.ptp(r)) > 0  # identical values: std exactly 0, no shape
    std = (float(np.std(r, ddof=1)) if spread else 0.0) if n >= 2 else None
    skew, kurtosis = _shape(r) if spread else (None, None)
    return {
        "observations": n,
        "mean": finite(float(np.mean(r))) if n else None,
        "std": finite(std),
        "skew": skew if n >= 3 else None,
        "excess_kurtosis": kurtosis if n >= 4 else None,
    }


def _shape(r: np.ndarray) -> tuple[float | None, float | None]:
    """Biased skewness ``m3 / m2**1.5`` and excess kurtosis ``m4 / m2**2 - 3`` from the
    central moments; None where the spread is lost in rounding (scipy's NaN case)."""
    mean = float(np.mean(r))
    deviations = r - mean
    squared = deviations * deviations
    m2 = float(np.mean(squared))
    if m2 <= (np.finfo(float).eps * mean) ** 2:
        return None, None
    m3 = float(np.mean(squared * deviations))
    m4 = float(np.mean(squared * squared))
    return finite(m3 / m2**1.5), finite(m4 / m2**2 - 3.0)


def cornish_fisher_z(z: float | np.ndarray, skew: float, excess_kurtosis: float) -> Any:
    """A standard normal quantile *z* adjusted for skewness and excess kurtosis."""
    s, k = skew, excess_kurtosis
    return z + (z**2 - 1) * s / 6 + (z**3 - 3 * z) * k / 24 - (2 * z**3 - 5 * z) * s**2 / 36


def value_at_risk(
    returns: npt.ArrayLike, level: float = 0.95, method: str = "historical"
) -> dict[str, float | None]:
    """One-period Value at Risk and CVaR (expected shortfall) at confidence *level*.

    Both are positive loss fractions (``var = 0.02``: a 2% loss is exceeded with probability
    ``1 - level``). Methods:

    * ``historical``: the empirical ``1 - level`` quantile ``q`` of the returns (numpy's
      linear interpolation); CVaR is minus the mean of the returns at or below ``q``.
    * ``gaussian``: ``var = -(mu + z * sigma)`` with ``z = Phi^-1(1 - level)``;
      ``cvar = -(mu - sigma * phi(z) / (1 - level))``.
    * ``cornish_fisher``: ``z`` adjusted by skewness and excess kurtosis
      (:func:`cornish_fisher_z`); CVaR is minus ``mu + sigma`` times the average adjusted
      quantile over the tail, integrated numerically.

    Needs at least two returns (else both are None). A degenerate sample (zero std) gives
    ``-mu`` for every method.
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be strictly between 0 and 1, got {level!r}")
    if method not in VAR_METHODS:
        raise ValueError(f"unknown VaR method {method!r}; use one of {', '.join(VAR_METHODS)}")
    r = _array(returns)
    r = r[np.isfinite(r)]
    if len(r) < 2:
        return {"var": None, "cvar": None}
    tail = 1.0 - level
    if method == "historical":
        q = float(np.quantile(r, tail))
        return {"var": finite(-q), "cvar": finite(-float(np.mean(r[r <= q])))}
    moments = return_moments(r)
    mu, sigma = float(moments["mean"]), float(moments["std"] or 0.0)
    z = _STANDARD_NORMAL.inv_cdf(tail)
    if method == "gaussian" or sigma == 0.0:
        var = -(mu + z * sigma)
        cvar = -(mu - sigma * _STANDARD_NORMAL.pdf(z) / tail)
        return {"var": finite(var), "cvar": finite(cvar)}
    skew = moments["skew"] or 0.0
    kurt = moments["excess_kurtosis"] or 0.0
    var = -(mu + float(cornish_fisher_z(z, skew, kurt)) * sigma)
    cvar = -(mu + sigma * cornish_fisher_tail_area(z, skew, kurt) / tail)
    return {"var": finite(var), "cvar": finite(cvar)}


def cornish_fisher_tail_area(z: float, skew: float, excess_kurtosis: float) -> float:
    """The integral of ``cornish_fisher_z(x) * phi(x)`` over ``x < z``: the average adjusted
    quantile over ``u`` in ``(0, Phi(z))`` times ``Phi(z)``, written in ``x = Phi^-1(u)``.

    The adjusted quantile is a cubic in ``x``, and the partial moments of the standard
    normal are closed forms (``-phi(z)`` for ``x``, ``Phi(z) - z phi(z)`` for ``x**2``,
    ``-(z**2 + 2) phi(z)`` for ``x**3``), so the integral is exact, with no quadrature.
    """
    s, k = skew, excess_kurtosis
    density = _STANDARD_NORMAL.pdf(z)
    return -density * (1 + z * s / 6 + (z**2 - 1) * k / 24 - (2 * z**2 - 1) * s**2 / 36)


def level_key(level: float) -> str:
    """A confidence level as a short, stable dict key: 0.95 -> ``"0.95"``."""
    return f"{level:g}"


def var_table(
    returns: npt.ArrayLike,
    levels: Sequence[float] = (0.95, 0.99),
    methods: Sequence[str] = VAR_METHODS,
) -> dict[str, Any]:
    """``{"moments": ..., method: {level_key: {"var": v, "cvar": c}}}`` for each combination."""
    r = _array(returns)
    r = r[np.isfinite(r)]
    table: dict[str, Any] = {"moments": return_moments(r)}
    for method in methods:
        table[method] = {level_key(level): value_at_risk(r, level, method) for level in levels}
    return table


# -- trades -------------------------------------------------------------------------------


def _longest_run(flags: np.ndarray) -> int:
    best = current = 0
    for flag in flags.tolist():
        current = current + 1 if flag else 0
        best = max(best, current)
    return best


def trade_statistics(
    pnls: Sequence[float], bars_held: Sequence[float] | None = None
) -> dict[str, Any]:
    """Statistics of closed trades from their net PnLs (after commission).

    A trade is won when its PnL is > 0 and lost when < 0 (a zero trade is neither, and ends
    both streaks). ``average_loss`` and ``largest_loss`` are negative amounts;
    ``payoff_ratio = average_win / |average_loss|``, ``profit_factor = gross_profit /
    gross_loss``, ``expectancy`` is the mean PnL per trade and
    ``sqn = sqrt(n) * mean / std`` (sample std, ddof=1).
    """
    pnl = _array(pnls)
    n = len(pnl)
    wins, losses = pnl[pnl > 0], pnl[pnl < 0]
    gross_profit, gross_loss = float(wins.sum()), float(-losses.sum())
    average_win = float(wins.mean()) if len(wins) else None
    average_loss = float(losses.mean()) if len(losses) else None
    std = float(np.std(pnl, ddof=1)) if n >= 2 else 0.0
    bars = _array(bars_held) if bars_held is not None else np.empty(0)
    if bars_held is not None and len(bars) != n:
        raise ValueError(f"bars_held has {len(bars)} entries for {n} trades")
    return {
        "trades": n,
        "won": len(wins),
        "lost": len(losses),
        "even": n - len(wins) - len(losses),
        "win_rate": len(wins) / n if n else None,
        "net_pnl": float(pnl.sum()),
        "gross_profit": gross_profit,
        "gross_loss": gross_loss,
        "average_win": finite(average_win),
        "average_loss": finite(average_loss),
        "payoff_ratio": (
            finite(average_win / -average_loss)
            if average_win is not None and average_loss is not None
            else None
        ),
        "profit_factor": finite(gross_profit / gross_loss) if gross_loss > 0 else None,
        "expectancy": finite(float(pnl.mean())) if n else None,
        "sqn": finite(math.sqrt(n) * float(pnl.mean()) / std) if std > 0 else None,
        "longest_win_streak": _longest_run(pnl > 0),
        "longest_loss_streak": _longest_run(pnl < 0),
        "largest_win": float(wins.max()) if len(wins) else None,
        "largest_loss": float(losses.min()) if len(losses) else None,
        "average_bars_held": finite(float(bars.mean())) if len(bars) else None,
    }


# -- calendar periods ---------------------------------------------------------------------


def period_returns(
    times_in_days: npt.ArrayLike, values: npt.ArrayLike, *, start_value: float | None = None
) -> dict[str, dict[int, Any]]:
    """Calendar-month and calendar-year returns of an equity curve.

    A period's return is its last value over the previous period's last value, minus one;
    the first period is measured from *start_value* (default: the first value). Periods
    without bars are absent. Returns ``{"monthly": {year: {month: r}}, "yearly": {year: r}}``
    with integer years and months (1-12).
    """
    times, equity = _array(times_in_days), _array(values)
    monthly: dict[int, dict[int, float | None]] = {}
    yearly: dict[int, float | None] = {}
    if len(equity) == 0:
        return {"monthly": monthly, "yearly": yearly}
    base = float(equity[0]) if start_value is None else float(start_value)
    stamps = to_datetime64(times)
    for unit in ("M", "Y"):
        keys = stamps.astype(f"datetime64[{unit}]").astype(np.int64)
        lasts = np.flatnonzero(np.append(keys[1:] != keys[:-1], True))
        ends = equity[lasts]
        bases = np.concatenate(([base], ends[:-1]))
        with np.errstate(divide="ignore", invalid="ignore"):
            rets = ends / bases - 1.0
        for key, value in zip(keys[lasts].tolist(), rets.tolist(), strict=True):
            if unit == "M":
                monthly.setdefault(1970 + key // 12, {})[key % 12 + 1] = finite(value)
            else:
                yearly[1970 + key] = finite(value)
    return {"monthly": monthly, "yearly": yearly}


# -- Monte Carlo --------------------------------------------------------------------------


def percentile_key(percentile: float) -> str:
    """A percentile as a dict key: 5 -> ``"p5"``, 2.5 -> ``"p2.5"``."""
    return f"p{float(percentile):g}"


def _path_drawdowns(start_value: float, equity: np.ndarray) -> np.ndarray:
    """Max drawdown of each row of *equity* (paths after each trade), the start included."""
    peaks = np.maximum(np.maximum.accumulate(equity, axis=1), start_value)
    return np.max(1.0 - equity / peaks, axis=1)


def _check_monte_carlo(
    paths: int, method: str, start_value: float, percentiles: Sequence[float]
) -> None:
    if paths < 1:
        raise ValueError(f"paths must be at least 1, got {paths}")
    if method not in MONTE_CARLO_METHODS:
        raise ValueError(
            f"unknown Monte Carlo method {method!r}; use one of {', '.join(MONTE_CARLO_METHODS)}"
        )
    if not start_value > 0:
        raise ValueError(f"start_value must be positive, got {start_value!r}")
    for p in percentiles:
        if not 0 <= p <= 100:
            raise ValueError(f"percentiles must be within [0, 100], got {p!r}")


def _resampled_paths(
    pnl: np.ndarray, start_value: float, paths: int, seed: int, method: str
) -> tuple[np.ndarray, np.ndarray]:
    """Final equity and max drawdown of each resampled path, drawn in chunks so memory stays
    bounded however many paths and trades there are."""
    n = len(pnl)
    rng = np.random.default_rng(seed)
    finals = np.empty(paths)
    drawdowns = np.empty(paths)
    rows = max(1, _MC_CHUNK_CELLS // n)
    for first in range(0, paths, rows):
        count = min(rows, paths - first)
        if method == "bootstrap":
            sample = pnl[rng.integers(0, n, size=(count, n))]
        else:
            sample = rng.permuted(np.tile(pnl, (count, 1)), axis=1)
        equity = start_value + np.cumsum(sample, axis=1)
        finals[first : first + count] = equity[:, -1]
        drawdowns[first : first + count] = _path_drawdowns(start_value, equity)
    return finals, drawdowns


def monte_carlo(
    pnls: Sequence[float],
    start_value: float,
    *,
    paths: int = 1000,
    seed: int = 0,
    method: str = "bootstrap",
    percentiles: Sequence[float] = (5, 50, 95),
) -> dict[str, Any]:
    """Resample the sequence of trade PnLs to see how final equity and drawdown could vary.

    Each of *paths* paths is ``start_value`` plus the cumulative sum of the trades drawn
    with replacement (``bootstrap``) or reordered (``shuffle``: a permutation, so the final
    equity always equals the original's and only the path differs). The drawdown of a path
    is measured on its equity after each trade (closed-trade equity, the start included).
    Draws come from ``numpy.random.default_rng(seed)``: same inputs, same output.

    Returns the percentiles of final equity and of max drawdown (keys ``"p5"`` ...), the
    mean final equity, ``probability_of_loss`` (share of paths ending below
    ``start_value``) and the ``original`` sequence's final equity and max drawdown.
    """
    _check_monte_carlo(paths, method, start_value, percentiles)
    pnl = _array(pnls)
    n = len(pnl)
    summary: dict[str, Any] = {
        "method": method,
        "paths": paths,
        "seed": seed,
        "trades": n,
        "start_value": float(start_value),
    }
    empty = {percentile_key(p): None for p in percentiles}
    if n == 0:
        return summary | {
            "final_equity": empty,
            "max_drawdown": dict(empty),
            "mean_final_equity": None,
            "probability_of_loss": None,
            "original": {"final_equity": float(start_value), "max_drawdown": 0.0},
        }
    finals, drawdowns = _resampled_paths(pnl, start_value, paths, seed, method)
    original = start_value + np.cumsum(pnl)[None, :]
    qs = list(percentiles)
    return summary | {
        "final_equity": {
            percentile_key(p): finite(float(v))
            for p, v in zip(qs, np.percentile(finals, qs), strict=True)
        },
        "max_drawdown": {
            percentile_key(p): finite(float(v))
            for p, v in zip(qs, np.percentile(drawdowns, qs), strict=True)
        },
        "mean_final_equity": finite(float(np.mean(finals))),
        "probability_of_loss": float(np.mean(finals < start_value)),
        "original": {
            "final_equity": finite(float(original[0, -1])),
            "max_drawdown": finite(float(_path_drawdowns(start_value, original)[0])),
        },
    }
