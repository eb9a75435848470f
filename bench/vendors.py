"""Hand check of the vendor-format sources against the real vendor files (not a test).

Reads ``../shared/oracle`` next to the repository when it is there (the test suite never
needs it) and prints, per source, the contracts and bar counts it loaded and a price check:

- ``lean``: the daily and hourly QuantConnect ES zips, every bar against the raw CSV line in
  the zip (read here with the standard library only), and the open interest of the last bar;
- ``pysystemtrade``: the AUD per-contract files against their CSVs, and the SP500 multiple
  prices: each row's PRICE against the PRICE_CONTRACT's close in the chain;
- ``databento``: the LEAN daily bars written as a DBN file with ``databento-dbn`` and read
  back (no Databento data is in the oracle), prices equal to the fixed-point 1e-9.

    .venv/bin/python bench/vendors.py
"""

from __future__ import annotations

import csv
import io
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import databento_dbn
import numpy as np
import pandas as pd

from stratforge.futures.chain import ContractChain
from stratforge.futures.contracts import ContractId
from stratforge.futures.specs import BUILTIN_SPECS
from stratforge.futures.vendors import databento, lean, pysystemtrade

ORACLE = Path(__file__).resolve().parents[2] / "shared" / "oracle"
ES = next(spec for spec in BUILTIN_SPECS if spec.root == "ES")
dbn: Any = databento_dbn


def timed(label: str, load: Any) -> Any:
    started = time.perf_counter()
    value = load()
    print(f"  {label}: loaded in {time.perf_counter() - started:.2f} s")
    return value


def summary(chain: ContractChain) -> None:
    for contract in chain.contracts():
        frame = chain.frames[contract]
        print(
            f"    {contract}: {len(frame):>6,} bars {frame.index[0]} .. {frame.index[-1]}"
            f"  last close {frame['close'].iloc[-1]:g}  last OI {frame['openinterest'].iloc[-1]:g}"
        )


def check(label: str, ok: bool) -> bool:
    print(f"  {'OK  ' if ok else 'FAIL'} {label}")
    return ok


def lean_raw(zip_path: Path) -> dict[str, list[list[str]]]:
    with zipfile.ZipFile(zip_path) as archive:
        return {
            name: list(csv.reader(io.TextIOWrapper(archive.open(name), encoding="utf-8")))
            for name in archive.namelist()
        }


def part_lean() -> bool:
    folder = ORACLE / "lean_es"
    good = True
    for resolution in ("daily", "hour"):
        print(f"lean {resolution} ({folder})")
        chain = timed(
            "chain", lambda r=resolution: lean(path=str(folder), resolution=r, contract=ES)
        )
        summary(chain)
        raw = lean_raw(folder / f"{resolution}_es_trade.zip")
        matched = 0
        for name, rows in raw.items():
            year, month = int(name[-10:-6]), int(name[-6:-4])
            frame = chain.frames[ContractId("ES", year, month)]
            stamps = pd.to_datetime([r[0] for r in rows], format="%Y%m%d %H:%M")
            closes = np.array([float(r[4]) for r in rows])
            matched += int(np.array_equal(frame["close"].to_numpy(), closes)) * len(rows)
            good &= check(
                f"{name}: {len(rows)} bars, closes and stamps as in the zip",
                frame.index.equals(pd.DatetimeIndex(stamps, name="datetime"))
                and np.array_equal(frame["close"].to_numpy(), closes),
            )
        oi = lean_raw(folder / f"{resolution}_es_openinterest.zip")["es_openinterest_201312.csv"]
        last = chain.frames[ContractId("ES", 2013, 12)]
        expected = [float(v) for t, v in oi if pd.Timestamp(t[:8] + " " + t[9:]) <= last.index[-1]]
        good &= check(
            f"ESZ13 last open interest {last['openinterest'].iloc[-1]:g} = "
            f"last value at or before its last bar {expected[-1]:g}",
            last["openinterest"].iloc[-1] == expected[-1],
        )
    return good


