"""Vendor formats as data sources: each test writes a few files in the vendor's own layout
(never the vendor's real files) and reads them back through the registered source."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import databento_dbn
import numpy as np
import pandas as pd
import pytest

from stratforge import RunSpec, run_backtest
from stratforge.core.plugins import Plugins
from stratforge.data.loaders import load_csv
from stratforge.data.validation import DataValidationError
from stratforge.futures.chain import ContractChain
from stratforge.futures.contracts import ContractId, ContractSpec
from stratforge.futures.vendors.databento import databento
from stratforge.futures.vendors.lean import lean
from stratforge.futures.vendors.pysystemtrade import pysystemtrade

dbn: Any = databento_dbn  # its stubs type the enum members as plain str and int
ESZ23 = ContractId("ES", 2023, 12)
ESH24 = ContractId("ES", 2024, 3)


@pytest.fixture(scope="module")
def es(plugins: Plugins) -> ContractSpec:
    return plugins.registries.contracts.get("ES")


def bars(start: str, end: str, base: float, freq: str = "B") -> pd.DataFrame:
    """Deterministic, valid OHLCV bars on quarter ticks."""
    index = pd.date_range(start, end, freq=freq, name="datetime")
    steps = np.sin(np.arange(len(index)) / 3.0) * 8 + np.arange(len(index)) * 0.5
    close = np.round((base + steps) * 4) / 4
    frame = pd.DataFrame(
        {
            "open": close - 0.5,
            "high": close + 1.0,
            "low": close - 1.0,
            "close": close,
            "volume": 1000.0 + np.arange(len(index)),
        },
        index=index,
    )
    return frame


DEC = bars("2023-09-01", "2023-12-15", 4500.0)
MAR = bars("2023-09-01", "2024-02-29", 4550.0)


def run(plugins: Plugins, data: dict[str, Any]):
    spec = RunSpec.model_validate(
        {"cash": 1_000_000.0, "strategy": {"name": "sma_cross"}, "data": data}
    )
    return run_backtest(spec, plugins=plugins)


# --------------------------------------------------------------------------------------------
# LEAN


def lean_rows(frame: pd.DataFrame, minute: bool = False) -> str:
    index = pd.DatetimeIndex(frame.index)
    if minute:
        millis = (index - index.normalize()) // pd.Timedelta(milliseconds=1)
        stamps = [str(m) for m in millis]
    else:
        stamps = list(index.strftime("%Y%m%d %H:%M"))
    lines = [
        f"{t},{r.open:g},{r.high:g},{r.low:g},{r.close:g},{r.volume:.0f}"
        for t, r in zip(stamps, frame.itertuples(), strict=True)
    ]
    return "\n".join(lines) + "\n"


def write_zip(path: Path, entries: dict[str, str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in entries.items():
            archive.writestr(name, text)
    return path


def lean_daily(root: Path, resolution: str = "daily") -> Path:
    """LEAN's market folder: daily/es_trade.zip and daily/es_openinterest.zip."""
    folder = root / "future" / "cme" / resolution
    write_zip(
        folder / "es_trade.zip",
        {"es_trade_202312.csv": lean_rows(DEC), "es_trade_202403.csv": lean_rows(MAR)},
    )
    oi = {
        "es_openinterest_202312.csv": "20231002 00:00,2000000\n20231101 00:00,2500000\n",
        "es_openinterest_202403.csv": "20231002 00:00,100000\n",
    }
    write_zip(folder / "es_openinterest.zip", oi)
    return root / "future" / "cme"


def test_lean_daily_market_folder_is_a_chain_with_open_interest(tmp_path: Path, es) -> None:
    chain = lean(path=str(lean_daily(tmp_path)), contract=es)
    assert isinstance(chain, ContractChain)
    assert chain.contracts() == [ESZ23, ESH24]
    dec = chain.frames[ESZ23]
    pd.testing.assert_frame_equal(dec.drop(columns="openinterest"), DEC, check_freq=False)
    assert dec.loc["2023-09-29", "openinterest"] == 0.0  # before the first value
    assert dec.loc["2023-10-02", "openinterest"] == 2_000_000.0
    assert dec.loc["2023-10-31", "openinterest"] == 2_000_000.0  # carried forward
    assert dec.loc["2023-11-01", "openinterest"] == 2_500_000.0
    assert chain.frames[ESH24]["openinterest"].iloc[-1] == 100_000.0


