"""Discovery through built-ins, entry points and plugin directories, with blocking."""

from __future__ import annotations

import pytest

from stratforge.core.plugins import BUILTIN_PLUGINS, PluginLoadError, Plugins
from stratforge.core.settings import Settings
from stratforge.plugin.registry import DuplicateNameError

DIR_PLUGIN = '''
import backtrader as bt
from stratforge import hookimpl


class Hold(bt.Strategy):
    """Buy once and hold.

    Params:
        stake: units to buy
    """
    params = (("stake", 1),)

    def next(self):
        if not self.position:
            self.buy(size=self.p.stake)


@hookimpl
def register_strategies(register):
    register(Hold, name="hold_forever")
'''


def test_builtins_register_like_any_plugin(plugins: Plugins) -> None:
    registries = plugins.registries
    assert registries.strategies.entry("sma_cross").plugin == "stratforge.strategies"
    assert registries.data_sources.entry("synthetic").plugin == "stratforge.futures.sources"
    for name in BUILTIN_PLUGINS:
        assert plugins.manager.has_plugin(name)
    expected = {"sma_cross", "donchian_breakout", "rsi_reversion", "bollinger_reversion"}
    assert expected <= set(registries.strategies.names())


def test_example_plugin_is_discovered_through_its_entry_point(plugins: Plugins) -> None:
    dists = {
        plugins.manager.get_name(plugin): dist.project_name
        for plugin, dist in plugins.manager.list_plugin_distinfo()
    }
    assert dists.get("example") == "stratforge-example"
    registries = plugins.registries
    for registry, name in (
        (registries.strategies, "zscore_reversion"),
        (registries.indicators, "zscore"),
        (registries.analyzers, "position_time"),
    ):
        entry = registry.entry(name)
        assert entry.plugin == "example"
        assert entry.plugin_version == "0.3.0"


def test_disable_autoload_skips_entry_points() -> None:
    plugins = Plugins.load(Settings(disable_plugin_autoload=True))
    assert "zscore_reversion" not in plugins.registries.strategies
    assert "sma_cross" in plugins.registries.strategies


def test_blocked_entry_point_plugin_is_not_loaded() -> None:
    plugins = Plugins.load(Settings(blocked_plugins=["example"]))
    assert "zscore_reversion" not in plugins.registries.strategies


def test_blocked_builtin_is_not_loaded() -> None:
    plugins = Plugins.load(Settings(blocked_plugins=["stratforge.sizers"]))
    assert len(plugins.registries.sizers) == 0


def test_directory_plugin_is_loaded(write_plugin) -> None:
    directory = write_plugin("holder", DIR_PLUGIN)
    plugins = Plugins.load(Settings(plugins_dirs=[directory]))
    entry = plugins.registries.strategies.entry("hold_forever")
    assert entry.plugin == "holder"


def test_directory_plugin_from_environment(write_plugin, monkeypatch) -> None:
    directory = write_plugin("holder", DIR_PLUGIN)
    monkeypatch.setenv("STRATFORGE_PLUGINS_DIR", str(directory))
    assert "hold_forever" in Plugins.load(Settings()).registries.strategies


def test_directory_plugin_can_be_blocked(write_plugin) -> None:
    directory = write_plugin("holder", DIR_PLUGIN)
    plugins = Plugins.load(Settings(plugins_dirs=[directory], blocked_plugins=["holder"]))
    assert "hold_forever" not in plugins.registries.strategies


def test_duplicate_across_plugins_fails_naming_both(write_plugin) -> None:
    source = DIR_PLUGIN.replace('name="hold_forever"', 'name="sma_cross"')
    directory = write_plugin("copycat", source)
    with pytest.raises(DuplicateNameError) as info:
        Plugins.load(Settings(plugins_dirs=[directory]))
    assert "'stratforge.strategies'" in str(info.value) and "'copycat'" in str(info.value)


def test_broken_plugin_file_is_named(write_plugin) -> None:
    directory = write_plugin("broken", "import does_not_exist_anywhere\n")
    with pytest.raises(PluginLoadError, match=r"broken\.py failed to import"):
        Plugins.load(Settings(plugins_dirs=[directory]))


def test_missing_plugins_directory_is_an_error(tmp_path) -> None:
    with pytest.raises(PluginLoadError, match="does not exist"):
        Plugins.load(Settings(plugins_dirs=[tmp_path / "nope"]))


def test_each_manager_is_independent(write_plugin) -> None:
    directory = write_plugin("holder", DIR_PLUGIN)
    with_dir = Plugins.load(Settings(plugins_dirs=[directory]))
    without = Plugins.load(Settings())
    assert "hold_forever" in with_dir.registries.strategies
    assert "hold_forever" not in without.registries.strategies
    assert with_dir.manager is not without.manager


def test_a_misspelled_hook_fails_loading_naming_the_plugin(write_plugin) -> None:
    """pluggy would ignore a hook nobody specified: a typo must not silently drop a plugin."""
    directory = write_plugin(
        "typo",
        "import backtrader as bt\nfrom stratforge import hookimpl\n"
        "class S(bt.Strategy):\n    pass\n"
        "@hookimpl\ndef register_strategie(register):\n    register(S, name='s')\n",
    )
    with pytest.raises(PluginLoadError) as info:
        Plugins.load(Settings(plugins_dirs=[directory], disable_plugin_autoload=True))
    message = str(info.value)
    assert "plugin 'typo' implements 'register_strategie'" in message
    assert "did you mean 'register_strategies'" in message


def test_an_error_in_a_plugins_registration_names_the_plugin_and_hook(write_plugin) -> None:
    directory = write_plugin(
        "fragile",
        "from stratforge import hookimpl\n"
        "@hookimpl\ndef register_indicators(register):\n    raise ValueError('no config file')\n",
    )
    with pytest.raises(PluginLoadError) as info:
        Plugins.load(Settings(plugins_dirs=[directory], disable_plugin_autoload=True))
    assert str(info.value) == (
        "plugin 'fragile' failed in register_indicators: ValueError: no config file"
    )
