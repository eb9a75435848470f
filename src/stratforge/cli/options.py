"""Flags into specs, in one place: every command that builds a RunSpec, a search or a
futures chain from its options does it here, so ``run``, ``check-lookahead``,
``optimize``, ``walkforward`` and ``futures build`` read the same flags the same way
(and ``--spec FILE`` always means the same thing).

Nothing here prints or exits: bad flags raise ``SpecError``, which ``user_errors`` turns
into one line on stderr. The option types are read by ``--help``, so the spec models load
only when a spec is built.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Self

import typer

from stratforge.core.errors import SpecError

if TYPE_CHECKING:
    from stratforge.core.spec import DataSpec, RunSpec

StrategyOption = Annotated[str, typer.Option("--strategy", "-s", help="Strategy name.")]
ParamOption = Annotated[
    list[str] | None, typer.Option("--param", "-p", help="Strategy parameter name=value.")
]
DataOption = Annotated[
    str | None,
    typer.Option(
        "--data",
        "-d",
        help="Data source name (default: synthetic; with a --root stored in the market "
        "catalog, the catalog).",
    ),
]
DataArgOption = Annotated[
    list[str] | None, typer.Option("--data-arg", "-a", help="Data source argument name=value.")
]

NoHeaderOption = Annotated[
    bool,
    typer.Option("--no-header", help="CSV without a header line: name its columns with --columns."),
]
ColumnsOption = Annotated[
    str | None,
    typer.Option(
        "--columns",
        help="Map file columns (by name, or by position with --no-header) to canonical ones: "
        "0=datetime,1=open,2=high,3=low,4=close,5=volume.",
    ),
]

ServerOption = Annotated[
    str | None,
    typer.Option(
        "--server",
        help="URL of a running `stratforge serve` (e.g. http://127.0.0.1:8000): submit the job "
        "there and follow it; Ctrl-C asks whether to cancel it.",
    ),
]
ApiKeyOption = Annotated[
    str | None,
    typer.Option("--api-key", envvar="STRATFORGE_API_KEY", help="The server's API key."),
]


def parse_assignments(pairs: list[str] | None, option: str) -> dict[str, str]:
    """``name=value`` pairs from repeated options; values stay strings for coercion."""
    parsed: dict[str, str] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise SpecError(option, f"expected name=value, got {pair!r}")
        parsed[name.strip()] = value
    return parsed


def csv_layout(no_header: bool, columns: str | None) -> dict[str, Any]:
    """``--no-header`` and ``--columns 0=datetime,1=open,...`` as file-source arguments
    (``header`` and ``columns`` of ``csv``, ``contracts_dir`` and the loaders); nothing when
    neither is given, so sources without them are not handed unknown arguments."""
    args: dict[str, Any] = {}
    if no_header:
        args["header"] = False
    if columns:
        pairs = [pair for pair in columns.split(",") if pair.strip()]
        args["columns"] = parse_assignments(pairs, "--columns")
        if not args["columns"]:
            raise SpecError("--columns", "expected source=canonical pairs, e.g. 0=datetime")
    return args


def parse_rule(text: str) -> dict[str, Any]:
    """``NAME`` or ``NAME:key=value,key=value`` (``--risk``) as a ComponentSpec dict."""
    name, _, rest = text.partition(":")
    pairs = [p for p in rest.split(",") if p.strip()] if rest else []
    return {"name": name.strip(), "params": parse_assignments(pairs, "--risk")}


def read_run_spec(path: Path) -> RunSpec:
    """``--spec FILE``: a whole RunSpec as JSON, instead of the options."""
    from stratforge.core.spec import RunSpec

    return RunSpec.model_validate_json(path.read_text(encoding="utf-8"))


def data_spec(
    source: str | None,
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
    part: dict[str, Any] = {} if source is None else {"source": source}
    return part | {
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


@dataclass(frozen=True)
class RunFlags:
    """``run``'s flags that describe the backtest (not where its output goes)."""

    strategy: str
    param: list[str] | None
    data: str | None
    data_arg: list[str] | None
    csv: Path | None
    on_bad_rows: str | None
    no_header: bool
    columns: str | None
    root: str | None
    roll: str | None
    roll_param: list[str] | None
    adjust: str
    fill_missing: bool
    symbol: str | None
    start: str | None
    end: str | None
    sizer: str | None
    sizer_param: list[str] | None
    analyzer: list[str] | None
    risk: list[str] | None
    cash: float
    commission: float | None
    commission_kind: str
    multiplier: float | None
    margin: float | None
    slippage: float
    seed: int

    @classmethod
    def pick(cls, options: dict[str, Any]) -> Self:
        """The fields from a command's parameters (its ``locals()``), ignoring the rest."""
        return cls(**{f.name: options[f.name] for f in fields(cls)})


