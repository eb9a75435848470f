"""The market-data catalog: contract months kept as Parquet in the data directory, one file
per contract under ``<data_dir>/markets/<ROOT>/<CONTRACT>.parquet`` (``ES/ESZ2023.parquet``).

This module owns the layout and the reading: ``MarketCatalog`` (handed to the ``catalog``
source by the engine, from the run's settings, never by the user) and the ``catalog`` data
source that returns a root's stored chain. Importing (validation, the index table, replacing)
is the jobs service's (``stratforge.jobs.markets``); the index rows are the store's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from stratforge.futures.chain import ContractChain
from stratforge.futures.contracts import ContractCodeError, ContractId, ContractSpec
from stratforge.plugin import hookimpl
from stratforge.plugin.registry import Register

__all__ = ["MarketCatalog", "bar_size", "catalog", "frame_sha256", "register_data_sources"]

_ROOT = re.compile(r"^[A-Z0-9]{1,16}$")
_STAGED = ".staged-"
_EXPIRY = "stratforge_expiry"
"""Key of a contract's last trade date in its file's metadata, when the source knew it."""


@dataclass(frozen=True)
class MarketCatalog:
    """Where imported contract months are kept. Paths are only ever built from a checked
    root and a parsed contract, so nothing a client sends reaches the filesystem as a path."""

    data_dir: Path
    engine_supplied: ClassVar[bool] = True

    @property
    def directory(self) -> Path:
        return self.data_dir / "markets"

    def root_dir(self, root: str) -> Path:
        if not _ROOT.match(root):
            raise ValueError(f"{root!r} is not a futures root (capital letters and digits)")
        return self.directory / root

    def path(self, contract: ContractId) -> Path:
        return self.root_dir(contract.root) / f"{contract.format('full')}.parquet"

    def roots(self) -> list[str]:
        """Roots with at least one stored contract, in name order."""
        if not self.directory.is_dir():
            return []
        return sorted(
            d.name for d in self.directory.iterdir() if _ROOT.match(d.name) and self.has(d.name)
        )

    def contracts(self, root: str) -> list[ContractId]:
        """The stored contracts of *root*, in expiry order."""
        directory = self.root_dir(root)
        if not directory.is_dir():
            return []
        found = []
        for file in directory.glob("*.parquet"):
            try:
                contract = ContractId.parse(file.stem)
            except ContractCodeError:
                continue
            if contract.root == root and file.name == f"{contract.format('full')}.parquet":
                found.append(contract)
        return sorted(found)

    def has(self, root: str) -> bool:
        return _ROOT.match(root) is not None and bool(self.contracts(root))

    def read(self, contract: ContractId) -> tuple[pd.DataFrame, dt.date | None]:
        """A stored contract's bars and the last trade date its source gave, if any."""
        path = self.path(contract)
        if not path.is_file():
            raise FileNotFoundError(f"{contract} is not in the market catalog")
        frame = pd.read_parquet(path)
        expiry = frame.attrs.pop(_EXPIRY, None)
        frame.attrs.clear()
        return frame, dt.date.fromisoformat(expiry) if expiry else None

    def chain(self, spec: ContractSpec) -> ContractChain:
        """Every stored contract month of *spec*'s root as one chain (with the last trade
        dates the sources gave; the others come from the root's calendar)."""
        contracts = self.contracts(spec.root)
        if not contracts:
            raise FileNotFoundError(
                f"no {spec.root} contracts in the market catalog; import some with "
                f"`stratforge data import --format contracts_dir --root {spec.root} DIR`"
            )
        frames, expiries = {}, {}
        for contract in contracts:
            frames[contract], expiry = self.read(contract)
            if expiry is not None:
                expiries[contract] = expiry
        return ContractChain(spec, frames, expiries)

    def stage(
        self, contract: ContractId, frame: pd.DataFrame, expiry: dt.date | None = None
    ) -> Path:
        """Write *frame* (and *expiry*, the source's last trade date) to a temporary file
        beside its place (moved there by ``put``)."""
        final = self.path(contract)
        final.parent.mkdir(parents=True, exist_ok=True)
        staged = final.with_name(f"{_STAGED}{uuid.uuid4().hex}-{final.name}")
        written = frame.copy(deep=False)
        written.attrs = {_EXPIRY: expiry.isoformat()} if expiry is not None else {}
        written.to_parquet(staged)
        return staged

    def put(self, staged: Path, contract: ContractId) -> Path | None:
        """Move a staged file into place; the file it replaces, if any, is kept aside and
        its path returned (``restore`` puts it back, ``discard`` removes it)."""
        final = self.path(contract)
        previous = None
        if final.exists():
            previous = final.with_name(f"{_STAGED}{uuid.uuid4().hex}-old-{final.name}")
            os.replace(final, previous)
        os.replace(staged, final)
        return previous

    def restore(self, contract: ContractId, previous: Path | None) -> None:
        final = self.path(contract)
        if previous is None:
            final.unlink(missing_ok=True)
        else:
            os.replace(previous, final)

    @staticmethod
    def discard(path: Path | None) -> None:
        if path is not None:
            path.unlink(missing_ok=True)


def frame_sha256(frame: pd.DataFrame) -> str:
    """A hash of a canonical frame's timestamps and values (not of the file it came from:
    the same bars from a CSV or a Parquet file hash the same)."""
    digest = hashlib.sha256(pd.DatetimeIndex(frame.index).as_unit("us").asi8.tobytes())
    for column in frame.columns:
        digest.update(str(column).encode())
        digest.update(np.ascontiguousarray(frame[column].to_numpy(np.float64)).tobytes())
    return digest.hexdigest()


def bar_size(index: pd.DatetimeIndex) -> str:
    """The bar size from the median spacing: "1 day", "5 minutes", "1 week"."""
    step = pd.Series(index).diff().median()
    seconds = step.total_seconds() if pd.notna(step) else 86400.0
    if seconds >= 28 * 86400:
        return "1 month"
    if seconds >= 7 * 86400:
        return "1 week"
    if seconds >= 86400:
        return "1 day"
    if seconds >= 3600 and seconds % 3600 == 0:
        count, unit = round(seconds / 3600), "hour"
    elif seconds >= 60:
        count, unit = max(1, round(seconds / 60)), "minute"
    else:
        count, unit = max(1, round(seconds)), "second"
    return f"{count} {unit}" + ("s" if count > 1 else "")


def catalog(
    *, contract: ContractSpec | None = None, markets: MarketCatalog | None = None
) -> ContractChain:
    """The contract months of the data spec's root stored in the market catalog
    (`stratforge data import`); a spec with a root and no source uses it when it is there.

    Args:
        contract: Supplied by the engine: the data spec's root.
        markets: Supplied by the engine from the run's settings (the data directory); not a
            parameter a spec can set.
    """
    if contract is None:
        raise ValueError("the catalog source loads futures: set the data spec's root (e.g. ES)")
    if markets is None:
        raise ValueError("the catalog source reads the data directory; run it through the engine")
    return markets.chain(contract)


@hookimpl
def register_data_sources(register: Register) -> None:
    """Register the catalog source exactly like a third-party plugin would."""
    register(catalog, name="catalog")
