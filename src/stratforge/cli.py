"""The ``stratforge`` command: a thin adapter over ``stratforge.core``.

Bad input ends with one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import pydantic
import typer
from rich.console import Console
from rich.table import Table

from stratforge.core.engine import run_backtest
from stratforge.core.errors import SpecError, describe_validation_error
from stratforge.core.results import RunResult
from stratforge.core.settings import Settings, get_settings
from stratforge.core.spec import RunSpec
from stratforge.data import DataValidationError, validate_file
from stratforge.plugin.manager import PluginLoadError, Plugins
from stratforge.plugin.params import describe_params
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
out = Console()
err = Console(stderr=True)

_USER_ERRORS = (
    SpecError,
    DataValidationError,
    PluginLoadError,
    RegistryError,
    FileNotFoundError,
    IsADirectoryError,
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
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
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


@app.command()
def run(
    strategy: Annotated[str, typer.Option("--strategy", "-s", help="Strategy name.")] = "sma_cross",
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="Strategy parameter name=value.")
    ] = None,
    data: Annotated[str, typer.Option("--data", "-d", help="Data source name.")] = "synthetic",
    data_arg: Annotated[
        list[str] | None, typer.Option("--data-arg", "-a", help="Data source argument name=value.")
    ] = None,
    csv: Annotated[
        Path | None, typer.Option("--csv", help="Shortcut for --data csv --data-arg path=FILE.")
    ] = None,
    on_bad_rows: Annotated[
        str | None,
        typer.Option("--on-bad-rows", help="For file sources: error (default) or drop."),
    ] = None,
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
    cash: Annotated[float, typer.Option(help="Starting cash.")] = 100_000.0,
    commission: Annotated[float, typer.Option(help="Commission (see --commission-kind).")] = 0.0,
    commission_kind: Annotated[
        str, typer.Option(help="percent (fraction of value) or per_unit.")
    ] = "percent",
    multiplier: Annotated[float, typer.Option(help="Contract multiplier.")] = 1.0,
    margin: Annotated[float | None, typer.Option(help="Margin per contract.")] = None,
    slippage: Annotated[float, typer.Option(help="Slippage as a fraction of price.")] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed for anything random.")] = 0,
    spec_file: Annotated[
        Path | None, typer.Option("--spec", help="Read the whole RunSpec from a JSON file.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the RunResult as JSON.")] = False,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write the RunResult here.")
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
            spec = RunSpec.model_validate(
                {
                    "data": {
                        "source": data,
                        "args": source_args,
                        "symbol": symbol,
                        "start": start,
                        "end": end,
                    },
                    "strategy": {"name": strategy, "params": parse_assignments(param, "--param")},
                    "sizer": (
                        {"name": sizer, "params": parse_assignments(sizer_param, "--sizer-param")}
                        if sizer
                        else None
                    ),
                    "analyzers": [{"name": a} for a in analyzer or []],
                    "cash": cash,
                    "commission": {
                        "value": commission,
                        "kind": commission_kind,
                        "multiplier": multiplier,
                        "margin": margin,
                    },
                    "slippage": {"percent": slippage},
                    "seed": seed,
                }
            )
        result = run_backtest(spec, plugins=_plugins())
        if out_file is not None:
            result.write(out_file)
    if as_json:
        sys.stdout.write(result.to_json() + "\n")
        return
    print_summary(result)
    if out_file is not None:
        out.print(f"result written to {out_file}")


def print_summary(result: RunResult) -> None:
    """A rich table of the headline metrics."""
    spec = result.spec
    title = f"{spec['strategy']['name']} on {spec['data']['symbol'] or spec['data']['source']}"
    table = Table(title=title, show_header=False)
    table.add_column("metric", style="bold")
    table.add_column("value", justify="right")
    p = result.provenance
    table.add_row("bars", f"{p.data_bars:,} ({p.data_start[:10]} to {p.data_end[:10]})")
    for name, value in result.metrics.model_dump(exclude={"bars"}).items():
        table.add_row(name.replace("_", " "), _format_metric(name, value))
    table.add_row("wall time", f"{p.wall_time_seconds:.2f} s")
    out.print(table)


_PERCENT_METRICS = {
    "total_return",
    "cagr",
    "annual_volatility",
    "max_drawdown",
    "win_rate",
    "exposure",
}


def _format_metric(name: str, value: Any) -> str:
    if value is None:
        return "n/a"
    if name in _PERCENT_METRICS:
        return f"{value:.2%}"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) >= 100 else f"{value:.3f}"
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
                p.name: (None if p.required else _jsonable(p.default))
                for p in describe_params(entry.obj)
            },
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
            f"{k}=<required>" if v is None and _required(row, k) else f"{k}={v!r}"
            for k, v in row["params"].items()
        )
        table.add_row(row["kind"], row["name"], row["plugin"], row["version"] or "-", params)
    out.print(table)


def _required(row: dict[str, Any], name: str) -> bool:
    return row["params"].get(name, "") is None


def _jsonable(value: Any) -> Any:
    if isinstance(value, type):
        return value.__name__
    try:
        json.dumps(value)
    except TypeError:
        return repr(value)
    return value


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


def main() -> None:
    """Console-script entry point."""
    app()
