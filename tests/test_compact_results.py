"""Compact results: per-bar series as typed columns, stored as Parquet in a zip, read back
the same; JSON (the API, ``--json``) unchanged; backtests stored before still readable."""

from __future__ import annotations

import json
import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from stratforge import RunSpec, run_backtest
from stratforge.api import create_app
from stratforge.core import recorder as recorder_module
from stratforge.core.collect import iso_times
from stratforge.core.columns import FloatColumn, TimeColumn, plain
from stratforge.core.recorder import RunRecorder
from stratforge.core.result_codec import decode_document, decode_result, encode_result, is_encoded
from stratforge.core.results import RunResult
from stratforge.core.settings import Settings
from stratforge.data import generate_synthetic
from stratforge.store.blobs import BlobStore
from stratforge.store.db import make_engine, migrate
from stratforge.store.results import load_document
from stratforge.store.tables import BacktestRun
from tests.api_helpers import submit, wait_for


def _spec(**changes: Any) -> RunSpec:
    body: dict[str, Any] = {
        "strategy": {"name": "sma_cross", "params": {"fast": 5, "slow": 20}},
        "data": {"source": "synthetic", "args": {"bars": 600, "seed": 3}},
        "analyzers": [{"name": "drawdown"}],
        **changes,
    }
    return RunSpec.model_validate(body)


@pytest.fixture(scope="module")
def stock_run() -> RunResult:
    return run_backtest(_spec())


@pytest.fixture(scope="module")
def futures_run() -> RunResult:
    spec = {
        "data": {"source": "synthetic", "root": "ES", "args": {"bars": 400, "seed": 2}},
        "strategy": {"name": "sma_cross", "params": {"fast": 5, "slow": 20}},
        "sizer": {"name": "fixed", "params": {"stake": 1}},
        "cash": 1_000_000.0,
    }
    return run_backtest(RunSpec.model_validate(spec))


def test_columns_read_like_the_lists_they_replace() -> None:
    values = FloatColumn([1.0, None, 3.5])
    assert values == [1.0, None, 3.5] and list(values) == [1.0, None, 3.5]
    assert len(values) == 3 and values[-1] == 3.5 and values[1] is None
    assert values[1:] == [None, 3.5] and values.index(3.5) == 2
    assert np.asarray(values).dtype == np.float64 and np.isnan(np.asarray(values)[1])
    assert np.asarray(values) is values.values  # no copy
    times = TimeColumn(["2024-01-02T09:30:00", "2024-01-02T09:31:00.250"])
    assert times == ["2024-01-02T09:30:00", "2024-01-02T09:31:00.250"]
    assert times[0] >= "2024-01-01" and times.index("2024-01-02T09:31:00.250") == 1
    assert "2024-01-02T09:30:00" in times and "2024-01-03" not in times
    assert pd.DatetimeIndex(times)[1] == pd.Timestamp("2024-01-02 09:31:00.250")
    assert times.millis.dtype == np.int64
    assert pickle.loads(pickle.dumps(values)) == values
    assert plain({"a": [values], "t": times}) == {"a": [[1.0, None, 3.5]], "t": times.tolist()}


def test_a_result_holds_typed_arrays_not_python_objects(stock_run: RunResult) -> None:
    equity = stock_run.equity
    assert isinstance(equity.value, FloatColumn) and equity.value.values.dtype == np.float64
    assert isinstance(equity.datetime, TimeColumn) and equity.datetime.millis.dtype == np.int64
    prices = stock_run.prices[0]
    assert prices.close.values.dtype == np.float64 and len(prices.close) == 600
    for record in stock_run.indicators:
        assert all(isinstance(line, FloatColumn) for line in record.lines.values())


def test_the_json_is_the_list_format(stock_run: RunResult) -> None:
    """What clients read is unchanged: lists of numbers (null before an indicator has a
    value) and ISO-8601 strings."""
    document = json.loads(stock_run.to_json())
    equity = document["equity"]
    assert equity["value"] == stock_run.equity.value.tolist()
    assert equity["datetime"] == iso_times(stock_run.equity.datetime.millis)
    assert all(isinstance(t, str) for t in document["prices"][0]["datetime"])
    sma = next(r for r in document["indicators"] if r["indicator"] == "SMA")
    first = next(iter(sma["lines"].values()))
    assert first[0] is None and isinstance(first[-1], float)
    # against the input bars, formatted by pandas rather than by the columns
    bars = generate_synthetic(bars=600, seed=3)
    expected_times = [t.strftime("%Y-%m-%dT%H:%M:%S") for t in bars.index]
    assert document["prices"][0]["datetime"] == expected_times
    assert document["prices"][0]["close"] == bars["close"].tolist()
    assert equity["datetime"] == expected_times
    again = RunResult.model_validate_json(stock_run.to_json())
    assert again.deterministic_json() == stock_run.deterministic_json()


