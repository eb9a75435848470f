"""Built-in indicators: golden values against independent pandas/NumPy implementations.

Each indicator runs through backtrader (vectorised ``once`` and bar-by-bar ``next``) and is
compared, bar for bar including the warm-up NaNs, with a reference written here from the
published definition, sharing no code with ``stratforge.indicators``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path

import backtrader as bt
import numpy as np
import pandas as pd
import pytest

import stratforge.indicators as builtin
from stratforge import RunSpec, run_backtest
from stratforge.core.errors import SpecError
from stratforge.core.plugins import Plugins
from stratforge.data.feed import make_feed
from stratforge.data.synthetic import generate_synthetic
from stratforge.indicators import (
    KAMA,
    AdaptiveSuperTrend,
    BollingerSmoother,
    DonchianChannel,
    GaussianFilter,
    KeltnerChannel,
)
from stratforge.plugin.params import describe_params
from tests.conftest import ohlc_frame

DOC = Path(__file__).resolve().parents[1] / "docs" / "indicators.md"
NEW = ["gaussian_filter", "adaptive_supertrend", "bollinger_smoother", "keltner_channel", "kama"]
TOLERANCE = {"rtol": 1e-9, "atol": 1e-12, "equal_nan": True}

Lines = dict[str, np.ndarray]
Factory = Callable[[bt.feed.DataBase], bt.Indicator]

# regime switches make the ATR ratio (adaptive SuperTrend) swing both ways
FRAME = generate_synthetic(bars=600, seed=11, regime_length=80)


def run_indicator(frame: pd.DataFrame, factory: Factory, *, runonce: bool = True) -> Lines:
    """The indicator's line arrays after a plain backtrader run over *frame*."""

    class Probe(bt.Strategy):
        def __init__(self) -> None:
            self.indicator = factory(self.data)

    cerebro = bt.Cerebro(stdstats=False, preload=True, runonce=runonce)
    cerebro.adddata(make_feed(frame))
    cerebro.addstrategy(Probe)
    (strategy,) = cerebro.run()
    indicator = strategy.indicator
    return {
        alias: np.asarray(indicator.lines[i].array, dtype=np.float64)
        for i, alias in enumerate(indicator.getlinealiases())
    }


# --- independent references -------------------------------------------------------------


def seeded_ewm(values: pd.Series, alpha: float, first: int, period: int) -> np.ndarray:
    """Exponential smoothing seeded with the mean of its first ``period`` values (from
    ``first``), as backtrader's EMA and Wilder smoothing are; NaN before the seed."""
    out = np.full(len(values), np.nan)
    seed_at = first + period - 1
    tail = values.iloc[seed_at:].copy()
    tail.iloc[0] = values.iloc[first : seed_at + 1].mean()
    out[seed_at:] = tail.ewm(alpha=alpha, adjust=False).mean().to_numpy()
    return out


def ref_ema(values: pd.Series, period: int) -> np.ndarray:
    return seeded_ewm(values, 2.0 / (period + 1.0), 0, period)


def ref_atr(frame: pd.DataFrame, period: int) -> np.ndarray:
    """Wilder's ATR: true range from the second bar, smoothed with alpha 1/period."""
    prev_close = frame["close"].shift(1)
    true_high = pd.concat([frame["high"], prev_close], axis=1).max(axis=1)
    true_low = pd.concat([frame["low"], prev_close], axis=1).min(axis=1)
    return seeded_ewm(true_high - true_low, 1.0 / period, 1, period)


def ref_gaussian(x: np.ndarray, period: int, poles: int) -> np.ndarray:
    """Ehlers' filter with the recursions written out per order, as in his paper."""
    beta = (1 - np.cos(2 * np.pi / period)) / (np.power(2.0, 1.0 / poles) - 1)
    a = -beta + np.sqrt(beta**2 + 2 * beta)
    b = 1 - a
    f = x.astype(float).copy()  # the first `poles` values are the seed
    for i in range(poles, len(x)):
        if poles == 1:
            f[i] = a * x[i] + b * f[i - 1]
        elif poles == 2:
            f[i] = a**2 * x[i] + 2 * b * f[i - 1] - b**2 * f[i - 2]
        elif poles == 3:
            f[i] = a**3 * x[i] + 3 * b * f[i - 1] - 3 * b**2 * f[i - 2] + b**3 * f[i - 3]
        else:
            f[i] = (
                a**4 * x[i]
                + 4 * b * f[i - 1]
                - 6 * b**2 * f[i - 2]
                + 4 * b**3 * f[i - 3]
                - b**4 * f[i - 4]
            )
    return f


