"""``stratforge run|optimize|walkforward --server URL`` end to end: the real console command
in a subprocess against a real ``stratforge serve``. It prints what the local command prints,
refuses bad input in one line, and Ctrl-C cancels the job on the server or leaves it running.

One server (serial executor, with an API key) serves the module; the Ray test has its own.
"""

from __future__ import annotations

import contextlib
import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server_helpers import free_port, server

KEY = "remote-test-key"
BACKTEST = ["-a", "bars=1500", "-p", "fast=10", "-p", "slow=40"]
SEARCH = ["-a", "bars=1200", "-p", "fast=5:15:5", "-p", "slow=30:50:20", "-c", "fast < slow"]


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    with server(tmp_path_factory.mktemp("remote"), port, STRATFORGE_API_KEY=KEY):
        yield f"http://127.0.0.1:{port}"


def environment(key: str | None = KEY) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "STRATFORGE_API_KEY"}
    return env | ({"STRATFORGE_API_KEY": key} if key else {})


def stratforge(*args: str, key: str | None = KEY) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stratforge", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=environment(key),
        stdin=subprocess.DEVNULL,
        check=False,
    )


def start(*args: str) -> subprocess.Popen[str]:
    """The command in the background, its stdin a pipe to answer the Ctrl-C question."""
    return subprocess.Popen(
        [sys.executable, "-m", "stratforge", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(),
    )


def one_line_error(proc: subprocess.CompletedProcess[str], code: int = 2) -> str:
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def api(url: str, path: str) -> dict:
    response = httpx.get(f"{url}/api/v1{path}", headers={"Authorization": f"Bearer {KEY}"})
    response.raise_for_status()
    return dict(response.json())


def lines_but(text: str, *words: str) -> list[str]:
    """The printed lines, but those with *words* (a wall time differs from run to run)."""
    return [line for line in text.splitlines() if not any(w in line for w in words)]


def test_run_prints_the_local_summary(url: str, tmp_path: Path) -> None:
    remote = stratforge("run", *BACKTEST, "--server", url, "--out", str(tmp_path / "r.json"))
    local = stratforge("run", *BACKTEST, "--out", str(tmp_path / "l.json"))
    assert remote.returncode == 0 and local.returncode == 0, remote.stderr + local.stderr
    shown = lines_but(remote.stdout, "wall time", "written to")
    assert "sharpe" in remote.stdout and "trades" in remote.stdout
    assert shown == lines_but(local.stdout, "wall time", "written to")
    stored = json.loads((tmp_path / "r.json").read_text())
    assert stored["metrics"] == json.loads((tmp_path / "l.json").read_text())["metrics"]
    job_id = remote.stderr.split("job ", 1)[1].split()[0]
    assert job_id.startswith("bt_") and f"/backtests/{job_id}/report" in remote.stderr
    assert api(url, f"/backtests/{job_id}")["status"] == "completed"


def test_optimize_prints_the_local_table(url: str) -> None:
    remote = stratforge("optimize", *SEARCH, "--server", url, "--top", "3")
    local = stratforge("optimize", *SEARCH, "--executor", "serial", "--top", "3")
    assert remote.returncode == 0 and local.returncode == 0, remote.stderr + local.stderr
    assert "Top 3 of 6 trials by sharpe" in remote.stdout
    assert lines_but(remote.stdout, "pruned") == lines_but(local.stdout, "pruned")
    assert "trials" in remote.stderr and "6/6" in remote.stderr  # the progress bar, finished


def test_walkforward_prints_the_local_table(url: str) -> None:
    args = ["-a", "bars=1000", "-p", "fast=5:10:5", "--train", "400", "--test", "200"]
    remote = stratforge("walkforward", *args, "--server", url)
    local = stratforge("walkforward", *args, "--executor", "serial")
    assert remote.returncode == 0 and local.returncode == 0, remote.stderr + local.stderr
    assert "Walk-forward: 3 windows by sharpe" in remote.stdout
    assert remote.stdout == local.stdout
    assert "/walkforwards/op_" in remote.stderr


def test_a_refused_spec_names_the_field_with_the_hint(url: str) -> None:
    line = one_line_error(stratforge("run", "-s", "sma_crosss", "--server", url))
    assert "strategy.name" in line and "did you mean 'sma_cross'" in line
    line = one_line_error(stratforge("optimize", "-p", "fsat=1:3:1", "--server", url))
    assert "space.fsat" in line and "did you mean 'fast'" in line


def test_a_missing_or_wrong_api_key_says_which_option_to_pass(url: str) -> None:
    missing = one_line_error(stratforge("run", *BACKTEST, "--server", url, key=None))
    assert "pass --api-key" in missing and "STRATFORGE_API_KEY" in missing
    wrong = one_line_error(stratforge("run", "--server", url, "--api-key", "nope"))
    assert "check --api-key" in wrong


def test_no_server_is_one_line() -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    line = one_line_error(stratforge("walkforward", "-p", "fast=5:10:5", "--server", nowhere))
    assert f"no stratforge server at {nowhere}" in line and "stratforge serve" in line


def test_options_of_this_machine_only_are_refused(url: str) -> None:
    line = one_line_error(
        stratforge(
            "optimize",
            "-p",
            "fast=5:10:5",
            "--workers",
            "2",
            "--executor",
            "serial",
            "--server",
            url,
        )
    )
    assert "--executor does not go with --server" in line
    line = one_line_error(stratforge("run", "--csv", "prices.csv", "--server", url))
    assert "--csv" in line and "--data dataset" in line
    line = one_line_error(stratforge("run", "--api-key", KEY, *BACKTEST))
    assert "--api-key goes with --server" in line


def interrupt_once_running(proc: subprocess.Popen[str], url: str) -> str:
    """Send Ctrl-C once the followed job shows progress on the server; its id."""
    assert proc.stderr is not None
    first = proc.stderr.readline()  # "job bt_... on URL", printed once it is submitted
    job_id = first.split("job ", 1)[1].split()[0]
    deadline = time.monotonic() + 60
    while api(url, f"/backtests/{job_id}")["progress"] <= 0:
        assert time.monotonic() < deadline and proc.poll() is None, first
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    return job_id


def wait_for(url: str, job_id: str, statuses: tuple[str, ...], seconds: float) -> dict:
    deadline = time.monotonic() + seconds
    while (job := api(url, f"/backtests/{job_id}"))["status"] not in statuses:
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
    return job


def test_ctrl_c_and_yes_cancels_the_job_on_the_server(url: str) -> None:
    proc = start("run", "-a", "bars=600000", "-a", "timeframe=minutes", "--server", url)
    job_id = interrupt_once_running(proc, url)
    _, errors = proc.communicate("y\n", timeout=60)
    assert proc.returncode == 130, errors
    assert f"Cancel job {job_id} on the server? [y/N]" in errors
    assert f"cancelled {job_id}" in errors and "Traceback" not in errors
    assert wait_for(url, job_id, ("cancelled",), 5)["status"] == "cancelled"


def test_ctrl_c_and_no_answer_leaves_the_job_running(url: str) -> None:
    proc = start("run", "-a", "bars=60000", "-a", "timeframe=minutes", "--server", url)
    job_id = interrupt_once_running(proc, url)
    _, errors = proc.communicate("", timeout=60)  # stdin closed: no answer means No
    assert proc.returncode == 130, errors
    assert f"{job_id} is still running on the server" in errors
    assert f"{url}/api/v1/backtests/{job_id}" in errors and "Traceback" not in errors
    assert wait_for(url, job_id, ("completed", "failed", "cancelled"), 60)["status"] == "completed"


def read_until(fd: int, text: str, seconds: float = 90) -> str:
    """What a pseudo-terminal shows, read until *text* appears."""
    seen = b""
    deadline = time.monotonic() + seconds
    while text.encode() not in seen:
        assert time.monotonic() < deadline, seen.decode(errors="replace")
        if select.select([fd], [], [], 0.2)[0]:
            seen += os.read(fd, 4096)
    return seen.decode(errors="replace")


def test_a_second_ctrl_c_at_the_terminal_prompt_leaves_the_job_running(url: str) -> None:
    leader, follower = pty.openpty()
    args = ["run", "-a", "bars=600000", "-a", "timeframe=minutes", "--server", url]
    proc = subprocess.Popen(
        [sys.executable, "-m", "stratforge", *args],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=environment(),
    )
    os.close(follower)
    job_id = ""
    try:
        shown = read_until(leader, " bars")  # the live bar, drawn on the terminal
        job_id = shown.split("job ", 1)[1].split()[0]
        proc.send_signal(signal.SIGINT)
        read_until(leader, f"Cancel job {job_id} on the server? [y/N]")
        proc.send_signal(signal.SIGINT)  # click's prompt takes it as No
        assert "is still running on the server" in read_until(leader, "/cancel")
        assert proc.wait(timeout=30) == 130
        assert api(url, f"/backtests/{job_id}")["status"] == "running"
    finally:
        proc.kill()
        os.close(leader)
        if job_id:  # the one server's executor runs one job at a time: free it
            cancel = f"{url}/api/v1/backtests/{job_id}/cancel"
            httpx.post(cancel, headers={"Authorization": f"Bearer {KEY}"})


@pytest.mark.slow
def test_optimize_on_a_ray_server(tmp_path: Path) -> None:
    port = free_port()
    with server(tmp_path, port, STRATFORGE_JOB_EXECUTOR="ray", STRATFORGE_API_KEY=KEY):
        remote = stratforge("optimize", *SEARCH, "--server", f"http://127.0.0.1:{port}")
    local = stratforge("optimize", *SEARCH, "--executor", "serial")
    assert remote.returncode == 0, remote.stderr
    assert lines_but(remote.stdout, "pruned") == lines_but(local.stdout, "pruned")


class HeldFirstPost:
    """A TCP relay in front of the real server that holds the first POST's connection for
    *hold_s* before passing it on, as a slow network would: Ctrl-C lands while the CLI
    waits for the server's answer to its submission, and the request arrives after all."""

    def __init__(self, upstream_port: int, hold_s: float) -> None:
        import socket
        import threading

        self.upstream_port, self.hold_s = upstream_port, hold_s
        self.holding, self.passed_on = threading.Event(), threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import threading

        while True:
            try:
                downstream, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(downstream,), daemon=True).start()

    def _relay(self, downstream: Any) -> None:
        import socket
        import threading

        first = downstream.recv(65536)
        held = first.startswith(b"POST") and not self.holding.is_set()
        if held:
            self.holding.set()
            time.sleep(self.hold_s)
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        upstream.sendall(first)
        if held:
            self.passed_on.set()
        threading.Thread(target=_pump, args=(downstream, upstream), daemon=True).start()
        _pump(upstream, downstream)

    def close(self) -> None:
        self._listener.close()


