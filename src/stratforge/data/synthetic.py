"""A seeded synthetic market: reproducible OHLCV data for demos, tests and benchmarks."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import pandas as pd

from stratforge.data.checks import require_finite, require_int, require_sane_prices
from stratforge.data.validation import CANONICAL_COLUMNS, DATETIME, INDEX_UNIT

__all__ = ["TRADING_DAYS_PER_YEAR", "generate_synthetic"]

TRADING_DAYS_PER_YEAR = 252
MINUTES_PER_DAY = 1440
GAP_SHARE = 0.2  # share of a bar's return volatility spent on the gap from the previous close
WICK_SCALE = 0.5  # typical wick length beyond the body, in per-bar volatilities
VOLUME_DISPERSION = 0.3  # log-normal sigma of volume around its mean

Timeframe = Literal["days", "minutes"]


def generate_synthetic(
    *,
    bars: int = 2500,
    timeframe: Timeframe = "days",
    compression: int = 1,
    start: str = "2015-01-02",
    seed: int = 0,
    price: float = 100.0,
    drift: float = 0.05,
    volatility: float = 0.20,
    regime_length: int = 0,
    regime_volatility_ratio: float = 2.0,
    volume: float = 1_000_000.0,
) -> pd.DataFrame:
    """A geometric random walk as a canonical OHLCV frame, identical bit for bit per arguments.

    ``drift`` and ``volatility`` are annualised. Daily bars fall on business days (Mon-Fri,
    no holidays), every ``compression`` of them. Minute bars use a 24/5 grid: every
    ``compression`` minutes from midnight, Monday to Friday, starting at *start*'s time of
    day. Both annualise with 252 days a year (``252 * 1440 / compression`` minute bars).

    Each bar's return is split into a small gap from the previous close and the body;
    wicks extend beyond the body, so ``low <= open, close <= high`` always holds. Volume is
    log-normal around ``volume`` (higher in volatile regimes); open interest is 0.

    With ``regime_length > 0`` the walk alternates calm and volatile regimes (volatility
    times ``regime_volatility_ratio``) lasting a random 0.5-1.5 x ``regime_length`` bars,
    each with its own random trend around ``drift``, so strategies meet trends and chop.
    """
    _check_args(bars, timeframe, compression, seed, price, drift, volatility)
    _check_regime_args(regime_length, regime_volatility_ratio, volume)
    index = _time_grid(bars, timeframe, compression, start)
    per_year = TRADING_DAYS_PER_YEAR * (MINUTES_PER_DAY if timeframe == "minutes" else 1)
    dt = compression / per_year
    rng = np.random.default_rng(seed)
    scale, trend = _regimes(rng, bars, regime_length, regime_volatility_ratio, drift, volatility)
    sigma = volatility * scale * math.sqrt(dt)
    shocks = rng.standard_normal((4, bars))
    gap = GAP_SHARE * sigma * shocks[0]
    gap[0] = 0.0
    body = trend * dt - 0.5 * sigma**2 + math.sqrt(1.0 - GAP_SHARE**2) * sigma * shocks[1]
    log_close = math.log(price) + np.cumsum(gap + body)
    require_sane_prices(
        math.exp(min(log_close.min(), math.log(price))),
        math.exp(min(max(log_close.max(), math.log(price)), 700.0)),
        start=price,
        bars=bars,
        years=bars * dt,
        drift=drift,
        vol=volatility,
    )
    close = np.exp(log_close)
    open_ = np.concatenate(([price], close[:-1] * np.exp(gap[1:])))
    high = np.maximum(open_, close) * np.exp(np.abs(shocks[2]) * WICK_SCALE * sigma)
    low = np.minimum(open_, close) * np.exp(-np.abs(shocks[3]) * WICK_SCALE * sigma)
    noise = rng.standard_normal(bars) * VOLUME_DISPERSION - 0.5 * VOLUME_DISPERSION**2
    vol = np.maximum(np.round(volume * np.sqrt(scale) * np.exp(noise)), 1.0)
    data = {"open": open_, "high": high, "low": low, "close": close, "volume": vol}
    data["openinterest"] = np.zeros(bars)
    return pd.DataFrame(data, index=index, columns=list(CANONICAL_COLUMNS))


def _check_args(
    bars: int,
    timeframe: str,
    compression: int,
    seed: int,
    price: float,
    drift: float,
    volatility: float,
) -> None:
    require_int("bars", bars, 2)
    if timeframe not in ("days", "minutes"):
        raise ValueError(f"timeframe must be 'days' or 'minutes', got {timeframe!r}")
    require_int("compression", compression, 1)
    if timeframe == "minutes" and compression > MINUTES_PER_DAY:
        raise ValueError(f"compression must be <= {MINUTES_PER_DAY} for minute bars")
    require_int("seed", seed, 0)
    require_finite("price", price, minimum=0.0, strict=True)
    require_finite("drift", drift)
    require_finite("volatility", volatility, minimum=0.0)


def _check_regime_args(regime_length: int, ratio: float, volume: float) -> None:
    require_int("regime_length", regime_length, 0)
    require_finite("regime_volatility_ratio", ratio, minimum=0.0, strict=True)
    require_finite("volume", volume, minimum=0.0, strict=True)


def _start(start: str) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(start)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"start: cannot parse {start!r} as a date") from exc
    if stamp is pd.NaT or stamp.tzinfo is not None:
        raise ValueError(f"start must be a naive date such as '2015-01-02', got {start!r}")
    return stamp


def _time_grid(bars: int, timeframe: str, compression: int, start: str) -> pd.DatetimeIndex:
    first = _start(start)
    try:
        if timeframe == "days":
            days = pd.bdate_range(first.normalize(), periods=bars, freq=f"{compression}B")
            stamps = days.as_unit(INDEX_UNIT).asi8
        else:
            stamps = _minute_grid(first, bars, compression)
    except (pd.errors.OutOfBoundsDatetime, OverflowError) as exc:
        raise ValueError(f"bars: {bars} bars from {start} run past the supported dates") from exc
    return pd.DatetimeIndex(stamps.view(f"M8[{INDEX_UNIT}]"), name=DATETIME)


def _minute_grid(first: pd.Timestamp, bars: int, compression: int) -> np.ndarray:
    """Microsecond stamps of a 24/5 grid of ``compression``-minute bars from *first*."""
    per_day = -(-MINUTES_PER_DAY // compression)
    on_weekday = first.day_of_week < 5
    minutes = (first - first.normalize()) / pd.Timedelta(minutes=1)
    offset = math.ceil(minutes / compression) if on_weekday else 0
    slots = np.arange(offset, offset + bars, dtype=np.int64)
    days = pd.bdate_range(first.normalize(), periods=int(slots[-1] // per_day) + 1)
    day_stamps = days.as_unit(INDEX_UNIT).asi8
    step = int(pd.Timedelta(minutes=compression) / pd.Timedelta(microseconds=1))
    return day_stamps[slots // per_day] + (slots % per_day) * step


def _regimes(
    rng: np.random.Generator,
    bars: int,
    length: int,
    ratio: float,
    drift: float,
    volatility: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-bar volatility multiplier and annualised trend."""
    if length == 0:
        return np.ones(bars), np.full(bars, drift)
    low = max(1, length // 2)
    count = bars // low + 1  # enough regimes to cover every bar even at minimum length
    lengths = rng.integers(low, low + length, size=count, endpoint=True)
    volatile = (rng.integers(2) + np.arange(count)) % 2 == 1
    trends = drift + volatility * rng.standard_normal(count)
    scale = np.repeat(np.where(volatile, ratio, 1.0), lengths)[:bars]
    return scale, np.repeat(trends, lengths)[:bars]