def part_pysystemtrade() -> bool:
    folder = ORACLE / "pysystemtrade"
    print(f"pysystemtrade contracts ({folder / 'raw_contracts_AUD'})")
    six_a = type(ES)(**{**ES.__dict__, "root": "AUD", "name": "AUD/USD"})
    chain = timed(
        "chain", lambda: pysystemtrade(path=str(folder / "raw_contracts_AUD"), contract=six_a)
    )
    summary(chain)
    good = True
    for file in sorted((folder / "raw_contracts_AUD").glob("AUD_*00.csv")):
        raw = pd.read_csv(file)
        contract = ContractId("AUD", int(file.stem[4:8]), int(file.stem[8:10]))
        good &= check(
            f"{file.name}: {len(raw)} rows, closes as in the file",
            np.array_equal(chain.frames[contract]["close"].to_numpy(), raw["Close"].to_numpy()),
        )
    path = folder / "multiple_prices" / "SP500.csv"
    print(f"pysystemtrade multiple prices ({path})")
    chain = timed("chain", lambda: pysystemtrade(path=str(path), contract=ES))
    print(
        f"    {len(chain.contracts())} contracts, {chain.contracts()[0]} .. {chain.contracts()[-1]}"
    )
    raw = pd.read_csv(path, dtype={"PRICE_CONTRACT": str})
    raw = raw[raw["PRICE"].notna()]
    stamps = pd.to_datetime(raw["DATETIME"])
    mismatches = 0
    for code, rows in raw.groupby("PRICE_CONTRACT"):
        frame = chain.frames[ContractId("ES", int(code[:4]), int(code[4:6]))]
        got = frame["close"].reindex(pd.DatetimeIndex(stamps[rows.index]))
        mismatches += int((got.to_numpy() != rows["PRICE"].to_numpy()).sum())
    good &= check(
        f"{len(raw):,} PRICE values equal their contract's close ({mismatches} differ)",
        mismatches == 0,
    )
    return good


def part_databento() -> bool:
    print("databento (LEAN daily ES bars written as DBN with databento-dbn)")
    chain = lean(path=str(ORACLE / "lean_es"), resolution="daily", contract=ES)
    ids = {contract: 1000 + i for i, contract in enumerate(chain.contracts())}
    records = []
    for contract, iid in ids.items():
        frame = chain.frames[contract]
        for stamp, row in zip(
            pd.DatetimeIndex(frame.index).as_unit("ns").asi8, frame.itertuples(), strict=True
        ):
            prices = [round(float(getattr(row, c)) * 1e9) for c in ("open", "high", "low", "close")]
            records.append(
                dbn.OHLCVMsg(dbn.RType.OHLCV_1D, 1, iid, int(stamp), *prices, int(row.volume))
            )
    records.sort(key=lambda r: (r.ts_event, r.instrument_id))
    metadata = dbn.Metadata(
        dataset="GLBX.MDP3",
        start=int(records[0].ts_event),
        stype_in=dbn.SType.RAW_SYMBOL,
        stype_out=dbn.SType.INSTRUMENT_ID,
        schema=dbn.Schema.OHLCV_1D,
        symbols=[c.format("short") for c in ids],
        end=int(records[-1].ts_event) + 1,
        mappings=[],
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "es.ohlcv-1d.dbn"
        path.write_bytes(metadata.encode() + b"".join(bytes(r) for r in records))
        symbols = {str(iid): contract.format("short") for contract, iid in ids.items()}
        back = timed("chain", lambda: databento(path=str(path), symbols=symbols, contract=ES))
    summary(back)
    good = True
    for contract in chain.contracts():
        a, b = chain.frames[contract], back.frames[contract]
        good &= check(
            f"{contract}: {len(b)} bars, prices equal after the 1e-9 round trip",
            a.index.equals(b.index) and np.allclose(a["close"], b["close"], atol=1e-9, rtol=0),
        )
    return good


def main() -> int:
    if not ORACLE.is_dir():
        print(f"no oracle data at {ORACLE}; nothing to check")
        return 0
    results = [part_lean(), part_pysystemtrade(), part_databento()]
    print("all checks passed" if all(results) else "SOME CHECKS FAILED")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
