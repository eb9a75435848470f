"""Errors the engine raises for bad user input; each names the offending field."""

from __future__ import annotations


class SpecError(ValueError):
    """A RunSpec field is invalid; ``field`` is its dotted path, the message says the fix."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


def describe_validation_error(exc: Exception) -> str:
    """One line for a pydantic ``ValidationError``: the first failing field and why."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc)
    details = errors()
    if not details:
        return str(exc)
    first = details[0]
    where = ".".join(str(part) for part in first.get("loc", ())) or "spec"
    more = f" (+{len(details) - 1} more)" if len(details) > 1 else ""
    return f"{where}: {first.get('msg', 'invalid value')}{more}"
