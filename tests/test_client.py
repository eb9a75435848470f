"""The Python client against a live ``stratforge serve`` over real HTTP, on SQLite and on
PostgreSQL: every resource it offers, its tables checked against a run in this process,
and its errors carrying the API's field paths and hints."""

from __future__ import annotations

import io
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from stratforge import RunSpec, run_backtest
from stratforge.client import ApiError, AuthError, Client, Job, NotFound, ServerUnavailable
from tests.api_helpers import backtest_body
from tests.optimize_helpers import grid_spec
from tests.server_helpers import free_port, server, server_on_database

KEY = "client-test-key"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def base_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    root = tmp_path_factory.mktemp(f"client-{request.param}")
    with server_on_database(
        request.param,
        lambda: request.getfixturevalue("postgres_url"),
        root / "data",
        STRATFORGE_API_KEY=KEY,
    ) as url:
        yield url


@pytest.fixture
def client(base_url: str) -> Iterator[Client]:
    with Client(base_url, api_key=KEY) as live:
        yield live


def test_a_backtest_submitted_followed_and_read_as_pandas(client: Client) -> None:
    """Metrics, trades and equity equal a run of the same spec in this process."""
    body = backtest_body(bars=800)
    seen: list[Job] = []
    job = client.backtest(body, on_progress=seen.append, timeout=120)
    assert job.ok and job.kind == "backtest" and job.id.startswith("bt_")
    assert seen[-1] == job and seen[0].status in ("queued", "running", "completed")
    assert [j.progress for j in seen] == sorted(j.progress for j in seen)

    local = run_backtest(RunSpec.model_validate(body))
    assert client.metrics(job) == pytest.approx(local.metrics.model_dump(mode="json"))
    trades = client.trades(job)
    assert len(trades) == len(local.trades) > 0
    assert trades["pnl_net"].sum() == pytest.approx(sum(t.pnl_net for t in local.trades))
    assert pd.api.types.is_datetime64_any_dtype(trades["entry_datetime"])
    equity = client.equity(job)
    assert isinstance(equity.index, pd.DatetimeIndex) and len(equity) == len(local.equity.value)
    assert np.allclose(equity["value"].to_numpy(), np.asarray(local.equity.value))
    assert len(client.orders(job)) == len(local.orders)
    assert client.rolls(job).empty
    assert client.result(job)["metrics"] == job.metrics
    page = client.trades_page(job, offset=2, limit=3)
    assert page == client.result(job)["trades"][2:5]


def test_a_runspec_model_is_submitted_as_its_json(client: Client) -> None:
    spec = RunSpec.model_validate(backtest_body(bars=300, fast=7))
    job = client.wait(client.submit_backtest(spec), timeout=120)
    assert job.ok and job.raw["spec"]["strategy"]["params"]["fast"] == 7
    again = client.job(job.id)
    assert again.id == job.id and again.metrics == job.metrics


def test_an_optimisation_and_its_trials(client: Client) -> None:
    job = client.wait(client.submit_optimization(grid_spec()), timeout=180)
    assert job.ok and job.kind == "optimize"
    result = client.result(job)
    trials = client.trials(job)
    assert len(trials) == len(result["trials"]) and "params.fast" in trials
    assert client.metrics(job) == result["best"]["metrics"]
    ranked = client.trials_page(job, sort="objective", limit=3)
    objectives = sorted(
        (t["objective"] for t in result["trials"] if t["objective"] is not None), reverse=True
    )
    assert [t["objective"] for t in ranked] == objectives[:3]
    assert client.job(job.id).kind == "optimize"  # an op_ id alone finds its kind


def test_a_walk_forward(client: Client) -> None:
    search = grid_spec()
    search["base"]["data"] = {"args": {"bars": 900, "seed": 5}}
    job = client.wait(
        client.submit_walkforward({"search": search, "train": "300", "test": "150"}),
        timeout=240,
    )
    assert job.ok and job.kind == "walkforward"
    assert client.job(job.id).kind == "walkforward"
    assert len(client.result(job)["windows"]) == 4
    report = httpx.get(client.report_url(job), headers={"Authorization": f"Bearer {KEY}"})
    assert report.status_code == 200 and "<html" in report.text.lower()


