"""Validation of raw OHLCV tables into the canonical frame the engine consumes.

The canonical frame has a tz-naive, strictly increasing ``DatetimeIndex`` named ``datetime``
(microsecond resolution, pandas' native unit) and float64 columns exactly
:data:`CANONICAL_COLUMNS`. Every check is a vectorised mask so a million rows validate in a
fraction of a second; Python-level work is spent only on describing the (capped) problems.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_datetime64_any_dtype, is_numeric_dtype
from pandas.tseries.api import guess_datetime_format

__all__ = [
    "CANONICAL_COLUMNS",
    "MAX_REPORTED_PROBLEMS",
    "ColumnPlan",
    "DataValidationError",
    "RowProblem",
    "ValidatedFrame",
    "canonical_target",
    "check_policy",
    "check_tz",
    "find_column",
    "header_key",
    "resolve_columns",
    "validate_frame",
    "validate_planned",
]

log = logging.getLogger("stratforge.data")

CANONICAL_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "volume", "openinterest")
REQUIRED_COLUMNS: tuple[str, ...] = CANONICAL_COLUMNS[:5]
DATETIME = "datetime"
INDEX_UNIT: Literal["us"] = "us"  # pandas' native unit; no 2262 limit
MAX_REPORTED_PROBLEMS = 50
DROP_HINT = (
    "use on_bad_rows='drop' (CLI: --on-bad-rows drop, or --arg on_bad_rows=drop where a "
    "command has no such flag) to drop bad rows instead"
)
CSV_SUFFIXES = (".csv", ".txt", ".csv.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")

OnBadRows = Literal["error", "drop"]

# Normalised header spellings (lower case, no spaces/underscores/dashes/dots) per target.
_ALIASES: dict[str, tuple[str, ...]] = {
    "open": ("open",),
    "high": ("high",),
    "low": ("low",),
    "close": ("close",),
    "volume": ("volume", "vol"),
    "openinterest": ("openinterest", "oi"),
}
_DATETIME_ALIASES = ("datetime", "timestamp")
_NAT = np.iinfo(np.int64).min


def _norm(name: object) -> str:
    """Header key used for case- and punctuation-insensitive matching."""
    text = str(name).strip().lower()
    return "".join(ch for ch in text if ch not in " _-.")


@dataclass(frozen=True)
class RowProblem:
    """One bad value or row; ``row`` is the number the user sees (CSV line, else 1-based)."""

    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        return self.message if self.row is None else f"row {self.row}: {self.message}"


class DataValidationError(ValueError):
    """Input data is unusable; ``str()`` is one line naming the origin, first problem and fix.

    Positional-capable constructor arguments keep the exception picklable (Ray workers).
    """

    def __init__(
        self,
        origin: str,
        problems: Sequence[RowProblem] = (),
        total: int | None = None,
        detail: str | None = None,
        hint: str | None = None,
        missing_columns: Sequence[str] = (),
    ) -> None:
        self.origin = str(origin)
        self.problems = list(problems)
        self.total = len(self.problems) if total is None else total
        self.detail = detail
        self.hint = DROP_HINT if hint is None and self.problems else hint
        self.missing_columns = tuple(missing_columns)
        super().__init__(self._message())

    def _message(self) -> str:
        parts = [self.detail] if self.detail else []
        if self.problems:
            first = str(self.problems[0])
            more = self.total - 1
            parts.append(f"{first} (+{more} more problems)" if more > 0 else first)
        if self.hint:
            parts.append(self.hint)
        return f"{self.origin}: " + "; ".join(parts)

    def __reduce__(self) -> tuple[Any, ...]:
        args = (self.origin, self.problems, self.total, self.detail, self.hint)
        return (type(self), (*args, self.missing_columns))


@dataclass
class ValidatedFrame:
    """A canonical frame plus what was dropped (problems capped, ``problem_count`` is exact)."""

    frame: pd.DataFrame
    dropped: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    problem_count: int = 0


# --------------------------------------------------------------------------------------------
# Column resolution


@dataclass(frozen=True)
class ColumnPlan:
    """Which source column feeds each canonical column.

    ``datetime`` holds one column, two (a date and a time column to join), or none when the
    frame's ``DatetimeIndex`` holds the timestamps.
    """

    datetime: tuple[str, ...]
    values: dict[str, str]

    def sources(self) -> list[str]:
        return [*self.datetime, *self.values.values()]


def resolve_columns(
    present: Sequence[Any],
    *,
    origin: str,
    columns: Mapping[str, str] | None = None,
    datetime_column: str = DATETIME,
    index_is_datetime: bool = False,
) -> ColumnPlan:
    """Map source headers to canonical names: explicit ``columns`` first, then known aliases."""
    names = [str(c) for c in present]
    assigned, missing = _explicit_mapping(names, columns or {})
    if missing:
        raise _missing_error(origin, missing, names, assigned.values())
    used = set(assigned.values())
    dt_sources = _datetime_sources(names, assigned, datetime_column, used)
    if not dt_sources and not index_is_datetime:
        missing.append((f"{datetime_column!r} (date/time)", DATETIME))
    used.update(dt_sources)
    values: dict[str, str] = {}
    for target in CANONICAL_COLUMNS:
        source = assigned.get(target) or _find_alias(names, _ALIASES[target], used)
        if source is None:
            if target in REQUIRED_COLUMNS:
                missing.append((repr(target), target))
            continue
        values[target] = source
        used.add(source)
    if missing:
        raise _missing_error(origin, missing, names, used)
    return ColumnPlan(datetime=dt_sources, values=values)


def _canonical_target(target: str) -> str | None:
    key = _norm(target)
    if key in (*_DATETIME_ALIASES, "date"):
        return DATETIME
    return next((name for name, keys in _ALIASES.items() if key in keys), None)


def canonical_target(target: object) -> str | None:
    """The canonical column a header or mapping target names (``datetime`` for any date or
    timestamp spelling), or None."""
    return _canonical_target(str(target))


def header_key(name: object) -> str:
    """The case- and punctuation-insensitive key headers are matched by (``Adj Close`` ->
    ``adjclose``)."""
    return _norm(name)


def find_column(names: Sequence[Any], target: str) -> str | None:
    """The first of *names* that the alias table maps to canonical column *target*."""
    return _find_alias([str(n) for n in names], _ALIASES[target], set())


# A missing column: (label for the message, canonical name it would have fed).
_Missing = tuple[str, str]


def _explicit_mapping(
    names: list[str], columns: Mapping[str, str]
) -> tuple[dict[str, str], list[_Missing]]:
    """``{canonical: source}`` from the user's mapping, plus mapped-but-absent columns."""
    assigned: dict[str, str] = {}
    missing: list[_Missing] = []
    for source, target in columns.items():
        canonical = _canonical_target(target)
        if canonical is None:
            allowed = ", ".join((DATETIME, *CANONICAL_COLUMNS))
            raise ValueError(f"columns maps {source!r} to unknown column {target!r}; use {allowed}")
        found = _find_exact(names, str(source))
        if found is None:
            missing.append((f"{source!r} (mapped to {canonical!r})", canonical))
        else:
            assigned[canonical] = found
    return assigned, missing


