"""Parameter searches: the spec, the optimizer protocol and the driver loop.

The driver asks the search method for candidates, drops those that break a constraint
(recorded as ``pruned``, never run), sends the rest to an executor in batches, and streams
finished trials to a callback. Only trial parameters, metrics and return statistics are
kept, so memory does not grow with what the strategies allocate.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

from stratforge.core.cache_key import run_key
from stratforge.core.components import resolve_component
from stratforge.core.engine import PreparedRun, prepare
from stratforge.core.errors import SpecError
from stratforge.core.overfitting import (
    DeflatedSharpe,
    OverfittingProbability,
    deflated_sharpe,
    probability_of_overfitting,
)
from stratforge.core.plugins import Plugins
from stratforge.core.results import Metrics
from stratforge.core.spec import MAX_TEXT, ComponentSpec, RunSpec
from stratforge.core.trials import Batch, Trial, guided_batch_size, objective_value
from stratforge.optimizers.search import Optimizer, SearchContext
from stratforge.optimizers.space import Constraint, ConstraintError, Dimension, grid_size
from stratforge.plugin.params import describe_params
from stratforge.plugin.registry import did_you_mean

METRICS = tuple(Metrics.model_fields)
MAX_FRUITLESS_ASKS = 50
MAX_BATCH = 16  # results (and progress) arrive at least every 16 trials per worker
LOOKAHEAD = 2048  # trials in flight for a method that does not adapt (bounds its memory)
ExecutorName = Literal["serial", "ray"]


class OptimizeSpec(BaseModel):
    """A search: the base run, the parameter space, the method and what to optimise."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_max_length=MAX_TEXT)

    base: RunSpec
    space: dict[str, Dimension] = Field(min_length=1, description="Strategy params to search.")
    method: ComponentSpec = Field(default_factory=lambda: ComponentSpec(name="grid"))
    metric: str = Field("sharpe", description="A RunResult metric (see Metrics).")
    maximize: bool = True
    constraints: list[str] = Field(
        default_factory=list, max_length=50, description='e.g. "fast < slow"'
    )
    trials: int | None = Field(None, ge=1, description="Budget of trials to run.")
    seed: int = Field(0, ge=0, le=2**63 - 1, description="Seed of the search method.")
    executor: ExecutorName = "serial"
    workers: int | None = Field(None, ge=1, description="Ray workers (default: all CPUs).")
    pbo_blocks: int = Field(
        16, ge=0, description="CSCV blocks for the PBO (even; 0 turns the PBO off)."
    )

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, metric: str) -> str:
        if metric not in METRICS:
            raise ValueError(f"metric {metric!r} unknown; {did_you_mean(metric, METRICS)}")
        return metric

    @field_validator("pbo_blocks")
    @classmethod
    def _even_blocks(cls, blocks: int) -> int:
        if blocks % 2:
            raise ValueError("pbo_blocks must be even")
        return blocks


class Executor(Protocol):
    """Runs batches of trials; results come back as batches finish."""

    def start(self, prepared: PreparedRun) -> None: ...
    def submit(self, batch: Batch, metric: str, blocks: int) -> None: ...
    def wait(self, timeout: float | None) -> list[Trial]: ...
    def pending(self) -> int: ...
    def capacity(self) -> int: ...
    def cancel(self) -> None: ...
    def stop(self) -> None: ...
    def close(self) -> None: ...


@dataclass
class Progress:
    """Where a search stands, for progress bars and status endpoints."""

    done: int = 0
    failed: int = 0
    pruned: int = 0
    total: int | None = None
    best: Trial | None = None
    started: float = 0.0

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def eta(self) -> float | None:
        if not self.total or not self.done:
            return None
        return self.elapsed / self.done * max(self.total - self.done, 0)


TrialCallback = Callable[[Trial, Progress], None]


class TrialMemory(Protocol):
    """Trials computed before, by content key (``core.cache_key.RunKey.trial``): the driver
    recalls them instead of running them, and remembers the ones it ran. Called only in
    the driver's thread (the store behind it is the driver's alone)."""

    def recall(self, keys: list[str]) -> dict[str, Trial]: ...
    def remember(self, trials: dict[str, Trial]) -> None: ...


