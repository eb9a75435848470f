"""The synthetic market generator and the built-in data-source plugin."""

from __future__ import annotations

import inspect
import typing

import numpy as np
import pandas as pd
import pytest

from stratforge.data import CANONICAL_COLUMNS, generate_synthetic, sources, validate_frame
from stratforge.futures import sources as futures_sources


def test_same_arguments_same_frame_bit_for_bit() -> None:
    first = generate_synthetic(bars=1000, seed=7, regime_length=50)
    second = generate_synthetic(bars=1000, seed=7, regime_length=50)
    pd.testing.assert_frame_equal(first, second, check_exact=True)
    assert first.to_numpy().tobytes() == second.to_numpy().tobytes()


def test_different_seeds_differ() -> None:
    a = generate_synthetic(bars=100, seed=1)
    b = generate_synthetic(bars=100, seed=2)
    assert not np.array_equal(a["close"].to_numpy(), b["close"].to_numpy())


@pytest.mark.parametrize("timeframe", ["days", "minutes"])
def test_shape_dtypes_index_and_consistency(timeframe: str) -> None:
    frame = generate_synthetic(bars=5000, timeframe=timeframe, regime_length=100, seed=3)  # type: ignore[arg-type]
    assert frame.shape == (5000, 6)
    assert list(frame.columns) == list(CANONICAL_COLUMNS)
    assert all(dtype == np.float64 for dtype in frame.dtypes)
    index = frame.index
    assert isinstance(index, pd.DatetimeIndex) and index.name == "datetime" and index.tz is None
    assert index.is_monotonic_increasing and index.is_unique
    o, h, lo, c = (frame[k].to_numpy() for k in ("open", "high", "low", "close"))
    assert np.all(lo <= o) and np.all(o <= h) and np.all(lo <= c) and np.all(c <= h)
    assert np.all(lo > 0)
    assert np.all(frame["volume"].to_numpy() > 0)
    assert np.all(frame["openinterest"].to_numpy() == 0)
    validate_frame(frame, origin="synthetic")  # passes every data rule


def test_open_is_previous_close_plus_small_gap() -> None:
    frame = generate_synthetic(bars=2000, seed=11)
    assert frame["open"].iloc[0] == 100.0
    gaps = frame["open"].to_numpy()[1:] / frame["close"].to_numpy()[:-1] - 1
    assert np.abs(gaps).max() < 0.03  # a few 20%-vol daily standard deviations at most


def test_daily_grid_is_business_days_with_compression() -> None:
    frame = generate_synthetic(bars=10, start="2024-01-05", compression=2)
    assert str(frame.index[0]) == "2024-01-05 00:00:00"
    assert str(frame.index[1]) == "2024-01-09 00:00:00"  # 2 business days later
    assert (frame.index.day_of_week < 5).all()


def test_minute_grid_is_24_5() -> None:
    frame = generate_synthetic(
        bars=2 * 288, timeframe="minutes", compression=5, start="2024-01-05 23:50"
    )
    assert str(frame.index[0]) == "2024-01-05 23:50:00"
    assert str(frame.index[2]) == "2024-01-08 00:00:00"  # weekend skipped
    assert (frame.index.day_of_week < 5).all()
    assert (np.diff(frame.index.asi8)[2:200] == 5 * 60 * 10**6).all()


def test_annualised_volatility_is_respected() -> None:
    frame = generate_synthetic(bars=20_000, volatility=0.3, drift=0.0, seed=5)
    returns = np.diff(np.log(frame["close"].to_numpy()))
    assert returns.std() * np.sqrt(252) == pytest.approx(0.3, rel=0.05)
    minutes = generate_synthetic(bars=20_000, timeframe="minutes", volatility=0.3, seed=5)
    minute_returns = np.diff(np.log(minutes["close"].to_numpy()))
    assert minute_returns.std() * np.sqrt(252 * 1440) == pytest.approx(0.3, rel=0.05)


