"""Pandas first: in-memory frames in the spellings people hold, validated like files."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from stratforge import RunSpec, run_backtest
from stratforge.api import create_app
from stratforge.core.engine import prepare
from stratforge.core.errors import SpecError
from stratforge.core.optimize import OptimizeSpec, optimize
from stratforge.core.settings import Settings
from stratforge.data import DataValidationError, generate_synthetic, load_csv
from stratforge.data.frames import FRAMES_ONLY_IN_PROCESS, canonical_frame

SMA = {"name": "sma_cross", "params": {"fast": 5, "slow": 20}}


def yahoo(bars: int = 300) -> pd.DataFrame:
    """What ``yfinance.download(...)`` returns: title-case columns, Adj Close, a Date index."""
    bars_ = generate_synthetic(bars=bars, seed=7)
    frame = pd.DataFrame(
        {
            "Open": bars_["open"].to_numpy(),
            "High": bars_["high"].to_numpy(),
            "Low": bars_["low"].to_numpy(),
            "Close": bars_["close"].to_numpy(),
            "Adj Close": bars_["close"].to_numpy(),
            "Volume": bars_["volume"].to_numpy().astype(np.int64),
        },
        index=pd.DatetimeIndex(bars_.index, name="Date"),
    )
    return frame


def assert_canonical(frame: pd.DataFrame) -> None:
    assert list(frame.columns) == ["open", "high", "low", "close", "volume", "openinterest"]
    assert frame.index.name == "datetime" and frame.index.tz is None
    assert frame.index.is_monotonic_increasing and frame.index.is_unique
    assert all(dtype == np.float64 for dtype in frame.dtypes)


def test_yfinance_style_frame() -> None:
    df = yahoo()
    frame = canonical_frame(df)
    assert_canonical(frame)
    assert (frame["close"].to_numpy() == df["Close"].to_numpy()).all()
    assert (frame["openinterest"] == 0).all()
    assert frame.index[0] == df.index[0]


def test_yfinance_one_ticker_multiindex_is_flattened() -> None:
    df = yahoo()
    multi = pd.concat({"AAPL": df}, axis=1).swaplevel(axis=1)
    multi.columns.names = ["Price", "Ticker"]
    pd.testing.assert_frame_equal(canonical_frame(multi), canonical_frame(df))
    both = pd.concat({"AAPL": df, "MSFT": df}, axis=1).swaplevel(axis=1)
    with pytest.raises(DataValidationError, match="MultiIndex of several tickers"):
        canonical_frame(both)


def test_lower_case_with_a_timestamp_column() -> None:
    df = yahoo().reset_index()
    df.columns = ["timestamp", "open", "high", "low", "close", "adj close", "vol"]
    frame = canonical_frame(df)
    assert_canonical(frame)
    assert (frame["volume"].to_numpy() == df["vol"].to_numpy()).all()
    assert frame.index[0] == df["timestamp"].iloc[0]


def test_upper_case_and_a_date_column_of_strings() -> None:
    df = yahoo().reset_index()
    df["Date"] = df["Date"].dt.strftime("%Y-%m-%d")
    df.columns = [c.upper() for c in df.columns]
    assert_canonical(canonical_frame(df))


def test_no_volume_is_zero_volume() -> None:
    frame = canonical_frame(yahoo().drop(columns=["Volume"]))
    assert_canonical(frame)
    assert (frame["volume"] == 0.0).all()


def test_adj_close_stands_in_only_for_a_missing_close() -> None:
    df = yahoo()
    df["Adj Close"] = df["Close"] * 0.999 + df["Low"] * 0.001
    assert (canonical_frame(df)["close"] == df["Close"]).all()
    assert (canonical_frame(df.drop(columns=["Close"]))["close"] == df["Adj Close"]).all()
    mapped = canonical_frame(df, columns={"Adj Close": "close"})
    assert (mapped["close"] == df["Adj Close"]).all()


def test_tz_aware_index_becomes_naive_utc() -> None:
    df = yahoo()
    df.index = (df.index + pd.Timedelta(hours=16)).tz_localize("America/New_York")
    frame = canonical_frame(df)
    assert_canonical(frame)
    assert frame.index[0] == pd.Timestamp(df.index[0].tz_convert("UTC").tz_localize(None))
    assert frame.index[0].hour == 21


def test_an_unnamed_datetime_index_and_an_unnamed_string_index() -> None:
    df = yahoo()
    df.index.name = None
    assert_canonical(canonical_frame(df))
    df.index = df.index.strftime("%Y-%m-%d")
    assert_canonical(canonical_frame(df))


def _frame_and_file_errors(df: pd.DataFrame, tmp_path: Path) -> tuple[str, str]:
    path = tmp_path / "prices.csv"
    df.to_csv(path)
    with pytest.raises(DataValidationError) as in_memory:
        canonical_frame(df, where="frame")
    with pytest.raises(DataValidationError) as on_disk:
        load_csv(path)
    assert str(in_memory.value).count("\n") == 0
    # Frames number rows by position, files by line (the header is line 1): rows aside, equal.
    frame_msg, file_msg = (
        re.sub(r"row \d+", "row N", exc.value.problems[0].message) for exc in (in_memory, on_disk)
    )
    return frame_msg, file_msg


def test_nan_is_the_file_error(tmp_path: Path) -> None:
    df = yahoo()
    df.iloc[3, df.columns.get_loc("Close")] = np.nan
    frame_msg, file_msg = _frame_and_file_errors(df, tmp_path)
    assert frame_msg == file_msg == "close is missing"
    with pytest.raises(DataValidationError, match=r"^frame: row 4: close is missing; use on_bad"):
        canonical_frame(df)


def test_high_below_low_is_the_file_error(tmp_path: Path) -> None:
    df = yahoo()
    df.iloc[5, df.columns.get_loc("High")] = df["Low"].iloc[5] - 1
    frame_msg, file_msg = _frame_and_file_errors(df, tmp_path)
    assert frame_msg == file_msg and frame_msg.startswith("high < low")


def test_duplicates_and_unsorted_are_the_file_errors(tmp_path: Path) -> None:
    df = yahoo()
    dup = pd.concat([df.iloc[:10], df.iloc[9:10], df.iloc[10:]])
    frame_msg, file_msg = _frame_and_file_errors(dup, tmp_path)
    assert frame_msg == file_msg and frame_msg.startswith("duplicate timestamp")
    swapped = df.iloc[[0, 1, 3, 2, *range(4, len(df))]]
    frame_msg, file_msg = _frame_and_file_errors(swapped, tmp_path)
    assert frame_msg == file_msg and "rows must be in ascending time order" in frame_msg


def test_bad_rows_can_be_dropped() -> None:
    df = yahoo()
    df.iloc[3, df.columns.get_loc("Close")] = np.nan
    assert len(canonical_frame(df, on_bad_rows="drop")) == len(df) - 1


def test_missing_columns_and_not_a_frame() -> None:
    with pytest.raises(DataValidationError, match=r"^frame: missing column\(s\) 'high'"):
        canonical_frame(yahoo().drop(columns=["High"]))
    with pytest.raises(TypeError, match="expected a pandas DataFrame"):
        canonical_frame([1, 2, 3])  # type: ignore[arg-type]


def test_run_backtest_takes_an_ordinary_frame() -> None:
    """The KeyError 'openinterest' of issue 17: frame= now goes through canonical_frame."""
    result = run_backtest(RunSpec.model_validate({"strategy": SMA}), frame=yahoo())
    assert result.metrics.bars == 300 and result.metrics.trades > 0


def test_frames_without_data_in_the_spec_become_dataframe_feeds() -> None:
    result = run_backtest(RunSpec.model_validate({"strategy": SMA}), frames={"AAPL": yahoo()})
    assert result.spec["data"]["source"] == "dataframe"
    assert result.spec["data"]["args"] == {"name": "AAPL"}
    assert [series.data for series in result.prices] == ["AAPL"]
    assert result.metrics.bars == 300


def test_the_dataframe_source_picks_a_frame_by_name() -> None:
    spec = RunSpec.model_validate(
        {
            "strategy": SMA,
            "data": [
                {"source": "dataframe", "args": {"name": "a"}},
                {"source": "dataframe", "args": {"name": "b"}, "start": "2015-03-01"},
            ],
        }
    )
    a, b = yahoo(), yahoo(400)
    prepared = prepare(spec, frames={"a": a, "b": b})
    assert [m.name for m in prepared.markets] == ["dataframe", "dataframe_2"]
    assert len(prepared.markets[0].frame) == 300
    assert prepared.markets[1].frame.index[0] >= pd.Timestamp("2015-03-01")
    one = RunSpec.model_validate({"strategy": SMA, "data": {"source": "dataframe"}})
    assert len(prepare(one, frames={"only": a}).markets[0].frame) == 300


def test_the_dataframe_source_errors() -> None:
    named = RunSpec.model_validate(
        {"strategy": SMA, "data": {"source": "dataframe", "args": {"name": "x"}}}
    )
    with pytest.raises(SpecError, match="in-memory frames exist only in the Python process"):
        run_backtest(named)
    with pytest.raises(ValueError, match="no in-memory frame named 'x'; frames given: 'a'"):
        run_backtest(named, frames={"a": yahoo()})
    unnamed = RunSpec.model_validate({"strategy": SMA, "data": {"source": "dataframe"}})
    with pytest.raises(ValueError, match=r"name the frame to use \(args.name\)"):
        run_backtest(unnamed, frames={"a": yahoo(), "b": yahoo()})
    with pytest.raises(TypeError, match="frames: give a dict"):
        run_backtest(unnamed, frames=[yahoo()])  # type: ignore[arg-type]
    bad = yahoo()
    bad.iloc[2, bad.columns.get_loc("Close")] = np.nan
    with pytest.raises(DataValidationError, match=r"^frame 'a': row 3: close is missing"):
        run_backtest(unnamed, frames={"a": bad})
    with pytest.raises(DataValidationError, match=r"^frame: row 3: close is missing"):
        run_backtest(RunSpec.model_validate({"strategy": SMA}), frame=bad)


def test_the_dataframe_source_is_not_a_rest_api_source(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "server", job_executor="serial")
    body = {"strategy": SMA, "data": {"source": "dataframe", "args": {"name": "prices"}}}
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        response = client.post("/api/v1/backtests", json=body)
        assert response.status_code == 422, response.text
        detail = response.json()["detail"][0]
        assert detail["loc"][:3] == ["body", "data", "source"]
        assert detail["msg"].startswith(FRAMES_ONLY_IN_PROCESS[:40]) and "\n" not in detail["msg"]
        schema = client.get("/api/v1/plugins/data_sources/dataframe").json()["params_schema"]
        assert "name" in schema["properties"]
        assert "frames" not in schema["properties"]  # engine-supplied, not a spec parameter


def test_results_equal_the_same_data_from_csv(tmp_path: Path) -> None:
    df = yahoo()
    path = tmp_path / "prices.csv"
    df.to_csv(path)
    from_csv = RunSpec.model_validate(
        {"strategy": SMA, "data": {"source": "csv", "args": {"path": str(path)}, "symbol": "P"}}
    )
    from_frame = RunSpec.model_validate(
        {"strategy": SMA, "data": {"source": "dataframe", "symbol": "P"}}
    )
    on_disk = run_backtest(from_csv)
    in_memory = run_backtest(from_frame, frames={"prices": df})
    replaced = run_backtest(from_csv, frame=df)
    for other in (in_memory, replaced):
        assert other.metrics == on_disk.metrics
        assert other.trades == on_disk.trades and other.orders == on_disk.orders
        assert other.equity == on_disk.equity
        assert other.provenance.data_sha256 == on_disk.provenance.data_sha256


def test_optimize_over_a_dataframe_spec_is_refused_without_frames() -> None:
    """optimize() takes no frames: a dataframe spec names the cause instead of failing later."""
    search = OptimizeSpec.model_validate(
        {
            "base": {"strategy": SMA, "data": {"source": "dataframe"}},
            "space": {"fast": {"kind": "int", "start": 3, "stop": 6, "step": 3}},
            "executor": "serial",
        }
    )
    with pytest.raises(SpecError, match="in-memory frames exist only"):
        optimize(search)
