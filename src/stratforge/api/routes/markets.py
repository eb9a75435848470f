"""/markets: the market-data catalog, contract months stored in the data directory by
``stratforge data import`` (or POST /markets/import, from files under the data roots) and
read by a RunSpec with a root (source ``catalog``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, HTTPException, Response
from pydantic import BaseModel, ConfigDict, Field

from stratforge.api.deps import SessionDep, StateDep
from stratforge.api.schemas import aware
from stratforge.core.errors import SpecError
from stratforge.core.spec import MAX_TEXT, check_payload
from stratforge.data import DataValidationError
from stratforge.jobs.markets import CatalogConflict, MarketSummary, import_market, summarize
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
    expiry: dt.date | None = Field(description="Last trade date the source gave, if any.")
    source: str
    sha256: str = Field(description="Hash of the stored bars.")
    imported_at: dt.datetime


class MarketDetailOut(MarketOut):
    contract_months: list[MarketContractOut]


class MarketImportIn(BaseModel):
    """Files on the server (under its data roots) to import into the catalog."""

    format: str = Field(description="Registered data source that reads them: contracts_dir, ...")
    root: str = Field(max_length=16, description="Futures root, e.g. ES.")
    paths: list[str] = Field(
        min_length=1, max_length=100, description="Files or folders under the data roots."
    )
    args: dict[str, Any] = Field(default_factory=dict, description="Other source arguments.")
    replace: bool = Field(False, description="Replace stored contracts whose bars differ.")

    model_config = ConfigDict(
        extra="forbid",
        str_max_length=MAX_TEXT,
        json_schema_extra={
            "examples": [
                {"format": "contracts_dir", "root": "ES", "paths": ["/srv/stratforge/files/es"]}
            ]
        },
    )


class MarketImportOut(BaseModel):
    """What an import stored (full contract codes)."""

    root: str
    source: str
    added: list[str]
    replaced: list[str]
    unchanged: list[str] = Field(description="Already stored with the same bars.")


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
        expiry=row.expiry,
        source=row.source,
        sha256=row.sha256,
        imported_at=aware(row.imported_at) or row.imported_at,
    )


@router.get("", response_model=list[MarketOut])
def list_markets(session: SessionDep) -> list[MarketOut]:
    """Every stored root: contracts, date range, bar sizes, bars."""
    return [market_out(s) for s in summarize(list_market_contracts(session))]


@router.post("/import", response_model=MarketImportOut, status_code=201)
def import_markets(
    state: StateDep, session: SessionDep, body: MarketImportIn, response: Response
) -> MarketImportOut:
    """Import contract months from files under the server's data roots; 200 when every one
    was already stored, 409 for a stored month whose bars differ (unless replace), 422 for a
    bad file (nothing stored)."""
    check_payload(body.args, "args")
    try:
        outcome = import_market(
            session,
            plugins=state.plugins,
            source=body.format,
            root=body.root,
            paths=body.paths,
            args=body.args,
            replace=body.replace,
            network_roots=state.settings.network_roots(),
        )
    except CatalogConflict as exc:
        raise HTTPException(409, detail=str(exc)) from None
    except (SpecError, DataValidationError):
        raise  # 422 naming the field, or the file's rows and problems
    except (ValueError, OSError) as exc:
        message = str(exc).splitlines()[0][:500] if str(exc) else type(exc).__name__
        raise HTTPException(
            422, detail=[{"loc": ["body", "paths"], "msg": message, "type": "value_error"}]
        ) from None
    if not outcome.stored:
        response.status_code = 200
    return MarketImportOut(
        root=outcome.root,
        source=outcome.source,
        added=outcome.added,
        replaced=outcome.replaced,
        unchanged=outcome.unchanged,
    )


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
