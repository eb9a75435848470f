"""The CLI's ``ray`` executor: trials run in this process while Ray starts beside them.

Starting a local Ray and its workers takes seconds (``ray.init``, each worker importing the
engine, and the shutdown), as long as a short search runs in all. So the search starts here
at once, one trial at a time as the serial executor would, and a background thread starts
Ray, but only once the measured time per trial says the search has at least
``worth_seconds`` of work left (``STRATFORGE_RAY_MIN_SEARCH_S``): a short search never pays
for Ray. When the workers have imported the engine and taken the data, batches go to Ray.
Trials are numbered by the driver loop before they run anywhere, so the result is the
serial one (for methods that adapt to results, as on Ray, it depends on their order).
"""

from __future__ import annotations

import logging
import math
import os
import sys
import threading
import time
from collections import deque
from typing import Any

from stratforge.core.engine import PreparedRun
from stratforge.core.executors import RayExecutor, one_blas_thread
from stratforge.core.settings import Settings, get_settings
from stratforge.core.trials import Trial, guided_batch_size, run_trial

log = logging.getLogger("stratforge.optimize")
Item = tuple[int, dict[str, Any]]
DECIDE_AFTER_S = 0.5  # trial time here before judging the search (one trial says little)
MIN_IDLE_CORES = 0.5  # idle CPU, beside this process's, without which Ray cannot add speed


