"""Loading plugins into a pluggy manager, and filling one registry per kind from them.

Generic machinery: the hook specifications, the built-in plugins and the kinds come from the
caller (``stratforge.core.plugins`` composes them). Load order: hook specifications, the
built-in plugins (registered exactly like third-party ones), entry points of group
``stratforge``, then ``*.py`` files of the plugin directories.
"""

from __future__ import annotations

import contextvars
import importlib
import importlib.util
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from stratforge.plugin.hookspecs import PROJECT_NAME
from stratforge.plugin.kinds import Kind
from stratforge.plugin.registry import Registry, RegistryError, did_you_mean


class PluginError(RuntimeError):
    """Code of a plugin failed; the message names the plugin and the hook."""


class PluginLoadError(PluginError):
    """A plugin could not be imported or registered."""


@dataclass(frozen=True)
class LoadOptions:
    """Which plugins to load, besides the built-ins."""

    blocked: Sequence[str] = ()
    autoload: bool = True
    """Load the entry points of group ``stratforge`` (installed plugin packages)."""
    directories: Sequence[Path] = ()
    """Folders whose ``*.py`` files are plugins (a project's, or ``--plugins-dir``)."""


def new_plugin_manager(
    *, hookspecs: Iterable[ModuleType | type], builtins: Sequence[str], options: LoadOptions
) -> pluggy.PluginManager:
    """A new plugin manager with every enabled plugin loaded and every hook known."""
    pm = pluggy.PluginManager(PROJECT_NAME)
    for spec in hookspecs:
        pm.add_hookspecs(spec)
    for blocked in options.blocked:
        pm.set_blocked(blocked)
    for module_name in builtins:
        if not pm.is_blocked(module_name):
            pm.register(importlib.import_module(module_name), name=module_name)
    if options.autoload:
        _load_entry_points(pm)
    for directory in options.directories:
        _load_directory(pm, Path(directory))
    _check_pending(pm)
    _name_the_plugin_in_errors(pm)
    return pm


def _check_pending(pm: pluggy.PluginManager) -> None:
    """A hook implementation without a specification (a misspelled ``register_strategie``)
    would be ignored without a word: fail loading instead, naming the plugin and the hook."""
    callers = {name: getattr(pm.hook, name) for name in vars(pm.hook) if not name.startswith("_")}
    known = sorted(name for name, caller in callers.items() if caller.has_spec())
    for name, caller in sorted(callers.items()):
        if caller.has_spec():
            continue
        for impl in caller.get_hookimpls():
            if not impl.optionalhook:
                raise PluginLoadError(
                    f"plugin {impl.plugin_name!r} implements {name!r}, which is not a "
                    f"stratforge hook; {did_you_mean(name, known)}"
                )
    pm.check_pending()  # pluggy's own check, for anything the loop above does not cover


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    try:
        pm.load_setuptools_entrypoints(PROJECT_NAME)
    except Exception as exc:  # a broken third-party plugin must name itself
        raise PluginLoadError(f"loading entry points of group 'stratforge' failed: {exc}") from exc


def _load_directory(pm: pluggy.PluginManager, directory: Path) -> None:
    if not directory.is_dir():
        raise PluginLoadError(f"plugins directory {str(directory)!r} does not exist")
    for path in sorted(directory.glob("*.py")):
        name = path.stem
        if name.startswith("_") or pm.is_blocked(name):
            continue
        if pm.has_plugin(name):
            raise PluginLoadError(f"plugin name {name!r} from {path} is already in use")
        pm.register(_import_file(path), name=name)


def _import_file(path: Path) -> ModuleType:
    module_name = f"stratforge_local_plugins.{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise PluginLoadError(f"cannot import plugin file {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(module_name, None)
        raise PluginLoadError(f"plugin file {path} failed to import: {exc}") from exc
    return module


def plugin_versions(pm: pluggy.PluginManager, builtins: Sequence[str]) -> dict[str, str | None]:
    """Plugin name -> version: the distribution's for entry points, stratforge's for built-ins."""
    from importlib.metadata import version as dist_version  # not for `stratforge --help`

    versions: dict[str, str | None] = {}
    own: str | None = dist_version("stratforge")
    for name, _plugin in pm.list_name_plugin():
        versions[name] = own if name in builtins else None
    for plugin, dist in pm.list_plugin_distinfo():
        registered_name = pm.get_name(plugin)
        if registered_name is not None:
            versions[registered_name] = dist.version
    return versions


_CALLING: contextvars.ContextVar[str] = contextvars.ContextVar("stratforge_calling_plugin")


def fill_registries(
    pm: pluggy.PluginManager, kinds: Iterable[Kind], versions: dict[str, str | None]
) -> dict[str, Registry[Any]]:
    """One registry per kind, filled by calling its ``register_<plural>`` hook.

    The hook is called through pluggy's caller (so its ordering and wrappers apply); what
    each plugin registers is recorded under its name and added in load order, built-ins
    first, so a ``replace=True`` override always lands on the entry it replaces."""
    registries: dict[str, Registry[Any]] = {}
    order = [name for name, _plugin in pm.list_name_plugin()]
    for kind in kinds:
        registry: Registry[Any] = Registry(kind.singular, kind.check)
        calls: dict[str, list[tuple[tuple[Any, ...], dict[str, Any]]]] = {}

        def register(*args: Any, _calls: dict[str, list[Any]] = calls, **kwargs: Any) -> Any:
            _calls.setdefault(_CALLING.get(), []).append((args, kwargs))
            return args[0] if args else kwargs.get("obj")

        getattr(pm.hook, kind.hook_name)(register=register)
        for plugin in sorted(calls, key=order.index):
            bound = registry.bind(plugin, versions.get(plugin))
            for args, kwargs in calls[plugin]:
                bound(*args, **kwargs)
        registries[kind.plural] = registry
    return registries


def _name_the_plugin_in_errors(pm: pluggy.PluginManager) -> None:
    """Wrap each hook implementation once: it runs knowing which plugin it is (so what it
    registers is attributed to it), and an exception from the plugin's own code comes out
    naming the plugin and the hook. (pluggy calls ``impl.function`` with the hook's
    arguments by position; wrappers are generators and are left as they are.)"""
    for name in vars(pm.hook):
        caller = getattr(pm.hook, name)
        if name.startswith("_") or not caller.has_spec():
            continue
        for impl in caller.get_hookimpls():
            if not (impl.hookwrapper or impl.wrapper):
                impl.function = _attributed(impl.function, impl.plugin_name, name)


def _attributed(function: Callable[..., Any], plugin: str, hook: str) -> Callable[..., Any]:
    failure = PluginLoadError if hook.startswith("register_") else PluginError

    def call(*args: Any) -> Any:
        with _calling(plugin):
            try:
                return function(*args)
            except (RegistryError, PluginError):
                raise  # these already name the plugins involved
            except Exception as exc:  # the plugin's own code failed: say which plugin
                raise failure(
                    f"plugin {plugin!r} failed in {hook}: {type(exc).__name__}: {exc}"
                ) from exc

    return call


@contextmanager
def _calling(plugin: str) -> Iterator[None]:
    token = _CALLING.set(plugin)
    try:
        yield
    finally:
        _CALLING.reset(token)
