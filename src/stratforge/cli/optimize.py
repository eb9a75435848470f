"""``stratforge optimize`` and ``stratforge walkforward``: searches with a live progress bar.

The search engine loads when a search runs, not with ``stratforge --help``.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from stratforge.cli import remote
from stratforge.cli.common import current_settings, err, load_plugins, out, user_errors
from stratforge.cli.options import ApiKeyOption, DataOption, ServerOption, search_spec
from stratforge.core.errors import SpecError

if TYPE_CHECKING:
    from stratforge.client import Job
    from stratforge.core.optimize import OptimizeSpec, SearchResult
    from stratforge.core.trials import Trial
    from stratforge.core.walkforward import WalkForwardResult, WalkForwardSpec, WindowResult

SpecFile = Annotated[
    Path | None, typer.Option("--spec", help="Base RunSpec (JSON file) instead of the options.")
]


class TrialProgress:
    """A rich progress bar fed by the search's trial callback (or a server's events)."""

    def __init__(self, total: int | None, metric: str) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.metric = metric
        self.bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("failed {task.fields[failed]}"),
            TextColumn("best {task.fields[best]}"),
            TimeRemainingColumn(),
            console=err.console,
            transient=False,
        )
        self.task = self.bar.add_task("trials", total=total, failed=0, best="-")

    def __call__(self, trial: Trial, progress: Any) -> None:
        if trial.status == "pruned":  # never runs: the bar's total shrinks instead
            total = self.bar.tasks[0].total
            if total:
                self.bar.update(self.task, total=total - 1)
            return
        best = progress.best.objective if progress.best else None
        self.update(progress.done, progress.failed, None if best is None else f"{best:.4g}")

    def update(self, done: int, failed: int | None, best: str | None) -> None:
        """Trials done and failed so far and the best objective as text; also fed by a
        search's event stream on a server (``cli.remote``), where failures may be unknown."""
        self.bar.update(
            self.task,
            completed=done,
            failed="-" if failed is None else failed,
            best="-" if best is None else f"{self.metric}={best}",
        )

    def show(self, job: Job) -> None:
        """A search's snapshot from a server's event stream (``cli.remote``)."""
        total = job.raw.get("trials_total")
        if total and self.bar.tasks[0].total is None:
            self.bar.update(self.task, total=total)
        self.update(*remote.search_counts(job))

    def __enter__(self) -> TrialProgress:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(*exc)  # type: ignore[arg-type]


def export_trials(result: SearchResult, path: Path) -> None:
    from stratforge.core.optimize import trial_table

    rows = trial_table(result.trials)
    if path.suffix.lower() == ".json":
        path.write_text(result.model_dump_json(indent=2), encoding="utf-8")
        return
    if path.suffix.lower() != ".csv":
        raise SpecError("--out", f"unsupported suffix {path.suffix!r}; use .csv or .json")
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def print_top(result: SearchResult, n: int, maximize: bool, metric: str) -> None:
    from rich.table import Table

    top = result.top(n, maximize)
    names = list(top[0].params) if top else []
    table = Table(title=f"Top {len(top)} of {result.completed} trials by {metric}")
    for column in ("#", *names, metric, "total return", "max drawdown", "trades"):
        table.add_column(column, justify="right")
    for trial in top:
        metrics = trial.metrics or {}
        table.add_row(
            str(trial.number),
            *(str(trial.params[n]) for n in names),
            f"{trial.objective:.4g}",
            f"{metrics.get('total_return', 0):.2%}",
            f"{metrics.get('max_drawdown', 0):.2%}",
            str(metrics.get("trades", "")),
        )
    out.print(table)
    summary = f"completed {result.completed}, failed {result.failed}, pruned {result.pruned}"
    summary += f" in {result.wall_time_seconds:.1f} s" + (
        " (cancelled)" if result.cancelled else ""
    )
    out.print(summary)
    if result.deflated_sharpe:
        dsr = result.deflated_sharpe
        out.print(
            f"deflated Sharpe ratio of the best trial: {dsr['dsr']:.3f} "
            f"(given {dsr['trials']} trials)"
        )
    if result.pbo:
        out.print(
            f"probability of backtest overfitting (CSCV, {result.pbo['blocks']} blocks): "
            f"{result.pbo['pbo']:.2%}"
        )
    failed = [t for t in result.trials if t.status == "failed"][:3]
    for trial in failed:
        out.print(f"failed #{trial.number} {trial.params}: {trial.error}", soft_wrap=True)


def _executor(name: str, workers: int | None, ray_address: str | None) -> Any:
    from stratforge.core.executors import make_executor

    if name not in ("serial", "ray"):
        raise SpecError("--executor", f"expected serial or ray, got {name!r}")
    address = ray_address or current_settings().ray_address
    if name == "ray":  # trials start here at once; Ray only for a search it speeds up
        from stratforge.core.hybrid import HybridExecutor

        return HybridExecutor(workers=workers, address=address)
    return make_executor(name, workers=workers, address=address)