def test_lean_reads_a_zip_a_folder_and_the_flattened_names(tmp_path: Path, es) -> None:
    market = lean_daily(tmp_path, "hour")
    by_zip = lean(path=str(market / "hour" / "es_trade.zip"), contract=es)
    by_folder = lean(path=str(market / "hour"), contract=es)
    by_market = lean(path=str(market), resolution="hour", contract=es)
    flat = tmp_path / "flat"
    flat.mkdir()
    (market / "hour" / "es_trade.zip").rename(flat / "hour_es_trade.zip")
    flattened = lean(path=str(flat), resolution="hour", contract=es)
    for chain in (by_zip, by_folder, by_market, flattened):
        assert isinstance(chain, ContractChain)
        assert chain.contracts() == [ESZ23, ESH24]
        assert chain.frames[ESH24]["close"].iloc[-1] == MAR["close"].iloc[-1]


def test_lean_minute_day_zips_are_joined_with_expiries(tmp_path: Path, es) -> None:
    folder = tmp_path / "future" / "cme" / "minute" / "es"
    days = ["2023-12-13", "2023-12-14"]
    expected: dict[ContractId, list[pd.DataFrame]] = {ESZ23: [], ESH24: []}
    for day in days:
        stamp = pd.Timestamp(day).strftime("%Y%m%d")
        dec = bars(f"{day} 14:30", f"{day} 15:29", 4600.0, freq="min")
        mar = bars(f"{day} 14:30", f"{day} 15:29", 4650.0, freq="min")
        expected[ESZ23].append(dec)
        expected[ESH24].append(mar)
        write_zip(
            folder / f"{stamp}_trade.zip",
            {
                f"{stamp}_es_minute_trade_202312_20231215.csv": lean_rows(dec, minute=True),
                f"{stamp}_es_minute_trade_202403_20240315.csv": lean_rows(mar, minute=True),
            },
        )
        write_zip(
            folder / f"{stamp}_openinterest.zip",
            {f"{stamp}_es_minute_openinterest_202312_20231215.csv": "0,1500000\n"},
        )
    chain = lean(path=str(tmp_path / "future" / "cme"), resolution="minute", contract=es)
    assert isinstance(chain, ContractChain)
    assert chain.contracts() == [ESZ23, ESH24]
    dec = chain.frames[ESZ23]
    assert len(dec) == 120 and dec.index[0] == pd.Timestamp("2023-12-13 14:30")
    np.testing.assert_array_equal(dec["close"], pd.concat(expected[ESZ23])["close"])
    assert (dec["openinterest"] == 1_500_000.0).all()
    assert chain.last_trade_date(ESH24).isoformat() == "2024-03-15"


def test_lean_price_scale_divides_old_scaled_files(tmp_path: Path) -> None:
    scaled = DEC.copy()
    scaled[["open", "high", "low", "close"]] *= 10_000
    write_zip(tmp_path / "es_trade.zip", {"es_trade_202312.csv": lean_rows(scaled)})
    frame = lean(path=str(tmp_path / "es_trade.zip"), price_scale=10_000)
    assert isinstance(frame, pd.DataFrame)
    np.testing.assert_allclose(frame["close"], DEC["close"])


def test_lean_without_a_root_needs_one_contract(tmp_path: Path) -> None:
    market = lean_daily(tmp_path)
    with pytest.raises(DataValidationError, match=r"holds 2 contracts \(ESZ23, ESH24\)"):
        lean(path=str(market))
    frame = lean(path=str(market), contract_code="ESH24")
    assert isinstance(frame, pd.DataFrame)
    assert frame["close"].iloc[-1] == MAR["close"].iloc[-1]


