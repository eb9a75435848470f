"""What every command shares: the typer ``app``, the consoles, the global options and the
one way bad input ends (one line on stderr, exit code 2, never a traceback).

Commands live in their own modules and are wired onto ``app`` in ``stratforge.cli``. (This
module is not called ``app`` so that ``stratforge.cli.app`` is always the Typer object.)

Nothing here imports the engine, pydantic or the settings at import time: ``--help`` must
answer at once (tests/test_cli_imports.py), so each is imported where first needed.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from stratforge.core.errors import SpecError
from stratforge.plugin.manager import PluginLoadError
from stratforge.plugin.registry import RegistryError

if TYPE_CHECKING:
    from rich.console import Console

    from stratforge.core.plugins import Plugins
    from stratforge.core.settings import Settings

USAGE_ERROR = 2
HELP_OPTIONS: dict[str, Any] = {
    # Plain click help: typer's rich help imports rich's markdown, syntax and traceback
    # modules, nearly doubling what --help takes (0.12 -> 0.21 s of CPU, bench/cli.py).
    "rich_markup_mode": None,
    "context_settings": {"max_content_width": 100},
}
app = typer.Typer(
    help="stratforge: plugin-based backtesting on backtrader.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    **HELP_OPTIONS,
)


class LazyConsole:
    """A rich ``Console`` made on first use: importing rich.console costs a tenth of what
    ``--help`` may take, and only commands that print need it."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    @property
    def console(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return self._console

    def print(self, *objects: Any, **options: Any) -> None:
        self.console.print(*objects, **options)


# Piped output (logs, CI, other programs) is not limited to 80 columns.
out = LazyConsole(width=None if sys.stdout.isatty() else 160)
err = LazyConsole(stderr=True)

# Data validation errors are ValueErrors too (stratforge.data.DataValidationError).
_USER_ERRORS = (
    SpecError,
    PluginLoadError,
    RegistryError,
    OSError,
    ValueError,
)


class _State:
    plugins_dirs: list[Path] | None = None
    settings: Settings | None = None
    console_process = False


_state = _State()


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn bad-input exceptions into one line on stderr and exit code 2."""
    try:
        yield
    except _USER_ERRORS as exc:
        fail(user_error_message(exc))


def user_error_message(exc: Exception) -> str:
    """One line for a bad-input exception: a pydantic error names its first bad field."""
    import pydantic  # a ValidationError is a ValueError: told apart only once one is raised

    from stratforge.core.errors import describe_validation_error

    if isinstance(exc, pydantic.ValidationError):
        return describe_validation_error(exc)
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def fail(message: str) -> None:
    from rich.markup import escape

    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(USAGE_ERROR)


def current_settings() -> Settings:
    """The settings with the global options applied (read on first use, not by the callback:
    ``stratforge CMD --help`` runs the callback and needs no settings)."""
    if _state.settings is None:
        from stratforge.core.settings import get_settings

        base = get_settings()
        extra = _state.plugins_dirs
        _state.settings = (
            base.model_copy(update={"plugins_dirs": [*base.plugins_dirs, *extra]})
            if extra
            else base
        )
    return _state.settings


def load_plugins() -> Plugins:
    with imports_without_gc():
        from stratforge.core.plugins import Plugins

        return Plugins.load(current_settings())


@contextmanager
def imports_without_gc() -> Iterator[None]:
    """Import the engine and the plugins with the cyclic collector paused.

    Importing numpy, pandas, backtrader and the plugins allocates a few hundred thousand
    objects that nearly all live on; the collector's passes over them, during the imports
    and at every later full collection, cost a fifth of a short run. In the console
    script's own process (``console_process``) they are then frozen (``gc.freeze``: later
    collections skip them), with the few thousand import-time garbage objects (a few
    hundred kB, once). Elsewhere (the app called in-process, as tests do) the collector is
    only paused, so a long-lived caller's garbage is never frozen.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if _state.console_process:
                gc.freeze()
            gc.enable()


def console_process() -> None:
    """Called by the console script: the process is the one command's own (however long it
    runs), so freezing what the imports left costs nothing later."""
    _state.console_process = True


def main_options(
    plugins_dir: Annotated[
        list[Path] | None,
        typer.Option("--plugins-dir", help="Extra directory of *.py plugins (repeatable)."),
    ] = None,
) -> None:
    """Global options shared by every command."""
    _state.plugins_dirs = plugins_dir  # each invocation starts from a fresh settings read
    _state.settings = None
