"""Request and response models of the REST API, with the examples shown in /docs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field

BACKTEST_EXAMPLE = {
    "data": {"source": "synthetic", "args": {"bars": 1500, "regime_length": 120}},
    "strategy": {"name": "sma_cross", "params": {"fast": 20, "slow": 60, "long_only": True}},
    "sizer": {"name": "percent", "params": {"percent": 95}},
    "analyzers": [{"name": "sharpe"}, {"name": "drawdown"}],
    "cash": 100000,
}
FUTURES_EXAMPLE = {
    "data": {
        "source": "synthetic",
        "root": "ES",
        "args": {"bars": 750},
        "roll": {"name": "volume"},
        "adjust": "difference",
    },
    "strategy": {"name": "sma_cross", "params": {"fast": 10, "slow": 40}},
    "cash": 200000,
}
OPTIMIZATION_EXAMPLE = {
    "base": {"strategy": {"name": "sma_cross"}, "data": {"args": {"bars": 1000}}},
    "space": {
        "fast": {"kind": "int", "start": 5, "stop": 30, "step": 5},
        "slow": {"kind": "int", "start": 40, "stop": 120, "step": 20},
    },
    "constraints": ["fast < slow"],
    "metric": "sharpe",
    "maximize": True,
}
WALKFORWARD_EXAMPLE = {"search": OPTIMIZATION_EXAMPLE, "train": 400, "test": 200}


class Links(BaseModel):
    self: str
    events: str


class JobOut(BaseModel):
    """The state of a job; ``links`` lead to its events and results."""

    id: str
    kind: str
    status: str
    strategy: str
    progress: float
    message: str | None
    error: str | None
    attempts: int
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    data: str = Field(description="What the job reads, in a few words.")
    spec: dict[str, Any] | None = Field(description="The submitted spec (left out of listings).")
    links: dict[str, str]


class BacktestOut(JobOut):
    metrics: dict[str, Any] | None
    cached_from: str | None = Field(
        None,
        description="Set when the result cache served this backtest: the id of the job whose "
        "stored result (identical spec, data and code) it shares; null when it ran.",
    )


class OptimizationOut(JobOut):
    trials_done: int
    trials_failed: int
    trials_total: int | None
    best: dict[str, Any] | None
    summary: dict[str, Any] | None


class CacheOut(BaseModel):
    """The result cache: identical runs served from stored ones (docs/api.md)."""

    enabled: bool = Field(description="STRATFORGE_RESULT_CACHE.")
    max_entries: int = Field(description="STRATFORGE_RESULT_CACHE_MAX_ENTRIES.")
    entries: int
    backtests: int = Field(description="Entries naming a stored backtest.")
    trials: int = Field(description="Entries holding a search trial.")
    hits: int = Field(description="Times the entries held now were served.")
    oldest_use: dt.datetime | None = Field(description="Least recent use of an entry.")


class CacheCleared(BaseModel):
    cleared: int = Field(description="Entries forgotten; stored jobs and results stay.")


class Page(BaseModel):
    items: list[Any]
    total: int
    limit: int
    offset: int


class TrialOut(BaseModel):
    number: int
    status: str
    params: dict[str, Any]
    objective: float | None
    metrics: dict[str, Any] | None
    error: str | None
    seconds: float


def aware(value: dt.datetime | None) -> dt.datetime | None:
    """Timestamps of events are UTC; some databases hand them back without the offset."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


class DatasetOut(BaseModel):
    id: str
    name: str
    filename: str
    sha256: str
    format: str
    rows: int
    first: str | None = Field(description="First bar, market time (no offset).")
    last: str | None = Field(description="Last bar, market time (no offset).")
    size_bytes: int
    created_at: dt.datetime
    use_in_spec: dict[str, Any] = Field(description="How a RunSpec reads this dataset.")


class ParamSchemaOut(BaseModel):
    name: str
    required: bool
    schema_: dict[str, Any] = Field(alias="schema", serialization_alias="schema")


class PluginOut(BaseModel):
    kind: str
    name: str
    aliases: list[str]
    plugin: str
    version: str | None
    description: str | None
    params_schema: dict[str, Any] = Field(description="JSON Schema of the parameters.")


class Health(BaseModel):
    status: str
    database: str
    ray: str
    queue: dict[str, int]


class Version(BaseModel):
    stratforge: str
    backtrader: str
    python: str
    api: str = "v1"