def ref_supertrend(
    frame: pd.DataFrame,
    period: int,
    multiplier: float,
    regime_period: int,
    low: float,
    high: float,
) -> Lines:
    """The textbook SuperTrend (switching on which band it was), with the adapted multiplier."""
    atr = ref_atr(frame, period)
    regime = pd.Series(atr).rolling(regime_period).mean().to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(regime == 0, 1.0, atr / regime)
    mult = np.clip(multiplier * ratio, low, high)
    close = frame["close"].to_numpy()
    hl2 = ((frame["high"] + frame["low"]) / 2).to_numpy()
    basic_upper, basic_lower = hl2 + mult * atr, hl2 - mult * atr
    n, first = len(frame), period + regime_period - 1
    upper, lower, st = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    upper[first], lower[first] = basic_upper[first], basic_lower[first]
    st[first] = lower[first] if close[first] >= hl2[first] else upper[first]
    for i in range(first + 1, n):
        keep_upper = basic_upper[i] >= upper[i - 1] and close[i - 1] <= upper[i - 1]
        upper[i] = upper[i - 1] if keep_upper else basic_upper[i]
        keep_lower = basic_lower[i] <= lower[i - 1] and close[i - 1] >= lower[i - 1]
        lower[i] = lower[i - 1] if keep_lower else basic_lower[i]
        if st[i - 1] == upper[i - 1]:
            st[i] = upper[i] if close[i] <= upper[i] else lower[i]
        else:
            st[i] = lower[i] if close[i] >= lower[i] else upper[i]
    direction = np.where(np.isnan(st), np.nan, np.where(st == lower, 1.0, -1.0))
    return {"supertrend": st, "direction": direction, "multiplier": mult}


def ref_bollinger_smoother(frame: pd.DataFrame, period: int, devfactor: float) -> Lines:
    """Weighted variance as EMA(x**2) - EMA(x)**2: the same quantity, other algebra."""
    close = frame["close"]
    mid = ref_ema(close, period)
    var = ref_ema(close**2, period) - mid**2
    std = np.sqrt(np.maximum(var, 0.0))
    top, bot = mid + devfactor * std, mid - devfactor * std
    with np.errstate(invalid="ignore", divide="ignore"):
        percent_b = np.where(top > bot, (close.to_numpy() - bot) / (top - bot), np.nan)
    return {"mid": mid, "top": top, "bot": bot, "percent_b": percent_b}


def ref_keltner(frame: pd.DataFrame, period: int, atr_period: int, multiplier: float) -> Lines:
    mid = ref_ema(frame["close"], period)
    atr = ref_atr(frame, atr_period)
    return {"mid": mid, "top": mid + multiplier * atr, "bot": mid - multiplier * atr}


def ref_kama(frame: pd.DataFrame, period: int, fast: int, slow: int) -> Lines:
    close = frame["close"]
    change = close.diff(period).abs()
    path = close.diff().abs().rolling(period).sum()
    er = np.where(path == 0, 0.0, change / path.replace(0.0, np.nan))
    er = np.where(change.isna(), np.nan, er)
    fast_sc, slow_sc = 2 / (fast + 1), 2 / (slow + 1)
    sc = (er * (fast_sc - slow_sc) + slow_sc) ** 2
    x = close.to_numpy()
    kama = np.full(len(x), np.nan)
    kama[period] = x[period]
    for i in range(period + 1, len(x)):
        kama[i] = kama[i - 1] + sc[i] * (x[i] - kama[i - 1])
    return {"kama": kama}


def ref_donchian(frame: pd.DataFrame, period: int, lookback: int) -> Lines:
    upper = frame["high"].shift(lookback).rolling(period).max().to_numpy()
    lower = frame["low"].shift(lookback).rolling(period).min().to_numpy()
    return {"upper": upper, "middle": (upper + lower) / 2, "lower": lower}


