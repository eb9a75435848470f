"""What every command shares: the typer ``app``, the consoles, the global options and the
one way bad input ends (one line on stderr, exit code 2, never a traceback).

Commands live in their own modules and are wired onto ``app`` in ``stratforge.cli``. (This
module is not called ``app`` so that ``stratforge.cli.app`` is always the Typer object.)
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import pydantic
import typer
from rich.console import Console
from rich.markup import escape

from stratforge.core.errors import SpecError, describe_validation_error
from stratforge.core.plugins import PluginLoadError, Plugins
from stratforge.core.settings import Settings, get_settings
from stratforge.data import DataValidationError
from stratforge.plugin.registry import RegistryError

USAGE_ERROR = 2
app = typer.Typer(
    help="stratforge: plugin-based backtesting on backtrader.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
# Piped output (logs, CI, other programs) is not limited to 80 columns.
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)

_USER_ERRORS = (
    SpecError,
    DataValidationError,
    PluginLoadError,
    RegistryError,
    OSError,
    ValueError,
)


class _State:
    settings: Settings | None = None


_state = _State()


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn bad-input exceptions into one line on stderr and exit code 2."""
    try:
        yield
    except pydantic.ValidationError as exc:
        fail(describe_validation_error(exc))
    except _USER_ERRORS as exc:
        fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)


def fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(USAGE_ERROR)


def current_settings() -> Settings:
    """The settings with the global options applied."""
    return _state.settings or get_settings()


def load_plugins() -> Plugins:
    return Plugins.load(current_settings())


def main_options(
    plugins_dir: Annotated[
        list[Path] | None,
        typer.Option("--plugins-dir", help="Extra directory of *.py plugins (repeatable)."),
    ] = None,
) -> None:
    """Global options shared by every command."""
    base = get_settings()
    if plugins_dir:
        _state.settings = base.model_copy(
            update={"plugins_dirs": [*base.plugins_dirs, *plugins_dir]}
        )
    else:
        _state.settings = base