class SearchResult(BaseModel):
    """All trials of a search, its best trial and the overfitting diagnostics."""

    spec: dict[str, Any]
    trials: list[Trial]
    best: Trial | None
    completed: int
    failed: int
    pruned: int
    cancelled: bool = False
    cached: int = Field(0, description="Trials served from the result cache, not run.")
    deflated_sharpe: dict[str, float | int] | None = None
    pbo: dict[str, Any] | None = None
    wall_time_seconds: float = 0.0

    def top(self, n: int = 10, maximize: bool = True) -> list[Trial]:
        ranked = [t for t in self.trials if t.objective is not None]
        return sorted(ranked, key=lambda t: t.objective or 0.0, reverse=maximize)[:n]


def make_optimizer(spec: OptimizeSpec, plugins: Plugins) -> Optimizer:
    component = resolve_component(plugins.registries.optimizers, spec.method, "method")
    context = SearchContext(budget=spec.trials, seed=spec.seed, maximize=spec.maximize)
    return component.obj(dict(spec.space), context, **component.params)


def check_space(spec: OptimizeSpec, plugins: Plugins) -> list[Constraint]:
    """Space names must be strategy params; constraints must parse and name them."""
    strategy = resolve_component(plugins.registries.strategies, spec.base.strategy, "base.strategy")
    known = [p.name for p in describe_params(strategy.obj)]
    for name in spec.space:
        if name not in known:
            raise SpecError(
                f"space.{name}",
                f"not a parameter of {strategy.name!r}; {did_you_mean(name, known)}",
            )
    if spec.method.name == "grid":
        for name, dimension in spec.space.items():
            try:
                dimension.values()
            except ValueError as exc:  # e.g. a float range without a step
                raise SpecError(f"space.{name}", f"{exc}; or use method random") from None
    fixed = {p.name: p.default for p in describe_params(strategy.obj)} | strategy.params
    try:
        return [Constraint(text, list(spec.space) + known, fixed) for text in spec.constraints]
    except ConstraintError as exc:
        raise SpecError("constraints", str(exc)) from None


def _better(a: Trial, b: Trial | None, maximize: bool) -> bool:
    if a.objective is None:
        return False
    if b is None or b.objective is None:
        return True
    return a.objective > b.objective if maximize else a.objective < b.objective


def run_search(
    spec: OptimizeSpec,
    prepared: PreparedRun,
    executor: Executor,
    *,
    on_trial: TrialCallback | None = None,
    cancel: threading.Event | None = None,
    memory: TrialMemory | None = None,
) -> SearchResult:
    """Drive one search over *prepared* data with *executor* until done or cancelled; with
    *memory*, trials it holds are recalled, and only the others go to the executor."""
    constraints = check_space(spec, prepared.plugins)
    reuse = _Reuse(memory, prepared, spec)
    optimizer = make_optimizer(spec, prepared.plugins)
    progress = Progress(total=spec.trials, started=time.perf_counter())
    trials: list[Trial] = []
    base_params = dict(spec.base.strategy.params)
    fixed = {k: v for k, v in base_params.items() if k not in spec.space}
    number, submitted, cancelled, exhausted, fruitless = 0, 0, False, False, 0
    batch_size = _batch_size(spec, executor)
    ahead = _plans_ahead(optimizer, executor)
    in_flight = 0  # trials sent to the executor, not back yet
    executor.start(prepared)
    try:
        while True:
            if cancel is not None and cancel.is_set():
                cancelled = True
                break
            if ahead:
                room = _room_ahead(spec, submitted, in_flight, executor, batch_size)
            else:
                room = _room(spec, submitted, executor, batch_size)
            if room and not exhausted:
                candidates = optimizer.ask(room)
                exhausted = not candidates
                valid, pruned = _screen(candidates, fixed, constraints, number)
                number += len(candidates)
                for trial in pruned:
                    _record(trial, trials, progress, on_trial, spec.maximize)
                    optimizer.tell(trial.params, None)
                recalled, valid = reuse.split(valid)
                for trial in recalled:
                    optimizer.tell(trial.params, trial.objective)
                    _record(trial, trials, progress, on_trial, spec.maximize)
                if ahead:
                    last = len(candidates) < room  # the method has nothing after these
                    left = len(valid) if last else _expected_trials(spec) - submitted
                    batches = _guided_batches(valid, batch_size, executor.capacity(), left)
                else:
                    batches = [valid[i : i + batch_size] for i in range(0, len(valid), batch_size)]
                for batch in batches:
                    executor.submit(batch, spec.metric, spec.pbo_blocks)
                in_flight += len(valid)
                submitted += len(valid) + len(recalled)
                fruitless = 0 if valid or recalled else fruitless + 1
                if fruitless >= MAX_FRUITLESS_ASKS:
                    exhausted = True  # the method keeps proposing pruned candidates
                if valid or recalled or not exhausted:
                    continue
            if not executor.pending():
                break
            finished = executor.wait(timeout=0.5)
            in_flight -= len(finished)
            reuse.keep(finished)
            for trial in finished:
                optimizer.tell(trial.params, trial.objective)
                _record(trial, trials, progress, on_trial, spec.maximize)
    except KeyboardInterrupt:
        cancelled = True
    finally:
        if cancelled:
            executor.cancel()
        executor.stop()
    return _summarise(spec, trials, progress, cancelled).model_copy(
        update={"cached": reuse.recalled}
    )


