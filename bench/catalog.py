"""The market-data catalog: import time and read time of 10 years of one-minute bars of one
root (about 3.5 million bars), against reading the same files with pandas.

Writes 40 quarterly ES contracts as per-contract CSV files (each its front quarter of
one-minute bars, 23 h a day; a seeded random walk made here, so nothing is downloaded),
then times, best of ``--repeat``:
  1. ``pandas.read_csv`` of every file with ``parse_dates`` (the baseline a user writes)
  2. the ``contracts_dir`` source: the same files through stratforge's validating loader
  3. ``stratforge data import`` (``jobs.markets.import_market``): read, validate and store
     each contract as Parquet with its index rows (first run into an empty catalog)
  4. a re-import of the same files (every contract unchanged: read and hash only)
  5. the catalog read a backtest does (``MarketCatalog.chain``)
Ratios are against (1) in the same run.

    .venv/bin/python bench/catalog.py                  # 10 years, 1,380 bars a day
    .venv/bin/python bench/catalog.py --years 2 --repeat 1
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stratforge.core.plugins import Plugins
from stratforge.core.settings import Settings
from stratforge.futures.catalog import MarketCatalog
from stratforge.futures.contracts import ContractId
from stratforge.jobs.markets import import_market
from stratforge.store.db import make_engine, migrate, session

MONTHS = (3, 6, 9, 12)
LETTERS = {3: "H", 6: "M", 9: "U", 12: "Z"}


def write_contracts(folder: Path, years: int, per_day: int, seed: int = 7) -> int:
    """One CSV per quarterly contract, each holding its front quarter; returns the bars."""
    rng = np.random.default_rng(seed)
    price, total = 2000.0, 0
    start_year = 2014
    for year in range(start_year, start_year + years):
        for month in MONTHS:
            first = pd.Timestamp(year, month, 1) - pd.DateOffset(months=3)
            days = pd.bdate_range(first, pd.Timestamp(year, month, 1) - pd.Timedelta(days=1))
            minutes = pd.to_timedelta(np.arange(per_day), unit="min")
            index = (days.values[:, None] + minutes.values[None, :]).ravel()
            steps = rng.normal(0.0, 0.0004, size=index.size)
            close = price * np.exp(np.cumsum(steps))
            open_ = np.concatenate([[price], close[:-1]])
            spread = np.abs(rng.normal(0.0, 0.0002, size=index.size)) * close
            frame = pd.DataFrame(
                {
                    "datetime": pd.DatetimeIndex(index),
                    "open": open_.round(2),
                    "high": (np.maximum(open_, close) + spread).round(2),
                    "low": (np.minimum(open_, close) - spread).round(2),
                    "close": close.round(2),
                    "volume": rng.integers(1, 500, size=index.size),
                }
            )
            frame["high"] = frame[["open", "high", "close"]].max(axis=1)
            frame["low"] = frame[["open", "low", "close"]].min(axis=1)
            frame.to_csv(folder / f"ES{LETTERS[month]}{year % 100:02d}.csv", index=False)
            price, total = float(close[-1]), total + index.size
    return total


def best_of(repeat: int, run: Callable[[], Any], before: Callable[[], None] | None = None) -> float:
    times = []
    for _ in range(repeat):
        if before is not None:
            before()
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--minutes-per-day", type=int, default=1380)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sfcat-") as temp:
        folder = Path(temp) / "es"
        folder.mkdir()
        bars = write_contracts(folder, options.years, options.minutes_per_day)
        files = sorted(folder.glob("*.csv"))
        size = sum(f.stat().st_size for f in files) / 2**20
        print(f"{len(files)} contracts, {bars:,} one-minute bars, {size:,.0f} MiB of CSV")
        settings = Settings(data_dir=Path(temp) / "data", project=False)
        plugins = Plugins.load(settings)
        engine = make_engine(settings)
        migrate(engine)

        def pandas_read() -> None:
            for file in files:
                pd.read_csv(file, parse_dates=["datetime"], index_col="datetime")

        def source_read() -> None:
            plugins.registries.data_sources.get("contracts_dir")(
                path=str(folder), contract=plugins.registries.contracts.get("ES")
            )

        def fresh_catalog() -> None:
            with session(engine) as s:
                from stratforge.store.tables import SQLModel

                for table in reversed(SQLModel.metadata.sorted_tables):
                    if table.name == "market_contracts":
                        s.exec(table.delete())  # type: ignore[call-overload]
                s.commit()
            for path in (settings.data_dir / "markets").rglob("*.parquet"):
                path.unlink()

        def do_import() -> None:
            with session(engine) as s:
                import_market(s, plugins=plugins, source="contracts_dir", root="ES", paths=[folder])

        spec = plugins.registries.contracts.get("ES")
        catalog = MarketCatalog(settings.data_dir)
        baseline = best_of(options.repeat, pandas_read)
        ours = best_of(options.repeat, source_read)
        imported = best_of(options.repeat, do_import, before=fresh_catalog)
        again = best_of(options.repeat, do_import)
        read = best_of(options.repeat, lambda: catalog.chain(spec))
        stored = sum(p.stat().st_size for p in catalog.directory.rglob("*.parquet")) / 2**20
        contracts = len(catalog.contracts("ES"))
        assert contracts == len(files), (contracts, len(files))
        assert isinstance(catalog.contracts("ES")[0], ContractId)
        rows = [
            ("pandas read_csv (baseline)", baseline),
            ("contracts_dir source (validating CSV loader)", ours),
            ("data import (read, validate, store)", imported),
            ("re-import, all unchanged", again),
            ("catalog read (what a backtest does)", read),
        ]
        for name, seconds in rows:
            print(f"{name:48s} {seconds:8.2f} s   {seconds / baseline:6.2f}x baseline")
        print(f"catalog on disk: {stored:,.0f} MiB of Parquet ({stored / size:.2f}x the CSV)")
        print(f"catalog read: {bars / read / 1e6:,.1f} million bars/s")


if __name__ == "__main__":
    main()