CASES: dict[str, tuple[Factory, Callable[[pd.DataFrame], Lines]]] = {
    **{
        f"gaussian_{poles}_poles": (
            lambda d, poles=poles: GaussianFilter(d, period=20, poles=poles),
            lambda f, poles=poles: {"gauss": ref_gaussian(f["close"].to_numpy(), 20, poles)},
        )
        for poles in (1, 2, 3, 4)
    },
    "gaussian_default": (
        GaussianFilter,
        lambda f: {"gauss": ref_gaussian(f["close"].to_numpy(), 14, 4)},
    ),
    "adaptive_supertrend": (
        lambda d: AdaptiveSuperTrend(
            d, period=10, multiplier=3.0, regime_period=50, min_multiplier=2.4, max_multiplier=3.6
        ),
        lambda f: ref_supertrend(f, 10, 3.0, 50, 2.4, 3.6),
    ),
    "adaptive_supertrend_default": (
        AdaptiveSuperTrend,
        lambda f: ref_supertrend(f, 10, 3.0, 100, 1.5, 6.0),
    ),
    "bollinger_smoother": (
        lambda d: BollingerSmoother(d, period=15, devfactor=1.5),
        lambda f: ref_bollinger_smoother(f, 15, 1.5),
    ),
    "keltner_channel": (
        lambda d: KeltnerChannel(d, period=20, atr_period=14, multiplier=1.5),
        lambda f: ref_keltner(f, 20, 14, 1.5),
    ),
    "kama": (KAMA, lambda f: ref_kama(f, 10, 2, 30)),
    "kama_custom": (
        lambda d: KAMA(d, period=5, fast=3, slow=20),
        lambda f: ref_kama(f, 5, 3, 20),
    ),
    "donchian_channel": (DonchianChannel, lambda f: ref_donchian(f, 20, 1)),
    "donchian_channel_no_lookback": (
        lambda d: DonchianChannel(d, period=10, lookback=0),
        lambda f: ref_donchian(f, 10, 0),
    ),
}


def assert_lines(actual: Lines, expected: Lines) -> None:
    assert set(actual) == set(expected)
    for name, values in expected.items():
        assert len(actual[name]) == len(values), name
        np.testing.assert_allclose(actual[name], values, **TOLERANCE, err_msg=name)


@pytest.mark.parametrize("case", list(CASES))
def test_golden_values(case: str) -> None:
    factory, reference = CASES[case]
    expected = reference(FRAME)
    assert all(np.isfinite(v[-1]) for v in expected.values())  # warm-up fits in the data
    assert_lines(run_indicator(FRAME, factory), expected)


@pytest.mark.parametrize("case", list(CASES))
def test_next_path_matches_once_path(case: str) -> None:
    factory, _ = CASES[case]
    vectorised = run_indicator(FRAME, factory, runonce=True)
    bar_by_bar = run_indicator(FRAME, factory, runonce=False)
    for name, values in vectorised.items():
        np.testing.assert_allclose(bar_by_bar[name], values, rtol=1e-12, equal_nan=True)


def test_golden_cases_exercise_the_branches() -> None:
    """The data makes the SuperTrend flip and clip both ways, so every branch is compared."""
    lines = ref_supertrend(FRAME, 10, 3.0, 50, 2.4, 3.6)
    direction, mult = lines["direction"], lines["multiplier"]
    assert {1.0, -1.0} <= set(direction[~np.isnan(direction)])
    assert np.nanmin(mult) == 2.4 and np.nanmax(mult) == 3.6
    assert np.sum(np.diff(direction[~np.isnan(direction)]) != 0) >= 4


def test_gaussian_one_pole_is_an_ema() -> None:
    """A 1-pole Gaussian is exponential smoothing seeded with the first price (pandas ewm)."""
    period = 20
    alpha = -(b := 1 - math.cos(2 * math.pi / period)) + math.sqrt(b * b + 2 * b)
    expected = FRAME["close"].ewm(alpha=alpha, adjust=False).mean().to_numpy()
    actual = run_indicator(FRAME, lambda d: GaussianFilter(d, period=period, poles=1))
    np.testing.assert_allclose(actual["gauss"], expected, rtol=1e-9)


def test_gaussian_passes_a_constant_and_lags_less_with_fewer_poles() -> None:
    flat = run_indicator(ohlc_frame([50.0] * 60), GaussianFilter)
    np.testing.assert_allclose(flat["gauss"], 50.0, rtol=1e-12)
    ramp = ohlc_frame([float(i) for i in range(100, 300)])
    lag = {
        poles: 299 - run_indicator(ramp, lambda d, p=poles: GaussianFilter(d, poles=p))["gauss"][-1]
        for poles in (1, 4)
    }
    assert 0 < lag[1] < lag[4]


# Flat stretches: KAMA's efficiency ratio divides 0 by 0 and the band width becomes 0.
FLAT_CLOSES = [100.0] * 30 + [100.0 + i for i in range(1, 21)] + [120.0] * 30


def test_kama_efficiency_ratio_is_zero_when_the_price_stands_still() -> None:
    frame = ohlc_frame(FLAT_CLOSES)
    actual = run_indicator(frame, KAMA)
    assert_lines(actual, ref_kama(frame, 10, 2, 30))
    assert actual["kama"][29] == 100.0  # no move: kama stays on the price


