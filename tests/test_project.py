"""Project folders: discovery walking up from the working directory, the errors a bad table
gives, the settings that carry a project to Ray workers, ``stratforge init``, and this
repository's own worked examples (strategies/, indicators/, analyzers/)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from stratforge.core.engine import run_backtest
from stratforge.core.plugins import Plugins
from stratforge.core.project import (
    Project,
    ProjectError,
    create_project,
    find_project,
    load_project,
    template_files,
)
from stratforge.core.settings import Settings
from stratforge.core.spec import RunSpec
from tests.optimize_helpers import local_ray as start_local_ray

ROOT = Path(__file__).resolve().parents[1]
TABLE = '[tool.stratforge]\nplugins = ["strategies", "indicators"]\n'
STRATEGY = '''
import backtrader as bt
from stratforge import hookimpl


class Always(bt.Strategy):
    """Long one unit from the first bar."""

    def next(self):
        if not self.position:
            self.buy(size=1)


@hookimpl
def register_strategies(register):
    register(Always, name="always_long")
'''


def make_project(root: Path, table: str = TABLE, file: str = "pyproject.toml") -> Path:
    """A project at *root* with empty strategies/ and indicators/ folders."""
    (root / "strategies").mkdir(parents=True)
    (root / "indicators").mkdir()
    (root / file).write_text(table, encoding="utf-8")
    return root


def stratforge(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The real console command, run in *cwd* (project discovery starts there)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("STRATFORGE_PROJ")}
    return subprocess.run(
        [sys.executable, "-m", "stratforge", *args],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=cwd,
        env={**environment, **env},
        check=False,
    )


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.fixture(autouse=True)
def _no_project_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the developer's shell says, these tests choose discovery themselves."""
    for name in ("STRATFORGE_PROJECT", "STRATFORGE_PROJECT_DIR"):
        monkeypatch.delenv(name, raising=False)


# --- discovery ---------------------------------------------------------------------------


def test_found_from_any_subfolder_with_absolute_plugin_folders(tmp_path: Path) -> None:
    root = make_project(tmp_path / "proj")
    deep = root / "research" / "2024" / "notes"
    deep.mkdir(parents=True)
    project = find_project(deep)
    assert project == Project(
        root=root.resolve(),
        config_file=(root / "pyproject.toml").resolve(),
        plugin_dirs=((root / "strategies").resolve(), (root / "indicators").resolve()),
    )
    assert all(folder.is_absolute() for folder in project.plugin_dirs)
    assert find_project(root / "pyproject.toml") == project  # a file: its folder


def test_stratforge_toml_is_the_table_at_its_top_level(tmp_path: Path) -> None:
    root = make_project(tmp_path, 'plugins = ["indicators"]\n', file="stratforge.toml")
    project = find_project(root / "strategies")
    assert project is not None and project.config_file.name == "stratforge.toml"
    assert project.plugin_dirs == ((root / "indicators").resolve(),)


def test_a_pyproject_without_the_table_is_passed_over(tmp_path: Path) -> None:
    """A package inside a project (its own pyproject.toml, no [tool.stratforge]) is not a
    project: the search goes on to the project above it."""
    root = make_project(tmp_path)
    package = root / "packages" / "mylib"
    package.mkdir(parents=True)
    (package / "pyproject.toml").write_text('[project]\nname = "mylib"\n', encoding="utf-8")
    project = find_project(package)
    assert project is not None and project.root == root.resolve()


def test_the_nearest_project_wins(tmp_path: Path) -> None:
    make_project(tmp_path)
    inner = make_project(tmp_path / "inner", 'plugins = ["strategies"]\n', "stratforge.toml")
    project = find_project(inner / "strategies")
    assert project is not None and project.root == inner.resolve()


def test_no_project_is_none(tmp_path: Path) -> None:
    assert find_project(tmp_path) is None


def test_relative_shows_paths_inside_the_root_relative(tmp_path: Path) -> None:
    project = load_project(make_project(tmp_path) / "pyproject.toml")
    assert project.relative(tmp_path / "strategies" / "mine.py") == "strategies/mine.py"
    assert project.relative("/elsewhere/x.py") == "/elsewhere/x.py"


