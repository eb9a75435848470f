"""``stratforge run`` and ``stratforge check-lookahead``: one backtest, printed or checked.

The flags become a RunSpec in ``cli.options``; the summary tables are ``cli.output``'s.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from stratforge.cli import remote
from stratforge.cli.common import imports_without_gc, load_plugins, out, user_errors
from stratforge.cli.options import (
    ApiKeyOption,
    ColumnsOption,
    DataArgOption,
    DataOption,
    NoHeaderOption,
    ParamOption,
    RunFlags,
    ServerOption,
    StrategyOption,
    lookahead_spec,
    read_run_spec,
    run_spec,
)

if TYPE_CHECKING:
    from stratforge.core.lookahead import LookaheadReport
    from stratforge.core.plugins import Plugins
    from stratforge.core.results import RunResult
    from stratforge.core.spec import RunSpec


# Over 60 lines only by its signature: one typer option per flag, as --help lists them. The
# body is a few lines; the flags become a RunSpec in cli/options.py.
def run(
    context: typer.Context,
    strategy: StrategyOption = "sma_cross",
    param: ParamOption = None,
    data: DataOption = None,
    data_arg: DataArgOption = None,
    csv: Annotated[
        Path | None, typer.Option("--csv", help="Shortcut for --data csv --data-arg path=FILE.")
    ] = None,
    on_bad_rows: Annotated[
        str | None,
        typer.Option("--on-bad-rows", help="For file sources: error (default) or drop."),
    ] = None,
    no_header: NoHeaderOption = False,
    columns: ColumnsOption = None,
    root: Annotated[
        str | None, typer.Option(help="Futures root (e.g. ES): trade a rolled contract chain.")
    ] = None,
    roll: Annotated[
        str | None, typer.Option(help="Futures roll rule (default days_before_expiry).")
    ] = None,
    roll_param: Annotated[
        list[str] | None, typer.Option("--roll-param", help="Roll rule parameter name=value.")
    ] = None,
    adjust: Annotated[
        str, typer.Option(help="Futures adjustment: none, difference, ratio, forward_difference.")
    ] = "difference",
    fill_missing: Annotated[
        bool,
        typer.Option(
            "--fill-missing", help="Futures: use a contract's last earlier close for a gap price."
        ),
    ] = False,
    symbol: Annotated[str | None, typer.Option(help="Name of the data feed.")] = None,
    start: Annotated[str | None, typer.Option(help="First date to use.")] = None,
    end: Annotated[str | None, typer.Option(help="Last date to use.")] = None,
    sizer: Annotated[str | None, typer.Option(help="Sizer name.")] = None,
    sizer_param: Annotated[
        list[str] | None, typer.Option("--sizer-param", help="Sizer parameter name=value.")
    ] = None,
    analyzer: Annotated[
        list[str] | None, typer.Option("--analyzer", help="Analyzer name (repeatable).")
    ] = None,
    risk: Annotated[
        list[str] | None,
        typer.Option(
            "--risk",
            help="Risk rule with params, NAME or NAME:param=value,param=value (repeatable).",
        ),
    ] = None,
    cash: Annotated[float, typer.Option(help="Starting cash.")] = 100_000.0,
    commission: Annotated[
        float | None,
        typer.Option(help="Commission (see --commission-kind); futures: per contract and side."),
    ] = None,
    commission_kind: Annotated[
        str, typer.Option(help="percent (fraction of value) or per_unit.")
    ] = "percent",
    multiplier: Annotated[
        float | None, typer.Option(help="Contract multiplier (not with --root: the spec's).")
    ] = None,
    margin: Annotated[
        float | None, typer.Option(help="Margin per contract (with --root: initial margin).")
    ] = None,
    slippage: Annotated[float, typer.Option(help="Slippage as a fraction of price.")] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed for anything random.")] = 0,
    spec_file: Annotated[
        Path | None, typer.Option("--spec", help="Read the whole RunSpec from a JSON file.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the RunResult as JSON.")] = False,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write the RunResult here.")
    ] = None,
    report_file: Annotated[
        Path | None, typer.Option("--report", help="Write an interactive HTML report here.")
    ] = None,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Run one backtest and print its summary."""
    flags = RunFlags.pick(locals())
    remote.check_options(context, server, {"csv": CSV_ON_A_SERVER})
    with imports_without_gc(), user_errors():
        spec = read_run_spec(spec_file) if spec_file is not None else run_spec(flags)
    plugins = None
    if server is not None:
        bar = remote.JobBar("bars")
        document = remote.run_job(remote.Server(server, api_key), "backtest", spec, bar)
        result = load_result(document)
    else:
        plugins = load_plugins_quietly()
        result = run_locally(spec, plugins)
    with user_errors():
        if out_file is not None:
            result.write(out_file)
        if report_file is not None:
            write_run_report(result, report_file, plugins or load_plugins())
    print_run(result, as_json, out_file, report_file)


