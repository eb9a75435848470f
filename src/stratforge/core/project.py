"""Project folders: a directory tree whose plugins live next to the user's own work.

A project is marked by a ``[tool.stratforge]`` table in ``pyproject.toml``, or by a
``stratforge.toml`` file whose top level is that same table::

    [tool.stratforge]
    plugins = ["strategies", "indicators", "analyzers"]   # folders, relative to the file

Any stratforge process started inside the tree (its working directory or any subfolder)
finds the nearest such file walking up and loads the ``*.py`` files of those folders as
plugins. Discovery is explicit (a file the user wrote says which folders) and visible
(``stratforge plugins`` shows each plugin's file); a bad table is an error naming the file
and the key, never a silently ignored folder.

``create_project`` writes a new project from the templates shipped in
``stratforge/core/project_template`` (``stratforge init``).
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from stratforge.plugin.registry import did_you_mean

STRATFORGE_TOML = "stratforge.toml"
PYPROJECT_TOML = "pyproject.toml"
CONFIG_FILES = (STRATFORGE_TOML, PYPROJECT_TOML)
"""Looked for in each folder, in this order, from the start folder up to the file system root."""

KEYS = ("plugins",)
"""The keys a project table may hold; any other is refused (a typo must not go unnoticed)."""

TEMPLATE_PACKAGE = "stratforge.core"
TEMPLATE_DIR = "project_template"
TEMPLATE_SUFFIX = ".tmpl"
"""Template files end in ``.tmpl`` so that no tool (ruff, mypy, pytest, hatch's Python
handling, ruff's config lookup of a ``pyproject.toml``) treats them as part of stratforge."""


class ProjectError(ValueError):
    """A project file cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Project:
    """A project found on disk: its root folder, the file marking it, its plugin folders."""

    root: Path
    config_file: Path
    plugin_dirs: tuple[Path, ...]

    def relative(self, path: Path | str) -> str:
        """*path* relative to the project root when inside it (what a user recognises in
        listings), else absolute."""
        absolute = Path(path).resolve()
        try:
            return absolute.relative_to(self.root).as_posix()
        except ValueError:
            return str(absolute)


def find_project(start: Path | str | None = None) -> Project | None:
    """The nearest project at or above *start* (default: the working directory), or None.

    A ``pyproject.toml`` without a ``[tool.stratforge]`` table does not mark a project, so
    the search goes on above it (a package inside a larger project is not a project itself).
    """
    here = Path.cwd() if start is None else Path(start).expanduser()
    here = here.resolve()
    if here.is_file():
        here = here.parent
    for folder in (here, *here.parents):
        found = _project_in(folder)
        if found is not None:
            return found
    return None


def load_project(config_file: Path | str) -> Project:
    """The project marked by *config_file* (a ``stratforge.toml`` or a ``pyproject.toml``
    with ``[tool.stratforge]``); ProjectError when it marks none or its table is bad."""
    path = Path(config_file).expanduser().resolve()
    table = _stratforge_table(path)
    if table is None:
        raise ProjectError(f"{path}: no [tool.stratforge] table")
    return _project(path, table)


def _project_in(folder: Path) -> Project | None:
    tables: dict[Path, dict[str, Any]] = {}
    for name in CONFIG_FILES:
        path = folder / name
        if path.is_file():
            table = _stratforge_table(path)
            if table is not None:
                tables[path] = table
    if len(tables) > 1:
        raise ProjectError(
            f"{folder}: both {STRATFORGE_TOML} and {PYPROJECT_TOML} [tool.stratforge] configure "
            "stratforge; keep one of them"
        )
    for path, table in tables.items():
        return _project(path, table)
    return None


def _stratforge_table(path: Path) -> dict[str, Any] | None:
    """The stratforge table of *path*: all of a ``stratforge.toml``, the ``[tool.stratforge]``
    of a ``pyproject.toml`` (None when it has none)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ProjectError(f"{path}: not valid TOML: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectError(f"{path}: cannot be read: {exc}") from exc
    if path.name != PYPROJECT_TOML:
        return data
    tool = data.get("tool")
    if not isinstance(tool, dict) or "stratforge" not in tool:
        return None
    table = tool["stratforge"]
    if not isinstance(table, dict):
        raise ProjectError(f"{path}: [tool.stratforge] must be a table, got {_kind(table)}")
    return table


def _project(path: Path, table: dict[str, Any]) -> Project:
    prefix = "[tool.stratforge] " if path.name == PYPROJECT_TOML else ""
    for key in table:
        if key not in KEYS:
            raise ProjectError(
                f"{path}: {prefix}{key}: unknown key; {did_you_mean(key, list(KEYS))}"
            )
    folders = table.get("plugins", [])
    where = f"{path}: {prefix}plugins"
    if not isinstance(folders, list):
        raise ProjectError(f"{where}: expected a list of folders, got {_kind(folders)}")
    resolved: list[Path] = []
    for item in folders:
        if not isinstance(item, str) or not item.strip():
            raise ProjectError(f"{where}: expected folder names, got {item!r}")
        folder = (path.parent / item).resolve()
        if not folder.is_dir():
            raise ProjectError(f"{where}: folder {item!r} does not exist ({folder})")
        if folder in resolved:
            raise ProjectError(f"{where}: folder {item!r} is listed twice")
        resolved.append(folder)
    return Project(root=path.parent, config_file=path, plugin_dirs=tuple(resolved))


def _kind(value: object) -> str:
    names = {str: "a string", int: "a number", float: "a number", bool: "a boolean"}
    return names.get(type(value), f"a {type(value).__name__}") + f" ({value!r})"


# --- stratforge init ---------------------------------------------------------------------


def project_name(folder: Path) -> str:
    """A valid distribution name from a folder name (``My Backtests`` -> ``my-backtests``)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", folder.resolve().name).strip("-._").lower()
    return name or "stratforge-project"


def template_files() -> dict[str, str]:
    """The new project's files: relative path -> text (``{{name}}`` not yet filled in)."""
    root = resources.files(TEMPLATE_PACKAGE).joinpath(TEMPLATE_DIR)
    files: dict[str, str] = {}

    def walk(node: Any, prefix: str) -> None:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            if child.is_dir():
                walk(child, f"{prefix}{child.name}/")
            elif child.name.endswith(TEMPLATE_SUFFIX):
                relative = prefix + child.name.removesuffix(TEMPLATE_SUFFIX)
                files[relative] = child.read_text(encoding="utf-8")

    walk(root, "")
    return files


def create_project(folder: Path, *, force: bool = False) -> list[Path]:
    """Write a new project into *folder* (created if missing) and return the files written.

    A non-empty folder is refused unless *force*: then files of the same names are replaced,
    except an existing ``pyproject.toml``, which is the user's own (its packaging may matter)
    and is left alone, the table going into ``stratforge.toml`` instead.
    """
    folder = folder.expanduser()
    if folder.exists() and not folder.is_dir():
        raise ProjectError(f"{folder} exists and is not a folder")
    if folder.is_dir() and any(folder.iterdir()) and not force:
        raise ProjectError(f"{folder} is not empty; use --force to write the project into it")
    name = project_name(folder)
    files = {path: text.replace("{{name}}", name) for path, text in template_files().items()}
    existing = folder / PYPROJECT_TOML
    if existing.is_file():
        if _stratforge_table(existing) is not None:
            raise ProjectError(f"{existing} already has a [tool.stratforge] table")
        files[STRATFORGE_TOML] = _standalone_table(files.pop(PYPROJECT_TOML))
    written: list[Path] = []
    for relative, text in files.items():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written


def _standalone_table(pyproject_text: str) -> str:
    """The template's ``[tool.stratforge]`` table as a ``stratforge.toml`` (top level)."""
    table = tomllib.loads(pyproject_text)["tool"]["stratforge"]
    lines = ["# stratforge project: plugin folders, relative to this file."]
    lines += [f"{key} = {json.dumps(value)}" for key, value in table.items()]  # TOML-compatible
    return "\n".join(lines) + "\n"
