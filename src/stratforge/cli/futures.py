"""``stratforge futures build``: roll a chain of contract months into one continuous series,
and write it with the real contract and raw prices behind every bar (so the adjustment can
be checked, not trusted)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from stratforge.cli.common import load_plugins, out, user_errors
from stratforge.cli.options import ColumnsOption, NoHeaderOption, chain_spec
from stratforge.core.errors import SpecError

if TYPE_CHECKING:
    import pandas as pd

    from stratforge.futures import ContinuousSeries


# Over 60 lines only by its signature: one typer option per flag; the chain spec is built in
# cli/options.py and the body stays short.
def build(
    root: Annotated[str, typer.Argument(help="Futures root, e.g. ES.")],
    contracts_dir: Annotated[
        Path | None,
        typer.Option("--contracts", help="Directory of per-contract CSV/Parquet files."),
    ] = None,
    synthetic_bars: Annotated[
        int | None,
        typer.Option(
            "--synthetic", min=2, help="Instead of files: a synthetic chain of N business days."
        ),
    ] = None,
    pattern: Annotated[str, typer.Option(help="Glob of the contract files.")] = "*",
    contract_column: Annotated[
        str | None, typer.Option(help="Column naming each row's contract.")
    ] = None,
    no_header: NoHeaderOption = False,
    columns: ColumnsOption = None,
    roll: Annotated[str, typer.Option(help="Roll rule.")] = "days_before_expiry",
    roll_param: Annotated[
        list[str] | None, typer.Option("--roll-param", help="Roll rule parameter name=value.")
    ] = None,
    adjust: Annotated[
        str, typer.Option(help="none, difference, ratio or forward_difference.")
    ] = "difference",
    fill_missing: Annotated[
        bool,
        typer.Option("--fill-missing", help="Use the last earlier close for a missing gap price."),
    ] = False,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write the series (.csv or .parquet).")
    ] = None,
    rolls_out: Annotated[
        Path | None, typer.Option("--rolls-out", help="Write the roll table (.csv).")
    ] = None,
) -> None:
    """Build a continuous series from contract months: roll, adjust, write."""
    from stratforge.core.load import continuous_series
    from stratforge.core.resolve import resolve_data

    with user_errors():
        data = chain_spec(
            root,
            contracts_dir,
            synthetic_bars,
            pattern,
            contract_column,
            roll,
            roll_param,
            adjust,
            fill_missing,
            no_header=no_header,
            columns=columns,
        )
        series = continuous_series(resolve_data(data, load_plugins().registries))
        frame = series_frame(series)
        if out_file is not None:
            write_frame(frame, out_file)
        if rolls_out is not None:
            series.rolls.to_csv(rolls_out, index=False)
    out.print(
        f"{root}: {len(frame):,} bars from {frame.index[0]} to {frame.index[-1]}, "
        f"{len(series.contracts)} contracts, {len(series.rolls)} rolls ({roll}, {adjust})",
        soft_wrap=True,
    )
    print_series_rolls(series)
    if out_file is not None:
        out.print(f"series written to {out_file}")


def print_series_rolls(series: ContinuousSeries) -> None:
    """Every roll of the series with the gap the adjustment closed."""
    from rich.table import Table

    table = Table(title="Rolls")
    for column in ("roll date", "from", "to", "gap measured on", "from price", "to price", "gap"):
        table.add_column(column)
    for row in series.rolls.itertuples():
        table.add_row(
            str(row.date)[:16],
            str(row.from_contract),
            str(row.to_contract),
            str(row.measured_on)[:16],
            f"{row.from_price:g}",
            f"{row.to_price:g}",
            f"{row.gap:+g}",
        )
    out.print(table)


def series_frame(series: ContinuousSeries) -> pd.DataFrame:
    """The adjusted OHLCV with the contract and raw prices behind each bar."""
    frame = series.frame.copy()
    frame["contract"] = series.contract_codes()
    for column in ("open", "high", "low", "close"):
        frame[f"raw_{column}"] = series.raw[column]
    return frame


def write_frame(frame: pd.DataFrame, path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        frame.to_parquet(path)
    elif suffix in (".csv", ".txt"):
        frame.to_csv(path)
    else:
        raise SpecError("--out", f"unsupported suffix {suffix!r}; use .csv or .parquet")
