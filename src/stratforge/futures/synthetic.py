"""Synthetic futures chains: seeded, internally consistent contract frames for demos and tests.

Real chains are costly to obtain, yet roll rules, continuous series and expiry handling need
data whose roll behaviour is known. :func:`generate_chain` builds one canonical OHLCV frame per
contract month from a single spot random walk, so every contract agrees with the others:

* price: ``spot * exp(carry * years_to_expiry)`` plus a tiny contract-specific noise, rounded
  to the tick (``carry > 0`` is contango, deferred contracts dearer; ``< 0`` backwardation);
* life: a contract lists the business day after the contract ``contracts_listed`` places
  before it expires (so exactly ``contracts_listed`` are live each day) and trades until its
  last trade date, inclusive;
* activity: volume and open interest sit in the front contract and migrate to the next one
  during the ``roll_window`` business days before the front's expiry, crossing over at a
  seeded point inside that window (open interest a little later than volume); deferred
  contracts trade thinly.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from stratforge.data.checks import require_finite, require_int, require_sane_prices
from stratforge.data.validation import CANONICAL_COLUMNS, DATETIME, INDEX_UNIT
from stratforge.futures.calendar import BusinessCalendar, rule_calendar
from stratforge.futures.contracts import ContractId, ContractSpec

__all__ = ["DEFAULT_PRICES", "MINUTE_BARS_PER_DAY", "generate_chain"]

Timeframe = Literal["days", "minutes"]

MINUTE_BARS_PER_DAY = 60
"""Minute mode: the first hour of each business day, 09:30-10:29, keeps long spans small."""
SESSION_OPEN = np.timedelta64(9 * 60 + 30, "m")
TRADING_DAYS_PER_YEAR = 252
DAYS_PER_YEAR = 365.25  # carry accrues over calendar time to expiry
BASIS_NOISE = 2e-4  # contract-specific log-price noise: far below any carry gap between months
GAP_SHARE = 0.2  # share of a bar's volatility spent on the gap from the previous close
WICK_SCALE = 0.5  # typical wick beyond the body, in per-bar volatilities
VOLUME_DISPERSION = 0.25  # log-normal sigma of the day's total volume
CONTRACT_DISPERSION = 0.1  # log-normal sigma of a deferred contract's share of it
DEFERRED_SHARE = 0.03  # base activity of the next contract; halves with each place further out
EXPIRING_SHARE = 0.01  # activity left in the front contract on its last days
OPEN_INTEREST_RATIO = 2.0  # total open interest per unit of mean daily volume
CROSSOVER_RANGE = (0.35, 0.65)  # where in the roll window volume crosses, as a share of it
OPEN_INTEREST_LAG = 0.8  # open interest crosses at this share of volume's crossover distance
TRANSITION_WIDTH = 1 / 8  # logistic width of the migration, as a share of the roll window

DEFAULT_PRICES: dict[str, float] = {
    "ES": 4000.0,
    "MES": 4000.0,
    "NQ": 13000.0,
    "MNQ": 13000.0,
    "YM": 33000.0,
    "RTY": 1900.0,
    "CL": 70.0,
    "NG": 3.0,
    "GC": 1800.0,
    "SI": 23.0,
    "HG": 3.8,
    "ZB": 120.0,
    "ZN": 110.0,
    "ZF": 107.0,
    "ZC": 450.0,
    "ZS": 1200.0,
    "ZW": 600.0,
    "6E": 1.1,
    "6J": 0.0075,
    "FESX": 4000.0,
}
"""Starting spot price by root when ``price`` is not given (100 for other roots)."""


@dataclass(frozen=True)
class _Schedule:
    """Consecutive listed contracts with their first and last trading days (datetime64[D])."""

    contracts: list[ContractId]
    listed: np.ndarray
    expiry: np.ndarray


@dataclass(frozen=True)
class _Spot:
    """The shared fair-value path per bar, and each bar's business-day number."""

    day: np.ndarray  # datetime64[D] per bar
    stamps: np.ndarray  # datetime64[us] per bar
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray  # total volume per bar across the chain


def _require_sane_spot(spot: _Spot, start_price: float, days: int, volatility: float) -> None:
    """Refuse a spot path whose prices run outside what a float market can mean."""
    require_sane_prices(
        float(min(spot.low.min(), start_price)),
        float(max(spot.high.max(), start_price)),
        start=start_price,
        bars=spot.close.size,
        years=days / TRADING_DAYS_PER_YEAR,
        drift=0.0,
        vol=volatility,
    )


