"""The built-in sources that can build futures chains: ``synthetic`` (a seeded market, or a
chain of contract months when the data spec names a root) and ``contracts_dir`` (a folder of
per-contract files). A parameter typed ``ContractSpec`` receives the root from the engine.
"""

from __future__ import annotations

from typing import Annotated, Literal

import pandas as pd
from annotated_types import Ge, Gt, Le

from stratforge.data.synthetic import generate_synthetic
from stratforge.futures.calendar import add_business_days, rule_calendar
from stratforge.futures.chain import ContractChain
from stratforge.futures.contracts import ContractSpec
from stratforge.futures.importer import load_contract_dir
from stratforge.futures.synthetic import MINUTE_BARS_PER_DAY, generate_chain
from stratforge.plugin import hookimpl
from stratforge.plugin.params import FilePath
from stratforge.plugin.registry import Register

MAX_SYNTHETIC_BARS = 5_000_000

__all__ = ["contracts_dir", "register_data_sources", "synthetic"]


def synthetic(
    *,
    bars: Annotated[int, Ge(2), Le(MAX_SYNTHETIC_BARS)] = 2500,
    timeframe: Literal["days", "minutes"] = "days",
    compression: Annotated[int, Ge(1), Le(1440)] = 1,
    start: str = "2015-01-02",
    seed: Annotated[int, Ge(0)] = 0,
    price: Annotated[float, Gt(0)] | None = None,
    drift: Annotated[float, Ge(-10), Le(10)] = 0.05,
    volatility: Annotated[float, Ge(0), Le(10)] = 0.20,
    regime_length: Annotated[int, Ge(0)] = 0,
    regime_volatility_ratio: Annotated[float, Gt(0), Le(100)] = 2.0,
    volume: Annotated[float, Gt(0)] = 1_000_000.0,
    carry: Annotated[float, Ge(-10), Le(10)] = 0.03,
    roll_window: Annotated[int, Ge(1), Le(250)] = 10,
    contract: ContractSpec | None = None,
) -> pd.DataFrame | ContractChain:
    """Synthetic market: a seeded geometric random walk, reproducible bit for bit.

    With a futures ``root`` in the data spec it returns a contract chain instead: contracts on
    the root's calendar with a term structure and volume/open interest migrating to the next
    contract before each expiry, spanning ``bars`` business days from ``start``.

    Args:
        bars: Number of bars to generate (at least 2).
        timeframe: "days" (business days) or "minutes" (24/5 grid from midnight).
        compression: Bar size in units of the timeframe, e.g. 5 for 5-minute bars.
        start: First date (or date and time for minute bars), e.g. "2015-01-02".
        seed: Random seed; the same arguments always give the same data.
        price: Starting price (> 0); default 100, or a typical level for a futures root.
        drift: Annualised drift of the log price, e.g. 0.05 for +5% a year.
        volatility: Annualised volatility, e.g. 0.2 for 20%.
        regime_length: Mean bars per calm/volatile regime; 0 disables regimes.
        regime_volatility_ratio: Volatility multiplier of the volatile regimes.
        volume: Mean volume per bar.
        carry: Futures: annualised carry; > 0 contango (deferred dearer), < 0 backwardation.
        roll_window: Futures: business days before expiry over which volume and open
            interest migrate to the next contract.
    """
    if bars > MAX_SYNTHETIC_BARS:
        raise ValueError(f"bars must be at most {MAX_SYNTHETIC_BARS:,}, got {bars:,}")
    if contract is not None:
        return _synthetic_chain(
            contract, bars, timeframe, start, seed, price, volatility, carry, roll_window, volume
        )
    return generate_synthetic(
        bars=bars,
        timeframe=timeframe,
        compression=compression,
        start=start,
        seed=seed,
        price=100.0 if price is None else price,
        drift=drift,
        volatility=volatility,
        regime_length=regime_length,
        regime_volatility_ratio=regime_volatility_ratio,
        volume=volume,
    )


def _synthetic_chain(
    contract: ContractSpec,
    bars: int,
    timeframe: Literal["days", "minutes"],
    start: str,
    seed: int,
    price: float | None,
    volatility: float,
    carry: float,
    roll_window: int,
    volume: float,
) -> ContractChain:
    per_day = MINUTE_BARS_PER_DAY if timeframe == "minutes" else 1
    days = max(2, -(-bars // per_day))
    end = add_business_days(start, days - 1, calendar=rule_calendar(contract.expiry_rule).name)
    frames = generate_chain(
        contract,
        start=start,
        end=str(end),
        timeframe=timeframe,
        seed=seed,
        price=price,
        volatility=volatility,
        carry=carry,
        roll_window=roll_window,
        volume=volume,
    )
    return ContractChain(contract, frames)


def contracts_dir(
    *,
    path: FilePath,
    pattern: str = "*",
    contract_column: str | None = None,
    datetime_column: str = "datetime",
    columns: dict[str, str] | None = None,
    date_format: str | None = None,
    tz: str | None = None,
    on_bad_rows: Literal["error", "drop"] = "error",
    header: bool = True,
    names: list[str] | None = None,
    contract: ContractSpec | None = None,
) -> ContractChain:
    """A directory of per-contract CSV/Parquet files of one futures root (set the data root).

    Args:
        path: Directory holding one file per contract (or files with a contract column).
        pattern: Glob of the files to read, e.g. "es_*.csv".
        contract_column: Column naming each row's contract (e.g. ESZ23); without it the
            contract comes from the file name (ESZ23.csv, "ES 2023-12.csv", es_202312.csv).
        datetime_column: Name of the timestamp column.
        columns: Map of file column names to canonical ones.
        date_format: strptime format of the timestamps; guessed when omitted.
        tz: Time zone that tz-aware timestamps are converted to before being made naive.
        on_bad_rows: "error" to stop at bad rows, "drop" to skip them with a warning.
        header: CSV: false for files without a header line (columns named by names, or by
            position for columns to map, e.g. {"0": "datetime", "1": "open"}).
        names: CSV: column names to use instead of the header's, or for headerless files.
    """
    if contract is None:
        raise ValueError("contracts_dir loads futures: set the data spec's root (e.g. ES)")
    layout: dict[str, object] = (
        {} if header and names is None else {"header": header, "names": names}
    )
    return load_contract_dir(
        path,
        contract,
        pattern=pattern,
        contract_column=contract_column,
        on_bad_rows=on_bad_rows,
        datetime_column=datetime_column,
        columns=columns,
        date_format=date_format,
        tz=tz,
        **layout,
    )


@hookimpl
def register_data_sources(register: Register) -> None:
    """Register the built-in futures-capable sources exactly like a third-party plugin would."""
    register(synthetic, name="synthetic")
    register(contracts_dir, name="contracts_dir")
