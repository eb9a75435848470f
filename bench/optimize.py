"""Parameter searches: stratforge's optimiser, serial and on Ray, against backtrader's optstrategy.

The SMA-crossover grid fast 5..50 step 5 x slow 20..200 step 20: 100 trials, no constraint,
so the 10 combinations with fast >= slow run too (the bench plugin's ``bench_sma_cross`` is
stratforge's ``sma_cross`` without its ``fast < slow`` check). Each configuration runs in its
own child process, so its peak RSS is its own:

  * optstrategy(1)           - ``cerebro.optstrategy(BareSmaCross, ...)`` on
                               ``bt.feeds.PandasData``, ``maxcpus=1`` (reloads per trial)
  * optstrategy(2)           - the same with ``maxcpus=2`` (preloads once, pickles the
                               Cerebro into every task); both ``stdstats=False``, for fairness
  * optstrategy(2) observers - ``maxcpus=2`` with backtrader's default ``stdstats=True``
  * serial                   - ``optimize(...)`` with the serial executor
  * Ray warm                 - ``optimize(...)`` on Ray, 2 workers, with Ray started and its
                               workers used by a small search first (the server's case)
  * Ray cold                 - a fresh process: ``RayExecutor(workers=2)`` starts Ray and
                               ``close()`` shuts it down, both timed (the CLI's case)

on 2,500 daily bars (best of --repeat runs) and on 250,000 one-minute bars (a 4-trial subset
of the grid, fast 10, 20 x slow 100, 200, one run; --skip-minutes leaves it out). Every
configuration must end every trial at the same account value. stratforge reads the data
through a bench plugin source (``bench_frame``: a Parquet file written here), loaded by the
driver and by the Ray workers through ``Settings(plugins_dirs=...)``.

Memory: the driver's peak RSS (VmHWM, see ``vm_hwm_kib``) of a 1,000-trial grid (fast 1..50
x slow 20..210 step 10) against the 100-trial grid, both on Ray (cold, 2 workers), 500 daily
bars. Prints each run with the CPU time other processes used meanwhile and the VM's steal time
(the machine may be shared), then a table (wall time, speed-up against serial and against
optstrategy(2), peak RSS) and whether each target is met.

    .venv/bin/python bench/optimize.py                  # about 11 minutes on 2 cores
    .venv/bin/python bench/optimize.py --skip-minutes   # daily grid and memory, about 7
    .venv/bin/python bench/optimize.py --sections minutes --minute-repeat 3
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import backtrader as bt
import pandas as pd
from overhead import BareSmaCross

from stratforge.core.executors import RayExecutor
from stratforge.core.optimize import OptimizeSpec, SearchResult, optimize
from stratforge.core.plugins import Plugins
from stratforge.core.settings import Settings
from stratforge.data import generate_synthetic

CASH = 100_000.0
Grid = dict[str, tuple[int, int, int]]  # name -> (start, stop inclusive, step)
GRIDS: dict[str, Grid] = {
    "grid100": {"fast": (5, 50, 5), "slow": (20, 200, 20)},
    "subset4": {"fast": (10, 20, 10), "slow": (100, 200, 100)},
    "grid1000": {"fast": (1, 50, 1), "slow": (20, 219, 10)},
    "warmup": {"fast": (5, 10, 5), "slow": (20, 40, 20)},
}
MiB = 1024  # ru_maxrss and VmHWM are in KiB

PLUGIN = '''"""Bench plugin: a data source reading a Parquet file as it is, and sma_cross without
its fast < slow check (backtrader's optstrategy runs fast >= slow too)."""

import pandas as pd

from stratforge import hookimpl
from stratforge.strategies.classic import SmaCross


def bench_frame(*, path: str) -> pd.DataFrame:
    """The frame written by bench/optimize.py.

    Args:
        path: Parquet file.
    """
    return pd.read_parquet(path)


class BenchSmaCross(SmaCross):
    """SMA crossover, any positive periods.

    Params:
        fast: period of the fast simple moving average, in bars
        slow: period of the slow simple moving average, in bars
    """

    @classmethod
    def check_params(cls, params):
        if min(params.get("fast", 1), params.get("slow", 1)) < 1:
            raise ValueError("periods must be positive")


@hookimpl
def register_data_sources(register):
    register(bench_frame, name="bench_frame")


@hookimpl
def register_strategies(register):
    register(BenchSmaCross, name="bench_sma_cross")
'''

CONFIGS = {
    "bt1": "optstrategy(maxcpus=1)",
    "bt2": "optstrategy(maxcpus=2)",
    "bt2-stats": "optstrategy(maxcpus=2), observers",
    "serial": "stratforge serial",
    "ray-warm": "stratforge Ray warm",
    "ray-cold": "stratforge Ray cold",
}


# -- child process: one measured configuration -----------------------------------------


class FinalValue(bt.Analyzer):
    """The account value when the run stops; kept by optstrategy's OptReturn."""

    def stop(self) -> None:
        self.value = self.strategy.broker.getvalue()

    def get_analysis(self) -> dict[str, float]:
        return {"value": self.value}


def values_of(dim: tuple[int, int, int]) -> list[int]:
    start, stop, step = dim
    return list(range(start, stop + 1, step))


def bare_search(frame: pd.DataFrame, grid: Grid, maxcpus: int, stdstats: bool) -> dict:
    cerebro = bt.Cerebro(stdstats=stdstats, maxcpus=maxcpus)  # optreturn=True, optdatas=True
    cerebro.adddata(bt.feeds.PandasData(dataname=frame))
    cerebro.optstrategy(BareSmaCross, **{name: values_of(dim) for name, dim in grid.items()})
    cerebro.addanalyzer(FinalValue, _name="final")
    cerebro.broker.setcash(CASH)
    results = cerebro.run()
    return {f"{r[0].params.fast},{r[0].params.slow}": r[0].analyzers.final.value for r in results}


def search_spec(data: Path, grid: Grid, executor: str, trials: int | None = None) -> OptimizeSpec:
    return OptimizeSpec.model_validate(
        {
            "base": {
                "strategy": {"name": "bench_sma_cross"},
                "data": {"source": "bench_frame", "args": {"path": str(data)}},
                "cash": CASH,
            },
            "space": {
                name: {"kind": "int", "start": a, "stop": b, "step": c}
                for name, (a, b, c) in grid.items()
            },
            "executor": executor,
            "workers": 2 if executor == "ray" else None,
            "trials": trials,
        }
    )


def forge_values(result: SearchResult) -> dict[str, float]:
    bad = [t for t in result.trials if t.status != "completed"]
    if bad:
        raise SystemExit(f"{len(bad)} trials did not complete, e.g. {bad[0].error}")
    return {f"{t.params['fast']},{t.params['slow']}": t.metrics["end_value"] for t in result.trials}


def vm_hwm_kib(pid: int | str = "self") -> int:
    """Peak RSS of a process's current address space, in KiB (0 if it is gone).

    Not ``ru_maxrss``: Linux carries a process's ``ru_maxrss`` over ``execve``, and
    ``subprocess`` starts children with vfork + exec, so a child's ``ru_maxrss`` starts at the
    bench driver's peak (340 MiB after generating the minute bars). ``VmHWM`` starts afresh.
    """
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def descendants_peak_kib() -> int:
    """Sum of the peak RSS (VmHWM) of this process's live descendants (Ray's processes)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    total, stack = 0, [os.getpid()]
    while stack:
        for pid in children.get(stack.pop(), []):
            stack.append(pid)
            total += vm_hwm_kib(pid)
    return total


def child(config: str, data: Path, grid_name: str, warm_data: Path, plugins_dir: Path) -> None:
    grid = GRIDS[grid_name]
    extra: dict[str, Any] = {}
    if config.startswith("bt"):
        frame = pd.read_parquet(data)
        maxcpus = 1 if config == "bt1" else 2
        gc.collect()
        started = time.perf_counter()
        values = bare_search(frame, grid, maxcpus, stdstats=config == "bt2-stats")
        seconds = time.perf_counter() - started
        deadline = time.monotonic() + 30
        while multiprocessing.active_children() and time.monotonic() < deadline:
            time.sleep(0.05)  # reap the pool's workers: RUSAGE_CHILDREN counts reaped ones
    else:
        settings = Settings(plugins_dirs=[plugins_dir])
        plugins = Plugins.load(settings)  # a one-off start-up cost, as imports are
        if config == "serial":
            gc.collect()
            started = time.perf_counter()
            result = optimize(search_spec(data, grid, "serial"), plugins=plugins)
            seconds = time.perf_counter() - started
        elif config == "ray-warm":
            import ray

            ray.init(
                num_cpus=2,
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=False,
                _temp_dir=str(settings.ray_temp_dir),
            )
            warmup = search_spec(warm_data, GRIDS["warmup"], "ray", trials=4)
            runner = RayExecutor(workers=2, settings=settings)
            forge_values(optimize(warmup, plugins=plugins, executor=runner))
            runner.close()
            spec = search_spec(data, grid, "ray")
            gc.collect()
            started = time.perf_counter()
            runner = RayExecutor(workers=2, settings=settings)
            result = optimize(spec, plugins=plugins, executor=runner)
            runner.close()
            seconds = time.perf_counter() - started
            extra["ray_processes_peak"] = descendants_peak_kib()
            ray.shutdown()
        else:  # ray-cold: RayExecutor starts Ray (STRATFORGE_RAY_TEMP_DIR) and shuts it down
            gc.collect()
            started = time.perf_counter()
            runner = RayExecutor(workers=2, settings=settings)
            try:
                result = optimize(search_spec(data, grid, "ray"), plugins=plugins, executor=runner)
            finally:
                runner.close()
            seconds = time.perf_counter() - started
        values = forge_values(result)
    report = {
        "seconds": seconds,
        "values": values,
        "maxrss": vm_hwm_kib(),
        "ru_maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "children_maxrss": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        **extra,
    }
    print("RESULT " + json.dumps(report), flush=True)


# -- driver: run the children, check, report ------------------------------------------------


@dataclass
class Measured:
    config: str
    section: str
    seconds: list[float] = field(default_factory=list)
    other: list[tuple[float, float]] = field(default_factory=list)  # (CPU s, steal s) per run
    maxrss: int = 0  # KiB, the largest over the runs
    workers_rss: int = 0  # KiB: optstrategy's largest pool worker; Ray's processes (warm)

    @property
    def best(self) -> float:
        return min(self.seconds)


def cpu_table() -> dict[int, tuple[int, int]]:
    """pid -> (CPU ticks used so far, parent pid) of every process."""
    table: dict[int, tuple[int, int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            table[int(entry)] = (int(fields[11]) + int(fields[12]), int(fields[1]))
    return table


def steal_seconds() -> float:
    """CPU time the hypervisor took from this VM so far (all cores)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    return int(fields[8]) / os.sysconf("SC_CLK_TCK")


class OtherLoad:
    """CPU time of processes outside this process tree while a child runs (sampled from
    /proc twice a second) and the VM's steal time: what disturbs a timing on a shared box."""

    def __init__(self) -> None:
        self.cpu = self.steal = 0.0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> OtherLoad:
        self._steal = steal_seconds()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()
        self.steal = steal_seconds() - self._steal

    def _sample(self) -> None:
        tick, me = os.sysconf("SC_CLK_TCK"), os.getpid()
        before = cpu_table()
        while not self._done.wait(0.5):
            now = cpu_table()
            children: dict[int, list[int]] = {}
            for pid, (_, parent) in now.items():
                children.setdefault(parent, []).append(pid)
            mine, stack = {me}, [me]
            while stack:
                kids = children.get(stack.pop(), [])
                mine.update(kids)
                stack.extend(kids)
            for pid, (ticks, _) in now.items():
                if pid not in mine:
                    self.cpu += (ticks - before.get(pid, (0, 0))[0]) / tick
            before = now


def run_child(config: str, data: Path, grid: str, workdir: Path) -> dict[str, Any]:
    """Run one configuration in a fresh process, watching what else uses the CPU meanwhile."""
    temp = Path(tempfile.mkdtemp(prefix="r", dir=workdir))
    env = {**os.environ, "STRATFORGE_RAY_TEMP_DIR": str(temp)}
    command = [sys.executable, __file__, "--child", config, "--data", str(data)]
    command += ["--grid", grid, "--workdir", str(workdir)]
    try:
        with OtherLoad() as other:
            done = subprocess.run(
                command, capture_output=True, text=True, env=env, timeout=1800, check=False
            )
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        raise SystemExit(f"{config} on {grid} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    report = json.loads(lines[-1].removeprefix("RESULT "))
    return {**report, "other_cpu": other.cpu, "steal": other.steal}


def measure(
    section: str,
    configs: Sequence[str],
    data: Path,
    grid: str,
    workdir: Path,
    repeat: int,
) -> dict[str, Measured]:
    results: dict[str, Measured] = {}
    reference: dict[str, float] | None = None
    for config in configs:
        measured = Measured(config, section)
        for _ in range(repeat):
            report = run_child(config, data, grid, workdir)
            values = report["values"]
            if reference is None:
                reference = values
            elif values != reference:
                differ = [k for k in reference if values.get(k) != reference[k]]
                raise SystemExit(
                    f"{CONFIGS[config]} on {grid}: final values differ for {len(differ)} "
                    f"(fast,slow) pairs, e.g. {differ[:3]}: "
                    + ", ".join(f"{values.get(k)} vs {reference[k]}" for k in differ[:3])
                )
            measured.seconds.append(report["seconds"])
            measured.other.append((report["other_cpu"], report["steal"]))
            measured.maxrss = max(measured.maxrss, report["maxrss"])
            workers = report.get("ray_processes_peak", 0)
            if config.startswith("bt2"):
                workers = report["children_maxrss"]
            measured.workers_rss = max(measured.workers_rss, workers)
        runs = ", ".join(f"{s:.2f}" for s in measured.seconds)
        others = ", ".join(f"{cpu:.1f}/{steal:.1f}" for cpu, steal in measured.other)
        print(
            f"  {CONFIGS[config]:<34} {measured.best:7.2f} s  (runs: {runs}; other "
            f"processes' CPU/steal: {others} s)  driver peak RSS {measured.maxrss / MiB:4.0f} MiB  "
            f"[{len(reference or {})} trials, same final values]",
            flush=True,
        )
        results[config] = measured
    return results


def table(title: str, results: dict[str, Measured]) -> None:
    serial, bt2 = results["serial"].best, results["bt2"].best
    print(f"\n{title}")
    print(
        "| configuration | wall time | speed-up vs serial | speed-up vs optstrategy(2) "
        "| driver peak RSS | other processes |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for config, m in results.items():
        other = ""
        if m.workers_rss:
            kind = "pool worker" if config.startswith("bt") else "Ray processes, sum"
            other = f"{m.workers_rss / MiB:,.0f} MiB ({kind})"
        print(
            f"| {CONFIGS[config]} | {m.best:.2f} s | {serial / m.best:.2f}x | "
            f"{bt2 / m.best:.2f}x | {m.maxrss / MiB:,.0f} MiB | {other} |"
        )


def check(label: str, ok: bool, detail: str) -> bool:
    print(f"  [{'met' if ok else 'MISSED'}] {label}: {detail}")
    return ok


def write_inputs(workdir: Path, minutes: bool) -> dict[str, Path]:
    plugins = workdir / "plugins"
    plugins.mkdir()
    (plugins / "bench_plugin.py").write_text(PLUGIN)
    paths = {"plugins": plugins}
    frames: dict[str, Callable[[], pd.DataFrame]] = {
        "daily": lambda: generate_synthetic(bars=2_500, seed=1),
        "small": lambda: generate_synthetic(bars=500, seed=1),
    }
    if minutes:
        frames["minutes"] = lambda: generate_synthetic(bars=250_000, timeframe="minutes", seed=1)
    for name, make in frames.items():
        frame = make()
        paths[name] = workdir / f"{name}.parquet"
        frame.to_parquet(paths[name])
        if not pd.read_parquet(paths[name]).equals(frame):
            raise SystemExit(f"{name}: the Parquet round trip changed the frame")
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-minutes", action="store_true", help="no 250,000-bar section")
    parser.add_argument(
        "--sections", default="daily,minutes,memory", help="comma-separated subset to run"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per daily configuration")
    parser.add_argument(
        "--minute-repeat", type=int, default=1, help="runs per one-minute configuration"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--grid", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        workdir = args.workdir
        child(args.child, args.data, args.grid, workdir / "daily.parquet", workdir / "plugins")
        return
    sections = set(args.sections.split(",")) - ({"minutes"} if args.skip_minutes else set())

    import ray

    print(
        f"{os.cpu_count()} cores, Python {platform.python_version()}, backtrader "
        f"{bt.__version__}, ray {ray.__version__}, pandas {pd.__version__}; "
        f"load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    daily: dict[str, Measured] = {}
    minutes: dict[str, Measured] = {}
    memory: dict[str, Measured] = {}
    workdir = Path(tempfile.mkdtemp(prefix="sfopt-", dir="/tmp"))
    try:
        paths = write_inputs(workdir, minutes="minutes" in sections)
        started = time.perf_counter()
        if "daily" in sections:
            print(f"\n2,500 daily bars, 100 trials, best of {args.repeat}:", flush=True)
            configs = ["bt1", "bt2", "bt2-stats", "serial", "ray-warm", "ray-cold"]
            daily = measure("daily", configs, paths["daily"], "grid100", workdir, args.repeat)
        if "minutes" in sections:
            print(
                "\n250,000 one-minute bars, 4 trials only (fast 10, 20 x slow 100, 200), "
                f"best of {args.minute_repeat}:",
                flush=True,
            )
            configs = ["bt2", "serial", "ray-warm", "ray-cold"]
            minutes = measure(
                "minutes", configs, paths["minutes"], "subset4", workdir, args.minute_repeat
            )
        if "memory" in sections:
            print("\nMemory: 500 daily bars, stratforge Ray cold, 2 workers, 1 run each:")
            for n, grid in (("100", "grid100"), ("1000", "grid1000")):
                memory[n] = measure("memory", ["ray-cold"], paths["small"], grid, workdir, 1)[
                    "ray-cold"
                ]
        elapsed = time.perf_counter() - started
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    if daily:
        table("2,500 daily bars, 100 trials (best of runs; peak RSS: largest of runs)", daily)
    if minutes:
        table(f"250,000 one-minute bars, 4 trials (best of {args.minute_repeat})", minutes)
    if memory:
        ratio = memory["1000"].maxrss / memory["100"].maxrss
        print(
            f"\nDriver peak RSS, Ray cold, 500 daily bars: 100 trials "
            f"{memory['100'].maxrss / MiB:.0f} MiB ({memory['100'].best:.1f} s), 1,000 trials "
            f"{memory['1000'].maxrss / MiB:.0f} MiB ({memory['1000'].best:.1f} s): "
            f"ratio {ratio:.3f}"
        )

    print("\nTargets:")
    for name, res in (("daily", daily), ("minutes", minutes)):
        if not res:
            continue
        warm, serial, bt2 = res["ray-warm"].best, res["serial"].best, res["bt2"].best
        check(f"{name}: Ray warm >= 1.8x serial", serial / warm >= 1.8, f"{serial / warm:.2f}x")
        check(
            f"{name}: Ray warm faster than optstrategy(2)",
            warm < bt2,
            f"{warm:.2f} s vs {bt2:.2f} s ({bt2 / warm:.2f}x)",
        )
    if daily:
        bt1, serial = daily["bt1"].best, daily["serial"].best
        check("daily: serial >= 1.5x optstrategy(1)", bt1 / serial >= 1.5, f"{bt1 / serial:.2f}x")
    if memory:
        check("memory: 1,000-trial driver peak <= 1.10 x 100-trial", ratio <= 1.10, f"{ratio:.3f}")
    print(f"\nwhole benchmark {elapsed / 60:.1f} min; load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
