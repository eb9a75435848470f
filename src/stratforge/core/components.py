"""Resolving ComponentSpecs against registries: names, parameters, ``check_params``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stratforge.core.errors import SpecError
from stratforge.core.spec import ComponentSpec
from stratforge.plugin.params import ParamError, validate_params
from stratforge.plugin.registry import Registry, UnknownNameError


@dataclass
class Component:
    """A resolved ComponentSpec: the registered object and its coerced parameters."""

    name: str
    obj: Any
    params: dict[str, Any]
    plugin: str
    plugin_version: str | None


def resolve_component(registry: Registry[Any], part: ComponentSpec, where: str) -> Component:
    """Look up ``part`` in *registry*; errors name ``<where>.name`` or ``<where>.params``."""
    return component(registry, part.name, part.params, f"{where}.name", f"{where}.params")


def component(
    registry: Registry[Any], name: str, params: dict[str, Any], name_field: str, params_field: str
) -> Component:
    try:
        entry = registry.entry(name)
    except UnknownNameError as exc:
        raise SpecError(name_field, f"unknown {exc.kind} {name!r}; {exc.suggestion}") from None
    try:
        values = validate_params(entry.obj, params, field=params_field)
    except ParamError as exc:
        raise SpecError(exc.field, exc.message) from None
    check = getattr(entry.obj, "check_params", None)
    if callable(check):
        try:
            check(values)
        except ValueError as exc:
            raise SpecError(params_field, str(exc)) from None
    return Component(entry.name, entry.obj, values, entry.plugin, entry.plugin_version)
