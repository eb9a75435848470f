"""Shared fixtures: isolated settings and real plugin managers (no mocks)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stratforge.core.engine import default_plugins
from stratforge.core.plugins import Plugins
from stratforge.core.settings import Settings, get_settings


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path_factory: pytest.TempPathFactory, monkeypatch) -> Iterator[None]:
    """Every test gets its own data dir and no inherited plugin settings."""
    monkeypatch.setenv("STRATFORGE_DATA_DIR", str(tmp_path_factory.mktemp("data")))
    for name in ("PLUGINS_DIR", "BLOCKED_PLUGINS", "DISABLE_PLUGIN_AUTOLOAD"):
        monkeypatch.delenv(f"STRATFORGE_{name}", raising=False)
    get_settings.cache_clear()
    default_plugins.cache_clear()
    yield
    get_settings.cache_clear()
    default_plugins.cache_clear()


@pytest.fixture(scope="session")
def plugins() -> Plugins:
    """Built-ins plus installed entry-point plugins (the example plugin)."""
    return Plugins.load(Settings())


def ohlc_frame(
    closes: list[float],
    start: str = "2024-01-01",
    freq: str = "D",
    *,
    index: pd.DatetimeIndex | None = None,
) -> pd.DataFrame:
    """A canonical frame whose open equals the previous close (first open = first close), on
    *index* or on ``len(closes)`` stamps from *start* every *freq*."""
    close = np.asarray(closes, dtype=float)
    if index is None:
        index = pd.DatetimeIndex(pd.date_range(start, periods=len(close), freq=freq))
    open_ = np.concatenate(([close[0]], close[:-1]))
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) + 0.5,
            "low": np.minimum(open_, close) - 0.5,
            "close": close,
            "volume": 1000.0,
            "openinterest": 0.0,
        },
        index=pd.DatetimeIndex(index, name="datetime"),
    )


@pytest.fixture
def write_plugin(tmp_path: Path):
    """Write a plugin file into a fresh plugins directory and return the directory."""
    directory = tmp_path / "plugins"
    directory.mkdir()

    def write(name: str, source: str) -> Path:
        (directory / f"{name}.py").write_text(source, encoding="utf-8")
        return directory

    return write


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL 15 server for this test process, started and stopped here."""
    from tests.pg import postgres_server

    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def api_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Server settings on each database backend, jobs run in-process for speed."""
    url = None
    if request.param == "postgresql":
        from tests.pg import reset

        url = request.getfixturevalue("postgres_url")
        reset(url)
    return Settings(
        data_dir=tmp_path / "server",
        database_url=url,
        job_executor="serial",
        max_concurrent_jobs=1,
        max_trials=500,
        max_upload_mb=0.25,
    )


@pytest.fixture
def client(api_settings: Settings) -> Iterator[object]:
    from fastapi.testclient import TestClient

    from stratforge.api import create_app

    with TestClient(create_app(api_settings), base_url="http://127.0.0.1") as test_client:
        yield test_client


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Debian Chromium for one test module (see tests/browser_helpers.py)."""
    from tests.browser_helpers import chromium

    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a live ``stratforge serve`` shared by one test module."""
    from tests.server_helpers import free_port, server

    port = free_port()
    with server(tmp_path_factory.mktemp("served"), port):
        yield f"http://127.0.0.1:{port}"
