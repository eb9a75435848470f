"""The CLI's hybrid Ray executor on a real local Ray that it starts itself: trials in this
process while Ray starts, then on Ray workers, with the serial result; a search that ends
before Ray is up; a walk-forward through the same path; nothing of Ray left afterwards."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from stratforge.core.hybrid import HybridExecutor
from stratforge.core.optimize import OptimizeSpec, optimize
from stratforge.core.plugins import Plugins
from stratforge.core.settings import Settings
from stratforge.core.walkforward import WalkForwardSpec, walk_forward
from tests.optimize_helpers import comparable, grid_spec

pytestmark = pytest.mark.slow

# Logs the process each trial ran in; in the process named by ``hold_pid`` a trial waits
# for the file ``release`` first (the test writes it once the Ray workers are warm).
WHERE_PLUGIN = '''
import os
import time

import backtrader as bt
from stratforge import hookimpl


class Where(bt.Strategy):
    """SMA cross that records the process it ran in.

    Params:
        fast: fast SMA period
        slow: slow SMA period
        log: file each run appends its process id to
        hold_pid: process whose runs wait for the release file
        release: file whose existence lets held runs go on
    """

    params = (("fast", 10), ("slow", 30), ("log", ""), ("hold_pid", -1), ("release", ""))

    def __init__(self):
        if self.p.log:
            with open(self.p.log, "a") as handle:
                handle.write(f"{os.getpid()}\\n")
        deadline = time.monotonic() + 120
        while os.getpid() == self.p.hold_pid and not os.path.exists(self.p.release):
            if time.monotonic() > deadline:
                break
            time.sleep(0.02)
        self.cross = bt.ind.CrossOver(
            bt.ind.SMA(period=self.p.fast), bt.ind.SMA(period=self.p.slow)
        )

    def next(self):
        if self.cross[0] > 0:
            self.order_target_size(target=1)
        elif self.cross[0] < 0:
            self.order_target_size(target=-1)


@hookimpl
def register_strategies(register):
    register(Where, name="where")
'''


@pytest.fixture
def ray_temp() -> Iterator[Path]:
    """A short private directory for the Ray the executor starts; no Ray running before."""
    import ray

    if ray.is_initialized():
        ray.shutdown()
    temp = Path(tempfile.mkdtemp(prefix="sfhy-", dir="/tmp"))
    try:
        yield temp
    finally:
        if ray.is_initialized():
            ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)


def ray_processes(temp: Path) -> list[str]:
    """Command lines of live processes belonging to the Ray whose files are in *temp*."""
    listing = subprocess.run(
        ["ps", "-eo", "pid=,stat=,args="], capture_output=True, text=True, check=True
    ).stdout
    return [line for line in listing.splitlines() if str(temp) in line]


def no_ray_left(temp: Path) -> bool:
    """Ray's processes exit on their own after a shutdown: allow them a few seconds."""
    deadline = time.monotonic() + 10
    while ray_processes(temp) and time.monotonic() < deadline:
        time.sleep(0.2)
    return not ray_processes(temp)


def release_when_warm(executor: HybridExecutor, release: Path) -> threading.Thread:
    def watch() -> None:
        deadline = time.monotonic() + 180
        while "workers warm" not in executor.timeline and time.monotonic() < deadline:
            time.sleep(0.05)
        release.touch()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def where_spec(tmp_path: Path, **params: object) -> dict:
    spec = grid_spec()
    spec["space"]["fast"] = {"kind": "int", "start": 2, "stop": 30, "step": 2}
    spec["base"]["strategy"] = {"name": "where", "params": {"log": str(tmp_path / "pids")}}
    spec["base"]["strategy"]["params"].update(params)
    return spec


