"""The MCP server, driven by the MCP SDK's own client against a real ``stratforge serve``
with an API key: over streamable HTTP at its ``/mcp``, and over stdio through
``stratforge mcp``, the process a desktop client would start."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import ClientSession, MCPError, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from typer.testing import CliRunner

import stratforge
from stratforge.mcp import TOOL_NAMES
from tests.api_helpers import SMALL_SEARCH, backtest_body
from tests.server_helpers import free_port, server

KEY = "mcp-test-key"
SEARCH = SMALL_SEARCH
FORBIDDEN_INPUT = re.compile(r"path|file|dir|folder|module|code|script|url", re.IGNORECASE)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("mcp")
    port = free_port()
    with server(root / "data", port, log=root / "server.log", STRATFORGE_API_KEY=KEY):
        yield f"http://127.0.0.1:{port}"


@asynccontextmanager
async def over_http(url: str, key: str | None = KEY) -> AsyncIterator[ClientSession]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        streamable_http_client(f"{url}/mcp", http_client=http) as (read, write, *_),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


@asynccontextmanager
async def over_stdio(url: str, key: str = KEY) -> AsyncIterator[ClientSession]:
    """``stratforge mcp`` as a desktop client starts it (its key as an option here)."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "stratforge", "mcp", "--server", url, "--api-key", key],
        env={"PYTHONPATH": str(Path(stratforge.__file__).parents[1])},
    )
    async with (
        stdio_client(params) as (read, write, *_),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


def run(session: Callable[[], Any], test: Callable[[ClientSession], Awaitable[None]]) -> None:
    async def main() -> None:
        async with session() as connected:
            await test(connected)

    anyio.run(main)


async def call(session: ClientSession, tool: str, **arguments: Any) -> dict[str, Any]:
    """A tool's structured answer; fails the test on a tool error."""
    result = await session.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


async def refusal(session: ClientSession, tool: str, **arguments: Any) -> str:
    result = await session.call_tool(tool, arguments)
    assert result.is_error, result.structured_content
    return " ".join(getattr(block, "text", "") for block in result.content)


async def finished(session: ClientSession, job_id: str) -> dict[str, Any]:
    """Poll job_status as an agent would, until the job has finished."""
    with anyio.fail_after(60):
        while not (status := await call(session, "job_status", job_id=job_id))["finished"]:
            assert 0.0 <= status["progress"] <= 1.0
            await anyio.sleep(0.2)
    return status


def test_the_tools_and_their_hints(live: str) -> None:
    async def test(session: ClientSession) -> None:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        assert tuple(tools) == TOOL_NAMES and 10 <= len(tools) <= 14
        for tool in tools.values():
            hints = tool.annotations
            assert hints is not None and tool.description, tool.name
            reads = tool.name.startswith(("list_", "describe_", "get_", "job_", "report_"))
            assert hints.read_only_hint is reads, tool.name
        assert tools["cancel_job"].annotations.destructive_hint is True  # type: ignore[union-attr]
        assert tools["submit_backtest"].annotations.idempotent_hint is False  # type: ignore[union-attr]
        spec = tools["submit_backtest"].input_schema["properties"]["spec"]
        assert {"strategy", "data", "risk"} <= set(spec["properties"])
        assert "DataSpec" in tools["submit_backtest"].input_schema["$defs"]
        search = tools["submit_walkforward"].input_schema["properties"]["spec"]
        assert {"search", "train", "test"} <= set(search["properties"])

    run(lambda: over_http(live), test)


def test_no_tool_takes_a_path_a_module_or_code(live: str) -> None:
    """No argument of any tool, nor any field of the specs, names a file, folder, module or
    code. A data source's free-form ``args`` could carry a path: the server confines those
    to its data roots, and the refusal reaches the agent without the file's content."""

    def names(schema: Any) -> Iterator[str]:
        if isinstance(schema, dict):
            yield from schema.get("properties", {})
            for value in schema.values():
                yield from names(value)
        elif isinstance(schema, list):
            for value in schema:
                yield from names(value)

    async def test(session: ClientSession) -> None:
        for tool in (await session.list_tools()).tools:
            found = [name for name in names(tool.input_schema) if FORBIDDEN_INPUT.search(name)]
            assert not found, (tool.name, found)
        spec = {**backtest_body(), "data": {"source": "csv", "args": {"path": "/etc/passwd"}}}
        text = await refusal(session, "submit_backtest", spec=spec)
        assert "HTTP 422" in text and "body.data.args.path" in text
        assert "root:" not in text  # nothing of the file

    run(lambda: over_http(live), test)


def test_a_backtest_from_submission_to_results_over_http(live: str) -> None:
    async def test(session: ClientSession) -> None:
        job = await call(session, "submit_backtest", spec=backtest_body(bars=400))
        assert job["job_id"].startswith("bt_") and not job["finished"]
        done = await finished(session, job["job_id"])
        assert done["status"] == "completed" and "get_results" in done["next"]
        results = await call(session, "get_results", job_id=job["job_id"])
        trades = results["metrics"]["trades"]
        assert results["rows"]["equity_steps"] == 400 and results["rows"]["trades"] == trades
        assert "equity" not in results and results["spec"]["strategy"]["name"] == "sma_cross"
        page = await call(session, "get_trades", job_id=job["job_id"], offset=1, limit=3)
        assert page["count"] == 3 and page["next_offset"] == 4
        assert {"entry_price", "pnl"} <= set(page["rows"][0])
        equity = await call(session, "get_equity", job_id=job["job_id"], offset=390)
        assert equity["count"] == 10 and equity["next_offset"] is None
        assert len(equity["columns"]["value"]) == 10
        report = await call(session, "report_url", job_id=job["job_id"])
        assert report["url"] == f"{live}/api/v1/backtests/{job['job_id']}/report"
        assert httpx.get(report["url"], headers={"Authorization": f"Bearer {KEY}"}).is_success
        text = await refusal(session, "get_trades", job_id=job["job_id"], limit=501)
        assert "limit" in text  # pages are bounded

    run(lambda: over_http(live), test)


def test_the_guides_conversation_a_futures_backtest_and_a_walk_forward(live: str) -> None:
    """docs/agents.md's example calls: a backtest on the synthetic ES market (a spec naming a
    root only), then a walk-forward read back window by window; cancelling a finished job
    is refused with the API's reason."""

    async def test(session: ClientSession) -> None:
        spec = {"strategy": {"name": "sma_cross", "params": {"fast": 20, "slow": 60}}}
        spec["data"] = {"root": "ES", "args": {"bars": 600}}
        job = await call(session, "submit_backtest", spec=spec)
        assert (await finished(session, job["job_id"]))["status"] == "completed"
        results = await call(session, "get_results", job_id=job["job_id"])
        assert results["metrics"]["rolls"] >= 1  # a futures run: the position rolled
        search = {**SEARCH, "base": {**SEARCH["base"], "data": {"args": {"bars": 900}}}}
        walk = await call(
            session, "submit_walkforward", spec={"search": search, "train": "300", "test": "150"}
        )
        assert walk["job_id"].startswith("op_")
        assert (await finished(session, walk["job_id"]))["status"] == "completed"
        summary = await call(session, "get_results", job_id=walk["job_id"])
        assert len(summary["windows"]) == 4
        report = await call(session, "report_url", job_id=walk["job_id"])
        assert report["url"].endswith(f"/api/v1/walkforwards/{walk['job_id']}/report")
        text = await refusal(session, "cancel_job", job_id=walk["job_id"])
        assert "HTTP 409" in text

    run(lambda: over_http(live), test)


def test_tool_calls_in_parallel_do_not_block_the_server(live: str) -> None:
    """Mounted tools call the server they run in: twenty at once, each waiting on a request
    to the same event loop, all answer (none holds the loop while it waits)."""

    async def test(session: ClientSession) -> None:
        answers: list[dict[str, Any]] = []

        async def one() -> None:
            answers.append(await call(session, "list_plugins", kind="sizers"))

        with anyio.fail_after(60):
            async with anyio.create_task_group() as group:
                for _ in range(20):
                    group.start_soon(one)
        assert len(answers) == 20 and all(a["plugins"] for a in answers)

    run(lambda: over_http(live), test)


def test_an_optimisation_and_its_trials_over_stdio(live: str) -> None:
    async def test(session: ClientSession) -> None:
        kinds = await call(session, "list_plugins")
        assert "sma_cross" in {p["name"] for p in kinds["kinds"]["strategies"]}
        described = await call(session, "describe_plugin", kind="strategy", name="sma_cross")
        assert "fast" in described["params_schema"]["properties"]
        data = await call(session, "list_data")
        assert {"datasets", "markets", "contracts"} <= set(data)
        job = await call(session, "submit_optimization", spec=SEARCH, idempotency_key="op-1")
        again = await call(session, "submit_optimization", spec=SEARCH, idempotency_key="op-1")
        assert again["job_id"] == job["job_id"]  # a retried submission is the same job
        assert (await finished(session, job["job_id"]))["status"] == "completed"
        results = await call(session, "get_results", job_id=job["job_id"])
        assert results["trials"] == 6 and results["best"]["params"]["fast"] < 20
        assert "pbo" in results and "blocks" not in json.dumps(results["best"])
        trials = await call(session, "get_trials", job_id=job["job_id"], limit=2, sort="objective")
        assert trials["count"] == 2
        assert trials["rows"][0]["objective"] == results["best"]["objective"]
        text = await refusal(session, "get_trades", job_id=job["job_id"])
        assert "only backtests have trades" in text

    run(lambda: over_stdio(live), test)


def test_an_unknown_strategy_is_a_tool_error_with_the_hint(live: str) -> None:
    async def test(session: ClientSession) -> None:
        spec = {**backtest_body(), "strategy": {"name": "sma_crosss"}}
        text = await refusal(session, "submit_backtest", spec=spec)
        assert "body.strategy.name" in text and "did you mean 'sma_cross'" in text
        text = await refusal(session, "describe_plugin", kind="strategies", name="sma_crosss")
        assert "HTTP 404" in text and "did you mean 'sma_cross'" in text
        text = await refusal(session, "job_status", job_id="../plugins")
        assert "pattern" in text  # ids are ids, not URL paths

    run(lambda: over_stdio(live), test)


@pytest.mark.parametrize("key", [None, "wrong"])
def test_a_missing_or_wrong_key_is_refused_over_http(live: str, key: str | None) -> None:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    hello = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    response = httpx.post(f"{live}/mcp", json=hello, headers=headers, timeout=10)
    assert response.status_code == 401 and "API key" in response.json()["detail"]
    assert response.headers["www-authenticate"] == "Bearer"

    async def test(_: ClientSession) -> None:
        raise AssertionError("connected without the key")

    with pytest.raises(ExceptionGroup) as raised:  # the SDK's client cannot initialize
        run(lambda: over_http(live, key), test)
    assert raised.group_contains(MCPError, depth=None)


def test_a_wrong_key_over_stdio_is_a_tool_error_saying_so(live: str) -> None:
    async def test(session: ClientSession) -> None:
        text = await refusal(session, "list_plugins")
        assert "HTTP 401" in text and "wrong API key" in text

    run(lambda: over_stdio(live, "wrong"), test)


@pytest.mark.parametrize(
    ("args", "top", "entry"),
    [
        (["--client", "claude"], "mcpServers", {"command": sys.executable}),
        (["--client", "vscode"], "servers", {"type": "stdio"}),
        (
            ["--client", "cursor", "--http"],
            "mcpServers",
            {"url": "http://sf.example:9000/mcp", "headers": {"Authorization": "Bearer k"}},
        ),
        (["--client", "vscode", "--http"], "servers", {"type": "http"}),
    ],
)
def test_mcp_config_prints_each_clients_snippet(
    args: list[str], top: str, entry: dict[str, Any]
) -> None:
    from stratforge.cli import app

    options = ["--server", "http://sf.example:9000", "--api-key", "k"]
    result = CliRunner().invoke(app, ["mcp", "config", *args, *options])
    assert result.exit_code == 0, result.output
    snippet = json.loads(result.stdout)[top]["stratforge"]
    assert entry.items() <= snippet.items()
    if "--http" not in args:
        assert snippet["args"] == ["-m", "stratforge", "mcp", "--server", "http://sf.example:9000"]
        assert snippet["env"] == {"STRATFORGE_API_KEY": "k"}
    assert os.environ.get("STRATFORGE_API_KEY") != "k"


def test_the_key_comparison_refuses_what_it_cannot_compare() -> None:
    """A header with letters beyond ASCII is a wrong key (401), not a server error."""
    from stratforge.api.deps import key_accepted

    assert key_accepted("Bearer s3cret", "s3cret") and key_accepted(None, None)
    assert not key_accepted("Bearer sécret", "s3cret")
    assert not key_accepted("Basic s3cret", "s3cret") and not key_accepted(None, "s3cret")


@pytest.mark.slow
def test_over_http_on_a_server_running_jobs_on_ray(tmp_path: Path) -> None:
    """The configuration users run: the tools' backtest runs on the server's Ray workers,
    and its metrics are those of the same spec run in this process."""
    import shutil
    import tempfile

    from stratforge import RunSpec, run_backtest

    temp = tempfile.mkdtemp(prefix="sfmr-", dir="/tmp")
    env = {"STRATFORGE_JOB_EXECUTOR": "ray", "STRATFORGE_RAY_TEMP_DIR": temp}
    body = backtest_body(bars=600)
    port = free_port()
    got: dict[str, Any] = {}

    async def test(session: ClientSession) -> None:
        job = await call(session, "submit_backtest", spec=body)
        assert (await finished(session, job["job_id"]))["status"] == "completed"
        got.update(await call(session, "get_results", job_id=job["job_id"]))

    try:
        with server(tmp_path / "data", port, STRATFORGE_API_KEY=KEY, **env):
            run(lambda: over_http(f"http://127.0.0.1:{port}"), test)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    local = run_backtest(RunSpec.model_validate(body)).metrics.model_dump(mode="json")
    assert got["metrics"] == pytest.approx(local)
