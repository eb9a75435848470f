"""Databento DBN files (plain ``.dbn`` or zstd ``.dbn.zst``), read with the official
``databento-dbn`` decoder.

Bars come from the OHLCV schemas (``ohlcv-1d``, ``ohlcv-1h``, ``ohlcv-1m``, ``ohlcv-1s``);
timestamps are the bar's open (``ts_event``) in UTC, kept naive in UTC; prices are the
fixed-point integers (units of 1e-9) divided out. Records name instruments by
``instrument_id``; the contract of each id comes from, in this order: the ``symbols``
argument, instrument definitions (a ``definition`` file: raw symbol, maturity, expiration),
symbol-mapping records in the stream, or the metadata's symbol mappings of a raw-symbol
request. Raw symbols such as ``ESZ3`` carry a one-digit year, resolved to the year nearest
the bar's (definitions' maturity year wins); spreads (``ESZ3-ESH4``) and options are skipped.
Open interest comes from ``statistics`` records (``OPEN_INTEREST``), each as of when it was
published: a bar gets the last value published before it ended.

The decoder is imported by the functions that read files, not with the module: every
command registers this source, and most never read a DBN file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from stratforge.data.validation import DataValidationError, OnBadRows, validate_frame
from stratforge.futures.chain import ContractChain
from stratforge.futures.contracts import ContractCodeError, ContractId, ContractSpec
from stratforge.futures.vendors._common import (
    chain_or_series,
    join_segments,
    merge_open_interest,
    one_line,
)
from stratforge.plugin.params import FilePath

__all__ = ["databento"]

Schema = Literal["ohlcv-1d", "ohlcv-1h", "ohlcv-1m", "ohlcv-1s"]
BAR_LENGTH = {
    "ohlcv-1d": pd.Timedelta(days=1),
    "ohlcv-1h": pd.Timedelta(hours=1),
    "ohlcv-1m": pd.Timedelta(minutes=1),
    "ohlcv-1s": pd.Timedelta(seconds=1),
}
SUFFIXES = (".dbn", ".dbn.zst", ".zst")
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_CHUNK = 1 << 20
_NO_MONTH = (None, 0, 255, 65535)


def databento(
    *,
    path: FilePath,
    schema: Schema | None = None,
    definitions: FilePath | None = None,
    statistics: FilePath | None = None,
    symbols: dict[str, str] | None = None,
    contract_code: str | None = None,
    on_bad_rows: OnBadRows = "error",
    contract: ContractSpec | None = None,
) -> ContractChain | pd.DataFrame:
    """Databento DBN OHLCV bars (.dbn or .dbn.zst), open interest from statistics records.

    With a futures root in the data spec it returns the chain of that root's outright
    contracts; without one, a single contract's bars (``contract_code``, or the only one).

    Args:
        path: A DBN file or a folder of them; definition and statistics files in the
            folder are used for symbology and open interest.
        schema: The bar schema to read ("ohlcv-1d", "ohlcv-1h", "ohlcv-1m", "ohlcv-1s");
            a file of another schema is an error. Default: the one schema the files hold.
        definitions: A DBN file of instrument definitions (schema "definition") naming
            each instrument_id's raw symbol, maturity and expiration.
        statistics: A DBN file of statistics records whose OPEN_INTEREST values are merged.
        symbols: instrument_id to raw symbol, e.g. {"42": "ESZ3"}, ahead of any other source.
        contract_code: Without a root: the contract to load, e.g. ESZ23.
        on_bad_rows: "error" to stop at bad rows, "drop" to skip them with a warning.
    """
    files = _files(Path(path).expanduser())
    files += [Path(p).expanduser() for p in (definitions, statistics) if p is not None]
    decoded = [_decode(file) for file in files]
    bars = [d for d in decoded if d.bars]
    if not bars:
        raise DataValidationError(str(path), detail="no OHLCV records (schemas ohlcv-1d/1h/1m/1s)")
    chosen = _schema(bars, schema, str(path))
    names = _Symbology.of(decoded, symbols)
    root = contract.root if contract is not None else None
    segments: dict[ContractId, list[tuple[str, pd.DataFrame]]] = {}
    for part in sorted(bars, key=lambda d: d.start):
        for contract_id, origin, frame in _contract_frames(part, names, root, on_bad_rows):
            segments.setdefault(contract_id, []).append((origin, frame))
    if not segments:
        raise DataValidationError(
            str(path), detail=f"no {root or 'outright futures'} contracts; symbols: {names.seen()}"
        )
    frames = {c: join_segments(parts) for c, parts in segments.items()}
    frames = _with_open_interest(frames, decoded, names, BAR_LENGTH[chosen])
    return chain_or_series(
        frames, contract, str(path), contract_code=contract_code, expiries=names.expiries()
    )


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"DBN data {str(path)!r} does not exist")
    found = sorted(p for p in path.iterdir() if p.is_file() and p.name.lower().endswith(SUFFIXES))
    if not found:
        raise FileNotFoundError(f"{path}: no DBN files ({', '.join(SUFFIXES)})")
    return found


# --------------------------------------------------------------------------------------------
# Decoding


@dataclass
class _Decoded:
    """One file's records by kind; ``*_rows`` are 1-based record numbers in the file."""

    file: Path
    metadata: Any
    start: int = 0
    schemas: set[str] = field(default_factory=set)
    bars: list[tuple[int, Any]] = field(default_factory=list)
    definitions: list[Any] = field(default_factory=list)
    mappings: list[Any] = field(default_factory=list)
    statistics: list[tuple[int, Any]] = field(default_factory=list)


