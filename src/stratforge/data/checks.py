"""Argument checks shared by the data generators: clear errors naming the parameter."""

from __future__ import annotations

import math
import operator


def require_int(name: str, value: object, minimum: int) -> int:
    """*value* as an int at least *minimum* (bools are not integers here)."""
    try:
        if isinstance(value, bool):
            raise TypeError
        number = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}") from None
    if number < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return number


def require_finite(
    name: str, value: object, *, minimum: float | None = None, strict: bool = False
) -> None:
    """A finite number, optionally at least (or, if *strict*, above) *minimum*."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if ok and minimum is not None:
        ok = value > minimum if strict else value >= minimum  # type: ignore[operator]
    if not ok:
        bound = "" if minimum is None else f" {'>' if strict else '>='} {minimum:g}"
        raise ValueError(f"{name} must be a finite number{bound}, got {value!r}")
