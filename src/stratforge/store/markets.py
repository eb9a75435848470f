"""Store functions for the market-data catalog's index: one row per stored contract month.

The bars themselves are Parquet files laid out by ``stratforge.futures.catalog``; a row and
its file are written together by ``store_contracts`` (files moved into place, then the rows
committed; on any failure the files are put back as they were)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, col, select

from stratforge.futures.catalog import MarketCatalog
from stratforge.futures.contracts import ContractId
from stratforge.store.tables import MarketContract, utcnow


@dataclass(frozen=True)
class StagedContract:
    """A validated contract month written to a temporary file, waiting to be stored."""

    contract: ContractId
    staged: Path
    row: MarketContract


def list_market_contracts(session: Session, *, root: str | None = None) -> list[MarketContract]:
    """Every stored contract (of *root*), by root, then in expiry order."""
    query = select(MarketContract)
    if root is not None:
        query = query.where(col(MarketContract.root) == root)
    rows = list(session.exec(query).all())
    return sorted(rows, key=lambda r: (r.root, ContractId.parse(r.contract)))


def market_roots(session: Session) -> list[str]:
    query = select(MarketContract.root).distinct().order_by(col(MarketContract.root))
    return list(session.exec(query).all())


def get_market_contract(session: Session, *, root: str, contract: str) -> MarketContract | None:
    query = select(MarketContract).where(
        col(MarketContract.root) == root, col(MarketContract.contract) == contract
    )
    return session.exec(query).first()


def store_contracts(
    session: Session, *, catalog: MarketCatalog, staged: list[StagedContract]
) -> None:
    """Move every staged file into place and commit their rows, or change nothing: a row
    already stored for a contract is updated (its file replaced), others are added."""
    moved: list[tuple[ContractId, Path | None]] = []
    try:
        for item in staged:
            existing = get_market_contract(session, root=item.row.root, contract=item.row.contract)
            if existing is None:
                session.add(item.row)
            else:
                for name in ("first", "last", "bars", "bar_size", "expiry", "source", "sha256"):
                    setattr(existing, name, getattr(item.row, name))
                existing.imported_at = utcnow()
                session.add(existing)
        session.flush()
        for item in staged:
            moved.append((item.contract, catalog.put(item.staged, item.contract)))
        session.commit()
    except BaseException:
        session.rollback()
        for contract, previous in reversed(moved):
            catalog.restore(contract, previous)
        for item in staged:
            catalog.discard(item.staged)
        raise
    for _, previous in moved:
        catalog.discard(previous)