def _chunks(file: Path) -> Iterator[bytes]:
    with file.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            yield chunk


def _decode(file: Path) -> _Decoded:
    import databento_dbn as dbn  # in each reader: every command registers this source

    origin = str(file)
    try:
        with file.open("rb") as stream:
            compressed = stream.read(4) == _ZSTD_MAGIC
        compression: Any = dbn.Compression.ZSTD if compressed else dbn.Compression.NONE
        decoder = dbn.DBNDecoder(compression=compression)
        records: list[Any] = []
        for chunk in _chunks(file):
            decoder.write(chunk)
            records.extend(decoder.decode())
        leftover = len(decoder.buffer())
    except (dbn.DBNError, OSError, ValueError) as exc:
        raise DataValidationError(
            origin, detail=f"not a readable DBN file: {one_line(exc)}"
        ) from exc
    if not records or not isinstance(records[0], dbn.Metadata):
        what = "truncated or damaged zstd DBN data" if compressed else "not a DBN file"
        raise DataValidationError(origin, detail=f"{what}: no complete metadata header")
    if leftover:
        raise DataValidationError(
            origin,
            detail=f"truncated: {leftover} bytes after record {len(records) - 1} "
            "are not a whole record",
        )
    decoded = _Decoded(file, records[0], start=int(records[0].start))
    for number, record in enumerate(records[1:], start=1):
        _sort(decoded, number, record)
    if decoded.metadata.schema is not None:
        decoded.schemas.add(str(decoded.metadata.schema))
    if not (decoded.bars or decoded.definitions or decoded.statistics):
        schema = decoded.metadata.schema
        raise DataValidationError(
            origin,
            detail=f"schema {str(schema) if schema is not None else 'mixed'} holds no bars, "
            "definitions or statistics",
            hint="use schema ohlcv-1d, ohlcv-1h, ohlcv-1m or ohlcv-1s",
        )
    return decoded


def _sort(decoded: _Decoded, number: int, record: Any) -> None:
    import databento_dbn as dbn

    if isinstance(record, dbn.OHLCVMsg):
        decoded.bars.append((number, record))
        decoded.schemas.add(str(record.rtype))
    elif isinstance(record, dbn.InstrumentDefMsg | dbn.InstrumentDefMsgV1 | dbn.InstrumentDefMsgV2):
        decoded.definitions.append(record)
    elif isinstance(record, dbn.SymbolMappingMsg | dbn.SymbolMappingMsgV1):
        decoded.mappings.append(record)
    elif (
        isinstance(record, dbn.StatMsg | dbn.StatMsgV1)
        and record.stat_type == dbn.StatType.OPEN_INTEREST
    ):
        decoded.statistics.append((number, record))


def _schema(bars: list[_Decoded], wanted: Schema | None, origin: str) -> str:
    kinds = {d.file: {s for s in d.schemas if s in BAR_LENGTH} for d in bars}
    for file, found in kinds.items():
        if wanted is not None and found != {wanted}:
            raise DataValidationError(
                str(file), detail=f"schema {', '.join(sorted(found))}, not {wanted}"
            )
        if len(found) != 1:
            raise DataValidationError(
                str(file), detail=f"holds several bar schemas ({', '.join(sorted(found))})"
            )
    every = set().union(*kinds.values())
    if len(every) != 1:
        raise DataValidationError(
            origin, detail=f"files of several schemas ({', '.join(sorted(every))}); set schema"
        )
    return next(iter(every))


