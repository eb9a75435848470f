"""What the built-in plugin set costs: strategies, analyzers, risk rules, the look-ahead check.

Prints best-of-N wall times and ratios against the plain SMA crossover on the same data:
  * each built-in strategy on 2,500 daily bars (futures ones on a rolled ES/GC/ZB/CL chain)
  * the SMA crossover with all nine risk/performance analyzers, and with all five risk rules
  * the look-ahead check (10 cuts) of the SMA crossover and of trend following

    .venv/bin/python bench/builtins.py
    .venv/bin/python bench/builtins.py --repeat 1    # quicker, noisier
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from stratforge import RunSpec, run_backtest
from stratforge.analyzers.risk import RISK_ANALYZERS
from stratforge.core.engine import default_plugins
from stratforge.core.lookahead import check_lookahead

BARS = 2500
STOCK = {"source": "synthetic", "args": {"bars": BARS}}
ANALYZERS = list(RISK_ANALYZERS)
RULES = [
    {"name": "max_position", "params": {"max_size": 5000}},
    {"name": "max_gross_exposure", "params": {"max_exposure": 1.0}},
    {"name": "max_daily_loss", "params": {"max_loss": 0.05}},
    {"name": "bracket", "params": {"stop_loss": 0.05, "take_profit": 0.1}},
    {"name": "max_orders_per_day", "params": {"max_orders": 5}},
]


def futures(root: str, seed: int) -> dict[str, Any]:
    return {"source": "synthetic", "root": root, "args": {"bars": BARS, "seed": seed}}


def spec(strategy: str, data: Any = STOCK, **extra: Any) -> RunSpec:
    payload = {"data": data, "strategy": {"name": strategy}, "cash": 5_000_000.0, **extra}
    return RunSpec.model_validate(payload)


def best(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    plugins = default_plugins()
    markets = [futures("ES", 1), futures("GC", 2), futures("ZB", 3), futures("CL", 4)]
    sizer = {"sizer": {"name": "percent", "params": {"percent": 50}}}
    cases: dict[str, RunSpec] = {
        "sma_cross (baseline)": spec("sma_cross", **sizer),
        "sma_cross + 9 analyzers": spec(
            "sma_cross", analyzers=[{"name": n} for n in ANALYZERS], **sizer
        ),
        "sma_cross + 5 risk rules": spec("sma_cross", risk=RULES, **sizer),
        "donchian_breakout": spec("donchian_breakout", **sizer),
        "turtle": spec("turtle"),
        "trend_following (ES)": spec("trend_following", markets[0]),
        "multi_market_trend (4 roots)": spec("multi_market_trend", markets),
        "carry (4 roots)": spec("carry", markets),
        "ml_classifier": spec("ml_classifier", **sizer),
    }
    baseline = None
    print(f"{'case':34} {'seconds':>8} {'x baseline':>10}")
    for name, case in cases.items():
        seconds = best(lambda case=case: run_backtest(case, plugins=plugins), args.repeat)
        baseline = baseline or seconds
        print(f"{name:34} {seconds:8.3f} {seconds / baseline:10.2f}")
    for name, case in (
        ("check-lookahead sma_cross", cases["sma_cross (baseline)"]),
        ("check-lookahead trend_following", cases["trend_following (ES)"]),
    ):
        seconds = best(lambda case=case: check_lookahead(case, plugins=plugins), 1)
        print(f"{name:34} {seconds:8.3f} {seconds / (baseline or 1):10.2f}")


if __name__ == "__main__":
    main()