class HybridExecutor:
    """Serial in this process until Ray is up (started in a thread when worth it), then Ray.

    ``workers`` counts the processes running trials, this one included: on a local Ray,
    ``workers - 1`` Ray workers beside this process (one worker fewer to start and import
    the engine into, and no more trials at once than cores). ``expect(trials)`` says how
    many trials the whole run will have (a walk-forward: all windows); unknown, Ray is
    started at once. ``driver_trials=False`` leaves every trial to Ray once it is up.
    """

    def __init__(
        self,
        *,
        workers: int | None = None,
        address: str | None = None,
        settings: Settings | None = None,
        driver_trials: bool = True,
        worth_seconds: float | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self.address = address or self.settings.ray_address
        self.workers = workers or os.cpu_count() or 1
        self.driver_trials = driver_trials
        self.ray_workers = self.workers - 1 if driver_trials else self.workers
        self.worth_seconds = (
            self.settings.ray_min_search_s if worth_seconds is None else worth_seconds
        )
        self._queue: deque[Item] = deque()
        self._task = ("sharpe", 0)  # the metric and PBO blocks of the submitted batches
        self._batch = 1
        self._prepared: PreparedRun | None = None
        self._ray: RayExecutor | None = None  # Ray up and warm: batches go there
        self._starting: RayExecutor | None = None  # Ray as soon as started (to shut down)
        self._ray_prepared: PreparedRun | None = None
        self._error: BaseException | None = None
        self._expected: int | None = None
        self._done = 0
        self._local_seconds = 0.0
        self._local_trials = 0
        self._first_seconds = 0.0  # the first trial here, which pays one-off warm-ups
        self._first_started: float | None = None
        self._created = time.perf_counter()
        self._idle = IdleCores()
        self.decision = ""  # why Ray was or was not started, once decided here
        self.timeline: dict[str, float] = {}  # seconds from here to go, ray up, workers warm
        self._go = threading.Event()  # start Ray (or, with _skip, never)
        self._skip = False
        self._ready = threading.Event()  # the starter has finished, well or not
        self._released = threading.Event()  # Ray is shut down: the starter may end
        self._restore_blas = lambda: None
        if self.ray_workers < 1:  # one process: nothing for Ray to add
            self._skip = True
            self._go.set()
        else:  # Ray may start beside the trials: no BLAS pool for its fork to break
            self._restore_blas = one_blas_thread()
        self._starter = threading.Thread(target=self._start_ray, name="stratforge-ray-start")
        self._starter.daemon = True
        self._starter.start()

    # -- the Executor protocol ------------------------------------------------------------

    def expect(self, trials: int | None) -> None:
        """The number of trials the whole run will ask for (None: unknown)."""
        self._expected = trials

    def start(self, prepared: PreparedRun) -> None:
        self._prepared = prepared
        self._queue.clear()

    def submit(self, batch: list[Item], metric: str, blocks: int) -> None:
        self._queue.extend(batch)
        self._task = (metric, blocks)
        self._batch = max(self._batch, len(batch))

    def wait(self, timeout: float | None) -> list[Trial]:
        runner = self._usable_ray()
        if runner is None:
            return self._run_here()
        self._dispatch(runner)
        if self._queue and self.driver_trials:
            return self._run_here() + runner.wait(0)
        return runner.wait(timeout)

    def pending(self) -> int:
        queued = math.ceil(len(self._queue) / self._batch)
        return queued + (self._ray.pending() if self._ray is not None else 0)

    def capacity(self) -> int:
        return self.workers

    def cancel(self) -> None:
        self._queue.clear()
        if self._ray is not None:
            self._ray.cancel()

    def stop(self) -> None:
        self._prepared = None
        self._ray_prepared = None
        if self._ray is not None:
            self._ray.stop()

    def close(self) -> None:
        """Never start Ray now; stop a warm-up under way (a start cannot be), then shut
        down what the starter began."""
        self.stop()
        self._skip = True
        self._go.set()
        starting = self._starting
        if starting is not None and not self._ready.is_set():
            starting.cancel()  # the warm-up tasks: the search is over
        self._ready.wait()
        try:
            starting = self._starting
            if starting is not None:
                starting.close()
        finally:
            self._ray = self._starting = None
            self._released.set()
            self._starter.join()
            self._restore_blas()

    @property
    def ray_started(self) -> bool:
        """Whether Ray was (or is being) started or connected to for this run."""
        return "go" in self.timeline

    def _mark(self, event: str) -> None:
        self.timeline[event] = time.perf_counter() - self._created

    # -- in this process ------------------------------------------------------------------

    def _run_here(self) -> list[Trial]:
        if not self._queue or self._prepared is None:
            return []
        number, params = self._queue.popleft()
        if self._first_started is None:
            self._first_started = time.perf_counter()
        trial = run_trial(self._prepared, number, params, *self._task)
        if not self._local_trials:
            self._first_seconds = trial.seconds
        self._local_seconds += trial.seconds
        self._local_trials += 1
        self._done += 1
        self._decide()
        return [trial]

    def _decide(self) -> None:
        """After trials here: start Ray if the work left is long enough and the machine
        has a core to spare, else never (the search stays serial)."""
        if self._go.is_set() or self._local_seconds < min(DECIDE_AFTER_S, self.worth_seconds):
            return
        remaining = self._remaining_seconds()
        if remaining < self.worth_seconds:
            self.decision = f"serial: {remaining:.1f} s of work left"
        elif not self._spare_core():
            self.decision = f"serial: {self._idle.cores():.2f} cores idle"
        else:
            self.decision = f"ray: {remaining:.1f} s of work left"
        self._skip = not self.decision.startswith("ray")
        log.debug("hybrid executor: %s", self.decision)
        self._go.set()

    def _spare_core(self) -> bool:
        """Whether another core sat idle meanwhile and over the last minute (the load
        average: a moment's lull on a shared machine is no spare core); ``worth_seconds``
        0 starts Ray anyway."""
        if self.worth_seconds == 0:
            return True
        cores = os.cpu_count() or 1
        try:
            busy = os.getloadavg()[0]  # this search counts for 1
        except OSError:
            busy = 1.0
        return self._idle.cores() >= MIN_IDLE_CORES and busy <= cores - MIN_IDLE_CORES

    def _remaining_seconds(self) -> float:
        """In-process time the rest of the run would take, from the trials so far."""
        if self._expected is None:
            return math.inf
        per_trial = self._local_seconds / max(self._local_trials, 1)
        if self._local_trials > 1:  # the first trial warms caches up: 10-25% slower
            per_trial = (self._local_seconds - self._first_seconds) / (self._local_trials - 1)
        left = max(self._expected - self._done, len(self._queue))
        return per_trial * left

    # -- on Ray ---------------------------------------------------------------------------

    def _start_ray(self) -> None:
        """The starter thread: wait until Ray is worth it, start it, warm the workers."""
        try:
            if not self._worth_starting():
                return  # (the finally clause still says ready; no Ray to wait for)
            self._mark("go")
            self._starting = RayExecutor(
                workers=None if self.address else self.ray_workers,
                address=self.address,
                settings=self.settings,
                foreground=True,
            )
            self._mark("ray up")
            self._warm(self._starting)
        except Exception as exc:  # reported by the driver thread, or the search goes on here
            self._error = exc
        finally:
            self._ready.set()
        # Ray's processes die with the thread that started them (they are spawned with
        # PR_SET_PDEATHSIG, which Linux ties to the parent thread): this one lives on
        # until close() has shut Ray down.
        self._released.wait()

    def _warm(self, runner: RayExecutor) -> None:
        """Every worker imports the engine and takes the data before batches go to Ray."""
        prepared = self._prepared
        if prepared is not None and not self._skip:
            runner.start(prepared)
            runner.warm()
            self._ray_prepared = prepared
            self._mark("workers warm")
        if not self._skip:
            self._ray = runner

    def _worth_starting(self) -> bool:
        """Block until the driver decides, or until a first trial still running says the
        run is long anyway (a trial on a year of minutes takes longer than a Ray start)."""
        if _ray_running() or self.address:
            return not self._skip  # no start to pay for, or a cluster the user asked for
        while not self._go.wait(0.02):
            started, expected = self._first_started, self._expected
            if expected is None:
                return True
            if started is None or self._local_trials:
                continue  # no trial yet, or the driver decides from the finished ones
            running = time.perf_counter() - started
            # a first trial that runs on past DECIDE_AFTER_S is long: judged now, not after
            # it (a few tenths of a second would extrapolate a warm-up, not the search)
            if running >= DECIDE_AFTER_S and running * expected >= self.worth_seconds:
                return self._spare_core()
        return not self._skip

    def _usable_ray(self) -> RayExecutor | None:
        """Ray once it is up and warm, ready for the current data; None meanwhile."""
        if not self._ready.is_set():
            return None
        if self._error is not None:
            self._report_error()
            return None
        runner = self._ray
        if runner is None or self._prepared is None:
            return None
        if self._ray_prepared is not self._prepared:
            runner.start(self._prepared)  # a new window of a walk-forward
            self._ray_prepared = self._prepared
        return runner

    def _report_error(self) -> None:
        error, self._error = self._error, None
        if self._skip:
            return
        if self.address:
            raise RuntimeError(f"could not use the Ray cluster at {self.address}: {error}")
        log.warning("Ray did not start (%s); the search goes on in this process", error)

    def _dispatch(self, runner: RayExecutor) -> None:
        """Keep two batches per worker queued on Ray, smaller ones as the search ends."""
        workers = runner.workers + self.driver_trials
        while self._queue and runner.pending() < 2 * runner.workers:
            size = guided_batch_size(len(self._queue), workers, self._batch)
            batch = [self._queue.popleft() for _ in range(min(size, len(self._queue)))]
            runner.submit(batch, *self._task)
            self._done += len(batch)


def _ray_running() -> bool:
    """Ray already up in this process (a server, a notebook): no start to pay for. Not
    imported means not running, and importing it here would slow the trials meanwhile."""
    ray = sys.modules.get("ray")
    return ray is not None and bool(ray.is_initialized())


class IdleCores:
    """Idle CPU of the whole machine since this object was made, in cores (Linux's
    /proc/stat; elsewhere taken as all idle). On a machine other work keeps busy, Ray's
    start (about 5 CPU seconds: its daemons and each worker importing the engine) comes
    out of the search's own share and its workers find no free core."""

    def __init__(self) -> None:
        self._start = _cpu_times()

    def cores(self) -> float:
        now = _cpu_times()
        if self._start is None or now is None:
            return math.inf
        total = (now[0] - self._start[0]) or 1
        return (now[1] - self._start[1]) / total * (os.cpu_count() or 1)


def _cpu_times() -> tuple[int, int] | None:
    """(all, idle) jiffies of the machine so far, or None where /proc/stat is missing."""
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            fields = [int(v) for v in handle.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    return sum(fields), fields[3] + fields[4]