# --------------------------------------------------------------------------------------------
# Symbology


@dataclass
class _Instrument:
    raw: str
    year: int | None = None
    month: int | None = None
    expiry: dt.date | None = None


class _Symbology:
    """instrument_id to raw symbol (with maturity and expiry when definitions give them)."""

    def __init__(self) -> None:
        self.fixed: dict[int, _Instrument] = {}
        self.dated: dict[int, list[tuple[dt.date, dt.date, str]]] = {}
        self.contracts: dict[tuple[int, str, int, str | None], ContractId | None] = {}
        self._seen: set[str] = set()
        self._expiries: dict[ContractId, dt.date] = {}

    @classmethod
    def of(cls, decoded: list[_Decoded], symbols: dict[str, str] | None) -> _Symbology:
        import databento_dbn as dbn

        names = cls()
        for part in decoded:  # the metadata of raw-symbol requests: lowest priority
            meta = part.metadata
            if meta.stype_in == dbn.SType.RAW_SYMBOL and meta.stype_out == dbn.SType.INSTRUMENT_ID:
                for raw, intervals in (meta.mappings or {}).items():
                    for interval in intervals:
                        if str(interval["symbol"]).isdigit():
                            names.dated.setdefault(int(interval["symbol"]), []).append(
                                (interval["start_date"], interval["end_date"], raw)
                            )
        for part in decoded:
            for mapping in part.mappings:
                raw = str(mapping.stype_out_symbol or mapping.stype_in_symbol)
                names.fixed[int(mapping.instrument_id)] = _Instrument(raw)
        for part in decoded:
            for definition in part.definitions:
                names.fixed[int(definition.instrument_id)] = _definition(definition)
        for key, raw in (symbols or {}).items():
            if not str(key).isdigit():
                raise ValueError(f"symbols: key {key!r} is not an instrument_id")
            names.fixed[int(key)] = _Instrument(str(raw))
        return names

    def raw_symbols(
        self, ids: np.ndarray, stamps: np.ndarray, origin: str, *, strict: bool = True
    ) -> np.ndarray:
        """The raw symbol of each record (ids with timestamps in ns); an id without one is an
        error, or with ``strict=False`` an empty symbol (statistics of other instruments)."""
        out = np.empty(len(ids), dtype=object)
        dates = pd.to_datetime(stamps, unit="ns").date if len(stamps) else np.array([])
        for iid in np.unique(ids):
            mask = ids == iid
            known = self.fixed.get(int(iid))
            if known is not None:
                out[mask] = known.raw
                continue
            for start, end, raw in self.dated.get(int(iid), []):
                in_range = mask & (dates >= start) & (dates < end)
                out[in_range] = raw
            missing = mask & pd.isna(out)
            if missing.any() and not strict:
                out[missing] = ""
            elif missing.any():
                raise DataValidationError(
                    origin,
                    detail=f"instrument_id {int(iid)} has no symbol",
                    hint="add a definitions file (schema definition), request raw symbols, "
                    'or pass symbols={"<instrument_id>": "ESZ3"}',
                )
        self._seen.update(str(s) for s in np.unique(out.astype(str)) if s)
        return out

    def contract(self, iid: int, raw: str, year: int, root: str | None) -> ContractId | None:
        """The outright contract a raw symbol stands for (None: a spread, option, other root)."""
        key = (iid, raw, year, root)
        if key not in self.contracts:
            self.contracts[key] = self._parse(iid, raw, year, root)
        return self.contracts[key]

    def _parse(self, iid: int, raw: str, year: int, root: str | None) -> ContractId | None:
        if any(ch in raw for ch in "-: ") or not raw:
            return None
        try:
            parsed = ContractId.parse(raw, pivot_year=year)
        except ContractCodeError:
            return None
        if root is not None and parsed.root != root.upper():
            return None
        known = self.fixed.get(iid)
        if known is not None and known.raw == raw and known.year and known.month:
            parsed = ContractId(parsed.root, known.year, known.month)
        if known is not None and known.expiry is not None:
            self._expiries[parsed] = known.expiry
        return parsed

    def seen(self) -> str:
        return ", ".join(sorted(self._seen)[:20]) or "none"

    def expiries(self) -> dict[ContractId, dt.date]:
        return dict(self._expiries)


