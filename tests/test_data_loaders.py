"""CSV and Parquet loaders on real files."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stratforge.data import (
    CANONICAL_COLUMNS,
    DataValidationError,
    generate_synthetic,
    load_csv,
    load_parquet,
    validate_file,
)

YAHOO = """Date,Open,High,Low,Close,Adj Close,Volume
2024-01-02,187.15,188.44,183.89,185.64,184.73,82488700
2024-01-03,184.22,185.88,183.43,184.25,183.35,58414500
2024-01-04,182.15,183.09,180.88,181.91,181.02,71983600
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_common_headers_recognised_case_insensitively(tmp_path: Path) -> None:
    frame = load_csv(write(tmp_path, "yahoo.csv", YAHOO))
    assert list(frame.columns) == list(CANONICAL_COLUMNS)
    assert frame.index.name == "datetime"
    assert frame["close"].tolist() == [185.64, 184.25, 181.91]
    assert frame["openinterest"].tolist() == [0.0, 0.0, 0.0]


def test_column_mapping_overrides_aliases(tmp_path: Path) -> None:
    text = "Date,Open,High,Low,Close,Settle,Volume\n2024-01-02,10,12,9,11,11.5,100\n"
    frame = load_csv(write(tmp_path, "bars.csv", text), columns={"Settle": "close"})
    assert frame["close"].tolist() == [11.5]


def test_adjusted_close_outside_raw_range_is_caught(tmp_path: Path) -> None:
    path = write(tmp_path, "yahoo.csv", YAHOO)
    with pytest.raises(DataValidationError, match=r"row 3: close outside \[low, high\]"):
        load_csv(path, columns={"Adj Close": "close"})


def test_custom_names_date_format_and_separator(tmp_path: Path) -> None:
    text = (
        "Stamp;O;H;L;C;Qty;OI\n02.01.2024 09:30;1;2;0.5;1.5;10;7\n02.01.2024 09:31;1.5;2;1;1;4;8\n"
    )
    frame = load_csv(
        write(tmp_path, "vendor.txt", text),
        datetime_column="Stamp",
        columns={"O": "open", "H": "high", "L": "low", "C": "close", "Qty": "volume"},
        date_format="%d.%m.%Y %H:%M",
        sep=";",
    )
    assert str(frame.index[1]) == "2024-01-02 09:31:00"
    assert frame["volume"].tolist() == [10.0, 4.0]
    assert frame["openinterest"].tolist() == [7.0, 8.0]


def test_explicit_datetime_column_is_required(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="'Stamp' \\(date/time\\)"):
        load_csv(write(tmp_path, "yahoo.csv", YAHOO), datetime_column="Stamp")


def test_separate_date_and_time_columns(tmp_path: Path) -> None:
    text = "Date,Time,Open,High,Low,Close,Volume\n2024-01-02,09:30:00,1,2,0.5,1.5,10\n"
    text += "2024-01-02,09:35:00,1.5,2,1,1,4\n"
    frame = load_csv(write(tmp_path, "bars.csv", text))
    assert [str(t) for t in frame.index] == ["2024-01-02 09:30:00", "2024-01-02 09:35:00"]


def test_spaces_after_separators_are_ignored(tmp_path: Path) -> None:
    text = "Date, Open, High, Low, Close, Volume\n2024-01-02, 1, 2, 0.5, 1.5, 10\n"
    frame = load_csv(write(tmp_path, "bars.csv", text))
    assert frame["close"].tolist() == [1.5]
    assert str(frame.index[0]) == "2024-01-02 00:00:00"


def test_compact_integer_dates_are_not_epochs(tmp_path: Path) -> None:
    text = "date,open,high,low,close,volume\n20240102,1,2,0.5,1.5,10\n20240103,1,2,0.5,1.5,10\n"
    frame = load_csv(write(tmp_path, "bars.csv", text))
    assert str(frame.index[0]) == "2024-01-02 00:00:00"


