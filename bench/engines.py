"""stratforge against bare backtrader and backtesting.py: time and peak RSS, side by side.

The same long-only SMA(10)/SMA(30) cross of the close on the same bars, in every engine: buy a
fixed 100 units when the fast SMA crosses above the slow one, close the position when it
crosses below, market orders filled at the next bar's open, no commission, 100,000 cash. Each
engine and size runs in a fresh Python process, so its peak RSS (``ru_maxrss``) is that run's
own; the process also reports its RSS after the imports (the baseline) and the import time.
The timed part is what a user's script does after its imports: read the shared Parquet file,
run the backtest, collect the result:

  * stratforge  - ``run_backtest(RunSpec(...))`` with the ``parquet`` source; the whole
                  ``RunResult`` is built (per-bar equity, trades, orders, indicators, metrics)
  * backtrader  - ``pandas.read_parquet``, ``bt.feeds.PandasData``, default ``Cerebro()``
                  (its standard observers on, as users run it), closed trades counted in
                  ``notify_trade``, ``broker.getvalue()``
  * backtesting - backtesting.py: ``pandas.read_parquet``, ``Backtest(...).run()`` (which
                  computes its statistics), SMAs as ``pandas`` rolling means, ``crossover``

The script stops with an error unless every engine closes the same number of trades and ends
at the same account value (within 1e-6 relative). Open trades at the end are marked to the
last close everywhere (backtesting.py's ``finalize_trades=False``), and not counted as trades.

    .venv/bin/python bench/engines.py            # 2,500 daily, 250,000 and 1,000,000 minute bars
    .venv/bin/python bench/engines.py --quick    # 2,500 daily and 25,000 minute bars
    .venv/bin/python bench/engines.py --sizes 100000m --repeat 3 --engines stratforge,backtrader

A size of at most 10,000 bars means daily bars unless it ends in ``m`` (``d`` forces daily).
backtesting.py is the optional extra ``bench`` (``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import resource
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FAST, SLOW = 10, 30
STAKE = 100
CASH = 100_000.0
TOLERANCE = 1e-6
ENGINES = ("stratforge", "backtrader", "backtesting")
BASELINE = "backtrader"
DAILY_MAX = 10_000
DEFAULT_SIZES = "2500,250000,1000000"
QUICK_SIZES = "2500,25000"
PACKAGES = ("stratforge", "backtrader", "backtesting", "pandas", "numpy", "pyarrow")

Outcome = dict[str, Any]
Runner = Callable[[str], Outcome]


# --- the engines (each imported only inside its own child process) --------------------------


def stratforge_runner() -> Runner:
    """stratforge as a user calls it: one RunSpec naming the Parquet file, a RunResult back."""
    from stratforge import RunSpec, run_backtest
    from stratforge.core.engine import default_plugins

    default_plugins()  # plugin discovery: part of start-up, like the imports

    def run(path: str) -> Outcome:
        spec = RunSpec.model_validate(
            {
                "data": {"source": "parquet", "args": {"path": path}},
                "strategy": {
                    "name": "sma_cross",
                    "params": {"fast": FAST, "slow": SLOW, "long_only": True},
                },
                "sizer": {"name": "fixed", "params": {"stake": STAKE}},
                "cash": CASH,
            }
        )
        result = run_backtest(spec)
        metrics = result.metrics
        return {"trades": metrics.trades, "equity": metrics.end_value, "bars": metrics.bars}

    return run


def backtrader_runner() -> Runner:
    """Bare backtrader as its documentation writes it."""
    import backtrader as bt
    import pandas as pd

    class LongOnlySmaCross(bt.Strategy):
        params = (("fast", FAST), ("slow", SLOW), ("stake", STAKE))

        def __init__(self) -> None:
            fast = bt.ind.SMA(self.data.close, period=self.p.fast)
            slow = bt.ind.SMA(self.data.close, period=self.p.slow)
            self.cross = bt.ind.CrossOver(fast, slow)
            self.closed = 0

        def next(self) -> None:
            if self.cross[0] > 0 and not self.position:
                self.buy(size=self.p.stake)
            elif self.cross[0] < 0 and self.position:
                self.close()

        def notify_trade(self, trade: Any) -> None:
            self.closed += int(trade.isclosed)

    def run(path: str) -> Outcome:
        frame = pd.read_parquet(path)
        cerebro = bt.Cerebro()
        cerebro.adddata(bt.feeds.PandasData(dataname=frame))
        cerebro.addstrategy(LongOnlySmaCross)
        cerebro.broker.setcash(CASH)
        strategy = cerebro.run()[0]
        value = cerebro.broker.getvalue()
        return {"trades": strategy.closed, "equity": value, "bars": len(strategy.data)}

    return run


def backtesting_runner() -> Runner:
    """backtesting.py as its quick-start writes it (SMA as a pandas rolling mean)."""
    import warnings

    import pandas as pd
    from backtesting import Backtest, Strategy
    from backtesting.lib import crossover

    warnings.filterwarnings("ignore", message="Some trades remain open")

    def sma(values: Any, n: int) -> Any:
        return pd.Series(values).rolling(n).mean()

    class LongOnlySmaCross(Strategy):
        fast, slow, stake = FAST, SLOW, STAKE

        def init(self) -> None:
            self.fast_sma = self.I(sma, self.data.Close, self.fast)
            self.slow_sma = self.I(sma, self.data.Close, self.slow)

        def next(self) -> None:
            if crossover(self.fast_sma, self.slow_sma):
                if not self.position:
                    self.buy(size=self.stake)  # an integer >= 1 is whole units
            elif crossover(self.slow_sma, self.fast_sma) and self.position:
                self.position.close()

    def run(path: str) -> Outcome:
        frame = pd.read_parquet(path).rename(columns=str.capitalize)
        test = Backtest(
            frame,
            LongOnlySmaCross,
            cash=CASH,
            commission=0.0,
            trade_on_close=False,  # market orders fill at the next bar's open
            finalize_trades=False,  # an open trade stays open, marked to the last close
        )
        stats = test.run()
        return {
            "trades": int(stats["# Trades"]),
            "equity": float(stats["Equity Final [$]"]),
            "bars": len(frame),
        }

    return run


RUNNERS: dict[str, Callable[[], Runner]] = {
    "stratforge": stratforge_runner,
    "backtrader": backtrader_runner,
    "backtesting": backtesting_runner,
}


def peak_rss_mib() -> float:
    """This process's peak resident set so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def high_water_mib() -> float | None:
    """VmHWM: the peak RSS of this process's own memory map (Linux), to cross-check
    ru_maxrss, which would also count a larger parent's figure inherited across exec."""
    status = Path("/proc/self/status")
    if not status.exists():
        return None
    for line in status.read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def child(engine: str, path: str) -> None:
    """One measured run, in its own process; prints one JSON line for the parent."""
    started = time.perf_counter()
    run = RUNNERS[engine]()
    imported = time.perf_counter()
    baseline = peak_rss_mib()
    outcome = run(path)
    finished = time.perf_counter()
    outcome.update(
        engine=engine,
        import_s=imported - started,
        seconds=finished - imported,
        baseline_mib=baseline,
        peak_mib=peak_rss_mib(),
        hwm_mib=high_water_mib(),
    )
    print(json.dumps(outcome))


