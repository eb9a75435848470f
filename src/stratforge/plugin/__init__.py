"""Plugin machinery: hook specifications, typed registries and the plugin manager factory."""

from stratforge.plugin.hookspecs import hookimpl
from stratforge.plugin.manager import (
    PluginLoadError,
    Plugins,
    Registries,
    get_plugin_manager,
    load_registries,
)
from stratforge.plugin.registry import (
    DuplicateNameError,
    Entry,
    Registry,
    UnknownNameError,
)

__all__ = [
    "DuplicateNameError",
    "Entry",
    "PluginLoadError",
    "Plugins",
    "Registries",
    "Registry",
    "UnknownNameError",
    "get_plugin_manager",
    "hookimpl",
    "load_registries",
]
