"""docs/agents.md's Python client examples run, in order, as written, against a live
``stratforge serve`` (the client finds it through ``STRATFORGE_URL``, as the guide says)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server_helpers import free_port, server
from tests.test_docs import ROOT, python_blocks

GUIDE = ROOT / "docs" / "agents.md"


@pytest.fixture
def live_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    port = free_port()
    with server(tmp_path / "data", port, log=tmp_path / "server.log"):
        url = f"http://127.0.0.1:{port}"
        monkeypatch.setenv("STRATFORGE_URL", url)
        monkeypatch.delenv("STRATFORGE_API_KEY", raising=False)
        yield url


def test_the_python_client_examples_run(
    live_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    blocks = python_blocks(GUIDE, "## The Python client")
    assert len(blocks) >= 4 and os.environ["STRATFORGE_URL"] == live_server
    namespace: dict[str, object] = {"__name__": "__guide__"}
    for i, code in enumerate(blocks):
        exec(compile(code, f"agents.md:client:{i}", "exec"), namespace)
    lines = capsys.readouterr().out.splitlines()
    progress = lines[: lines.index(next(line for line in lines if line.startswith("bt_")))]
    assert progress[-1] == "completed 100%" and progress.count("completed 100%") == 1
    job_id, status, _sharpe, trades = lines[len(progress)].split()
    assert status == "completed" and int(trades) > 0
    assert lines.count("True") == 2  # the equity's last value; the best trial's sharpe
    assert f"{live_server}/api/v1/backtests/{job_id}/report" in lines
    assert any(line.startswith("completed 18 ") for line in lines)  # 18 trials in the space
    assert "['fast', 'long_only', 'slow']" in lines
    assert "422 ['body.strategy.name']" in lines
    assert any("did you mean 'sma_cross'" in line for line in lines)


def test_serve_prints_where_clients_and_agents_connect(tmp_path: Path) -> None:
    """What `make run` prints names the MCP endpoint and the client's first line, and the
    client line, pasted as printed, reads the server."""
    from stratforge.client import Client

    port = free_port()
    with server(tmp_path / "data", port, stdout=True) as proc:
        assert proc.stdout is not None
        printed = [proc.stdout.readline() for _ in range(4)]
        base = f"http://127.0.0.1:{port}"
        assert any(line.startswith(f"MCP (agents):    {base}/mcp") for line in printed)
        (line,) = [line for line in printed if line.startswith("Python client:")]
        expression = line.split(":", 1)[1].split("   (")[0].strip()
        assert expression == f'Client("{base}")'
        client = eval(expression, {"Client": Client})  # as a user pastes it
        with client:
            assert any(p["name"] == "sma_cross" for p in client.plugins("strategy"))