def make_data(path: str, bars: int, timeframe: str) -> None:
    """Write the shared bars (stratforge's seeded generator) as Parquet, in its own process."""
    from stratforge.data import generate_synthetic

    frame = generate_synthetic(bars=bars, timeframe=timeframe, seed=1)
    frame.to_parquet(path)
    print(json.dumps({"bars": len(frame)}))


# --- the parent: stays small (no pandas), so no child inherits a large ru_maxrss -----------


@dataclass(frozen=True)
class Size:
    bars: int
    timeframe: str  # "days" or "minutes"

    @property
    def label(self) -> str:
        return f"{self.bars:,} {'daily' if self.timeframe == 'days' else 'minute'} bars"


def parse_sizes(text: str) -> list[Size]:
    sizes = []
    for item in text.split(","):
        item = item.strip().lower().replace("_", "")
        if item.endswith(("d", "m")):
            sizes.append(Size(int(item[:-1]), "days" if item[-1] == "d" else "minutes"))
        else:
            bars = int(item)
            sizes.append(Size(bars, "days" if bars <= DAILY_MAX else "minutes"))
    return sizes


def child_env() -> dict[str, str]:
    """The caller's environment, without this repository's example project plugins."""
    return {**os.environ, "STRATFORGE_PROJECT": "0", "PYTHONWARNINGS": "ignore"}


