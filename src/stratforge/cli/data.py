"""``stratforge data validate``: check a file with the rules every run applies, before a run
finds the bad row."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stratforge.cli.common import out, user_errors
from stratforge.core.errors import SpecError
from stratforge.data import validate_file


def validate(
    file: Annotated[Path, typer.Argument(help="CSV or Parquet file.")],
    on_bad_rows: Annotated[
        str, typer.Option("--on-bad-rows", help="error (default) or drop.")
    ] = "error",
    datetime_column: Annotated[
        str, typer.Option(help="Name of the date/time column.")
    ] = "datetime",
    tz: Annotated[str | None, typer.Option(help="Time zone to convert aware times to.")] = None,
) -> None:
    """Check a data file with the same rules every run uses."""
    with user_errors():
        if on_bad_rows not in ("error", "drop"):
            raise SpecError("--on-bad-rows", f"expected error or drop, got {on_bad_rows!r}")
        checked = validate_file(
            file,
            on_bad_rows="drop" if on_bad_rows == "drop" else "error",
            datetime_column=datetime_column,
            tz=tz,
        )
    frame = checked.frame
    out.print(
        f"{file}: {len(frame):,} valid bars from {frame.index[0]} to {frame.index[-1]}"
        + (f"; dropped {checked.dropped:,} bad rows" if checked.dropped else ""),
        soft_wrap=True,
    )
    for problem in checked.problems[:20]:
        out.print(f"  dropped {problem}", soft_wrap=True, highlight=False)