def test_lean_bad_files_are_named(tmp_path: Path) -> None:
    good = write_zip(tmp_path / "ok" / "es_trade.zip", {"es_trade_202312.csv": lean_rows(DEC)})
    truncated = tmp_path / "cut" / "es_trade.zip"
    truncated.parent.mkdir()
    truncated.write_bytes(good.read_bytes()[:-40])
    with pytest.raises(DataValidationError, match=r"cut/es_trade\.zip: not a readable zip"):
        lean(path=str(truncated))
    rows = lean_rows(DEC).splitlines()
    rows.insert(3, rows[2])
    dup = write_zip(tmp_path / "dup" / "es_trade.zip", {"es_trade_202312.csv": "\n".join(rows)})
    with pytest.raises(
        DataValidationError, match=r"es_trade\.zip:es_trade_202312\.csv: row 4: duplicate timestamp"
    ) as raised:
        lean(path=str(dup))
    assert "\n" not in str(raised.value)
    bad = write_zip(
        tmp_path / "bad" / "es_trade.zip", {"es_trade_202312.csv": "20231002 00:00,x,1,1,1,1\n"}
    )
    with pytest.raises(
        DataValidationError, match=r"es_trade_202312\.csv: row 1: open is not a number"
    ):
        lean(path=str(bad))
    odd = write_zip(tmp_path / "odd" / "es_trade.zip", {"readme.txt": "hello"})
    with pytest.raises(DataValidationError, match=r"readme\.txt: not a LEAN futures trade entry"):
        lean(path=str(odd))


def test_lean_names_the_ticker_it_found(tmp_path: Path, plugins: Plugins) -> None:
    zipped = write_zip(tmp_path / "es_trade.zip", {"es_trade_202312.csv": lean_rows(DEC)})
    nq = plugins.registries.contracts.get("NQ")
    with pytest.raises(DataValidationError, match=r"no nq contracts \(the files hold es\)"):
        lean(path=str(zipped), contract=nq)
    chain = lean(path=str(zipped), ticker="es", contract=nq)  # ES bars under another root
    assert isinstance(chain, ContractChain)
    assert chain.contracts() == [ContractId("NQ", 2023, 12)]


def test_lean_backtest(tmp_path: Path, plugins: Plugins) -> None:
    data = {"source": "lean", "args": {"path": str(lean_daily(tmp_path))}, "root": "ES"}
    result = run(plugins, data)
    assert result.metrics.bars == len(MAR)


# --------------------------------------------------------------------------------------------
# pysystemtrade


def pst_contract(frame: pd.DataFrame) -> str:
    index = pd.DatetimeIndex(frame.index)
    lines = ["Time,Open,High,Low,Close,Volume"] + [
        f"{t},{r.open:g},{r.high:g},{r.low:g},{r.close:g},{r.volume:.0f}"
        for t, r in zip(index.strftime("%Y-%m-%dT%H:%M:%S+0000"), frame.itertuples(), strict=True)
    ]
    return "\n".join(lines) + "\n"


def pst_contracts(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "SP500_20231200.csv").write_text(pst_contract(DEC))
    (folder / "SP500_20240300.csv").write_text(pst_contract(MAR))
    (folder / "roll_calendar_SP500.csv").write_text("DATE_TIME,current_contract\n")
    return folder


def multiple_prices(path: Path) -> Path:
    """Held contract (PRICE) Dec then Mar, FORWARD the next, CARRY = FORWARD (SP500-style)."""
    rows = ["DATETIME,CARRY,CARRY_CONTRACT,PRICE,PRICE_CONTRACT,FORWARD,FORWARD_CONTRACT"]
    for t in MAR.index:
        dec = DEC["close"].get(t)
        mar = MAR["close"][t]
        stamp = f"{t:%Y-%m-%d} 23:00:00"
        if t <= pd.Timestamp("2023-12-08"):
            rows.append(f"{stamp},{mar:g},20240300,{dec:g},20231200,{mar:g},20240300")
        else:
            rows.append(f"{stamp},,20240600,{mar:g},20240300,,20240600")
    path.write_text("\n".join(rows) + "\n")
    return path


