"""Alembic migrations on real SQLite and PostgreSQL: a database made by an older release
upgrades in place and keeps its jobs."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlmodel import Session

from stratforge.store import jobs
from stratforge.store.db import MIGRATIONS, make_engine, migrate
from stratforge.store.tables import BacktestRun


def _upgrade(engine: sa.Engine, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    from stratforge.core.settings import Settings

    url = None
    if request.param == "postgresql":
        from tests.pg import reset

        url = request.getfixturevalue("postgres_url")
        reset(url)  # an empty schema, as a database from before the first migration
    engine = make_engine(Settings(data_dir=tmp_path, database_url=url))
    yield engine
    engine.dispose()


def test_a_0001_database_upgrades_and_keeps_its_jobs(engine: sa.Engine) -> None:
    _upgrade(engine, "0001")
    spec = {"strategy": {"name": "sma_cross"}, "data": {"root": "CL", "args": {"bars": 300}}}
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO backtests (id, status, spec, progress, attempts, created_at, strategy)"
                " VALUES ('bt_old', 'completed', :spec, 1.0, 1, :now, 'sma_cross')"
            ),
            {"spec": json.dumps(spec), "now": dt.datetime.now(dt.UTC)},
        )
    migrate(engine)  # to head
    with Session(engine) as session:
        rows, total = jobs.list_jobs(session, table=BacktestRun)
        assert total == 1 and rows[0].id == "bt_old" and rows[0].data is None
        assert jobs.data_label(rows[0].spec) == "CL synthetic 300 bars, default roll, difference"
        new, _ = jobs.create_job(
            session, table=BacktestRun, spec=spec, strategy="sma_cross", body_sha256="x"
        )
        assert new.data == "CL synthetic 300 bars, default roll, difference"


def test_a_0003_database_gets_the_result_cache(engine: sa.Engine) -> None:
    _upgrade(engine, "0003")
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO backtests (id, status, spec, progress, attempts, created_at, strategy,"
                " result_blob) VALUES ('bt_old', 'completed', '{}', 1.0, 1, :now, 'sma_cross',"
                " :blob)"
            ),
            {"now": dt.datetime.now(dt.UTC), "blob": "a" * 64},
        )
    migrate(engine)
    from stratforge.store import cache

    with Session(engine) as session:
        old = jobs.get_job(session, table=BacktestRun, job_id="bt_old")
        assert old is not None and old.cached_from is None
        cache.remember_backtest(
            session, key="k" * 64, job_id="bt_old", result_blob="a" * 64, max_entries=10
        )
        hit = cache.recall_backtest(session, key="k" * 64)
        assert (
            hit is not None
            and hit.job_id == "bt_old"
            and jobs.blob_in_use(session, digest="a" * 64)
        )
    indexes = {i["name"] for i in sa.inspect(engine).get_indexes("backtests")}
    assert "ix_backtests_result_blob" in indexes