def run_child(argv: list[str], max_rss_mib: float | None = None) -> dict[str, Any]:
    """Run this interpreter on *argv*; return the JSON of its last stdout line.

    With *max_rss_mib* the child is killed when its resident set passes that much (the
    machine is shared: a run that runs away must not take everyone's memory)."""
    process = subprocess.Popen(
        [sys.executable, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(),
    )
    killed: list[float] = []
    if max_rss_mib is not None:
        watch = threading.Thread(
            target=_watch_rss, args=(process, max_rss_mib, killed), daemon=True
        )
        watch.start()
    out, err = process.communicate()
    if killed:
        raise SystemExit(f"{' '.join(argv)}: killed at {killed[0]:,.0f} MiB RSS")
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({process.returncode}):\n{err[-4000:]}")
    return dict(json.loads(out.strip().splitlines()[-1]))


def _watch_rss(process: subprocess.Popen[str], limit: float, killed: list[float]) -> None:
    status = Path(f"/proc/{process.pid}/status")
    while process.poll() is None:
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines())
        except (OSError, ValueError):
            return
        rss = int(fields.get("VmRSS", "0 kB").split()[0]) / 1024
        if rss > limit:
            killed.append(rss)
            process.kill()
            return
        time.sleep(0.2)


def machine_lines() -> list[str]:
    """Cores, RAM, Python and package versions, and the command, for the printed figures."""
    memory = "?"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        total_kib = int(meminfo.read_text().split()[1])
        memory = f"{total_kib / 2**20:.1f} GiB"
    versions = []
    for name in PACKAGES:
        try:
            versions.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        f"machine: {os.cpu_count()} cores, {memory} RAM, load {load}, {platform.platform()}",
        f"Python {platform.python_version()}; " + ", ".join(versions),
        f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "command: " + shlex.join([Path(sys.executable).name, *sys.argv]),
    ]


def measure_size(size: Size, engines: list[str], repeat: int, folder: Path) -> list[Outcome]:
    """Every engine on one size, *repeat* times each, interleaved; the best run of each."""
    path = folder / f"bars-{size.bars}-{size.timeframe}.parquet"
    run_child([__file__, "--make-data", str(path), str(size.bars), size.timeframe])
    runs: dict[str, list[Outcome]] = {engine: [] for engine in engines}
    for attempt in range(repeat):
        for i in range(len(engines)):
            engine = engines[(i + attempt) % len(engines)]  # rotate who goes first
            runs[engine].append(run_child([__file__, "--child", engine, str(path)]))
    path.unlink()
    every = [run for engine in engines for run in runs[engine]]
    difference = check_agreement(size, every)
    print(
        f"{size.label}: {len(engines)} engines agree: {every[0]['trades']:,} trades, "
        f"final values within {difference:.1e} relative"
    )
    for run in every:
        hwm = run.get("hwm_mib")
        if hwm is not None and run["peak_mib"] > 1.05 * hwm + 10:
            print(f"  note: {run['engine']}: ru_maxrss {run['peak_mib']:.0f} MiB, VmHWM {hwm:.0f}")
    best = []
    for engine in engines:
        fastest = min(runs[engine], key=lambda r: r["seconds"])
        best.append({**fastest, "peak_mib": max(r["peak_mib"] for r in runs[engine])})
    return best


