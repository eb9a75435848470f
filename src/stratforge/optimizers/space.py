"""Parameter spaces for optimisation: ranges, log ranges, choices, and constraints.

CLI forms: ``fast=5:50:5`` (int range, inclusive), ``ratio=0.5:2.0:0.25`` (float range),
``lr=log:0.001:1:10`` (10 log-spaced points), ``mode=a,b,c`` (choices), ``period=20`` (fixed).
"""

from __future__ import annotations

import ast
import itertools
import math
import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from stratforge.plugin.registry import did_you_mean

MAX_VALUES = 1_000_000
"""The most values one dimension may enumerate; a larger range is searched by sampling."""


class _Dimension(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _enumerable(count: int) -> None:
    if count > MAX_VALUES:
        raise ValueError(
            f"the range has more than {MAX_VALUES:,} values; use a coarser step, or method "
            "random with a trials budget"
        )


class IntRange(_Dimension):
    """Integers from ``start`` to ``stop`` inclusive, every ``step``."""

    kind: Literal["int"] = "int"
    start: int
    stop: int
    step: int = Field(1, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> IntRange:
        if self.stop < self.start:
            raise ValueError(f"stop ({self.stop}) is below start ({self.start})")
        return self

    def count(self) -> int:
        """How many values, by arithmetic: ``stop=10**15`` must not build a list."""
        return (self.stop - self.start) // self.step + 1

    def values(self) -> list[Any]:
        _enumerable(self.count())
        return list(range(self.start, self.stop + 1, self.step))

    def sample(self, rng: np.random.Generator) -> Any:
        return self.start + self.step * int(rng.integers(self.count()))


class FloatRange(_Dimension):
    """Floats from ``start`` to ``stop`` inclusive, every ``step`` (or continuous when sampled)."""

    kind: Literal["float"] = "float"
    start: float
    stop: float
    step: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> FloatRange:
        if self.stop < self.start:
            raise ValueError(f"stop ({self.stop}) is below start ({self.start})")
        return self

    def count(self) -> int:
        """How many grid values, by arithmetic (``step=1e-300`` must not build a list)."""
        if self.step is None:
            raise ValueError("a float range needs a step to be enumerated by a grid")
        steps = (self.stop - self.start) / self.step
        if not math.isfinite(steps) or steps > MAX_VALUES:
            return MAX_VALUES + 1
        return math.floor(steps + 1e-9) + 1

    def values(self) -> list[Any]:
        count = self.count()
        _enumerable(count)
        assert self.step is not None
        return [round(self.start + i * self.step, 12) for i in range(count)]

    def sample(self, rng: np.random.Generator) -> Any:
        if self.step is not None and self.count() <= MAX_VALUES:
            return round(self.start + self.step * int(rng.integers(self.count())), 12)
        return float(rng.uniform(self.start, self.stop))


class LogRange(_Dimension):
    """``num`` points spaced evenly on a log scale from ``low`` to ``high``."""

    kind: Literal["log"] = "log"
    low: float = Field(gt=0)
    high: float = Field(gt=0)
    num: int = Field(10, ge=2)
    integer: bool = False

    def count(self) -> int:
        return self.num if not self.integer else len(self.values())

    def values(self) -> list[Any]:
        _enumerable(self.num)
        points = np.geomspace(self.low, self.high, self.num)
        if self.integer:
            return sorted({int(np.rint(p)) for p in points})
        return [float(p) for p in points]

    def sample(self, rng: np.random.Generator) -> Any:
        value = float(np.exp(rng.uniform(np.log(self.low), np.log(self.high))))
        return int(np.rint(value)) if self.integer else value


class Choice(_Dimension):
    """One of a fixed list of values."""

    kind: Literal["choice"] = "choice"
    options: list[Any] = Field(min_length=1)

    def count(self) -> int:
        return len(self.options)

    def values(self) -> list[Any]:
        return list(self.options)

    def sample(self, rng: np.random.Generator) -> Any:
        return self.options[int(rng.integers(len(self.options)))]


Dimension = Annotated[IntRange | FloatRange | LogRange | Choice, Field(discriminator="kind")]


def parse_dimension(text: str) -> IntRange | FloatRange | LogRange | Choice:
    """A dimension from its CLI form (see the module docstring)."""
    raw = text.strip()
    if raw.startswith("log:"):
        parts = raw[4:].split(":")
        if len(parts) not in (2, 3):
            raise ValueError(f"{text!r}: log ranges are log:LOW:HIGH[:NUM]")
        low, high = float(parts[0]), float(parts[1])
        num = int(parts[2]) if len(parts) == 3 else 10
        return LogRange(low=low, high=high, num=num, integer=_all_ints(parts[:2]))
    if ":" in raw:
        parts = raw.split(":")
        if len(parts) not in (2, 3):
            raise ValueError(f"{text!r}: ranges are START:STOP[:STEP]")
        if _all_ints(parts):
            step = int(parts[2]) if len(parts) == 3 else 1
            return IntRange(start=int(parts[0]), stop=int(parts[1]), step=step)
        step_f = float(parts[2]) if len(parts) == 3 else None
        return FloatRange(start=float(parts[0]), stop=float(parts[1]), step=step_f)
    options = [_scalar(part) for part in raw.split(",")]
    return Choice(options=options)


def _all_ints(parts: Sequence[str]) -> bool:
    return all(part.strip().lstrip("+-").isdigit() for part in parts)


def _scalar(text: str) -> Any:
    text = text.strip()
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def grid(space: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every combination, in a fixed order (the first parameter varies slowest)."""
    names = list(space)
    for combo in itertools.product(*(space[n].values() for n in names)):
        yield dict(zip(names, combo, strict=True))


def grid_size(space: Mapping[str, Any]) -> int:
    """Combinations of a grid, by arithmetic: never by building the lists."""
    return math.prod(space[n].count() for n in space)


# -- constraints ------------------------------------------------------------------------

MAX_MAGNITUDE = 1e12
"""Largest absolute number a constraint may write or compute: far beyond any parameter."""
MAX_EXPONENT = 64


def _power(base: Any, exponent: Any) -> Any:
    """``**`` with bounded exponent and base: ``fast ** 99999999`` would freeze a server
    computing an integer of millions of digits."""
    if not isinstance(exponent, int | float) or abs(exponent) > MAX_EXPONENT:
        raise ConstraintError(f"exponent {exponent!r} is out of range (at most {MAX_EXPONENT})")
    if isinstance(base, int | float) and abs(base) > MAX_MAGNITUDE:
        raise ConstraintError(f"{base!r} is too large to raise to a power")
    result = operator.pow(base, exponent)
    if isinstance(result, int | float) and abs(result) > MAX_MAGNITUDE**4:
        raise ConstraintError("a power in the constraint is too large")
    return result


_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: _power,
}


class ConstraintError(ValueError):
    """A constraint expression is malformed or names an unknown parameter."""


class Constraint:
    """A boolean expression over parameters, e.g. ``fast < slow`` or ``slow >= 2 * fast``.

    Only names, numbers, arithmetic, comparisons and and/or/not are allowed: it is parsed,
    never passed to ``eval``.
    """

    def __init__(
        self, text: str, names: Sequence[str], fixed: Mapping[str, Any] | None = None
    ) -> None:
        self.text = text
        try:
            self._tree = ast.parse(text, mode="eval").body
        except SyntaxError as exc:
            raise ConstraintError(f"constraint {text!r} is not an expression: {exc.msg}") from None
        self._check(self._tree, list(names))
        self._fixed = dict(fixed or {})

    def _check(self, node: ast.AST, names: list[str]) -> None:
        for child in ast.walk(node):
            if isinstance(child, ast.Name) and child.id not in names:
                hint = did_you_mean(child.id, names)
                raise ConstraintError(
                    f"constraint {self.text!r}: unknown parameter {child.id!r}; {hint}"
                )
            allowed = (
                ast.Expression,
                ast.Compare,
                ast.BinOp,
                ast.BoolOp,
                ast.UnaryOp,
                ast.Name,
                ast.Constant,
                ast.Load,
                ast.And,
                ast.Or,
                ast.Not,
                ast.USub,
                ast.UAdd,
                *_COMPARE,
                *_BINARY,
            )
            number = child.value if isinstance(child, ast.Constant) else None
            if isinstance(number, int | float) and abs(number) > MAX_MAGNITUDE:
                raise ConstraintError(
                    f"constraint {self.text!r}: {number!r} is out of range "
                    f"(numbers up to {MAX_MAGNITUDE:g})"
                )
            if isinstance(child, ast.BinOp) and isinstance(child.op, ast.Pow):
                exponent = child.right  # a parameter exponent is bounded when evaluated
                value = exponent.value if isinstance(exponent, ast.Constant) else None
                if isinstance(value, int | float) and abs(value) > MAX_EXPONENT:
                    raise ConstraintError(
                        f"constraint {self.text!r}: exponent {value!r} is out of range "
                        f"(at most {MAX_EXPONENT})"
                    )
            if not isinstance(child, allowed):
                raise ConstraintError(
                    f"constraint {self.text!r}: {type(child).__name__} is not allowed; use "
                    "parameter names, numbers, + - * / // % **, comparisons, and/or/not"
                )

    def __call__(self, params: Mapping[str, Any]) -> bool:
        """Whether *params* pass; names not searched take their fixed values."""
        return bool(_evaluate(self._tree, {**self._fixed, **params}))

    def __repr__(self) -> str:
        return f"Constraint({self.text!r})"


def _evaluate(node: ast.AST, params: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return params[node.id]
    if isinstance(node, ast.UnaryOp):
        value = _evaluate(node.operand, params)
        return (
            not value
            if isinstance(node.op, ast.Not)
            else (-value if isinstance(node.op, ast.USub) else value)
        )
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](_evaluate(node.left, params), _evaluate(node.right, params))
    if isinstance(node, ast.BoolOp):
        values = (_evaluate(v, params) for v in node.values)
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.Compare):
        left = _evaluate(node.left, params)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = _evaluate(comparator, params)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    raise ConstraintError(f"unsupported expression {ast.dump(node)}")
