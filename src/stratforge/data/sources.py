"""The built-in file, upload and in-memory sources: ``csv``, ``parquet``, ``dataset`` and
``dataframe``.

Each source is a plain function with keyword-only, simply annotated parameters: the engine
reads ``inspect.signature`` (annotations resolved with ``typing.get_type_hints``) to check
user arguments and coerce strings, and the docstring's ``Args:`` section for help. The
``synthetic`` and ``contracts_dir`` sources build futures chains, so they live in
:mod:`stratforge.futures.sources`.
"""

from __future__ import annotations

from typing import Literal

import pandas as pd

from stratforge.data.frames import FRAMES_ONLY_IN_PROCESS, InMemoryFrames, canonical_frame
from stratforge.data.loaders import load_csv, load_parquet
from stratforge.data.stored import DatasetStore
from stratforge.plugin import hookimpl
from stratforge.plugin.params import FilePath
from stratforge.plugin.registry import Register

__all__ = ["csv", "dataframe", "dataset", "parquet", "register_data_sources"]


def csv(
    *,
    path: FilePath,
    datetime_column: str = "datetime",
    columns: dict[str, str] | None = None,
    date_format: str | None = None,
    tz: str | None = None,
    on_bad_rows: Literal["error", "drop"] = "error",
    sep: str = ",",
    header: bool = True,
    names: list[str] | None = None,
) -> pd.DataFrame:
    """CSV file of OHLCV bars (plain or .gz), validated row by row.

    Args:
        path: The CSV file.
        datetime_column: Name of the timestamp column; Date/Datetime/Time/Timestamp (and
            separate Date and Time columns) are recognised without it.
        columns: Map of file column names to canonical ones, e.g. {"Adj Close": "close"}.
        date_format: strptime format of the timestamps, e.g. "%d.%m.%Y %H:%M"; guessed
            when omitted.
        tz: Time zone that tz-aware timestamps are converted to before being made naive
            (default UTC); naive timestamps are kept as they are.
        on_bad_rows: "error" to stop at bad rows, "drop" to skip them with a warning.
        sep: Field separator.
        header: false for a file without a header line: its columns are then named by
            names, or by position for columns to map, e.g. {"0": "datetime", "1": "open"}.
        names: Column names to use instead of the header's (or for a headerless file),
            e.g. ["datetime", "open", "high", "low", "close", "volume"].
    """
    return load_csv(
        path,
        datetime_column=datetime_column,
        columns=columns,
        date_format=date_format,
        tz=tz,
        on_bad_rows=on_bad_rows,
        sep=sep,
        header=header,
        names=names,
    )


def parquet(
    *,
    path: FilePath,
    datetime_column: str = "datetime",
    columns: dict[str, str] | None = None,
    tz: str | None = None,
    on_bad_rows: Literal["error", "drop"] = "error",
) -> pd.DataFrame:
    """Parquet file of OHLCV bars; timestamps may be a column or the index.

    Args:
        path: The Parquet file.
        datetime_column: Name of the timestamp column (or index); common names are
            recognised without it.
        columns: Map of file column names to canonical ones, e.g. {"Adj Close": "close"}.
        tz: Time zone that tz-aware timestamps are converted to before being made naive
            (default UTC); naive timestamps are kept as they are.
        on_bad_rows: "error" to stop at bad rows, "drop" to skip them with a warning.
    """
    return load_parquet(
        path, datetime_column=datetime_column, columns=columns, tz=tz, on_bad_rows=on_bad_rows
    )


def dataset(*, id: str, store: DatasetStore | None = None) -> pd.DataFrame:
    """A dataset uploaded to the stratforge server (POST /api/v1/datasets), by its id.

    Args:
        id: the dataset id, e.g. ds_0123456789abcdef
        store: Supplied by the engine from the run's settings (the data directory); not a
            parameter a spec can set.
    """
    if store is None:
        raise ValueError("the dataset source reads the server's data directory; run it there")
    return pd.read_parquet(store.path(id))


def dataframe(
    *,
    name: str | None = None,
    columns: dict[str, str] | None = None,
    tz: str | None = None,
    on_bad_rows: Literal["error", "drop"] = "error",
    frames: InMemoryFrames | None = None,
) -> pd.DataFrame:
    """A pandas DataFrame passed to run_backtest(spec, frames={"name": df}) in this process.

    Common spellings are recognised (Open/open/OPEN, Volume/Vol, a DatetimeIndex or a
    Date/Datetime/Timestamp column); a missing volume is 0, a missing Close is Adj Close.

    Args:
        name: The key of the frame in frames={...}; may be left out when there is one.
        columns: Map of frame column names to canonical ones, e.g. {"Adj Close": "close"}.
        tz: Time zone that tz-aware timestamps are converted to before being made naive
            (default UTC); naive timestamps are kept as they are.
        on_bad_rows: "error" to stop at bad rows, "drop" to skip them with a warning.
        frames: Supplied by the engine from run_backtest's frames; not a parameter a spec
            can set (a spec sent to the REST API cannot carry a frame).
    """
    if frames is None:
        raise ValueError(FRAMES_ONLY_IN_PROCESS)
    chosen, frame = frames.pick(name)
    return canonical_frame(
        frame, columns=columns, where=f"frame {chosen!r}", tz=tz, on_bad_rows=on_bad_rows
    )


@hookimpl
def register_data_sources(register: Register) -> None:
    """Register the built-in sources exactly like a third-party plugin would."""
    register(csv, name="csv")
    register(parquet, name="parquet")
    register(dataset, name="dataset")
    register(dataframe, name="dataframe")
