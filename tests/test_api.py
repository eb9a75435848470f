"""Every endpoint through HTTP (ASGI), on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import io
import time

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from stratforge.api import create_app
from stratforge.core.settings import Settings
from stratforge.data import generate_synthetic
from tests.api_helpers import SMALL_SEARCH, backtest_body, submit, wait_for


def test_backtest_lifecycle(client: TestClient) -> None:
    response = client.post("/api/v1/backtests", json=backtest_body())
    assert response.status_code == 202
    job = response.json()
    assert response.headers["location"] == f"/api/v1/backtests/{job['id']}"
    assert job["status"] in ("queued", "running") and job["links"]["events"].endswith("/events")
    done = wait_for(client, job["links"]["self"])
    assert done["status"] == "completed" and done["progress"] == 1.0
    assert done["metrics"]["bars"] == 400 and done["started_at"] and done["finished_at"]
    trades = client.get(f"/api/v1/backtests/{job['id']}/trades").json()
    equity = client.get(f"/api/v1/backtests/{job['id']}/equity").json()
    assert len(trades) == done["metrics"]["trades"] and len(equity["value"]) == 400
    assert client.get(f"/api/v1/backtests/{job['id']}/orders").status_code == 200
    assert client.get(f"/api/v1/backtests/{job['id']}/rolls").json() == []
    result = client.get(f"/api/v1/backtests/{job['id']}/result").json()
    assert result["metrics"] == done["metrics"]


def test_listing_paging_and_filters(client: TestClient) -> None:
    ids = [submit(client, "backtests", backtest_body(bars=300 + i))["id"] for i in range(3)]
    for job_id in ids:
        wait_for(client, f"/api/v1/backtests/{job_id}")
    page = client.get("/api/v1/backtests", params={"limit": 2}).json()
    assert page["total"] == 3 and len(page["items"]) == 2
    assert page["items"][0]["id"] == ids[-1]  # newest first
    rest = client.get("/api/v1/backtests", params={"limit": 2, "offset": 2}).json()
    assert [i["id"] for i in rest["items"]] == [ids[0]]
    assert client.get("/api/v1/backtests", params={"status": "completed"}).json()["total"] == 3
    assert (
        client.get("/api/v1/backtests", params={"strategy": "rsi_reversion"}).json()["total"] == 0
    )
    assert client.get("/api/v1/backtests", params={"status": "nonsense"}).status_code == 422


def test_unknown_ids_are_404(client: TestClient) -> None:
    for path in (
        "backtests/bt_x",
        "backtests/bt_x/trades",
        "optimizations/op_x",
        "walkforwards/op_x",
        "datasets/ds_x",
        "plugins/strategy/nope",
        "contracts/XX",
    ):
        assert client.get(f"/api/v1/{path}").status_code == 404, path
    assert client.post("/api/v1/backtests/bt_x/cancel").status_code == 404
    assert client.delete("/api/v1/backtests/bt_x").status_code == 404


@pytest.mark.parametrize(
    ("body", "loc", "fragment"),
    [
        (
            {"strategy": {"name": "sma_corss"}},
            ["body", "strategy", "name"],
            "did you mean 'sma_cross'",
        ),
        (
            {"strategy": {"name": "sma_cross", "params": {"fsat": 2}}},
            ["body", "strategy", "params", "fsat"],
            "did you mean 'fast'",
        ),
        (
            {"strategy": {"name": "sma_cross"}, "data": {"root": "ESS"}},
            ["body", "data", "root"],
            "'ES'",
        ),
        (
            {
                "strategy": {"name": "sma_cross"},
                "data": {"source": "dataset", "args": {"id": "ds_0123456789abcdef"}},
            },
            ["body", "data", "args", "id"],
            "unknown dataset",
        ),
        ({"strategy": {"name": "sma_cross"}, "cash": -1}, ["body", "cash"], "greater than 0"),
        (
            {
                "strategy": {"name": "sma_cross"},
                "data": {"start": "2020-01-01", "end": "2019-01-01"},
            },
            ["body", "data"],
            "is before start",
        ),
        (
            {"strategy": {"name": "sma_cross", "params": {"fast": 30, "slow": 10}}},
            ["body", "strategy", "params"],
            "fast < slow",
        ),
    ],
)
def test_bad_backtests_are_422_with_the_field(
    client: TestClient, body: dict, loc: list, fragment: str
) -> None:
    response = client.post("/api/v1/backtests", json=body)
    assert response.status_code == 422
    detail = response.json()["detail"][0]
    assert detail["loc"][: len(loc)] == loc and fragment in detail["msg"]


def test_idempotency_key(client: TestClient) -> None:
    first = client.post(
        "/api/v1/backtests", json=backtest_body(), headers={"Idempotency-Key": "k1"}
    )
    again = client.post(
        "/api/v1/backtests", json=backtest_body(), headers={"Idempotency-Key": "k1"}
    )
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]
    assert again.headers.get("idempotent-replayed") == "true"
    other = client.post(
        "/api/v1/backtests", json=backtest_body(bars=401), headers={"Idempotency-Key": "k1"}
    )
    assert other.status_code == 409 and other.json()["job"] == first.json()["id"]
    assert client.get("/api/v1/backtests").json()["total"] == 1


def test_cancel_and_delete_rules(client: TestClient) -> None:
    long = submit(client, "backtests", backtest_body(bars=60_000))  # runs (one job at a time)
    queued = submit(client, "backtests", backtest_body(bars=300))
    deadline = time.monotonic() + 30
    while (
        client.get(long["links"]["self"]).json()["status"] != "running"
        and time.monotonic() < deadline
    ):
        time.sleep(0.05)
    assert client.delete(long["links"]["self"]).status_code == 409  # running: cancel first
    cancelled = client.post(f"{queued['links']['self']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert client.post(f"{queued['links']['self']}/cancel").status_code == 409  # finished
    assert client.get(f"{queued['links']['self']}/trades").status_code == 409  # no results
    assert client.post(f"{long['links']['self']}/cancel").json()["status"] == "cancelled"
    time.sleep(0.3)
    assert client.get(long["links"]["self"]).json()["status"] == "cancelled"  # stays cancelled
    assert client.delete(queued["links"]["self"]).status_code == 204
    assert client.get(queued["links"]["self"]).status_code == 404


def test_events_stream_until_the_job_ends(client: TestClient) -> None:
    job = submit(client, "backtests", backtest_body())
    with client.stream("GET", job["links"]["events"]) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        text = "".join(stream.iter_text())
    assert "event: status" in text and "event: end" in text and '"completed"' in text


OPTIMIZATION = SMALL_SEARCH


def test_optimization_lifecycle_and_sorted_trials(client: TestClient) -> None:
    job = submit(client, "optimizations", OPTIMIZATION)
    assert job["trials_total"] == 6
    done = wait_for(client, job["links"]["self"])
    assert done["status"] == "completed" and done["trials_done"] == 6
    assert done["summary"]["pbo"]["combinations"] == 6 and done["best"]["params"]
    trials = client.get(
        f"{job['links']['self']}/trials", params={"sort": "sharpe", "descending": True}
    ).json()
    sharpes = [t["metrics"]["sharpe"] for t in trials if t["metrics"]["sharpe"] is not None]
    assert sharpes == sorted(sharpes, reverse=True) and len(trials) == 6
    assert trials[0]["params"] == done["best"]["params"]
    bad = client.get(f"{job['links']['self']}/trials", params={"sort": "sharp"})
    assert bad.status_code == 422 and "sharpe" in bad.text
    assert client.get(f"{job['links']['self']}/result").json()["completed"] == 6
    assert client.get("/api/v1/optimizations").json()["total"] == 1
    assert client.delete(job["links"]["self"]).status_code == 204


@pytest.mark.parametrize(
    ("change", "loc", "fragment"),
    [
        ({"metric": "sharp"}, ["body", "metric"], "sharpe"),
        (
            {"space": {"fsat": {"kind": "int", "start": 1, "stop": 3}}},
            ["body", "space", "fsat"],
            "'fast'",
        ),
        (
            {
                "space": {
                    "fast": {"kind": "int", "start": 1, "stop": 600},
                    "slow": {"kind": "int", "start": 1, "stop": 600},
                }
            },
            ["body", "space"],
            "limit of 500",
        ),
        (
            {"space": {"fast": {"kind": "int", "start": 9, "stop": 1}}},
            ["body", "space", "fast"],
            "below start",
        ),
        ({"constraints": ["fast <"]}, ["body", "constraints"], "not an expression"),
        ({"method": {"name": "grdi"}}, ["body", "method", "name"], "'grid'"),
    ],
)
def test_bad_optimizations_are_422(
    client: TestClient, change: dict, loc: list, fragment: str
) -> None:
    response = client.post("/api/v1/optimizations", json={**OPTIMIZATION, **change})
    assert response.status_code == 422, response.text
    detail = response.json()["detail"][0]
    assert detail["loc"][: len(loc)] == loc and fragment in detail["msg"]


def test_walkforward_lifecycle(client: TestClient) -> None:
    body = {
        "search": {
            **OPTIMIZATION,
            "base": {"strategy": {"name": "sma_cross"}, "data": {"args": {"bars": 700}}},
        },
        "train": 300,
        "test": 150,
    }
    job = submit(client, "walkforwards", body)
    done = wait_for(client, job["links"]["self"])
    assert done["status"] == "completed" and done["summary"]["windows"] == 2
    assert done["trials_total"] == 2 and done["message"] == "window 2 of 2 done"
    result = client.get(f"{job['links']['self']}/result").json()
    assert len(result["windows"]) == 2 and len(result["oos_equity"]["value"]) == 300
    assert client.get("/api/v1/walkforwards").json()["total"] == 1
    assert client.get("/api/v1/optimizations").json()["total"] == 0


def test_futures_backtest_with_rolls(client: TestClient) -> None:
    body = {
        "data": {"root": "ES", "args": {"bars": 400}, "roll": {"name": "volume"}},
        "strategy": {"name": "sma_cross"},
        "cash": 300_000,
    }
    job = submit(client, "backtests", body)
    assert wait_for(client, job["links"]["self"])["status"] == "completed"
    rolls = client.get(f"{job['links']['self']}/rolls").json()
    assert rolls and {"from_contract", "to_contract", "cost"} <= set(rolls[0])


def test_plugins_and_contracts(client: TestClient) -> None:
    plugins = client.get("/api/v1/plugins").json()
    kinds = {p["kind"] for p in plugins}
    assert {
        "strategies",
        "indicators",
        "sizers",
        "analyzers",
        "data_sources",
        "roll_rules",
        "optimizers",
        "risk_rules",
    } <= kinds
    sma = client.get("/api/v1/plugins/strategy/sma_cross").json()
    assert sma["params_schema"]["properties"]["fast"] == {
        "type": "integer",
        "default": 10,
        "description": "period of the fast simple moving average, in bars",
    }
    csv_source = client.get("/api/v1/plugins/data_sources/csv").json()
    assert "path" in csv_source["params_schema"]["required"]
    assert (
        client.get("/api/v1/plugins", params={"kind": "strategies"}).json()[0]["kind"]
        == "strategies"
    )
    missing = client.get("/api/v1/plugins/strategy/sma_corss")
    assert missing.status_code == 404 and "sma_cross" in missing.text
    contracts = {c["root"]: c for c in client.get("/api/v1/contracts").json()}
    assert (
        contracts["ES"]["multiplier"] == 50
        and client.get("/api/v1/contracts/CL").json()["root"] == "CL"
    )


BUILTIN_SET = {
    "strategies": ["trend_following", "multi_market_trend", "turtle", "carry", "ml_classifier"],
    "indicators": [
        "gaussian_filter",
        "adaptive_supertrend",
        "bollinger_smoother",
        "donchian_channel",
        "keltner_channel",
        "kama",
        "roll_yield",
    ],
    "sizers": [
        "fixed",
        "percent",
        "fixed_fractional",
        "volatility_target",
        "futures_risk",
        "futures_margin",
    ],
    "analyzers": [
        "performance",
        "drawdowns",
        "value_at_risk",
        "exposure",
        "turnover",
        "trade_statistics",
        "period_returns",
        "futures_risk",
        "monte_carlo",
    ],
    "risk_rules": [
        "max_position",
        "max_gross_exposure",
        "max_daily_loss",
        "bracket",
        "max_orders_per_day",
    ],
}


def test_builtin_plugin_set_has_documented_schemas(client: TestClient) -> None:
    for kind, names in BUILTIN_SET.items():
        for name in names:
            plugin = client.get(f"/api/v1/plugins/{kind}/{name}").json()
            assert plugin["plugin"].startswith("stratforge."), (kind, name)
            for param, schema in plugin["params_schema"]["properties"].items():
                assert schema.get("description"), (kind, name, param)


def test_backtest_with_risk_rules_analyzers_and_ml_over_the_api(client: TestClient) -> None:
    body = {
        "data": {"source": "synthetic", "args": {"bars": 300}},
        "strategy": {
            "name": "ml_classifier",
            "params": {"min_train": 120, "estimator_params": {"n_estimators": 10}},
        },
        "sizer": {"name": "percent", "params": {"percent": 50}},
        "analyzers": [{"name": "performance"}, {"name": "value_at_risk"}],
        "risk": [{"name": "bracket", "params": {"stop_loss": 0.01}}],
    }
    job = submit(client, "backtests", body)
    assert wait_for(client, job["links"]["self"])["status"] == "completed"
    result = client.get(f"{job['links']['self']}/result").json()
    assert {"performance", "value_at_risk"} <= set(result["analyzers"])
    assert result["strategy_info"]["models"] and result["strategy_info"]["feature_importances"]
    assert any(e["rule"] == "bracket" for e in result["risk_events"])
    assert result["metrics"]["calmar"] is not None or result["metrics"]["max_drawdown"] == 0
    bad = client.post(
        "/api/v1/backtests", json={**body, "risk": [{"name": "bracket", "params": {"stop": 1}}]}
    )
    assert bad.status_code == 422 and "stop_loss" in bad.text


def _csv_bytes(rows: int = 200) -> bytes:
    buffer = io.StringIO()
    generate_synthetic(bars=rows, seed=5).to_csv(buffer)
    return buffer.getvalue().encode()


def test_datasets(client: TestClient) -> None:
    upload = client.post("/api/v1/datasets", files={"file": ("../../etc/prices.csv", _csv_bytes())})
    assert upload.status_code == 201, upload.text
    dataset = upload.json()
    assert dataset["filename"] == "prices.csv" and dataset["rows"] == 200
    again = client.post("/api/v1/datasets", files={"file": ("copy.csv", _csv_bytes())})
    assert again.status_code == 200 and again.json()["id"] == dataset["id"]
    assert [d["id"] for d in client.get("/api/v1/datasets").json()] == [dataset["id"]]
    job = submit(
        client, "backtests", {"strategy": {"name": "sma_cross"}, "data": dataset["use_in_spec"]}
    )
    assert wait_for(client, job["links"]["self"])["metrics"]["bars"] == 200
    assert client.delete(f"/api/v1/datasets/{dataset['id']}").status_code == 204
    assert client.get(f"/api/v1/datasets/{dataset['id']}").status_code == 404


def test_dataset_in_use_cannot_be_deleted(client: TestClient) -> None:
    dataset = client.post("/api/v1/datasets", files={"file": ("p.csv", _csv_bytes())}).json()
    blocker = submit(client, "backtests", backtest_body(bars=60_000))
    waiting = submit(
        client, "backtests", {"strategy": {"name": "sma_cross"}, "data": dataset["use_in_spec"]}
    )
    response = client.delete(f"/api/v1/datasets/{dataset['id']}")
    assert response.status_code == 409 and waiting["id"] in response.text
    client.post(f"{blocker['links']['self']}/cancel")
    wait_for(client, waiting["links"]["self"])
    assert client.delete(f"/api/v1/datasets/{dataset['id']}").status_code == 204


def test_bad_uploads(client: TestClient) -> None:
    frame = generate_synthetic(bars=50)
    frame.iloc[10, frame.columns.get_loc("high")] = 1.0
    bad = client.post("/api/v1/datasets", files={"file": ("bad.csv", frame.to_csv().encode())})
    assert bad.status_code == 422
    problem = bad.json()["detail"][0]["problems"][0]
    assert problem["row"] == 12 and "high < low" in problem["msg"]
    assert client.post("/api/v1/datasets", files={"file": ("x.exe", b"MZ")}).status_code == 422
    huge = client.post("/api/v1/datasets", files={"file": ("big.csv", _csv_bytes(10_000))})
    assert huge.status_code == 413


def test_health_and_version(client: TestClient) -> None:
    health = client.get("/api/v1/health").json()
    assert health["status"] == "ok" and health["database"] == "ok" and "queued" in health["queue"]
    assert client.get("/api/v1/version").json()["api"] == "v1"
    assert client.get("/openapi.json").json()["info"]["title"] == "stratforge"


def test_api_key(api_settings: Settings) -> None:
    secured = api_settings.model_copy(update={"api_key": "s3cret"})
    with TestClient(create_app(secured), base_url="http://127.0.0.1") as client:
        assert client.get("/api/v1/health").status_code == 200
        assert client.get("/api/v1/backtests").status_code == 401
        assert (
            client.get("/api/v1/backtests", headers={"Authorization": "Bearer nope"}).status_code
            == 401
        )
        ok = client.get("/api/v1/backtests", headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200


def test_a_raising_plugin_fails_only_its_job(api_settings: Settings, tmp_path) -> None:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "boom.py").write_text(
        "import backtrader as bt\nfrom stratforge import hookimpl\n"
        "class Boom(bt.Strategy):\n    def next(self):\n        raise RuntimeError('kaboom')\n"
        "@hookimpl\ndef register_strategies(register):\n    register(Boom, name='boom')\n"
    )
    settings = api_settings.model_copy(update={"plugins_dirs": [plugins]})
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        bad = submit(client, "backtests", {"strategy": {"name": "boom"}})
        good = submit(client, "backtests", backtest_body())
        failed = wait_for(client, bad["links"]["self"])
        assert failed["status"] == "failed"
        assert "kaboom" in failed["error"] and "plugin 'boom'" in failed["error"]
        assert wait_for(client, good["links"]["self"])["status"] == "completed"


def test_cors(api_settings: Settings) -> None:
    settings = api_settings.model_copy(update={"cors_origins": ["http://localhost:5173"]})
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        response = client.options(
            "/api/v1/backtests",
            headers={"Origin": "http://localhost:5173", "Access-Control-Request-Method": "GET"},
        )
        assert response.headers["access-control-allow-origin"] == "http://localhost:5173"


def test_results_survive_a_new_app(api_settings: Settings) -> None:
    with TestClient(create_app(api_settings), base_url="http://127.0.0.1") as client:
        job = submit(client, "backtests", backtest_body())
        done = wait_for(client, job["links"]["self"])
    with TestClient(create_app(api_settings), base_url="http://127.0.0.1") as client:
        again = client.get(job["links"]["self"]).json()
        assert again["metrics"] == done["metrics"]
        assert len(client.get(f"{job['links']['self']}/equity").json()["value"]) == 400


def test_parsed_equity_is_a_frame_friendly_shape(client: TestClient) -> None:
    job = submit(client, "backtests", backtest_body())
    wait_for(client, job["links"]["self"])
    equity = pd.DataFrame(client.get(f"{job['links']['self']}/equity").json())
    assert list(equity.columns) == ["datetime", "value", "cash", "position"]


def test_docs_are_served_without_internet(client: TestClient) -> None:
    html = client.get("/docs").text
    assert "/static/swagger/swagger-ui-bundle.js" in html and "http" not in html.split("<script")[1]
    assert client.get("/static/swagger/swagger-ui-bundle.js").status_code == 200
    examples = client.get("/openapi.json").json()["paths"]["/api/v1/backtests"]["post"]
    content = examples["requestBody"]["content"]["application/json"]
    assert {"stock-like", "futures"} <= set(content["examples"])


def test_a_grid_over_a_float_range_without_step_is_a_422(client: TestClient) -> None:
    search = {
        "base": {"strategy": {"name": "sma_cross"}},
        "space": {"fast": {"kind": "float", "start": 5, "stop": 10}},
    }
    response = client.post("/api/v1/optimizations", json=search)
    assert response.status_code == 422
    detail = response.json()["detail"][0]
    assert detail["loc"] == ["body", "space", "fast"] and "needs a step" in detail["msg"]
