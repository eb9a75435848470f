"""The error for a bad field of a user's spec, raised by the engine and by plugins alike:
``field`` is the dotted path (``data[1].args.bars``), the message says the fix. It lives on
the plugin floor because plugin code (a sizer checking its params) raises it too."""

from __future__ import annotations


class SpecError(ValueError):
    """A RunSpec field is invalid; ``field`` is its dotted path, the message says the fix."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        # pickled by its constructor's arguments, so it crosses the Ray boundary intact
        return (type(self), (self.field, self.message))
