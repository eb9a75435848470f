"""``stratforge data validate``: check a file with the rules every run applies, before a run
finds the bad row; ``data import`` and ``data list``: the market-data catalog in the data
directory (``stratforge.jobs.markets``)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from stratforge.cli.common import current_settings, load_plugins, out, user_errors
from stratforge.cli.options import ColumnsOption, NoHeaderOption, csv_layout, parse_assignments
from stratforge.core.errors import SpecError

if TYPE_CHECKING:
    from sqlmodel import Session


def validate(
    file: Annotated[Path, typer.Argument(help="CSV or Parquet file.")],
    on_bad_rows: Annotated[
        str, typer.Option("--on-bad-rows", help="error (default) or drop.")
    ] = "error",
    datetime_column: Annotated[
        str, typer.Option(help="Name of the date/time column.")
    ] = "datetime",
    tz: Annotated[str | None, typer.Option(help="Time zone to convert aware times to.")] = None,
    no_header: NoHeaderOption = False,
    columns: ColumnsOption = None,
) -> None:
    """Check a data file with the same rules every run uses."""
    from stratforge.data import validate_file

    with user_errors():
        if on_bad_rows not in ("error", "drop"):
            raise SpecError("--on-bad-rows", f"expected error or drop, got {on_bad_rows!r}")
        checked = validate_file(
            file,
            on_bad_rows="drop" if on_bad_rows == "drop" else "error",
            datetime_column=datetime_column,
            tz=tz,
            **csv_layout(no_header, columns),
        )
    frame = checked.frame
    out.print(
        f"{file}: {len(frame):,} valid bars from {frame.index[0]} to {frame.index[-1]}"
        + (f"; dropped {checked.dropped:,} bad rows" if checked.dropped else ""),
        soft_wrap=True,
    )
    for problem in checked.problems[:20]:
        out.print(f"  dropped {problem}", soft_wrap=True, highlight=False)


@contextmanager
def _session() -> Iterator[Session]:
    """A session on the configured database, migrated to the newest schema."""
    from sqlmodel import Session

    from stratforge.store.db import make_engine, migrate

    engine = make_engine(current_settings())
    try:
        migrate(engine)
        with Session(engine, expire_on_commit=False) as session:
            yield session
    finally:
        engine.dispose()


def import_command(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders the source reads.")],
    format: Annotated[
        str,
        typer.Option("--format", "-f", help="Data source that reads them, e.g. contracts_dir."),
    ],
    root: Annotated[str, typer.Option("--root", "-r", help="Futures root, e.g. ES.")],
    arg: Annotated[
        list[str] | None, typer.Option("--arg", "-a", help="Source argument name=value.")
    ] = None,
    replace: Annotated[
        bool, typer.Option(help="Replace stored contracts whose bars differ.")
    ] = False,
    no_header: NoHeaderOption = False,
    columns: ColumnsOption = None,
) -> None:
    """Import contract months into the market catalog (<data dir>/markets/<ROOT>/)."""
    from stratforge.jobs.markets import import_market

    with user_errors():
        args = parse_assignments(arg, "--arg") | csv_layout(no_header, columns)
        plugins = load_plugins()
        with _session() as session:
            outcome = import_market(
                session,
                plugins=plugins,
                source=format,
                root=root,
                paths=[str(p) for p in paths],
                args=args,
                replace=replace,
            )
    out.print(outcome.summary(), highlight=False)
    for label, codes in (("added", outcome.added), ("replaced", outcome.replaced)):
        if codes:
            out.print(f"  {label}: {', '.join(codes)}", highlight=False, soft_wrap=True)


def list_command(
    root: Annotated[
        str | None, typer.Argument(help="Show this root's contracts one by one.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """What the market catalog holds: roots, contracts, date ranges, bar sizes, bars."""
    from rich.table import Table

    from stratforge.jobs.markets import summarize
    from stratforge.store.markets import list_market_contracts

    with user_errors(), _session() as session:
        rows = list_market_contracts(session, root=root)
    if root is not None and not rows:
        out.print(f"no {root} contracts in the market catalog", highlight=False)
        return
    if as_json:
        dumped = [row.model_dump(mode="json", exclude={"id"}) for row in rows]
        sys.stdout.write(json.dumps(dumped) + "\n")
        return
    if root is not None:
        table = Table(title=f"{root} in the market catalog")
        for column in ("contract", "first", "last", "bars", "bar size", "source"):
            table.add_column(column, justify="right" if column == "bars" else "left")
        for row in rows:
            table.add_row(
                row.contract,
                f"{row.first:%Y-%m-%d %H:%M}".removesuffix(" 00:00"),
                f"{row.last:%Y-%m-%d %H:%M}".removesuffix(" 00:00"),
                f"{row.bars:,}",
                row.bar_size,
                row.source,
            )
        out.print(table)
        return
    summaries = summarize(rows)
    if not summaries:
        out.print("the market catalog is empty; add data with `stratforge data import`")
        return
    table = Table(title="Market catalog")
    for column in ("root", "contracts", "from", "to", "first", "last", "bars", "bar size"):
        table.add_column(column, justify="right" if column in ("contracts", "bars") else "left")
    for s in summaries:
        table.add_row(
            s.root,
            str(len(s.contracts)),
            s.contracts[0],
            s.contracts[-1],
            f"{s.first:%Y-%m-%d}",
            f"{s.last:%Y-%m-%d}",
            f"{s.bars:,}",
            ", ".join(s.bar_sizes),
        )
    out.print(table)
