"""Executors run batches of trials: ``serial`` in this process, ``ray`` on Ray workers.

Ray tasks receive the RunSpec as plain data, the settings needed to load plugins, a
``ray.put`` reference to the market data and a batch of (number, params); they return
Trials. Each worker loads plugins and prepares the run once per data reference and reuses
it for every later batch; the driver keeps only the returned Trials.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from typing import Any

from stratforge.core.engine import PreparedRun
from stratforge.core.load import Market
from stratforge.core.plugins import Plugins
from stratforge.core.resolve import resolve
from stratforge.core.settings import Settings, get_settings
from stratforge.core.spec import RunSpec
from stratforge.core.trials import Batch, Trial, run_trials

log = logging.getLogger("stratforge.optimize")


class SerialExecutor:
    """Runs each batch when asked for results: simple, in-process, easy to debug."""

    def __init__(self) -> None:
        self._queue: deque[tuple[Batch, str, int]] = deque()
        self._prepared: PreparedRun | None = None

    def start(self, prepared: PreparedRun) -> None:
        self._prepared = prepared
        self._queue.clear()

    def submit(self, batch: Batch, metric: str, blocks: int) -> None:
        self._queue.append((batch, metric, blocks))

    def wait(self, timeout: float | None) -> list[Trial]:
        if not self._queue or self._prepared is None:
            return []
        batch, metric, blocks = self._queue.popleft()
        return run_trials(self._prepared, batch, metric, blocks)

    def pending(self) -> int:
        return len(self._queue)

    def capacity(self) -> int:
        return 1

    def cancel(self) -> None:
        self._queue.clear()

    def stop(self) -> None:
        self._prepared = None

    def close(self) -> None:
        self.stop()


# -- Ray --------------------------------------------------------------------------------

_WORKER_CACHE: OrderedDict[str, PreparedRun] = OrderedDict()
_WORKER_PLUGINS: dict[str, Plugins] = {}


BACKGROUND_NICENESS = 10


def _background_priority() -> None:
    """Ray workers run below the priority of the process that serves requests, so an API on
    the same machine stays responsive while searches use every core.

    *At least* niceness 10, not 10 more: Ray already starts its workers at 15
    (``worker_niceness``), and adding 10 put them at 19, where any other process on the
    machine (Ray's own raylet and agents included) takes their core. A CLI search starts its
    own Ray with ``worker_niceness=0`` and passes ``background=False``: it is the job the
    user is waiting for."""
    with contextlib.suppress(OSError):
        current = os.nice(0)
        if current < BACKGROUND_NICENESS:
            os.nice(BACKGROUND_NICENESS - current)


def worker_plugins(settings_json: str, *, background: bool = True) -> Plugins:
    """In a Ray worker: the driver's settings in force, plugins loaded once per settings."""
    if background:
        _background_priority()
    settings = Settings.model_validate_json(settings_json)
    plugins = _WORKER_PLUGINS.get(settings_json)
    if plugins is None:
        plugins = Plugins.load(settings)
        _WORKER_PLUGINS[settings_json] = plugins
    return plugins


def _worker_prepared(
    spec_json: str, settings_json: str, markets_box: list[Any], background: bool = True
) -> PreparedRun:
    """Per worker process: plugins once per settings, data and spec once per reference."""
    import ray

    key = f"{markets_box[0].hex()}:{hash(spec_json)}"
    cached = _WORKER_CACHE.get(key)
    if cached is not None:
        _WORKER_CACHE.move_to_end(key)
        return cached
    plugins = worker_plugins(settings_json, background=background)
    resolved = resolve(RunSpec.model_validate_json(spec_json), plugins)
    markets: list[Market] = ray.get(markets_box[0])
    prepared = PreparedRun(resolved, markets, plugins)
    _WORKER_CACHE[key] = prepared
    while len(_WORKER_CACHE) > 4:
        _WORKER_CACHE.popitem(last=False)
    return prepared


def run_batch_task(
    spec_json: str,
    settings_json: str,
    markets_box: list[Any],
    batch: Batch,
    metric: str,
    blocks: int,
    background: bool = True,
) -> list[Trial]:
    """The Ray task: a batch of trials on a worker's cached prepared run (an empty batch
    only prepares it: the warm-up a CLI search sends while it runs trials itself)."""
    prepared = _worker_prepared(spec_json, settings_json, markets_box, background)
    if not batch:
        for market in prepared.markets:
            market.columns()  # the feed arrays, as the first trial would
        return []
    limit = Settings.model_validate_json(settings_json).job_memory_limit_mb
    with memory_limit(limit):
        return run_trials(prepared, batch, metric, blocks)


class RayExecutor:
    """Batches of trials as Ray tasks, results streamed back with ``ray.wait``.

    Connects to ``address`` (or ``STRATFORGE_RAY_ADDRESS``) when given, else starts a local
    Ray without the dashboard. A task whose worker process dies is retried (``max_retries``),
    so a search survives a killed worker with the same final set of trials. ``foreground``
    (the CLI) runs the workers at normal priority; a server keeps them below its own.
    """

    def __init__(
        self,
        *,
        workers: int | None = None,
        address: str | None = None,
        settings: Settings | None = None,
        max_retries: int = 3,
        foreground: bool = False,
    ) -> None:
        import ray

        self._ray = ray
        self.settings = settings or get_settings()
        self.address = address or self.settings.ray_address
        self.foreground = foreground
        self._started_here = ensure_ray(
            self.settings,
            workers=workers,
            address=self.address,
            worker_niceness=0 if foreground else None,
        )
        self.workers = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        self._task = ray.remote(num_cpus=1, max_retries=max_retries)(run_batch_task)
        self._pending: list[Any] = []
        self._markets_box: list[Any] | None = None
        self._spec_json = ""

    def start(self, prepared: PreparedRun) -> None:
        self._spec_json = prepared.resolved.spec.model_dump_json()
        self._markets_box = [self._ray.put(list(prepared.markets))]
        self._pending = []

    def submit(self, batch: Batch, metric: str, blocks: int) -> None:
        assert self._markets_box is not None, "start() first"
        ref = self._task.remote(
            self._spec_json,
            self.settings.model_dump_json(),
            self._markets_box,
            batch,
            metric,
            blocks,
            not self.foreground,
        )
        self._pending.append(ref)

    def warm(self) -> None:
        """Have every worker import the engine, load plugins and take the data now (an
        empty batch each), so the first real batch runs trials at once."""
        self.submit([], "sharpe", 0)
        for _ in range(self.workers - 1):
            self.submit([], "sharpe", 0)
        self._ray.get(self._pending)
        self._pending = []

    def wait(self, timeout: float | None) -> list[Trial]:
        if not self._pending:
            return []
        done, self._pending = self._ray.wait(self._pending, num_returns=1, timeout=timeout)
        trials: list[Trial] = []
        for ref in done:
            trials.extend(self._ray.get(ref))
        return trials

    def pending(self) -> int:
        return len(self._pending)

    def capacity(self) -> int:
        return self.workers

    def cancel(self) -> None:
        for ref in self._pending:
            self._ray.cancel(ref, force=True)
        self._pending = []

    def stop(self) -> None:
        self._markets_box = None  # drop the driver's reference to the shared data

    def close(self) -> None:
        """Shut Ray down if this executor started it (the CLI); a server keeps it warm."""
        self.stop()
        if self._started_here and self._ray.is_initialized():
            shutdown_ray()


def shutdown_ray() -> None:
    """``ray.shutdown()`` without its longest wait.

    Ray stops the processes it started one after another, each given a second to exit on
    SIGTERM; the autoscaler monitor of a local Ray never exits in that second, so every CLI
    search ended with a 1.0 s sleep before Ray killed it (measured: raylet 0.27 s, GCS
    0.03 s, monitor 1.01 s). It has no state worth a graceful exit, so it is killed here
    first. The raylet and GCS are left to ``ray.shutdown``, which disconnects this driver
    from them before it stops them (stopping them earlier ends this process)."""
    import ray

    node = getattr(ray._private.worker, "_global_node", None)
    processes = getattr(node, "all_processes", None) or {}
    for info in processes.get("monitor", []):
        with contextlib.suppress(OSError):
            info.process.kill()
    ray.shutdown()


def one_blas_thread() -> Callable[[], None]:
    """Run numpy's BLAS on the calling thread only, until the returned function restores it.

    Starting Ray forks its daemons from the thread that calls ``ray.init``. OpenBLAS shuts
    its thread pool down around a fork, so a matrix product that another thread of this
    process has under way (the PBO of a walk-forward window, computed while the CLI starts
    Ray beside it) waits for ever for pool threads that are gone: the CLI hung there. Call
    this before a thread that may start Ray exists; a single-threaded product is as fast
    on the small matrices a driver multiplies, and Ray's workers are separate processes.
    """
    import numpy  # noqa: F401  (its BLAS is loaded, so the limit reaches it)
    from threadpoolctl import threadpool_limits

    limits = threadpool_limits(limits=1, user_api="blas")
    return limits.restore_original_limits


def make_executor(name: str, *, workers: int | None = None, address: str | None = None) -> Any:
    if name == "serial":
        return SerialExecutor()
    if name == "ray":
        return RayExecutor(workers=workers, address=address)
    raise ValueError(f"unknown executor {name!r}; use serial or ray")


_RAY_INIT = threading.Lock()
OOM_RETRIES = 2


def ensure_ray(
    settings: Settings,
    *,
    workers: int | None = None,
    address: str | None = None,
    worker_niceness: int | None = None,
) -> bool:
    """Connect to the configured cluster, or start a local Ray without the dashboard, once
    per process; True when this call started it.

    ``ray.init`` is not safe to race: a server starts Ray in one thread while the first jobs
    want it in others, and a second ``init`` fails ("called ray.init twice"). Every caller
    goes through this lock, so the first one starts Ray and the others wait for it.
    """
    import ray

    if threading.current_thread() is not threading.main_thread():  # a server, the CLI
        logging.getLogger("ray._private.worker").addFilter(_not_main_thread_notice)
    with _RAY_INIT:
        if ray.is_initialized():
            return False
        options: dict[str, Any] = {
            "include_dashboard": False,
            "log_to_driver": False,
            "configure_logging": False,
        }
        address = address or settings.ray_address
        # Ray retries a task its memory monitor killed without end by default: a job that
        # needs more memory than the machine has would be shown running for ever.
        os.environ.setdefault("RAY_task_oom_retries", str(OOM_RETRIES))
        if address:
            ray.init(address=address, **options)
            return True
        if settings.ray_temp_dir is not None:
            os.makedirs(settings.ray_temp_dir, exist_ok=True)
            options["_temp_dir"] = str(settings.ray_temp_dir)
        if worker_niceness is not None:  # Ray's default is 15
            options["_system_config"] = {"worker_niceness": worker_niceness}
        ray.init(num_cpus=workers or os.cpu_count() or 1, **options)
        return True


def _not_main_thread_notice(record: logging.LogRecord) -> bool:
    """Drops Ray's "SIGTERM handler is not set" warning: Ray starts in a thread by design
    (beside a server's jobs, beside the CLI's first trials)."""
    return "SIGTERM handler is not set" not in record.getMessage()


def ray_health() -> str:
    """Ray's state as /health reports it, read now (never a remembered first error)."""
    import ray

    try:
        return "ok" if ray.is_initialized() else "not started"
    except Exception as exc:
        return f"error: {type(exc).__name__}"


PROGRESS_SECONDS = 0.5  # a streamed backtest reports its progress at most this often


class JobStopped(Exception):
    """Raised from a progress callback to stop a run (cancelled, or past its time limit)."""


@contextlib.contextmanager
def memory_limit(megabytes: float | None) -> Iterator[None]:
    """Cap this process's heap (``RLIMIT_DATA``) while a job runs in it: past the cap an
    allocation fails with MemoryError, a clear reason, before the machine's OOM killer
    takes the worker down again and again. Shared memory (Ray's object store) is not counted.
    Restored afterwards: a Ray worker process runs many tasks."""
    if not megabytes:
        yield
        return
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    cap = int(megabytes * (1 << 20))
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))


