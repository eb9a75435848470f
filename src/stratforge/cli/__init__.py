"""The ``stratforge`` command: a thin adapter over ``stratforge.core``.

Each command group is a module of its own (``run``, ``plugins``, ``data``, ``futures``,
``serve``, ``optimize``, ``report``, ``project``, ``cache``, ``mcp``); this one assembles them onto
``app``, in the order ``stratforge --help`` lists them. Bad input ends with one line on stderr and
exit code 2, never a traceback (``cli.common.user_errors``).

Importing this package imports no engine, pandas or backtrader: the command modules import
those inside their commands, so ``--help`` answers at once (tests/test_cli_imports.py).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import typer

from stratforge.cli import (
    cache,
    data,
    futures,
    mcp,
    optimize,
    plugins,
    project,
    report,
    run,
    serve,
)
from stratforge.cli.common import (
    HELP_OPTIONS,
    app,
    console_process,
    err,
    main_options,
    out,
    user_errors,
)

__all__ = ["app", "err", "main", "out", "user_errors"]


def summary(command: Callable[..., Any]) -> str:
    """A command's first docstring paragraph, whole: the list in ``--help`` wraps it where
    click's own short help would cut it at the terminal width."""
    paragraph = (inspect.getdoc(command) or "").split("\n\n")[0]
    return " ".join(paragraph.split())


def add_commands(group: typer.Typer, commands: dict[str, Callable[..., Any]]) -> None:
    for name, command in commands.items():
        group.command(name, short_help=summary(command))(command)


def sub_app(help: str) -> typer.Typer:
    return typer.Typer(help=help, short_help=help, no_args_is_help=True, **HELP_OPTIONS)


app.callback()(main_options)
add_commands(
    app,
    {
        "run": run.run,
        "check-lookahead": run.check_lookahead_command,
        "plugins": plugins.plugins,
        "contracts": plugins.contracts,
        "serve": serve.serve,
        "optimize": optimize.optimize_command,
        "walkforward": optimize.walkforward_command,
        "report": report.report,
        "init": project.init_command,
    },
)

data_app = sub_app("Inspect and validate market data files; import them into the market catalog.")
add_commands(
    data_app,
    {"validate": data.validate, "import": data.import_command, "list": data.list_command},
)
app.add_typer(data_app, name="data")

futures_app = sub_app("Futures: continuous series from contract months.")
add_commands(futures_app, {"build": futures.build})
app.add_typer(futures_app, name="futures")

cache_app = sub_app("The result cache: identical runs served from stored ones.")
add_commands(cache_app, {"info": cache.info_command, "clear": cache.clear_command})
app.add_typer(cache_app, name="cache")

app.add_typer(mcp.mcp_app, name="mcp")


def main() -> None:
    """Console-script entry point (and ``python -m stratforge``)."""
    console_process()
    app()