def test_tz_conversion_from_file(tmp_path: Path) -> None:
    text = "timestamp,open,high,low,close,volume\n2024-07-01T13:30:00Z,1,1,1,1,1\n"
    assert str(load_csv(write(tmp_path, "b.csv", text)).index[0]) == "2024-07-01 13:30:00"
    frame = load_csv(write(tmp_path, "b.csv", text), tz="Europe/Berlin")
    assert str(frame.index[0]) == "2024-07-01 15:30:00"


def test_blank_lines_keep_real_line_numbers(tmp_path: Path) -> None:
    text = "datetime,open,high,low,close,volume\n2024-01-02,1,2,0.5,1.5,10\n\n"
    text += "2024-01-03,1,2,0.5,9,10\n\n"
    path = write(tmp_path, "bars.csv", text)
    with pytest.raises(DataValidationError, match=r"row 4: close outside"):
        load_csv(path)
    assert len(load_csv(path, on_bad_rows="drop")) == 1


def test_gzip_csv(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(YAHOO)
    assert len(validate_file(path).frame) == 3


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    with pytest.raises(FileNotFoundError, match=r"nope\.csv"):
        load_csv(missing)
    with pytest.raises(FileNotFoundError, match=r"nope\.parquet"):
        load_parquet(tmp_path / "nope.parquet")


def test_unreadable_files(tmp_path: Path) -> None:
    empty = write(tmp_path, "empty.csv", "")
    with pytest.raises(DataValidationError, match=r"empty\.csv: file is empty"):
        load_csv(empty)
    header_only = write(tmp_path, "header.csv", "datetime,open,high,low,close,volume\n")
    with pytest.raises(DataValidationError, match=r"header\.csv: no data rows"):
        load_csv(header_only)
    ragged = write(tmp_path, "ragged.csv", YAHOO + "2024-01-05,1,2,3,4,5,6,7,8\n")
    with pytest.raises(DataValidationError, match=r"ragged\.csv: cannot read CSV.*line 5"):
        load_csv(ragged)
    corrupt = write(tmp_path, "corrupt.parquet", "not parquet at all")
    with pytest.raises(DataValidationError, match=r"corrupt\.parquet: cannot read Parquet"):
        load_parquet(corrupt)


def test_parquet_round_trip_with_index(tmp_path: Path) -> None:
    original = generate_synthetic(bars=300, seed=3)
    path = tmp_path / "bars.parquet"
    original.to_parquet(path)
    loaded = load_parquet(path)
    pd.testing.assert_frame_equal(loaded, original)
    assert validate_file(path).dropped == 0


def test_parquet_datetime_column_and_mapping(tmp_path: Path) -> None:
    original = generate_synthetic(bars=50, seed=4)
    raw = original.reset_index().rename(columns={"datetime": "ts", "close": "Settle"})
    raw["ts"] = raw["ts"].dt.tz_localize("UTC")
    path = tmp_path / "bars.pq"
    raw.to_parquet(path, index=False)
    loaded = load_parquet(path, datetime_column="ts", columns={"Settle": "close"})
    np.testing.assert_array_equal(loaded["close"].to_numpy(), original["close"].to_numpy())
    assert loaded.index.tz is None
    assert loaded.index.equals(original.index)


def test_parquet_bad_rows_reported_by_position(tmp_path: Path) -> None:
    raw = generate_synthetic(bars=20, seed=5)
    raw.iloc[6, raw.columns.get_loc("volume")] = -1.0
    path = tmp_path / "bars.parquet"
    raw.to_parquet(path)
    with pytest.raises(DataValidationError, match=r"bars.parquet: row 7: negative volume"):
        load_parquet(path)
    assert len(load_parquet(path, on_bad_rows="drop")) == 19


def test_csv_round_trip_of_synthetic(tmp_path: Path) -> None:
    original = generate_synthetic(bars=500, timeframe="minutes", compression=5, seed=9)
    path = tmp_path / "bars.csv"
    original.to_csv(path)
    loaded = load_csv(path)
    pd.testing.assert_index_equal(loaded.index, original.index)
    np.testing.assert_allclose(loaded.to_numpy(), original.to_numpy(), rtol=1e-12)