def run_spec(flags: RunFlags) -> RunSpec:
    """The RunSpec ``run`` describes with its flags."""
    from stratforge.core.spec import RunSpec

    data_part, broker_part = _market_parts(flags)
    strategy = {"name": flags.strategy, "params": parse_assignments(flags.param, "--param")}
    sizer = (
        {"name": flags.sizer, "params": parse_assignments(flags.sizer_param, "--sizer-param")}
        if flags.sizer
        else None
    )
    return RunSpec.model_validate(
        {
            "data": data_part,
            "strategy": strategy,
            "sizer": sizer,
            "analyzers": [{"name": a} for a in flags.analyzer or []],
            "risk": [parse_rule(text) for text in flags.risk or []],
            "cash": flags.cash,
            "commission": broker_part,
            "slippage": {"percent": flags.slippage},
            "seed": flags.seed,
        }
    )


def _market_parts(flags: RunFlags) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``data`` and ``commission`` parts: a futures ``--root`` takes its multiplier
    from the contract, and its commission and margin go with the feed, not the broker."""
    source = flags.data
    source_args: dict[str, Any] = parse_assignments(flags.data_arg, "--data-arg")
    if flags.csv is not None:
        source, source_args = "csv", {**source_args, "path": str(flags.csv)}
    if flags.on_bad_rows is not None:
        source_args["on_bad_rows"] = flags.on_bad_rows
    source_args.update(csv_layout(flags.no_header, flags.columns))
    data_part = data_spec(
        source,
        source_args,
        flags.symbol,
        flags.start,
        flags.end,
        flags.root,
        flags.roll,
        flags.roll_param,
        flags.adjust,
    )
    broker_part: dict[str, Any] = {
        "value": flags.commission or 0.0,
        "kind": flags.commission_kind,
        "multiplier": flags.multiplier or 1.0,
        "margin": flags.margin,
    }
    if flags.fill_missing:
        if flags.root is None:
            raise SpecError("--fill-missing", "--fill-missing fills futures gaps: give a --root")
        data_part["fill_missing"] = True
    if flags.root is not None:
        if flags.multiplier is not None:
            raise SpecError("--multiplier", "futures use the contract's multiplier")
        data_part.update({"commission": flags.commission, "margin": flags.margin})
        broker_part = {"kind": flags.commission_kind}
    return data_part, broker_part


def lookahead_spec(
    strategy: str,
    param: list[str] | None,
    data: str | None,
    data_arg: list[str] | None,
    root: list[str] | None,
    sizer: str | None,
    cash: float,
) -> RunSpec:
    """The RunSpec ``check-lookahead`` describes: one feed per ``--root`` (or one plain)."""
    from stratforge.core.spec import RunSpec

    args = parse_assignments(data_arg, "--data-arg")
    roots: list[str | None] = list(root) if root else [None]
    source: dict[str, Any] = {} if data is None else {"source": data}
    feeds = [source | {"args": args, "root": r} for r in roots]
    return RunSpec.model_validate(
        {
            "data": feeds if len(feeds) > 1 else feeds[0],
            "strategy": {"name": strategy, "params": parse_assignments(param, "--param")},
            "sizer": {"name": sizer} if sizer else None,
            "cash": cash,
        }
    )


def parse_space(pairs: list[str] | None) -> dict[str, Any]:
    """``name=SPACE`` options as dimensions: ``5:50:5``, ``0.5:2:0.5``, ``log:1:100:5``, ``a,b``."""
    from stratforge.optimizers.space import parse_dimension

    space = {}
    for name, text in parse_assignments(pairs, "--param").items():
        try:
            space[name] = parse_dimension(text).model_dump()
        except ValueError as exc:
            errors = getattr(exc, "errors", None)
            message = errors()[0]["msg"] if callable(errors) else str(exc)
            raise SpecError(f"--param {name}", message.removeprefix("Value error, ")) from None
    if not space:
        raise SpecError(
            "--param", "give at least one parameter to search, e.g. --param fast=5:50:5"
        )
    return space


def base_spec(
    spec_file: Path | None,
    strategy: str,
    fixed: list[str] | None,
    data: str | None,
    data_arg: list[str] | None,
    root: str | None,
    roll: str | None,
    adjust: str,
    start: str | None,
    end: str | None,
    cash: float,
    seed: int,
) -> dict[str, Any]:
    """The backtest a search varies: ``--spec FILE`` or the options, as a JSON document."""
    if spec_file is not None:
        return json.loads(read_run_spec(spec_file).model_dump_json())
    source_args: dict[str, Any] = parse_assignments(data_arg, "--data-arg")
    return {
        "data": data_spec(data, source_args, None, start, end, root, roll, None, adjust),
        "strategy": {"name": strategy, "params": parse_assignments(fixed, "--fixed")},
        "cash": cash,
        "seed": seed,
    }


def search_spec(options: dict[str, Any]) -> dict[str, Any]:
    """An OptimizeSpec document from ``optimize``'s (or ``walkforward``'s) parameters."""
    return {
        "base": base_spec(
            options["spec_file"],
            options["strategy"],
            options["fixed"],
            options["data"],
            options["data_arg"],
            options["root"],
            options["roll"],
            options["adjust"],
            options["start"],
            options["end"],
            options["cash"],
            options["seed"],
        ),
        "space": parse_space(options["param"]),
        "method": {
            "name": options["method"],
            "params": parse_assignments(options["method_param"], "--method-param"),
        },
        "metric": options["metric"],
        "maximize": options["maximize"],
        "constraints": options["constraint"] or [],
        "trials": options["trials"],
        "seed": options["seed"],
        "executor": options["executor"],
        "workers": options["workers"],
    }


def chain_spec(
    root: str,
    contracts_dir: Path | None,
    synthetic_bars: int | None,
    pattern: str,
    contract_column: str | None,
    roll: str,
    roll_param: list[str] | None,
    adjust: str,
    fill_missing: bool,
    *,
    no_header: bool = False,
    columns: str | None = None,
) -> DataSpec:
    """The contract chain ``futures build`` rolls: files in a directory, or synthetic."""
    from stratforge.core.spec import DataSpec

    if (contracts_dir is None) == (synthetic_bars is None):
        raise SpecError("--contracts", "give either --contracts DIR or --synthetic BARS")
    if contracts_dir is not None:
        source = "contracts_dir"
        args: dict[str, Any] = {"path": str(contracts_dir), "pattern": pattern}
        if contract_column:
            args["contract_column"] = contract_column
        args.update(csv_layout(no_header, columns))
    else:
        if no_header or columns:
            raise SpecError("--no-header", "--no-header and --columns read --contracts files")
        source, args = "synthetic", {"bars": synthetic_bars}
    return DataSpec.model_validate(
        {
            "source": source,
            "args": args,
            "root": root,
            "roll": {"name": roll, "params": parse_assignments(roll_param, "--roll-param")},
            "adjust": adjust,
            "fill_missing": fill_missing,
        }
    )