@pytest.mark.parametrize(
    ("file", "text", "fragment"),
    [
        (
            "pyproject.toml",
            "[tool.stratforge]\nplugins = 'strategies'\n",
            "[tool.stratforge] plugins: expected a list of folders, got a string ('strategies')",
        ),
        (
            "pyproject.toml",
            '[tool.stratforge]\nplugins = ["strategies", "nope"]\n',
            "[tool.stratforge] plugins: folder 'nope' does not exist",
        ),
        (
            "pyproject.toml",
            "[tool.stratforge]\nplugins = [3]\n",
            "[tool.stratforge] plugins: expected folder names, got 3",
        ),
        (
            "pyproject.toml",
            '[tool.stratforge]\nplugins = ["strategies", "strategies/"]\n',
            "[tool.stratforge] plugins: folder 'strategies/' is listed twice",
        ),
        (
            "pyproject.toml",
            '[tool.stratforge]\nplugin = ["strategies"]\n',
            "[tool.stratforge] plugin: unknown key; did you mean 'plugins'",
        ),
        (
            "pyproject.toml",
            "[tool]\nstratforge = 1\n",
            "[tool.stratforge] must be a table, got a number (1)",
        ),
        ("pyproject.toml", "[tool.stratforge\n", "not valid TOML"),
        (
            "stratforge.toml",
            "plugins = {a = 1}\n",
            "plugins: expected a list of folders, got a dict",
        ),
    ],
)
def test_a_bad_table_is_an_error_naming_the_file_and_key(
    tmp_path: Path, file: str, text: str, fragment: str
) -> None:
    make_project(tmp_path, text, file)
    with pytest.raises(ProjectError) as info:
        find_project(tmp_path / "strategies")
    message = str(info.value)
    assert message.startswith(f"{(tmp_path / file).resolve()}: "), message
    assert fragment in message


def test_both_files_in_one_folder_is_an_error(tmp_path: Path) -> None:
    make_project(tmp_path)
    (tmp_path / "stratforge.toml").write_text('plugins = ["strategies"]\n', encoding="utf-8")
    with pytest.raises(ProjectError, match="keep one of them"):
        find_project(tmp_path)


# --- settings ----------------------------------------------------------------------------


def test_settings_find_the_project_of_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_project(tmp_path / "proj")
    extra = tmp_path / "extra"
    extra.mkdir()
    (root / "notebooks").mkdir()
    monkeypatch.chdir(root / "notebooks")
    settings = Settings(plugins_dirs=[extra, root / "strategies"])
    assert settings.project_file == (root / "pyproject.toml").resolve()
    # project folders first, then plugins_dirs; a folder given twice is loaded once
    assert settings.plugin_directories == [
        (root / "strategies").resolve(),
        (root / "indicators").resolve(),
        extra,
    ]