def _expect(runner: Any, trials: int | None) -> None:
    """Tell a hybrid executor how long the run is, so it starts Ray only when that pays."""
    expect = getattr(runner, "expect", None)
    if expect is not None:
        expect(trials)


def optimize_command(
    context: typer.Context,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-p",
            help="Parameter to search: fast=5:50:5, x=0.5:2:0.5, x=log:1:100:5, mode=a,b,c.",
        ),
    ] = None,
    fixed: Annotated[
        list[str] | None, typer.Option("--fixed", help="Strategy parameter held fixed name=value.")
    ] = None,
    strategy: Annotated[str, typer.Option("--strategy", "-s")] = "sma_cross",
    data: DataOption = None,
    data_arg: Annotated[list[str] | None, typer.Option("--data-arg", "-a")] = None,
    root: Annotated[str | None, typer.Option(help="Futures root.")] = None,
    roll: Annotated[str | None, typer.Option(help="Futures roll rule.")] = None,
    adjust: Annotated[str, typer.Option(help="Futures adjustment.")] = "difference",
    start: Annotated[str | None, typer.Option()] = None,
    end: Annotated[str | None, typer.Option()] = None,
    cash: Annotated[float, typer.Option()] = 100_000.0,
    seed: Annotated[int, typer.Option()] = 0,
    spec_file: SpecFile = None,
    method: Annotated[str, typer.Option(help="grid, random, or a plugin's method.")] = "grid",
    method_param: Annotated[list[str] | None, typer.Option("--method-param")] = None,
    trials: Annotated[int | None, typer.Option(help="Trial budget.")] = None,
    metric: Annotated[str, typer.Option(help="Metric to optimise.")] = "sharpe",
    maximize: Annotated[bool, typer.Option("--maximize/--minimize")] = True,
    constraint: Annotated[
        list[str] | None, typer.Option("--constraint", "-c", help='e.g. "fast < slow"')
    ] = None,
    executor: Annotated[str, typer.Option(help="serial or ray.")] = "ray",
    workers: Annotated[
        int | None,
        typer.Option(help="Processes running trials, this one included (default: all CPUs)."),
    ] = None,
    ray_address: Annotated[
        str | None, typer.Option(help="Address of a running Ray cluster.")
    ] = None,
    top: Annotated[int, typer.Option(help="Trials in the final table.")] = 10,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Export all trials (.csv or .json).")
    ] = None,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Search strategy parameters (grid, random, ...) in parallel on Ray or serially."""
    from stratforge.core.optimize import OptimizeSpec, SearchResult

    options = locals()
    remote.check_options(context, server, LOCAL_ONLY)
    with user_errors():
        spec = OptimizeSpec.model_validate(search_spec(options))
    if server is None:
        result = search_locally(spec, ray_address)
    else:
        progress = TrialProgress(None, spec.metric)
        document = remote.run_job(remote.Server(server, api_key), "optimize", spec, progress)
        result = SearchResult.model_validate(document)
    with user_errors():
        if out_file is not None:
            export_trials(result, out_file)
    print_top(result, top, spec.maximize, spec.metric)
    if out_file is not None:
        out.print(f"all {len(result.trials)} trials written to {out_file}")
    if result.cancelled:
        raise typer.Exit(130)


LOCAL_ONLY = {
    "executor": "the server runs the trials on its own executor (STRATFORGE_JOB_EXECUTOR "
    "where it runs); drop --executor",
    "ray_address": "the server uses its own Ray (STRATFORGE_RAY_ADDRESS where it runs); "
    "drop --ray-address",
}
"""A search's options that choose where it runs on this machine, and the fix with --server
(``--workers`` goes with the spec: the server's Ray runs the search on that many)."""


def search_locally(spec: OptimizeSpec, ray_address: str | None) -> SearchResult:
    """Run the search here, its trials on the executor it names, with a progress bar."""
    from stratforge.core.optimize import optimize
    from stratforge.jobs.plan import plan_search

    with user_errors():
        plugins = load_plugins()
        total = plan_search(spec, plugins).trials
        runner = _executor(spec.executor, spec.workers, ray_address)
        _expect(runner, total)
        try:
            with TrialProgress(total, spec.metric) as progress:
                return optimize(spec, plugins=plugins, executor=runner, on_trial=progress)
        finally:
            runner.close()


def walkforward_command(
    context: typer.Context,
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="As for optimize.")
    ] = None,
    train: Annotated[
        str, typer.Option(help="Train length: bars (500) or a period (2Y, 6M).")
    ] = "500",
    test: Annotated[str, typer.Option(help="Test length: bars or a period.")] = "125",
    step: Annotated[
        str | None, typer.Option(help="Shift between windows (default: the test length).")
    ] = None,
    anchored: Annotated[bool, typer.Option(help="Train from the start every time.")] = False,
    fixed: Annotated[list[str] | None, typer.Option("--fixed")] = None,
    strategy: Annotated[str, typer.Option("--strategy", "-s")] = "sma_cross",
    data: DataOption = None,
    data_arg: Annotated[list[str] | None, typer.Option("--data-arg", "-a")] = None,
    root: Annotated[str | None, typer.Option()] = None,
    roll: Annotated[str | None, typer.Option()] = None,
    adjust: Annotated[str, typer.Option()] = "difference",
    start: Annotated[str | None, typer.Option()] = None,
    end: Annotated[str | None, typer.Option()] = None,
    cash: Annotated[float, typer.Option()] = 100_000.0,
    seed: Annotated[int, typer.Option()] = 0,
    spec_file: SpecFile = None,
    method: Annotated[str, typer.Option()] = "grid",
    method_param: Annotated[list[str] | None, typer.Option("--method-param")] = None,
    trials: Annotated[int | None, typer.Option()] = None,
    metric: Annotated[str, typer.Option()] = "sharpe",
    maximize: Annotated[bool, typer.Option("--maximize/--minimize")] = True,
    constraint: Annotated[list[str] | None, typer.Option("--constraint", "-c")] = None,
    executor: Annotated[str, typer.Option()] = "ray",
    workers: Annotated[int | None, typer.Option()] = None,
    ray_address: Annotated[str | None, typer.Option()] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write the result (.json).")
    ] = None,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Walk-forward analysis: optimise on each train window, test the best on the next."""
    from stratforge.core.walkforward import WalkForwardResult, WalkForwardSpec

    options = locals()
    remote.check_options(context, server, LOCAL_ONLY)
    with user_errors():
        search = search_spec(options)
        spec = WalkForwardSpec.model_validate(
            {"search": search, "train": train, "test": test, "step": step, "anchored": anchored}
        )
    if server is None:
        result = walk_forward_locally(spec, ray_address)
    else:
        bar = remote.JobBar("windows")
        document = remote.run_job(remote.Server(server, api_key), "walkforward", spec, bar)
        result = WalkForwardResult.model_validate(document)
    with user_errors():
        if out_file is not None:
            out_file.write_text(result.model_dump_json(indent=2), encoding="utf-8")
    print_walkforward(result, spec.search.metric)
    if out_file is not None:
        out.print(f"walk-forward result written to {out_file}")


def walk_forward_locally(spec: WalkForwardSpec, ray_address: str | None) -> WalkForwardResult:
    """Run the analysis here, printing each window as it finishes."""
    from stratforge.core.walkforward import walk_forward
    from stratforge.jobs.plan import plan_search

    with user_errors():
        plugins = load_plugins()
        per_window = plan_search(spec.search, plugins, where="search.").trials  # API's names
        runner = _executor(spec.search.executor, spec.search.workers, ray_address)
        try:
            return walk_forward(
                spec,
                plugins=plugins,
                executor=runner,
                on_window=print_window,
                on_layout=lambda n: _expect(runner, per_window and per_window * n),
            )
        finally:
            runner.close()


def print_window(w: WindowResult) -> None:
    """One finished window, as the walk-forward goes (on stderr, like the progress bar)."""
    err.print(
        f"window {w.index + 1}: train {w.train_start[:10]}..{w.train_end[:10]} "
        f"best {w.best_params} IS {w.in_sample:.4g} | test "
        f"{w.test_start[:10]}..{w.test_end[:10]} OOS {w.out_of_sample:.4g}"
        if w.in_sample is not None and w.out_of_sample is not None
        else f"window {w.index + 1}: no completed trial",
        highlight=False,
    )


def print_walkforward(result: WalkForwardResult, metric: str) -> None:
    from rich.table import Table

    table = Table(title=f"Walk-forward: {len(result.windows)} windows by {metric}")
    for column in ("#", "train", "test", "best params", "in-sample", "out-of-sample"):
        table.add_column(column)
    for w in result.windows:
        table.add_row(
            str(w.index + 1),
            f"{w.train_start[:10]}..{w.train_end[:10]}",
            f"{w.test_start[:10]}..{w.test_end[:10]}",
            ", ".join(f"{k}={v}" for k, v in (w.best_params or {}).items()),
            "-" if w.in_sample is None else f"{w.in_sample:.4g}",
            "-" if w.out_of_sample is None else f"{w.out_of_sample:.4g}",
        )
    out.print(table)
    efficiency = result.efficiency
    out.print(
        "walk-forward efficiency (mean OOS / mean IS): "
        + ("n/a" if efficiency is None else f"{efficiency:.2f}")
        + f"; stitched out-of-sample return {result.oos_total_return:.2%}"
    )
