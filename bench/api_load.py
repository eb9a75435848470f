"""REST API latency under load, with an optimisation running on Ray in the background.

Starts `stratforge serve` (local Ray, its own temporary data directory), seeds 60 finished
backtests, starts a long optimisation, opens ``--streams`` event streams (half on every job,
half on the optimisation; 20 by default, as open dashboards would), then drives
`GET /backtests/{id}` and `GET /backtests?limit=50` from this (second) process at a fixed rate
for 30 s, and finally times job submissions. Prints throughput and p50/p99 latency against the
targets (p99 < 50 ms at 200 requests/s; submission p99 < 100 ms).

    .venv/bin/python bench/api_load.py [--rate 200] [--seconds 30] [--streams 20]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

BODY = {
    "strategy": {"name": "sma_cross", "params": {"fast": 5, "slow": 20}},
    "data": {"args": {"bars": 300}},
}
OPTIMIZATION = {
    "base": {"strategy": {"name": "sma_cross"}, "data": {"args": {"bars": 2500}}},
    "space": {
        "fast": {"kind": "int", "start": 2, "stop": 60},
        "slow": {"kind": "int", "start": 61, "stop": 200, "step": 10},
    },
    "executor": "ray",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(data_dir: Path, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "STRATFORGE_DATA_DIR": str(data_dir),
        "STRATFORGE_JOB_EXECUTOR": "ray",
        "STRATFORGE_RAY_TEMP_DIR": tempfile.mkdtemp(prefix="sfapi-ray-", dir="/tmp"),
        "STRATFORGE_MAX_CONCURRENT_JOBS": "2",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "stratforge", "serve", "--port", str(port), "--no-demo"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            health = httpx.get(f"{base}/api/v1/health", timeout=2).json()
            if health["ray"] == "ok":
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise SystemExit("server did not become healthy")


def wait_done(client: httpx.Client, url: str) -> dict:
    while True:
        state = client.get(url).json()
        if state["status"] in ("completed", "failed", "cancelled"):
            return state
        time.sleep(0.2)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def drive(base: str, run_id: str, rate: float, seconds: float) -> tuple[list[float], int, float]:
    """Open-loop load: requests start on schedule whatever the latency (8 client threads)."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    interval = 1.0 / rate
    start = time.perf_counter()
    total = int(rate * seconds)
    paths = [f"/api/v1/backtests/{run_id}", "/api/v1/backtests?limit=50"]

    def worker(offset: int, step: int) -> None:
        nonlocal errors
        with httpx.Client(base_url=base, timeout=10) as client:
            for i in range(offset, total, step):
                due = start + i * interval
                delay = due - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                began = time.perf_counter()
                response = client.get(paths[i % 2])
                took = time.perf_counter() - began
                with lock:
                    latencies.append(took)
                    errors += response.status_code != 200

    threads = [threading.Thread(target=worker, args=(k, 8)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors, time.perf_counter() - start


def follow_streams(base: str, paths: list[str], stop: threading.Event) -> list[threading.Thread]:
    """One thread per event stream, reading it until *stop* (then the next event)."""

    def follow(path: str) -> None:
        try:
            with httpx.stream("GET", base + path, timeout=120) as response:
                for _line in response.iter_lines():
                    if stop.is_set():
                        return
        except httpx.HTTPError:
            pass

    threads = [threading.Thread(target=follow, args=(p,), daemon=True) for p in paths]
    for thread in threads:
        thread.start()
    return threads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--streams", type=int, default=20, help="event streams held open")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="sfapi-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_server(data_dir, port)
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            ids = [client.post("/api/v1/backtests", json=BODY).json()["id"] for _ in range(60)]
            for job_id in ids:
                wait_done(client, f"/api/v1/backtests/{job_id}")
            search = client.post("/api/v1/optimizations", json=OPTIMIZATION).json()
            while client.get(search["links"]["self"]).json()["status"] != "running":
                time.sleep(0.2)
            stop = threading.Event()
            half = args.streams // 2
            paths = ["/api/v1/events"] * half + [search["links"]["events"]] * (args.streams - half)
            follow_streams(base, paths, stop)
            time.sleep(3)  # let the workers get busy
            latencies, errors, elapsed = drive(base, ids[0], args.rate, args.seconds)
            stop.set()
            progress = client.get(search["links"]["self"]).json()
            submissions = []
            for _ in range(100):
                began = time.perf_counter()
                response = client.post("/api/v1/backtests", json=BODY)
                submissions.append(time.perf_counter() - began)
                assert response.status_code == 202
                time.sleep(0.05)
            client.post(f"{search['links']['self']}/cancel")
        ms = [x * 1000 for x in latencies]
        sub_ms = [x * 1000 for x in submissions]
        print(
            f"load: {len(ms)} GETs in {elapsed:.1f} s = {len(ms) / elapsed:.0f} req/s "
            f"(target rate {args.rate:.0f}), errors {errors}, {args.streams} event streams open"
        )
        print(
            f"  latency p50 {statistics.median(ms):.1f} ms, p99 {percentile(ms, 99):.1f} ms, "
            f"max {max(ms):.1f} ms   (target p99 < 50 ms)"
        )
        print(f"  meanwhile the optimisation ran {progress['trials_done']} trials on Ray")
        sub_p99 = percentile(sub_ms, 99)
        print(
            f"submission: p50 {statistics.median(sub_ms):.1f} ms, p99 {sub_p99:.1f} ms "
            "(target p99 < 100 ms)"
        )
        kept_rate = len(ms) / elapsed >= args.rate * 0.95
        print(
            f"targets met: latency {percentile(ms, 99) < 50 and kept_rate}, "
            f"submission {sub_p99 < 100}"
        )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
