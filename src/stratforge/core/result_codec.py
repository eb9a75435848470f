"""A RunResult's stored form: one zip of a JSON head and Parquet tables.

The head (``result.json``, beside a small ``manifest.json`` naming the format and the
indicators' lines) holds everything but the per-bar series and the trade and order records:
spec, metrics, rolls, analyzers, provenance, and each price series' and indicator's name and
options. Trades and orders are Parquet tables of their own (``trades.parquet``,
``orders.parquet``, a row per record). The series go in Parquet tables, one per clock:
``equity.parquet`` (the run's steps), ``prices/<i>.parquet`` (a feed's bars) and
``indicators/<i>.parquet`` (an indicator's lines on its data's bars). Floats are stored as
float64 with byte-stream-split encoding and times as int64 milliseconds with delta encoding,
both zstd-compressed, so a million bars take a few megabytes where JSON took hundreds, and
reading them back makes arrays, not Python objects.

The zip is written with fixed member times and Parquet without wall-clock metadata, so equal
results give equal bytes (the blob store names a blob by its hash).
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel

from stratforge.core.columns import FloatColumn, TimeColumn
from stratforge.core.results import RunResult

FORMAT = "stratforge-result/2"
HEAD = "result.json"
MANIFEST = "manifest.json"
_TIME = "t"
_ZIP_TIME = (2000, 1, 1, 0, 0, 0)
_PRICE_FIELDS = ("open", "high", "low", "close", "volume", "raw_close")
_RECORD_PARTS = ("trades", "orders")
_ROW_GROUP = 262_144
"""Rows per Parquet row group: the writer holds one group's encoded pages at a time, so a
multi-million-bar result is written in bounded memory."""


def is_encoded(data: bytes) -> bool:
    """Whether *data* is this format (a zip) rather than a JSON document."""
    return data[:4] == b"PK\x03\x04"


def encode_result(result: RunResult) -> bytes:
    """The compact stored form of *result*."""
    # pydantic writes the head's JSON bytes itself: no dict of tens of thousands of order
    # records on the way. What the reader needs besides goes in a small manifest.
    head = result.model_dump_json(
        exclude={
            "equity": True,
            "prices": {"__all__": {"datetime", *_PRICE_FIELDS}},
            "indicators": {"__all__": {"lines"}},
            "trades": True,
            "orders": True,
        },
    ).encode()
    manifest = {
        "format": FORMAT,
        "line_names": [list(indicator.lines) for indicator in result.indicators],
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        _member(archive, MANIFEST, json.dumps(manifest, separators=(",", ":")).encode())
        _member(archive, HEAD, head)
        for part in _RECORD_PARTS:
            _records_table(archive, part, getattr(result, part))
        equity = result.equity
        _table(
            archive,
            "equity.parquet",
            equity.datetime,
            {"value": equity.value, "cash": equity.cash, "position": equity.position},
        )
        for position, prices in enumerate(result.prices):
            columns = {
                name: getattr(prices, name)
                for name in _PRICE_FIELDS
                if getattr(prices, name) is not None
            }
            _table(archive, f"prices/{position}.parquet", prices.datetime, columns)
        for position, indicator in enumerate(result.indicators):
            lines = {f"line{i}": column for i, column in enumerate(indicator.lines.values())}
            _table(archive, f"indicators/{position}.parquet", None, lines)
    return buffer.getvalue()


def decode_document(data: bytes) -> dict[str, Any]:
    """The result as a plain document (the shape of its JSON) whose per-bar series are
    columns: no validation, so reading a stored run costs its Parquet decode alone."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        manifest = json.loads(archive.read(MANIFEST))
        if manifest.get("format") != FORMAT:
            raise ValueError("not a stratforge result blob")
        head: dict[str, Any] = json.loads(archive.read(HEAD))
        names = set(archive.namelist())
        for part in _RECORD_PARTS:
            member = f"{part}.parquet"
            if member in names:
                head[part] = pq.read_table(pa.BufferReader(archive.read(member))).to_pylist()
            else:  # none (or a blob that kept them in its head)
                head.setdefault(part, [])
        equity = _read(archive, "equity.parquet")
        head["equity"] = {
            "datetime": TimeColumn(equity[_TIME]),
            **{name: FloatColumn(equity[name]) for name in ("value", "cash", "position")},
        }
        for position, prices in enumerate(head["prices"]):
            table = _read(archive, f"prices/{position}.parquet")
            prices["datetime"] = TimeColumn(table[_TIME])
            for name in _PRICE_FIELDS:
                prices[name] = FloatColumn(table[name]) if name in table else None
        names = manifest["line_names"]
        for position, indicator in enumerate(head["indicators"]):
            table = _read(archive, f"indicators/{position}.parquet")
            indicator["lines"] = {
                name: FloatColumn(table[f"line{i}"]) for i, name in enumerate(names[position])
            }
    return head


def decode_result(data: bytes) -> RunResult:
    """The RunResult stored as *data* by ``encode_result``."""
    return RunResult.model_validate(decode_document(data))


def _records_table(archive: zipfile.ZipFile, part: str, records: list[BaseModel]) -> None:
    """Trades or orders as a Parquet table, a column at a time: a run's tens of thousands of
    records never pass through one big JSON text (a 3.5M-bar run's 135,000 orders would add
    150 MiB to the peak)."""
    if not records:
        return  # read back as an empty list
    fields = list(type(records[0]).model_fields)
    columns = {name: pa.array([getattr(r, name) for r in records]) for name in fields}
    with archive.open(_info(f"{part}.parquet"), mode="w") as sink:
        pq.write_table(pa.table(columns), sink, compression="zstd", write_statistics=False)


def _info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    info.compress_type = zipfile.ZIP_STORED  # Parquet pages are compressed already
    return info


def _member(archive: zipfile.ZipFile, name: str, payload: bytes) -> None:
    archive.writestr(_info(name), payload)


def _table(
    archive: zipfile.ZipFile,
    member: str,
    times: TimeColumn | None,
    columns: dict[str, FloatColumn],
) -> None:
    """One Parquet member, written straight into the archive (no copy of its bytes)."""
    arrays: dict[str, pa.Array] = {}
    encodings: dict[str, str] = {}
    if times is not None:
        arrays[_TIME] = pa.array(times.millis, type=pa.int64())
        encodings[_TIME] = "DELTA_BINARY_PACKED"
    for field, column in columns.items():
        arrays[field] = pa.array(column.values, type=pa.float64(), from_pandas=False)
        encodings[field] = "BYTE_STREAM_SPLIT"
    with archive.open(_info(member), mode="w") as sink:
        pq.write_table(
            pa.table(arrays),
            sink,
            compression="zstd",
            row_group_size=_ROW_GROUP,
            use_dictionary=False,
            column_encoding=encodings,
            write_statistics=False,
            store_schema=False,
        )


def _read(archive: zipfile.ZipFile, name: str) -> dict[str, np.ndarray]:
    table = pq.read_table(pa.BufferReader(archive.read(name)))
    return {
        field: table.column(field).to_numpy()
        for field in table.column_names  # float64 and int64 without nulls: no copies
    }
