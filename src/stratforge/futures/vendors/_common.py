"""What every vendor source shares: one contract's frame or a chain, open interest merged
as of each bar, and segments of one contract (per-day files) joined in time order."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping

import numpy as np
import pandas as pd

from stratforge.data.validation import DataValidationError, RowProblem
from stratforge.futures.chain import ContractChain
from stratforge.futures.contracts import ContractCodeError, ContractId, ContractSpec

__all__ = ["chain_or_series", "join_segments", "merge_open_interest", "one_line"]


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def chain_or_series(
    frames: Mapping[ContractId, pd.DataFrame],
    spec: ContractSpec | None,
    origin: str,
    *,
    contract_code: str | None = None,
    expiries: Mapping[ContractId, dt.date] | None = None,
) -> ContractChain | pd.DataFrame:
    """A chain of *spec*'s root, or without a root one contract's frame: the one named by
    *contract_code*, or the only one there is (several without a choice are an error)."""
    if not frames:
        raise DataValidationError(origin, detail="no contract data found")
    if spec is not None:
        known = dict(expiries or {})
        return ContractChain(spec, dict(frames), {c: d for c, d in known.items() if c in frames})
    if contract_code is None:
        if len(frames) > 1:
            codes = ", ".join(str(c) for c in sorted(frames))
            raise DataValidationError(
                origin,
                detail=f"holds {len(frames)} contracts ({codes})",
                hint="set the data spec's root to load them as a chain, "
                "or contract_code to pick one",
            )
        return next(iter(frames.values()))
    year, month = _parse_code(contract_code)
    found = next((f for c, f in frames.items() if (c.year, c.month) == (year, month)), None)
    if found is None:
        codes = ", ".join(str(c) for c in sorted(frames))
        raise DataValidationError(
            origin,
            detail=f"no contract {contract_code!r} ({year}-{month:02d}); contracts: {codes}",
        )
    return found


def _parse_code(code: str) -> tuple[int, int]:
    """The year and month of ``ESZ23`` (any root), ``202312`` or pysystemtrade's ``20231200``."""
    digits = code.strip()
    if digits.isdigit() and len(digits) in (6, 8):
        year, month = int(digits[:4]), int(digits[4:6])
        if 1 <= month <= 12:
            return year, month
    try:
        parsed = ContractId.parse(code)
    except ContractCodeError as exc:
        raise ValueError(f"contract_code: {exc}") from None
    return parsed.year, parsed.month


def join_segments(segments: list[tuple[str, pd.DataFrame]]) -> pd.DataFrame:
    """One contract's validated frames from several files, in order; a file that starts at or
    before the previous file's last bar is named with the overlap."""
    if len(segments) == 1:
        return segments[0][1]
    for (_, before), (origin, after) in itertools.pairwise(segments):
        if len(before) and len(after) and after.index[0] <= before.index[-1]:
            raise DataValidationError(
                origin,
                [
                    RowProblem(
                        1,
                        "datetime",
                        f"timestamp {after.index[0]} is not after the previous file's last "
                        f"bar {before.index[-1]} (duplicate or out-of-order files)",
                    )
                ],
                hint="",
            )
    return pd.concat([frame for _, frame in segments])


def merge_open_interest(
    frame: pd.DataFrame, stamps: np.ndarray, values: np.ndarray
) -> pd.DataFrame:
    """*frame* with ``openinterest`` set to the last value stamped at or before each bar
    (never a later one); bars before the first value keep 0."""
    if not len(stamps):
        return frame
    order = np.argsort(stamps, kind="stable")
    stamps, values = stamps[order], values[order]
    bars = frame.index.to_numpy().astype(stamps.dtype)
    at = np.searchsorted(stamps, bars, side="right") - 1
    merged = frame.copy()
    merged["openinterest"] = np.where(at >= 0, values[np.maximum(at, 0)], 0.0)
    return merged
