"""A real ``stratforge serve`` in a subprocess, for tests over real HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(
    data_dir: Path,
    port: int,
    *,
    log: Path | None = None,
    ready: str = "/api/v1/health",
    args: tuple[str, ...] = (),
    stdout: bool = False,
    **env: str,
) -> Iterator[subprocess.Popen]:
    """``stratforge serve`` in a subprocess, ready when *ready* answers (stderr to *log*;
    with *stdout*, what it prints is readable from ``proc.stdout``; *args* go to serve).

    The serial executor unless ``STRATFORGE_JOB_EXECUTOR="ray"`` is passed: the
    configuration users run (Ray) has tests of its own.
    """
    environment = {
        **os.environ,
        "STRATFORGE_DATA_DIR": str(data_dir),
        "STRATFORGE_JOB_EXECUTOR": "serial",
        "STRATFORGE_MAX_CONCURRENT_JOBS": "1",
        **env,
    }
    errors = log.open("w") if log is not None else subprocess.DEVNULL
    proc = subprocess.Popen(
        [sys.executable, "-m", "stratforge", "serve", "--port", str(port), "--no-demo", *args],
        env=environment,
        stdout=subprocess.PIPE if stdout else subprocess.DEVNULL,
        stderr=errors,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}{ready}", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.05)
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


@contextmanager
def server_on_database(
    database: str, postgres_url: Callable[[], str], data_dir: Path, **env: str
) -> Iterator[str]:
    """A live server's base URL on *database* ("sqlite", or "postgresql": a fresh database
    on the session's PostgreSQL server, whose URL *postgres_url* gives)."""
    if database == "postgresql":
        from tests.pg import reset

        url = postgres_url()
        reset(url)
        env = {**env, "STRATFORGE_DATABASE_URL": url}
    port = free_port()
    with server(data_dir, port, log=data_dir.parent / "server.log", **env):
        yield f"http://127.0.0.1:{port}"