def test_pysystemtrade_contract_files_are_a_chain(tmp_path: Path, es) -> None:
    chain = pysystemtrade(path=str(pst_contracts(tmp_path / "raw")), contract=es)
    assert isinstance(chain, ContractChain)
    assert chain.contracts() == [ESZ23, ESH24]
    pd.testing.assert_frame_equal(
        chain.frames[ESZ23].drop(columns="openinterest"), DEC, check_freq=False
    )
    single = pysystemtrade(path=str(tmp_path / "raw" / "SP500_20240300.csv"))
    assert isinstance(single, pd.DataFrame) and len(single) == len(MAR)
    picked = pysystemtrade(path=str(tmp_path / "raw"), contract_code="20231200")
    assert isinstance(picked, pd.DataFrame) and len(picked) == len(DEC)


def test_pysystemtrade_multiple_prices_are_close_only_contracts(tmp_path: Path, es) -> None:
    chain = pysystemtrade(path=str(multiple_prices(tmp_path / "SP500.csv")), contract=es)
    assert isinstance(chain, ContractChain)
    assert chain.contracts() == [ESZ23, ESH24]
    dec, mar = chain.frames[ESZ23], chain.frames[ESH24]
    assert dec.index[-1] == pd.Timestamp("2023-12-08 23:00")
    assert len(mar) == len(MAR)  # FORWARD/CARRY before the roll, PRICE after
    np.testing.assert_array_equal(mar["close"], MAR["close"])
    for column in ("open", "high", "low"):
        np.testing.assert_array_equal(dec[column], dec["close"])
    assert (mar["volume"] == 0).all()


def test_pysystemtrade_bad_files_are_named(tmp_path: Path, es) -> None:
    good = multiple_prices(tmp_path / "SP500.csv").read_text().splitlines()
    dup = tmp_path / "dup.csv"
    dup.write_text("\n".join([*good[:4], good[3], *good[4:]]) + "\n")
    with pytest.raises(
        DataValidationError, match=r"dup\.csv \[ESZ23\]: row 5: duplicate timestamp"
    ):
        pysystemtrade(path=str(dup), contract=es)
    code = tmp_path / "code.csv"
    code.write_text("\n".join([*good[:3], good[3].replace("20231200", "2023-12"), *good[4:]]))
    with pytest.raises(DataValidationError, match=r"code\.csv: row 4: PRICE_CONTRACT '2023-12'"):
        pysystemtrade(path=str(code), contract=es)
    (tmp_path / "mixed").mkdir()
    (tmp_path / "mixed" / "AUD_20180300.csv").write_text(pst_contract(DEC))
    (tmp_path / "mixed" / "SP500_20231200.csv").write_text(pst_contract(DEC))
    with pytest.raises(ValueError, match=r"several instruments \(AUD, SP500\); set instrument"):
        pysystemtrade(path=str(tmp_path / "mixed"), contract=es)
    chain = pysystemtrade(path=str(tmp_path / "mixed"), instrument="SP500", contract=es)
    assert isinstance(chain, ContractChain) and chain.contracts() == [ESZ23]
    lines = pst_contract(DEC).splitlines()
    fields = lines[2].split(",")
    lines[2] = ",".join([*fields[:4], "x", fields[5]])
    bad = "\n".join(lines)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "SP500_20231200.csv").write_text(bad)
    with pytest.raises(
        DataValidationError, match=r"SP500_20231200\.csv: row 3: close is not a number"
    ):
        pysystemtrade(path=str(tmp_path / "bad"), contract=es)


def test_pysystemtrade_backtest(tmp_path: Path, plugins: Plugins) -> None:
    path = multiple_prices(tmp_path / "SP500.csv")
    result = run(plugins, {"source": "pysystemtrade", "args": {"path": str(path)}, "root": "ES"})
    assert result.metrics.bars == len(MAR)


# --------------------------------------------------------------------------------------------
# Databento DBN

NS = 1_000_000_000


def ns(stamp: Any) -> int:
    return int(pd.Timestamp(stamp).value)