class _Reuse:
    """A search's side of the result cache: which candidates are known (recalled as they
    were, renumbered), and the finished trials to remember, under the run's content key."""

    def __init__(
        self, memory: TrialMemory | None, prepared: PreparedRun, spec: OptimizeSpec
    ) -> None:
        self.memory = memory
        self.key = run_key(prepared) if memory is not None else None
        self.spec = spec
        self.waiting: dict[int, str] = {}  # trial number -> key, of trials sent to run
        self.recalled = 0

    def split(
        self, valid: list[tuple[int, dict[str, Any]]]
    ) -> tuple[list[Trial], list[tuple[int, dict[str, Any]]]]:
        """The candidates' known trials, and the candidates left to run."""
        if self.memory is None or self.key is None or not valid:
            return [], valid
        keys = {number: self.key.trial(params, self.spec.pbo_blocks) for number, params in valid}
        known = self.memory.recall(list(keys.values()))
        recalled, left = [], []
        for number, params in valid:
            stored = known.get(keys[number])
            if stored is None:
                self.waiting[number] = keys[number]
                left.append((number, params))
                continue
            objective = objective_value(stored.metrics or {}, self.spec.metric)
            update = {"number": number, "params": params, "objective": objective}
            recalled.append(stored.model_copy(update=update))
        self.recalled += len(recalled)
        return recalled, left

    def keep(self, finished: list[Trial]) -> None:
        """Remember the completed ones of trials just run (a failure may be passing)."""
        if self.memory is None:
            return
        keys = {t.number: self.waiting.pop(t.number, None) for t in finished}
        done = {
            key: trial
            for trial in finished
            if (key := keys[trial.number]) is not None and trial.status == "completed"
        }
        if done:
            self.memory.remember(done)


def _screen(
    candidates: list[dict[str, Any]],
    fixed: dict[str, Any],
    constraints: list[Constraint],
    first_number: int,
) -> tuple[list[tuple[int, dict[str, Any]]], list[Trial]]:
    """Number the candidates; those a constraint rejects become pruned trials."""
    valid: list[tuple[int, dict[str, Any]]] = []
    pruned: list[Trial] = []
    for number, params in enumerate(candidates, start=first_number):
        if all(check({**fixed, **params}) for check in constraints):
            valid.append((number, params))
        else:
            pruned.append(Trial(number=number, params=params, status="pruned"))
    return valid, pruned


def _expected_trials(spec: OptimizeSpec) -> int:
    """The search's size as far as it is known before it runs (pruning can make it smaller)."""
    return spec.trials or (grid_size(spec.space) if spec.method.name == "grid" else 100)


def _batch_size(spec: OptimizeSpec, executor: Executor) -> int:
    """Enough trials per task that scheduling is noise, few enough to balance the workers:
    about four batches per worker over the whole search."""
    if executor.capacity() == 1:
        return 1
    per_batch = math.ceil(_expected_trials(spec) / (executor.capacity() * 4))
    return max(1, min(per_batch, MAX_BATCH))


def _plans_ahead(optimizer: Optimizer, executor: Executor) -> bool:
    """Whether the search can be laid out before its results come back: the method does
    not learn from them (``adaptive = False``: grid, random) and several workers share it."""
    return not getattr(optimizer, "adaptive", True) and executor.capacity() > 1


def _room_ahead(
    spec: OptimizeSpec, submitted: int, in_flight: int, executor: Executor, batch_size: int
) -> int:
    """For a method that does not adapt: candidates up to ``LOOKAHEAD`` trials in flight
    (a whole grid of ordinary size at once), within the budget."""
    window = max(executor.capacity() * batch_size * 2, LOOKAHEAD) - in_flight
    if spec.trials is not None:
        window = min(window, spec.trials - submitted)
    return max(window, 0)