def test_trials_run_here_then_on_ray_with_the_serial_result(
    ray_temp: Path, write_plugin, tmp_path: Path
) -> None:
    import ray

    settings = Settings(plugins_dirs=[write_plugin("where", WHERE_PLUGIN)], ray_temp_dir=ray_temp)
    plugins = Plugins.load(settings)
    release = tmp_path / "release"
    spec = where_spec(tmp_path, hold_pid=os.getpid(), release=str(release))
    executor = HybridExecutor(workers=2, settings=settings, worth_seconds=0)
    executor.expect(45)
    watcher = release_when_warm(executor, release)
    try:
        hybrid = optimize(
            OptimizeSpec.model_validate({**spec, "executor": "ray"}),
            plugins=plugins,
            executor=executor,
        )
        pids = set((tmp_path / "pids").read_text().split())
        assert ray.is_initialized()
    finally:
        executor.close()
    watcher.join()
    assert not ray.is_initialized() and no_ray_left(ray_temp)
    assert str(os.getpid()) in pids and len(pids) >= 2  # here first, then in Ray workers
    assert list(executor.timeline) == ["go", "ray up", "workers warm"]
    (tmp_path / "pids").unlink()
    serial = optimize(OptimizeSpec.model_validate(spec), plugins=plugins)
    assert set((tmp_path / "pids").read_text().split()) == {str(os.getpid())}
    assert comparable(hybrid) == comparable(serial)
    assert [t.number for t in hybrid.trials] == [t.number for t in serial.trials]
    assert hybrid.best is not None and serial.best is not None
    assert hybrid.best.number == serial.best.number
    assert (hybrid.pbo, hybrid.deflated_sharpe) == (serial.pbo, serial.deflated_sharpe)


def test_a_short_search_never_starts_ray(ray_temp: Path, plugins: Plugins) -> None:
    import ray

    spec = OptimizeSpec.model_validate(grid_spec(executor="ray"))
    executor = HybridExecutor(settings=Settings(ray_temp_dir=ray_temp), worth_seconds=3600)
    executor.expect(15)
    try:
        hybrid = optimize(spec, plugins=plugins, executor=executor)
    finally:
        executor.close()
    assert not executor.ray_started and executor.timeline == {}
    assert not ray.is_initialized() and ray_processes(ray_temp) == []
    serial = optimize(spec.model_copy(update={"executor": "serial"}), plugins=plugins)
    assert comparable(hybrid) == comparable(serial)


def test_a_search_that_ends_while_ray_starts_finishes_and_leaves_no_ray(
    ray_temp: Path, plugins: Plugins
) -> None:
    """Ray is started after the first trial, but 13 trials on 600 bars end long before it
    is up: the search finishes here, then close() waits for the start and shuts Ray down."""
    import ray

    spec = OptimizeSpec.model_validate(grid_spec(executor="ray"))
    executor = HybridExecutor(settings=Settings(ray_temp_dir=ray_temp), worth_seconds=0)
    executor.expect(15)
    try:
        hybrid = optimize(spec, plugins=plugins, executor=executor)
        assert executor.ray_started
    finally:
        executor.close()
    assert "ray up" in executor.timeline  # it did start, and was shut down
    assert not ray.is_initialized() and no_ray_left(ray_temp)
    serial = optimize(spec.model_copy(update={"executor": "serial"}), plugins=plugins)
    assert comparable(hybrid) == comparable(serial) and hybrid.completed == 13


def test_walk_forward_through_the_hybrid_path(ray_temp: Path, plugins: Plugins) -> None:
    import ray

    search = grid_spec(executor="ray")
    search["base"]["data"] = {"args": {"bars": 900, "seed": 5}}
    body = {"search": search, "train": "300", "test": "150"}
    spec = WalkForwardSpec.model_validate(body)
    executor = HybridExecutor(workers=2, settings=Settings(ray_temp_dir=ray_temp), worth_seconds=0)
    try:
        hybrid = walk_forward(
            spec, plugins=plugins, executor=executor, on_layout=lambda n: executor.expect(15 * n)
        )
    finally:
        executor.close()
    assert executor.ray_started and "ray up" in executor.timeline
    assert not ray.is_initialized() and no_ray_left(ray_temp)
    serial_spec = WalkForwardSpec.model_validate(
        {**body, "search": {**search, "executor": "serial"}}
    )
    serial = walk_forward(serial_spec, plugins=plugins)
    assert len(hybrid.windows) == 4
    assert hybrid.windows == serial.windows
    assert hybrid.oos_equity == serial.oos_equity and hybrid.efficiency == serial.efficiency


