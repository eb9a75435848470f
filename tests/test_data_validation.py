"""Validation rules: one test per problem kind, drop policy, tz handling, scale."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stratforge.data import (
    CANONICAL_COLUMNS,
    DataValidationError,
    RowProblem,
    load_csv,
    validate_file,
    validate_frame,
)

HEADER = "datetime,open,high,low,close,volume"
GOOD_ROWS = [
    "2024-01-02,10.0,11.0,9.5,10.5,100",
    "2024-01-03,10.5,11.5,10.0,11.0,120",
    "2024-01-04,11.0,11.2,10.4,10.8,90",
    "2024-01-05,10.8,11.0,10.1,10.2,110",
]


def write_csv(tmp_path: Path, rows: list[str], header: str = HEADER) -> Path:
    path = tmp_path / "bars.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def with_row(line: int, row: str) -> list[str]:
    """The good rows with CSV line *line* (header = line 1) replaced by *row*."""
    rows = list(GOOD_ROWS)
    rows[line - 2] = row
    return rows


def raised(path: Path, **kwargs: object) -> DataValidationError:
    with pytest.raises(DataValidationError) as info:
        load_csv(path, **kwargs)  # type: ignore[arg-type]
    return info.value


@pytest.mark.parametrize(
    ("line", "row", "expected"),
    [
        (3, "not-a-date,10.5,11.5,10.0,11.0,120", "unparsable date 'not-a-date'"),
        (3, ",10.5,11.5,10.0,11.0,120", "missing date"),
        (4, "2024-01-04,11.0,11.2,,10.8,90", "low is missing"),
        (4, "2024-01-04,11.0,11.2,10.4,abc,90", "close is not a number ('abc')"),
        (5, "2024-01-05,10.8,11.0,10.1,10.2,", "volume is missing"),
        (3, "2024-01-03,10.5,10.0,11.0,10.5,120", "high < low (high=10.0, low=11.0)"),
        (
            4,
            "2024-01-04,12.0,11.2,10.4,10.8,90",
            "open outside [low, high] (open=12.0, low=10.4, high=11.2)",
        ),
        (
            4,
            "2024-01-04,11.0,11.2,10.4,10.0,90",
            "close outside [low, high] (close=10.0, low=10.4, high=11.2)",
        ),
        (5, "2024-01-05,10.8,11.0,10.1,10.2,-5", "negative volume (volume=-5.0)"),
        (4, "2024-01-03,11.0,11.2,10.4,10.8,90", "duplicate timestamp 2024-01-03 00:00:00"),
        (4, "2024-01-01,11.0,11.2,10.4,10.8,90", "timestamp 2024-01-01 00:00:00 is earlier"),
    ],
    ids=[
        "unparsable-date",
        "missing-date",
        "nan",
        "non-numeric",
        "nan-volume",
        "high-below-low",
        "open-outside",
        "close-outside",
        "negative-volume",
        "duplicate-timestamp",
        "non-increasing",
    ],
)
def test_each_problem_names_file_line_and_problem(
    tmp_path: Path, line: int, row: str, expected: str
) -> None:
    path = write_csv(tmp_path, with_row(line, row))
    error = raised(path)
    message = str(error)
    assert str(path) in message
    assert f"row {line}: {expected}" in message
    assert "on_bad_rows='drop'" in message and "--on-bad-rows drop" in message
    assert "\n" not in message
    assert error.origin == str(path)
    assert error.total == 1
    assert error.problems[0].row == line


def test_missing_column_names_present_columns_and_mapping(tmp_path: Path) -> None:
    header = "Date,Open,High,Low,Adj Close,Volume"
    path = write_csv(tmp_path, GOOD_ROWS, header=header)
    error = raised(path)
    message = str(error)
    assert str(path) in message
    assert "missing column(s) 'close'" in message
    assert "'Adj Close'" in message and "'Date'" in message
    assert "columns={'Adj Close': 'close'}" in message
    assert "on_bad_rows" not in message  # missing columns cannot be dropped
    assert error.problems == []
    with pytest.raises(DataValidationError, match="missing column"):
        load_csv(path, on_bad_rows="drop")


def test_mapped_column_absent_from_file(tmp_path: Path) -> None:
    path = write_csv(tmp_path, GOOD_ROWS)
    with pytest.raises(DataValidationError, match=r"'Last' \(mapped to 'close'\)"):
        load_csv(path, columns={"Last": "close"})


def test_all_problems_counted_and_first_reported(tmp_path: Path) -> None:
    rows = [
        "2024-01-02,10.0,9.0,9.5,10.5,100",  # line 2: high < low
        "2024-01-03,10.5,11.5,10.0,11.0,-1",  # line 3: negative volume
        "2024-01-04,11.0,11.2,10.4,10.8,90",
        "2024-01-04,10.8,11.0,10.1,10.2,110",  # line 5: duplicate
    ]
    error = raised(write_csv(tmp_path, rows))
    assert "row 2: high < low" in str(error)
    assert "(+2 more problems)" in str(error)
    assert [p.row for p in error.problems] == [2, 3, 5]


def test_problem_count_is_exact_but_list_is_capped() -> None:
    n = 200
    raw = pd.DataFrame(
        {
            "datetime": pd.date_range("2024-01-01", periods=n, freq="D"),
            "open": 1.0,
            "high": 0.5,
            "low": 1.0,
            "close": 1.0,
            "volume": 1.0,
        }
    )
    with pytest.raises(DataValidationError) as info:
        validate_frame(raw, origin="frame")
    assert info.value.total == n
    assert len(info.value.problems) == 50
    assert f"(+{n - 1} more problems)" in str(info.value)


def test_drop_policy_drops_and_counts(tmp_path: Path) -> None:
    rows = [
        *GOOD_ROWS[:2],
        "garbage,1,1,1,1,1",
        "2024-01-03,10.5,11.5,10.0,11.0,120",  # duplicate of line 3: dropped, not line 3
        GOOD_ROWS[2],
        "2024-01-04,10.8,10.0,11.0,10.2,110",  # high < low
        GOOD_ROWS[3],
    ]
    result = validate_file(write_csv(tmp_path, rows), on_bad_rows="drop")
    assert result.dropped == 3
    assert [p.row for p in result.problems] == [4, 5, 7]
    assert result.problem_count == 3
    expected = pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"])
    assert list(result.frame.index) == list(expected)
    assert result.frame.loc["2024-01-03", "close"] == 11.0


def test_drop_keeps_strictly_increasing_after_out_of_order_rows() -> None:
    stamps = pd.to_datetime(
        ["2024-01-01", "2024-01-03", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-02"]
    )
    raw = pd.DataFrame(
        {"open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0, "volume": 1.0}, index=stamps
    )
    result = validate_frame(raw, origin="frame", on_bad_rows="drop")
    assert result.dropped == 3
    assert [p.row for p in result.problems] == [3, 4, 6]
    assert "same as row 2" in result.problems[1].message
    assert result.frame.index.is_monotonic_increasing and result.frame.index.is_unique


def test_drop_with_every_row_bad_raises() -> None:
    raw = pd.DataFrame(
        {"datetime": ["x", "y"], "open": 1, "high": 1, "low": 1, "close": 1, "volume": 1}
    )
    with pytest.raises(DataValidationError, match="all 2 rows are bad"):
        validate_frame(raw, origin="frame", on_bad_rows="drop")


def test_canonical_frame_shape_and_dtypes() -> None:
    raw = pd.DataFrame(
        {
            "Timestamp": ["2024-01-02", "2024-01-03"],
            "OPEN": [1, 2],
            "High": [2, 3],
            "low": [1, 1],
            "Close": [2, 2],
            "Volume": [5, 6],
            "Open Interest": [7, None],
            "extra": ["a", "b"],
        }
    )
    frame = validate_frame(raw, origin="frame").frame
    assert list(frame.columns) == list(CANONICAL_COLUMNS)
    assert all(dtype == np.float64 for dtype in frame.dtypes)
    assert isinstance(frame.index, pd.DatetimeIndex)
    assert frame.index.name == "datetime" and frame.index.tz is None
    assert frame["openinterest"].tolist() == [7.0, 0.0]  # a blank open interest means 0


def test_openinterest_defaults_to_zero_and_negative_is_reported() -> None:
    raw = pd.DataFrame(
        {"open": [1.0, 1.0], "high": 1.0, "low": 1.0, "close": 1.0, "volume": 1.0},
        index=pd.DatetimeIndex(["2024-01-02", "2024-01-03"]),
    )
    assert validate_frame(raw, origin="frame").frame["openinterest"].tolist() == [0.0, 0.0]
    with pytest.raises(DataValidationError, match=r"row 2: negative open interest"):
        validate_frame(raw.assign(oi=[1.0, -3.0]), origin="frame")


def test_frame_rows_are_one_based_positions() -> None:
    raw = pd.DataFrame(
        {
            "datetime": ["2024-01-02", "2024-01-03", "2024-01-04"],
            "open": [1.0, 1.0, 5.0],
            "high": 2.0,
            "low": 0.5,
            "close": 1.0,
            "volume": 1.0,
        }
    )
    with pytest.raises(DataValidationError, match=r"^synthetic: row 3: open outside"):
        validate_frame(raw, origin="synthetic")
    with pytest.raises(DataValidationError, match=r"row 12: open outside"):
        validate_frame(raw, origin="synthetic", first_row_number=10)


def test_tz_aware_converted_to_tz_then_naive() -> None:
    stamps = pd.date_range("2024-03-01 14:30", periods=3, freq="h", tz="UTC")
    raw = pd.DataFrame(
        {"datetime": stamps, "open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0, "volume": 1.0}
    )
    utc = validate_frame(raw, origin="f").frame.index
    ny = validate_frame(raw, origin="f", tz="America/New_York").frame.index
    assert utc.tz is None and ny.tz is None
    assert str(utc[0]) == "2024-03-01 14:30:00"
    assert str(ny[0]) == "2024-03-01 09:30:00"


def test_mixed_offsets_and_naive_kept(tmp_path: Path) -> None:
    rows = [
        "2024-03-08 09:30:00-05:00,1,1,1,1,1",
        "2024-03-11 09:30:00-04:00,1,1,1,1,1",
    ]
    index = load_csv(write_csv(tmp_path, rows), tz="America/New_York").index
    assert [str(t) for t in index] == ["2024-03-08 09:30:00", "2024-03-11 09:30:00"]
    naive = load_csv(write_csv(tmp_path, GOOD_ROWS), tz="Asia/Tokyo").index
    assert str(naive[0]) == "2024-01-02 00:00:00"


def test_unknown_tz_and_policy_rejected() -> None:
    raw = pd.DataFrame({"datetime": ["2024-01-02"], "open": [1.0]})
    with pytest.raises(ValueError, match="Mars/Olympus"):
        validate_frame(raw, origin="f", tz="Mars/Olympus")
    with pytest.raises(ValueError, match="on_bad_rows"):
        validate_frame(raw, origin="f", on_bad_rows="ignore")  # type: ignore[arg-type]


def test_error_is_picklable_and_problem_str() -> None:
    problem = RowProblem(14, "high", "high < low (high=10.5, low=11.0)")
    assert str(problem) == "row 14: high < low (high=10.5, low=11.0)"
    error = DataValidationError("a.csv", [problem], total=3)
    copy = pickle.loads(pickle.dumps(error))
    assert str(copy) == str(error)
    assert copy.problems == [problem] and copy.total == 3
    assert isinstance(error, ValueError)


def test_validate_file_rejects_unknown_suffix(tmp_path: Path) -> None:
    path = tmp_path / "bars.xlsx"
    path.write_text("x")
    with pytest.raises(ValueError, match=r"bars\.xlsx.*\.csv.*\.parquet"):
        validate_file(path)


def test_million_rows_validate() -> None:
    n = 1_000_000
    rng = np.random.default_rng(1)
    close = 100 + np.cumsum(rng.standard_normal(n) * 0.1)
    raw = pd.DataFrame(
        {
            "datetime": pd.date_range("2000-01-01", periods=n, freq="min"),
            "open": close,
            "high": close + 0.5,
            "low": close - 0.5,
            "close": close,
            "volume": 1000.0,
        }
    )
    raw.loc[500_000, "high"] = raw.loc[500_000, "low"] - 1
    with pytest.raises(DataValidationError, match="row 500001: high < low"):
        validate_frame(raw, origin="big")
    result = validate_frame(raw, origin="big", on_bad_rows="drop")
    assert result.dropped == 1
    assert len(result.frame) == n - 1
