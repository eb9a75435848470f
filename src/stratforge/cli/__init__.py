"""The ``stratforge`` command: a thin adapter over ``stratforge.core``.

Bad input ends with one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import pydantic
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from stratforge.core.engine import run_backtest
from stratforge.core.errors import SpecError, describe_validation_error
from stratforge.core.markets import continuous_series, resolve_data
from stratforge.core.plugins import PluginLoadError, Plugins
from stratforge.core.results import PERCENT_METRICS, RunResult
from stratforge.core.settings import Settings, get_settings
from stratforge.core.spec import DataSpec, RunSpec
from stratforge.data import DataValidationError, validate_file
from stratforge.futures import ContinuousSeries
from stratforge.plugin.params import describe_params, jsonable_default
from stratforge.plugin.registry import RegistryError

USAGE_ERROR = 2
app = typer.Typer(
    help="stratforge: plugin-based backtesting on backtrader.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
data_app = typer.Typer(help="Inspect and validate market data files.", no_args_is_help=True)
app.add_typer(data_app, name="data")
futures_app = typer.Typer(
    help="Futures: continuous series from contract months.", no_args_is_help=True
)
app.add_typer(futures_app, name="futures")
# Piped output (logs, CI, other programs) is not limited to 80 columns.
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)

_USER_ERRORS = (
    SpecError,
    DataValidationError,
    PluginLoadError,
    RegistryError,
    OSError,
    ValueError,
)


class _State:
    settings: Settings | None = None


_state = _State()


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn bad-input exceptions into one line on stderr and exit code 2."""
    try:
        yield
    except pydantic.ValidationError as exc:
        _fail(describe_validation_error(exc))
    except _USER_ERRORS as exc:
        _fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)


def _fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(USAGE_ERROR)


def _settings() -> Settings:
    return _state.settings or get_settings()


def _plugins() -> Plugins:
    return Plugins.load(_settings())


@app.callback()
def main_options(
    plugins_dir: Annotated[
        list[Path] | None,
        typer.Option("--plugins-dir", help="Extra directory of *.py plugins (repeatable)."),
    ] = None,
) -> None:
    """Global options shared by every command."""
    base = get_settings()
    if plugins_dir:
        _state.settings = base.model_copy(
            update={"plugins_dirs": [*base.plugins_dirs, *plugins_dir]}
        )
    else:
        _state.settings = base


def parse_assignments(pairs: list[str] | None, option: str) -> dict[str, str]:
    """``name=value`` pairs from repeated options; values stay strings for coercion."""
    parsed: dict[str, str] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise SpecError(option, f"expected name=value, got {pair!r}")
        parsed[name.strip()] = value
    return parsed


def parse_rule(text: str) -> dict[str, Any]:
    """``NAME`` or ``NAME:key=value,key=value`` (``--risk``) as a ComponentSpec dict."""
    name, _, rest = text.partition(":")
    pairs = [p for p in rest.split(",") if p.strip()] if rest else []
    return {"name": name.strip(), "params": parse_assignments(pairs, "--risk")}


StrategyOption = Annotated[str, typer.Option("--strategy", "-s", help="Strategy name.")]
ParamOption = Annotated[
    list[str] | None, typer.Option("--param", "-p", help="Strategy parameter name=value.")
]
DataOption = Annotated[str, typer.Option("--data", "-d", help="Data source name.")]
DataArgOption = Annotated[
    list[str] | None, typer.Option("--data-arg", "-a", help="Data source argument name=value.")
]


