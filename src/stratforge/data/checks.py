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


PRICE_RANGE = 1e6
"""Synthetic prices stay within this factor of the starting price, both ways."""


def require_sane_prices(
    low: float, high: float, *, start: float, bars: int, years: float, drift: float, vol: float
) -> None:
    """Refuse a generated path whose prices left ``start / PRICE_RANGE .. start * PRICE_RANGE``.

    A long enough random walk reaches any level: 600,000 daily bars (2,380 years) at +5% a
    year end near 1e50, and a backtest on such prices reports returns of 1e29 as if they
    meant something. The message says why and what to change.
    """
    if start / PRICE_RANGE <= low and high <= start * PRICE_RANGE:
        return
    extreme = high if high > start * PRICE_RANGE else low
    raise ValueError(
        f"bars: {bars:,} bars ({years:,.0f} years) with drift {drift:g} and volatility "
        f"{vol:g} take prices from {start:g} to {extreme:.3g}, outside {1 / PRICE_RANGE:g} to "
        f"{PRICE_RANGE:g} times the start; use fewer bars, a smaller drift or a lower volatility"
    )
