"""CSV and Parquet loaders returning the canonical OHLCV frame.

Both read with pandas' fast readers and hand the raw table to
:func:`stratforge.data.validation.validate_frame`, so every source obeys the same rules.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stratforge.data.validation import (
    CSV_SUFFIXES,
    PARQUET_SUFFIXES,
    DataValidationError,
    OnBadRows,
    ValidatedFrame,
    check_policy,
    check_tz,
    resolve_columns,
    validate_frame,
    validate_planned,
)

__all__ = [
    "load_csv",
    "load_parquet",
    "read_csv_validated",
    "read_parquet_validated",
    "validate_file",
]

HEADER_LINE = 1
_READ_ERRORS = (
    pd.errors.ParserError,
    UnicodeDecodeError,
    EOFError,
    OSError,
    zlib.error,
)


def _existing_file(path: str | Path) -> Path:
    p = Path(path).expanduser()
    if not p.is_file():
        what = "is a directory, not a file" if p.is_dir() else "does not exist"
        raise FileNotFoundError(f"data file {str(path)!r} {what}")
    return p


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _read_csv(path: Path, origin: str, **kwargs: object) -> pd.DataFrame:
    try:
        return pd.read_csv(path, engine="c", **kwargs)  # type: ignore[call-overload]
    except pd.errors.EmptyDataError as exc:
        raise DataValidationError(origin, detail="file is empty (no header line)") from exc
    except _READ_ERRORS as exc:
        raise DataValidationError(origin, detail=f"cannot read CSV: {_one_line(exc)}") from exc


def read_csv_validated(
    path: str | Path,
    *,
    datetime_column: str = "datetime",
    columns: Mapping[str, str] | None = None,
    date_format: str | None = None,
    tz: str | None = None,
    on_bad_rows: OnBadRows = "error",
    sep: str = ",",
) -> ValidatedFrame:
    """Like :func:`load_csv` but also reports what was dropped.

    The header is read first so the timestamp column can be kept as text (``20200102``
    must not become an integer). All columns are parsed (``usecols`` would silently accept
    ragged lines). Blank lines are kept while reading so problem rows carry the file's real
    line numbers, then ignored.
    """
    check_policy(on_bad_rows)
    check_tz(tz)
    file = _existing_file(path)
    origin = str(path)
    header = _read_csv(file, origin, sep=sep, nrows=0, skipinitialspace=True)
    plan = resolve_columns(
        list(header.columns), origin=origin, columns=columns, datetime_column=datetime_column
    )
    raw = _read_csv(
        file,
        origin,
        sep=sep,
        dtype=dict.fromkeys(plan.datetime, str),
        skip_blank_lines=False,
        skipinitialspace=True,
    )
    blank = raw.isna().all(axis=1).to_numpy()
    rows = np.arange(HEADER_LINE + 1, HEADER_LINE + 1 + len(raw))
    if blank.any():
        raw, rows = raw.loc[~blank], rows[~blank]
    return validate_planned(raw, plan, origin, on_bad_rows, HEADER_LINE + 1, tz, date_format, rows)


def load_csv(
    path: str | Path,
    *,
    datetime_column: str = "datetime",
    columns: Mapping[str, str] | None = None,
    date_format: str | None = None,
    tz: str | None = None,
    on_bad_rows: OnBadRows = "error",
    sep: str = ",",
) -> pd.DataFrame:
    """Load an OHLCV CSV (plain or ``.gz``) into the canonical frame.

    ``columns`` maps file headers to canonical names (``{"Adj Close": "close"}``); common
    headers (Date/Time/Timestamp, Open, ..., Open Interest/OI) are recognised without it,
    case-insensitively, and separate ``Date`` and ``Time`` columns are joined. Problems are
    reported with CSV line numbers (the header is line 1).
    """
    return read_csv_validated(
        path,
        datetime_column=datetime_column,
        columns=columns,
        date_format=date_format,
        tz=tz,
        on_bad_rows=on_bad_rows,
        sep=sep,
    ).frame


def read_parquet_validated(
    path: str | Path,
    *,
    datetime_column: str = "datetime",
    columns: Mapping[str, str] | None = None,
    tz: str | None = None,
    on_bad_rows: OnBadRows = "error",
    date_format: str | None = None,
) -> ValidatedFrame:
    """Like :func:`load_parquet` but also reports what was dropped."""
    check_policy(on_bad_rows)
    file = _existing_file(path)
    origin = str(path)
    try:
        raw = pd.read_parquet(file)
    except Exception as exc:  # pyarrow raises many unrelated types for corrupt files
        raise DataValidationError(origin, detail=f"cannot read Parquet: {_one_line(exc)}") from exc
    return validate_frame(
        raw,
        origin=origin,
        on_bad_rows=on_bad_rows,
        tz=tz,
        date_format=date_format,
        columns=columns,
        datetime_column=datetime_column,
    )


def load_parquet(
    path: str | Path,
    *,
    datetime_column: str = "datetime",
    columns: Mapping[str, str] | None = None,
    tz: str | None = None,
    on_bad_rows: OnBadRows = "error",
) -> pd.DataFrame:
    """Load an OHLCV Parquet file; timestamps may be a column or the (named or not) index.

    Problem rows are numbered by 1-based position.
    """
    return read_parquet_validated(
        path, datetime_column=datetime_column, columns=columns, tz=tz, on_bad_rows=on_bad_rows
    ).frame


def validate_file(
    path: str | Path, *, on_bad_rows: OnBadRows = "error", **loader_kwargs: Any
) -> ValidatedFrame:
    """Load and validate a CSV or Parquet file, choosing the reader from the suffix."""
    name = str(path).lower()
    if name.endswith(CSV_SUFFIXES):
        return read_csv_validated(path, on_bad_rows=on_bad_rows, **loader_kwargs)
    if name.endswith(PARQUET_SUFFIXES):
        return read_parquet_validated(path, on_bad_rows=on_bad_rows, **loader_kwargs)
    supported = ", ".join((*CSV_SUFFIXES, *PARQUET_SUFFIXES))
    raise ValueError(f"{path}: unsupported data file type; supported suffixes: {supported}")
