"""The service as `make run` starts it: `stratforge serve` on its default Ray executor, over
real HTTP. Start-up, errors from Ray workers, streams and shutdown."""

from __future__ import annotations

import signal
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api_helpers import FINISHED, backtest_body
from tests.server_helpers import free_port, server

pytestmark = pytest.mark.slow
RAY = {"STRATFORGE_JOB_EXECUTOR": "ray", "STRATFORGE_MAX_CONCURRENT_JOBS": "2"}


def wait_finished(base: str, path: str, ids: list[str], timeout: float = 240) -> list[dict]:
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=base, timeout=30) as client:
        while True:
            states = [client.get(f"/api/v1/{path}/{i}").json() for i in ids]
            if all(s["status"] in FINISHED for s in states) or time.monotonic() > deadline:
                return states
            time.sleep(0.3)


def test_jobs_submitted_while_ray_starts_all_run(tmp_path: Path) -> None:
    """50 submissions the moment the server answers, while Ray is still starting: each runs
    once (a second ray.init in a job thread failed 2 of them)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with server(tmp_path / "data", port, ready="/api/v1/version", **RAY):

        def submit(i: int) -> str:
            with httpx.Client(timeout=30) as client:
                response = client.post(f"{base}/api/v1/backtests", json=backtest_body(bars=200 + i))
                assert response.status_code == 202, response.text
                return str(response.json()["id"])

        with ThreadPoolExecutor(max_workers=8) as pool:
            ids = list(pool.map(submit, range(50)))
        states = wait_finished(base, "backtests", ids)
        assert [s["error"] for s in states if s["status"] != "completed"] == []
        assert {s["attempts"] for s in states} == {1}
        assert sorted(s["metrics"]["bars"] for s in states) == list(range(200, 250))
        health = httpx.get(f"{base}/api/v1/health").json()
        assert (health["status"], health["ray"]) == ("ok", "ok")


@pytest.fixture(scope="module")
def ray_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One Ray-backed server for the tests that do not stop it."""
    root = tmp_path_factory.mktemp("ray_server")
    port = free_port()
    with server(root / "data", port, log=root / "server.log", **RAY) as proc:
        yield f"http://127.0.0.1:{port}", proc


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"args": {"bars": 100, "start": "2015-01-02"}, "start": "2030-01-01"},
            "SpecError: data: fewer than 2 bars remain after start/end",
        ),
        ({"args": {"bars": 5}}, "SpecError: data: 5 bars are too few"),
    ],
)
def test_errors_from_ray_workers_arrive_intact(ray_server: Any, data: dict, expected: str) -> None:
    base, _proc = ray_server
    body = {**backtest_body(), "data": data}
    job = httpx.post(f"{base}/api/v1/backtests", json=body, timeout=30).json()
    (state,) = wait_finished(base, "backtests", [job["id"]])
    assert state["status"] == "failed"
    assert state["error"].startswith(expected), state["error"]
    assert "Unserializable" not in state["error"]
    assert "from plugin" not in state["error"]  # a data error is not the strategy's fault


def test_thirty_followers_of_one_job_leave_the_server_responsive(ray_server: Any) -> None:
    """Each /events follower held a database connection for its whole life: 30 of them
    exhausted the pool (HTTP 500 "QueuePool limit") and stalled /health."""
    base, _proc = ray_server
    long_run = {**backtest_body(), "data": {"args": {"bars": 150_000, "timeframe": "minutes"}}}
    job = httpx.post(f"{base}/api/v1/backtests", json=long_run, timeout=30)
    job_id = job.json()["id"]
    statuses: list[int] = []
    stop = threading.Event()

    def follow() -> None:
        with httpx.stream("GET", f"{base}/api/v1/backtests/{job_id}/events", timeout=60) as r:
            statuses.append(r.status_code)
            for _line in r.iter_lines():
                if stop.is_set():
                    return

    threads = [threading.Thread(target=follow, daemon=True) for _ in range(30)]
    for thread in threads:
        thread.start()
    time.sleep(2.0)
    started = time.monotonic()
    health = httpx.get(f"{base}/api/v1/health", timeout=10)
    elapsed = time.monotonic() - started
    listing = httpx.get(f"{base}/api/v1/backtests", timeout=10)
    running = httpx.get(f"{base}/api/v1/backtests/{job_id}", timeout=10).json()["status"]
    stop.set()
    httpx.post(f"{base}/api/v1/backtests/{job_id}/cancel", timeout=10)
    for thread in threads:
        thread.join(timeout=30)
    assert statuses == [200] * 30
    assert health.status_code == 200 and listing.status_code == 200
    assert running == "running"  # the followers were all open on a live job
    assert elapsed < 1.0