def test_regimes_switch_volatility() -> None:
    frame = generate_synthetic(
        bars=20_000, regime_length=200, regime_volatility_ratio=4.0, seed=2, drift=0.0
    )
    returns = np.abs(np.diff(np.log(frame["close"].to_numpy())))
    window = pd.Series(returns).rolling(100).std().dropna()
    assert window.max() / window.min() > 2.5  # calm and volatile stretches both exist
    plain = generate_synthetic(bars=20_000, seed=2, drift=0.0)
    plain_returns = np.abs(np.diff(np.log(plain["close"].to_numpy())))
    plain_window = pd.Series(plain_returns).rolling(100).std().dropna()
    assert window.max() / window.min() > 2 * plain_window.max() / plain_window.min()


def test_large_generation_runs() -> None:
    frame = generate_synthetic(bars=250_000, timeframe="minutes", regime_length=1000)
    assert len(frame) == 250_000
    # 250,000 daily bars are ~990 years: at +5% a year prices pass 1e21, which is refused
    with pytest.raises(ValueError, match=r"bars: 250,000 bars \(992 years\).*use fewer bars"):
        generate_synthetic(bars=250_000)
    assert len(generate_synthetic(bars=250_000, drift=0.0, volatility=0.05)) == 250_000


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"bars": 1}, "bars"),
        ({"bars": 2.5}, "bars"),
        ({"bars": True}, "bars"),
        ({"timeframe": "hours"}, "timeframe"),
        ({"compression": 0}, "compression"),
        ({"timeframe": "minutes", "compression": 2000}, "compression"),
        ({"start": "not a date"}, "start"),
        ({"seed": -1}, "seed"),
        ({"price": 0.0}, "price"),
        ({"price": float("nan")}, "price"),
        ({"drift": float("inf")}, "drift"),
        ({"volatility": -0.1}, "volatility"),
        ({"regime_length": -1}, "regime_length"),
        ({"regime_volatility_ratio": 0.0}, "regime_volatility_ratio"),
        ({"volume": -5.0}, "volume"),
    ],
)
def test_argument_errors_name_the_parameter(kwargs: dict[str, object], name: str) -> None:
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        generate_synthetic(**kwargs)  # type: ignore[arg-type]


def test_zero_volatility_is_a_smooth_drift() -> None:
    frame = generate_synthetic(bars=253, volatility=0.0, drift=0.1)
    assert frame["close"].iloc[-1] == pytest.approx(100 * np.exp(0.1 * 253 / 252))
    assert (frame["high"] == frame[["open", "close"]].max(axis=1)).all()


def test_source_signatures_are_keyword_only_and_documented() -> None:
    for func in (
        futures_sources.synthetic,
        sources.csv,
        sources.parquet,
        futures_sources.contracts_dir,
        sources.dataset,
    ):
        params = [
            p for p in inspect.signature(func).parameters.values() if p.name != "contract"
        ]  # `contract` is injected by the engine for futures, not a user parameter
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params)
        assert all(p.annotation is not inspect.Parameter.empty for p in params)
        doc = inspect.getdoc(func) or ""
        assert "Args:" in doc
        assert all(f"    {p.name}:" in doc for p in params)
        typing.get_type_hints(func)  # resolvable annotations
    assert inspect.signature(sources.csv).parameters["path"].default is inspect.Parameter.empty
    synthetic_params = inspect.signature(futures_sources.synthetic).parameters
    plain = inspect.signature(generate_synthetic).parameters
    assert {k: p.default for k, p in synthetic_params.items() if k in plain and k != "price"} == {
        k: p.default for k, p in plain.items() if k != "price"
    }


def test_source_hook_registers_the_builtin_sources() -> None:
    registered: dict[str, object] = {}

    def register(obj: object, name: str | None = None, aliases: object = ()) -> object:
        registered[str(name)] = obj
        return obj

    sources.register_data_sources(register)
    futures_sources.register_data_sources(register)
    assert registered == {
        "synthetic": futures_sources.synthetic,
        "csv": sources.csv,
        "parquet": sources.parquet,
        "contracts_dir": futures_sources.contracts_dir,
        "dataset": sources.dataset,
        "dataframe": sources.dataframe,
    }
    pd.testing.assert_frame_equal(
        futures_sources.synthetic(bars=20, seed=1), generate_synthetic(bars=20, seed=1)
    )
