from __future__ import annotations

import backtrader as bt
import pytest

from stratforge.plugin.registry import (
    DuplicateNameError,
    Registry,
    RegistryError,
    UnknownNameError,
    did_you_mean,
)


class MyFancyStrategy(bt.Strategy):
    pass


def strategy_registry() -> Registry[type[bt.Strategy]]:
    def check(obj: object) -> str | None:
        ok = isinstance(obj, type) and issubclass(obj, bt.Strategy)
        return None if ok else "not a Strategy"

    return Registry("strategy", check)


def test_duplicate_name_names_both_plugins() -> None:
    registry = strategy_registry()
    registry.register(MyFancyStrategy, name="fancy", plugin="first-plugin")
    with pytest.raises(DuplicateNameError) as info:
        registry.register(MyFancyStrategy, name="fancy", plugin="second-plugin")
    message = str(info.value)
    assert "'first-plugin'" in message and "'second-plugin'" in message and "'fancy'" in message


def test_alias_collides_with_name() -> None:
    registry = strategy_registry()
    registry.register(MyFancyStrategy, name="fancy", aliases=["fx"], plugin="a")
    with pytest.raises(DuplicateNameError, match="'fx' is registered by plugin 'a'"):
        registry.register(MyFancyStrategy, name="other", aliases=["fx"], plugin="b")


def test_unknown_name_suggests_close_matches() -> None:
    registry = strategy_registry()
    registry.register(MyFancyStrategy, name="sma_cross", plugin="a")
    with pytest.raises(UnknownNameError) as info:
        registry.get("sma_corss")
    assert "did you mean 'sma_cross'?" in str(info.value)
    assert isinstance(info.value, LookupError)


def test_unknown_name_lists_known_when_nothing_is_close() -> None:
    registry = strategy_registry()
    registry.register(MyFancyStrategy, name="alpha", plugin="a")
    with pytest.raises(UnknownNameError, match="known: alpha"):
        registry.get("zzz")


def test_lookup_by_alias_and_entry_metadata() -> None:
    registry = strategy_registry()
    registry.register(MyFancyStrategy, name="fancy", aliases=["fx"], plugin="p", plugin_version="1")
    entry = registry.entry("fx")
    assert (entry.name, entry.plugin, entry.plugin_version, entry.obj) == (
        "fancy",
        "p",
        "1",
        MyFancyStrategy,
    )
    assert "fx" in registry and "fancy" in registry and list(registry) == ["fancy"]


def test_default_name_is_snake_case_class_name() -> None:
    registry = strategy_registry()
    registry.register(MyFancyStrategy, plugin="p")
    assert registry.names() == ["my_fancy_strategy"]


def test_wrong_type_is_rejected_with_plugin_name() -> None:
    registry = strategy_registry()
    with pytest.raises(RegistryError, match="plugin 'p' registered an invalid strategy"):
        registry.register(object, name="bad", plugin="p")  # type: ignore[arg-type]


def test_did_you_mean_without_candidates() -> None:
    assert did_you_mean("x", []) == "none are registered"