def test_sigterm_with_open_streams_shuts_down_cleanly(tmp_path: Path) -> None:
    """The dashboard always holds a stream: SIGTERM ends it and the server stops at once
    (Ray's crash handler used to abort the process: SIGABRT, exit 134)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    ray_dir = Path(tempfile.mkdtemp(prefix="sfr-", dir="/tmp"))  # short: Ray's socket paths
    env = {**RAY, "STRATFORGE_RAY_TEMP_DIR": str(ray_dir)}

    def ray_processes() -> list[str]:
        found = subprocess.run(
            ["pgrep", "-f", str(ray_dir)], capture_output=True, text=True, check=False
        )
        return found.stdout.split()

    with server(tmp_path / "data", port, log=log, **env) as proc:
        job = httpx.post(f"{base}/api/v1/backtests", json=backtest_body(), timeout=30).json()
        wait_finished(base, "backtests", [job["id"]])
        received: dict[str, list[str]] = {"all": [], "job": []}

        def follow(name: str, path: str) -> None:
            with httpx.stream("GET", base + path, timeout=60) as response:
                received[name].extend(response.iter_lines())

        followers = [
            threading.Thread(target=follow, args=("all", "/api/v1/events"), daemon=True),
            threading.Thread(
                target=follow,
                args=("job", f"/api/v1/backtests/{job['id']}/events"),
                daemon=True,
            ),
        ]
        for thread in followers:
            thread.start()
        time.sleep(1.5)
        assert ray_processes()  # the local Ray runs under the server's temp dir
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
        elapsed = time.monotonic() - started
        for thread in followers:
            thread.join(timeout=10)
    text = log.read_text()
    assert code in (0, -signal.SIGTERM), text[-2000:]  # uvicorn re-raises the signal it got
    assert "Application shutdown complete" in text and "SIGTERM received" not in text
    assert elapsed < 3.0
    assert "event: shutdown" in received["all"]

    deadline = time.monotonic() + 15
    while ray_processes() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert ray_processes() == []  # no raylet, agent or worker outlives the server


# -- durability on Ray ------------------------------------------------------------------

SEARCH = {
    "base": {"strategy": {"name": "sma_cross"}, "data": {"args": {"bars": 3000}}},
    "space": {
        "fast": {"kind": "int", "start": 5, "stop": 40, "step": 5},
        "slow": {"kind": "int", "start": 50, "stop": 200, "step": 50},
    },
    "pbo_blocks": 4,
}


def stored_trials(base: str, job_id: str) -> list[dict]:
    return httpx.get(f"{base}/api/v1/optimizations/{job_id}/trials", timeout=30).json()


def wait_until(check: Any, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_sigkill_with_queued_running_and_half_done_jobs_loses_nothing(tmp_path: Path) -> None:
    from stratforge import RunSpec, run_backtest
    from stratforge.core.optimize import OptimizeSpec, optimize

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data_dir = tmp_path / "data"
    bodies = [backtest_body(bars=30_000 + 1000 * i) for i in range(4)]
    with server(data_dir, port, **RAY) as proc:
        search_id = httpx.post(f"{base}/api/v1/optimizations", json=SEARCH).json()["id"]
        ids = [httpx.post(f"{base}/api/v1/backtests", json=b).json()["id"] for b in bodies]
        wait_until(lambda: len(stored_trials(base, search_id)) >= 5)
        before = len(stored_trials(base, search_id))
        proc.send_signal(signal.SIGKILL)  # the search half done, backtests queued or running
        proc.wait(timeout=10)
    with server(data_dir, port, **RAY):
        assert len(stored_trials(base, search_id)) >= before  # nothing deleted on restart
        states = wait_finished(base, "backtests", ids)
        (search,) = wait_finished(base, "optimizations", [search_id])
        trials = stored_trials(base, search_id)
        listing = httpx.get(f"{base}/api/v1/backtests", params={"limit": 100}).json()
    assert listing["total"] == 4 and all(s["status"] == "completed" for s in states)
    for state, body in zip(states, bodies, strict=True):
        expected = run_backtest(RunSpec.model_validate(body)).metrics.model_dump()
        assert state["metrics"] == expected  # computed exactly once more, the same
    assert search["status"] == "completed" and search["attempts"] == 2
    assert [t["number"] for t in trials] == list(range(32))  # each trial stored once
    expected_search = optimize(OptimizeSpec.model_validate(SEARCH))
    assert search["best"]["params"] == expected_search.best.params
    assert search["summary"]["pbo"] == expected_search.pbo


def test_a_restarted_search_that_fails_keeps_its_trials(tmp_path: Path) -> None:
    """The re-run of a killed search fails (its data file went bad meanwhile): the trials
    the first attempt stored stay, and the job says how many."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data_dir = tmp_path / "data"
    files = data_dir / "files"
    files.mkdir(parents=True)
    from stratforge.data import generate_synthetic

    generate_synthetic(bars=3000, seed=3).to_csv(files / "bars.csv")
    search = {**SEARCH, "base": {**SEARCH["base"], "data": {"source": "csv"}}}
    search["base"]["data"]["args"] = {"path": str(files / "bars.csv")}
    with server(data_dir, port, **RAY) as proc:
        search_id = httpx.post(f"{base}/api/v1/optimizations", json=search).json()["id"]
        wait_until(lambda: len(stored_trials(base, search_id)) >= 5)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    (files / "bars.csv").write_text("not,a,price,file\n")
    with server(data_dir, port, **RAY):
        kept = stored_trials(base, search_id)
        (state,) = wait_finished(base, "optimizations", [search_id])
        after = stored_trials(base, search_id)
    assert state["status"] == "failed"
    assert len(kept) >= 5 and after == kept
    assert state["trials_done"] == len(kept)


