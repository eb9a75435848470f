"""The market-data catalog: contract months imported once into the data directory, listed by
the CLI and the API, and read by a RunSpec with a root (synthetic only when asked for)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlmodel import Session

from stratforge.core.engine import run_backtest
from stratforge.core.errors import SpecError
from stratforge.core.plugins import Plugins
from stratforge.core.settings import Settings
from stratforge.core.spec import RunSpec
from stratforge.data import DataValidationError
from stratforge.futures.catalog import MarketCatalog, bar_size
from stratforge.jobs.markets import import_market
from stratforge.store.db import make_engine, migrate
from stratforge.store.markets import list_market_contracts
from tests.api_helpers import submit, wait_for
from tests.test_cli import assert_one_line_error, stratforge

# Quarterly months, each traded for about four months up to its expiry (third Friday).
ES_MONTHS = {"ESH2024": ("2023-11-20", "2024-03-15"), "ESM2024": ("2024-02-15", "2024-06-21")}
NQ_MONTHS = {"NQH2024": ("2023-11-20", "2024-03-15"), "NQM2024": ("2024-02-15", "2024-06-21")}


def write_contracts(directory: Path, months: dict[str, tuple[str, str]], base: float) -> Path:
    """One small CSV per contract month, as a vendor export would have them."""
    directory.mkdir(parents=True, exist_ok=True)
    for i, (code, (start, end)) in enumerate(months.items()):
        index = pd.bdate_range(start, end)
        close = base + 10 * i + np.sin(np.arange(len(index)) / 5) * 20 + np.arange(len(index))
        frame = pd.DataFrame(
            {
                "datetime": index.strftime("%Y-%m-%d"),
                "open": close - 1,
                "high": close + 2,
                "low": close - 2,
                "close": close,
                "volume": 1000 + 10 * np.arange(len(index)),
            }
        )
        frame.to_csv(directory / f"{code}.csv", index=False)
    return directory


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def local_plugins(settings: Settings) -> Plugins:
    """Plugins reading this test's own data directory (never the shared one)."""
    return Plugins.load(settings)


@pytest.fixture
def session(settings: Settings) -> Iterator[Session]:
    engine = make_engine(settings)
    migrate(engine)
    with Session(engine, expire_on_commit=False) as opened:
        yield opened
    engine.dispose()


def stored_files(settings: Settings) -> list[str]:
    markets = settings.data_dir / "markets"
    return sorted(str(p.relative_to(markets)) for p in markets.rglob("*") if p.is_file())


def test_import_stores_each_contract_once_and_lists_it(
    tmp_path: Path, settings: Settings, local_plugins: Plugins, session: Session
) -> None:
    folder = write_contracts(tmp_path / "es", ES_MONTHS, 4700)
    outcome = import_market(
        session, plugins=local_plugins, source="contracts_dir", root="ES", paths=[folder]
    )
    assert outcome.added == ["ESH2024", "ESM2024"] and outcome.unchanged == []
    assert stored_files(settings) == ["ES/ESH2024.parquet", "ES/ESM2024.parquet"]
    rows = list_market_contracts(session)
    assert [(r.root, r.contract, r.bars, r.bar_size, r.source) for r in rows] == [
        ("ES", "ESH2024", len(pd.bdate_range(*ES_MONTHS["ESH2024"])), "1 day", "contracts_dir"),
        ("ES", "ESM2024", len(pd.bdate_range(*ES_MONTHS["ESM2024"])), "1 day", "contracts_dir"),
    ]
    assert rows[0].first == pd.Timestamp("2023-11-20") and rows[1].last == pd.Timestamp(
        "2024-06-21"
    )
    mtimes = [p.stat().st_mtime_ns for p in sorted((settings.data_dir / "markets").rglob("*.pq*"))]

    again = import_market(
        session, plugins=local_plugins, source="contracts_dir", root="ES", paths=[folder]
    )
    assert again.added == [] and again.unchanged == ["ESH2024", "ESM2024"]
    assert len(list_market_contracts(session)) == 2
    assert [
        p.stat().st_mtime_ns for p in sorted((settings.data_dir / "markets").rglob("*.pq*"))
    ] == mtimes  # not written again
    chain = MarketCatalog(settings.data_dir).chain(local_plugins.registries.contracts.get("ES"))
    assert [c.format("full") for c in chain.contracts()] == ["ESH2024", "ESM2024"]