def _find_exact(names: Sequence[str], wanted: str) -> str | None:
    if wanted in names:
        return wanted
    folded = wanted.strip().casefold()
    return next((n for n in names if n.strip().casefold() == folded), None)


def _find_alias(names: Sequence[str], keys: Sequence[str], used: set[str]) -> str | None:
    for key in keys:
        for name in names:
            if name not in used and _norm(name) == key:
                return name
    return None


def _datetime_sources(
    names: list[str], assigned: dict[str, str], datetime_column: str, used: set[str]
) -> tuple[str, ...]:
    if DATETIME in assigned:
        return (assigned[DATETIME],)
    named = _find_exact(names, datetime_column)
    if named is not None:
        return (named,)
    if _norm(datetime_column) != DATETIME:
        return ()  # an explicitly named column is absent: do not guess another one
    found = _find_alias(names, _DATETIME_ALIASES, used)
    if found is not None:
        return (found,)
    date = _find_alias(names, ("date",), used)
    time = _find_alias(names, ("time",), used)
    if date and time:
        return (date, time)
    return tuple(c for c in (date or time,) if c)


def _missing_error(
    origin: str, missing: list[_Missing], names: list[str], used: Collection[str]
) -> DataValidationError:
    """Not a row problem (cannot be dropped): name what is missing, what exists, how to map."""
    shown = ", ".join(repr(n) for n in names) or "none"
    targets = [target for _, target in missing]
    source, target = _mapping_example(targets, [n for n in names if n not in used])
    labels = ", ".join(label for label, _ in missing)
    return DataValidationError(
        origin,
        detail=f"missing column(s) {labels}; columns present: {shown}",
        hint=f"map file columns to canonical names, e.g. columns={{{source!r}: {target!r}}}",
        missing_columns=targets,
    )


