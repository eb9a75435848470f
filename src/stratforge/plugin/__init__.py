"""Plugin machinery: hook markers, kinds, typed registries and the loading of plugins.

Generic: no module here knows a domain type. ``stratforge.core.plugins`` composes the
hooks, kinds and built-ins into the registries the engine reads.
"""

from stratforge.plugin.hookspecs import hookimpl, hookspec
from stratforge.plugin.kinds import Kind
from stratforge.plugin.manager import PluginError, PluginLoadError
from stratforge.plugin.registry import (
    DuplicateNameError,
    Entry,
    Register,
    Registry,
    UnknownNameError,
)

__all__ = [
    "DuplicateNameError",
    "Entry",
    "Kind",
    "PluginError",
    "PluginLoadError",
    "Register",
    "Registry",
    "UnknownNameError",
    "hookimpl",
    "hookspec",
]