def test_the_cli_on_its_default_executor_leaves_no_ray_running(tmp_path: Path) -> None:
    """`stratforge optimize` (default: ray) with Ray started for a short search, and a
    walk-forward: both exit 0 with the serial trials, and no process of their Ray is left."""
    temp = Path(tempfile.mkdtemp(prefix="sfhc-", dir="/tmp"))
    env = {**os.environ, "STRATFORGE_RAY_TEMP_DIR": str(temp), "STRATFORGE_RAY_MIN_SEARCH_S": "0"}
    args = ["-p", "fast=5:15:5", "-p", "slow=20:40:20", "-a", "bars=400"]

    def cli(*extra: str, executor_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "stratforge", *extra],
            capture_output=True,
            text=True,
            timeout=300,
            env=executor_env or env,
            check=False,
        )

    try:
        default = cli("optimize", *args, "--out", str(tmp_path / "ray.json"))
        assert default.returncode == 0, default.stderr[-2000:]
        assert "Traceback" not in default.stderr and "SIGTERM handler" not in default.stderr
        assert no_ray_left(temp)
        wf = cli("walkforward", *args, "-a", "bars=900", "--train", "300", "--test", "150")
        assert wf.returncode == 0, wf.stderr[-2000:]
        assert "walk-forward efficiency" in wf.stdout and no_ray_left(temp)
        serial = cli(
            "optimize", *args, "--executor", "serial", "--out", str(tmp_path / "serial.json")
        )
        assert serial.returncode == 0, serial.stderr[-2000:]
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    trials = [
        [{k: v for k, v in t.items() if k != "seconds"} for t in json_trials(tmp_path / name)]
        for name in ("ray.json", "serial.json")
    ]
    assert trials[0] == trials[1] and len(trials[0]) == 6


def json_trials(path: Path) -> list[dict]:
    import json

    return list(json.loads(path.read_text())["trials"])


def test_one_process_never_starts_ray_and_idle_cores_are_read(plugins: Plugins) -> None:
    """``workers=1`` is this process alone: the search runs here, Ray untouched. The idle
    CPU the start decision reads comes from the machine's /proc/stat."""
    import ray

    from stratforge.core.hybrid import IdleCores

    idle = IdleCores()
    spec = OptimizeSpec.model_validate(grid_spec(executor="ray"))
    executor = HybridExecutor(workers=1, worth_seconds=0)
    executor.expect(None)
    try:
        result = optimize(spec, plugins=plugins, executor=executor)
    finally:
        executor.close()
    assert not executor.ray_started and not ray.is_initialized() and result.completed == 13
    assert 0.0 <= idle.cores() <= (os.cpu_count() or 1)


def test_the_work_left_is_judged_without_the_first_trials_warm_up(plugins: Plugins) -> None:
    """The first trial in a process pays one-off warm-ups (10-25% slower on the daily grid),
    which would tip a search of 12-16 s of work over the 20 s threshold; the estimate of the work
    left uses the trials after it."""
    spec = OptimizeSpec.model_validate(grid_spec(executor="ray"))
    executor = HybridExecutor(workers=1, worth_seconds=0)
    executor.expect(100)
    try:
        result = optimize(spec, plugins=plugins, executor=executor)
    finally:
        executor.close()
    seconds = [t.seconds for t in sorted(result.trials, key=lambda t: t.number) if t.seconds]
    later = sum(seconds[1:]) / (len(seconds) - 1)
    assert executor._remaining_seconds() == pytest.approx(later * (100 - len(seconds)))


BLAS_BESIDE_RAY_START = """
import sys
import numpy as np
from stratforge.core.hybrid import HybridExecutor
from stratforge.core.settings import Settings

executor = HybridExecutor(workers=2, worth_seconds=0, settings=Settings(ray_temp_dir=sys.argv[1]))
executor.expect(None)  # unknown length: Ray starts at once, in the starter thread
rng = np.random.default_rng(0)
masks, sums = rng.random((12870, 16)), rng.random((16, 600))  # PBO's product, 16 blocks
products = 0
while not executor._ready.is_set() or products < 50:
    (masks @ sums).sum()
    products += 1
executor.close()
print("products", products)
"""


def test_matrix_products_beside_ray_starting_never_hang(tmp_path: Path) -> None:
    """A walk-forward's PBO multiplies matrices on the main thread while the starter
    thread forks Ray's daemons: with OpenBLAS's thread pool that product never returned
    (the CLI hung in window 3, every time in this loop). BLAS on one thread lets it end."""
    temp = Path(tempfile.mkdtemp(prefix="sfhb-", dir="/tmp"))
    script = tmp_path / "blas_beside_ray.py"
    script.write_text(BLAS_BESIDE_RAY_START)
    try:
        done = subprocess.run(
            [sys.executable, str(script), str(temp)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert int(done.stdout.split()[-1]) >= 50
        assert no_ray_left(temp)
    finally:  # a hung run leaves Ray's daemons of this temp dir: stop them
        for line in ray_processes(temp):
            with contextlib.suppress(OSError):
                os.kill(int(line.split()[0]), signal.SIGKILL)
        shutil.rmtree(temp, ignore_errors=True)