def test_discovery_is_switched_off_by_stratforge_project_0(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(make_project(tmp_path))
    monkeypatch.setenv("STRATFORGE_PROJECT", "0")
    settings = Settings()
    assert settings.project is False and settings.project_file is None
    assert settings.plugin_directories == []


def test_project_dir_starts_the_search_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_project(tmp_path / "proj")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STRATFORGE_PROJECT_DIR", str(root / "strategies"))
    assert Settings().project_file == (root / "pyproject.toml").resolve()


def test_a_worker_keeps_the_drivers_project_whatever_its_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Settings travel to Ray workers as JSON: the folders found by the driver, absolute,
    are used as they are; the worker's own working directory plays no part."""
    driver = make_project(tmp_path / "driver")
    other = make_project(tmp_path / "other", 'plugins = ["indicators"]\n', "stratforge.toml")
    monkeypatch.chdir(driver / "strategies")
    sent = Settings(plugins_dirs=[Path("../indicators")]).model_dump_json()
    monkeypatch.chdir(other)
    received = Settings.model_validate_json(sent)
    assert received.project_file == (driver / "pyproject.toml").resolve()
    assert received.plugin_directories == [
        (driver / "strategies").resolve(),
        (driver / "indicators").resolve(),  # the relative --plugins-dir, sent absolute
    ]
    monkeypatch.chdir(tmp_path)  # a driver outside any project...
    nothing = Settings().model_dump_json()
    monkeypatch.chdir(other)  # ...has workers that load none, even inside one
    assert Settings.model_validate_json(nothing).plugin_directories == []


def test_a_bad_project_file_is_raised_where_plugins_are_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Settings are made before any command runs; the error waits for plugin loading, which
    reports bad input as one line (the CLI's user errors)."""
    monkeypatch.chdir(make_project(tmp_path, "[tool.stratforge]\nplugins = 'x'\n"))
    settings = Settings()
    with pytest.raises(ProjectError, match="plugins: expected a list"):
        settings.plugin_directories  # noqa: B018
    with pytest.raises(ProjectError, match="plugins: expected a list"):
        Plugins.load(settings)


def test_project_plugins_are_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project(tmp_path)
    (root / "strategies" / "always.py").write_text(STRATEGY, encoding="utf-8")
    monkeypatch.chdir(root / "indicators")
    entry = Plugins.load(Settings()).registries.strategies.entry("always_long")
    assert entry.plugin == "always"
    monkeypatch.setenv("STRATFORGE_PROJECT", "0")
    assert "always_long" not in Plugins.load(Settings()).registries.strategies


# --- stratforge init ---------------------------------------------------------------------


def test_the_template_ships_in_the_package() -> None:
    assert set(template_files()) == {
        "README.md",
        "pyproject.toml",
        "strategies/my_strategy.py",
        "indicators/my_indicator.py",
        "analyzers/my_analyzer.py",
    }


def test_init_then_a_real_backtest_through_the_cli(tmp_path: Path) -> None:
    proc = stratforge("init", "My Backtests", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    root = tmp_path / "My Backtests"
    assert "wrote strategies/my_strategy.py" in proc.stdout
    assert 'name = "my-backtests"' in (root / "pyproject.toml").read_text(encoding="utf-8")
    assert "stratforge run" in (root / "README.md").read_text(encoding="utf-8")
    work = root / "results"
    work.mkdir()

    listed = stratforge("plugins", "--json", cwd=work)
    assert listed.returncode == 0, listed.stderr
    rows = {(r["kind"], r["name"]): r for r in json.loads(listed.stdout)}
    assert rows["strategy", "my_momentum"]["plugin"] == "my_strategy"
    assert rows["strategy", "my_momentum"]["origin"] == "strategies/my_strategy.py"
    assert rows["indicator", "my_change"]["params"] == {"period": 20}
    assert ("analyzer", "my_streaks") in rows

    run = stratforge(
        "run", "-s", "my_momentum", "-p", "lookback=30", "--analyzer", "my_streaks",
        "-a", "bars=500", "--json", cwd=work,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["spec"]["strategy"] == {"name": "my_momentum", "params": {"lookback": "30"}}
    assert result["metrics"]["trades"] > 0
    streaks = result["analyzers"]["my_streaks"]
    assert streaks["trades"] == result["metrics"]["trades"] and streaks["wins"] >= 1

    spec = {
        "strategy": {"name": "my_momentum"},
        "data": {"args": {"bars": 300}},
        "indicators": [{"name": "my_change", "params": {"period": 10}}],
    }
    (work / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
    with_indicator = stratforge("run", "--spec", "spec.json", "--json", cwd=work)
    assert with_indicator.returncode == 0, with_indicator.stderr
    records = json.loads(with_indicator.stdout)["indicators"]
    (indicator,) = [r for r in records if r["indicator"] == "MyChange"]
    assert len(indicator["lines"]["change"]) == 300

    outside = stratforge("run", "-s", "my_momentum", "-a", "bars=300", cwd=tmp_path)
    assert "unknown strategy 'my_momentum'" in one_line_error(outside)


def test_init_refuses_a_non_empty_folder_without_force(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    refused = stratforge("init", ".", cwd=tmp_path)
    assert "is not empty; use --force" in one_line_error(refused)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]

    forced = stratforge("init", ".", "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine"
    project = find_project(tmp_path)
    assert project is not None and project.config_file.name == "pyproject.toml"


def test_init_keeps_an_existing_pyproject(tmp_path: Path) -> None:
    """A user's pyproject.toml may package their code: it is left alone and the table goes
    into stratforge.toml instead."""
    mine = '[project]\nname = "mine"\n'
    (tmp_path / "pyproject.toml").write_text(mine, encoding="utf-8")
    written = create_project(tmp_path, force=True)
    assert tmp_path / "stratforge.toml" in written
    assert (tmp_path / "pyproject.toml").read_text(encoding="utf-8") == mine
    project = find_project(tmp_path / "strategies")
    assert project is not None and project.config_file.name == "stratforge.toml"
    assert [p.name for p in project.plugin_dirs] == ["strategies", "indicators", "analyzers"]


def test_init_refuses_a_folder_that_is_a_project_already(tmp_path: Path) -> None:
    make_project(tmp_path)
    with pytest.raises(ProjectError, match=r"already has a \[tool.stratforge\] table"):
        create_project(tmp_path, force=True)


def test_a_bad_project_is_one_line_on_the_command_line(tmp_path: Path) -> None:
    make_project(tmp_path, '[tool.stratforge]\nplugins = ["strategies", "gone"]\n')
    line = one_line_error(stratforge("plugins", cwd=tmp_path / "strategies"))
    assert "pyproject.toml: [tool.stratforge] plugins: folder 'gone' does not exist" in line
    assert stratforge("plugins", cwd=tmp_path, STRATFORGE_PROJECT="0").returncode == 0


# --- this repository's worked examples ---------------------------------------------------


@pytest.fixture
def repository(monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings as a command started in the repository gets them."""
    monkeypatch.chdir(ROOT / "docs")
    return Settings()


def test_the_repository_is_a_project_with_three_example_folders(repository: Settings) -> None:
    assert repository.project_file == ROOT / "pyproject.toml"
    assert repository.plugin_directories == [
        ROOT / "strategies",
        ROOT / "indicators",
        ROOT / "analyzers",
    ]
    registries = Plugins.load(repository).registries
    assert registries.strategies.entry("atr_trend").plugin == "atr_trend"
    assert registries.indicators.entry("efficiency_ratio").plugin == "efficiency_ratio"
    assert registries.analyzers.entry("contracts_held").plugin == "contracts_held"


def test_plugin_origins_name_the_file_of_each_directory_plugin(repository: Settings) -> None:
    from stratforge.cli.project import plugin_origins

    origins = plugin_origins(Plugins.load(repository), repository)
    assert origins["atr_trend"] == "strategies/atr_trend.py"
    assert origins["contracts_held"] == "analyzers/contracts_held.py"
    assert origins["stratforge.strategies"] == "built-in"
    assert origins["example"] == "entry point (stratforge-example)"


def test_the_futures_example_trades_a_rolled_es_chain_through_the_cli() -> None:
    proc = stratforge(
        "run", "-s", "atr_trend", "--root", "ES", "-a", "bars=750", "--cash", "1000000",
        "--analyzer", "contracts_held", "--json", cwd=ROOT / "strategies",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    metrics, held = result["metrics"], result["analyzers"]["contracts_held"]
    assert metrics["trades"] > 0 and metrics["rolls"] > 0
    assert held["rolls"] == metrics["rolls"] == len(result["rolls"])
    assert held["roll_commission"] == pytest.approx(sum(r["commission"] for r in result["rolls"]))
    assert [c["contract"] for c in held["contracts"]][:2] == [
        result["rolls"][0]["from_contract"],
        result["rolls"][0]["to_contract"],
    ]
    legs = result["strategy_info"]["roll_legs"]  # the strategy heard of both legs of each roll
    assert len(legs) == 2 * metrics["rolls"]
    assert {leg["contract"] for leg in legs} <= {c["contract"] for c in held["contracts"]}
    assert all(abs(leg["size"]) >= 1 and leg["size"] == int(leg["size"]) for leg in legs)


def test_the_futures_example_skips_a_trend_it_cannot_size_once(repository: Settings) -> None:
    spec = RunSpec.model_validate(
        {
            "strategy": {"name": "atr_trend"},
            "data": {"root": "ES", "args": {"bars": 400}},
            "cash": 100_000,
        }
    )
    result = run_backtest(spec, plugins=Plugins.load(repository))
    assert result.metrics.trades == 0 and result.risk_events
    assert {e.action for e in result.risk_events} == {"skipped"}
    assert "risk budget buys" in result.risk_events[0].reason
    days = [e.datetime for e in result.risk_events]
    assert len(days) == len(set(days)) < 10  # once per trend, not every bar


def test_the_indicator_example_is_an_efficiency_ratio(repository: Settings) -> None:
    spec = RunSpec.model_validate(
        {
            "strategy": {"name": "atr_trend", "params": {"fast": 10, "slow": 40}},
            "data": {"root": "ES", "args": {"bars": 300}},
            "indicators": [{"name": "efficiency_ratio", "params": {"period": 10}}],
            "cash": 1_000_000,
        }
    )
    result = run_backtest(spec, plugins=Plugins.load(repository))
    (record,) = [r for r in result.indicators if r.indicator == "EfficiencyRatio"]
    values = [v for v in record.lines["er"] if v is not None]
    assert len(values) == 300 - 10 and all(0.0 <= v <= 1.0 for v in values)
    assert record.subplot is True


def test_plugins_and_their_origins_still_list() -> None:
    """From a subfolder, each directory plugin shows its file relative to the project root."""
    proc = stratforge("plugins", "--json", cwd=ROOT / "docs")
    assert proc.returncode == 0, proc.stderr
    origins = {r["name"]: r["origin"] for r in json.loads(proc.stdout)}
    assert origins["atr_trend"] == "strategies/atr_trend.py"
    assert origins["efficiency_ratio"] == "indicators/efficiency_ratio.py"
    assert origins["contracts_held"] == "analyzers/contracts_held.py"
    assert origins["sma_cross"] == "built-in"
    assert origins["zscore_reversion"] == "entry point (stratforge-example)"
    table = stratforge("plugins", "--kind", "strategies", cwd=ROOT)
    assert table.returncode == 0, table.stderr
    assert "origin" in table.stdout and "strategies/atr_trend.py" in table.stdout


# --- Ray ---------------------------------------------------------------------------------


@pytest.fixture
def local_ray() -> Iterator[None]:
    """A local Ray started from the repository root: its workers' working directory is that
    of the process that started it (a different project from the one under test)."""
    with start_local_ray(num_cpus=1):
        yield


def _working_directory() -> str:
    return os.getcwd()


@pytest.mark.slow
def test_project_plugins_reach_a_ray_worker_in_another_folder(
    local_ray: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ray

    from stratforge.core.executors import RayExecutor
    from stratforge.core.optimize import OptimizeSpec, optimize

    root = tmp_path / "proj"
    create_project(root)
    monkeypatch.chdir(root / "strategies")
    settings = Settings()
    assert settings.project_file == (root / "pyproject.toml").resolve()

    worker_cwd = ray.get(ray.remote(_working_directory).remote())
    assert not Path(worker_cwd).resolve().is_relative_to(root.resolve())

    spec = OptimizeSpec.model_validate(
        {
            "base": {"strategy": {"name": "my_momentum"}, "data": {"args": {"bars": 300}}},
            "space": {"lookback": {"kind": "int", "start": 10, "stop": 30, "step": 10}},
            "executor": "ray",
            "pbo_blocks": 4,
        }
    )
    result = optimize(
        spec, plugins=Plugins.load(settings), executor=RayExecutor(workers=1, settings=settings)
    )
    assert result.failed == 0 and result.completed == 3, [t.error for t in result.trials]
    assert {t.params["lookback"] for t in result.trials} == {10, 20, 30}
