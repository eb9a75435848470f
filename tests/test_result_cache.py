"""The result cache over real HTTP (ASGI) and a real database: an identical run is served
from the stored one, anything that could change the result is computed again, searches run
only the trials they have not run before."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from stratforge.api import create_app
from stratforge.core.settings import Settings
from stratforge.data import generate_synthetic
from stratforge.store import cache
from stratforge.store.db import make_engine, migrate
from tests.api_helpers import backtest_body, submit, wait_for
from tests.test_cli import stratforge

COUNTED = '''
import backtrader as bt
from stratforge import hookimpl

LOG = {log!r}


class Counted(bt.Strategy):
    """Every `every` bars: enter, or close what is open. Each run is logged.

    Params:
        every: bars between orders
    """

    params = (("every", 10),)

    def __init__(self):
        with open(LOG, "a") as handle:
            handle.write(f"{{self.p.every}}\\n")

    def next(self):
        if len(self) % self.p.every == 0:
            if self.position:
                self.close()
            else:
                self.buy(size={size})


@hookimpl
def register_strategies(register):
    register(Counted, name="counted")


def counted_bars(*, bars: int = 300, seed: int = 42):
    """Synthetic bars; each load is logged.

    Args:
        bars: how many
        seed: the generator's seed
    """
    from stratforge.data import generate_synthetic

    with open(LOG + ".loads", "a") as handle:
        handle.write(f"{{bars}}\\n")
    return generate_synthetic(bars=bars, seed=seed)


@hookimpl
def register_data_sources(register):
    register(counted_bars, name="counted_bars")
'''


def settings_for(data_dir: Path, **changes: Any) -> Settings:
    return Settings(
        data_dir=data_dir, job_executor="serial", max_concurrent_jobs=1, project=False, **changes
    )


@contextmanager
def serving(settings: Settings) -> Iterator[TestClient]:
    """An app on *settings*: starting one again on the same data dir is a server restart."""
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        yield client


def run(client: TestClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    done = wait_for(client, submit(client, path, body)["links"]["self"])
    assert done["status"] == "completed", done
    return done


def write_counted(directory: Path, log: Path, size: int = 1) -> None:
    directory.mkdir(exist_ok=True)
    source = directory / "counted.py"
    before = source.stat().st_mtime_ns if source.exists() else 0
    source.write_text(COUNTED.format(log=str(log), size=size), encoding="utf-8")
    while source.stat().st_mtime_ns == before:  # a coarse clock: make the edit visible
        time.sleep(0.01)
        source.write_text(COUNTED.format(log=str(log), size=size), encoding="utf-8")


def runs(log: Path) -> list[int]:
    """The `every` of each run of the counted strategy, in order."""
    return [int(line) for line in log.read_text().split()] if log.exists() else []


def loads(log: Path) -> int:
    """How many times the counted_bars source was called (in any process)."""
    path = log.with_name(log.name + ".loads")
    return len(path.read_text().split()) if path.exists() else 0


def test_identical_backtest_is_served_from_the_stored_run(client: TestClient) -> None:
    first = run(client, "backtests", backtest_body())
    assert first["cached_from"] is None
    second = run(client, "backtests", backtest_body())
    assert second["id"] != first["id"] and second["cached_from"] == first["id"]
    assert "result cache" in second["message"] and second["progress"] == 1.0
    assert second["metrics"] == first["metrics"]
    for part in ("result", "trades", "equity", "orders"):
        original = client.get(f"{first['links']['self']}/{part}").json()
        assert client.get(f"{second['links']['self']}/{part}").json() == original, part
    reports = [client.get(f"/api/v1/backtests/{j['id']}/report.json") for j in (first, second)]
    assert [r.status_code for r in reports] == [200, 200]
    assert _without_ids(reports[1].text) == _without_ids(reports[0].text)  # Bokeh numbers ids
    # deleting the original leaves the served copy whole, and the cache serves from it
    assert client.delete(first["links"]["self"]).status_code == 204
    assert client.get(f"{second['links']['self']}/trades").status_code == 200
    third = run(client, "backtests", backtest_body())
    assert third["cached_from"] == second["id"]
    for done in (second, third):
        assert client.delete(done["links"]["self"]).status_code == 204
    fourth = run(client, "backtests", backtest_body())  # nothing stored: computed
    assert fourth["cached_from"] is None and fourth["metrics"] == first["metrics"]


def test_other_params_or_data_are_not_served(tmp_path: Path) -> None:
    files = tmp_path / "data" / "files"
    files.mkdir(parents=True)
    prices = files / "prices.csv"
    generate_synthetic(bars=300, seed=1).to_csv(prices)
    on_file = {
        "strategy": {"name": "sma_cross"},
        "data": {"source": "csv", "args": {"path": str(prices)}},
    }
    with serving(settings_for(tmp_path / "data")) as client:
        first = run(client, "backtests", on_file)
        assert run(client, "backtests", on_file)["cached_from"] == first["id"]
        generate_synthetic(bars=300, seed=2).to_csv(prices)  # same spec, other bars
        changed = run(client, "backtests", on_file)
        assert changed["cached_from"] is None and changed["metrics"] != first["metrics"]
        other = run(client, "backtests", backtest_body(fast=6))
        assert run(client, "backtests", backtest_body(fast=7))["cached_from"] is None
        assert run(client, "backtests", backtest_body(bars=401))["cached_from"] is None
        seeded = run(client, "backtests", {**backtest_body(fast=6), "seed": 3})
        assert seeded["cached_from"] is None
        assert run(client, "backtests", backtest_body(fast=6))["cached_from"] == other["id"]


def test_editing_a_plugin_invalidates_its_entries(tmp_path: Path) -> None:
    plugins, log = tmp_path / "plugins", tmp_path / "runs.log"
    write_counted(plugins, log, size=1)
    settings = settings_for(tmp_path / "data", plugins_dirs=[plugins])
    body = {
        "strategy": {"name": "counted", "params": {"every": 7}},
        "data": {"args": {"bars": 300}},
    }
    with serving(settings) as client:
        first = run(client, "backtests", body)
    with serving(settings) as client:  # a restart alone keeps the entry
        assert run(client, "backtests", body)["cached_from"] == first["id"]
        write_counted(plugins, log, size=3)  # edited under a running server: not its code
        stale = run(client, "backtests", body)
        assert stale["cached_from"] is None and stale["metrics"] == first["metrics"]
        assert client.get("/api/v1/cache").json()["backtests"] == 1  # nothing stored for it
    assert runs(log) == [7, 7]
    with serving(settings) as client:  # restarted on the edited code
        edited = run(client, "backtests", body)
        assert edited["cached_from"] is None and edited["metrics"] != first["metrics"]
        assert run(client, "backtests", body)["cached_from"] == edited["id"]
    assert runs(log) == [7, 7, 7]


def test_the_setting_turns_it_off(tmp_path: Path) -> None:
    with serving(settings_for(tmp_path / "data", result_cache=False)) as client:
        first = run(client, "backtests", backtest_body())
        second = run(client, "backtests", backtest_body())
        assert second["cached_from"] is None and second["metrics"] == first["metrics"]
        info = client.get("/api/v1/cache").json()
        assert info["enabled"] is False and info["entries"] == 0


def test_clear_and_the_size_limit(tmp_path: Path) -> None:
    with serving(settings_for(tmp_path / "data", result_cache_max_entries=2)) as client:
        ids = [run(client, "backtests", backtest_body(fast=f))["id"] for f in (5, 6)]
        assert run(client, "backtests", backtest_body(fast=5))["cached_from"] == ids[0]
        ids.append(run(client, "backtests", backtest_body(fast=7))["id"])  # evicts fast=6
        info = client.get("/api/v1/cache").json()
        assert info["entries"] == info["backtests"] == 2 and info["max_entries"] == 2
        assert info["hits"] == 1
        assert run(client, "backtests", backtest_body(fast=6))["cached_from"] is None  # evicts 5
        assert run(client, "backtests", backtest_body(fast=7))["cached_from"] == ids[2]
        assert run(client, "backtests", backtest_body(fast=5))["cached_from"] is None
        assert client.delete("/api/v1/cache").json() == {"cleared": 2}
        assert client.get("/api/v1/cache").json()["entries"] == 0
        assert run(client, "backtests", backtest_body(fast=5))["cached_from"] is None


def test_a_search_runs_only_its_new_trials(tmp_path: Path) -> None:
    plugins, log = tmp_path / "plugins", tmp_path / "runs.log"
    write_counted(plugins, log)
    base = {"strategy": {"name": "counted"}, "data": {"args": {"bars": 300}}}

    def search(*every: int) -> dict[str, Any]:
        space = {"every": {"kind": "choice", "options": list(every)}}
        return {"base": base, "space": space, "metric": "total_return", "pbo_blocks": 4}

    with serving(settings_for(tmp_path / "data", plugins_dirs=[plugins])) as client:
        first = run(client, "optimizations", search(5, 10, 15))
        assert runs(log) == [5, 10, 15] and first["summary"]["cached_trials"] == 0
        second = run(client, "optimizations", search(10, 20, 5, 25))
        assert runs(log)[3:] == [20, 25]  # the known trials were not run again
        assert second["summary"]["cached_trials"] == 2 and second["trials_done"] == 4
        before = {t["params"]["every"]: t for t in _trials(client, first)}
        after = {t["params"]["every"]: t for t in _trials(client, second)}
        for every in (5, 10):
            assert after[every]["metrics"] == before[every]["metrics"]
            assert after[every]["objective"] == before[every]["objective"]
        assert [after[e]["number"] for e in (10, 20, 5, 25)] == [0, 1, 2, 3]
        stored = client.get(f"{second['links']['self']}/result").json()
        assert stored["cached"] == 2 and stored["pbo"]["blocks"] == 4
        again = run(client, "optimizations", search(5, 10, 15))
        assert len(runs(log)) == 5 and again["summary"]["cached_trials"] == 3
        assert again["best"] == first["best"] and again["summary"]["pbo"] == first["summary"]["pbo"]
        other_blocks = run(client, "optimizations", {**search(5), "pbo_blocks": 0})
        assert other_blocks["summary"]["cached_trials"] == 0 and runs(log)[-1] == 5


def test_a_walkforward_again_reuses_its_windows_trials(tmp_path: Path) -> None:
    plugins, log = tmp_path / "plugins", tmp_path / "runs.log"
    write_counted(plugins, log)
    body = {
        "search": {
            "base": {"strategy": {"name": "counted"}, "data": {"args": {"bars": 500}}},
            "space": {"every": {"kind": "choice", "options": [5, 9]}},
            "metric": "total_return",
        },
        "train": 200,
        "test": 100,
    }
    with serving(settings_for(tmp_path / "data", plugins_dirs=[plugins])) as client:
        first = run(client, "walkforwards", body)
        computed = len(runs(log))
        second = run(client, "walkforwards", body)
        assert second["summary"]["cached_trials"] == 2 * first["summary"]["windows"]
        windows = first["summary"]["windows"]
        assert len(runs(log)) == computed + 2 * windows  # each window's best, in and out
        result = client.get(f"{second['links']['self']}/result").json()
        original = client.get(f"{first['links']['self']}/result").json()
        assert result["windows"] == original["windows"]


def _without_ids(text: str) -> str:
    return re.sub(r'"p\d+"', '"id"', text)


def _trials(client: TestClient, job: dict[str, Any]) -> list[dict[str, Any]]:
    return client.get(f"{job['links']['self']}/trials").json()


def test_the_cli_shows_and_clears_it(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    search = {"base": backtest_body(), "space": {"fast": {"kind": "choice", "options": [4, 6]}}}
    with serving(settings_for(data_dir)) as client:
        run(client, "backtests", backtest_body())
        run(client, "optimizations", {**search, "pbo_blocks": 0})
    env = {"STRATFORGE_DATA_DIR": str(data_dir)}
    shown = stratforge("cache", "info", "--json", env_extra=env)
    assert shown.returncode == 0, shown.stderr
    info = json.loads(shown.stdout)
    assert (info["entries"], info["backtests"], info["trials"]) == (3, 1, 2) and info["enabled"]
    assert "3 of at most 100,000 entries" in stratforge("cache", "info", env_extra=env).stdout
    cleared = stratforge("cache", "clear", env_extra=env)
    assert cleared.returncode == 0 and "cleared 3 result cache entries" in cleared.stdout
    assert json.loads(stratforge("cache", "info", "--json", env_extra=env).stdout)["entries"] == 0
    with serving(settings_for(data_dir)) as client:
        assert run(client, "backtests", backtest_body())["cached_from"] is None


def test_least_recently_used_entries_go_first(tmp_path: Path) -> None:
    engine = make_engine(Settings(data_dir=tmp_path))
    migrate(engine)
    with Session(engine) as session:
        trial = {"params": {}, "status": "completed"}
        cache.remember_trials(session, trials={"a": trial, "b": trial}, max_entries=3)
        time.sleep(0.01)
        assert cache.recall_trials(session, keys=["a", "z"]) == {"a": trial}
        time.sleep(0.01)
        cache.remember_trials(session, trials={"c": trial, "d": trial}, max_entries=3)
        assert set(cache.recall_trials(session, keys=["a", "b", "c", "d"])) == {"a", "c", "d"}
        cache.remember_trials(session, trials={"a": {"params": {"x": 1}}}, max_entries=3)
        assert cache.recall_trials(session, keys=["a"]) == {"a": trial}  # the first stays
        info = cache.cache_info(session)
        assert (info.entries, info.trials, info.backtests, info.hits) == (3, 3, 0, 5)
        assert isinstance(info.oldest_use, dt.datetime)
        assert cache.clear_cache(session) == 3 and cache.cache_info(session).entries == 0
    engine.dispose()


@pytest.mark.slow
def test_on_ray_only_the_new_trials_go_to_the_workers(tmp_path: Path) -> None:
    """The driver recalls and remembers trials (the workers never see the database); the
    workers receive only the trials it does not have."""
    from stratforge.core.executors import RayExecutor
    from stratforge.core.optimize import OptimizeSpec, optimize
    from stratforge.core.plugins import Plugins
    from stratforge.jobs.cache import StoredTrials
    from tests.optimize_helpers import local_ray

    plugins_dir, log = tmp_path / "plugins", tmp_path / "runs.log"
    write_counted(plugins_dir, log)
    settings = settings_for(tmp_path / "data", plugins_dirs=[plugins_dir])
    plugins = Plugins.load(settings)
    engine = make_engine(settings)
    migrate(engine)

    def search(*every: int) -> OptimizeSpec:
        return OptimizeSpec.model_validate(
            {
                "base": {"strategy": {"name": "counted"}, "data": {"args": {"bars": 300}}},
                "space": {"every": {"kind": "choice", "options": list(every)}},
                "metric": "total_return",
                "executor": "ray",
            }
        )

    with local_ray(num_cpus=2), Session(engine) as session:
        results = []
        for every in ((5, 10, 15, 20), (15, 25, 5, 30)):
            memory = StoredTrials(session, settings)
            executor = RayExecutor(workers=2, settings=settings)
            results.append(
                optimize(search(*every), plugins=plugins, executor=executor, memory=memory)
            )
        served, loaded, built = [], [], []
        for _ in range(2):
            served.append(_ray_backtest(session, settings, plugins))
            loaded.append(loads(log))
            built.append(len(runs(log)))
    engine.dispose()
    assert served[0]["cached_from"] is None and served[1]["cached_from"] == served[0]["id"]
    # the worker loads the data and sends the key: the driver never loads it too; a stored
    # key stops the task before its strategy is built
    assert loaded == [1, 2] and built[1] == built[0]
    # the worker's key is the one this process computes: a run stored by a serial server
    # is served on Ray, and the other way round
    from stratforge.core.cache_key import backtest_key
    from stratforge.core.engine import prepare
    from stratforge.core.spec import RunSpec

    here = backtest_key(prepare(RunSpec.model_validate(RAY_BACKTEST), plugins=plugins))
    engine = make_engine(settings)
    with Session(engine) as session:
        stored = cache.recall_backtest(session, key=here or "")
    engine.dispose()
    assert stored is not None and stored.job_id == served[0]["id"]
    for field in ("result_blob", "metrics"):
        assert served[1][field] == served[0][field]
    # 5 and 15 ran once, in the first search; the backtest (every=10) ran once, not twice
    assert sorted(runs(log)) == [5, 10, 10, 15, 20, 25, 30]
    assert (results[0].cached, results[1].cached) == (0, 2)
    first = {t.params["every"]: t for t in results[0].trials}
    for trial in results[1].trials:
        if trial.params["every"] in first:
            original = first[trial.params["every"]]
            assert trial.metrics == original.metrics and trial.blocks == original.blocks


RAY_BACKTEST = {
    "strategy": {"name": "counted"},
    "data": {"source": "counted_bars", "args": {"bars": 300}},
}


def _ray_backtest(session: Session, settings: Settings, plugins: Any) -> dict[str, Any]:
    """One backtest job run by the job runner on Ray, as the server runs it."""
    from stratforge.jobs.run import JobRunner, RunningJob
    from stratforge.store import jobs
    from stratforge.store.blobs import BlobStore
    from stratforge.store.tables import BacktestRun

    job, _ = jobs.create_job(
        session, table=BacktestRun, spec=RAY_BACKTEST, strategy="counted", body_sha256="-"
    )
    claimed = jobs.claim_next(session)
    assert claimed is not None and claimed.id == job.id
    runner = JobRunner(settings, plugins, BlobStore(settings.data_dir / "results"), executor="ray")
    runner.run_and_store(session, claimed, RunningJob(job.id))
    session.refresh(job)
    assert job.status == "completed", job.error
    return job.model_dump()


def test_keys_cover_the_spec_the_bars_and_the_params(plugins: Any) -> None:
    from stratforge.core.cache_key import run_key
    from stratforge.core.engine import prepare
    from stratforge.core.spec import RunSpec

    def key(body: dict[str, Any], **frames: Any) -> Any:
        spec = RunSpec.model_validate(body)
        found = run_key(prepare(spec, plugins=plugins, frames=frames or None))
        assert found is not None
        return found

    base = key(backtest_body())
    assert key(backtest_body()).backtest() == base.backtest()  # stable across loads
    assert key(backtest_body(fast=6)).backtest() != base.backtest()
    # a trial is the run it makes: the base's params with the trial's over them
    assert key(backtest_body(fast=6)).trial({}, 16) == base.trial({"fast": 6}, 16)
    assert base.trial({"fast": 6}, 16) not in (base.trial({"fast": 6}, 0), base.backtest())
    strategy = {"strategy": {"name": "sma_cross", "params": {"fast": 5, "slow": 20}}}
    one, two = (generate_synthetic(bars=300, seed=seed) for seed in (1, 2))
    assert key(strategy, ES=one).backtest() == key(strategy, ES=one.copy()).backtest()
    assert key(strategy, ES=one).backtest() != key(strategy, ES=two).backtest()