def _mapping_example(targets: list[str], unused: list[str]) -> tuple[str, str]:
    """A plausible ``(file column, canonical)`` pair for the hint, e.g. Adj Close -> close."""
    for target in targets:
        for name in unused:
            if target[:3] in _norm(name):
                return name, target
    return targets[0].capitalize(), targets[0]


# --------------------------------------------------------------------------------------------
# Value parsing


@dataclass
class _Check:
    """A vectorised problem mask and how to describe one flagged row (only for reported rows)."""

    mask: np.ndarray
    column: str | None
    describe: Callable[[int], str]


@dataclass
class _Dates:
    stamps: np.ndarray  # int64 microseconds, _NAT where invalid
    raw: pd.Series
    missing: np.ndarray


def check_tz(tz: str | None) -> None:
    """Reject an unknown time zone up front, even when the data turns out to be naive."""
    if tz is None:
        return
    try:
        pd.Timestamp(0, tz="UTC").tz_convert(tz)
    except Exception as exc:
        raise ValueError(f"tz: unknown time zone {tz!r}") from exc


def _datetime_series(raw: pd.DataFrame, sources: tuple[str, ...]) -> tuple[pd.Series, np.ndarray]:
    if not sources:
        return pd.Series(raw.index, index=None), np.asarray(raw.index.isna())
    if len(sources) == 1:
        col = raw[sources[0]].reset_index(drop=True)
        return col, col.isna().to_numpy()
    date = raw[sources[0]].reset_index(drop=True)
    time = raw[sources[1]].reset_index(drop=True)
    joined = date.astype(str) + " " + time.astype(str)
    return joined, (date.isna() | time.isna()).to_numpy()


def _guess_format(values: pd.Series) -> str | None:
    sample = values.dropna().head(20)
    for value in sample:
        if isinstance(value, str):
            guess = guess_datetime_format(value.strip())
            if guess:
                return guess
    return None


def _parse_strings(values: pd.Series, date_format: str | None) -> pd.Series:
    """Parse with one format (fast); ISO-looking data may mix dates and date-times."""
    fmt = date_format or _guess_format(values) or "ISO8601"
    if fmt.startswith("%Y-%m-%d") and not date_format:
        fmt = "ISO8601"
    try:
        return pd.to_datetime(values, format=fmt, errors="coerce")
    except ValueError as exc:
        if "timezone" not in str(exc).lower() and "offset" not in str(exc).lower():
            raise ValueError(f"date_format {fmt!r} cannot be used: {exc}") from exc
        return pd.to_datetime(values, format=fmt, errors="coerce", utc=True)


def _parse_dates(
    raw: pd.DataFrame, sources: tuple[str, ...], tz: str | None, date_format: str | None
) -> _Dates:
    values, missing = _datetime_series(raw, sources)
    if is_datetime64_any_dtype(values.dtype):
        parsed = values
    elif is_numeric_dtype(values.dtype) and not is_bool_dtype(values.dtype):
        # 20200102-style integers must not be read as epoch nanoseconds.
        parsed = _parse_strings(values.astype("string").str.removesuffix(".0"), date_format)
    else:
        parsed = _parse_strings(values, date_format)
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = parsed.dt.tz_convert(tz or "UTC").dt.tz_localize(None)
    stamps = parsed.dt.as_unit(INDEX_UNIT).to_numpy().view(np.int64)
    return _Dates(stamps=stamps, raw=values, missing=missing)


