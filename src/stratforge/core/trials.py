"""One optimisation trial: run a prepared backtest with some parameters, keep only what a
search needs (parameters, metrics, return statistics), never the strategy or its data."""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from stratforge.core.collect import recorded_values, run_metrics
from stratforge.core.engine import PreparedRun
from stratforge.core.overfitting import ReturnStats, return_stats

TrialStatus = Literal["completed", "failed", "pruned"]


class Trial(BaseModel):
    """The outcome of one parameter set."""

    number: int = Field(description="Position in the search's order of candidates.")
    params: dict[str, Any]
    status: TrialStatus
    objective: float | None = None
    metrics: dict[str, Any] | None = None
    error: str | None = None
    seconds: float = 0.0
    sharpe_per_bar: float | None = None
    skew: float | None = None
    kurtosis: float | None = None
    returns: int = 0
    blocks: list[tuple[int, float, float]] = Field(default_factory=list, repr=False)

    def stats(self) -> ReturnStats:
        return ReturnStats(
            self.sharpe_per_bar, self.skew, self.kurtosis, self.returns, tuple(self.blocks)
        )


def objective_value(metrics: dict[str, Any], metric: str) -> float | None:
    value = metrics.get(metric)
    if value is None or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def run_trial(
    prepared: PreparedRun, number: int, params: dict[str, Any], metric: str, blocks: int
) -> Trial:
    """Run one trial; an exception becomes a failed trial carrying its error."""
    started = time.perf_counter()
    try:
        _, strategy = prepared.execute(params)
        metrics = run_metrics(strategy).model_dump()
        values = recorded_values(strategy)
    except Exception as exc:  # a trial's failure must not stop the search
        return Trial(
            number=number,
            params=params,
            status="failed",
            error=_describe(exc),
            seconds=time.perf_counter() - started,
        )
    returns = np.diff(values) / values[:-1] if len(values) > 1 else np.empty(0)
    stats = return_stats(returns, blocks)
    return Trial(
        number=number,
        params=params,
        status="completed",
        objective=objective_value(metrics, metric),
        metrics=metrics,
        seconds=time.perf_counter() - started,
        sharpe_per_bar=stats.sharpe,
        skew=stats.skew,
        kurtosis=stats.kurtosis,
        returns=stats.count,
        blocks=list(stats.blocks),
    )


Batch = list[tuple[int, dict[str, Any]]]  # (trial number, params) of one task


def guided_batch_size(left: int, workers: int, most: int) -> int:
    """Trials for the next task of a queue *workers* take from in order: a share of the
    *left* still to come, at most *most*, so the last tasks hold one trial and the workers
    finish within about a trial of each other (guided self-scheduling)."""
    return max(1, min(most, math.ceil(left / (2 * workers))))


def run_trials(
    prepared: PreparedRun,
    batch: Sequence[tuple[int, dict[str, Any]]],
    metric: str,
    blocks: int,
) -> list[Trial]:
    return [run_trial(prepared, number, params, metric, blocks) for number, params in batch]


def _describe(exc: BaseException) -> str:
    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    location = f" (at {where.filename.rsplit('/', 1)[-1]}:{where.lineno})" if where else ""
    return f"{type(exc).__name__}: {exc}{location}"