@pytest.mark.parametrize("which", ["stock_run", "futures_run"])
def test_the_stored_form_round_trips(which: str, request: pytest.FixtureRequest) -> None:
    result: RunResult = request.getfixturevalue(which)
    blob = encode_result(result)
    assert is_encoded(blob) and not is_encoded(result.to_json().encode())
    back = decode_result(blob)
    assert back.deterministic_json() == result.deterministic_json()
    assert encode_result(back) == blob  # equal results, equal bytes: content addressing
    if which == "futures_run":
        assert back.prices[0].raw_close is not None and back.rolls == result.rolls


def test_the_stored_form_is_much_smaller_than_json(stock_run: RunResult) -> None:
    assert len(encode_result(stock_run)) < len(stock_run.to_json()) / 2


@pytest.mark.parametrize(
    "strategy",
    ["sma_cross", "bollinger_reversion", "donchian_breakout", "rsi_reversion", "turtle"],
)
def test_letting_go_of_backtraders_buffers_changes_no_result(
    strategy: str, monkeypatch: Any
) -> None:
    """The recorder lets go of finished orders, closed trades' histories and the lines inside
    backtrader's precomputed indicators as the run goes; without that the result is the same
    (and the run keeps its buffers)."""
    spec = _spec(
        strategy={"name": strategy},
        data={"source": "synthetic", "args": {"bars": 3000, "seed": 5}},
    )
    freed: list[int] = []
    real = recorder_module.free_precomputed_internals

    def counting(strategy_obj: Any) -> int:
        freed.append(real(strategy_obj))
        return freed[-1]

    monkeypatch.setattr(recorder_module, "free_precomputed_internals", counting)
    pruned = run_backtest(spec)
    assert pruned.metrics.trades > 5
    assert len(freed) == 1  # once, at the first bar after the precompute
    if strategy == "sma_cross":  # a CrossOver of two SMAs: many full intermediate lines
        assert freed[0] > 10 * 3000
    monkeypatch.setattr(RunRecorder, "PRUNE_EVERY", 10**9)
    monkeypatch.setattr(RunRecorder, "_forget_closed", lambda self, trade: None)
    monkeypatch.setattr(recorder_module, "free_precomputed_internals", lambda strategy_obj: 0)
    kept = run_backtest(spec)
    assert kept.deterministic_json() == pruned.deterministic_json()


@pytest.mark.parametrize("roots", [(), ("ES",), ("ES", "CL"), ("ES", "FESX")])
def test_a_one_off_run_lets_go_of_its_bars_and_reports_the_same(roots: tuple[str, ...]) -> None:
    """``run_backtest`` drops the markets' columns once the feeds hold them (the result's
    prices then come from each feed's lines); a prepared run that may run again keeps them.
    Both give the same result, byte for byte, and the same data hash."""
    from stratforge.core.engine import prepare, run_prepared

    def synthetic(root: str | None, seed: int) -> dict[str, Any]:
        return {"source": "synthetic", "args": {"bars": 700, "seed": seed}} | (
            {"root": root} if root else {}
        )

    changes: dict[str, Any] = {"data": synthetic(None, 4)}
    if roots:
        feeds = [synthetic(root, 4 + i) for i, root in enumerate(roots)]
        changes = {
            "data": feeds[0] if len(feeds) == 1 else feeds,
            "sizer": {"name": "fixed", "params": {"stake": 1}},
            "cash": 1_000_000.0,
        }
    if "FESX" in roots:  # Eurex against CME, quoted in EUR: an FX line in the feed too
        fx = {"source": "synthetic", "args": {"bars": 900, "seed": 9, "price": 1.1}}
        changes["fx_rates"] = {"EUR": fx}
    spec = _spec(**changes)
    prepared = prepare(spec)
    kept = prepared.run()  # may run again: the bars stay
    assert not any(m.released for m in prepared.markets)
    assert all(len(m.frame.columns) >= 5 for m in prepared.markets)
    released = prepare(spec)
    once = run_prepared(released)
    assert all(m.released and m.frame.columns.empty for m in released.markets)
    assert all(len(m.frame.index) == 700 for m in released.markets)
    assert all(m.series is None or m.series.raw.columns.empty for m in released.markets)
    assert once.metrics.trades > 3 and len(once.prices) == max(len(roots), 1)
    assert once.deterministic_json() == kept.deterministic_json()  # wall time aside
    assert once.provenance.data_sha256 == kept.provenance.data_sha256
    assert [plain(p.close) for p in once.prices] == [plain(p.close) for p in kept.prices]
    if not roots:  # and the released run's prices are the generator's bars, not the engine's
        bars = generate_synthetic(bars=700, seed=4)
        for name in ("open", "high", "low", "close", "volume"):
            assert np.array_equal(np.asarray(getattr(once.prices[0], name)), bars[name].to_numpy())


