"""Describe and validate a plugin's parameters.

Backtrader classes declare ``params``; data sources are functions with keyword parameters.
Both become a list of ``ParamInfo`` so user input (JSON or CLI strings) is checked the same
way: unknown names get "did you mean" hints, values are coerced to the declared type.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import math
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union

from stratforge.plugin.registry import did_you_mean

_REQUIRED = inspect.Parameter.empty


class ParamError(ValueError):
    """A user-supplied parameter is unknown, missing or of the wrong type."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        return (type(self), (self.field, self.message))  # picklable: crosses to Ray workers


@dataclass(frozen=True)
class ParamInfo:
    """One parameter: its name, default, the type values are coerced to, and its help."""

    name: str
    default: Any
    annotation: Any
    description: str | None = None

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED

    def type_name(self) -> str:
        return _type_name(self.annotation)


def describe_params(obj: object) -> list[ParamInfo]:
    """The parameters of a backtrader class (``params``) or a callable (its signature)."""
    docs = _param_docs(inspect.getdoc(obj) or "")
    params = getattr(obj, "params", None)
    if isinstance(obj, type) and params is not None and hasattr(params, "_getitems"):
        return [
            ParamInfo(name, default, _annotation_of(default), docs.get(name))
            for name, default in params._getitems()
            if not name.startswith("_")
        ]
    if isinstance(obj, type) and dataclasses.is_dataclass(obj):
        hints = typing.get_type_hints(obj, include_extras=True)
        return [
            ParamInfo(f.name, _field_default(f), hints.get(f.name, Any), docs.get(f.name))
            for f in dataclasses.fields(obj)
            if f.init and not f.name.startswith("_")
        ]
    if callable(obj):
        hints = typing.get_type_hints(obj, include_extras=True)
        return [
            ParamInfo(
                p.name, p.default, hints.get(p.name, _annotation_of(p.default)), docs.get(p.name)
            )
            for p in inspect.signature(obj).parameters.values()
            if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
            and not engine_supplied(hints.get(p.name))
        ]
    return []


def _field_default(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return _REQUIRED


def engine_supplied(annotation: Any) -> bool:
    """Whether a parameter is filled by the engine, not the user: its type (or a member of
    its union) says so with a class attribute ``engine_supplied = True`` (a futures source's
    ``ContractSpec``, the dataset source's store). Such parameters are not user params."""
    return any(
        isinstance(option, type) and getattr(option, "engine_supplied", False) is True
        for option in (annotation, *typing.get_args(annotation))
    )


def validate_params(obj: object, given: Mapping[str, Any], *, field: str) -> dict[str, Any]:
    """Coerced values for *given*; raises ``ParamError`` naming ``field.<name>``."""
    infos = {info.name: info for info in describe_params(obj)}
    values: dict[str, Any] = {}
    for name, raw in given.items():
        info = infos.get(name)
        if info is None:
            raise ParamError(f"{field}.{name}", f"unknown parameter; {did_you_mean(name, infos)}")
        try:
            values[name] = coerce(raw, info.annotation)
        except (TypeError, ValueError) as exc:
            example = "" if info.required else f", e.g. {info.default!r}"
            raise ParamError(
                f"{field}.{name}", f"{_shortened(str(exc))} (expected {info.type_name()}{example})"
            ) from None
    missing = [n for n, info in infos.items() if info.required and n not in values]
    if missing:
        raise ParamError(f"{field}.{missing[0]}", "required parameter is missing")
    return values


def _shortened(text: str, limit: int = 200) -> str:
    """A message quoting user input, cut so a megabyte value is never echoed back."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def _annotation_of(default: Any) -> Any:
    if default is None or default is _REQUIRED:
        return Any
    return type(default)


class _PathRole:
    """Marks a parameter as a file or folder path: ``Annotated[str, FILE_PATH]``.

    A server reads such paths only under its data roots, so every plugin that reads files
    says which of its parameters are paths."""

    def __repr__(self) -> str:
        return "FILE_PATH"


FILE_PATH = _PathRole()
FilePath = Annotated[str, FILE_PATH]
"""A plugin parameter naming a file or directory to read."""


def path_params(obj: object) -> list[str]:
    """The names of *obj*'s parameters declared as ``FilePath``."""
    found = []
    for info in describe_params(obj):
        annotation = info.annotation
        options = typing.get_args(annotation) if _is_union(annotation) else (annotation,)
        for option in options:
            if typing.get_origin(option) is Annotated and FILE_PATH in option.__metadata__:
                found.append(info.name)
                break
    return found


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (Union, types.UnionType)


def bounds(annotation: Any) -> tuple[Any, dict[str, float]]:
    """The type inside ``Annotated[T, Ge(2), Le(10)]`` and its numeric bounds (``ge``, ``gt``,
    ``le``, ``lt`` from annotated-types metadata), so plugins declare their ranges once."""
    if typing.get_origin(annotation) is not typing.Annotated:
        return annotation, {}
    base, *metadata = typing.get_args(annotation)
    found: dict[str, float] = {}
    for item in metadata:
        for name in ("ge", "gt", "le", "lt"):
            value = getattr(item, name, None)
            if isinstance(value, int | float):
                found[name] = value
    return base, found


_BOUND_TEXT = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
_BOUND_CHECK: dict[str, Any] = {
    "ge": lambda v, b: v >= b,
    "gt": lambda v, b: v > b,
    "le": lambda v, b: v <= b,
    "lt": lambda v, b: v < b,
}


def _check_bounds(value: Any, limits: dict[str, float]) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return
    for name, bound in limits.items():
        if not _BOUND_CHECK[name](value, bound):
            raise ValueError(f"{value!r} is out of range: must be {_BOUND_TEXT[name]} {bound:,}")


def coerce(value: Any, annotation: Any) -> Any:
    """Convert *value* (often a string from a CLI or JSON) to *annotation*."""
    base, limits = bounds(annotation)
    if limits or base is not annotation:
        coerced = coerce(value, base)
        _check_bounds(coerced, limits)
        return coerced
    if annotation is Any or annotation is object:
        return _parse_loose(value)
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        return _coerce_union(value, typing.get_args(annotation))
    if origin is Literal:
        choices = typing.get_args(annotation)
        for choice in choices:
            if value == choice or (isinstance(value, str) and str(choice) == value):
                return choice
        raise ValueError(f"{value!r} is not one of {', '.join(repr(c) for c in choices)}")
    if origin in (dict, list, tuple) or annotation in (dict, list, tuple):
        parsed = _parse_container(value, origin or annotation)
        container = origin or annotation
        if not isinstance(parsed, container if container is not tuple else (list, tuple)):
            raise ValueError(f"{value!r} is not a {container.__name__}")
        return tuple(parsed) if container is tuple else parsed
    if annotation is bool:
        return _to_bool(value)
    if annotation is int:
        return _to_int(value)
    if annotation is float:
        if isinstance(value, bool):
            raise ValueError(f"{value!r} is not a number")
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"{value!r} is not a finite number")
        return number
    if annotation is str:
        if not isinstance(value, str):
            raise ValueError(f"{value!r} is not a string")
        return value
    if isinstance(annotation, type) and isinstance(value, annotation):
        return value
    return _parse_loose(value)


