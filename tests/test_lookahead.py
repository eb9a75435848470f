"""The look-ahead check: a planted peeking strategy fails it, every built-in passes it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import backtrader as bt
import pytest

from stratforge import RunSpec
from stratforge.core.lookahead import check_lookahead
from stratforge.core.plugins import Plugins
from stratforge.core.settings import Settings


class PeekingStrategy(bt.Strategy):
    """Buys when the next bar closes higher: reads one bar ahead (while there is one).

    Params:
        stake: units per order
    """

    params = (("stake", 1),)

    def next(self) -> None:
        peek = len(self.data) < self.data.buflen()
        if peek and self.data.close[1] > self.data.close[0]:
            if not self.position:
                self.buy(size=self.p.stake)
        elif self.position:
            self.close()


class TomorrowsClose(bt.Indicator):
    """The next bar's close: an indicator that looks ahead."""

    lines = ("tomorrow",)

    def __init__(self) -> None:
        self.lines.tomorrow = self.data.close(1)


class PeekingIndicatorStrategy(bt.Strategy):
    """Trades on an indicator that reads the next bar."""

    def __init__(self) -> None:
        self.tomorrow = TomorrowsClose(self.data)

    def next(self) -> None:
        if self.tomorrow[0] > self.data.close[0] and not self.position:
            self.buy()
        elif self.tomorrow[0] < self.data.close[0] and self.position:
            self.close()


@pytest.fixture(scope="module")
def plugins() -> Plugins:
    loaded = Plugins.load(Settings())
    loaded.registries.strategies.register(PeekingStrategy, name="peeking", plugin="tests")
    loaded.registries.strategies.register(
        PeekingIndicatorStrategy, name="peeking_indicator", plugin="tests"
    )
    return loaded


def futures(root: str, seed: int = 1, bars: int = 700) -> dict[str, Any]:
    return {"source": "synthetic", "root": root, "args": {"bars": bars, "seed": seed}}


STOCK = {"source": "synthetic", "args": {"bars": 700, "seed": 2}}
BUILTIN_CASES: dict[str, dict[str, Any]] = {
    "sma_cross": {"data": STOCK},
    "donchian_breakout": {"data": STOCK},
    "rsi_reversion": {"data": STOCK},
    "bollinger_reversion": {"data": STOCK},
    "trend_following": {"data": futures("ES"), "strategy_params": {"lookback": 120}},
    "multi_market_trend": {
        "data": [futures("ES"), futures("GC", 2), futures("ZB", 3)],
        "strategy_params": {"lookback": 120},
    },
    "turtle": {"data": futures("CL")},
    "carry": {"data": [futures("CL"), futures("GC", 2)]},
    "ml_classifier": {
        "data": {"source": "synthetic", "args": {"bars": 500, "seed": 3}},
        "strategy_params": {
            "min_train": 150,
            "retrain_every": 60,
            "estimator_params": {"n_estimators": 15, "max_depth": 4},
        },
    },
}


def spec_for(name: str) -> RunSpec:
    case = BUILTIN_CASES[name]
    return RunSpec.model_validate(
        {
            "data": case["data"],
            "strategy": {"name": name, "params": case.get("strategy_params", {})},
            "cash": 1_000_000.0,
        }
    )


def test_every_builtin_strategy_has_a_lookahead_case(plugins: Plugins) -> None:
    builtins = {
        e.name
        for e in plugins.registries.strategies.entries()
        if e.plugin == "stratforge.strategies"
    }
    assert builtins == set(BUILTIN_CASES)


@pytest.mark.parametrize("name", sorted(BUILTIN_CASES))
def test_builtin_strategies_pass(plugins: Plugins, name: str) -> None:
    report = check_lookahead(spec_for(name), plugins=plugins, samples=4)
    assert report.cuts, "the check must actually cut the data somewhere"
    assert report.passed, report.findings


def test_planted_peeking_strategy_is_flagged(plugins: Plugins) -> None:
    spec = RunSpec.model_validate({"data": STOCK, "strategy": {"name": "peeking"}})
    report = check_lookahead(spec, plugins=plugins, samples=5)
    assert not report.passed
    assert len(report.cuts) == 5
    assert all(f.kind == "order" for f in report.findings)
    assert "only happens with later bars available" in report.findings[0].detail
    assert report.to_dict()["passed"] is False


def test_peeking_indicator_is_flagged(plugins: Plugins) -> None:
    spec = RunSpec.model_validate({"data": STOCK, "strategy": {"name": "peeking_indicator"}})
    report = check_lookahead(spec, plugins=plugins, samples=3)
    assert not report.passed
    assert {f.kind for f in report.findings} & {"indicator", "error", "order"}


PEEKING_PLUGIN = '''
import backtrader as bt
from stratforge import hookimpl


class Peeking(bt.Strategy):
    """Reads the next bar.

    Params:
        stake: units per order
    """

    params = (("stake", 1),)

    def next(self):
        if len(self.data) < self.data.buflen() and self.data.close[1] > self.data.close[0]:
            if not self.position:
                self.buy(size=self.p.stake)
        elif self.position:
            self.close()


@hookimpl
def register_strategies(register):
    register(Peeking, name="peeking")
'''


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stratforge", *args], capture_output=True, text=True, timeout=300
    )


def test_cli_exit_codes(write_plugin, tmp_path: Path) -> None:
    directory = write_plugin("peek", PEEKING_PLUGIN)
    flagged = cli(
        "--plugins-dir", str(directory), "check-lookahead", "-s", "peeking", "--samples", "2"
    )
    assert flagged.returncode == 1, flagged.stderr
    assert "FAILED" in flagged.stdout and "only happens with later bars" in flagged.stdout

    clean = cli("check-lookahead", "-s", "sma_cross", "--samples", "2", "--json")
    assert clean.returncode == 0, clean.stderr
    assert json.loads(clean.stdout)["passed"] is True

    bad = cli("check-lookahead", "-s", "sma_crosss")
    assert bad.returncode == 2 and "did you mean 'sma_cross'" in bad.stderr