def test_bollinger_smoother_percent_b_is_nan_on_zero_width() -> None:
    frame = ohlc_frame(FLAT_CLOSES)
    actual = run_indicator(frame, lambda d: BollingerSmoother(d, period=10))
    assert actual["top"][20] == actual["bot"][20] == 100.0
    assert np.isnan(actual["percent_b"][9:30]).all()
    assert np.isfinite(actual["percent_b"][30:]).all()
    # EMA(x**2) - EMA(x)**2 cancels to rounding noise around 0 here, hence the loose atol
    expected = ref_bollinger_smoother(frame, 10, 2.0)
    for name in ("mid", "top", "bot"):
        np.testing.assert_allclose(actual[name], expected[name], atol=1e-4, equal_nan=True)


# --- through the engine ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "params", "fragment"),
    [
        ("gaussian_filter", {"poles": 7}, "poles must be 1 to 4, got 7"),
        ("gaussian_filter", {"poles": 0}, "poles must be 1 to 4"),
        ("gaussian_filter", {"period": 1}, "period must be at least 2 bars"),
        ("kama", {"fast": 30, "slow": 10}, "need 0 < fast < slow"),
        ("supertrend", {"min_multiplier": 4.0, "max_multiplier": 2.0}, "min_multiplier"),
        ("keltner", {"atr_period": 0}, "atr_period must be at least 1"),
        ("bollinger_smoother", {"period": 0}, "period must be at least 1"),
    ],
)
def test_check_params_rejects_through_the_engine(
    plugins: Plugins, name: str, params: dict, fragment: str
) -> None:
    spec = RunSpec.model_validate(
        {
            "strategy": {"name": "sma_cross"},
            "data": {"args": {"bars": 200}},
            "indicators": [{"name": name, "params": params}],
        }
    )
    with pytest.raises(SpecError) as info:
        run_backtest(spec, plugins=plugins)
    assert info.value.field == "indicators[0].params"
    assert fragment in info.value.message


def test_gaussian_rejects_bad_poles_in_python_too() -> None:
    with pytest.raises(ValueError, match="poles must be 1 to 4"):
        run_indicator(FRAME, lambda d: GaussianFilter(d, poles=5))


def test_indicators_run_in_a_spec_and_are_recorded_as_overlays(plugins: Plugins) -> None:
    spec = RunSpec.model_validate(
        {
            "strategy": {"name": "sma_cross"},
            "data": {"args": {"bars": 300}},
            "indicators": [
                {"name": "gaussian_filter", "params": {"period": "10"}},
                {"name": "supertrend", "params": {"regime_period": 50}},
                {"name": "bollinger_smoother"},
                {"name": "keltner", "params": {"multiplier": 2.5}},
                {"name": "kama"},
            ],
        }
    )
    result = run_backtest(spec, plugins=plugins)
    records = {r.indicator: r for r in result.indicators}
    expected_lines = {
        "GaussianFilter": ["gauss"],
        "AdaptiveSuperTrend": ["supertrend", "direction", "multiplier"],
        "BollingerSmoother": ["mid", "top", "bot", "percent_b"],
        "KeltnerChannel": ["mid", "top", "bot"],
        "KAMA": ["kama"],
    }
    for kind, lines in expected_lines.items():
        record = records[kind]
        assert list(record.lines) == lines
        assert record.subplot is False and record.plot is True
        assert all(len(values) == 300 for values in record.lines.values())
        assert record.lines[lines[0]][-1] is not None
    # helpers inside indicators are not recorded as the strategy's indicators
    assert not any(r.indicator.startswith("_") for r in result.indicators)


# --- registration and documentation ------------------------------------------------------


def builtin_names() -> dict[str, list[str]]:
    """Names and aliases the built-in register_indicators hook registers."""
    names: dict[str, list[str]] = {}

    def register(obj: object, name: str | None = None, aliases=(), **_: object) -> object:
        assert name is not None
        names[name] = list(aliases)
        return obj

    builtin.register_indicators(register)
    return names


@pytest.mark.parametrize("name", NEW)
def test_registered_with_documented_params(plugins: Plugins, name: str) -> None:
    entry = plugins.registries.indicators.entry(name)
    assert entry.obj.__name__ in builtin.__all__
    infos = describe_params(entry.obj)
    assert infos
    for info in infos:
        assert info.description, f"{name}.{info.name} has no description"


def test_aliases(plugins: Plugins) -> None:
    registry = plugins.registries.indicators
    assert registry.get("supertrend") is AdaptiveSuperTrend
    assert registry.get("keltner") is KeltnerChannel
    assert set(NEW) <= set(builtin_names())


def test_every_builtin_indicator_is_documented() -> None:
    headings = set(re.findall(r"^## `?(\w+)`?", DOC.read_text(encoding="utf-8"), re.MULTILINE))
    missing = set(builtin_names()) - headings
    assert not missing, f"docs/indicators.md lacks sections for {sorted(missing)}"
    assert "roll_yield" in headings
