"""stratforge.run_backtest against bare backtrader on the same SMA crossover and data.

Prints, per data size, the best-of-N wall time of:
  * stratforge   - ``stratforge.run_backtest`` (ArrayFeed, result collection included)
  * bare         - backtrader as users write it: ``bt.feeds.PandasData``, default Cerebro
  * bare-nostats - the same with ``stdstats=False`` (no observers), a stricter baseline
and the ratios stratforge / bare. Both runs must end at the same account value.

    .venv/bin/python bench/overhead.py              # 2,500 daily and 250,000 minute bars
    .venv/bin/python bench/overhead.py --quick      # 2,500 and 25,000 bars
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable

import backtrader as bt
import pandas as pd

from stratforge import RunSpec, run_backtest
from stratforge.core.engine import default_plugins
from stratforge.data import generate_synthetic

FAST, SLOW = 10, 30
CASH = 100_000.0


class BareSmaCross(bt.Strategy):
    """The strategy a backtrader user writes: reverse on each SMA cross."""

    params = (("fast", FAST), ("slow", SLOW))

    def __init__(self) -> None:
        fast = bt.ind.SMA(self.data.close, period=self.p.fast)
        slow = bt.ind.SMA(self.data.close, period=self.p.slow)
        self.cross = bt.ind.CrossOver(fast, slow)

    def next(self) -> None:
        if self.cross[0] > 0:
            self.order_target_size(target=1)
        elif self.cross[0] < 0:
            self.order_target_size(target=-1)


def bare(frame: pd.DataFrame, *, stdstats: bool) -> float:
    cerebro = bt.Cerebro(stdstats=stdstats)
    cerebro.adddata(bt.feeds.PandasData(dataname=frame))
    cerebro.addstrategy(BareSmaCross)
    cerebro.broker.setcash(CASH)
    cerebro.run()
    return cerebro.broker.getvalue()


def forge(frame: pd.DataFrame) -> float:
    spec = RunSpec.model_validate(
        {"strategy": {"name": "sma_cross", "params": {"fast": FAST, "slow": SLOW}}, "cash": CASH}
    )
    return run_backtest(spec, frame=frame).metrics.end_value


def best_time(fn: Callable[[], float], repeat: int) -> tuple[float, float]:
    times, value = [], 0.0
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - started)
    return min(times), value


def measure(label: str, frame: pd.DataFrame, repeat: int) -> None:
    forge_s, forge_value = best_time(lambda: forge(frame), repeat)
    bare_s, bare_value = best_time(lambda: bare(frame, stdstats=True), repeat)
    nostats_s, nostats_value = best_time(lambda: bare(frame, stdstats=False), repeat)
    if not forge_value == bare_value == nostats_value:
        raise SystemExit(f"results differ: {forge_value} vs {bare_value} vs {nostats_value}")
    print(
        f"{label:>22} | stratforge {forge_s:7.2f} s | bare {bare_s:7.2f} s | "
        f"bare-nostats {nostats_s:7.2f} s | ratio {forge_s / bare_s:.2f} "
        f"(vs nostats {forge_s / nostats_s:.2f}) | final value {forge_value:,.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="25,000 minute bars, not 250,000")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case for daily data")
    args = parser.parse_args()
    default_plugins()  # plugin discovery is a one-off start-up cost, not per run
    minute_bars = 25_000 if args.quick else 250_000
    daily = generate_synthetic(bars=2_500, seed=1)
    minutes = generate_synthetic(bars=minute_bars, timeframe="minutes", seed=1)
    print(f"backtrader {bt.__version__}, pandas {pd.__version__}; SMA({FAST})/SMA({SLOW}) cross")
    measure("2,500 daily bars", daily, args.repeat)
    measure(f"{minute_bars:,} minute bars", minutes, 1 if minute_bars > 100_000 else args.repeat)


if __name__ == "__main__":
    main()