def _pump(source: Any, sink: Any) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(2)


@pytest.mark.parametrize("answer", ["y\n", ""])
def test_ctrl_c_before_the_server_answers_the_submission_asks_about_the_one_job(
    url: str, answer: str
) -> None:
    """The CLI's submission carries an Idempotency-Key: after Ctrl-C it asks again on a new
    connection, gets the one job whether or not the first request got through, and asks
    about it; the held request arriving later is a replay, not a second job."""
    before = api(url, "/backtests?limit=1")["total"]
    relay = HeldFirstPost(int(url.rsplit(":", 1)[1]), hold_s=3.0)
    try:
        proc = start("run", "-a", "bars=600000", "-a", "timeframe=minutes", "--server", relay.url)
        assert relay.holding.wait(60), "the CLI never submitted"
        time.sleep(0.3)  # the request is sent: the CLI waits for the answer
        proc.send_signal(signal.SIGINT)
        _, errors = proc.communicate(answer, timeout=60)
        assert relay.passed_on.wait(30), "the held request never went on"
        time.sleep(0.5)  # the server has read it: a replay (or a new job) by now
    finally:
        relay.close()
    assert proc.returncode == 130, errors
    assert "Traceback" not in errors
    job_id = errors.split("job ", 1)[1].split()[0]
    assert f"Cancel job {job_id} on the server? [y/N]" in errors
    assert api(url, "/backtests?limit=1")["total"] == before + 1  # one job, not two
    if answer:
        assert f"cancelled {job_id}" in errors
        assert wait_for(url, job_id, ("cancelled",), 5)["status"] == "cancelled"
    else:
        assert f"{job_id} is still running on the server" in errors
        assert api(url, f"/backtests/{job_id}")["status"] in ("queued", "running")
        httpx.post(
            f"{url}/api/v1/backtests/{job_id}/cancel", headers={"Authorization": f"Bearer {KEY}"}
        )