def ohlcv(frame: pd.DataFrame, instrument_id: int) -> list[Any]:
    fixed = {
        c: np.round(frame[c].to_numpy() * NS).astype(np.int64)
        for c in ("open", "high", "low", "close")
    }
    volume = frame["volume"].to_numpy().astype(np.int64)
    stamps = pd.DatetimeIndex(frame.index).as_unit("ns").asi8
    return [
        dbn.OHLCVMsg(
            dbn.RType.OHLCV_1D,
            1,
            instrument_id,
            int(stamps[i]),
            *(int(fixed[c][i]) for c in ("open", "high", "low", "close")),
            int(volume[i]),
        )
        for i in range(len(frame))
    ]


def write_dbn(
    path: Path,
    records: list[Any],
    *,
    schema: Any = dbn.Schema.OHLCV_1D,
    stype_in: Any = dbn.SType.RAW_SYMBOL,
    mappings: dict[str, int] | None = None,
) -> Path:
    """A DBN file as Databento writes it: metadata (symbol mappings), then the records."""
    intervals = [
        SimpleNamespace(
            raw_symbol=raw,
            intervals=[
                SimpleNamespace(
                    start_date=pd.Timestamp("2023-01-01").date(),
                    end_date=pd.Timestamp("2025-01-01").date(),
                    symbol=str(iid),
                )
            ],
        )
        for raw, iid in (mappings or {}).items()
    ]
    metadata = dbn.Metadata(
        dataset="GLBX.MDP3",
        start=ns("2023-09-01"),
        end=ns("2024-03-01"),
        stype_in=stype_in,
        stype_out=dbn.SType.INSTRUMENT_ID,
        schema=schema,
        symbols=list(mappings or {}) or ["ES.FUT"],
        mappings=intervals,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(metadata.encode() + b"".join(bytes(r) for r in records))
    return path


def definition(instrument_id: int, raw: str, expiry: str, year: int, month: int) -> Any:
    return dbn.InstrumentDefMsg(
        1,
        instrument_id,
        ns("2023-09-01"),
        ns("2023-09-01"),
        250_000_000,
        NS,
        raw,
        "ES",
        "FUT",
        dbn.InstrumentClass.FUTURE if "-" not in raw else dbn.InstrumentClass.FUTURE_SPREAD,
        dbn.SecurityUpdateAction.ADD,
        expiration=ns(expiry),
        maturity_year=year,
        maturity_month=month,
    )


def open_interest(instrument_id: int, published: str, value: int) -> Any:
    return dbn.StatMsg(
        1,
        instrument_id,
        ns(published),
        ns(published),
        ns(published),
        dbn.UNDEF_PRICE,
        value,
        dbn.StatType.OPEN_INTEREST,
    )


def es_raw_symbol_file(path: Path) -> Path:
    records = ohlcv(DEC, 101) + ohlcv(MAR, 102)
    records.sort(key=lambda r: (r.ts_event, r.instrument_id))
    return write_dbn(path, records, mappings={"ESZ3": 101, "ESH4": 102})


def test_databento_metadata_mappings_give_the_chain(tmp_path: Path, es) -> None:
    chain = databento(path=str(es_raw_symbol_file(tmp_path / "es.ohlcv-1d.dbn")), contract=es)
    assert isinstance(chain, ContractChain)
    assert chain.contracts() == [ESZ23, ESH24]
    pd.testing.assert_frame_equal(
        chain.frames[ESH24].drop(columns="openinterest"), MAR, check_freq=False
    )


def test_databento_folder_with_definitions_statistics_and_a_spread(tmp_path: Path, es) -> None:
    folder = tmp_path / "batch"
    spread = bars("2023-11-01", "2023-11-30", 50.0)
    records = ohlcv(DEC, 7) + ohlcv(MAR, 8) + ohlcv(spread, 9)
    records.sort(key=lambda r: (r.ts_event, r.instrument_id))
    write_dbn(folder / "glbx-mdp3.ohlcv-1d.dbn", records, stype_in=dbn.SType.PARENT)
    defs = [
        definition(7, "ESZ3", "2023-12-15 14:30", 2023, 12),
        definition(8, "ESH4", "2024-03-15 13:30", 2024, 3),
        definition(9, "ESZ3-ESH4", "2023-12-15 14:30", 2023, 12),
    ]
    write_dbn(folder / "glbx-mdp3.definition.dbn", defs, schema=dbn.Schema.DEFINITION)
    stats = [
        open_interest(7, "2023-10-03 12:00", 2_000_000),
        open_interest(8, "2023-10-03 12:00", 9),
    ]
    write_dbn(folder / "glbx-mdp3.statistics.dbn", stats, schema=dbn.Schema.STATISTICS)
    chain = databento(path=str(folder), contract=es)
    assert isinstance(chain, ContractChain)
    assert chain.contracts() == [ESZ23, ESH24]
    dec = chain.frames[ESZ23]
    # Published 2023-10-03 12:00: known at the end of that day's bar, not before.
    assert dec.loc["2023-10-02", "openinterest"] == 0.0
    assert dec.loc["2023-10-03", "openinterest"] == 2_000_000.0
    assert dec["openinterest"].iloc[-1] == 2_000_000.0
    assert chain.last_trade_date(ESZ23).isoformat() == "2023-12-15"
    with pytest.raises(DataValidationError, match=r"holds 2 contracts \(ESZ23, ESH24\)"):
        databento(path=str(folder))
    frame = databento(path=str(folder), contract_code="ESZ23")
    assert isinstance(frame, pd.DataFrame) and len(frame) == len(DEC)


def test_databento_bad_files_are_named(tmp_path: Path, es) -> None:
    good = es_raw_symbol_file(tmp_path / "good.dbn")
    cut = tmp_path / "cut.dbn"
    cut.write_bytes(good.read_bytes()[:-20])
    with pytest.raises(DataValidationError, match=r"cut\.dbn: truncated: 36 bytes"):
        databento(path=str(cut), contract=es)
    junk = tmp_path / "junk.dbn"
    junk.write_bytes(b"not a dbn file" * 10)
    with pytest.raises(DataValidationError, match=r"junk\.dbn: not a readable DBN file"):
        databento(path=str(junk), contract=es)
    with pytest.raises(DataValidationError, match=r"good\.dbn: schema ohlcv-1d, not ohlcv-1h"):
        databento(path=str(good), schema="ohlcv-1h", contract=es)
    trades = write_dbn(tmp_path / "trades.dbn", [], schema=dbn.Schema.TRADES, mappings={"ESZ3": 1})
    with pytest.raises(DataValidationError, match=r"trades\.dbn: schema trades holds no bars"):
        databento(path=str(trades), contract=es)
    records = ohlcv(DEC, 101)
    dup = write_dbn(
        tmp_path / "dup.dbn", [*records[:3], records[2], *records[3:]], mappings={"ESZ3": 101}
    )
    with pytest.raises(
        DataValidationError, match=r"dup\.dbn \[ESZ23\]: row 4: duplicate timestamp"
    ):
        databento(path=str(dup), contract=es)
    unmapped = write_dbn(tmp_path / "unmapped.dbn", ohlcv(DEC, 555), stype_in=dbn.SType.PARENT)
    with pytest.raises(
        DataValidationError, match=r"unmapped\.dbn: instrument_id 555 has no symbol"
    ):
        databento(path=str(unmapped), contract=es)
    chain = databento(path=str(unmapped), symbols={"555": "ESZ3"}, contract=es)
    assert isinstance(chain, ContractChain) and chain.contracts() == [ESZ23]


def test_databento_backtest(tmp_path: Path, plugins: Plugins) -> None:
    path = es_raw_symbol_file(tmp_path / "es.dbn")
    result = run(plugins, {"source": "databento", "args": {"path": str(path)}, "root": "ES"})
    assert result.metrics.bars == len(MAR)


# --------------------------------------------------------------------------------------------
# Generic CSV: column mapping and the header switch

POSITIONS = {"0": "datetime", "1": "open", "2": "high", "3": "low", "4": "close", "5": "volume"}
POSITIONS_FLAG = ",".join(f"{k}={v}" for k, v in POSITIONS.items())


def headerless(path: Path, frame: pd.DataFrame) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(lean_rows(frame))  # LEAN's daily rows: a plain headerless OHLCV CSV
    return path


def test_load_csv_without_a_header(tmp_path: Path) -> None:
    path = headerless(tmp_path / "es.csv", DEC)
    by_position = load_csv(path, header=False, columns=POSITIONS)
    pd.testing.assert_frame_equal(by_position.drop(columns="openinterest"), DEC, check_freq=False)
    by_name = load_csv(path, header=False, names=list(POSITIONS.values()))
    pd.testing.assert_frame_equal(by_name, by_position)
    renamed = tmp_path / "renamed.csv"
    renamed.write_text("a,b,c,d,e,f\n" + lean_rows(DEC))
    over_header = load_csv(renamed, names=list(POSITIONS.values()))
    pd.testing.assert_frame_equal(over_header, by_position)
    lines = path.read_text().splitlines()
    lines[4] = lines[3]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataValidationError, match=r"es\.csv: row 5: duplicate timestamp"):
        load_csv(path, header=False, columns=POSITIONS)  # rows count from line 1
    with pytest.raises(DataValidationError, match=r"names gives 5 column names but the file has 6"):
        load_csv(path, header=False, names=["datetime", "open", "high", "low", "close"])
    with pytest.raises(DataValidationError, match=r"missing column\(s\)"):
        load_csv(path, header=False)  # positions need a mapping


