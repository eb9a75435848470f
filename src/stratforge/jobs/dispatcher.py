"""The job dispatcher: claims queued jobs in submission order and runs them off the event
loop in worker threads, up to a concurrency limit, each under its time limit. Only this
process writes results; what running one job means is ``jobs.run``.

On start-up, jobs a crash left running are queued again (or failed after too many attempts);
backtests and grid/random searches are deterministic, so a re-run gives the same result.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine
from sqlmodel import Session

from stratforge.core.executors import ensure_ray, one_blas_thread, ray_health, warm_workers
from stratforge.core.plugins import Plugins
from stratforge.core.settings import Settings
from stratforge.jobs.run import JobRunner, RunningJob
from stratforge.store import jobs
from stratforge.store.blobs import BlobStore
from stratforge.store.tables import BacktestRun, Optimization

log = logging.getLogger("stratforge.jobs")


class Dispatcher:
    """The queue's one consumer in a server process: claims, runs, cancels and requeues."""

    def __init__(
        self, settings: Settings, engine: Engine, plugins: Plugins, blobs: BlobStore
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.plugins = plugins
        self.blobs = blobs
        self.runner = JobRunner(settings, plugins, blobs)
        self.running: dict[str, RunningJob] = {}
        self.ray_state = "not started" if settings.job_executor == "ray" else "not used"
        self._pool = ThreadPoolExecutor(
            max_workers=settings.max_concurrent_jobs + 1, thread_name_prefix="stratforge-job"
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        requeued, failed = await asyncio.to_thread(self._requeue)
        if requeued or failed:
            log.warning("after restart: %d jobs requeued, %d failed", requeued, failed)
        if not self.settings.run_jobs:
            return
        if self.settings.job_executor == "ray":
            one_blas_thread()  # for the server's life: jobs run beside Ray's start
            self._loop.run_in_executor(self._pool, self._start_ray)
        self._task = asyncio.create_task(self._run_forever(), name="stratforge-dispatcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        for handle in list(self.running.values()):
            handle.cancel_event.set()  # searches stop; their jobs stay 'running' for a restart
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _requeue(self) -> tuple[int, int]:
        with Session(self.engine) as session:
            return jobs.requeue_interrupted(session, max_attempts=self.settings.job_attempts)

    def _start_ray(self) -> None:
        try:
            self.ray_state = "starting"
            started_here = ensure_ray(self.settings)
            self.ray_state = "ok"
        except Exception as exc:  # reported by /health until Ray is up after all
            self.ray_state = f"error: {exc}"
            log.exception("Ray could not start")
            return
        if started_here and not self.settings.ray_address:  # a cluster warms its own
            try:
                warm_workers(self.settings)
            except Exception:  # a first job then pays for the imports itself
                log.warning("Ray's workers could not be warmed", exc_info=True)

    def ray_health(self) -> str:
        """Ray's state now: a start-up error stays reported only while Ray is still down."""
        if self.settings.job_executor != "ray":
            return self.ray_state
        live = ray_health()
        if live == "ok":
            self.ray_state = "ok"
            return live
        return self.ray_state if self.ray_state != "ok" else live

    def wake(self) -> None:
        """Look at the queue now (called after a submission)."""
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    def cancel(self, job_id: str) -> None:
        handle = self.running.get(job_id)
        if handle is not None:
            handle.cancel()

    # -- the loop -------------------------------------------------------------------------

    async def _run_forever(self) -> None:
        assert self._wake is not None and self._loop is not None
        while True:
            try:
                while len(self.running) < self.settings.max_concurrent_jobs:
                    job = await asyncio.to_thread(self._claim)
                    if job is None:
                        break
                    handle = RunningJob(job.id)
                    self.running[job.id] = handle
                    future = self._loop.run_in_executor(self._pool, self._execute, job, handle)
                    future.add_done_callback(functools.partial(self._finished, job.id))
            except Exception:  # a database hiccup must not kill the dispatcher
                log.exception("dispatcher error; retrying")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=1.0)

    def _claim(self) -> BacktestRun | Optimization | None:
        with Session(self.engine, expire_on_commit=False) as session:
            return jobs.claim_next(session)

    def _finished(self, job_id: str, _future: object = None) -> None:
        self.running.pop(job_id, None)
        self.wake()

    # -- running one job (in a worker thread) -------------------------------------------

    def _execute(self, job: BacktestRun | Optimization, handle: RunningJob) -> None:
        limit = self.settings.job_time_limit_s
        timer = threading.Timer(limit, handle.expire)
        timer.daemon = True
        timer.start()
        try:
            with Session(self.engine, expire_on_commit=False) as session:
                self.runner.run_and_store(session, job, handle)
        finally:
            timer.cancel()
