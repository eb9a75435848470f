"""The ``stratforge`` command: a thin adapter over ``stratforge.core``.

Each command group is a module of its own (``run``, ``plugins``, ``data``, ``futures``,
``serve``, ``optimize``, ``report``, ``project``, ``cache``); this one assembles them onto
``app``, in the order ``stratforge --help`` lists them. Bad input ends with one line on stderr and
exit code 2, never a traceback (``cli.common.user_errors``).
"""

from __future__ import annotations

import typer

from stratforge.cli import cache, data, futures, optimize, plugins, project, report, run, serve
from stratforge.cli.common import app, err, main_options, out, user_errors

__all__ = ["app", "err", "main", "out", "user_errors"]

app.callback()(main_options)
app.command("run")(run.run)
app.command("check-lookahead")(run.check_lookahead_command)
app.command("plugins")(plugins.plugins)
app.command("contracts")(plugins.contracts)
app.command("serve")(serve.serve)
app.command("optimize")(optimize.optimize_command)
app.command("walkforward")(optimize.walkforward_command)
app.command("report")(report.report)
app.command("init")(project.init_command)

data_app = typer.Typer(
    help="Inspect and validate market data files; import them into the market catalog.",
    no_args_is_help=True,
)
data_app.command("validate")(data.validate)
data_app.command("import")(data.import_command)
data_app.command("list")(data.list_command)
app.add_typer(data_app, name="data")

futures_app = typer.Typer(
    help="Futures: continuous series from contract months.", no_args_is_help=True
)
futures_app.command("build")(futures.build)
app.add_typer(futures_app, name="futures")

cache_app = typer.Typer(
    help="The result cache: identical runs served from stored ones.", no_args_is_help=True
)
cache_app.command("info")(cache.info_command)
cache_app.command("clear")(cache.clear_command)
app.add_typer(cache_app, name="cache")


def main() -> None:
    """Console-script entry point."""
    app()
