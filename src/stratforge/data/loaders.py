"""CSV and Parquet loaders returning the canonical OHLCV frame.

Both read with pandas' fast readers and hand the raw table to
:func:`stratforge.data.validation.validate_frame`, so every source obeys the same rules.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
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
    header: bool = True,
    names: Sequence[str] | None = None,
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
    layout = _header_layout(file, origin, sep, header, names)
    first = _read_csv(file, origin, sep=sep, nrows=0, skipinitialspace=True, **layout)
    plan = resolve_columns(
        list(first.columns), origin=origin, columns=columns, datetime_column=datetime_column
    )
    raw = _read_csv(
        file,
        origin,
        sep=sep,
        dtype=dict.fromkeys(plan.datetime, str),
        skip_blank_lines=False,
        skipinitialspace=True,
        **layout,
    )
    first_row = HEADER_LINE + 1 if header else 1
    blank = raw.isna().all(axis=1).to_numpy()
    rows = np.arange(first_row, first_row + len(raw))
    if blank.any():
        raw, rows = raw.loc[~blank], rows[~blank]
    return validate_planned(raw, plan, origin, on_bad_rows, first_row, tz, date_format, rows)


def _header_layout(
    file: Path, origin: str, sep: str, header: bool, names: Sequence[str] | None
) -> dict[str, Any]:
    """pandas' header arguments: the file's header line, or (``header=False``) none, the
    columns then being ``names`` or their positions as text (``"0"``, ``"1"``, ...) for
    ``columns`` to map. ``names`` with a header replaces the header's names."""
    if header and names is None:
        return {}
    width = len(_read_csv(file, origin, sep=sep, header=None, nrows=1).columns)
    if names is None:
        return {"header": None, "names": [str(i) for i in range(width)], "index_col": False}
    if len(names) != width:
        raise DataValidationError(
            origin,
            detail=f"names gives {len(names)} column names but the file has {width} columns",
        )
    return {"header": 0 if header else None, "names": list(names), "index_col": False}


def load_csv(
    path: str | Path,
    *,
    datetime_column: str = "datetime",
    columns: Mapping[str, str] | None = None,
    date_format: str | None = None,
    tz: str | None = None,
    on_bad_rows: OnBadRows = "error",
    sep: str = ",",
    header: bool = True,
    names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Load an OHLCV CSV (plain or ``.gz``) into the canonical frame.

    ``columns`` maps file headers to canonical names (``{"Adj Close": "close"}``); common
    headers (Date/Time/Timestamp, Open, ..., Open Interest/OI) are recognised without it,
    case-insensitively, and separate ``Date`` and ``Time`` columns are joined. Problems are
    reported with CSV line numbers (the header is line 1).

    A file without a header line takes ``header=False``: its columns are then named by
    ``names`` (``["datetime", "open", ...]``) or by position, mapped with ``columns``
    (``{"0": "datetime", "1": "open", ...}``); rows are numbered from line 1.
    """
    return read_csv_validated(
        path,
        datetime_column=datetime_column,
        columns=columns,
        date_format=date_format,
        tz=tz,
        on_bad_rows=on_bad_rows,
        sep=sep,
        header=header,
        names=names,
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
    """Load and validate a CSV or Parquet file, choosing the reader from the suffix.

    ``header``/``names`` (CSV layout) are ignored for Parquet, which always names its
    columns."""
    name = str(path).lower()
    if name.endswith(CSV_SUFFIXES):
        return read_csv_validated(path, on_bad_rows=on_bad_rows, **loader_kwargs)
    if name.endswith(PARQUET_SUFFIXES):
        kwargs = {k: v for k, v in loader_kwargs.items() if k not in ("header", "names", "sep")}
        return read_parquet_validated(path, on_bad_rows=on_bad_rows, **kwargs)
    supported = ", ".join((*CSV_SUFFIXES, *PARQUET_SUFFIXES))
    raise ValueError(f"{path}: unsupported data file type; supported suffixes: {supported}")
