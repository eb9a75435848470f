"""What the command line imports: ``--help`` must answer at once, and a backtest must not
pay for libraries it does not use (scipy, scikit-learn, optuna, Ray, the web and store
stacks). Each check runs in a fresh interpreter, where ``sys.modules`` shows every import.

Timings are not asserted here (they depend on the machine): ``bench/cli.py`` measures them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

HEAVY_FOR_HELP = (
    "backtrader",
    "pandas",
    "numpy",
    "scipy",
    "sklearn",
    "ray",
    "fastapi",
    "sqlmodel",
    "sqlalchemy",
    "bokeh",
    "optuna",
    "stratforge.core.engine",
    "stratforge.core.plugins",
    "stratforge.client",
    "httpx",
)
"""Nothing of the engine, nor the libraries under it, for ``--help`` (nor the client that
``--server`` uses)."""

UNUSED_BY_A_BACKTEST = (
    "scipy",
    "sklearn",
    "optuna",
    "ray",
    "fastapi",
    "uvicorn",
    "sqlmodel",
    "sqlalchemy",
    "alembic",
    "bokeh",
    "databento_dbn",
    "stratforge.core.optimize",
    "stratforge.jobs",
    "stratforge.store",
    "stratforge.client",
    "httpx",
)
"""A plain run loads every installed plugin (the report panels among them, without bokeh);
none of these may come with them."""

# Runs the real typer app in-process, as the console script does, then reports which
# top-level modules (and stratforge packages) were imported and what was printed.
_PROBE = """
import contextlib, io, json, sys

from stratforge.cli import app

printed = io.StringIO()
codes = []
for args in {commands!r}:
    with contextlib.redirect_stdout(printed):
        try:
            app(args, prog_name="stratforge")
        except SystemExit as exc:
            codes.append(exc.code)
names = set(sys.modules)
names |= {{name.split(".")[0] for name in names}}
json.dump({{"modules": sorted(names), "codes": codes, "out": printed.getvalue()}}, sys.stdout)
"""


def probe(*commands: list[str]) -> dict[str, object]:
    """Run these stratforge command lines in one fresh interpreter."""
    source = textwrap.dedent(_PROBE).format(commands=[list(c) for c in commands])
    proc = subprocess.run(
        [sys.executable, "-c", source],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout)
    return result


def test_importing_the_cli_imports_no_engine() -> None:
    source = "import json, sys, stratforge.cli; json.dump(sorted(sys.modules), sys.stdout)"
    proc = subprocess.run(
        [sys.executable, "-c", source], capture_output=True, text=True, timeout=120, check=True
    )
    modules = set(json.loads(proc.stdout))
    assert "stratforge.cli" in modules
    assert not modules & set(HEAVY_FOR_HELP)


def test_help_answers_without_the_engine() -> None:
    result = probe(["--help"], ["plugins", "--help"], ["run", "--help"])
    modules = set(result["modules"])  # type: ignore[call-overload]
    assert not modules & set(HEAVY_FOR_HELP), sorted(modules & set(HEAVY_FOR_HELP))
    assert result["codes"] == [0, 0, 0]
    out = str(result["out"])
    # the help is still the whole help: every command, with its summary and options
    for command in ("run", "check-lookahead", "plugins", "optimize", "data", "futures"):
        assert f"  {command} " in out
    words = " ".join(out.split())  # help is wrapped to the terminal's width
    assert "exit 1 if it used later bars" in words  # summaries are whole, not cut off
    assert "Only this kind (strategies, indicators, ...)" in words  # plugins --help
    assert "--data-arg" in out and "[default: sma_cross]" in out  # run --help


def test_the_python_api_names_load_on_first_use() -> None:
    source = (
        "import sys, stratforge\n"
        "assert 'stratforge.core.engine' not in sys.modules\n"
        "from stratforge import RunResult, RunSpec, run_backtest, hookimpl\n"
        "import stratforge.core.engine as engine\n"
        "assert run_backtest is engine.run_backtest and stratforge.RunSpec is RunSpec\n"
        "assert {'RunSpec', 'run_backtest', 'RunResult'} <= set(dir(stratforge))\n"
        "try:\n    stratforge.no_such_name\nexcept AttributeError:\n    pass\n"
        "else:\n    raise SystemExit('no AttributeError')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", source], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr


def test_a_backtest_loads_no_unused_library() -> None:
    result = probe(["run", "--data-arg", "bars=300", "--json"])
    modules = set(result["modules"])  # type: ignore[call-overload]
    assert result["codes"] == [0]
    run = json.loads(str(result["out"]))
    assert run["metrics"]["bars"] == 300  # it really ran, with every plugin registered
    assert {"backtrader", "pandas", "stratforge.core.engine"} <= modules
    assert not modules & set(UNUSED_BY_A_BACKTEST), sorted(modules & set(UNUSED_BY_A_BACKTEST))


def test_listing_plugins_imports_none_of_their_heavy_libraries() -> None:
    result = probe(["plugins", "--json"])
    listed = {(row["kind"], row["name"]) for row in json.loads(str(result["out"]))}
    # registered (and their parameters described) without importing optuna or sklearn
    assert {("optimizer", "optuna"), ("strategy", "ml_classifier")} <= listed
    modules = set(result["modules"])  # type: ignore[call-overload]
    assert not modules & {"optuna", "sklearn", "scipy", "bokeh", "ray"}


def test_the_console_script_freezes_what_its_imports_left() -> None:
    """Only the console script's own process freezes the imported objects (gc.freeze); the
    app called in-process (as by tests) pauses the collector and leaves nothing frozen."""
    source = textwrap.dedent(
        """
        import contextlib, gc, io, json, sys
        from stratforge import cli

        args = ["run", "--data-arg", "bars=300", "--json"]
        seen = []
        for call in (lambda: cli.app(args), lambda: cli.main()):
            sys.argv = ["stratforge", *args]
            with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
                call()
            seen.append([gc.isenabled(), gc.get_freeze_count()])
        json.dump(seen, sys.stdout)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", source], capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr
    (in_process, console) = json.loads(proc.stdout)
    assert in_process == [True, 0]
    assert console[0] is True and console[1] > 100_000  # numpy, pandas, backtrader, plugins
