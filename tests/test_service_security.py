"""Files, authority and the network, on a live `stratforge serve` (Ray executor, real HTTP):
requests read files only under the data roots, a public bind never runs without a key, and a
keyless loopback server refuses cross-site writes and foreign Host headers."""

from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from stratforge.data import generate_synthetic
from tests.api_helpers import FINISHED, backtest_body
from tests.server_helpers import free_port, server
from tests.test_cli import stratforge

pytestmark = pytest.mark.slow
RAY = {"STRATFORGE_JOB_EXECUTOR": "ray"}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("security")
    data_dir = root / "data"
    files = data_dir / "files"
    files.mkdir(parents=True)
    generate_synthetic(bars=300, seed=4).to_csv(files / "bars.csv")
    (files / "escape.csv").symlink_to("/etc/passwd")
    port = free_port()
    with server(data_dir, port, **RAY):
        yield f"http://127.0.0.1:{port}", files


def csv_spec(path: str) -> dict[str, Any]:
    return {**backtest_body(), "data": {"source": "csv", "args": {"path": path}}}


@pytest.mark.parametrize(
    "path",
    [
        "/etc/shadow",
        "/etc/passwd",
        "{files}/../../../../etc/passwd",
        "{files}/escape.csv",  # a symlink out of the root
        "bars.csv",  # relative: to the server's working directory, not the root
    ],
)
def test_files_outside_the_data_roots_are_refused(live: Any, path: str) -> None:
    base, files = live
    path = path.format(files=files)
    response = httpx.post(f"{base}/api/v1/backtests", json=csv_spec(path), timeout=30)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"][0]
    assert detail["loc"] == ["body", "data", "args", "path"]
    assert "root:" not in response.text and str(files) not in response.text
    assert path not in response.text


def test_every_declared_path_is_checked(live: Any) -> None:
    base, _files = live
    futures = {"source": "contracts_dir", "root": "ES", "args": {"path": "/etc"}}
    cases = [
        ("backtests", {**backtest_body(), "data": futures}, ["body", "data", "args", "path"]),
        (
            "backtests",
            {**backtest_body(), "data": {"source": "parquet", "args": {"path": "/etc/hosts"}}},
            ["body", "data", "args", "path"],
        ),
        (
            "backtests",
            {
                **backtest_body(),
                "data": {"source": "synthetic", "root": "FESX", "args": {"bars": 300}},
                "fx_rates": {"EUR": {"source": "csv", "args": {"path": "/etc/passwd"}}},
            },
            ["body", "fx_rates", "EUR", "args", "path"],
        ),
        (
            "optimizations",
            {
                "base": csv_spec("/etc/passwd"),
                "space": {"fast": {"kind": "int", "start": 2, "stop": 4}},
            },
            ["body", "base", "data", "args", "path"],
        ),
        (
            "walkforwards",
            {
                "search": {
                    "base": csv_spec("/etc/passwd"),
                    "space": {"fast": {"kind": "int", "start": 2, "stop": 4}},
                },
                "train": 100,
                "test": 50,
            },
            ["body", "search", "base", "data", "args", "path"],
        ),
    ]
    for path, body, loc in cases:
        response = httpx.post(f"{base}/api/v1/{path}", json=body, timeout=30)
        assert response.status_code == 422, (path, response.text)
        assert response.json()["detail"][0]["loc"] == loc


def test_a_file_under_the_data_root_is_backtested(live: Any) -> None:
    base, files = live
    job = httpx.post(f"{base}/api/v1/backtests", json=csv_spec(str(files / "bars.csv")), timeout=30)
    assert job.status_code == 202, job.text
    deadline = time.monotonic() + 120
    url = base + job.json()["links"]["self"]
    while (state := httpx.get(url).json())["status"] not in FINISHED:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert state["status"] == "completed" and state["metrics"]["bars"] == 300


def test_the_cli_reads_any_file(tmp_path: Path) -> None:
    """The CLI is a local user's tool: no data roots."""
    path = tmp_path / "mine.csv"
    generate_synthetic(bars=200, seed=2).to_csv(path)
    proc = stratforge("run", "--data", "csv", "--data-arg", f"path={path}")
    assert proc.returncode == 0, proc.stderr