def test_a_killed_ray_worker_is_retried_with_the_same_result(ray_server: Any) -> None:
    import subprocess

    from stratforge import RunSpec, run_backtest

    base, _proc = ray_server
    body = {**backtest_body(), "data": {"args": {"bars": 120_000, "timeframe": "minutes"}}}
    job_id = httpx.post(f"{base}/api/v1/backtests", json=body, timeout=30).json()["id"]

    def worker_pids() -> list[str]:
        found = subprocess.run(
            ["pgrep", "-f", "run_backtest_stream"], capture_output=True, text=True, check=False
        )
        return found.stdout.split()

    def progress() -> float:
        return float(httpx.get(f"{base}/api/v1/backtests/{job_id}").json()["progress"] or 0)

    wait_until(lambda: bool(worker_pids()) and progress() > 0.05, timeout=60)
    subprocess.run(["kill", "-9", *worker_pids()], check=False)
    (state,) = wait_finished(base, "backtests", [job_id])
    assert state["status"] == "completed", state["error"]
    assert state["attempts"] == 2  # Ray's retry is counted
    assert state["metrics"] == run_backtest(RunSpec.model_validate(body)).metrics.model_dump()


# -- no job runs for ever unseen ----------------------------------------------------------


def minute_run(bars: int) -> dict[str, Any]:
    return {**backtest_body(), "data": {"args": {"bars": bars, "timeframe": "minutes"}}}


def test_progress_shows_bars_done_and_the_time_limit_stops_a_job(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # The first progress report comes about 9.5 s after submission on a quiet machine (the
    # server's Ray worker, at its lower priority, imports the engine, then the run loads and
    # precomputes): a limit short of twice that fails this test on a loaded one.
    limits = {**RAY, "STRATFORGE_JOB_TIME_LIMIT_S": "25"}
    with server(tmp_path / "data", port, **limits):
        job_id = httpx.post(f"{base}/api/v1/backtests", json=minute_run(600_000)).json()["id"]
        seen: list[tuple[float, str]] = []
        started = time.monotonic()
        while (state := httpx.get(f"{base}/api/v1/backtests/{job_id}").json())["status"] in (
            "queued",
            "running",
        ):
            if state["status"] == "running" and state["progress"]:
                seen.append((state["progress"], state["message"]))
            assert time.monotonic() - started < 60
            time.sleep(0.25)
        search = httpx.post(
            f"{base}/api/v1/optimizations",
            json={**SEARCH, "base": minute_run(200_000)},
        ).json()["id"]
        (stopped_search,) = wait_finished(base, "optimizations", [search], timeout=90)
    assert state["status"] == "failed" and "time limit of 25 s" in state["error"]
    assert seen and all(0 < p < 1 for p, _ in seen)
    assert [p for p, _ in seen] == sorted(p for p, _ in seen)  # it moves forward
    assert seen[-1][1].endswith("of 600,000 bars")
    assert stopped_search["status"] == "failed" and "time limit" in stopped_search["error"]


def test_the_memory_limit_fails_a_job_with_the_reason(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    limits = {**RAY, "STRATFORGE_JOB_MEMORY_LIMIT_MB": "1200"}
    with server(tmp_path / "data", port, **limits):
        # 5,000,000 bars need about 1.3 GB once the indicators are precomputed (2,000,000
        # did before results were compact; they now fit in the limit)
        big = httpx.post(f"{base}/api/v1/backtests", json=minute_run(5_000_000)).json()["id"]
        small = httpx.post(f"{base}/api/v1/backtests", json=minute_run(20_000)).json()["id"]
        states = wait_finished(base, "backtests", [big, small], timeout=180)
    assert states[0]["status"] == "failed" and "MemoryError" in states[0]["error"]
    assert states[0]["attempts"] == 1
    assert states[1]["status"] == "completed"  # the worker is fine afterwards
