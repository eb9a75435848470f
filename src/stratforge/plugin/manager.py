"""The plugin manager factory and the registries it fills.

Load order: hook specifications, the built-in plugins (registered exactly like third-party
ones), entry points of group ``stratforge``, then ``*.py`` files of the plugin directories.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass, fields
from importlib.metadata import version as dist_version
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import backtrader as bt
import pluggy

from stratforge.futures.contracts import ContractSpec
from stratforge.plugin import hookspecs
from stratforge.plugin.registry import Registry, RegistryError, did_you_mean
from stratforge.risk.guard import RiskRule

if TYPE_CHECKING:
    from stratforge.core.settings import Settings

BUILTIN_PLUGINS = (
    "stratforge.strategies",
    "stratforge.indicators",
    "stratforge.sizers",
    "stratforge.analyzers",
    "stratforge.data.sources",
    "stratforge.futures.specs",
    "stratforge.futures.rolls",
    "stratforge.optimizers",
    "stratforge.risk",
    "stratforge.report.panels",
)


class PluginLoadError(RuntimeError):
    """A plugin could not be imported or registered."""


def _subclass_of(base: type) -> Callable[[object], str | None]:
    def check(obj: object) -> str | None:
        if isinstance(obj, type) and issubclass(obj, base):
            return None
        return f"{obj!r} is not a subclass of {base.__module__}.{base.__qualname__}"

    return check


def _instance_of(cls: type) -> Callable[[object], str | None]:
    def check(obj: object) -> str | None:
        return None if isinstance(obj, cls) else f"{obj!r} is not a {cls.__qualname__}"

    return check


def _callable(obj: object) -> str | None:
    return None if callable(obj) else f"{obj!r} is not callable"


@dataclass
class Registries:
    """One typed registry per kind; each field name is the hook suffix."""

    strategies: Registry[type[bt.Strategy]]
    indicators: Registry[type[bt.Indicator]]
    sizers: Registry[type[bt.Sizer]]
    analyzers: Registry[type[bt.Analyzer]]
    data_sources: Registry[Callable[..., Any]]
    contracts: Registry[ContractSpec]
    roll_rules: Registry[Callable[..., Any]]
    optimizers: Registry[Callable[..., Any]]
    risk_rules: Registry[type[RiskRule]]
    report_panels: Registry[Callable[..., Any]]

    @classmethod
    def empty(cls) -> Registries:
        return cls(
            strategies=Registry("strategy", _subclass_of(bt.Strategy)),
            indicators=Registry("indicator", _subclass_of(bt.Indicator)),
            sizers=Registry("sizer", _subclass_of(bt.Sizer)),
            analyzers=Registry("analyzer", _subclass_of(bt.Analyzer)),
            data_sources=Registry("data source", _callable),
            contracts=Registry("contract", _instance_of(ContractSpec)),
            roll_rules=Registry("roll rule", _callable),
            optimizers=Registry("optimizer", _callable),
            risk_rules=Registry("risk rule", _subclass_of(RiskRule)),
            report_panels=Registry("report panel", _callable),
        )

    def by_kind(self) -> dict[str, Registry[Any]]:
        """Registries keyed by hook suffix (``strategies``, ``indicators``, ...)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def kind(self, name: str) -> Registry[Any]:
        """A registry by plural (``strategies``) or singular (``strategy``) name."""
        for plural, registry in self.by_kind().items():
            if name in (plural, registry.kind, registry.kind.replace(" ", "_")):
                return registry
        raise KeyError(f"unknown kind {name!r}; kinds: {', '.join(self.by_kind())}")


def get_plugin_manager(settings: Settings) -> pluggy.PluginManager:
    """A new plugin manager with every enabled plugin loaded."""
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    for blocked in settings.blocked_plugins:
        pm.set_blocked(blocked)
    for module_name in BUILTIN_PLUGINS:
        if not pm.is_blocked(module_name):
            pm.register(importlib.import_module(module_name), name=module_name)
    if not settings.disable_plugin_autoload:
        _load_entry_points(pm)
    for directory in settings.plugins_dirs:
        _load_directory(pm, Path(directory))
    _check_pending(pm)
    return pm


def _check_pending(pm: pluggy.PluginManager) -> None:
    """A hook implementation without a specification (a misspelled ``register_strategie``)
    would be ignored without a word: fail loading instead, naming the plugin and the hook."""
    known = sorted(name for name in vars(hookspecs) if name.startswith(("register_", "configure_")))
    for name in sorted(vars(pm.hook)):
        caller = getattr(pm.hook, name)
        if name.startswith("_") or not hasattr(caller, "has_spec") or caller.has_spec():
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
        pm.load_setuptools_entrypoints(hookspecs.PROJECT_NAME)
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


def plugin_versions(pm: pluggy.PluginManager) -> dict[str, str | None]:
    """Plugin name -> version: the distribution's for entry points, stratforge's for built-ins."""
    versions: dict[str, str | None] = {}
    own: str | None = dist_version("stratforge")
    for name, _plugin in pm.list_name_plugin():
        versions[name] = own if name in BUILTIN_PLUGINS else None
    for plugin, dist in pm.list_plugin_distinfo():
        registered_name = pm.get_name(plugin)
        if registered_name is not None:
            versions[registered_name] = dist.version
    return versions


def load_registries(pm: pluggy.PluginManager) -> Registries:
    """Call every ``register_<plural>`` hook, recording which plugin gave what."""
    registries = Registries.empty()
    versions = plugin_versions(pm)
    for plural, registry in registries.by_kind().items():
        caller = getattr(pm.hook, f"register_{plural}")
        for impl in caller.get_hookimpls():  # registration order: built-ins first
            register = registry.bind(impl.plugin_name, versions.get(impl.plugin_name))
            try:
                impl.function(register=register)
            except RegistryError:
                raise  # duplicates and bad items already name the plugins involved
            except Exception as exc:  # the plugin's own code failed: say which plugin
                raise PluginLoadError(
                    f"plugin {impl.plugin_name!r} failed in register_{plural}: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
    return registries


@dataclass
class Plugins:
    """A loaded plugin manager with its filled registries: what the engine needs."""

    manager: pluggy.PluginManager
    registries: Registries
    versions: dict[str, str | None]

    @classmethod
    def load(cls, settings: Settings) -> Plugins:
        pm = get_plugin_manager(settings)
        return cls(pm, load_registries(pm), plugin_versions(pm))
