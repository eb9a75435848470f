"""Importing market data into the catalog: one use-case for ``stratforge data import`` and
the REST API.

A registered data source (``--format``: ``contracts_dir`` or any source with a ``path``
and a ``ContractSpec`` parameter) reads the files into a contract chain; every contract
month is validated, written to a temporary file and only when all of them are good moved
into ``<data_dir>/markets/<ROOT>/`` with its index row. The same bars imported again are
stored once; different bars for a stored contract replace it only when asked to.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlmodel import Session

from stratforge.core.errors import SpecError
from stratforge.core.load import call_source
from stratforge.core.plugins import Plugins
from stratforge.core.resolve import ResolvedData, resolve_data
from stratforge.core.spec import DataSpec
from stratforge.data.validation import validate_frame
from stratforge.futures.catalog import MarketCatalog, bar_size, frame_sha256
from stratforge.futures.chain import ContractChain
from stratforge.futures.contracts import ContractId
from stratforge.jobs.files import path_outside
from stratforge.store.markets import StagedContract, list_market_contracts, store_contracts
from stratforge.store.tables import MarketContract

__all__ = [
    "CatalogConflict",
    "ImportOutcome",
    "MarketSummary",
    "import_market",
    "read_chain",
    "summarize",
]

OUTSIDE_ROOTS = (
    "this server reads files only from its data folders (STRATFORGE_DATA_ROOTS): put the "
    "files there and give their paths, or import them on the server with stratforge data import"
)


class CatalogConflict(ValueError):
    """A stored contract month whose bars differ from the import's (and no replace)."""


@dataclass
class ImportOutcome:
    """What an import did, contract by contract (full codes, e.g. ESZ2023)."""

    root: str
    source: str
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def stored(self) -> int:
        return len(self.added) + len(self.replaced)

    def summary(self) -> str:
        parts = [f"{len(self.added)} added"]
        if self.replaced:
            parts.append(f"{len(self.replaced)} replaced")
        parts.append(f"{len(self.unchanged)} already stored")
        return f"{self.root} from {self.source}: " + ", ".join(parts)


def read_chain(
    plugins: Plugins,
    *,
    source: str,
    root: str,
    paths: Sequence[str | Path],
    args: dict[str, Any] | None = None,
    network_roots: Sequence[Path] | None = None,
) -> ContractChain:
    """The contract months the source reads from every path, as one chain of *root*.
    With *network_roots* (a request from the network) every file the source would read
    must lie under them."""
    if not paths:
        raise SpecError("paths", "give at least one file or folder to import")
    frames: dict[ContractId, pd.DataFrame] = {}
    expiries: dict[ContractId, dt.date] = {}
    spec = None
    for path in paths:
        data = DataSpec(source=source, root=root, args={**(args or {}), "path": str(path)})
        # Importing stores prices as quoted: no account currency, so no FX source is needed.
        quoted = _quoted_currency(plugins, root)
        try:
            resolved = resolve_data(data, plugins.registries, where="import", currency=quoted)
        except SpecError as exc:  # named as the import's options are
            raise SpecError(_option(exc.field), exc.message) from None
        if network_roots is not None:
            _check_paths(resolved, list(network_roots))
        chain = call_source(resolved.source, resolved)
        if not isinstance(chain, ContractChain):
            raise SpecError("format", f"{source!r} did not return a contract chain")
        spec = chain.spec
        for contract, frame in chain.frames.items():
            if contract in frames:
                raise ValueError(f"contract {contract} appears twice (again in {path})")
            frames[contract] = frame
        expiries.update({c: d for c, d in chain.expiries.items() if c in chain.frames})
    assert spec is not None
    return ContractChain(spec, frames, expiries)


def _quoted_currency(plugins: Plugins, root: str) -> str:
    """The currency the root is quoted in (USD for a root that is not registered: resolving
    then names the unknown root, with suggestions)."""
    contracts = plugins.registries.contracts
    return contracts.get(root).currency if root in contracts else "USD"