def test_different_bars_for_a_stored_contract_need_replace(
    tmp_path: Path, settings: Settings, local_plugins: Plugins, session: Session
) -> None:
    folder = write_contracts(tmp_path / "es", ES_MONTHS, 4700)
    import_market(session, plugins=local_plugins, source="contracts_dir", root="ES", paths=[folder])
    before = {r.contract: r.sha256 for r in list_market_contracts(session)}
    write_contracts(folder, {"ESM2024": ES_MONTHS["ESM2024"]}, 5000)  # revised vendor file
    with pytest.raises(ValueError, match=r"ESM2024 is already in the market catalog.*--replace"):
        import_market(
            session, plugins=local_plugins, source="contracts_dir", root="ES", paths=[folder]
        )
    assert {r.contract: r.sha256 for r in list_market_contracts(session)} == before
    outcome = import_market(
        session,
        plugins=local_plugins,
        source="contracts_dir",
        root="ES",
        paths=[folder],
        replace=True,
    )
    assert outcome.replaced == ["ESM2024"] and outcome.unchanged == ["ESH2024"]
    after = {r.contract: r.sha256 for r in list_market_contracts(session)}
    assert after["ESH2024"] == before["ESH2024"] and after["ESM2024"] != before["ESM2024"]
    assert stored_files(settings) == ["ES/ESH2024.parquet", "ES/ESM2024.parquet"]