def test_csv_and_contracts_dir_sources_read_headerless_files(tmp_path: Path, plugins) -> None:
    path = headerless(tmp_path / "one.csv", MAR)
    args = {"path": str(path), "header": False, "columns": POSITIONS}
    result = run(plugins, {"source": "csv", "args": args})
    assert result.metrics.bars == len(MAR)
    folder = tmp_path / "contracts"
    headerless(folder / "es_202312.csv", DEC)
    headerless(folder / "es_202403.csv", MAR)
    args = {"path": str(folder), "header": "false", "columns": POSITIONS}
    result = run(plugins, {"source": "contracts_dir", "args": args, "root": "ES"})
    assert result.metrics.bars == len(MAR)


def test_cli_flags_reach_the_loaders(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from stratforge.cli import app

    runner = CliRunner()
    path = headerless(tmp_path / "one.csv", MAR)
    flags = ["--no-header", "--columns", POSITIONS_FLAG]
    checked = runner.invoke(app, ["data", "validate", str(path), *flags])
    assert checked.exit_code == 0, checked.output
    assert f"{len(MAR)} valid bars" in checked.output
    ran = runner.invoke(app, ["run", "--csv", str(path), *flags, "--json"])
    assert ran.exit_code == 0, ran.output
    assert f'"bars":{len(MAR)}' in ran.output
    folder = tmp_path / "contracts"
    headerless(folder / "es_202312.csv", DEC)
    headerless(folder / "es_202403.csv", MAR)
    built = runner.invoke(app, ["futures", "build", "ES", "--contracts", str(folder), *flags])
    assert built.exit_code == 0, built.output
    assert "2 contracts" in built.output
    bad = runner.invoke(app, ["data", "validate", str(path), "--columns", "0"])
    assert bad.exit_code == 2 and "--columns" in bad.output


def test_databento_reads_zstd_files(tmp_path: Path, es) -> None:
    plain = es_raw_symbol_file(tmp_path / "plain" / "es.dbn").read_bytes()
    buffer = io.BytesIO()
    transcoder = dbn.Transcoder(buffer, dbn.Encoding.DBN, dbn.Compression.ZSTD)
    transcoder.write(plain)
    transcoder.flush()
    packed = tmp_path / "es.ohlcv-1d.dbn.zst"
    packed.write_bytes(buffer.getvalue())
    chain = databento(path=str(packed), contract=es)
    assert isinstance(chain, ContractChain) and chain.contracts() == [ESZ23, ESH24]
    cut = tmp_path / "cut.dbn.zst"
    cut.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(DataValidationError, match=r"cut\.dbn\.zst: truncated or damaged zstd"):
        databento(path=str(cut), contract=es)
