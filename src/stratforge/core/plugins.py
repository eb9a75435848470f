"""The one module that composes stratforge's plugin system from its parts: each package's
hook specifications and kinds, the built-in plugins, and the typed registries the engine
reads. The plugin floor below (``stratforge.plugin``) stays generic; everything that names
a domain type is composed here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

import backtrader as bt
import pluggy

from stratforge.core import hooks as engine_hooks
from stratforge.core.settings import Settings
from stratforge.data import hooks as data_hooks
from stratforge.futures import hooks as futures_hooks
from stratforge.futures.contracts import ContractSpec
from stratforge.plugin.kinds import Kind
from stratforge.plugin.manager import (
    LoadOptions,
    PluginLoadError,
    fill_registries,
    new_plugin_manager,
    plugin_versions,
)
from stratforge.plugin.registry import Registry
from stratforge.risk import hooks as risk_hooks
from stratforge.risk.guard import RiskRule

__all__ = ["BUILTIN_PLUGINS", "HOOKSPECS", "KINDS", "PluginLoadError", "Plugins", "Registries"]

HOOKSPECS = (engine_hooks, data_hooks, futures_hooks, risk_hooks)
"""The modules declaring every hook a plugin may implement."""

KINDS: tuple[Kind, ...] = (
    engine_hooks.STRATEGIES,
    engine_hooks.INDICATORS,
    engine_hooks.SIZERS,
    engine_hooks.ANALYZERS,
    data_hooks.DATA_SOURCES,
    futures_hooks.CONTRACTS,
    futures_hooks.ROLL_RULES,
    engine_hooks.OPTIMIZERS,
    risk_hooks.RISK_RULES,
    engine_hooks.REPORT_PANELS,
)

BUILTIN_PLUGINS = (
    "stratforge.strategies",
    "stratforge.indicators",
    "stratforge.sizers",
    "stratforge.analyzers",
    "stratforge.data.sources",
    "stratforge.futures.sources",
    "stratforge.futures.vendors",
    "stratforge.futures.catalog",
    "stratforge.futures.specs",
    "stratforge.futures.rolls",
    "stratforge.optimizers",
    "stratforge.risk",
    "stratforge.report.panels",
)
"""Built-ins register through the same hooks as third-party plugins, in this order."""


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
        return cls(**{kind.plural: Registry(kind.singular, kind.check) for kind in KINDS})

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
    """A new plugin manager with every hook declared and every enabled plugin loaded."""
    options = LoadOptions(
        blocked=settings.blocked_plugins,
        autoload=not settings.disable_plugin_autoload,
        directories=settings.plugin_directories,  # the project's folders, then plugins_dirs
    )
    return new_plugin_manager(hookspecs=HOOKSPECS, builtins=BUILTIN_PLUGINS, options=options)


def load_registries(pm: pluggy.PluginManager) -> Registries:
    """Every kind's registry, filled by its hook, recording which plugin gave what."""
    filled = fill_registries(pm, KINDS, plugin_versions(pm, BUILTIN_PLUGINS))
    return Registries(**filled)


@dataclass
class Plugins:
    """A loaded plugin manager with its filled registries, and the settings they were loaded
    for (the engine hands sources what those settings say, e.g. where datasets are kept)."""

    manager: pluggy.PluginManager
    registries: Registries
    versions: dict[str, str | None]
    settings: Settings
    loaded_at: float = field(default_factory=time.time)
    """When the plugin files were imported (epoch seconds): a source file changed later is
    not the code that runs (the result cache will not key results by it)."""

    @classmethod
    def load(cls, settings: Settings) -> Plugins:
        pm = get_plugin_manager(settings)
        return cls(pm, load_registries(pm), plugin_versions(pm, BUILTIN_PLUGINS), settings)