@contextmanager
def _serving(data_dir: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=data_dir, job_executor="serial", project=False)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        yield client


def test_the_api_pages_equity_and_serves_the_same_json(tmp_path: Path) -> None:
    with _serving(tmp_path) as client:
        body = {"strategy": {"name": "sma_cross", "params": {"fast": 5, "slow": 20}}}
        body["data"] = {"source": "synthetic", "args": {"bars": 300}}
        job = wait_for(client, submit(client, "backtests", body)["links"]["self"])
        assert job["status"] == "completed"
        base = f"/api/v1/backtests/{job['id']}"
        whole = client.get(f"{base}/result").json()
        equity = client.get(f"{base}/equity").json()
        assert equity == whole["equity"] and len(equity["value"]) == 300
        page = client.get(f"{base}/equity", params={"offset": 10, "limit": 5}).json()
        assert page == {name: column[10:15] for name, column in equity.items()}
        trades = client.get(f"{base}/trades", params={"limit": 2}).json()
        assert trades == whole["trades"][:2]
        csv = client.get(f"{base}/equity", params={"format": "csv", "limit": 3}).text
        assert csv.splitlines()[1].startswith(equity["datetime"][0])
        assert client.get(f"{base}/equity", params={"offset": -1}).status_code == 422


def test_a_backtest_stored_as_json_before_still_reads(tmp_path: Path, stock_run: RunResult) -> None:
    """Runs stored before the compact form (gzipped JSON blobs) read, report and page."""
    settings = Settings(data_dir=tmp_path, project=False)
    engine = make_engine(settings)
    migrate(engine)
    blobs = BlobStore(tmp_path / "results")
    digest = blobs.put(stock_run.to_json())
    assert blobs.get_bytes(digest) is None
    with Session(engine) as session:
        job = BacktestRun(
            id="bt_oldjson",
            spec=stock_run.spec,
            strategy="sma_cross",
            status="completed",
            result_blob=digest,
            metrics=stock_run.metrics.model_dump(mode="json"),
        )
        session.add(job)
        session.commit()
    document = load_document(blobs, digest)
    assert RunResult.model_validate(document).deterministic_json() == stock_run.deterministic_json()
    new = blobs.put_bytes(encode_result(stock_run))
    assert decode_document(blobs.get_bytes(new) or b"")["metrics"] == document["metrics"]
    with _serving(tmp_path) as client:
        whole = client.get("/api/v1/backtests/bt_oldjson/result").json()
        assert whole["equity"]["value"] == stock_run.equity.value.tolist()
        page = client.get("/api/v1/backtests/bt_oldjson/equity", params={"limit": 4}).json()
        assert page["datetime"] == stock_run.equity.datetime.tolist()[:4]
        report = client.get("/api/v1/backtests/bt_oldjson/report")
        assert report.status_code == 200 and "<html" in report.text.lower()


@pytest.mark.slow
def test_a_backtest_run_on_ray_is_stored_and_served_like_one_run_here(tmp_path: Path) -> None:
    """The service's default executor: the Ray worker encodes the result, the driver stores
    the blob, the API serves the same JSON as a run in this process."""
    import ray

    body = {
        "strategy": {"name": "sma_cross", "params": {"fast": 5, "slow": 20}},
        "data": {"source": "synthetic", "args": {"bars": 2000, "timeframe": "minutes"}},
    }
    here = json.loads(run_backtest(RunSpec.model_validate(body)).to_json())
    settings = Settings(data_dir=tmp_path, job_executor="ray", project=False, result_cache=False)
    try:
        with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
            job = wait_for(client, submit(client, "backtests", body)["links"]["self"], 180)
            assert job["status"] == "completed", job
            stored = client.get(f"/api/v1/backtests/{job['id']}/result").json()
    finally:
        ray.shutdown()
    assert list((tmp_path / "results").rglob("*.bin"))  # the compact form, not JSON
    for part in ("equity", "trades", "orders", "prices", "indicators", "metrics"):
        assert stored[part] == here[part], part
