"""Running one claimed job of any kind and storing what it produced: a backtest's result
and metrics, a search's trials as they finish, a walk-forward's windows, or why it failed.
The dispatcher calls ``run_and_store`` in a worker thread; the demo calls it in-process.
"""

from __future__ import annotations

import inspect
import logging
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlmodel import Session

from stratforge.core.engine import prepare, run_prepared
from stratforge.core.executors import (
    JobStopped,
    RayExecutor,
    SerialExecutor,
    ensure_ray,
    submit_backtest,
)
from stratforge.core.optimize import OptimizeSpec, Progress, optimize
from stratforge.core.plugins import Plugins
from stratforge.core.recorder import ProgressCallback
from stratforge.core.result_codec import encode_result
from stratforge.core.settings import Settings
from stratforge.core.spec import RunSpec
from stratforge.core.trials import Trial
from stratforge.core.walkforward import WalkForwardSpec, WindowResult, walk_forward
from stratforge.jobs.cache import backtest_key, remember_backtest, serve_cached, trial_memory
from stratforge.store import jobs
from stratforge.store.blobs import BlobStore
from stratforge.store.tables import BacktestRun, Optimization

log = logging.getLogger("stratforge.jobs")
FLUSH_SECONDS = 0.5


@dataclass
class RunningJob:
    """Handles to stop a job that is running, by request or at its time limit."""

    job_id: str
    cancel_event: threading.Event = field(default_factory=threading.Event)
    ray_ref: Any = None
    timed_out: bool = False

    def cancel(self) -> None:
        self.cancel_event.set()
        if self.ray_ref is not None:
            import ray

            ray.cancel(self.ray_ref, force=True)

    def expire(self) -> None:
        """The job ran past its time limit: stop it; it is failed with that reason."""
        self.timed_out = True
        self.cancel()

    def check(self, _done: int = 0, _total: int = 0) -> None:
        """A progress callback of in-process runs: stop when cancelled or past the limit."""
        if self.cancel_event.is_set():
            raise JobStopped("the job was stopped")


