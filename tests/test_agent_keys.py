"""Agent keys (``STRATFORGE_AGENT_KEYS``): keys narrower than the server's own, for agents
and programs. A ``read`` key reads; a ``run`` key also submits and cancels; neither deletes,
uploads, imports or clears. Checked over real HTTP through the Python client and the MCP
endpoint of a live server, and in the settings that refuse a key that would narrow nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from pydantic import ValidationError

from stratforge.client import AuthError, Client
from stratforge.core.settings import Settings
from tests.api_helpers import backtest_body
from tests.server_helpers import free_port, server
from tests.test_mcp import over_http, refusal

SERVER_KEY = "server-key-of-this-test"
READ_KEY = "read-only-key-0123456789"
RUN_KEY = "run-jobs-key-0123456789a"
AGENT_KEYS = [
    {"name": "reader", "key": READ_KEY, "scope": "read"},
    {"name": "runner", "key": RUN_KEY, "scope": "run"},
]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("agent-keys")
    port = free_port()
    env = {"STRATFORGE_API_KEY": SERVER_KEY, "STRATFORGE_AGENT_KEYS": json.dumps(AGENT_KEYS)}
    with server(root / "data", port, log=root / "server.log", **env):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def finished_job(live: str) -> str:
    with Client(live, api_key=SERVER_KEY) as owner:
        return owner.backtest(backtest_body(bars=300), timeout=120).id


def test_a_read_key_reads_and_nothing_more(live: str, finished_job: str) -> None:
    with Client(live, api_key=READ_KEY) as reader:
        assert reader.job(finished_job).ok
        assert len(reader.trades(finished_job)) > 0 and reader.plugins("strategy")
        with pytest.raises(AuthError) as refused:
            reader.submit_backtest(backtest_body())
        assert refused.value.status_code == 403
        assert "'reader' may only read" in str(refused.value)
        assert "POST /api/v1/backtests" in str(refused.value)
        for attempt in (
            lambda: reader.cancel(finished_job),
            lambda: reader.delete(finished_job),
            lambda: reader.upload_dataset(b"datetime,close\n", filename="x.csv"),
        ):
            with pytest.raises(AuthError):
                attempt()
    with Client(live, api_key=SERVER_KEY) as owner:
        assert owner.job(finished_job).ok  # nothing the reader tried happened


def test_a_run_key_submits_and_cancels_but_never_deletes(live: str, finished_job: str) -> None:
    with Client(live, api_key=RUN_KEY) as runner:
        job = runner.backtest(backtest_body(bars=300, fast=7), timeout=120)
        assert job.ok
        long = {**backtest_body(), "data": {"args": {"bars": 300_000, "timeframe": "minutes"}}}
        running = runner.submit_backtest(long)
        assert runner.cancel(running).status in ("cancelled", "running", "queued")
        assert runner.wait(running, timeout=60).status == "cancelled"
        with pytest.raises(AuthError) as refused:
            runner.delete(job)
        assert "'runner' may only read, submit and cancel jobs" in str(refused.value)
        with pytest.raises(AuthError):
            runner.upload_dataset(b"datetime,close\n", filename="x.csv")
        assert runner.job(job.id).ok


def test_over_mcp_a_read_key_reads_and_its_submissions_are_tool_errors(
    live: str, finished_job: str
) -> None:
    async def main() -> None:
        async with over_http(live, key=READ_KEY) as session:
            status = await session.call_tool("job_status", {"job_id": finished_job})
            assert not status.is_error and status.structured_content["status"] == "completed"
            text = await refusal(session, "submit_backtest", spec=backtest_body())
            assert "HTTP 403" in text and "'reader' may only read" in text

    anyio.run(main)


def test_agent_keys_need_the_servers_key_and_differ(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="agent_keys needs api_key"):
        Settings(data_dir=tmp_path, agent_keys=AGENT_KEYS)
    with pytest.raises(ValidationError, match="must differ"):
        Settings(data_dir=tmp_path, api_key=READ_KEY, agent_keys=AGENT_KEYS)
    with pytest.raises(ValidationError, match="scope"):
        Settings(
            data_dir=tmp_path,
            api_key=SERVER_KEY,
            agent_keys=[{"name": "x", "key": READ_KEY, "scope": "admin"}],
        )
    assert Settings(data_dir=tmp_path, api_key=SERVER_KEY, agent_keys=AGENT_KEYS).agent_keys