@app.command()
def run(
    strategy: StrategyOption = "sma_cross",
    param: ParamOption = None,
    data: DataOption = "synthetic",
    data_arg: DataArgOption = None,
    csv: Annotated[
        Path | None, typer.Option("--csv", help="Shortcut for --data csv --data-arg path=FILE.")
    ] = None,
    on_bad_rows: Annotated[
        str | None,
        typer.Option("--on-bad-rows", help="For file sources: error (default) or drop."),
    ] = None,
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
) -> None:
    """Run one backtest and print its summary."""
    with user_errors():
        if spec_file is not None:
            spec = RunSpec.model_validate_json(spec_file.read_text(encoding="utf-8"))
        else:
            source_args: dict[str, Any] = parse_assignments(data_arg, "--data-arg")
            if csv is not None:
                data, source_args = "csv", {**source_args, "path": str(csv)}
            if on_bad_rows is not None:
                source_args["on_bad_rows"] = on_bad_rows
            data_part = data_spec(
                data, source_args, symbol, start, end, root, roll, roll_param, adjust
            )
            broker_part: dict[str, Any] = {
                "value": commission or 0.0,
                "kind": commission_kind,
                "multiplier": multiplier or 1.0,
                "margin": margin,
            }
            if root is not None:
                if multiplier is not None:
                    raise SpecError("--multiplier", "futures use the contract's multiplier")
                data_part.update({"commission": commission, "margin": margin})
                broker_part = {"kind": commission_kind}
            spec = RunSpec.model_validate(
                {
                    "data": data_part,
                    "strategy": {"name": strategy, "params": parse_assignments(param, "--param")},
                    "sizer": (
                        {"name": sizer, "params": parse_assignments(sizer_param, "--sizer-param")}
                        if sizer
                        else None
                    ),
                    "analyzers": [{"name": a} for a in analyzer or []],
                    "risk": [parse_rule(text) for text in risk or []],
                    "cash": cash,
                    "commission": broker_part,
                    "slippage": {"percent": slippage},
                    "seed": seed,
                }
            )
        plugins = _plugins()
        result = run_backtest(spec, plugins=plugins)
        if out_file is not None:
            result.write(out_file)
        if report_file is not None:
            write_run_report(result, report_file, plugins)
    if as_json:
        sys.stdout.write(result.to_json() + "\n")
        return
    print_summary(result)
    if out_file is not None:
        out.print(f"result written to {out_file}")
    if report_file is not None:
        out.print(f"report written to {report_file}")


