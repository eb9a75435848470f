"""Searches on a real local Ray: same results as serial, plugin strategies in workers,
a killed worker retried, and a `ray start --head` cluster reached by its address."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from stratforge.core.executors import RayExecutor
from stratforge.core.optimize import OptimizeSpec, optimize
from stratforge.core.plugins import Plugins
from stratforge.core.settings import Settings
from tests.optimize_helpers import FLAKY_PLUGIN, comparable, grid_spec, local_ray

pytestmark = pytest.mark.slow
RAY = Path(sys.executable).with_name("ray")


@pytest.fixture(scope="module")
def ray_session() -> Iterator[None]:
    """One local Ray for the module, its files in a short private temp dir."""
    with local_ray(num_cpus=2):
        yield


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("method", ["grid", "random"])
def test_ray_matches_serial(ray_session, plugins: Plugins, workers: int, method: str) -> None:
    spec = grid_spec(method={"name": method}, trials=12 if method == "random" else None)
    spec["space"]["fast"] = {"kind": "int", "start": 2, "stop": 30, "step": 2}
    serial = optimize(OptimizeSpec.model_validate(spec), plugins=plugins)
    on_ray = optimize(
        OptimizeSpec.model_validate({**spec, "executor": "ray"}),
        plugins=plugins,
        executor=RayExecutor(workers=workers),
    )
    assert comparable(on_ray) == comparable(serial)
    assert on_ray.best == serial.best or comparable_best(on_ray) == comparable_best(serial)
    assert on_ray.pbo == serial.pbo and on_ray.deflated_sharpe == serial.deflated_sharpe


class RecordingRayExecutor(RayExecutor):
    """The real Ray executor, noting the size of every task and how many trials are out."""

    def __init__(self, **options) -> None:
        super().__init__(**options)
        self.batches: list[int] = []
        self.most_in_flight = self.in_flight = 0

    def submit(self, batch, metric: str, blocks: int) -> None:
        super().submit(batch, metric, blocks)
        self.batches.append(len(batch))
        self.in_flight += len(batch)
        self.most_in_flight = max(self.most_in_flight, self.in_flight)

    def wait(self, timeout):
        finished = super().wait(timeout)
        self.in_flight -= len(finished)
        return finished


def test_a_grid_on_two_ray_workers_is_sent_at_once_in_shrinking_tasks(
    ray_session, plugins: Plugins
) -> None:
    """Every trial goes to Ray before the first result is back, in tasks that end in single
    trials, and the trials are the serial ones (numbers, params and metrics)."""
    spec = grid_spec()
    spec["space"]["fast"] = {"kind": "int", "start": 2, "stop": 40, "step": 2}
    serial = optimize(OptimizeSpec.model_validate(spec), plugins=plugins)
    executor = RecordingRayExecutor(workers=2)
    on_ray = optimize(
        OptimizeSpec.model_validate({**spec, "executor": "ray"}), plugins=plugins, executor=executor
    )
    assert comparable(on_ray) == comparable(serial)
    assert executor.most_in_flight == on_ray.completed == sum(executor.batches)
    assert executor.batches == sorted(executor.batches, reverse=True)
    assert executor.batches[-2:] == [1, 1]


def comparable_best(result):
    return result.best.model_dump(exclude={"seconds"}) if result.best else None


def test_plugin_strategies_run_in_workers_and_failures_are_recorded(
    ray_session, write_plugin
) -> None:
    settings = Settings(plugins_dirs=[write_plugin("flaky", FLAKY_PLUGIN)])
    plugins = Plugins.load(settings)
    spec = grid_spec(executor="ray")
    spec["base"]["strategy"] = {"name": "flaky", "params": {"raise_on": 10}}
    result = optimize(
        OptimizeSpec.model_validate(spec),
        plugins=plugins,
        executor=RayExecutor(workers=2, settings=settings),
    )
    failed = [t for t in result.trials if t.status == "failed"]
    assert {t.params["fast"] for t in failed} == {10} and len(failed) == 3
    assert "cursed" in failed[0].error


def test_a_killed_worker_is_retried_and_the_trial_set_is_complete(
    ray_session, write_plugin, tmp_path: Path
) -> None:
    settings = Settings(plugins_dirs=[write_plugin("flaky", FLAKY_PLUGIN)])
    plugins = Plugins.load(settings)
    marker = tmp_path / "crashed-once"
    spec = grid_spec()
    spec["base"]["strategy"] = {
        "name": "flaky",
        "params": {"crash_on": 15, "marker": str(marker)},
    }
    on_ray = optimize(
        OptimizeSpec.model_validate({**spec, "executor": "ray"}),
        plugins=plugins,
        executor=RayExecutor(workers=2, settings=settings),
    )
    assert marker.exists()  # a worker process really died mid-search
    reference = optimize(OptimizeSpec.model_validate(spec), plugins=plugins)  # marker: no crash
    assert comparable(on_ray) == comparable(reference)
    assert on_ray.failed == 0 and on_ray.completed == reference.completed


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _kill_cluster(head: subprocess.Popen, temp: str) -> None:
    """Stop only this test's cluster (``ray stop`` would stop every Ray on the machine)."""
    head.send_signal(signal.SIGINT)
    try:
        head.wait(timeout=20)
    except subprocess.TimeoutExpired:
        head.kill()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="ignore")
        except OSError:
            continue
        if temp in cmdline:
            with contextlib.suppress(OSError):
                os.kill(int(entry.name), signal.SIGKILL)


