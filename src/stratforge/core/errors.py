"""Errors the engine raises for bad user input; each names the offending field.

``SpecError`` is defined on the plugin floor (plugins raise it too) and named here as well,
since every adapter reports it with ``describe_validation_error``'s one-line style."""

from __future__ import annotations

from stratforge.plugin.errors import SpecError

__all__ = ["SpecError", "describe_validation_error"]


def describe_validation_error(exc: Exception) -> str:
    """One line for a pydantic ``ValidationError``: the first failing field and why."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc)
    details = errors()
    if not details:
        return str(exc)
    first = details[0]
    # unions add the member type to the location (data.DataSpec.start): leave those out
    parts = [str(p) for p in first.get("loc", ()) if not _is_type_name(str(p))]
    where = ".".join(parts) or "spec"
    more = f" (+{len(details) - 1} more)" if len(details) > 1 else ""
    return f"{where}: {first.get('msg', 'invalid value')}{more}"


def _is_type_name(part: str) -> bool:
    return "[" in part or (part[:1].isupper() and part.isidentifier())
