"""``stratforge plugins`` and ``stratforge contracts``: what the registries hold, as a table
or as JSON for other programs."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Iterable
from typing import Annotated, Any

import typer

from stratforge.cli.common import current_settings, load_plugins, out, user_errors
from stratforge.cli.project import plugin_origins
from stratforge.core.errors import SpecError
from stratforge.plugin.params import describe_params, jsonable_default
from stratforge.plugin.registry import Registry

CONTRACT_HEADERS = (
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


def plugins(
    kind: Annotated[
        str | None, typer.Option(help="Only this kind (strategies, indicators, ...).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """List every registered strategy, indicator, sizer, analyzer and data source."""
    with user_errors():
        loaded = load_plugins()
        registries = loaded.registries
        kinds = registries.by_kind()
        if kind is not None:
            try:
                kinds = {kind: registries.kind(kind)}
            except KeyError as exc:
                raise SpecError("--kind", str(exc.args[0])) from None
    rows = plugin_rows(kinds.values())
    origins = plugin_origins(loaded, current_settings())  # a project's files are implicit
    for row in rows:
        row["origin"] = origins.get(row["plugin"], "-")
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    print_plugins(rows)


def plugin_rows(registries: Iterable[Registry[Any]]) -> list[dict[str, Any]]:
    """One row per registered entry, with its parameters and their defaults."""
    rows: list[dict[str, Any]] = []
    for registry in registries:
        for entry in registry.entries():
            params = describe_params(entry.obj)
            rows.append(
                {
                    "kind": registry.kind,
                    "name": entry.name,
                    "aliases": list(entry.aliases),
                    "plugin": entry.plugin,
                    "version": entry.plugin_version,
                    "params": {
                        p.name: None if p.required else jsonable_default(p.default) for p in params
                    },
                    "required": [p.name for p in params if p.required],
                }
            )
    return rows


def print_plugins(rows: list[dict[str, Any]]) -> None:
    from rich.table import Table

    table = Table(title="Registered plugins")
    for column in ("kind", "name", "plugin", "version", "origin", "params"):
        table.add_column(column, overflow="fold")
    for row in rows:
        params = ", ".join(
            f"{k}=<required>" if k in row["required"] else f"{k}={v!r}"
            for k, v in row["params"].items()
        )
        version, origin = row["version"] or "-", row.get("origin", "-")
        table.add_row(row["kind"], row["name"], row["plugin"], version, origin, params)
    out.print(table)


def contracts(
    exchange: Annotated[
        str | None, typer.Option(help="Only this exchange (CME, CBOT, EUREX, ICE_EU, OSE...).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """List the registered futures contract specifications."""
    with user_errors():
        entries = load_plugins().registries.contracts.entries()
        if exchange is not None:
            exchanges = sorted({e.obj.exchange for e in entries})
            entries = [e for e in entries if e.obj.exchange.upper() == exchange.upper()]
            if not entries:
                known = ", ".join(exchanges)
                raise SpecError("--exchange", f"no contracts on {exchange!r}; exchanges: {known}")
    rows = [
        {**dataclasses.asdict(e.obj), "tick_value": e.obj.tick_value, "plugin": e.plugin}
        for e in entries
    ]
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    print_contracts(rows)


def print_contracts(rows: list[dict[str, Any]]) -> None:
    from rich.table import Table

    table = Table(title="Futures contracts (margins and commissions are examples)")
    for header in CONTRACT_HEADERS:
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