def check_agreement(size: Size, outcomes: list[Outcome]) -> float:
    """Stop unless every engine closed the same trades and ended at the same value; return
    the largest relative difference of the final values."""
    first, largest = outcomes[0], 0.0
    for other in outcomes[1:]:
        relative = abs(other["equity"] - first["equity"]) / abs(first["equity"])
        largest = max(largest, relative)
        if other["trades"] != first["trades"] or relative > TOLERANCE:
            raise SystemExit(
                f"{size.label}: engines disagree: "
                + "; ".join(
                    f"{o['engine']} {o['trades']} trades, {o['equity']!r}" for o in outcomes
                )
            )
    return largest


def print_table(results: list[tuple[Size, list[Outcome]]], repeat_note: str) -> None:
    print()
    print(f"Long-only SMA({FAST})/SMA({SLOW}) cross, {STAKE} units, next-open fills, no commission")
    print(f"time: read + backtest + result, {repeat_note}; RSS: ru_maxrss of each run's process")
    header = (
        f"{'data':>22} | {'engine':<11} | {'time s':>8} | {'x ' + BASELINE:>12} | "
        f"{'peak MiB':>8} | {'x ' + BASELINE:>12} | {'import MiB':>10} | {'import s':>8} | "
        f"{'trades':>7} | final equity"
    )
    print(header)
    print("-" * len(header))
    for size, outcomes in results:
        base = next((o for o in outcomes if o["engine"] == BASELINE), None)
        for o in outcomes:
            time_ratio = f"{o['seconds'] / base['seconds']:.2f}" if base else "-"
            rss_ratio = f"{o['peak_mib'] / base['peak_mib']:.2f}" if base else "-"
            print(
                f"{size.label:>22} | {o['engine']:<11} | {o['seconds']:8.2f} | {time_ratio:>12} | "
                f"{o['peak_mib']:8.0f} | {rss_ratio:>12} | {o['baseline_mib']:10.0f} | "
                f"{o['import_s']:8.2f} | {o['trades']:7,} | {o['equity']:,.4f}"
            )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default=None, help=f"bars per case (default {DEFAULT_SIZES})")
    parser.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES}")
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="fresh runs per engine and size, best time kept (default 3 up to 100,000 bars, "
        "else 1)",
    )
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--child", nargs=2, metavar=("ENGINE", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--make-data", nargs=3, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    if args.child:
        child(*args.child)
        return
    if args.make_data:
        make_data(args.make_data[0], int(args.make_data[1]), args.make_data[2])
        return
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = sorted(set(engines) - set(ENGINES))
    if unknown:
        raise SystemExit(f"unknown engines {unknown}; choose from {', '.join(ENGINES)}")
    sizes = parse_sizes(args.sizes or (QUICK_SIZES if args.quick else DEFAULT_SIZES))
    print("\n".join(machine_lines()))
    results = []
    with tempfile.TemporaryDirectory(prefix="sf-engines-") as temp:
        for size in sizes:
            repeat = args.repeat or (3 if size.bars <= 100_000 else 1)
            started = time.perf_counter()
            outcomes = measure_size(size, engines, repeat, Path(temp))
            print(f"{size.label}: {repeat} run(s) each, {time.perf_counter() - started:.0f} s")
            results.append((size, outcomes))
    note = f"best of {args.repeat}" if args.repeat else "best of 3 up to 100,000 bars, else 1 run"
    print_table(results, note)
    if args.json:
        payload = [{"size": s.label, "runs": o} for s, o in results]
        args.json.write_text(json.dumps({"machine": machine_lines(), "results": payload}, indent=1))


if __name__ == "__main__":
    main()
