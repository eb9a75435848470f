"""``stratforge init``: start a project folder whose plugins live next to the user's work,
and where each listed plugin came from (``stratforge plugins``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from stratforge.cli.common import out, user_errors

if TYPE_CHECKING:
    from stratforge.core.plugins import Plugins
    from stratforge.core.settings import Settings

LOCAL_PLUGIN_PREFIX = "stratforge_local_plugins."
"""Module-name prefix the loader gives ``*.py`` files of plugin directories."""


def init_command(
    directory: Annotated[Path, typer.Argument(help="Folder of the new project (created).")],
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Write into a non-empty folder, replacing files of the template's names "
            "(an existing pyproject.toml is kept; the table goes into stratforge.toml).",
        ),
    ] = False,
) -> None:
    """Create a project: pyproject.toml naming its plugin folders, and one worked example
    strategy, indicator and analyzer."""
    from stratforge.core.project import create_project

    with user_errors():
        written = create_project(directory, force=force)
    out.print(f"created a stratforge project in {directory}", soft_wrap=True, highlight=False)
    for path in written:
        shown = path.relative_to(directory).as_posix()
        out.print(f"  wrote {shown}", soft_wrap=True, highlight=False)
    out.print(
        f"next: cd {directory} && stratforge plugins --kind strategies && "
        "stratforge run -s my_momentum --analyzer my_streaks",
        soft_wrap=True,
        highlight=False,
    )


def plugin_origins(plugins: Plugins, settings: Settings) -> dict[str, str]:
    """Plugin name -> where it came from: its file for a directory plugin (relative to the
    project root when inside it), ``built-in``, or the distribution of an entry point.

    A project's folders are loaded implicitly by walking up from the working directory, so
    listings must show which file each name comes from.
    """
    root = settings.project_file.parent if settings.project_file else None
    dists = {
        plugins.manager.get_name(plugin): f"entry point ({dist.project_name})"
        for plugin, dist in plugins.manager.list_plugin_distinfo()
    }
    origins: dict[str, str] = {}
    for name, module in plugins.manager.list_name_plugin():
        module_name = getattr(module, "__name__", "")
        path = getattr(module, "__file__", None)
        if module_name.startswith(LOCAL_PLUGIN_PREFIX) and path:
            origins[name] = _shown_path(Path(path), root)
        elif name in dists:
            origins[name] = dists[name]
        elif module_name.startswith("stratforge."):
            origins[name] = "built-in"
        else:
            origins[name] = module_name or "-"
    return origins


def _shown_path(path: Path, root: Path | None) -> str:
    absolute = path.resolve()
    if root is not None and absolute.is_relative_to(root):
        return absolute.relative_to(root).as_posix()
    return str(absolute)