class JobRunner:
    """Runs a job on the configured executor (Ray, or in this process) and stores it."""

    def __init__(
        self,
        settings: Settings,
        plugins: Plugins,
        blobs: BlobStore,
        *,
        executor: Literal["ray", "serial"] | None = None,
    ) -> None:
        self.settings = settings
        self.plugins = plugins
        self.blobs = blobs
        self.executor = executor or settings.job_executor

    def run_and_store(
        self, session: Session, job: BacktestRun | Optimization, handle: RunningJob
    ) -> None:
        """Run a job that is marked running; finish its row completed or failed (a
        cancelled job's row already says so)."""
        try:
            if isinstance(job, BacktestRun):
                self._backtest(session, job, handle)
            elif job.kind == "walkforward":
                self._walkforward(session, job, handle)
            else:
                self._optimize(session, job, handle)
            if handle.timed_out:
                raise JobStopped("past the time limit")
        except Exception as exc:
            if handle.timed_out:
                limit = self.settings.job_time_limit_s
                message = (
                    f"stopped after running longer than the time limit of {limit:,.0f} s "
                    "(STRATFORGE_JOB_TIME_LIMIT_S)"
                )
                jobs.finish_job(session, job=job, status="failed", error=message)
                return
            if handle.cancel_event.is_set():
                return  # cancelled: the row already says so
            message = describe_failure(exc, job.spec, self.plugins)
            log.warning("job %s failed: %s", job.id, message)
            kept = {}
            if isinstance(job, Optimization) and job.kind == "optimize":
                stored = jobs.list_trials(session, optimization_id=job.id)
                kept = {"trials_done": len([t for t in stored if t.status != "pruned"])}
            jobs.finish_job(session, job=job, status="failed", error=message, **kept)

    def _backtest(self, session: Session, job: BacktestRun, handle: RunningJob) -> None:
        """Run and store a backtest, or serve it from the stored run with the same key. The
        key needs the loaded data: it is computed where the data is loaded for the run
        (a Ray worker, or here), so the data is read once."""
        spec = RunSpec.model_validate(job.spec)
        progress = BarProgress(session, job)
        if self.executor == "ray":
            ran = self._backtest_on_ray(session, job, handle, spec, progress)
        else:

            def report(done: int, total: int) -> None:
                handle.check()
                progress(done, total)

            ran = self._backtest_here(session, job, spec, report)
        if ran is None:
            return  # served from the cache
        blob, metrics, key = ran
        digest = store_backtest(session, self.blobs, job, blob, metrics)
        if key is not None and not handle.cancel_event.is_set():
            remember_backtest(session, self.settings, job, key, digest)

    def _backtest_here(
        self, session: Session, job: BacktestRun, spec: RunSpec, report: ProgressCallback
    ) -> tuple[bytes, dict[str, Any], str | None] | None:
        """In this process: the stored form, metrics and cache key (None when the cache is
        off or the run cannot be keyed), or None when the job was served from the cache;
        *report* gets the progress and raises to stop the run."""
        started = time.perf_counter()
        prepared = prepare(spec, plugins=self.plugins)
        key = backtest_key(prepared, self.settings)
        if key is not None and serve_cached(session, job, key):
            return None
        result = run_prepared(prepared, on_progress=report, started=started)
        return encode_result(result), result.metrics.model_dump(mode="json"), key

    def _backtest_on_ray(
        self,
        session: Session,
        job: BacktestRun,
        handle: RunningJob,
        spec: RunSpec,
        progress: BarProgress,
    ) -> tuple[bytes, dict[str, Any], str | None] | None:
        """On a Ray worker, as ``_backtest_here``. With the cache on, the worker sends the
        key once it has loaded the data and waits; a stored key cancels the task there."""
        import ray

        ensure_ray(self.settings)
        keyed = self.settings.result_cache
        stream = submit_backtest(spec.model_dump_json(), self.settings, keyed=keyed)
        handle.ray_ref = stream
        key = outcome = None
        for ref in stream:
            item = ray.get(ref)
            if "key" in item:
                key = item["key"]
                if key is not None and serve_cached(session, job, key):
                    ray.cancel(stream)  # waiting at its "ready": nothing of the run was built
                    return None
            elif "result" in item:
                outcome = item
            elif "progress" in item:
                progress(item["progress"], item["total"], item.get("attempt"))
        assert outcome is not None, "the backtest stream ended without a result"
        return outcome["result"], outcome["metrics"], key

    def _search_executor(self, workers: int | None) -> Any:
        if self.executor == "ray":
            ensure_ray(self.settings)
            return RayExecutor(workers=workers, settings=self.settings)
        return SerialExecutor()

    def _optimize(self, session: Session, job: Optimization, handle: RunningJob) -> None:
        spec = OptimizeSpec.model_validate(job.spec)
        # A restarted search runs again from its first trial; its trials replace the stored
        # ones number by number (the same, the search being deterministic), so a crash or a
        # failing re-run never leaves it with fewer trials than it had.
        writer = TrialWriter(session, job, spec.trials)
        executor = self._search_executor(spec.workers)
        result = optimize(
            spec,
            plugins=self.plugins,
            executor=executor,
            on_trial=writer,
            cancel=handle.cancel_event,
            memory=trial_memory(session, self.settings),
        )
        writer.flush(force=True)
        if result.cancelled or handle.cancel_event.is_set():
            return
        jobs.keep_trials(session, optimization_id=job.id, numbers=[t.number for t in result.trials])
        summary = {
            "completed": result.completed,
            "failed": result.failed,
            "pruned": result.pruned,
            "deflated_sharpe": result.deflated_sharpe,
            "pbo": result.pbo,
            "wall_time_seconds": result.wall_time_seconds,
            "cached_trials": result.cached,
        }
        digest = self.blobs.put(result.model_dump_json())
        best = result.best.model_dump(exclude={"blocks"}) if result.best else None
        jobs.finish_job(
            session,
            job=job,
            status="completed",
            best=best,
            summary=summary,
            result_blob=digest,
            trials_done=result.completed + result.failed,
            trials_failed=result.failed,
        )

    def _walkforward(self, session: Session, job: Optimization, handle: RunningJob) -> None:
        spec = WalkForwardSpec.model_validate(job.spec)

        windows = {"total": 0}

        def on_layout(total: int) -> None:
            windows["total"] = total
            jobs.set_progress(
                session, job=job, progress=0.0, trials_total=total, message=f"{total} windows"
            )

        def on_window(window: WindowResult) -> None:
            done, total = window.index + 1, max(1, windows["total"])
            jobs.set_progress(
                session,
                job=job,
                progress=min(0.99, done / total),
                message=f"window {done} of {total} done",
                trials_done=done,
            )

        memory = trial_memory(session, self.settings)
        result = walk_forward(
            spec,
            plugins=self.plugins,
            executor=self._search_executor(spec.search.workers),
            on_window=on_window,
            on_layout=on_layout,
            cancel=handle.cancel_event,
            memory=memory,
        )
        if result.cancelled or handle.cancel_event.is_set():
            return
        digest = self.blobs.put(result.model_dump_json())
        summary = {
            "windows": len(result.windows),
            "efficiency": result.efficiency,
            "oos_total_return": result.oos_total_return,
            "cached_trials": memory.recalled if memory is not None else 0,
        }
        jobs.finish_job(session, job=job, status="completed", summary=summary, result_blob=digest)