def test_upload_errors_name_the_upload_never_a_server_path(live: Any) -> None:
    base, _files = live
    bad = (
        "datetime,open,high,low,close,volume\n2024-01-01,1,2,0.5,1.5,10\n2024-01-02,1,0.5,2,1,10\n"
    )
    response = httpx.post(
        f"{base}/api/v1/datasets", files={"file": ("prices.csv", bad.encode())}, timeout=30
    )
    assert response.status_code == 422
    assert "prices.csv" in response.text
    assert "/tmp" not in response.text and "upload.csv" not in response.text


def test_a_large_upload_does_not_stall_the_server(live: Any, tmp_path: Path) -> None:
    """Validating and storing a 60 MB upload used to run on the event loop (2.8 s of
    unanswered /health for 113 MB)."""
    base, _files = live
    path = tmp_path / "big.csv"
    frame = generate_synthetic(bars=900_000, timeframe="minutes", seed=1, drift=0.0)
    frame.to_csv(path)
    assert path.stat().st_size > 60 << 20
    worst = 0.0
    done = threading.Event()

    def upload() -> None:
        with path.open("rb") as handle:
            response = httpx.post(
                f"{base}/api/v1/datasets", files={"file": ("big.csv", handle)}, timeout=300
            )
        assert response.status_code in (200, 201), response.text[:300]
        done.set()

    thread = threading.Thread(target=upload)
    thread.start()
    while not done.is_set():
        started = time.monotonic()
        assert httpx.get(f"{base}/api/v1/health", timeout=10).status_code == 200
        worst = max(worst, time.monotonic() - started)
        time.sleep(0.05)
    thread.join()
    print(f"worst /health latency during the upload: {worst:.3f} s")
    assert worst < 0.75, f"/health took {worst:.2f} s during the upload"


# -- a keyless loopback server ---------------------------------------------------------


def test_cross_site_writes_and_foreign_hosts_are_refused(live: Any) -> None:
    base, _files = live
    evil = {"Origin": "http://evil.example"}
    refused = [
        httpx.post(f"{base}/api/v1/backtests", json=backtest_body(), headers=evil),
        httpx.post(f"{base}/api/v1/datasets", files={"file": ("x.csv", b"a,b\n")}, headers=evil),
        httpx.delete(f"{base}/api/v1/backtests/bt_0123456789abcdef", headers=evil),
        httpx.get(f"{base}/api/v1/backtests", headers={"Host": "rebound.example:8000"}),
        httpx.get(f"{base}/", headers={"Host": "attacker.test"}),
    ]
    assert [r.status_code for r in refused] == [403] * len(refused)
    same_origin = {"Origin": base}
    assert (
        httpx.post(
            f"{base}/api/v1/backtests", json=backtest_body(), headers=same_origin
        ).status_code
        == 202
    )
    assert httpx.post(f"{base}/api/v1/backtests", json=backtest_body()).status_code == 202
    assert httpx.get(f"{base}/api/v1/health", headers={"Host": "localhost"}).status_code == 200


def test_a_public_bind_without_a_key_gets_one(tmp_path: Path) -> None:
    """`serve --host 0.0.0.0` with no key generates and prints one (as Jupyter does);
    the test talks to it over loopback only."""
    assert "STRATFORGE_API_KEY" not in os.environ
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with server(tmp_path / "data", port, args=("--host", "0.0.0.0"), stdout=True) as proc:
        assert proc.stdout is not None
        printed = ""
        while "API key:" not in printed and (line := proc.stdout.readline()):
            printed += line
        match = re.search(r"API key:\s+(\S+)", printed)
        assert match, f"no API key printed: {printed!r}"
        assert httpx.get(f"{base}/api/v1/backtests").status_code == 401
        auth = {"Authorization": f"Bearer {match.group(1)}"}
        assert httpx.get(f"{base}/api/v1/backtests", headers=auth).status_code == 200