def run_backtest_stream(
    spec_json: str, settings_json: str, keyed: bool = False
) -> Iterator[dict[str, Any]]:
    """A Ray streaming task: ``{"progress": done, "total": steps, "attempt": id}`` items while
    one backtest runs, then ``{"result": encoded RunResult bytes, "metrics": {...}}`` (never
    objects; see ``core.result_codec``). The run goes in a thread so this generator can yield
    the engine's progress callbacks as they come; a new ``attempt`` id tells the driver Ray
    started the task again.

    *keyed* (the result cache is on): once the data is loaded, ``{"key": digest or None}``
    (``core.cache_key``: the data is loaded here only, never in the driver too), then
    ``{"ready": True}``. The task is submitted with a backpressure of one item, so it waits at
    that second item until the driver asks for it: a driver that has the key's result stored
    cancels the task there, before anything of the run has been built."""
    from stratforge.core.engine import prepare

    settings = Settings.model_validate_json(settings_json)
    plugins = worker_plugins(settings_json)
    spec = RunSpec.model_validate_json(spec_json)
    with memory_limit(settings.job_memory_limit_mb):
        started = time.perf_counter()
        prepared = prepare(spec, plugins=plugins)
        if keyed:
            from stratforge.core.cache_key import backtest_key

            yield {"key": backtest_key(prepared)}
            yield {"ready": True}
        yield from _streamed_run(prepared, started)