def store_backtest(
    session: Session, blobs: BlobStore, job: BacktestRun, blob: bytes, metrics: dict[str, Any]
) -> str:
    """Keep a finished backtest: its whole result as a compact blob (``encode_result``),
    its metrics on the row; returns the blob's digest."""
    digest = blobs.put_bytes(blob)
    jobs.finish_job(session, job=job, status="completed", metrics=metrics, result_blob=digest)
    return digest


class BarProgress:
    """Writes a backtest's progress (steps done of all) at most twice a second, so a slow
    job and a hung one look different."""

    def __init__(self, session: Session, job: BacktestRun) -> None:
        self.session = session
        self.job = job
        self.last = 0.0
        self.attempt: str | None = None

    def __call__(self, done: int, total: int, attempt: str | None = None) -> None:
        if attempt is not None and self.attempt not in (None, attempt):
            jobs.count_attempt(self.session, job=self.job)  # Ray ran the task again
        self.attempt = attempt or self.attempt
        if time.monotonic() - self.last < FLUSH_SECONDS or not total:
            return
        self.last = time.monotonic()
        jobs.set_progress(
            self.session,
            job=self.job,
            progress=min(0.99, done / total),
            message=f"{done:,} of {total:,} bars",
        )


class TrialWriter:
    """Buffers finished trials and writes them (with progress) at most twice a second."""

    def __init__(self, session: Session, job: Optimization, total: int | None) -> None:
        self.session = session
        self.job = job
        self.total = total or job.trials_total
        self.pending: list[Trial] = []
        self.progress: Progress | None = None
        self.last = time.monotonic()

    def __call__(self, trial: Trial, progress: Progress) -> None:
        self.pending.append(trial)
        self.progress = progress
        self.flush()

    def flush(self, force: bool = False) -> None:
        if not self.pending or (not force and time.monotonic() - self.last < FLUSH_SECONDS):
            return
        jobs.add_trials(self.session, optimization_id=self.job.id, trials=self.pending)
        self.pending = []
        self.last = time.monotonic()
        progress = self.progress
        if progress is None:
            return
        done = progress.done
        fraction = min(0.99, done / self.total) if self.total else 0.0
        best = progress.best.objective if progress.best else None
        jobs.set_progress(
            self.session,
            job=self.job,
            progress=fraction,
            message=f"{done} trials done" + ("" if best is None else f", best {best:.4g}"),
            trials_done=done,
            trials_failed=progress.failed,
        )


def describe_failure(exc: BaseException, spec: dict[str, Any], plugins: Plugins) -> str:
    """The error, unwrapped from Ray, naming the strategy's plugin only when the error was
    raised in that plugin's code (a data or Ray error is not the strategy's fault)."""
    cause = getattr(exc, "cause", None) or exc
    text = f"{type(cause).__name__}: {cause}".splitlines()[0][:1000]
    strategy = (spec.get("strategy") or spec.get("base", {}).get("strategy") or {}).get("name")
    if not strategy and "search" in spec:
        strategy = spec["search"]["base"]["strategy"]["name"]
    if strategy and strategy in plugins.registries.strategies:
        entry = plugins.registries.strategies.entry(strategy)
        if _raised_in(entry.obj, cause, exc):
            text += f" (strategy {entry.name!r} from plugin {entry.plugin!r})"
    return text


def _raised_in(obj: Any, cause: BaseException, exc: BaseException) -> bool:
    """True when a frame of the traceback (local, or Ray's remote one) is in *obj*'s file."""
    try:
        source = inspect.getsourcefile(obj)
    except TypeError:
        return False
    if not source:
        return False
    frames = "".join(traceback.format_exception(cause)) + str(getattr(exc, "traceback_str", ""))
    return source in frames