@app.command("check-lookahead")
def check_lookahead_command(
    strategy: StrategyOption = "sma_cross",
    param: ParamOption = None,
    data: DataOption = "synthetic",
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
            spec = RunSpec.model_validate_json(spec_file.read_text(encoding="utf-8"))
        else:
            args = parse_assignments(data_arg, "--data-arg")
            roots: list[str | None] = list(root) if root else [None]
            feeds = [{"source": data, "args": args, "root": r} for r in roots]
            spec = RunSpec.model_validate(
                {
                    "data": feeds if len(feeds) > 1 else feeds[0],
                    "strategy": {"name": strategy, "params": parse_assignments(param, "--param")},
                    "sizer": {"name": sizer} if sizer else None,
                    "cash": cash,
                }
            )
        report = check_lookahead(spec, samples=samples, plugins=_plugins())
    if as_json:
        sys.stdout.write(json.dumps(report.to_dict()) + "\n")
    else:
        verdict = "passed" if report.passed else "FAILED: uses data it could not have seen"
        out.print(f"{report.strategy}: {len(report.cuts)} cuts over {report.bars} bars, {verdict}")
        for finding in report.findings:
            out.print(f"  cut after {finding.cut} ({finding.kind}) {finding.detail}", markup=False)
    if not report.passed:
        raise typer.Exit(1)


def write_run_report(result: RunResult, path: Path, plugins: Plugins) -> None:
    from stratforge.report import backtest_report, write_html
    from stratforge.report.stored import backtest_title

    panels = plugins.registries.report_panels.as_dict()
    write_html(backtest_report(result, panels=panels), path, title=backtest_title(result))


def data_spec(
    source: str,
    args: dict[str, Any],
    symbol: str | None,
    start: str | None,
    end: str | None,
    root: str | None,
    roll: str | None,
    roll_param: list[str] | None,
    adjust: str,
) -> dict[str, Any]:
    """The ``data`` part of a RunSpec from command-line options."""
    if root is None and (roll is not None or roll_param or adjust != "difference"):
        raise SpecError("--roll", "--roll, --roll-param and --adjust need a futures --root")
    return {
        "source": source,
        "args": args,
        "symbol": symbol,
        "start": start,
        "end": end,
        "root": root,
        "roll": _roll_spec(roll, roll_param) if root else None,
        "adjust": adjust,
    }


def _roll_spec(name: str | None, params: list[str] | None) -> dict[str, Any] | None:
    if name is None and not params:
        return None
    return {
        "name": name or "days_before_expiry",
        "params": parse_assignments(params, "--roll-param"),
    }


def print_summary(result: RunResult) -> None:
    """A rich table of the headline metrics."""
    spec = result.spec
    datas = spec["data"] if isinstance(spec["data"], list) else [spec["data"]]
    markets = ", ".join(
        d["symbol"] or (f"{d['root']} ({d['source']} chain)" if d["root"] else d["source"])
        for d in datas
    )
    title = f"{spec['strategy']['name']} on {markets}"
    table = Table(title=title, show_header=False)
    table.add_column("metric", style="bold")
    table.add_column("value", justify="right")
    p = result.provenance
    table.add_row("bars", f"{p.data_bars:,} ({p.data_start[:10]} to {p.data_end[:10]})")
    futures_only = {"rolls", "roll_cost", "peak_margin", "peak_margin_to_equity"}
    for name, value in result.metrics.model_dump(exclude={"bars"}).items():
        if name in futures_only and value is None:
            continue
        table.add_row(name.replace("_", " "), _format_metric(name, value))
    table.add_row("wall time", f"{p.wall_time_seconds:.2f} s")
    out.print(table)
    if result.rolls:
        print_rolls(result)
    if result.settlements:
        print_settlements(result)
    if result.rolls or result.settlements:
        print_fills(result)


SHOWN_ROWS = 8


def print_rolls(result: RunResult) -> None:
    """Roll events: the position moved from one real contract to the next, with costs."""
    table = Table(title=f"Roll events ({len(result.rolls)})")
    for column in ("date", "data", "from", "to", "size", "exit", "entry", "cost"):
        table.add_column(
            column, justify="right" if column in ("size", "exit", "entry", "cost") else "left"
        )
    for roll in result.rolls[:SHOWN_ROWS]:
        table.add_row(
            roll.datetime[:10],
            roll.data,
            roll.from_contract,
            roll.to_contract,
            f"{roll.size:g}",
            f"{roll.exit_price:,.2f}",
            f"{roll.entry_price:,.2f}",
            f"{roll.cost:,.2f}",
        )
    if len(result.rolls) > SHOWN_ROWS:
        table.caption = f"... {len(result.rolls) - SHOWN_ROWS} more in --json / --out"
    out.print(table)


def print_settlements(result: RunResult) -> None:
    """Positions ended at their contract's expiry: settled in cash or closed."""
    table = Table(title=f"Settled at expiry ({len(result.settlements)})")
    for column in ("date", "data", "contract", "settlement", "size", "price", "commission"):
        table.add_column(column, justify="right" if column in ("size", "price") else "left")
    for event in result.settlements[:SHOWN_ROWS]:
        table.add_row(
            event.datetime[:10],
            event.data,
            event.contract,
            event.settlement,
            f"{event.size:g}",
            f"{event.price:,.2f}",
            f"{event.commission:,.2f}",
        )
    if len(result.settlements) > SHOWN_ROWS:
        table.caption = f"... {len(result.settlements) - SHOWN_ROWS} more in --json / --out"
    out.print(table)


def print_fills(result: RunResult) -> None:
    """The first fills, each in the real contract traded."""
    fills = [o for o in result.orders if o.executed_size]
    table = Table(title=f"Fills in real contracts ({len(fills)})")
    for column in ("date", "contract", "side", "size", "price", "commission", "roll leg"):
        table.add_column(column)
    for order in fills[:SHOWN_ROWS]:
        table.add_row(
            (order.executed_datetime or "")[:10],
            order.contract or order.data,
            order.side,
            f"{abs(order.executed_size):g}",
            f"{order.executed_price:,.2f}",
            f"{order.commission:,.2f}",
            "yes" if order.roll else "",
        )
    if len(fills) > SHOWN_ROWS:
        table.caption = f"... {len(fills) - SHOWN_ROWS} more in --json / --out"
    out.print(table)


def _format_metric(name: str, value: Any) -> str:
    if value is None:
        return "n/a"
    if name in PERCENT_METRICS:
        return f"{value:.2%}"
    if name.endswith("_days"):
        return f"{value:,.0f}"
    if isinstance(value, float):
        return (
            f"{value:,.2f}"
            if abs(value) >= 100 or name.endswith(("_cost", "_margin"))
            else f"{value:.3f}"
        )
    return f"{value:,}"


@app.command()
def plugins(
    kind: Annotated[
        str | None, typer.Option(help="Only this kind (strategies, indicators, ...).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """List every registered strategy, indicator, sizer, analyzer and data source."""
    with user_errors():
        registries = _plugins().registries
        kinds = registries.by_kind()
        if kind is not None:
            try:
                kinds = {kind: registries.kind(kind)}
            except KeyError as exc:
                raise SpecError("--kind", str(exc.args[0])) from None
    rows: list[dict[str, Any]] = [
        {
            "kind": registry.kind,
            "name": entry.name,
            "aliases": list(entry.aliases),
            "plugin": entry.plugin,
            "version": entry.plugin_version,
            "params": {
                p.name: None if p.required else jsonable_default(p.default)
                for p in describe_params(entry.obj)
            },
            "required": [p.name for p in describe_params(entry.obj) if p.required],
        }
        for registry in kinds.values()
        for entry in registry.entries()
    ]
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    table = Table(title="Registered plugins")
    for column in ("kind", "name", "plugin", "version", "params"):
        table.add_column(column, overflow="fold")
    for row in rows:
        params = ", ".join(
            f"{k}=<required>" if k in row["required"] else f"{k}={v!r}"
            for k, v in row["params"].items()
        )
        table.add_row(row["kind"], row["name"], row["plugin"], row["version"] or "-", params)
    out.print(table)


@data_app.command("validate")
def data_validate(
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


@app.command()
def contracts(
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """List the registered futures contract specifications."""
    with user_errors():
        entries = _plugins().registries.contracts.entries()
    rows = [
        {**dataclasses.asdict(e.obj), "tick_value": e.obj.tick_value, "plugin": e.plugin}
        for e in entries
    ]
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    table = Table(title="Futures contracts (margins and commissions are examples)")
    headers = (
        "root",
        "name",
        "exchange",
        "ccy",
        "mult",
        "tick",
        "tick value",
        "months",
        "last trade rule",
        "init margin",
        "comm.",
        "plugin",
    )
    for header in headers:
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(
            row["root"],
            row["name"],
            row["exchange"],
            row["currency"],
            f"{row['multiplier']:g}",
            f"{row['tick_size']:g}",
            f"{row['tick_value']:g}",
            row["months"],
            row["expiry_rule"],
            f"{row['initial_margin']:,.0f} ({row['margin_as_of']})",
            f"{row['commission']:g}",
            row["plugin"],
        )
    out.print(table)


@futures_app.command("build")
def futures_build(
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
    with user_errors():
        if (contracts_dir is None) == (synthetic_bars is None):
            raise SpecError("--contracts", "give either --contracts DIR or --synthetic BARS")
        if contracts_dir is not None:
            source = "contracts_dir"
            args: dict[str, Any] = {"path": str(contracts_dir), "pattern": pattern}
            if contract_column:
                args["contract_column"] = contract_column
        else:
            source, args = "synthetic", {"bars": synthetic_bars}
        data = DataSpec.model_validate(
            {
                "source": source,
                "args": args,
                "root": root,
                "roll": {"name": roll, "params": parse_assignments(roll_param, "--roll-param")},
                "adjust": adjust,
                "fill_missing": fill_missing,
            }
        )
        series = continuous_series(resolve_data(data, _plugins().registries))
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
    if out_file is not None:
        out.print(f"series written to {out_file}")


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


def main() -> None:
    """Console-script entry point."""
    app()


def _key_for_public_bind(host: str, api_key: str | None) -> str | None:
    """A fresh API key when the server listens beyond loopback without one (as Jupyter
    does with its token): an open API on all interfaces is never the default."""
    import secrets

    from stratforge.api.origin import is_loopback

    if api_key or is_loopback(host):
        return None
    return secrets.token_urlsafe(24)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Server processes.")] = 1,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development).")] = False,
    demo: Annotated[
        bool, typer.Option(help="Seed a demo dataset and backtest on first start.")
    ] = True,
) -> None:
    """Run the REST API (and its job dispatcher) with uvicorn."""
    import os

    import uvicorn

    from stratforge.jobs.demo import seed_demo
    from stratforge.store.db import make_engine, migrate

    with user_errors():
        settings = _settings()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = make_engine(settings)
        migrate(engine)
        demo_id = seed_demo(settings, engine, _plugins()) if demo else None
        engine.dispose()
    base = f"http://{host}:{port}"
    generated_key = _key_for_public_bind(host, settings.api_key)
    out.print(f"dashboard:       {base}/   (data in {settings.data_dir})", soft_wrap=True)
    out.print(f"REST API docs:   {base}/docs", soft_wrap=True)
    if demo_id:
        out.print(f"demo backtest:   {base}/runs/backtests/{demo_id}", soft_wrap=True)
        out.print(f"its report:      {base}/api/v1/backtests/{demo_id}/report", soft_wrap=True)
    if generated_key:
        out.print(
            f"API key:         {generated_key}   (generated: {host} is not loopback; set "
            "STRATFORGE_API_KEY to choose one)",
            soft_wrap=True,
        )
        os.environ["STRATFORGE_API_KEY"] = generated_key
    os.environ["STRATFORGE_DATA_DIR"] = str(settings.data_dir)
    if settings.plugins_dirs:
        os.environ["STRATFORGE_PLUGINS_DIR"] = os.pathsep.join(map(str, settings.plugins_dirs))
    uvicorn.run(
        "stratforge.api:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        log_level="info",
        timeout_graceful_shutdown=5,  # open event streams must not hold a shutdown
    )


# Commands defined in submodules register themselves on `app` when imported.
from stratforge.cli import optimize as _optimize_commands  # noqa: E402, F401
from stratforge.cli import report as _report_commands  # noqa: E402, F401
