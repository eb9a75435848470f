"""The real console command in a subprocess: output, files and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ohlc_frame
from tests.test_plugin_manager import DIR_PLUGIN


def stratforge(*args: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "stratforge", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def assert_one_line_error(proc: subprocess.CompletedProcess, fragment: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert fragment in lines[0]


def test_run_prints_summary() -> None:
    proc = stratforge("run", "--data-arg", "bars=500")
    assert proc.returncode == 0, proc.stderr
    assert "sma_cross on synthetic" in proc.stdout
    assert "total return" in proc.stdout and "sharpe" in proc.stdout


def test_run_shows_each_markets_bars_for_a_portfolio(tmp_path: Path) -> None:
    """Two roots whose data end on different days (a CME one and a Eurex one, EUR FX):
    the summary gives each market's own bar count and dates, not the first one's alone."""
    chain = {"source": "synthetic", "roll": {"name": "volume"}, "adjust": "difference"}
    spec = {
        "cash": 500_000,
        "data": [
            {**chain, "root": "ES", "args": {"bars": 750}},
            {**chain, "root": "FESX", "args": {"bars": 500, "seed": 5}},
        ],
        "fx_rates": {"EUR": {"source": "synthetic", "args": {"bars": 900, "price": 1.1}}},
        "strategy": {"name": "sma_cross", "params": {"fast": 10, "slow": 40}},
    }
    path = tmp_path / "portfolio.json"
    path.write_text(json.dumps(spec))
    proc = stratforge("run", "--spec", str(path))
    assert proc.returncode == 0, proc.stderr
    rows = {
        line.split("│")[1].strip(): line.split("│")[2].strip()
        for line in proc.stdout.splitlines()
        if line.count("│") == 3
    }
    assert rows["bars ES"] == "750 (2015-01-02 to 2017-12-21)"
    assert rows["bars FESX"] == "500 (2015-01-02 to 2016-12-14)"
    assert "bars" not in rows


def test_run_json_and_out_file(tmp_path: Path) -> None:
    target = tmp_path / "result.json"
    proc = stratforge(
        "run", "-s", "rsi_reversion", "-a", "bars=400", "--json", "--out", str(target)
    )
    assert proc.returncode == 0, proc.stderr
    printed = json.loads(proc.stdout)
    assert printed["spec"]["strategy"]["name"] == "rsi_reversion"
    assert json.loads(target.read_text())["metrics"] == printed["metrics"]


def test_run_the_example_plugin_strategy() -> None:
    proc = stratforge("run", "-s", "zscore_reversion", "-p", "entry=1.5", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["provenance"]["plugins"]["example"] == "0.3.0"


def test_run_from_csv(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    ohlc_frame([10.0 + (i % 7) for i in range(120)]).to_csv(path)
    proc = stratforge("run", "--csv", str(path), "-p", "fast=3", "-p", "slow=8", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["provenance"]["data_bars"] == 120


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("run", "-s", "sma_corss"), "did you mean 'sma_cross'"),
        (("run", "-p", "fsat=3"), "strategy.params.fsat: unknown parameter; did you mean 'fast'?"),
        (("run", "-p", "fast=abc"), "strategy.params.fast: 'abc' is not an integer"),
        (("run", "-p", "fast"), "--param: expected name=value"),
        (("run", "--cash", "-5"), "cash: Input should be greater than 0"),
        (("run", "--csv", "/no/such/file.csv"), "/no/such/file.csv"),
        (("run", "--analyzer", "sharp"), "analyzers[0].name"),
        (("plugins", "--kind", "gadgets"), "unknown kind 'gadgets'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: tuple[str, ...], fragment: str) -> None:
    assert_one_line_error(stratforge(*args), fragment)


def test_run_with_bad_rows_errors_or_drops(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    frame = ohlc_frame([10.0 + (i % 7) for i in range(120)])
    frame.iloc[50, frame.columns.get_loc("volume")] = -5.0
    frame.to_csv(path)
    assert_one_line_error(stratforge("run", "--csv", str(path)), "row 52: negative volume")
    proc = stratforge("run", "--csv", str(path), "--on-bad-rows", "drop", "-p", "slow=20", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["provenance"]["data_bars"] == 119


def test_unknown_option_is_usage_error() -> None:
    proc = stratforge("run", "--no-such-option")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


def test_plugins_lists_example_plugin() -> None:
    proc = stratforge("plugins", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = {(r["kind"], r["name"]): r for r in json.loads(proc.stdout)}
    row = rows[("strategy", "zscore_reversion")]
    assert row["plugin"] == "example" and row["version"] == "0.3.0"
    assert row["params"]["entry"] == 2.0
    assert ("indicator", "zscore") in rows and ("analyzer", "position_time") in rows
    assert rows[("data source", "csv")]["params"]["path"] is None


def test_plugins_table_and_plugins_dir(tmp_path: Path) -> None:
    directory = tmp_path / "plugins"
    directory.mkdir()
    (directory / "holder.py").write_text(DIR_PLUGIN)
    proc = stratforge("--plugins-dir", str(directory), "plugins", "--kind", "strategies")
    assert proc.returncode == 0, proc.stderr
    assert "hold_forever" in proc.stdout and "sma_cross" in proc.stdout
    run = stratforge("--plugins-dir", str(directory), "run", "-s", "hold_forever", "--json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["metrics"]["exposure"] > 0.9


def test_broken_plugin_dir_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("raise RuntimeError('boom')\n")
    assert_one_line_error(stratforge("--plugins-dir", str(tmp_path), "plugins"), "bad.py")


def test_data_validate_good_and_bad(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    frame = ohlc_frame([10.0, 11.0, 12.0, 11.0])
    frame.to_csv(good)
    proc = stratforge("data", "validate", str(good))
    assert proc.returncode == 0, proc.stderr
    assert "4 valid bars" in proc.stdout

    bad = tmp_path / "bad.csv"
    frame.iloc[2, frame.columns.get_loc("high")] = 1.0  # high below low on the third row
    frame.to_csv(bad)
    assert_one_line_error(stratforge("data", "validate", str(bad)), "bad.csv")
    dropped = stratforge("data", "validate", str(bad), "--on-bad-rows", "drop")
    assert dropped.returncode == 0, dropped.stderr
    assert "3 valid bars" in dropped.stdout and "dropped 1 bad rows" in dropped.stdout