def generate_chain(
    spec: ContractSpec,
    *,
    start: str = "2018-01-01",
    end: str = "2022-12-31",
    timeframe: Timeframe = "days",
    seed: int = 0,
    price: float | None = None,
    volatility: float = 0.2,
    carry: float = 0.03,
    contracts_listed: int = 3,
    roll_window: int = 10,
    volume: float = 100_000.0,
) -> dict[ContractId, pd.DataFrame]:
    """One canonical frame per contract of *spec* trading between *start* and *end*.

    Bars fall on the business days of the spec's exchange calendar; ``"minutes"`` gives
    :data:`MINUTE_BARS_PER_DAY` one-minute bars from 09:30 each day, which carry the whole
    day's variance so ``volatility`` stays annualised over 252 days either way. The result is
    identical bit for bit for the same arguments and ordered by expiry. Frames of contracts
    still trading at *end* stop there; every other frame ends on its last trade date.
    """
    first, last = _check_args(
        start, end, timeframe, seed, price, volatility, carry, contracts_listed, roll_window, volume
    )
    calendar = rule_calendar(spec.expiry_rule)
    days = calendar.days(first, last)
    if days.size == 0:
        raise ValueError(f"start/end: no business days between {start} and {end}")
    schedule = _schedule(spec, calendar, days[0], days[-1], contracts_listed)
    rng = np.random.default_rng(seed)
    start_price = DEFAULT_PRICES.get(spec.root, 100.0) if price is None else float(price)
    spot = _spot_path(rng, days, timeframe, start_price, volatility, volume)
    _require_sane_spot(spot, start_price, days.size, volatility)
    crossover = rng.uniform(*CROSSOVER_RANGE, size=len(schedule.contracts)) * roll_window
    front = np.searchsorted(schedule.expiry, spot.day, side="left")
    to_expiry = np.busday_count(spot.day, schedule.expiry[front], busdaycal=calendar.busdaycalendar)
    width = TRANSITION_WIDTH * roll_window
    volume_share = _sigmoid((to_expiry - crossover[front]) / width)
    oi_share = _sigmoid((to_expiry - OPEN_INTEREST_LAG * crossover[front]) / width)
    frames: dict[ContractId, pd.DataFrame] = {}
    for index, contract in enumerate(schedule.contracts):
        rows = _rows(spot.day, schedule.listed[index], schedule.expiry[index])
        if rows.start == rows.stop:
            continue
        position = index - front[rows]
        activity = (
            _weights(position, volume_share[rows]),
            _weights(position, oi_share[rows]),
            position >= 2,
        )
        frames[contract] = _contract_frame(
            rng, spot, rows, schedule.expiry[index], spec.tick_size, carry, volume, activity
        )
    return frames


def _schedule(
    spec: ContractSpec,
    calendar: BusinessCalendar,
    first: np.datetime64,
    last: np.datetime64,
    listed_count: int,
) -> _Schedule:
    """Every contract live on some day in [first, last], each with the ``listed_count``
    contracts before it kept for the listing dates (trimmed once those are known)."""
    cycle = len(spec.months)
    first_year = first.astype(dt.date).year - listed_count // cycle - 2
    last_year = last.astype(dt.date).year + listed_count // cycle + 2
    contracts = [
        ContractId(spec.root, year, month)
        for year in range(first_year, last_year + 1)
        for month in spec.month_numbers
    ]
    expiry = np.array([spec.last_trade_date(c) for c in contracts], dtype="M8[D]")
    listed = np.full(expiry.shape, np.datetime64("NaT"), dtype="M8[D]")
    after = np.busday_offset(
        expiry[:-listed_count], 1, roll="backward", busdaycal=calendar.busdaycalendar
    )
    listed[listed_count:] = after
    keep = (expiry >= first) & (listed <= last)  # NaT compares False: the padding goes
    return _Schedule(
        [c for c, k in zip(contracts, keep, strict=True) if k], listed[keep], expiry[keep]
    )


def _spot_path(
    rng: np.random.Generator,
    days: np.ndarray,
    timeframe: Timeframe,
    price: float,
    volatility: float,
    volume: float,
) -> _Spot:
    """A driftless geometric random walk over the bar grid, with OHLC and total volume."""
    per_day = MINUTE_BARS_PER_DAY if timeframe == "minutes" else 1
    day = np.repeat(days, per_day)
    stamps = day.astype(f"M8[{INDEX_UNIT}]")
    if per_day > 1:
        minutes = SESSION_OPEN + np.tile(np.arange(per_day), days.size).astype("m8[m]")
        stamps = stamps + minutes.astype(f"m8[{INDEX_UNIT}]")
    sigma = volatility / math.sqrt(TRADING_DAYS_PER_YEAR * per_day)
    shocks = rng.standard_normal((5, day.size))
    gap = GAP_SHARE * sigma * shocks[0]
    gap[0] = 0.0
    body = -0.5 * sigma**2 + math.sqrt(1.0 - GAP_SHARE**2) * sigma * shocks[1]
    close = price * np.exp(np.cumsum(gap + body))
    open_ = np.concatenate(([price], close[:-1] * np.exp(gap[1:])))
    high = np.maximum(open_, close) * np.exp(np.abs(shocks[2]) * WICK_SCALE * sigma)
    low = np.minimum(open_, close) * np.exp(-np.abs(shocks[3]) * WICK_SCALE * sigma)
    noise = VOLUME_DISPERSION * shocks[4] - 0.5 * VOLUME_DISPERSION**2
    total = volume / per_day * np.exp(noise)
    return _Spot(day, stamps, open_, high, low, close, total)