CSV_ON_A_SERVER = (
    "the server cannot read a file on this machine: upload it as a dataset "
    "(POST /api/v1/datasets) and pass --data dataset -a id=ID, or name a file on the server "
    "with --data csv -a path=PATH"
)


def load_plugins_quietly() -> Plugins:
    """The plugins, with bad ones reported as one line (``user_errors``)."""
    with user_errors():
        return load_plugins()


def run_locally(spec: RunSpec, plugins: Plugins) -> RunResult:
    with imports_without_gc():
        from stratforge.core.engine import run_backtest

    with user_errors():
        return run_backtest(spec, plugins=plugins)


def load_result(document: dict[str, Any]) -> RunResult:
    """A stored result document (a server's) as the RunResult a local run returns."""
    from stratforge.core.results import RunResult

    return RunResult.model_validate(document)


def print_run(
    result: RunResult, as_json: bool, out_file: Path | None, report_file: Path | None
) -> None:
    """The summary tables (or the JSON) and where the files went."""
    from stratforge.cli.output import print_summary

    if as_json:
        sys.stdout.write(result.to_json() + "\n")
        return
    print_summary(result)
    if out_file is not None:
        out.print(f"result written to {out_file}")
    if report_file is not None:
        out.print(f"report written to {report_file}")


def check_lookahead_command(
    strategy: StrategyOption = "sma_cross",
    param: ParamOption = None,
    data: DataOption = None,
    data_arg: DataArgOption = None,
    root: Annotated[
        list[str] | None,
        typer.Option("--root", help="Futures root (repeatable: one feed per root)."),
    ] = None,
    sizer: Annotated[str | None, typer.Option(help="Sizer name.")] = None,
    cash: Annotated[float, typer.Option(help="Starting cash.")] = 1_000_000.0,
    samples: Annotated[
        int, typer.Option(min=1, help="Signal bars to cut the data after and re-run.")
    ] = 10,
    spec_file: Annotated[
        Path | None, typer.Option("--spec", help="Check this RunSpec (JSON file) instead.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Re-run a strategy on data cut after its signal bars; exit 1 if it used later bars."""
    from stratforge.core.lookahead import check_lookahead

    with user_errors():
        if spec_file is not None:
            spec = read_run_spec(spec_file)
        else:
            spec = lookahead_spec(strategy, param, data, data_arg, root, sizer, cash)
        report = check_lookahead(spec, samples=samples, plugins=load_plugins())
    if as_json:
        sys.stdout.write(json.dumps(report.to_dict()) + "\n")
    else:
        print_lookahead(report)
    if not report.passed:
        raise typer.Exit(1)


def print_lookahead(report: LookaheadReport) -> None:
    verdict = "passed" if report.passed else "FAILED: uses data it could not have seen"
    out.print(f"{report.strategy}: {len(report.cuts)} cuts over {report.bars} bars, {verdict}")
    for finding in report.findings:
        out.print(f"  cut after {finding.cut} ({finding.kind}) {finding.detail}", markup=False)


def write_run_report(result: RunResult, path: Path, plugins: Plugins) -> None:
    from stratforge.report import backtest_report, write_html
    from stratforge.report.stored import backtest_title

    panels = plugins.registries.report_panels.as_dict()
    write_html(backtest_report(result, panels=panels), path, title=backtest_title(result))