def _streamed_run(prepared: PreparedRun, started: float) -> Iterator[dict[str, Any]]:
    """Run *prepared* in a thread, yielding its progress (at most every ``PROGRESS_SECONDS``)
    and then its encoded result; an exception in the run is raised here, so Ray reports it."""
    from stratforge.core.engine import run_prepared
    from stratforge.core.result_codec import encode_result

    updates: queue.Queue[tuple[int, int] | None] = queue.Queue()
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            result = run_prepared(
                prepared, on_progress=lambda d, t: updates.put((d, t)), started=started
            )
            outcome["blob"] = encode_result(result)
            outcome["metrics"] = result.metrics.model_dump(mode="json")
        except BaseException as exc:  # re-raised in the task, so Ray reports it
            outcome["error"] = exc
        finally:
            updates.put(None)

    runner = threading.Thread(target=work, name="stratforge-backtest", daemon=True)
    runner.start()
    attempt = uuid.uuid4().hex  # a retried task says so: the driver counts the attempt
    last = 0.0
    while (update := updates.get()) is not None:
        if time.monotonic() - last >= PROGRESS_SECONDS:
            last = time.monotonic()
            yield {"progress": update[0], "total": update[1], "attempt": attempt}
    runner.join()
    if "error" in outcome:
        raise outcome["error"]
    yield {"result": outcome["blob"], "metrics": outcome["metrics"]}