def test_cli_on_a_ray_cluster_started_with_ray_start(tmp_path: Path) -> None:
    temp = tempfile.mkdtemp(prefix="sfhead-", dir="/tmp")
    port = _free_port()
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    head = subprocess.Popen(
        [
            str(RAY),
            "start",
            "--head",
            "--block",
            f"--port={port}",
            "--num-cpus=2",
            "--include-dashboard=false",
            "--disable-usage-stats",
            f"--temp-dir={temp}",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        args = ["-p", "fast=5:15:5", "-p", "slow=20:40:20", "-a", "bars=400"]
        on_cluster = tmp_path / "cluster.json"
        deadline = time.monotonic() + 60
        while True:
            proc = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "stratforge",
                    "optimize",
                    *args,
                    "--executor",
                    "ray",
                    "--ray-address",
                    f"127.0.0.1:{port}",
                    "--out",
                    str(on_cluster),
                ],
                capture_output=True,
                text=True,
                timeout=180,
                env=env,
                check=False,
            )
            if proc.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(2)  # the head may still be starting
        assert proc.returncode == 0, proc.stderr[-2000:]
        serial = tmp_path / "serial.json"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "stratforge",
                "optimize",
                *args,
                "--executor",
                "serial",
                "--out",
                str(serial),
            ],
            capture_output=True,
            text=True,
            timeout=180,
            check=True,
        )
        strip = lambda path: [  # noqa: E731
            {k: v for k, v in t.items() if k != "seconds"}
            for t in json.loads(path.read_text())["trials"]
        ]
        assert strip(on_cluster) == strip(serial)
    finally:
        _kill_cluster(head, temp)
        shutil.rmtree(temp, ignore_errors=True)


def _engine_loaded() -> tuple[int, bool]:
    import os
    import sys

    return os.getpid(), "stratforge.core.engine" in sys.modules


def test_warming_imports_the_engine_into_every_cpus_worker(ray_session) -> None:
    """A server warms Ray's workers once Ray is up, so its first job does not wait for
    each worker to import the engine and load the plugins (about 4 s of the first
    backtest's wait here). Each CPU's task lands on a worker of its own."""
    import ray

    from stratforge.core.executors import warm_workers
    from stratforge.core.settings import get_settings

    warmed = warm_workers(get_settings())
    assert len(warmed) == 2  # one worker per CPU of this Ray
    probe = ray.remote(num_cpus=1)(_engine_loaded)
    seen = ray.get([probe.remote() for _ in range(8)])
    assert all(loaded for _, loaded in seen)
