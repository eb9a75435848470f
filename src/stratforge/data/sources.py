"""The built-in data sources: ``synthetic``, ``csv`` and ``parquet``.

Each source is a plain function with keyword-only, simply annotated parameters: the engine
reads ``inspect.signature`` (annotations resolved with ``typing.get_type_hints``) to check
user arguments and coerce strings, and the docstring's ``Args:`` section for help.
"""

from __future__ import annotations

from typing import Literal

import pandas as pd

from stratforge.data.loaders import load_csv, load_parquet
from stratforge.data.synthetic import generate_synthetic
from stratforge.plugin import hookimpl
from stratforge.plugin.registry import Register

__all__ = ["csv", "parquet", "register_data_sources", "synthetic"]


def synthetic(
    *,
    bars: int = 2500,
    timeframe: Literal["days", "minutes"] = "days",
    compression: int = 1,
    start: str = "2015-01-02",
    seed: int = 0,
    price: float = 100.0,
    drift: float = 0.05,
    volatility: float = 0.20,
    regime_length: int = 0,
    regime_volatility_ratio: float = 2.0,
    volume: float = 1_000_000.0,
) -> pd.DataFrame:
    """Synthetic market: a seeded geometric random walk, reproducible bit for bit.

    Args:
        bars: Number of bars to generate (at least 2).
        timeframe: "days" (business days) or "minutes" (24/5 grid from midnight).
        compression: Bar size in units of the timeframe, e.g. 5 for 5-minute bars.
        start: First date (or date and time for minute bars), e.g. "2015-01-02".
        seed: Random seed; the same arguments always give the same data.
        price: Starting price (> 0).
        drift: Annualised drift of the log price, e.g. 0.05 for +5% a year.
        volatility: Annualised volatility, e.g. 0.2 for 20%.
        regime_length: Mean bars per calm/volatile regime; 0 disables regimes.
        regime_volatility_ratio: Volatility multiplier of the volatile regimes.
        volume: Mean volume per bar.
    """
    return generate_synthetic(
        bars=bars,
        timeframe=timeframe,
        compression=compression,
        start=start,
        seed=seed,
        price=price,
        drift=drift,
        volatility=volatility,
        regime_length=regime_length,
        regime_volatility_ratio=regime_volatility_ratio,
        volume=volume,
    )


def csv(
    *,
    path: str,
    datetime_column: str = "datetime",
    columns: dict[str, str] | None = None,
    date_format: str | None = None,
    tz: str | None = None,
    on_bad_rows: Literal["error", "drop"] = "error",
    sep: str = ",",
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
    """
    return load_csv(
        path,
        datetime_column=datetime_column,
        columns=columns,
        date_format=date_format,
        tz=tz,
        on_bad_rows=on_bad_rows,
        sep=sep,
    )


def parquet(
    *,
    path: str,
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


@hookimpl
def register_data_sources(register: Register) -> None:
    """Register the built-in sources exactly like a third-party plugin would."""
    register(synthetic, name="synthetic")
    register(csv, name="csv")
    register(parquet, name="parquet")
