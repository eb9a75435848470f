"""Tables. JSON columns hold specs and summaries; whole results live in blobs (see blobs.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import NaiveDatetime
from sqlalchemy import JSON, DateTime, UniqueConstraint
from sqlmodel import Field, SQLModel

JOB_STATES = ("queued", "running", "completed", "failed", "cancelled")
FINISHED = ("completed", "failed", "cancelled")
STATUSES = ("queued", "running", *FINISHED)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _json() -> Any:
    """A nullable JSON column (``sa_type`` so subclasses each get their own column)."""
    return Field(default=None, sa_type=JSON)


class Dataset(SQLModel, table=True):
    """An uploaded CSV/Parquet file, validated and kept as canonical Parquet by content hash."""

    __tablename__ = "datasets"

    id: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=200)
    filename: str = Field(max_length=255)
    sha256: str = Field(index=True, unique=True, max_length=64)
    format: str = Field(max_length=16)
    rows: int
    first: NaiveDatetime | None = Field(default=None, description="First bar (market time).")
    last: NaiveDatetime | None = Field(default=None, description="Last bar (market time).")
    size_bytes: int
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class _Job(SQLModel):
    """What every job row has: identity, lifecycle, idempotency and the datasets it reads."""

    id: str = Field(primary_key=True, max_length=40)
    status: str = Field(default="queued", index=True, max_length=16)
    spec: dict[str, Any] = Field(sa_type=JSON, nullable=False)
    idempotency_key: str | None = Field(default=None, unique=True, max_length=200)
    body_sha256: str | None = Field(default=None, max_length=64)
    progress: float = 0.0
    message: str | None = Field(default=None, max_length=500)
    attempts: int = 0
    error: str | None = None
    datasets: list[str] | None = _json()
    data: str | None = Field(
        default=None, max_length=500, description="What the job reads, for listings."
    )
    result_blob: str | None = Field(default=None, index=True, max_length=64)
    created_at: dt.datetime = Field(
        default_factory=utcnow, index=True, sa_type=DateTime(timezone=True)
    )
    started_at: dt.datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    finished_at: dt.datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class BacktestRun(_Job, table=True):
    __tablename__ = "backtests"

    strategy: str = Field(index=True, max_length=200)
    metrics: dict[str, Any] | None = _json()
    cached_from: str | None = Field(
        default=None,
        max_length=40,
        description="The job whose stored result this one was served from (result cache).",
    )


class Optimization(_Job, table=True):
    """A parameter search (``kind`` optimize) or a walk-forward analysis (``walkforward``)."""

    __tablename__ = "optimizations"

    kind: str = Field(default="optimize", index=True, max_length=16)
    strategy: str = Field(index=True, max_length=200)
    trials_done: int = 0
    trials_failed: int = 0
    trials_total: int | None = None
    best: dict[str, Any] | None = _json()
    summary: dict[str, Any] | None = _json()


class TrialRow(SQLModel, table=True):
    """One finished (or pruned) trial of an optimisation."""

    __tablename__ = "trials"
    __table_args__ = (UniqueConstraint("optimization_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    optimization_id: str = Field(foreign_key="optimizations.id", index=True, max_length=40)
    number: int
    status: str = Field(max_length=16)
    params: dict[str, Any] = Field(sa_type=JSON, nullable=False)
    objective: float | None = None
    metrics: dict[str, Any] | None = _json()
    error: str | None = None
    seconds: float = 0.0


class MarketContract(SQLModel, table=True):
    """One contract month in the market catalog: its Parquet file is
    ``<data_dir>/markets/<root>/<contract>.parquet`` (see ``stratforge.futures.catalog``)."""

    __tablename__ = "market_contracts"
    __table_args__ = (UniqueConstraint("root", "contract"),)

    id: int | None = Field(default=None, primary_key=True)
    root: str = Field(index=True, max_length=16)
    contract: str = Field(max_length=24, description="Full code, e.g. ESZ2023.")
    first: NaiveDatetime = Field(description="First bar (market time).")
    last: NaiveDatetime = Field(description="Last bar (market time).")
    bars: int
    bar_size: str = Field(max_length=32, description='e.g. "1 day", "5 minutes".')
    expiry: dt.date | None = Field(default=None, description="Last trade date from the source.")
    source: str = Field(max_length=200, description="The data source that read the files.")
    sha256: str = Field(max_length=64, description="Hash of the stored bars.")
    imported_at: dt.datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class CachedResult(SQLModel, table=True):
    """One entry of the result cache: a run's content key (``core.cache_key``) and where its
    result is. A backtest's entry names the job that computed it and that job's result blob
    (the cache owns no storage: a job served from it shares the blob, counted by
    ``blob_in_use``); a search trial's entry holds the trial itself, a few numbers."""

    __tablename__ = "result_cache"

    key: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=16, description="backtest or trial.")
    job_id: str | None = Field(
        default=None, max_length=40, description="The job that computed the result."
    )
    result_blob: str | None = Field(default=None, max_length=64)
    trial: dict[str, Any] | None = _json()
    hits: int = 0
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    used_at: dt.datetime = Field(
        default_factory=utcnow, index=True, sa_type=DateTime(timezone=True)
    )
