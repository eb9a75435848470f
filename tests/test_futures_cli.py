"""Futures from the command line and the per-contract file importer."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from stratforge.core.load import continuous_series
from stratforge.core.plugins import Plugins
from stratforge.core.resolve import resolve_data
from stratforge.core.spec import DataSpec
from stratforge.futures import ContractCodeError
from stratforge.futures.importer import contract_from_name, load_contract_dir
from tests.futures_helpers import HELD_INTO_EXPIRY
from tests.test_cli import assert_one_line_error, stratforge


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ESZ23.csv", "ESZ23"),
        ("ES 2023-12.parquet", "ESZ23"),
        ("es_trade_201312.csv", "ESZ13"),
        ("SP500_20231200.csv", "ESZ23"),
        ("ESZ2023.csv", "ESZ23"),
    ],
)
def test_contract_from_file_name(name: str, expected: str) -> None:
    assert contract_from_name(name, "ES").code == expected


def test_unrecognised_file_name_explains_the_fix() -> None:
    with pytest.raises(ContractCodeError, match="contract_column"):
        contract_from_name("prices.csv", "ES")


def write_synthetic_chain(plugins: Plugins, directory: Path, bars: int = 400) -> DataSpec:
    spec = DataSpec.model_validate({"source": "synthetic", "root": "ES", "args": {"bars": bars}})
    resolved = resolve_data(spec, plugins.registries)
    chain = resolved.source.obj(**resolved.source.params, contract=resolved.contract)
    directory.mkdir()
    for contract, frame in chain.frames.items():
        frame.to_csv(directory / f"{contract.format('full')}.csv")
    return spec


def test_directory_import_matches_the_source_chain(plugins: Plugins, tmp_path: Path) -> None:
    directory = tmp_path / "es"
    spec = write_synthetic_chain(plugins, directory)
    original = continuous_series(resolve_data(spec, plugins.registries))
    imported_spec = spec.model_copy(
        update={"source": "contracts_dir", "args": {"path": str(directory)}}
    )
    imported = continuous_series(resolve_data(imported_spec, plugins.registries))
    pd.testing.assert_frame_equal(original.frame, imported.frame, check_freq=False)
    pd.testing.assert_frame_equal(original.rolls, imported.rolls)


def test_contract_column_import(plugins: Plugins, tmp_path: Path) -> None:
    directory = tmp_path / "es"
    write_synthetic_chain(plugins, directory, bars=200)
    frames = []
    for file in sorted(directory.glob("*.csv")):
        frame = pd.read_csv(file)
        frame["symbol"] = file.stem
        frames.append(frame)
    combined = tmp_path / "all"
    combined.mkdir()
    pd.concat(frames).to_csv(combined / "everything.csv", index=False)
    spec = plugins.registries.contracts.get("ES")
    chain = load_contract_dir(combined, spec, contract_column="symbol")
    assert sorted(c.code for c in chain.frames) == sorted(
        f.stem[:3] + f.stem[-2:] for f in directory.glob("*.csv")
    )


def test_futures_build_from_a_directory(plugins: Plugins, tmp_path: Path) -> None:
    directory = tmp_path / "es"
    write_synthetic_chain(plugins, directory)
    out = tmp_path / "es.parquet"
    rolls = tmp_path / "rolls.csv"
    proc = stratforge(
        "futures",
        "build",
        "ES",
        "--contracts",
        str(directory),
        "--roll",
        "volume",
        "--adjust",
        "difference",
        "--out",
        str(out),
        "--rolls-out",
        str(rolls),
    )
    assert proc.returncode == 0, proc.stderr
    assert "rolls (volume, difference)" in proc.stdout
    frame = pd.read_parquet(out)
    assert {"contract", "raw_close", "close"} <= set(frame.columns)
    assert frame["close"].iloc[-1] == frame["raw_close"].iloc[-1]
    table = pd.read_csv(rolls)
    assert list(table.columns)[:3] == ["date", "from_contract", "to_contract"]
    assert len(table) == frame["contract"].nunique() - 1


def test_futures_build_errors_are_one_line(tmp_path: Path) -> None:
    assert_one_line_error(
        stratforge("futures", "build", "ES", "--contracts", str(tmp_path / "missing")),
        "does not exist",
    )
    assert_one_line_error(
        stratforge("futures", "build", "ES", "--synthetic", "300", "--roll", "volumee"),
        "did you mean 'volume'",
    )
    assert_one_line_error(stratforge("futures", "build", "ES"), "--contracts")


def test_run_a_futures_strategy_from_the_cli() -> None:
    proc = stratforge(
        "run",
        "--root",
        "ES",
        "--roll",
        "volume",
        "--adjust",
        "difference",
        "-p",
        "fast=10",
        "-p",
        "slow=40",
        "-a",
        "bars=600",
        "--cash",
        "200000",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["rolls"] and all(r["cost"] > 0 for r in result["rolls"])
    assert all(o["contract"].startswith("ES") for o in result["orders"])
    table = stratforge(
        "run", "--root", "ES", "--roll", "volume", "-a", "bars=600", "--cash", "200000"
    )
    assert "Roll events" in table.stdout and "Fills in real contracts" in table.stdout


def test_contracts_command_lists_specs() -> None:
    proc = stratforge("contracts", "--json")
    assert proc.returncode == 0, proc.stderr
    roots = {row["root"]: row for row in json.loads(proc.stdout)}
    assert {"ES", "NQ", "CL", "GC", "ZB", "6E", "FESX"} <= set(roots)
    assert roots["ES"]["multiplier"] == 50 and roots["ES"]["tick_value"] == 12.5


def test_run_shows_a_position_settled_at_expiry(tmp_path: Path) -> None:
    """ESZ15 held to its last trade date, the run's end: settled in cash."""
    spec = HELD_INTO_EXPIRY
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    result = json.loads(stratforge("run", "--spec", str(path), "--json").stdout)
    (event,) = result["settlements"]
    assert (event["datetime"], event["contract"], event["settlement"]) == (
        "2015-12-18T00:00:00",
        "ESZ15",
        "cash",
    )
    assert event["size"] == result["equity"]["position"][-2] != 0
    assert result["equity"]["position"][-1] == 0  # settled, margin released
    assert result["equity"]["cash"][-1] == result["equity"]["value"][-1]
    table = stratforge("run", "--spec", str(path)).stdout
    assert "Settled at expiry (1)" in table and "ESZ15" in table