def _rows(day: np.ndarray, listed: np.datetime64, expiry: np.datetime64) -> slice:
    """The bars from *listed* to *expiry* inclusive (``day`` is sorted)."""
    begin = int(np.searchsorted(day, listed, side="left"))
    return slice(begin, int(np.searchsorted(day, expiry, side="right")))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _weights(position: np.ndarray, front_share: np.ndarray) -> np.ndarray:
    """Share of the chain's activity by position: front (0), next (1) or deferred (2+)."""
    deferred = DEFERRED_SHARE * 0.5 ** np.maximum(position - 1, 0)
    weights = np.where(position == 1, 1.0 - front_share + DEFERRED_SHARE, deferred)
    return np.where(position == 0, front_share + EXPIRING_SHARE, weights)


def _contract_frame(
    rng: np.random.Generator,
    spot: _Spot,
    rows: slice,
    expiry: np.datetime64,
    tick: float,
    carry: float,
    volume: float,
    activity: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> pd.DataFrame:
    """Price one contract off the spot path and give it its share of volume and interest.

    ``activity`` holds the volume and open-interest weights and a mask of the deferred bars.
    Only deferred volume gets its own noise: the front/next split is a smooth function of the
    days to expiry, so the two cross over exactly once.
    """
    years = (expiry - spot.day[rows]).astype(np.int64) / DAYS_PER_YEAR
    basis = np.exp(carry * years)
    noise = rng.standard_normal((3, years.size))
    open_ = spot.open[rows] * basis * np.exp(BASIS_NOISE * noise[0])
    close = spot.close[rows] * basis * np.exp(BASIS_NOISE * noise[1])
    high = np.maximum(spot.high[rows] * basis, np.maximum(open_, close))
    low = np.minimum(spot.low[rows] * basis, np.minimum(open_, close))
    prices = [_to_tick(values, tick) for values in (open_, high, low, close)]
    jitter = np.exp(CONTRACT_DISPERSION * noise[2] - 0.5 * CONTRACT_DISPERSION**2)
    share = np.where(activity[2], jitter, 1.0)
    traded = np.round(spot.volume[rows] * activity[0] * share)
    interest = np.round(OPEN_INTEREST_RATIO * volume * activity[1])
    data = np.column_stack([*prices, traded, interest])
    index = pd.DatetimeIndex(spot.stamps[rows], name=DATETIME)
    return pd.DataFrame(data, index=index, columns=list(CANONICAL_COLUMNS))


def _to_tick(values: np.ndarray, tick: float) -> np.ndarray:
    """Round to the nearest tick (at least one tick), as the closest double to the decimal."""
    ticks = np.maximum(np.round(values / tick), 1.0)
    return np.round(ticks * tick, _decimals(tick))


def _decimals(tick: float) -> int:
    """Decimal places that represent *tick* exactly (1/64 -> 6, 0.01 -> 2)."""
    return next((d for d in range(16) if round(tick, d) == tick), 15)


def _check_args(
    start: str,
    end: str,
    timeframe: str,
    seed: int,
    price: float | None,
    volatility: float,
    carry: float,
    contracts_listed: int,
    roll_window: int,
    volume: float,
) -> tuple[np.datetime64, np.datetime64]:
    first, last = _date("start", start), _date("end", end)
    if last <= first:
        raise ValueError(f"end must be after start, got start={start!r}, end={end!r}")
    if timeframe not in ("days", "minutes"):
        raise ValueError(f"timeframe must be 'days' or 'minutes', got {timeframe!r}")
    require_int("seed", seed, 0)
    if price is not None:
        require_finite("price", price, minimum=0.0, strict=True)
    require_finite("volatility", volatility)
    if volatility < 0:
        raise ValueError(f"volatility must be >= 0, got {volatility!r}")
    require_finite("carry", carry)
    require_int("contracts_listed", contracts_listed, 2)
    require_int("roll_window", roll_window, 1)
    require_finite("volume", volume, minimum=0.0, strict=True)
    return first, last


def _date(name: str, value: str) -> np.datetime64:
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name}: cannot parse {value!r} as a date") from exc
    if stamp is pd.NaT or stamp.tzinfo is not None:
        raise ValueError(f"{name} must be a naive date such as '2020-01-02', got {value!r}")
    return np.datetime64(stamp.date(), "D")
