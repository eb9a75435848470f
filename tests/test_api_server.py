"""A real uvicorn server over real HTTP: concurrent submissions and crash durability."""

from __future__ import annotations

import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from stratforge import RunSpec, run_backtest
from tests.api_helpers import FINISHED, backtest_body
from tests.server_helpers import free_port, server

pytestmark = pytest.mark.slow


def wait_all(base: str, ids: list[str], timeout: float = 180) -> dict[str, dict]:
    deadline = time.monotonic() + timeout
    states: dict[str, dict] = {}
    while time.monotonic() < deadline:
        states = {i: httpx.get(f"{base}/api/v1/backtests/{i}", timeout=10).json() for i in ids}
        if all(s["status"] in FINISHED for s in states.values()):
            return states
        time.sleep(0.3)
    raise AssertionError(f"not finished: {[s['status'] for s in states.values()]}")


def test_fifty_concurrent_submissions(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with server(tmp_path / "data", port, STRATFORGE_MAX_CONCURRENT_JOBS="2"):

        def submit(i: int) -> str:
            with httpx.Client(timeout=30) as client:
                response = client.post(f"{base}/api/v1/backtests", json=backtest_body(bars=250 + i))
                assert response.status_code == 202, response.text
                return response.json()["id"]

        with ThreadPoolExecutor(max_workers=16) as pool:
            ids = list(pool.map(submit, range(50)))
        assert len(set(ids)) == 50
        states = wait_all(base, ids)
        assert all(s["status"] == "completed" for s in states.values())
        listing = httpx.get(f"{base}/api/v1/backtests", params={"limit": 500}).json()
        assert listing["total"] == 50
        assert sorted(i["id"] for i in listing["items"]) == sorted(ids)
        assert {s["metrics"]["bars"] for s in states.values()} == set(range(250, 300))


def test_jobs_survive_a_killed_server(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data_dir = tmp_path / "data"
    bodies = [backtest_body(bars=40_000 + 1000 * i) for i in range(4)]
    search = {
        "base": {"strategy": {"name": "sma_cross"}, "data": {"args": {"bars": 2000}}},
        "space": {
            "fast": {"kind": "int", "start": 5, "stop": 15, "step": 5},
            "slow": {"kind": "int", "start": 30, "stop": 60, "step": 30},
        },
        "pbo_blocks": 4,
    }
    with server(data_dir, port) as proc:
        ids = [httpx.post(f"{base}/api/v1/backtests", json=b).json()["id"] for b in bodies]
        search_id = httpx.post(f"{base}/api/v1/optimizations", json=search).json()["id"]
        deadline = time.monotonic() + 60
        while httpx.get(f"{base}/api/v1/backtests/{ids[0]}").json()["status"] != "running":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)  # mid-run: one running, three queued
        proc.wait(timeout=10)
    with server(data_dir, port):
        states = wait_all(base, ids, timeout=300)
        listing = httpx.get(f"{base}/api/v1/backtests", params={"limit": 100}).json()
        deadline = time.monotonic() + 120
        while (opt := httpx.get(f"{base}/api/v1/optimizations/{search_id}").json())[
            "status"
        ] not in FINISHED:
            assert time.monotonic() < deadline
            time.sleep(0.3)
        trials = httpx.get(f"{base}/api/v1/optimizations/{search_id}/trials").json()
    assert opt["status"] == "completed" and [t["number"] for t in trials] == list(range(6))
    from stratforge.core.optimize import OptimizeSpec, optimize

    expected_best = optimize(OptimizeSpec.model_validate(search)).best
    assert opt["best"]["params"] == expected_best.params
    assert opt["best"]["objective"] == expected_best.objective
    assert listing["total"] == 4  # nothing lost, nothing duplicated
    assert all(states[i]["status"] == "completed" for i in ids)
    assert states[ids[0]]["attempts"] == 2  # the interrupted job ran again
    for job_id, body in zip(ids, bodies, strict=True):
        expected = run_backtest(RunSpec.model_validate(body)).metrics.model_dump()
        assert states[job_id]["metrics"] == expected  # same result as an uninterrupted run