def _definition(record: Any) -> _Instrument:
    import databento_dbn as dbn

    year: Any = getattr(record, "maturity_year", None)
    month: Any = getattr(record, "maturity_month", None)
    expiration = getattr(record, "expiration", None)
    expiry = None
    if expiration not in (None, dbn.UNDEF_TIMESTAMP):
        expiry = pd.Timestamp(int(expiration), unit="ns").date()
    valid = year not in _NO_MONTH and month not in _NO_MONTH and 1 <= int(month or 0) <= 12
    return _Instrument(
        str(record.raw_symbol),
        int(year) if valid else None,
        int(month) if valid else None,
        expiry,
    )


# --------------------------------------------------------------------------------------------
# Bars and open interest


def _contract_frames(
    part: _Decoded, names: _Symbology, root: str | None, on_bad_rows: OnBadRows
) -> list[tuple[ContractId, str, pd.DataFrame]]:
    origin = str(part.file)
    rows = np.fromiter((n for n, _ in part.bars), dtype=np.int64, count=len(part.bars))
    recs = [r for _, r in part.bars]
    ids = np.fromiter((r.instrument_id for r in recs), dtype=np.int64, count=len(recs))
    stamps = np.fromiter((r.ts_event for r in recs), dtype=np.int64, count=len(recs))
    prices = {
        column: _price(np.array([getattr(r, column) for r in recs], dtype=np.int64))
        for column in ("open", "high", "low", "close")
    }
    volume = np.fromiter((r.volume for r in recs), dtype=np.float64, count=len(recs))
    raw_symbols = names.raw_symbols(ids, stamps, origin)
    years = pd.to_datetime(stamps, unit="ns").year.to_numpy()
    contracts = np.array(
        [
            names.contract(int(i), str(s), int(y), root)
            for i, s, y in zip(ids, raw_symbols, years, strict=True)
        ],
        dtype=object,
    )
    codes = np.array(["" if c is None else c.format("full") for c in contracts])
    out = []
    for contract in sorted({c for c in contracts if c is not None}):
        mask = codes == contract.format("full")
        table = pd.DataFrame(
            {
                "datetime": pd.to_datetime(stamps[mask], unit="ns"),
                **{column: values[mask] for column, values in prices.items()},
                "volume": volume[mask],
            }
        )
        checked = validate_frame(
            table,
            origin=f"{origin} [{contract}]",
            row_numbers=rows[mask],
            on_bad_rows=on_bad_rows,
        )
        out.append((contract, f"{origin} [{contract}]", checked.frame))
    return out


def _price(fixed: np.ndarray) -> np.ndarray:
    """Fixed-point 1e-9 prices as floats; the undefined price is missing."""
    import databento_dbn as dbn

    values = fixed.astype(np.float64) / dbn.FIXED_PRICE_SCALE
    values[fixed == dbn.UNDEF_PRICE] = np.nan
    return values


def _with_open_interest(
    frames: dict[ContractId, pd.DataFrame],
    decoded: list[_Decoded],
    names: _Symbology,
    bar_length: pd.Timedelta,
) -> dict[ContractId, pd.DataFrame]:
    stamps: dict[ContractId, list[int]] = {}
    values: dict[ContractId, list[float]] = {}
    for part in decoded:
        if not part.statistics:
            continue
        recs = [r for _, r in part.statistics]
        ids = np.array([r.instrument_id for r in recs], dtype=np.int64)
        when = np.array([r.ts_event for r in recs], dtype=np.int64)
        raw_symbols = names.raw_symbols(ids, when, str(part.file), strict=False)
        for record, raw in zip(recs, raw_symbols, strict=True):
            year = pd.Timestamp(int(record.ts_event), unit="ns").year
            contract = names.contract(int(record.instrument_id), str(raw), year, None)
            if contract is None:
                continue
            for known in frames:
                if (known.year, known.month) == (contract.year, contract.month):
                    stamps.setdefault(known, []).append(int(record.ts_event) // 1000)
                    values.setdefault(known, []).append(float(record.quantity))
    merged = {}
    for contract, frame in frames.items():
        if contract not in stamps:
            merged[contract] = frame
            continue
        # A bar may know a value published before it ended (its open + its length).
        ends = frame.set_axis(pd.DatetimeIndex(frame.index) + bar_length - pd.Timedelta(1, "us"))
        with_oi = merge_open_interest(
            ends,
            np.array(stamps[contract], dtype="datetime64[us]"),
            np.array(values[contract], dtype=np.float64),
        )
        merged[contract] = with_oi.set_axis(frame.index)
    return merged
