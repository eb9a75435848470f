"""Requests refused at the door of a live `stratforge serve` (Ray executor, real HTTP): each
bad value gets a 422 naming its field (or a 413) within milliseconds, echoes nothing back, and
leaves the server answering; concurrent retries with one Idempotency-Key get one job."""

from __future__ import annotations

import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api_helpers import backtest_body
from tests.server_helpers import free_port, server, server_on_database

pytestmark = pytest.mark.slow
SEARCH = {
    "base": backtest_body(bars=300),
    "space": {"fast": {"kind": "int", "start": 2, "stop": 9}},
}


def search(space: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {**SEARCH, "space": space, **extra}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def base(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp(f"limits-{request.param}")
    with server_on_database(
        request.param,
        lambda: request.getfixturevalue("postgres_url"),
        root / "data",
        STRATFORGE_JOB_EXECUTOR="ray",
    ) as url:
        yield url


REFUSED = [
    # grid sizes are arithmetic: these never build their lists
    (
        "optimizations",
        search({"fast": {"kind": "float", "start": 1, "stop": 2, "step": 1e-300}}),
        ["body", "space"],
    ),
    (
        "optimizations",
        search({"fast": {"kind": "int", "start": 2, "stop": 10**15}}),
        ["body", "space"],
    ),
    (
        "walkforwards",  # 20,000 trials in each of 17,998 windows of a 100,000-bar series
        {
            "search": search(
                {
                    "fast": {"kind": "int", "start": 1, "stop": 100},
                    "slow": {"kind": "int", "start": 1, "stop": 200},
                },
                base=backtest_body(bars=100_000),
            ),
            "train": 10,
            "test": 5,
        },
        ["body", "search", "space"],
    ),
    (
        "walkforwards",
        {"search": SEARCH, "train": 400, "test": 200},  # 600 bars of a 300-bar series
        ["body", "train"],
    ),
    # constraints cannot freeze the server
    (
        "optimizations",
        search(SEARCH["space"], constraints=["fast ** 99999999 < 1"]),
        ["body", "constraints"],
    ),
    (
        "optimizations",
        search(SEARCH["space"], constraints=["fast < 1e400"]),
        ["body", "constraints"],
    ),
    # values checked at submission, not at run time
    (
        "backtests",
        {**backtest_body(), "data": {"args": {"bars": -1}}},
        ["body", "data", "args", "bars"],
    ),
    (
        "backtests",
        {**backtest_body(), "data": {"args": {"bars": 0}}},
        ["body", "data", "args", "bars"],
    ),
    (
        "backtests",
        {**backtest_body(), "data": {"args": {"bars": 10**12}}},
        ["body", "data", "args", "bars"],
    ),
    ("backtests", {**backtest_body(), "seed": -1}, ["body", "seed"]),
    ("optimizations", search(SEARCH["space"], seed=-5), ["body", "seed"]),
    ("backtests", {**backtest_body(), "currency": "x" * 5000}, ["body", "currency"]),
    (
        "backtests",
        {**backtest_body(), "strategy": {"name": "sma_cross", "params": {"fast": "y" * 5000}}},
        ["body", "strategy", "params", "fast"],
    ),
]


@pytest.mark.parametrize(("path", "body", "loc"), REFUSED)
def test_refused_at_the_door(base: str, path: str, body: dict, loc: list[str]) -> None:
    started = time.monotonic()
    response = httpx.post(f"{base}/api/v1/{path}", json=body, timeout=30)
    elapsed = time.monotonic() - started
    assert response.status_code == 422, response.text[:500]
    detail = response.json()["detail"]
    assert detail[0]["loc"][: len(loc)] == loc, detail
    assert elapsed < 2.0  # the walk-forward loads its 100,000 bars to count windows
    assert len(response.content) < 2000  # nothing long echoed back
    assert httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200


@pytest.mark.parametrize(
    ("text", "loc"),
    [
        ('{"strategy": {"name": "sma_cross"}, "cash": NaN}', ["body", "cash"]),
        ('{"strategy": {"name": "sma_cross"}, "cash": Infinity}', ["body", "cash"]),
        (
            '{"strategy": {"name": "sma_cross", "params": {"fast": NaN}}}',
            ["body", "strategy", "params", "fast"],
        ),
        (
            '{"strategy": {"name": "sma_cross"}, "analyzers": [{"name": "sharpe", "params": '
            '{"riskfreerate": -Infinity}}]}',
            ["body", "analyzers"],
        ),
    ],
)
def test_non_finite_numbers_are_refused(base: str, text: str, loc: list[str]) -> None:
    response = httpx.post(
        f"{base}/api/v1/backtests",
        content=text,
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][: len(loc)] == loc


def test_paging_limits_and_huge_bodies(base: str) -> None:
    for params in ({"limit": 10**20}, {"offset": 10**20}, {"limit": 0}):
        response = httpx.get(f"{base}/api/v1/backtests", params=params, timeout=10)
        assert response.status_code == 422, (params, response.text)
        assert response.json()["detail"][0]["loc"][:1] == ["query"]
    huge = {**backtest_body(), "currency": "x" * (50 << 20)}  # a 50 MB string
    response = httpx.post(f"{base}/api/v1/backtests", content=json.dumps(huge), timeout=60)
    assert response.status_code == 413
    name = {**backtest_body(), "strategy": {"name": "z" * (1 << 20)}}
    response = httpx.post(f"{base}/api/v1/backtests", json=name, timeout=30)
    assert response.status_code == 413 and len(response.content) < 500
    listing = httpx.get(f"{base}/api/v1/backtests", timeout=10).json()
    assert all(len(json.dumps(item)) < 5000 for item in listing["items"])  # nothing stored


def test_one_idempotency_key_sent_ten_times_at_once_is_one_job(base: str) -> None:
    body = backtest_body(bars=321)
    key = f"retry-{time.time_ns()}"

    def send(_i: int) -> httpx.Response:
        return httpx.post(
            f"{base}/api/v1/backtests", json=body, headers={"Idempotency-Key": key}, timeout=30
        )

    for _round in range(3):
        key = f"retry-{time.time_ns()}"
        with ThreadPoolExecutor(max_workers=10) as pool:
            responses = list(pool.map(send, range(10)))
        assert [r.status_code for r in responses] == [202] * 10, [r.text for r in responses]
        assert len({r.json()["id"] for r in responses}) == 1
        replays = [r.headers.get("Idempotent-Replayed") for r in responses]
        assert replays.count(None) == 1 and replays.count("true") == 9


def test_constraint_evaluation_is_bounded_at_run_time(base: str, tmp_path: Path) -> None:
    """A parameter exponent passes the parse (it has no constant to check) and is bounded
    when the constraint is evaluated: the search fails its trials' filter, not the server."""
    body = search(
        {
            "fast": {"kind": "int", "start": 2, "stop": 4},
            "slow": {"kind": "int", "start": 90, "stop": 91},
        },
        constraints=["fast ** slow > 1"],
    )
    response = httpx.post(f"{base}/api/v1/optimizations", json=body, timeout=30)
    job = response.json()
    deadline = time.monotonic() + 60
    while (state := httpx.get(f"{base}/api/v1/optimizations/{job['id']}").json())["status"] in (
        "queued",
        "running",
    ):
        assert httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert state["status"] == "failed" and "exponent" in state["error"]


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_idle_streams_over_a_long_queue_cost_little(tmp_path: Path) -> None:
    """One shared publisher for every /events stream: 20 open dashboards over 400 queued
    jobs used to keep a core busy re-serialising every job twice a second per stream."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with server(tmp_path / "data", port, STRATFORGE_RUN_JOBS="false") as proc:
        with httpx.Client(timeout=30) as client:
            for i in range(400):
                client.post(f"{base}/api/v1/backtests", json=backtest_body(bars=200 + i))
        stop = threading.Event()
        first_events: list[int] = []

        def follow() -> None:
            with httpx.stream("GET", f"{base}/api/v1/events", timeout=60) as response:
                count = 0
                for line in response.iter_lines():
                    count += line.startswith("event: status")
                    if stop.is_set():
                        break
                first_events.append(count)

        threads = [threading.Thread(target=follow, daemon=True) for _ in range(20)]
        for thread in threads:
            thread.start()
        time.sleep(3.0)  # every stream has sent its first snapshot of the queue
        before = _cpu_seconds(proc.pid)
        time.sleep(5.0)
        used = _cpu_seconds(proc.pid) - before
        health = httpx.get(f"{base}/api/v1/health", timeout=5)
        stop.set()
        httpx.post(f"{base}/api/v1/backtests", json=backtest_body())  # wake the streams
        for thread in threads:
            thread.join(timeout=10)
    assert health.status_code == 200
    assert first_events and min(first_events) >= 400  # each stream saw every queued job
    assert used / 5.0 < 0.3, f"the server used {used / 5.0:.0%} of a core with idle streams"
