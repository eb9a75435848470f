"""QuantConnect LEAN futures data, read as LEAN writes it (nothing to convert first).

Layout under a market folder such as ``data/future/cme``:

- ``daily/es_trade.zip`` and ``hour/es_trade.zip``: one headerless CSV per contract month,
  ``es_trade_YYYYMM.csv`` (newer LEAN appends the expiry: ``es_trade_YYYYMM_YYYYMMDD.csv``),
  rows ``YYYYMMDD HH:MM,open,high,low,close,volume``;
- ``minute/es/YYYYMMDD_trade.zip``: one zip per day holding
  ``YYYYMMDD_es_minute_trade_YYYYMM[_YYYYMMDD].csv`` per contract, rows
  ``milliseconds since midnight,open,high,low,close,volume``;
- open interest beside each: ``es_openinterest.zip`` / ``YYYYMMDD_openinterest.zip`` with rows
  ``time,open_interest``.

Futures prices are real prices (only LEAN equity data is scaled by 10000); ``price_scale``
divides them for old files that were scaled. Timestamps are kept as stored (LEAN's data
time zone of the market).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from annotated_types import Gt

from stratforge.data.validation import DataValidationError, OnBadRows, RowProblem, validate_frame
from stratforge.futures.chain import ContractChain
from stratforge.futures.contracts import ContractId, ContractSpec
from stratforge.futures.vendors._common import (
    chain_or_series,
    join_segments,
    merge_open_interest,
    one_line,
)
from stratforge.plugin.params import FilePath

__all__ = ["lean"]

Resolution = Literal["daily", "hour", "minute"]
RESOLUTIONS: tuple[Resolution, ...] = ("daily", "hour", "minute")
TRADE_COLUMNS = ["datetime", "open", "high", "low", "close", "volume"]
_DAY_ZIP = re.compile(r"(?P<date>\d{8})_(?P<tick>trade|openinterest)\.zip")
_ENTRY = re.compile(
    r"(?:(?P<date>\d{8})_)?(?P<ticker>[a-z0-9]+)_(?:(?:second|minute|tick)_)?"
    r"(?P<tick>trade|openinterest)_(?P<year>\d{4})(?P<month>\d{2})(?:_(?P<expiry>\d{8}))?\.csv"
)
_LONG_TIME = "%Y%m%d %H:%M"


def lean(
    *,
    path: FilePath,
    resolution: Resolution | None = None,
    ticker: str | None = None,
    open_interest: bool = True,
    price_scale: Annotated[float, Gt(0)] = 1.0,
    contract_code: str | None = None,
    on_bad_rows: OnBadRows = "error",
    contract: ContractSpec | None = None,
) -> ContractChain | pd.DataFrame:
    """QuantConnect LEAN futures trade bars (zips as LEAN stores them), open interest merged.

    With a futures root in the data spec it returns the chain of every contract month found;
    without one, a single contract's bars (``contract_code``, or the only contract).

    Args:
        path: A LEAN trade zip (es_trade.zip, daily_es_trade.zip, 20131007_trade.zip), a
            folder holding them (daily/, hour/, minute/es/) or the market folder
            (data/future/cme) with daily/, hour/ and minute/ below it.
        resolution: "daily", "hour" or "minute"; taken from the path when omitted
            (default daily).
        ticker: LEAN's lower-case ticker, e.g. "es"; default the root, or what the files say.
        open_interest: Merge the *_openinterest zips beside the trade data (the last value
            at or before each bar; 0 before the first).
        price_scale: Divide prices by this (10000 for old files scaled like LEAN equities).
        contract_code: Without a root: the contract to load, e.g. ESZ13.
        on_bad_rows: "error" to stop at bad rows, "drop" to skip them with a warning.
    """
    found = _locate(Path(path).expanduser(), resolution, _ticker(ticker, contract))
    frames, expiries = _read_all(found, price_scale, open_interest, on_bad_rows)
    if not frames and found.skipped:
        raise DataValidationError(
            str(path),
            detail=f"no {found.ticker} contracts (the files hold "
            f"{', '.join(sorted(found.skipped))})",
            hint="set ticker to LEAN's name of the root",
        )
    if contract is not None:  # LEAN's ticker is the root in lower case, or set by ticker
        frames = {ContractId(contract.root, c.year, c.month): f for c, f in frames.items()}
        expiries = {ContractId(contract.root, c.year, c.month): d for c, d in expiries.items()}
    return chain_or_series(
        frames, contract, str(path), contract_code=contract_code, expiries=expiries
    )


def _ticker(ticker: str | None, contract: ContractSpec | None) -> str | None:
    if ticker is not None:
        return ticker.lower()
    return contract.root.lower() if contract is not None else None


class _Found:
    """The trade zips to read (in time order) and their open interest zips, if any."""

    def __init__(self, resolution: Resolution, trades: list[Path], ticker: str | None) -> None:
        self.resolution = resolution
        self.trades = trades
        self.ticker = ticker
        self.skipped: set[str] = set()

    def open_interest(self, trade: Path) -> Path | None:
        name = trade.name.replace("_trade.zip", "_openinterest.zip")
        candidate = trade.with_name(name)
        return candidate if candidate.is_file() else None


def _locate(path: Path, resolution: Resolution | None, ticker: str | None) -> _Found:
    if path.is_file():
        return _Found(_zip_resolution(path, resolution), [path], ticker)
    if not path.is_dir():
        raise FileNotFoundError(f"LEAN data {str(path)!r} does not exist")
    if any((path / r).is_dir() for r in RESOLUTIONS):  # the market folder, e.g. future/cme
        chosen = resolution or "daily"
        folder = path / chosen
        if chosen == "minute":
            folder = folder / (ticker or _only_ticker(folder))
        return _in_folder(folder, chosen, ticker)
    guessed = path.name if path.name in RESOLUTIONS else None
    if resolution is None and guessed is None and path.parent.name == "minute":
        guessed = "minute"
    return _in_folder(path, resolution or guessed or _folder_resolution(path), ticker)


def _only_ticker(folder: Path) -> str:
    tickers = sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
    if len(tickers) != 1:
        raise FileNotFoundError(f"{folder}: set ticker (folders: {', '.join(tickers) or 'none'})")
    return tickers[0]


def _folder_resolution(folder: Path) -> Resolution:
    if any(_DAY_ZIP.fullmatch(p.name) for p in folder.glob("*_trade.zip")):
        return "minute"
    return "daily"


def _zip_resolution(file: Path, resolution: Resolution | None) -> Resolution:
    if _DAY_ZIP.fullmatch(file.name.lower()):
        return "minute"
    if resolution is not None:
        return resolution
    prefix = file.name.lower().split("_")[0]
    for guess in (prefix, file.parent.name):
        if guess in RESOLUTIONS:
            return guess
    return "daily"


def _in_folder(folder: Path, resolution: Resolution, ticker: str | None) -> _Found:
    if not folder.is_dir():
        raise FileNotFoundError(f"LEAN data folder {str(folder)!r} does not exist")
    if resolution == "minute":
        days = sorted(p for p in folder.glob("*_trade.zip") if _DAY_ZIP.fullmatch(p.name))
        if not days:
            raise FileNotFoundError(f"{folder}: no LEAN minute zips (YYYYMMDD_trade.zip)")
        return _Found("minute", days, ticker)
    zips = [p for p in folder.glob("*_trade.zip") if not _DAY_ZIP.fullmatch(p.name)]
    named = {_zip_ticker(p, resolution): p for p in zips}
    named = {t: p for t, p in named.items() if t is not None}
    if ticker is not None:
        if ticker not in named:
            raise FileNotFoundError(
                f"{folder}: no {ticker}_trade.zip (or {resolution}_{ticker}_trade.zip)"
            )
        return _Found(resolution, [named[ticker]], ticker)
    if len(named) != 1:
        raise FileNotFoundError(
            f"{folder}: set ticker or the data root (trade zips for: "
            f"{', '.join(sorted(t for t in named if t)) or 'none'})"
        )
    return _Found(resolution, list(named.values()), next(iter(named)))


def _zip_ticker(file: Path, resolution: Resolution) -> str | None:
    """``es`` for es_trade.zip and for the flattened daily_es_trade.zip of that resolution."""
    parts = file.name.lower().removesuffix("_trade.zip").split("_")
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2 and parts[0] == resolution:
        return parts[1]
    return None


# --------------------------------------------------------------------------------------------
# Reading


def _read_all(
    found: _Found, price_scale: float, open_interest: bool, on_bad_rows: OnBadRows
) -> tuple[dict[ContractId, pd.DataFrame], dict[ContractId, dt.date]]:
    segments: dict[ContractId, list[tuple[str, pd.DataFrame]]] = {}
    oi: dict[ContractId, list[tuple[np.ndarray, np.ndarray]]] = {}
    expiries: dict[ContractId, dt.date] = {}
    for trade in found.trades:
        for contract, origin, frame, expiry in _read_zip(
            trade, found, "trade", price_scale, on_bad_rows
        ):
            segments.setdefault(contract, []).append((origin, frame))
            if expiry is not None:
                expiries[contract] = expiry
        oi_zip = found.open_interest(trade) if open_interest else None
        if oi_zip is not None:
            for contract, _, table, _ in _read_zip(oi_zip, found, "openinterest", 1.0, "error"):
                oi.setdefault(contract, []).append(
                    (table.index.to_numpy(), table["openinterest"].to_numpy())
                )
    frames = {}
    for contract, parts in segments.items():
        frame = join_segments(parts)
        if contract in oi:
            stamps = np.concatenate([s for s, _ in oi[contract]])
            values = np.concatenate([v for _, v in oi[contract]])
            frame = merge_open_interest(frame, stamps, values)
        frames[contract] = frame
    return frames, expiries


def _open_zip(file: Path) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(file)
        bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise DataValidationError(str(file), detail=f"not a readable zip: {one_line(exc)}") from exc
    except Exception as exc:  # zlib.error and friends from a damaged member
        raise DataValidationError(str(file), detail=f"damaged zip: {one_line(exc)}") from exc
    if bad is not None:
        raise DataValidationError(str(file), detail=f"damaged zip member {bad!r} (CRC mismatch)")
    return archive


def _read_zip(
    file: Path, found: _Found, tick: str, price_scale: float, on_bad_rows: OnBadRows
) -> list[tuple[ContractId, str, pd.DataFrame, dt.date | None]]:
    day = _DAY_ZIP.fullmatch(file.name)
    with _open_zip(file) as archive:
        parts = []
        for name in sorted(archive.namelist()):
            if name.endswith("/"):
                continue
            origin = f"{file}:{name}"
            entry = _ENTRY.fullmatch(Path(name).name.lower())
            if entry is None or entry["tick"] != tick:
                raise DataValidationError(
                    origin,
                    detail=f"not a LEAN futures {tick} entry",
                    hint=f"entries are named like es_{tick}_201312.csv",
                )
            if found.ticker is not None and entry["ticker"] != found.ticker:
                found.skipped.add(entry["ticker"])
                continue  # another root's contracts in a shared zip
            contract = ContractId(entry["ticker"].upper(), int(entry["year"]), int(entry["month"]))
            date = entry["date"] or (day["date"] if day else None)
            text = archive.read(name)
            table = _parse(text, origin, tick, found.resolution, date, price_scale, on_bad_rows)
            expiry = pd.Timestamp(entry["expiry"]).date() if entry["expiry"] else None
            parts.append((contract, origin, table, expiry))
        return parts


def _parse(
    text: bytes,
    origin: str,
    tick: str,
    resolution: Resolution,
    date: str | None,
    price_scale: float,
    on_bad_rows: OnBadRows,
) -> pd.DataFrame:
    names = TRADE_COLUMNS if tick == "trade" else ["datetime", "openinterest"]
    try:
        raw = pd.read_csv(io.BytesIO(text), header=None, names=names, dtype={"datetime": str})
    except pd.errors.EmptyDataError as exc:
        raise DataValidationError(origin, detail="entry is empty") from exc
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise DataValidationError(origin, detail=f"cannot read CSV: {one_line(exc)}") from exc
    if resolution == "minute":
        raw["datetime"] = _minute_stamps(raw["datetime"], date, origin)
        date_format = None
    else:
        date_format = _LONG_TIME
    if tick == "trade":
        if price_scale != 1.0:
            for column in ("open", "high", "low", "close"):
                number = pd.to_numeric(raw[column], errors="coerce")
                raw[column] = (number / price_scale).where(number.notna(), raw[column])
        return validate_frame(
            raw, origin=origin, date_format=date_format, on_bad_rows=on_bad_rows
        ).frame
    return _open_interest_table(raw, origin, date_format)


def _minute_stamps(values: pd.Series, date: str | None, origin: str) -> pd.Series:
    """Milliseconds since midnight of the zip's day as timestamps."""
    if date is None:
        raise DataValidationError(origin, detail="minute data needs the YYYYMMDD of its zip")
    millis = pd.to_numeric(values, errors="coerce")
    bad = np.flatnonzero(millis.isna().to_numpy() | (millis < 0).to_numpy())
    if len(bad):
        problems = [
            RowProblem(
                int(i) + 1, "datetime", f"{values.iloc[i]!r} is not milliseconds since midnight"
            )
            for i in bad[:5]
        ]
        raise DataValidationError(origin, problems, len(bad), hint="")
    return pd.Timestamp(date) + pd.to_timedelta(millis, unit="ms")


def _open_interest_table(raw: pd.DataFrame, origin: str, date_format: str | None) -> pd.DataFrame:
    """Open interest rows checked like bars: parsable times, numbers, ascending, no repeats."""
    filled = raw.assign(
        open=1.0, high=1.0, low=1.0, close=1.0, volume=0.0
    )  # validate_frame wants bars; only datetime and openinterest matter here
    checked = validate_frame(filled, origin=origin, date_format=date_format).frame
    return checked[["openinterest"]]
