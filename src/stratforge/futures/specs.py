"""The built-in contract specifications, registered as a plugin under their roots.

The specs are DATA: ``stratforge/futures/data/contracts.toml``, one table per root (more
than 120 roots: CME Group, Cboe CFE, ICE US and Europe, Eurex, JPX/OSE, SGX, HKEX, ASX,
KRX), each fact with its source (the exchange's contract specification page, by name).
Multipliers, tick sizes, listed month cycles, exchanges and expiry rules are public exchange
facts. The margins (as of ``margin_as_of``) and the per-contract, per-side commissions are
EXAMPLE figures only, rounded, in the contract's currency: exchanges change margins often and
brokers charge their own rates, so override them with your broker's numbers before trusting
any margin or cost figure. Nothing here is trading advice.

:data:`BUILTIN_SPECS` holds the twenty original roots (ES, CL, ZN, FESX, ...), registered by
:func:`register_contracts`; :data:`DATABASE_SPECS` holds every row, and
:func:`register_contract_database` registers the others through the same hook. A plugin adds
a root, or replaces one with ``register(spec, name="ES", replace=True)``; it can read its own
file in the same format with :func:`load_contract_database`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stratforge.futures.contracts import ContractSpec
from stratforge.plugin import hookimpl

if TYPE_CHECKING:
    from stratforge.plugin.registry import Register

__all__ = [
    "BUILTIN_SPECS",
    "DATABASE_SPECS",
    "SPEC_FACTS",
    "load_contract_database",
    "register_contract_database",
    "register_contracts",
]

DATABASE_FILE = "contracts.toml"
"""The database's file name, in the ``stratforge/futures/data`` folder."""

SPEC_FACTS = (
    "name",
    "exchange",
    "currency",
    "multiplier",
    "tick_size",
    "tick_value",
    "months",
    "expiry_rule",
    "settlement",
)
"""Exchange facts sourced from a row's ``source`` (its contract specification page)."""
MARGIN_FACTS = ("initial_margin", "maintenance_margin", "margin_as_of")
"""Facts sourced from a row's ``margin_source``."""

_REQUIRED = (
    *(fact for fact in SPEC_FACTS if fact != "tick_value"),
    "calendar",
    "initial_margin",
    "maintenance_margin",
    "commission",
    "source",
    "margin_source",
)
_OPTIONAL = ("tick_value", "first_notice_rule", "margin_as_of", "notes", "sources")

_CORE_ROOTS = (
    *("ES", "NQ", "YM", "RTY", "MES", "MNQ", "CL", "NG", "GC", "SI"),
    *("HG", "ZB", "ZN", "ZF", "ZC", "ZS", "ZW", "6E", "6J", "FESX"),
)


def _spec(root: str, row: Mapping[str, Any], meta: Mapping[str, Any]) -> ContractSpec:
    missing = [key for key in _REQUIRED if key not in row]
    unknown = sorted(set(row) - set(_REQUIRED) - set(_OPTIONAL))
    if missing or unknown:
        raise ValueError(f"contract {root!r}: missing {missing}, unknown keys {unknown}")
    margin_as_of = str(row.get("margin_as_of", meta.get("margin_as_of", "")))
    first_notice_rule = row.get("first_notice_rule")
    calendar_sources: Mapping[str, str] = meta.get("calendar_sources", {})
    sources = {fact: str(row["source"]) for fact in SPEC_FACTS}
    if first_notice_rule is not None:
        sources["first_notice_rule"] = str(row["source"])
    sources.update({fact: str(row["margin_source"]) for fact in MARGIN_FACTS})
    sources["calendar"] = calendar_sources.get(row["calendar"], "")
    sources["commission"] = str(meta.get("commission_source", ""))
    sources.update(row.get("sources", {}))  # a row may name a different page per fact
    return ContractSpec(
        root=root,
        name=row["name"],
        exchange=row["exchange"],
        currency=row["currency"],
        multiplier=row["multiplier"],
        tick_size=row["tick_size"],
        months=row["months"],
        expiry_rule=row["expiry_rule"],
        initial_margin=row["initial_margin"],
        maintenance_margin=row["maintenance_margin"],
        margin_as_of=margin_as_of,
        commission=row["commission"],
        description=row.get("notes", ""),
        settlement=row["settlement"],
        first_notice_rule=first_notice_rule,
        calendar=row["calendar"],
        sources=sources,
    )


def load_contract_database(path: str | Path | None = None) -> tuple[ContractSpec, ...]:
    """The specs of a contract database file (default: the built-in one), in file order.

    The format: a ``[meta]`` table (``margin_as_of``, ``commission_source``,
    ``[meta.calendar_sources]``) and one ``[contracts.<ROOT>]`` table per root."""
    if path is None:
        text = resources.files("stratforge.futures").joinpath("data", DATABASE_FILE).read_text()
    else:
        text = Path(path).read_text(encoding="utf-8")
    data = tomllib.loads(text)
    meta = data.get("meta", {})
    return tuple(_spec(str(root), row, meta) for root, row in data["contracts"].items())


DATABASE_SPECS: tuple[ContractSpec, ...] = load_contract_database()
"""Every spec of the built-in database, in file order."""

_BY_ROOT = {spec.root: spec for spec in DATABASE_SPECS}
BUILTIN_SPECS: tuple[ContractSpec, ...] = tuple(_BY_ROOT[root] for root in _CORE_ROOTS)
"""The twenty original built-in specs (ES ... FESX), in registration order."""


@hookimpl
def register_contracts(register: Register) -> None:
    """Register each original built-in spec under its root (``ES``, ``CL``, ``FESX``...)."""
    for spec in BUILTIN_SPECS:
        register(spec, name=spec.root)


@hookimpl(specname="register_contracts")
def register_contract_database(register: Register) -> None:
    """Register the rest of the contract database (6A, SR3, FGBL, VX, NK225, HSI...)."""
    for spec in DATABASE_SPECS:
        if spec.root not in _CORE_ROOTS:
            register(spec, name=spec.root)
