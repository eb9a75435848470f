"""In-memory OHLCV frames (a notebook's ``DataFrame``) made canonical by the rules files obey.

:func:`canonical_frame` accepts what pandas users usually hold: ``Open``/``open``/``OPEN``,
``Vol``/``Volume``, a ``DatetimeIndex`` (named or not, tz-aware or naive) or a
``Date``/``Datetime``/``Time``/``Timestamp`` column, yfinance's ``Adj Close``. Column names
are recognised with the loaders' alias table (:func:`stratforge.data.validation.resolve_columns`)
and every value is checked by :func:`~stratforge.data.validation.validate_frame`, so a bad
frame fails with the same one-line :class:`~stratforge.data.validation.DataValidationError`
as a bad file (rows are numbered by 1-based position). Two things differ from files, because
in-memory frames often lack them: a missing volume column means volume 0 on every bar, and
``Adj Close`` stands in for a missing ``Close``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import pandas as pd

from stratforge.data.validation import (
    DATETIME,
    DataValidationError,
    OnBadRows,
    canonical_target,
    find_column,
    header_key,
    validate_frame,
)

__all__ = ["FRAMES_ONLY_IN_PROCESS", "InMemoryFrames", "canonical_frame"]

FRAMES_ONLY_IN_PROCESS = (
    "in-memory frames exist only in the Python process that calls "
    "run_backtest(spec, frames={...}); a spec sent elsewhere (the REST API, a spec file) cannot "
    "carry one: save it (df.to_parquet / df.to_csv) and use the parquet or csv source, or "
    "upload it (POST /api/v1/datasets) and use the dataset source"
)
_ADJ_CLOSE = "adjclose"
_ZERO_VOLUME = "__stratforge_zero_volume__"  # added, so it cannot clash with a user column


def canonical_frame(
    df: pd.DataFrame,
    *,
    columns: Mapping[str, str] | None = None,
    where: str = "frame",
    tz: str | None = None,
    date_format: str | None = None,
    on_bad_rows: OnBadRows = "error",
) -> pd.DataFrame:
    """The canonical frame (naive increasing ``datetime`` index, float64 OHLCV + open interest)
    of an in-memory OHLCV table; *where* names it in error messages.

    Timestamps come from a ``DatetimeIndex`` or a datetime/date/time/timestamp column (also
    with a ``RangeIndex``); tz-aware ones are converted to *tz* (default UTC) and made naive.
    *columns* maps column names to canonical ones (``{"Adj Close": "close"}``) and wins over
    the aliases. Without a close column, ``Adj Close`` is the close; without a volume
    column, volume is 0; without open interest, open interest is 0. A yfinance frame with a
    one-ticker column ``MultiIndex`` is flattened. *on_bad_rows* ``"drop"`` skips bad rows with
    a warning instead of raising.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{where}: expected a pandas DataFrame, got {type(df).__name__}")
    raw = _flat(df, where)
    mapped = {canonical_target(target) for target in (columns or {}).values()}
    names = list(raw.columns)
    extra: dict[str, str] = {}
    if "close" not in mapped and find_column(names, "close") is None:
        adj = next((c for c in names if header_key(c) == _ADJ_CLOSE), None)
        if adj is not None:
            extra[adj] = "close"
    if "volume" not in mapped and find_column(names, "volume") is None:
        raw = raw.assign(**{_ZERO_VOLUME: 0.0})
        extra[_ZERO_VOLUME] = "volume"
    return validate_frame(
        _with_datetime(raw),
        origin=where,
        on_bad_rows=on_bad_rows,
        tz=tz,
        date_format=date_format,
        columns={**extra, **(columns or {})},
    ).frame


def _flat(df: pd.DataFrame, where: str) -> pd.DataFrame:
    """A shallow copy with string column names; a one-ticker column MultiIndex is dropped."""
    raw = df.copy(deep=False)
    if isinstance(raw.columns, pd.MultiIndex):
        single = [
            i for i in range(raw.columns.nlevels) if raw.columns.get_level_values(i).nunique() == 1
        ]
        if not single or raw.columns.nlevels - len(single) != 1:
            raise DataValidationError(
                where,
                detail="the columns are a MultiIndex of several tickers",
                hint="pick one, e.g. df.xs('AAPL', axis=1, level='Ticker')",
            )
        raw.columns = raw.columns.droplevel(single)
    raw.columns = [str(c) for c in raw.columns]
    return raw


def _with_datetime(raw: pd.DataFrame) -> pd.DataFrame:
    """The timestamps: a ``DatetimeIndex`` of any name, or an unnamed index of date strings
    (``pd.read_csv(..., index_col=0)`` of a headerless first column)."""
    index = raw.index
    if isinstance(index, pd.DatetimeIndex) and canonical_target(index.name or "") != DATETIME:
        return raw.rename_axis(None)  # any DatetimeIndex holds the timestamps, whatever its name
    strings = index.dtype == object or isinstance(index.dtype, pd.StringDtype)
    if index.name is None and strings and DATETIME not in raw.columns:
        return raw.rename_axis(DATETIME).reset_index()
    return raw


@dataclass(frozen=True)
class InMemoryFrames:
    """The frames handed to ``run_backtest(spec, frames={...})``, by name: given to the
    ``dataframe`` source by the engine, never by a spec (a spec is JSON; a frame is not)."""

    frames: Mapping[str, pd.DataFrame]
    engine_supplied: ClassVar[bool] = True

    def pick(self, name: str | None) -> tuple[str, pd.DataFrame]:
        """The frame called *name*; with no name, the only one."""
        names = ", ".join(repr(n) for n in self.frames) or "none"
        if name is None:
            if len(self.frames) != 1:
                raise ValueError(f"name the frame to use (args.name); frames given: {names}")
            name = next(iter(self.frames))
        if name not in self.frames:
            raise ValueError(f"no in-memory frame named {name!r}; frames given: {names}")
        return name, self.frames[name]
