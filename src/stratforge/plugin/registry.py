"""Typed registries: one per kind of contribution, filled by ``register_<plural>`` hooks."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

T = TypeVar("T")


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """A ``did you mean ...?`` hint for *name*, or the known names when nothing is close."""
    known = sorted(set(candidates))
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    if close:
        return "did you mean " + " or ".join(repr(c) for c in close) + "?"
    if not known:
        return "none are registered"
    return "known: " + ", ".join(known)


class RegistryError(ValueError):
    """Base class for registry problems."""


class DuplicateNameError(RegistryError):
    """Two plugins registered the same name for the same kind."""


class UnknownNameError(RegistryError, LookupError):
    """A name was looked up that no plugin registered."""

    def __init__(self, kind: str, name: str, suggestion: str) -> None:
        self.kind = kind
        self.name = name
        self.suggestion = suggestion
        super().__init__(f"unknown {kind} {name!r}: {suggestion}")

    def __reduce__(self) -> tuple[type, tuple[str, str, str]]:
        return (type(self), (self.kind, self.name, self.suggestion))  # picklable (Ray)


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered contribution and where it came from."""

    kind: str
    name: str
    obj: T
    plugin: str
    plugin_version: str | None = None
    aliases: tuple[str, ...] = ()
    replaced: str | None = None
    """The plugin whose entry this one replaced (``replace=True``), if any."""


class Register(Protocol):
    """What a ``register_<plural>`` hook receives."""

    def __call__(
        self,
        obj: object,
        name: str | None = None,
        aliases: Sequence[str] = (),
        *,
        replace: bool = False,
    ) -> object: ...


@dataclass
class Registry(Generic[T]):
    """Named contributions of one kind; names and aliases are unique across plugins."""

    kind: str
    check: Callable[[object], str | None] | None = None
    _entries: dict[str, Entry[T]] = field(default_factory=dict)
    _aliases: dict[str, str] = field(default_factory=dict)

    def register(
        self,
        obj: T,
        name: str | None = None,
        aliases: Sequence[str] = (),
        *,
        plugin: str = "<unknown>",
        plugin_version: str | None = None,
        replace: bool = False,
    ) -> T:
        """Add *obj* under *name* (default: its ``alias`` or snake_case class name).

        ``replace=True`` deliberately overrides an existing entry of that name (e.g. a
        contract spec with a firm's own margins); without it a taken name is an error.
        """
        problem = self.check(obj) if self.check else None
        if problem:
            raise RegistryError(f"plugin {plugin!r} registered an invalid {self.kind}: {problem}")
        key = name or _default_name(obj)
        previous = self._entries.get(key) if replace else None
        if previous is not None:
            self._drop(previous)
        entry = Entry(
            self.kind,
            key,
            obj,
            plugin,
            plugin_version,
            tuple(aliases),
            previous.plugin if previous else None,
        )
        for label in (key, *entry.aliases):
            owner = self._owner(label)
            if owner is not None:
                raise DuplicateNameError(
                    f"{self.kind} {label!r} is registered by plugin {owner.plugin!r} "
                    f"and again by plugin {plugin!r}; block one of them "
                    f"(STRATFORGE_BLOCKED_PLUGINS) or rename"
                )
        self._entries[key] = entry
        for alias in entry.aliases:
            self._aliases[alias] = key
        return obj

    def _drop(self, entry: Entry[T]) -> None:
        del self._entries[entry.name]
        for alias in entry.aliases:
            self._aliases.pop(alias, None)

    def bind(self, plugin: str, plugin_version: str | None = None) -> Register:
        """A ``register`` callable that records *plugin* as the provider."""

        def register(
            obj: object,
            name: str | None = None,
            aliases: Sequence[str] = (),
            *,
            replace: bool = False,
        ) -> object:
            return self.register(
                obj,  # type: ignore[arg-type]
                name,
                aliases,
                plugin=plugin,
                plugin_version=plugin_version,
                replace=replace,
            )

        return register

    def _owner(self, label: str) -> Entry[T] | None:
        key = self._aliases.get(label, label)
        return self._entries.get(key)

    def entry(self, name: str) -> Entry[T]:
        """The entry for *name* or one of its aliases."""
        found = self._owner(name)
        if found is None:
            raise UnknownNameError(self.kind, name, did_you_mean(name, self.labels()))
        return found

    def get(self, name: str) -> T:
        return self.entry(name).obj

    def labels(self) -> list[str]:
        """Every name and alias, for suggestions."""
        return [*self._entries, *self._aliases]

    def names(self) -> list[str]:
        return sorted(self._entries)

    def as_dict(self) -> dict[str, T]:
        """Name to object, in registration order (built-ins first)."""
        return {name: entry.obj for name, entry in self._entries.items()}

    def entries(self) -> list[Entry[T]]:
        return [self._entries[n] for n in self.names()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._owner(name) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)


def _default_name(obj: object) -> str:
    alias = getattr(obj, "alias", None)
    if isinstance(alias, (tuple, list)) and alias:
        return str(alias[0])
    if isinstance(alias, str) and alias:
        return alias
    raw = str(getattr(obj, "__name__", type(obj).__name__))
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", raw).lower()
