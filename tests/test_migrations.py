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