def import_market(
    session: Session,
    *,
    plugins: Plugins,
    source: str,
    root: str,
    paths: Sequence[str | Path],
    args: dict[str, Any] | None = None,
    replace: bool = False,
    network_roots: Sequence[Path] | None = None,
) -> ImportOutcome:
    """Read, validate and store *root*'s contract months from *paths* with *source*.

    Raises ``SpecError``/``ValueError``/``OSError`` (nothing stored) for a bad file or a
    stored contract whose bars differ (``CatalogConflict``), unless *replace*."""
    chain = read_chain(
        plugins, source=source, root=root, paths=paths, args=args, network_roots=network_roots
    )
    catalog = MarketCatalog(plugins.settings.data_dir)
    stored = {row.contract: row for row in list_market_contracts(session, root=chain.root)}
    outcome = ImportOutcome(root=chain.root, source=source)
    rows: list[tuple[ContractId, pd.DataFrame, MarketContract]] = []  # to store
    for contract in sorted(chain.frames):
        frame = validate_frame(chain.frames[contract], origin=f"{contract}").frame
        if len(frame) == 0:
            continue
        row = _row(chain.root, contract, frame, source, chain.expiries.get(contract))
        previous = stored.get(row.contract)
        if previous is not None and previous.sha256 == row.sha256:
            outcome.unchanged.append(row.contract)
            continue
        if previous is not None and not replace:
            raise CatalogConflict(
                f"{row.contract} is already in the market catalog with different bars "
                f"(imported {previous.imported_at:%Y-%m-%d} from {previous.source}); "
                "nothing was stored: import with replace (--replace) to replace it"
            )
        (outcome.replaced if previous is not None else outcome.added).append(row.contract)
        rows.append((contract, frame, row))
    if not outcome.added and not outcome.replaced and not outcome.unchanged:
        raise ValueError(f"{source!r} read no bars of {root} from the given paths")
    staged: list[StagedContract] = []
    try:
        for contract, frame, row in rows:
            path = catalog.stage(contract, frame, row.expiry)
            staged.append(StagedContract(contract, path, row))
    except BaseException:
        for item in staged:
            catalog.discard(item.staged)
        raise
    store_contracts(session, catalog=catalog, staged=staged)
    return outcome


def _option(field: str) -> str:
    """``import.source`` -> ``format``, ``import.args.path`` -> ``paths``, ``import.args.x``
    -> ``args.x``, ``import.root`` -> ``root``."""
    name = field.removeprefix("import.")
    if name == "source":
        return "format"
    if name in ("args.path", "path"):
        return "paths"
    return name


def _check_paths(resolved: ResolvedData, roots: list[Path]) -> None:
    """Every declared path parameter of the source under *roots* (the path is not echoed)."""
    name = path_outside(resolved.source, roots)
    if name is not None:
        raise SpecError("paths" if name == "path" else f"args.{name}", OUTSIDE_ROOTS)


def _row(
    root: str, contract: ContractId, frame: pd.DataFrame, source: str, expiry: dt.date | None
) -> MarketContract:
    index = pd.DatetimeIndex(frame.index)
    digest = frame_sha256(frame)
    if expiry is not None:  # a revised last trade date is a change too
        digest = hashlib.sha256(f"{digest} {expiry.isoformat()}".encode()).hexdigest()
    return MarketContract(
        root=root,
        contract=contract.format("full"),
        first=index[0].to_pydatetime(),
        last=index[-1].to_pydatetime(),
        bars=len(frame),
        bar_size=bar_size(index),
        expiry=expiry,
        source=source,
        sha256=digest,
    )


@dataclass(frozen=True)
class MarketSummary:
    """One root of the catalog in a line: what ``data list`` and GET /markets show."""

    root: str
    contracts: list[str]
    first: pd.Timestamp
    last: pd.Timestamp
    bars: int
    bar_sizes: list[str]
    sources: list[str]


def summarize(rows: Sequence[MarketContract]) -> list[MarketSummary]:
    """The rows (in root, then expiry order) grouped by root."""
    by_root: dict[str, list[MarketContract]] = {}
    for row in rows:
        by_root.setdefault(row.root, []).append(row)
    return [
        MarketSummary(
            root=root,
            contracts=[r.contract for r in group],
            first=pd.Timestamp(min(r.first for r in group)),
            last=pd.Timestamp(max(r.last for r in group)),
            bars=sum(r.bars for r in group),
            bar_sizes=sorted({r.bar_size for r in group}),
            sources=sorted({r.source for r in group}),
        )
        for root, group in by_root.items()
    ]