def _parse_container(value: Any, container: Any) -> Any:
    """JSON text, or for lists a plain comma-separated string (``a,b,c``)."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        if container in (list, tuple):
            return [part.strip() for part in value.split(",") if part.strip()]
        raise ValueError(f"{value!r} is not JSON") from None


def _coerce_union(value: Any, options: tuple[Any, ...]) -> Any:
    is_null = value is None or (isinstance(value, str) and value.lower() in ("none", "null"))
    if is_null and type(None) in options:
        return None
    errors = []
    for option in options:
        if option is type(None):
            continue
        try:
            return coerce(value, option)
        except (TypeError, ValueError) as exc:
            errors.append(str(exc))
    raise ValueError(errors[0] if errors else f"{value!r} is not accepted")


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "yes", "on", "1"):
        return True
    if isinstance(value, str) and value.lower() in ("false", "no", "off", "0"):
        return False
    raise ValueError(f"{value!r} is not a boolean (use true or false)")


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"[+-]?\d+", text):
            return int(text)
        if re.fullmatch(r"[+-]?\d+\.0*", text):
            return int(float(text))
    raise ValueError(f"{value!r} is not an integer")


def _parse_loose(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _type_name(annotation: Any) -> str:
    base, limits = bounds(annotation)
    if base is not annotation:
        ranges = ", ".join(f"{_BOUND_TEXT[k]} {v:,}" for k, v in limits.items())
        return f"{_type_name(base)} ({ranges})" if ranges else _type_name(base)
    if annotation is Any:
        return "any"
    if typing.get_origin(annotation) is Literal:
        return " | ".join(repr(c) for c in typing.get_args(annotation))
    if typing.get_origin(annotation) in (Union, types.UnionType):
        return " | ".join(_type_name(a) for a in typing.get_args(annotation))
    if annotation is type(None):
        return "null"
    return getattr(annotation, "__name__", str(annotation))


_DOC_LINE = re.compile(r"^\s*[-*]?\s*`{0,2}(\w+)`{0,2}\s*(?:\([^)]*\))?\s*:\s*(\S.*)$")
_SECTION = re.compile(r"^\s*(params|parameters|args|arguments)\s*:?\s*$", re.IGNORECASE)


def _param_docs(doc: str) -> dict[str, str]:
    """``name: text`` lines under a ``Params:``/``Args:`` heading of a docstring."""
    docs: dict[str, str] = {}
    inside = False
    last: str | None = None
    for line in doc.splitlines():
        if _SECTION.match(line):
            inside, last = True, None
            continue
        if not inside:
            continue
        match = _DOC_LINE.match(line)
        if match:
            last = match.group(1)
            docs[last] = match.group(2).strip()
        elif line.strip() and last and line.startswith((" ", "\t")) and line.strip()[0] != "-":
            docs[last] += " " + line.strip()
        elif not line.strip():
            last = None
    return docs


def jsonable_default(value: Any) -> Any:
    """A parameter default as JSON can show it (classes by name, other objects by repr)."""
    if isinstance(value, type):
        return value.__name__
    try:
        json.dumps(value)
    except TypeError:
        return repr(value)
    return value
