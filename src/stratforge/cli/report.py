"""``stratforge report``: a standalone, offline HTML report of a stored run or result file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from stratforge.cli.common import current_settings, load_plugins, out, user_errors
from stratforge.core.errors import SpecError


def report(
    target: Annotated[
        str | None,
        typer.Argument(help="A stored run id (bt_..., op_...) or a result JSON file (from --out)."),
    ] = None,
    out_file: Annotated[Path, typer.Option("--out", "-o", help="The HTML file to write.")] = Path(
        "report.html"
    ),
    optimization: Annotated[
        str | None,
        typer.Option("--optimization", help="A stored optimisation or walk-forward id."),
    ] = None,
    compare: Annotated[
        list[str] | None,
        typer.Option("--compare", help="Backtests to compare side by side (repeatable)."),
    ] = None,
    theme: Annotated[Literal["light", "dark"], typer.Option(help="Colour theme.")] = "light",
    benchmark: Annotated[
        bool, typer.Option(help="Backtests: buy and hold of the first data on the equity chart.")
    ] = False,
    x: Annotated[str | None, typer.Option(help="Optimisations: heatmap x parameter.")] = None,
    y: Annotated[str | None, typer.Option(help="Optimisations: heatmap y parameter.")] = None,
    aggregate: Annotated[
        Literal["best", "max", "mean"],
        typer.Option(help="Optimisations: other parameters held at the best, or aggregated."),
    ] = "best",
) -> None:
    """Write an interactive report that opens in any browser with no network."""
    from stratforge.report import comparison_report, write_html
    from stratforge.report.stored import report_for

    with user_errors():
        chosen = [t for t in (target, optimization) if t]
        if compare:
            runs = {name: _load(name)[1] for name in compare}
            from stratforge.core.results import RunResult

            results = {name: RunResult.model_validate(doc) for name, doc in runs.items()}
            layout, title = comparison_report(results, theme=theme), "Comparison"
        elif len(chosen) != 1:
            raise SpecError("TARGET", "give one run id or result file (or --optimization ID)")
        else:
            kind, document = _load(chosen[0])
            panels = load_plugins().registries.report_panels.as_dict()
            layout, title = report_for(
                document,
                kind=kind,
                theme=theme,
                benchmark=benchmark,
                panels=panels,
                x=x,
                y=y,
                aggregate=aggregate,
            )
        write_html(layout, out_file, title=title, theme=theme)
    size = out_file.stat().st_size / 1e6
    out.print(f"report written to {out_file} ({size:.1f} MB, works offline)", soft_wrap=True)


def _load(target: str) -> tuple[str | None, dict[str, Any]]:
    """A result from a JSON file, or from the database by id."""
    path = Path(target)
    if path.suffix == ".json" or path.exists():
        if not path.is_file():
            raise SpecError("TARGET", f"no such result file: {target}")
        document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return None, document
    from sqlmodel import Session

    from stratforge.store.blobs import BlobStore
    from stratforge.store.db import make_engine
    from stratforge.store.results import StoredResultError, stored_result

    settings = current_settings()
    engine = make_engine(settings)
    try:
        with Session(engine) as session:
            return stored_result(session, BlobStore(settings.data_dir / "results"), job_id=target)
    except StoredResultError as exc:
        raise SpecError("TARGET", str(exc)) from None
    finally:
        engine.dispose()
