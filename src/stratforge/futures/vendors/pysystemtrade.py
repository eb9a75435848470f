"""pysystemtrade's CSV data, read as pysystemtrade writes it.

- Per-contract prices, one file per contract: ``<INSTRUMENT>_<YYYYMMDD>.csv`` (the day is
  ``00`` for monthly contracts, e.g. ``AUD_20180300.csv``) with ``Time,Open,High,Low,Close,
  Volume`` rows; times are UTC (``2017-06-30T05:00:00+0000``) and kept in UTC.
- Multiple prices, one file per instrument (``multiple_prices/SP500.csv``):
  ``DATETIME,CARRY,CARRY_CONTRACT,PRICE,PRICE_CONTRACT,FORWARD,FORWARD_CONTRACT`` with
  contracts written ``YYYYMM00``. Each row holds three contracts' closes; the file becomes a
  chain of close-only contract series (open = high = low = close, volume and open interest
  0): every price a contract has in any of the three columns is a bar of that contract.
  Where one row names the same contract twice (CARRY and FORWARD are often the same
  contract) the PRICE column wins, then FORWARD, then CARRY; an empty price is no bar.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal, cast

import numpy as np
import pandas as pd

from stratforge.data.loaders import load_csv
from stratforge.data.validation import DataValidationError, OnBadRows, RowProblem, validate_frame
from stratforge.futures.chain import ContractChain
from stratforge.futures.contracts import ContractId, ContractSpec
from stratforge.futures.vendors._common import chain_or_series, one_line
from stratforge.plugin.params import FilePath

__all__ = ["pysystemtrade"]

_CONTRACT_FILE = re.compile(
    r"(?P<instrument>.+)_(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})\.csv"
)
_CODE = re.compile(r"(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})")
MULTIPLE_COLUMNS = (
    "DATETIME",
    "CARRY",
    "CARRY_CONTRACT",
    "PRICE",
    "PRICE_CONTRACT",
    "FORWARD",
    "FORWARD_CONTRACT",
)
PRIORITY = ("PRICE", "FORWARD", "CARRY")


def pysystemtrade(
    *,
    path: FilePath,
    instrument: str | None = None,
    layout: Literal["auto", "contracts", "multiple_prices"] = "auto",
    contract_code: str | None = None,
    on_bad_rows: OnBadRows = "error",
    contract: ContractSpec | None = None,
) -> ContractChain | pd.DataFrame:
    """pysystemtrade CSVs: a folder of per-contract files or a multiple-prices file.

    With a futures root in the data spec it returns the chain; without one, a single
    contract's bars (``contract_code``, or the only contract). A multiple-prices file gives
    close-only bars (open = high = low = close, volume 0): PRICE, FORWARD and CARRY columns
    each feed the contract they name, PRICE first where a row names a contract twice.

    Args:
        path: A folder of <INSTRUMENT>_<YYYYMM00>.csv contract files, one such file, or a
            multiple-prices file (DATETIME,CARRY,...,FORWARD_CONTRACT).
        instrument: pysystemtrade's instrument code (file prefix), e.g. AUD or SP500;
            needed only when a folder holds several instruments' files.
        layout: "contracts", "multiple_prices", or "auto" to tell from the path and header.
        contract_code: Without a root: the contract to load, e.g. 20231200 or ESZ23.
        on_bad_rows: "error" to stop at bad rows, "drop" to skip them with a warning.
    """
    file = Path(path).expanduser()
    if not file.exists():
        raise FileNotFoundError(f"pysystemtrade data {str(path)!r} does not exist")
    chosen = _layout(file) if layout == "auto" else layout
    if chosen == "multiple_prices":
        root = contract.root if contract is not None else (instrument or file.stem).upper()
        frames = _multiple_prices(file, root, on_bad_rows)
    else:
        frames = _contract_files(file, instrument, contract, on_bad_rows)
    return chain_or_series(frames, contract, str(path), contract_code=contract_code)


def _layout(file: Path) -> Literal["contracts", "multiple_prices"]:
    if file.is_dir():
        return "contracts"
    try:
        header = pd.read_csv(file, nrows=0).columns
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataValidationError(str(file), detail=f"cannot read CSV: {one_line(exc)}") from exc
    return "multiple_prices" if "PRICE_CONTRACT" in header else "contracts"


def _contract_files(
    path: Path, instrument: str | None, spec: ContractSpec | None, on_bad_rows: OnBadRows
) -> dict[ContractId, pd.DataFrame]:
    files = [path] if path.is_file() else sorted(path.glob("*.csv"))
    named = [(f, _CONTRACT_FILE.fullmatch(f.name)) for f in files]
    if path.is_file() and named[0][1] is None:
        raise ValueError(f"{path}: name it <INSTRUMENT>_<YYYYMMDD>.csv, e.g. AUD_20180300.csv")
    matched = [(f, m) for f, m in named if m is not None]
    instruments = sorted({m["instrument"] for _, m in matched})
    if instrument is None:
        if len(instruments) > 1:
            raise ValueError(
                f"{path}: files of several instruments ({', '.join(instruments)}); set instrument"
            )
    else:
        matched = [(f, m) for f, m in matched if m["instrument"].upper() == instrument.upper()]
    if not matched:
        wanted = f"{instrument}_" if instrument else "<INSTRUMENT>_"
        raise FileNotFoundError(f"{path}: no {wanted}YYYYMMDD.csv contract files")
    frames: dict[ContractId, pd.DataFrame] = {}
    codes: dict[ContractId, str] = {}
    for file, match in matched:
        root = spec.root if spec is not None else match["instrument"].upper()
        contract = ContractId(root, int(match["year"]), int(match["month"]))
        code = match["year"] + match["month"] + match["day"]
        if contract in frames:
            raise ValueError(f"{file}: contract month {contract} again (also {codes[contract]})")
        frames[contract] = load_csv(file, on_bad_rows=on_bad_rows)
        codes[contract] = code
    return frames


def _multiple_prices(
    file: Path, root: str, on_bad_rows: OnBadRows
) -> dict[ContractId, pd.DataFrame]:
    origin = str(file)
    try:
        raw = pd.read_csv(file, dtype=str, skipinitialspace=True)
    except pd.errors.EmptyDataError as exc:
        raise DataValidationError(origin, detail="file is empty (no header line)") from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataValidationError(origin, detail=f"cannot read CSV: {one_line(exc)}") from exc
    missing = [c for c in MULTIPLE_COLUMNS if c not in raw.columns]
    if missing:
        raise DataValidationError(
            origin,
            detail=f"missing column(s) {', '.join(missing)}; columns present: "
            + ", ".join(map(str, raw.columns)),
            hint="a multiple-prices file has " + ",".join(MULTIPLE_COLUMNS),
        )
    if raw.empty:
        raise DataValidationError(origin, detail="no data rows")
    rows = np.arange(2, len(raw) + 2)  # the header is line 1
    stacked = pd.concat(
        [
            pd.DataFrame(
                {
                    "row": rows,
                    "priority": rank,
                    "datetime": raw["DATETIME"].to_numpy(),
                    "code": raw[f"{column}_CONTRACT"].to_numpy(),
                    "price": raw[column].to_numpy(),
                    "column": column,
                }
            )
            for rank, column in enumerate(PRIORITY)
        ],
        ignore_index=True,
    )
    stacked = stacked[stacked["price"].notna()]
    stacked = stacked.sort_values(["row", "priority"], kind="stable")
    stacked = stacked.assign(key=_contract_keys(stacked, origin)).drop_duplicates(["row", "key"])
    frames: dict[ContractId, pd.DataFrame] = {}
    for key, part in stacked.groupby("key", sort=True):
        year, month = divmod(cast(int, key), 100)
        contract = ContractId(root, year, month)
        bars = pd.DataFrame(
            {
                "datetime": part["datetime"].to_numpy(),
                **dict.fromkeys(("open", "high", "low", "close"), part["price"].to_numpy()),
                "volume": 0.0,
            }
        )
        checked = validate_frame(
            bars,
            origin=f"{origin} [{contract}]",
            row_numbers=part["row"].to_numpy(),
            on_bad_rows=on_bad_rows,
        )
        frames[contract] = checked.frame
    return frames


def _contract_keys(stacked: pd.DataFrame, origin: str) -> np.ndarray:
    """Each price's contract as ``year * 100 + month``; a missing or malformed ``YYYYMMDD``
    code is a row problem."""
    codes = stacked["code"].astype("string").str.strip().str.removesuffix(".0")
    parts = codes.str.extract(r"^(\d{4})(\d{2})(\d{2})$")
    year = pd.to_numeric(parts[0]).to_numpy(dtype=float, na_value=np.nan)
    month = pd.to_numeric(parts[1]).to_numpy(dtype=float, na_value=np.nan)
    bad = np.isnan(year) | ~((month >= 1) & (month <= 12))
    if bad.any():
        hits = np.flatnonzero(bad)
        rows, columns, raw = (
            stacked["row"].to_numpy(),
            stacked["column"].to_numpy(),
            stacked["code"],
        )
        problems = [
            RowProblem(
                int(rows[i]),
                f"{columns[i]}_CONTRACT",
                f"{columns[i]}_CONTRACT {raw.iloc[i]!r} is not a YYYYMM00 contract",
            )
            for i in hits[:50]
        ]
        problems.sort(key=lambda p: p.row or 0)
        raise DataValidationError(origin, problems, len(hits), hint="")
    return (year * 100 + month).astype(np.int64)