def _guided_batches(valid: Batch, batch_size: int, workers: int, left: int) -> list[Batch]:
    """*valid* cut into tasks that shrink as the search ends (``guided_batch_size``), *left*
    being the trials still to come at the first of them (at least those in *valid*)."""
    left = max(left, len(valid))
    batches: list[Batch] = []
    start = 0
    while start < len(valid):
        size = guided_batch_size(left - start, workers, batch_size)
        batches.append(valid[start : start + size])
        start += size
    return batches


def _room(spec: OptimizeSpec, submitted: int, executor: Executor, batch_size: int) -> int:
    """How many candidates to ask for now: keep every worker busy, respect the budget."""
    window = executor.capacity() * batch_size * 2 - executor.pending() * batch_size
    if spec.trials is not None:
        window = min(window, spec.trials - submitted)
    return max(window, 0)


def _record(
    trial: Trial,
    trials: list[Trial],
    progress: Progress,
    on_trial: TrialCallback | None,
    maximize: bool,
) -> None:
    trials.append(trial)
    if trial.status == "pruned":
        progress.pruned += 1
    else:
        progress.done += 1
        progress.failed += trial.status == "failed"
        if _better(trial, progress.best, maximize):
            progress.best = trial
    if on_trial is not None:
        on_trial(trial, progress)


def _summarise(
    spec: OptimizeSpec, trials: list[Trial], progress: Progress, cancelled: bool
) -> SearchResult:
    trials.sort(key=lambda t: t.number)
    completed = [t for t in trials if t.status == "completed"]
    best = None
    for trial in completed:
        if _better(trial, best, spec.maximize):
            best = trial
    dsr: DeflatedSharpe | None = None
    if best is not None:
        sharpes = [t.sharpe_per_bar for t in completed if t.sharpe_per_bar is not None]
        dsr = deflated_sharpe(best.stats(), sharpes)
    pbo: OverfittingProbability | None = None
    if spec.pbo_blocks and len(completed) >= 2:
        usable = [t.blocks for t in completed if len(t.blocks) == spec.pbo_blocks]
        pbo = probability_of_overfitting(usable) if len(usable) == len(completed) else None
    return SearchResult(
        spec=spec.model_dump(mode="json"),
        trials=trials,
        best=best,
        completed=len(completed),
        failed=sum(t.status == "failed" for t in trials),
        pruned=sum(t.status == "pruned" for t in trials),
        cancelled=cancelled,
        deflated_sharpe=None
        if dsr is None
        else {
            "dsr": dsr.dsr,
            "sharpe_per_bar": dsr.sharpe,
            "expected_max_sharpe_per_bar": dsr.expected_max_sharpe,
            "trials": dsr.trials,
        },
        pbo=None
        if pbo is None
        else {
            "pbo": pbo.pbo,
            "combinations": pbo.combinations,
            "blocks": spec.pbo_blocks,
            "median_logit": float(sorted(pbo.logits)[len(pbo.logits) // 2]),
        },
        wall_time_seconds=progress.elapsed,
    )


def optimize(
    spec: OptimizeSpec,
    *,
    plugins: Plugins | None = None,
    executor: Executor | None = None,
    on_trial: TrialCallback | None = None,
    cancel: threading.Event | None = None,
    memory: TrialMemory | None = None,
) -> SearchResult:
    """Run a parameter search over the base spec's data (loaded once); *memory* as for
    ``run_search``."""
    from stratforge.core.executors import make_executor

    prepared = prepare(spec.base, plugins=plugins)
    own = executor is None
    chosen = executor or make_executor(spec.executor, workers=spec.workers)
    try:
        return run_search(spec, prepared, chosen, on_trial=on_trial, cancel=cancel, memory=memory)
    finally:
        if own:
            chosen.close()


def trial_table(trials: Sequence[Trial]) -> list[dict[str, Any]]:
    """Flat rows (params, status, objective, metrics) for CSV/JSON export."""
    rows = []
    for trial in trials:
        row: dict[str, Any] = {"number": trial.number, "status": trial.status}
        row.update({f"param_{k}": v for k, v in trial.params.items()})
        row["objective"] = trial.objective
        row.update(trial.metrics or {})
        row["error"] = trial.error
        row["seconds"] = trial.seconds
        rows.append(row)
    return rows
