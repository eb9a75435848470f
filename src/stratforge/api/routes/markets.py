"""/markets: the market-data catalog, contract months stored in the data directory by
``stratforge data import`` and read by a RunSpec with a root (source ``catalog``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from stratforge.api.deps import SessionDep
from stratforge.api.schemas import aware
from stratforge.jobs.markets import MarketSummary, summarize
from stratforge.store.markets import list_market_contracts, market_roots
from stratforge.store.tables import MarketContract

router = APIRouter(prefix="/markets", tags=["futures"])


class MarketOut(BaseModel):
    """One root of the catalog."""

    root: str
    contracts: list[str] = Field(description="Stored contract months, in expiry order.")
    first: str = Field(description="First bar of any contract, market time (no offset).")
    last: str = Field(description="Last bar of any contract, market time (no offset).")
    bars: int = Field(description="Bars of every contract together.")
    bar_sizes: list[str] = Field(description='e.g. ["1 day"].')
    sources: list[str] = Field(description="The data sources the contracts were read with.")
    use_in_spec: dict[str, Any] = Field(description="How a RunSpec reads this root.")


class MarketContractOut(BaseModel):
    """One stored contract month."""

    contract: str = Field(description="Full code, e.g. ESZ2023.")
    first: str = Field(description="First bar, market time (no offset).")
    last: str = Field(description="Last bar, market time (no offset).")
    bars: int
    bar_size: str
    source: str
    sha256: str = Field(description="Hash of the stored bars.")
    imported_at: dt.datetime


class MarketDetailOut(MarketOut):
    contract_months: list[MarketContractOut]


def market_out(summary: MarketSummary) -> MarketOut:
    return MarketOut(
        root=summary.root,
        contracts=summary.contracts,
        first=summary.first.isoformat(),
        last=summary.last.isoformat(),
        bars=summary.bars,
        bar_sizes=summary.bar_sizes,
        sources=summary.sources,
        use_in_spec={"root": summary.root},
    )


def contract_out(row: MarketContract) -> MarketContractOut:
    return MarketContractOut(
        contract=row.contract,
        first=row.first.isoformat(),
        last=row.last.isoformat(),
        bars=row.bars,
        bar_size=row.bar_size,
        source=row.source,
        sha256=row.sha256,
        imported_at=aware(row.imported_at) or row.imported_at,
    )


@router.get("", response_model=list[MarketOut])
def list_markets(session: SessionDep) -> list[MarketOut]:
    """Every stored root: contracts, date range, bar sizes, bars."""
    return [market_out(s) for s in summarize(list_market_contracts(session))]


@router.get("/{root}", response_model=MarketDetailOut)
def get_market(session: SessionDep, root: str) -> MarketDetailOut:
    """One root with each of its stored contract months."""
    rows = list_market_contracts(session, root=root)
    if not rows:
        stored = market_roots(session)
        known = ", ".join(stored) if stored else "none yet (stratforge data import)"
        raise HTTPException(404, detail=f"no {root!r} in the market catalog; stored: {known}")
    summary = market_out(summarize(rows)[0])
    return MarketDetailOut(**summary.model_dump(), contract_months=[contract_out(r) for r in rows])
