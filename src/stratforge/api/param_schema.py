"""JSON Schema of a plugin's parameters, so a client can build a form."""

from __future__ import annotations

import inspect
import types
import typing
from typing import Any, Literal, Union

from stratforge.plugin.params import bounds, describe_params, jsonable_default

_SIMPLE = {bool: "boolean", int: "integer", float: "number", str: "string"}


_BOUND_KEYS = {"ge": "minimum", "gt": "exclusiveMinimum", "le": "maximum", "lt": "exclusiveMaximum"}


def type_schema(annotation: Any) -> dict[str, Any]:
    base, limits = bounds(annotation)
    if base is not annotation:
        return type_schema(base) | {_BOUND_KEYS[k]: v for k, v in limits.items()}
    if annotation is Any or annotation is object:
        return {}
    if annotation in _SIMPLE:
        return {"type": _SIMPLE[annotation]}
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return {"enum": list(typing.get_args(annotation))}
    if origin in (Union, types.UnionType):
        options = [type_schema(a) for a in typing.get_args(annotation)]
        options = [{"type": "null"} if o == {"type": "NoneType"} else o for o in options]
        return {"anyOf": options}
    if annotation is type(None):
        return {"type": "null"}
    if origin in (list, tuple) or annotation in (list, tuple):
        return {"type": "array"}
    if origin is dict or annotation is dict:
        return {"type": "object"}
    return {}


def params_schema(obj: object) -> dict[str, Any]:
    """An object schema: one property per parameter with type, default and description."""
    properties: dict[str, Any] = {}
    required = []
    for info in describe_params(obj):
        prop = type_schema(info.annotation)
        if info.required:
            required.append(info.name)
        elif info.default is not inspect.Parameter.empty:
            prop["default"] = jsonable_default(info.default)
        if info.description:
            prop["description"] = info.description
        properties[info.name] = prop
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = required
    return schema