def warm_task(settings_json: str) -> int:
    """In a Ray worker: import the engine and load the plugins now, as a first job would
    (about 2 s of a first backtest's wait), and say which worker this was."""
    worker_plugins(settings_json)
    import stratforge.core.engine
    import stratforge.core.result_codec  # noqa: F401

    time.sleep(0.2)  # held a moment, so each CPU's warm-up task lands on its own worker
    return os.getpid()


def warm_workers(settings: Settings) -> set[int]:
    """Have each of the local Ray's CPUs' workers ready for a job (a server just started);
    the process ids of the workers warmed."""
    import ray

    task = ray.remote(num_cpus=1)(warm_task)
    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
    return set(ray.get([task.remote(settings.model_dump_json()) for _ in range(cpus)]))


_REMOTE_BACKTEST: Any = None


def submit_backtest(spec_json: str, settings: Settings, *, keyed: bool = False) -> Any:
    """Start a backtest on Ray; returns the ObjectRefGenerator of its progress and result
    (with *keyed*, its cache key first: see ``run_backtest_stream``)."""
    import ray

    global _REMOTE_BACKTEST
    if _REMOTE_BACKTEST is None:
        # the task waits at each item until the driver has taken the one before: a keyed
        # run's "ready" is where a driver that has its result stops it (an option Ray's
        # stubs do not list)
        waits_for_driver: dict[str, Any] = {"_generator_backpressure_num_objects": 1}
        _REMOTE_BACKTEST = ray.remote(
            num_cpus=1, max_retries=3, num_returns="streaming", **waits_for_driver
        )(run_backtest_stream)
    return _REMOTE_BACKTEST.remote(spec_json, settings.model_dump_json(), keyed)