def _to_float(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Float64 values and a mask of cells that held something that is not a number."""
    if is_numeric_dtype(col.dtype) and not is_bool_dtype(col.dtype):
        return col.to_numpy(dtype=np.float64, na_value=np.nan), np.zeros(len(col), dtype=bool)
    numbers = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return numbers, np.isnan(numbers) & col.notna().to_numpy()


def _num(value: float) -> str:
    return repr(float(value))


def _stamp(value: int) -> str:
    return str(pd.Timestamp(int(value), unit=INDEX_UNIT))


def _cell(series: pd.Series, i: int) -> str:
    text = repr(series.iloc[i])
    return text if len(text) <= 60 else text[:57] + "..."


# --------------------------------------------------------------------------------------------
# Checks


def _date_checks(dates: _Dates) -> list[_Check]:
    bad = dates.stamps == _NAT
    return [
        _Check(bad & dates.missing, DATETIME, lambda i: "missing date"),
        _Check(
            bad & ~dates.missing,
            DATETIME,
            lambda i: (
                f"unparsable date {_cell(dates.raw, i)} "
                "(pass date_format, e.g. '%d.%m.%Y %H:%M', if the format is unusual)"
            ),
        ),
    ]


def _value_checks(
    parsed: dict[str, tuple[np.ndarray, np.ndarray]], raw_cols: dict[str, pd.Series]
) -> list[_Check]:
    """Missing (except open interest, where blank means 0), non-numeric and infinite cells."""
    checks: list[_Check] = []
    for name, (arr, text) in parsed.items():
        if name != "openinterest":
            checks.append(_Check(np.isnan(arr) & ~text, name, _fixed(f"{name} is missing")))
        checks.append(_Check(text, name, _not_a_number(name, raw_cols)))
        checks.append(_Check(np.isinf(arr), name, _fixed(f"{name} is infinite")))
    return checks


def _fixed(message: str) -> Callable[[int], str]:
    return lambda i: message


def _not_a_number(name: str, raw_cols: dict[str, pd.Series]) -> Callable[[int], str]:
    return lambda i: f"{name} is not a number ({_cell(raw_cols[name], i)})"


def _price_checks(v: dict[str, np.ndarray]) -> list[_Check]:
    o, h, lo, c = v["open"], v["high"], v["low"], v["close"]
    with np.errstate(invalid="ignore"):
        inverted = h < lo  # open/close range checks would only repeat this problem
        return [
            _Check(
                inverted, "high", lambda i: f"high < low (high={_num(h[i])}, low={_num(lo[i])})"
            ),
            _Check(
                ((o < lo) | (o > h)) & ~inverted, "open", lambda i: _outside("open", o, lo, h, i)
            ),
            _Check(
                ((c < lo) | (c > h)) & ~inverted, "close", lambda i: _outside("close", c, lo, h, i)
            ),
            _Check(
                v["volume"] < 0,
                "volume",
                lambda i: f"negative volume (volume={_num(v['volume'][i])})",
            ),
            _Check(
                v["openinterest"] < 0,
                "openinterest",
                lambda i: f"negative open interest (openinterest={_num(v['openinterest'][i])})",
            ),
        ]


def _outside(name: str, x: np.ndarray, lo: np.ndarray, hi: np.ndarray, i: int) -> str:
    return (
        f"{name} outside [low, high] ({name}={_num(x[i])}, low={_num(lo[i])}, high={_num(hi[i])})"
    )


def _order_checks(stamps: np.ndarray, usable: np.ndarray, rows: np.ndarray) -> list[_Check]:
    """Flag each usable row whose timestamp is not after every earlier usable row's.

    Offending rows never raise the running maximum, so dropping exactly the flagged rows
    leaves a strictly increasing index.
    """
    vals = np.where(usable, stamps, _NAT)
    running = np.maximum.accumulate(vals)
    prev = np.concatenate(([_NAT], running[:-1]))
    positions = np.where(usable & (vals > prev), np.arange(len(vals)), -1)
    holder = np.concatenate(([-1], np.maximum.accumulate(positions)[:-1]))
    return [
        _Check(
            usable & (vals == prev),
            DATETIME,
            lambda i: f"duplicate timestamp {_stamp(vals[i])} (same as row {rows[holder[i]]})",
        ),
        _Check(
            usable & (vals < prev),
            DATETIME,
            lambda i: (
                f"timestamp {_stamp(vals[i])} is earlier than row {rows[holder[i]]} "
                f"({_stamp(prev[i])}); rows must be in ascending time order"
            ),
        ),
    ]


def _collect(checks: list[_Check], rows: np.ndarray) -> tuple[list[RowProblem], int]:
    """The first problems by row (capped) and the exact total count."""
    found: list[tuple[int, int, RowProblem]] = []
    total = 0
    for order, check in enumerate(checks):
        hits = np.flatnonzero(check.mask)
        total += len(hits)
        for i in hits[:MAX_REPORTED_PROBLEMS]:
            problem = RowProblem(int(rows[i]), check.column, check.describe(int(i)))
            found.append((int(i), order, problem))
    found.sort(key=lambda item: (item[0], item[1]))
    return [p for _, _, p in found[:MAX_REPORTED_PROBLEMS]], total


# --------------------------------------------------------------------------------------------
# Entry points


def validate_frame(
    raw: pd.DataFrame,
    *,
    origin: str,
    on_bad_rows: OnBadRows = "error",
    first_row_number: int = 1,
    tz: str | None = None,
    date_format: str | None = None,
    columns: Mapping[str, str] | None = None,
    datetime_column: str = DATETIME,
    row_numbers: np.ndarray | None = None,
) -> ValidatedFrame:
    """Check *raw* and build the canonical frame.

    Timestamps come from a ``datetime`` column (or alias, or joined ``Date``/``Time`` columns)
    or from a ``DatetimeIndex``. tz-aware timestamps are converted to *tz* (default UTC) and
    made naive; naive ones are kept as they are. A blank open interest counts as 0.
    ``row_numbers`` overrides ``first_row_number`` when rows are not contiguous (CSV blank
    lines). With ``on_bad_rows="error"`` every problem is counted and the first reported.
    """
    check_policy(on_bad_rows)
    check_tz(tz)
    raw = _index_as_column(raw)
    plan = resolve_columns(
        list(raw.columns),
        origin=origin,
        columns=columns,
        datetime_column=datetime_column,
        index_is_datetime=isinstance(raw.index, pd.DatetimeIndex),
    )
    return validate_planned(
        raw, plan, origin, on_bad_rows, first_row_number, tz, date_format, row_numbers
    )


def check_policy(on_bad_rows: str) -> None:
    """Reject an unknown bad-row policy before any work is done."""
    if on_bad_rows not in ("error", "drop"):
        raise ValueError(f"on_bad_rows must be 'error' or 'drop', got {on_bad_rows!r}")


def _index_as_column(raw: pd.DataFrame) -> pd.DataFrame:
    """A named index (e.g. ``Date`` from a Parquet file) becomes an ordinary column."""
    name = raw.index.name
    if name is None or name in raw.columns or isinstance(raw.index, pd.RangeIndex):
        return raw
    return raw.reset_index()


def validate_planned(
    raw: pd.DataFrame,
    plan: ColumnPlan,
    origin: str,
    on_bad_rows: OnBadRows,
    first_row_number: int,
    tz: str | None,
    date_format: str | None,
    row_numbers: np.ndarray | None,
) -> ValidatedFrame:
    """Validate *raw* with an already resolved column plan (loaders resolve from the header)."""
    n = len(raw)
    if n == 0:
        raise DataValidationError(origin, detail="no data rows")
    rows = np.arange(first_row_number, first_row_number + n) if row_numbers is None else row_numbers
    dates = _parse_dates(raw, plan.datetime, tz, date_format)
    raw_cols = {name: raw[src].reset_index(drop=True) for name, src in plan.values.items()}
    parsed = {name: _to_float(col) for name, col in raw_cols.items()}
    if "openinterest" not in parsed:
        parsed["openinterest"] = (np.zeros(n), np.zeros(n, dtype=bool))
    values = {name: arr for name, (arr, _) in parsed.items()}
    checks = [
        *_date_checks(dates),
        *_value_checks(parsed, raw_cols),
        *_price_checks(values),
    ]
    bad = np.logical_or.reduce([c.mask for c in checks])
    checks += _order_checks(dates.stamps, ~bad & (dates.stamps != _NAT), rows)
    problems, total = _collect(checks, rows)
    if total == 0:
        return ValidatedFrame(_canonical(dates.stamps, values, None))
    if on_bad_rows == "error":
        raise DataValidationError(origin, problems, total)
    return _drop(origin, dates.stamps, values, checks, problems, total)


def _drop(
    origin: str,
    stamps: np.ndarray,
    values: dict[str, np.ndarray],
    checks: list[_Check],
    problems: list[RowProblem],
    total: int,
) -> ValidatedFrame:
    keep = ~np.logical_or.reduce([c.mask for c in checks])
    dropped = int(len(keep) - keep.sum())
    if dropped == len(keep):
        raise DataValidationError(
            origin, problems, total, detail=f"all {dropped} rows are bad", hint=""
        )
    log.warning("%s: dropped %d bad rows; first: %s", origin, dropped, problems[0])
    return ValidatedFrame(_canonical(stamps, values, keep), dropped, problems, total)


def _canonical(
    stamps: np.ndarray, values: dict[str, np.ndarray], keep: np.ndarray | None
) -> pd.DataFrame:
    def pick(arr: np.ndarray) -> np.ndarray:
        return arr if keep is None else arr[keep]

    index = pd.DatetimeIndex(pick(stamps).view(f"M8[{INDEX_UNIT}]"), name=DATETIME)
    data = {name: pick(values[name]) for name in CANONICAL_COLUMNS}
    oi = data["openinterest"]
    data["openinterest"] = np.where(np.isnan(oi), 0.0, oi)  # blank open interest means 0
    return pd.DataFrame(data, index=index, columns=list(CANONICAL_COLUMNS))