def test_a_bad_file_stores_nothing(
    tmp_path: Path, settings: Settings, local_plugins: Plugins, session: Session
) -> None:
    good = write_contracts(tmp_path / "good", {"ESH2024": ES_MONTHS["ESH2024"]}, 4700)
    import_market(session, plugins=local_plugins, source="contracts_dir", root="ES", paths=[good])
    before = (stored_files(settings), [r.model_dump() for r in list_market_contracts(session)])

    bad = write_contracts(tmp_path / "bad", {"ESM2024": ES_MONTHS["ESM2024"]}, 4800)
    write_contracts(bad, {"ESU2024": ("2024-05-15", "2024-09-20")}, 4900)
    lines = (bad / "ESU2024.csv").read_text().splitlines()
    lines[5] = lines[5].split(",")[0] + ",1,1,5,abc,100"  # low above high, close not a number
    (bad / "ESU2024.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataValidationError, match="ESU2024"):
        import_market(
            session, plugins=local_plugins, source="contracts_dir", root="ES", paths=[bad]
        )
    assert (stored_files(settings), [r.model_dump() for r in list_market_contracts(session)]) == (
        before
    )


def test_unknown_format_and_empty_paths_are_refused(
    local_plugins: Plugins, session: Session, tmp_path: Path
) -> None:
    with pytest.raises(SpecError, match=r"format"):
        import_market(session, plugins=local_plugins, source="nope", root="ES", paths=[tmp_path])
    with pytest.raises(SpecError, match="at least one"):
        import_market(session, plugins=local_plugins, source="contracts_dir", root="ES", paths=[])


def test_bar_size_names_the_spacing() -> None:
    assert bar_size(pd.DatetimeIndex(pd.bdate_range("2024-01-01", periods=30))) == "1 day"
    assert bar_size(pd.date_range("2024-01-01", periods=30, freq="5min")) == "5 minutes"
    assert bar_size(pd.date_range("2024-01-01", periods=30, freq="h")) == "1 hour"
    assert bar_size(pd.date_range("2024-01-01", periods=30, freq="W")) == "1 week"


SMA = {"name": "sma_cross", "params": {"fast": 3, "slow": 10}}


def test_a_spec_with_a_root_uses_the_catalog_when_it_is_there(
    tmp_path: Path, local_plugins: Plugins, session: Session
) -> None:
    folder = write_contracts(tmp_path / "es", ES_MONTHS, 4700)
    import_market(session, plugins=local_plugins, source="contracts_dir", root="ES", paths=[folder])

    stored = run_backtest(
        RunSpec.model_validate({"data": {"root": "ES"}, "strategy": SMA, "cash": 300_000}),
        plugins=local_plugins,
    )
    assert stored.spec["data"]["source"] == "catalog"  # the result says which source was used
    assert "stratforge.futures.catalog" in stored.provenance.plugins
    assert stored.provenance.data_start.startswith("2023-11-20")

    asked = {"root": "ES", "source": "synthetic", "args": {"bars": 300}}
    synthetic = run_backtest(
        RunSpec.model_validate({"data": asked, "strategy": SMA, "cash": 300_000}),
        plugins=local_plugins,
    )
    assert synthetic.spec["data"]["source"] == "synthetic" and synthetic.provenance.data_bars > 200

    elsewhere = run_backtest(  # NQ is not in the catalog: synthetic, as before
        RunSpec.model_validate({"data": {"root": "NQ", "args": {"bars": 300}}, "strategy": SMA}),
        plugins=local_plugins,
    )
    assert elsewhere.spec["data"]["source"] == "synthetic"

    with pytest.raises(SpecError, match=r"data\.args.*ES is in the market catalog"):
        run_backtest(
            RunSpec.model_validate(
                {"data": {"root": "ES", "args": {"bars": 300}}, "strategy": SMA}
            ),
            plugins=local_plugins,
        )


def test_an_unset_source_survives_storing_the_spec() -> None:
    """A job's spec is stored as JSON and read back when it runs: the engine must still see
    that no source was given (and choose the catalog or synthetic then)."""
    spec = RunSpec.model_validate(
        {"data": [{"root": "ES"}, {"source": "synthetic"}], "strategy": SMA}
    )
    stored = json.loads(spec.model_dump_json())
    assert "source" not in stored["data"][0] and stored["data"][1]["source"] == "synthetic"
    again = RunSpec.model_validate(stored)
    assert [("source" in d.model_fields_set) for d in again.datas] == [False, True]
    assert again.datas[0].source == "synthetic"  # the documented default


def test_a_portfolio_of_two_catalog_roots(
    tmp_path: Path, local_plugins: Plugins, session: Session
) -> None:
    for root, months, base in (("ES", ES_MONTHS, 4700), ("NQ", NQ_MONTHS, 16_000)):
        folder = write_contracts(tmp_path / root.lower(), months, base)
        import_market(
            session, plugins=local_plugins, source="contracts_dir", root=root, paths=[folder]
        )
    result = run_backtest(
        RunSpec.model_validate(
            {"data": [{"root": "ES"}, {"root": "NQ"}], "strategy": SMA, "cash": 500_000}
        ),
        plugins=local_plugins,
    )
    assert [d["source"] for d in result.spec["data"]] == ["catalog", "catalog"]
    assert [p.data for p in result.prices] == ["ES", "NQ"]


def test_the_api_lists_the_catalog(api_settings: Settings, client: object, tmp_path: Path) -> None:
    """On SQLite and PostgreSQL: GET /markets and /markets/{root}, and a backtest job with a
    root reads the stored contracts."""
    from fastapi.testclient import TestClient

    assert isinstance(client, TestClient)
    assert client.get("/api/v1/markets").json() == []
    engine = make_engine(api_settings)
    with Session(engine, expire_on_commit=False) as session:
        folder = write_contracts(tmp_path / "es", ES_MONTHS, 4700)
        import_market(
            session,
            plugins=Plugins.load(api_settings),
            source="contracts_dir",
            root="ES",
            paths=[folder],
        )
    engine.dispose()

    markets = client.get("/api/v1/markets").json()
    assert [(m["root"], m["contracts"], m["bar_sizes"]) for m in markets] == [
        ("ES", ["ESH2024", "ESM2024"], ["1 day"])
    ]
    assert markets[0]["first"] == "2023-11-20T00:00:00" and markets[0]["use_in_spec"] == {
        "root": "ES"
    }
    detail = client.get("/api/v1/markets/ES").json()
    assert [c["contract"] for c in detail["contract_months"]] == ["ESH2024", "ESM2024"]
    assert detail["contract_months"][0]["source"] == "contracts_dir"
    assert detail["bars"] == sum(c["bars"] for c in detail["contract_months"])
    missing = client.get("/api/v1/markets/NQ")
    assert missing.status_code == 404 and "ES" in missing.json()["detail"]

    job = submit(client, "backtests", {"data": {"root": "ES"}, "strategy": SMA, "cash": 300_000})
    assert wait_for(client, job["links"]["self"])["status"] == "completed"
    result = client.get(f"{job['links']['self']}/result").json()
    assert result["spec"]["data"]["source"] == "catalog"


def test_cli_import_and_list(tmp_path: Path) -> None:
    env = {"STRATFORGE_DATA_DIR": str(tmp_path / "cli-data")}
    folder = write_contracts(tmp_path / "es", ES_MONTHS, 4700)
    first = stratforge(
        "data", "import", "--format", "contracts_dir", "--root", "ES", str(folder), env_extra=env
    )
    assert first.returncode == 0, first.stderr
    assert "ES from contracts_dir: 2 added" in first.stdout
    again = stratforge(
        "data", "import", "-f", "contracts_dir", "-r", "ES", str(folder), env_extra=env
    )
    assert again.returncode == 0 and "0 added, 2 already stored" in again.stdout

    listed = stratforge("data", "list", env_extra=env)
    assert listed.returncode == 0, listed.stderr
    assert "ES" in listed.stdout and "ESH2024" in listed.stdout and "1 day" in listed.stdout
    rows = json.loads(stratforge("data", "list", "ES", "--json", env_extra=env).stdout)
    assert [r["contract"] for r in rows] == ["ESH2024", "ESM2024"]

    spec = tmp_path / "portfolio.json"
    spec.write_text(json.dumps({"data": [{"root": "ES"}], "strategy": SMA, "cash": 300_000}))
    ran = stratforge("run", "--spec", str(spec), env_extra=env)
    assert ran.returncode == 0, ran.stderr
    assert "ES (catalog chain)" in ran.stdout  # the summary says which source was used

    missing = stratforge(
        "data", "import", "-f", "contracts_dir", "-r", "ES", str(tmp_path / "no"), env_extra=env
    )
    assert_one_line_error(missing, "does not exist")


def test_cli_imports_headerless_files_of_a_foreign_root(tmp_path: Path) -> None:
    """FGBL is quoted in EUR: importing stores prices as quoted and needs no FX source; files
    without a header line are read by position (--no-header --columns), as `run` reads them."""
    env = {"STRATFORGE_DATA_DIR": str(tmp_path / "cli-data")}
    folder = tmp_path / "bund"
    folder.mkdir()
    for code, start in (("FGBLH24", "2023-12-01"), ("FGBLM24", "2024-03-01")):
        index = pd.bdate_range(start, periods=30)
        close = 130 + np.linspace(0, 2, len(index))
        rows = pd.DataFrame(
            {"d": index.strftime("%Y-%m-%d"), "o": close, "h": close + 0.1, "l": close - 0.1}
        )
        rows["c"], rows["v"] = close, 100
        rows.to_csv(folder / f"{code}.csv", index=False, header=False)
    layout = ["--no-header", "--columns", "0=datetime,1=open,2=high,3=low,4=close,5=volume"]
    imported = stratforge(
        "data", "import", "-f", "contracts_dir", "-r", "FGBL", str(folder), *layout,
        env_extra=env,
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    assert "FGBL from contracts_dir: 2 added" in imported.stdout
    rows = json.loads(stratforge("data", "list", "FGBL", "--json", env_extra=env).stdout)
    assert [r["contract"] for r in rows] == ["FGBLH2024", "FGBLM2024"]
    headerless = stratforge(
        "data", "import", "-f", "contracts_dir", "-r", "FGBL", str(folder), env_extra=env
    )
    assert_one_line_error(headerless, "missing column(s)")


def test_the_api_imports_files_under_the_data_roots(
    api_settings: Settings, client: object, tmp_path: Path
) -> None:
    from fastapi.testclient import TestClient

    assert isinstance(client, TestClient)
    outside = write_contracts(tmp_path / "elsewhere", ES_MONTHS, 4700)
    body = {"format": "contracts_dir", "root": "ES", "paths": [str(outside)]}
    refused = client.post("/api/v1/markets/import", json=body)
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "paths"]
    assert str(outside) not in refused.text

    inside = write_contracts(api_settings.data_dir / "files" / "es", ES_MONTHS, 4700)
    body["paths"] = [str(inside)]
    created = client.post("/api/v1/markets/import", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["added"] == ["ESH2024", "ESM2024"]
    again = client.post("/api/v1/markets/import", json=body)
    assert again.status_code == 200 and again.json()["unchanged"] == ["ESH2024", "ESM2024"]

    write_contracts(inside, {"ESM2024": ES_MONTHS["ESM2024"]}, 5000)
    conflict = client.post("/api/v1/markets/import", json=body)
    assert conflict.status_code == 409 and "ESM2024" in conflict.json()["detail"]
    replaced = client.post("/api/v1/markets/import", json={**body, "replace": True})
    assert replaced.status_code == 201 and replaced.json()["replaced"] == ["ESM2024"]

    unknown = client.post("/api/v1/markets/import", json={**body, "format": "nope"})
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["body", "format"]
    assert [m["root"] for m in client.get("/api/v1/markets").json()] == ["ES"]


VENDOR_PLUGIN = '''
import datetime as dt

from stratforge import hookimpl
from stratforge.futures.contracts import ContractSpec
from stratforge.futures.importer import load_contract_dir
from stratforge.plugin.params import FilePath


def vendor_dir(*, path: FilePath, expiry: str = "2024-03-14", contract: ContractSpec | None = None):
    """Per-contract CSVs with the vendor's own last trade date for the first month.

    Args:
        path: the folder
        expiry: the first month's last trade date
    """
    chain = load_contract_dir(path, contract)
    chain.expiries[chain.contracts()[0]] = dt.date.fromisoformat(expiry)
    return chain


@hookimpl
def register_data_sources(register):
    register(vendor_dir, name="vendor_dir")
'''


def test_a_sources_last_trade_dates_are_kept(
    tmp_path: Path, settings: Settings, session: Session, write_plugin
) -> None:
    """A vendor's expiry for a month is stored with it and comes back in the catalog's chain;
    a revised expiry is a change (refused without replace)."""
    vendor = Plugins.load(
        settings.model_copy(update={"plugins_dirs": [write_plugin("vendor", VENDOR_PLUGIN)]})
    )
    folder = write_contracts(tmp_path / "es", ES_MONTHS, 4700)
    import_market(session, plugins=vendor, source="vendor_dir", root="ES", paths=[folder])
    assert [r.expiry for r in list_market_contracts(session)] == [dt.date(2024, 3, 14), None]
    chain = MarketCatalog(settings.data_dir).chain(vendor.registries.contracts.get("ES"))
    assert {c.format("full"): d for c, d in chain.expiries.items()} == {
        "ESH2024": dt.date(2024, 3, 14)
    }
    assert all(not frame.attrs for frame in chain.frames.values())
    with pytest.raises(ValueError, match="ESH2024 is already in the market catalog"):
        import_market(
            session,
            plugins=vendor,
            source="vendor_dir",
            root="ES",
            paths=[folder],
            args={"expiry": "2024-03-13"},
        )


def test_a_failed_commit_puts_the_files_back(
    tmp_path: Path,
    settings: Settings,
    local_plugins: Plugins,
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = write_contracts(tmp_path / "es", {"ESH2024": ES_MONTHS["ESH2024"]}, 4700)
    import_market(session, plugins=local_plugins, source="contracts_dir", root="ES", paths=[folder])
    stored = settings.data_dir / "markets" / "ES" / "ESH2024.parquet"
    before = stored.read_bytes()
    write_contracts(folder, ES_MONTHS, 5000)  # a revised ESH2024 and a new ESM2024

    def fail() -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(session, "commit", fail)
    with pytest.raises(RuntimeError, match="went away"):
        import_market(
            session,
            plugins=local_plugins,
            source="contracts_dir",
            root="ES",
            paths=[folder],
            replace=True,
        )
    assert stored_files(settings) == ["ES/ESH2024.parquet"] and stored.read_bytes() == before
