"""OHLCV data: loaders, validation and a synthetic market, all yielding the canonical frame.

The canonical frame has a tz-naive, strictly increasing ``DatetimeIndex`` named ``datetime``
and float64 columns exactly :data:`CANONICAL_COLUMNS`. The built-in data-source plugin lives
in :mod:`stratforge.data.sources`, imported by the plugin manager, not from here.
"""

from __future__ import annotations

from stratforge.data.loaders import load_csv, load_parquet, validate_file
from stratforge.data.synthetic import generate_synthetic
from stratforge.data.validation import (
    CANONICAL_COLUMNS,
    DataValidationError,
    RowProblem,
    ValidatedFrame,
    validate_frame,
)

__all__ = [
    "CANONICAL_COLUMNS",
    "DataValidationError",
    "RowProblem",
    "ValidatedFrame",
    "generate_synthetic",
    "load_csv",
    "load_parquet",
    "validate_file",
    "validate_frame",
]
