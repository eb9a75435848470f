"""Parameter description, validation and coercion for classes and functions."""

from __future__ import annotations

from typing import Literal

import backtrader as bt
import pytest

from stratforge.plugin.params import ParamError, describe_params, validate_params


class Strat(bt.Strategy):
    """A strategy.

    Params:
        fast: fast period
        ratio: a float
        enabled: a flag
        label: free text
    """

    params = (("fast", 10), ("ratio", 0.5), ("enabled", False), ("label", "x"), ("extra", None))


def source(
    *, path: str, bars: int = 10, mode: Literal["a", "b"] = "a", tz: str | None = None
) -> None:
    """A source.

    Args:
        path: the file
        bars: how many
    """


def test_describe_backtrader_params_with_docs() -> None:
    infos = {p.name: p for p in describe_params(Strat)}
    assert infos["fast"].default == 10 and infos["fast"].annotation is int
    assert infos["fast"].description == "fast period"
    assert infos["ratio"].annotation is float
    assert not infos["fast"].required


def test_describe_function_params() -> None:
    infos = {p.name: p for p in describe_params(source)}
    assert infos["path"].required and infos["path"].description == "the file"
    assert infos["bars"].annotation is int


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"fast": "12"}, {"fast": 12}),
        ({"fast": 12.0}, {"fast": 12}),
        ({"ratio": "2"}, {"ratio": 2.0}),
        ({"ratio": 3}, {"ratio": 3.0}),
        ({"enabled": "true"}, {"enabled": True}),
        ({"enabled": "no"}, {"enabled": False}),
        ({"label": "abc"}, {"label": "abc"}),
        ({"extra": "[1, 2]"}, {"extra": [1, 2]}),
        ({"extra": "plain"}, {"extra": "plain"}),
    ],
)
def test_coercion_to_the_default_type(given: dict, expected: dict) -> None:
    assert validate_params(Strat, given, field="strategy.params") == expected


@pytest.mark.parametrize(
    ("given", "fragment"),
    [
        ({"fsat": 1}, "strategy.params.fsat: unknown parameter; did you mean 'fast'?"),
        ({"fast": "1.5"}, "strategy.params.fast: '1.5' is not an integer"),
        ({"fast": True}, "is not an integer"),
        ({"ratio": "abc"}, "strategy.params.ratio"),
        ({"enabled": "maybe"}, "is not a boolean"),
        ({"label": 3}, "is not a string"),
    ],
)
def test_bad_values_name_the_field(given: dict, fragment: str) -> None:
    with pytest.raises(ParamError) as info:
        validate_params(Strat, given, field="strategy.params")
    assert fragment in str(info.value)


def test_function_params_literal_optional_and_required() -> None:
    values = validate_params(source, {"path": "f.csv", "mode": "b", "tz": "none"}, field="d")
    assert values == {"path": "f.csv", "mode": "b", "tz": None}
    with pytest.raises(ParamError, match=r"d\.mode: 'c' is not one of 'a', 'b'"):
        validate_params(source, {"path": "f", "mode": "c"}, field="d")
    with pytest.raises(ParamError, match=r"d\.path: required parameter is missing"):
        validate_params(source, {}, field="d")