def test_errors_name_the_field_and_the_fix(client: Client, base_url: str) -> None:
    with pytest.raises(ApiError) as unknown:
        client.submit_backtest({"strategy": {"name": "sma_crosss"}})
    assert unknown.value.status_code == 422
    assert unknown.value.fields == ["body.strategy.name"]
    assert "sma_cross" in str(unknown.value) and "did you mean" in str(unknown.value)
    with pytest.raises(ApiError) as extra:
        client.submit_backtest({**backtest_body(), "stratgy": {}})
    assert any("stratgy" in field for field in extra.value.fields)
    with pytest.raises(NotFound):
        client.job("bt_0000000000000000")
    with pytest.raises(NotFound):
        client.job("op_0000000000000000")
    with pytest.raises(AuthError) as refused, Client(base_url, api_key="wrong") as wrong:
        wrong.plugins()
    assert refused.value.status_code == 401 and "STRATFORGE_API_KEY" in str(refused.value)
    assert Client(base_url, api_key="wrong").health()["status"]  # /health needs no key
    with pytest.raises(ServerUnavailable) as down, Client(f"http://127.0.0.1:{free_port()}") as c:
        c.plugins()
    assert "stratforge serve" in str(down.value)


def test_plugins_contracts_and_an_uploaded_dataset(client: Client) -> None:
    strategies = client.plugins("strategy")
    sma = next(p for p in strategies if p["name"] == "sma_cross")
    assert {"fast", "slow"} <= set(sma["params_schema"]["properties"])
    assert client.plugin("strategy", "sma_cross")["name"] == "sma_cross"
    assert any(c["root"] == "ES" for c in client.contracts())
    assert client.contract("ES")["multiplier"] == 50

    index = pd.bdate_range("2020-01-01", periods=250)
    close = 100 + np.cumsum(np.random.default_rng(4).normal(0, 1, len(index)))
    frame = pd.DataFrame(
        {
            "datetime": index,
            "open": close,
            "high": close + 1,
            "low": close - 1,
            "close": close,
            "volume": 1000.0,
        }
    )
    buffer = io.BytesIO(frame.to_csv(index=False).encode())
    dataset = client.upload_dataset(buffer, filename="walk.csv", name="walk")
    assert dataset["rows"] == 250 and dataset["id"] in {d["id"] for d in client.datasets()}
    body = {"strategy": backtest_body()["strategy"], "data": dataset["use_in_spec"]}
    job = client.backtest(body, timeout=120)
    assert job.ok
    assert len(client.equity(job)) == 250
    client.delete(job)
    with pytest.raises(NotFound):
        client.job(job.id)
    client.delete_dataset(dataset["id"])
    assert dataset["id"] not in {d["id"] for d in client.datasets()}


def test_a_long_backtest_cancelled(client: Client) -> None:
    body = {**backtest_body(), "data": {"args": {"bars": 600_000, "timeframe": "minutes"}}}
    job = client.submit_backtest(body)
    for state in client.events(job):
        if state.status == "running" and state.progress > 0:
            break
    cancelled = client.cancel(job)
    assert cancelled.status in ("cancelled", "running")
    final = client.wait(job, timeout=60)
    assert final.status == "cancelled"
    listed = client.jobs("backtest", status="cancelled")
    assert job.id in {j.id for j in listed}


def test_a_path_written_here_is_uploaded_from_here(client: Client, tmp_path: Path) -> None:
    """``upload_dataset`` reads the file on the client's side: the server sees bytes."""
    index = pd.bdate_range("2021-01-01", periods=60)
    frame = pd.DataFrame({"datetime": index, "close": np.linspace(10, 20, 60)})
    for column in ("open", "high", "low"):
        frame[column] = frame["close"]
    frame["volume"] = 10.0
    path = tmp_path / "local.csv"
    frame.to_csv(path, index=False)
    dataset = client.upload_dataset(path)
    assert dataset["filename"] == "local.csv" and dataset["rows"] == 60
    client.delete_dataset(dataset["id"])


@pytest.mark.slow
def test_the_client_on_a_server_running_jobs_on_ray(tmp_path: Path) -> None:
    """The configuration users run: jobs on the server's Ray workers."""
    port = free_port()
    temp = Path(tempfile.mkdtemp(prefix="sfcl-", dir="/tmp"))
    env = {"STRATFORGE_JOB_EXECUTOR": "ray", "STRATFORGE_RAY_TEMP_DIR": str(temp)}
    body = backtest_body(bars=600)
    try:
        with (
            server(tmp_path / "data", port, log=tmp_path / "server.log", **env),
            Client(f"http://127.0.0.1:{port}") as client,
        ):
            job = client.backtest(body, timeout=180)
            search = client.wait(client.submit_optimization(grid_spec()), timeout=240)
            trials = client.trials(search)
            trades = client.trades(job)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    local = run_backtest(RunSpec.model_validate(body))
    assert job.ok and job.metrics == pytest.approx(local.metrics.model_dump(mode="json"))
    assert len(trades) == len(local.trades)
    assert search.ok and (trials["status"] == "completed").sum() == search.raw["trials_done"] > 0
