"""A kind of contribution: the registration hook's plural, the registry's singular name and
the check every registered item must pass. Domain packages declare their kinds with these
generic checks; the plugin floor fills one registry per kind without knowing what it holds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Check = Callable[[object], str | None]
"""Returns what is wrong with an item, or None when it may be registered."""


@dataclass(frozen=True)
class Kind:
    """One kind of contribution, filled by the ``register_<plural>`` hook."""

    plural: str
    """The hook suffix and registry key: ``strategies`` for ``register_strategies``."""
    singular: str
    """What messages call one item: ``strategy``, ``roll rule``."""
    check: Check | None = None

    @property
    def hook_name(self) -> str:
        return f"register_{self.plural}"


def subclass_of(base: type) -> Check:
    """Items must be classes derived from *base* (strategies, risk rules)."""

    def check(obj: object) -> str | None:
        if isinstance(obj, type) and issubclass(obj, base):
            return None
        return f"{obj!r} is not a subclass of {base.__module__}.{base.__qualname__}"

    return check


def instance_of(cls: type) -> Check:
    """Items must be instances of *cls* (contract specifications)."""

    def check(obj: object) -> str | None:
        return None if isinstance(obj, cls) else f"{obj!r} is not a {cls.__qualname__}"

    return check


def is_callable(obj: object) -> str | None:
    """Items must be callables (data sources, roll rules, search methods)."""
    return None if callable(obj) else f"{obj!r} is not callable"
