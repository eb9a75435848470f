"""``stratforge optimize`` from the command line: serial against its default (Ray, cold) and
against warm Ray, on the 100-trial daily SMA grid (fast 5..50 step 5 x slow 20..200 step 20,
``fast < slow``: 90 trials run, 10 pruned; 2,500 synthetic daily bars).

Configurations, each in a fresh process, interleaved round by round (best of --repeat):

  * cli serial   - ``stratforge optimize ... --executor serial``: wall time of the command
  * cli default  - ``stratforge optimize ...`` (executor ray: trials run in the CLI process
                   while Ray starts, then on 2 Ray workers); wall time of the command,
                   Ray's start and shutdown included
  * cli server   - ``stratforge optimize ... --server URL``: the same command submitted to a
                   running ``stratforge serve`` (its Ray warmed by one small search first, its
                   result cache off so nothing is recalled); wall time of the command, from
                   start to the printed table. Its rounds run after the others, the server
                   up only then (an idle serve and its Ray take about 4% of a core)
  * warm         - in one process: Ray initialised and its workers used by a small search
                   first (``stratforge serve``'s case), then the same search timed on
                   ``RayExecutor`` (the server's path) and the serial search in the same
                   process, in turn, four times (every other pair serial first; the best
                   of each); the ratio is search against search; also the median of the
                   per-pair ratios (a pair runs back to back, so the machine's drift
                   cancels within it)
  * ceiling      - the serial search in one process alone, then in two processes at once
                   (imports and a small search done before a shared start time): twice the
                   work in the slower one's time is the most any two-worker executor gets
                   from these two cores, Ray or not
  * --variants adds in-process cold runs of the hybrid executor's alternatives, Ray always
                   started (``worth_seconds=0``): 2 workers; 2 workers + the driver running
                   trials too; 1 worker + the driver (the CLI's choice on 2 cores)

Every configuration must give the same trials (parameters and metrics; timings aside). After
each CLI run, the processes of its Ray (found by its private temp dir) still alive are
counted: it must be 0. The machine may be shared: each run prints the CPU other processes
used meanwhile and the steal time (see bench/optimize.py).

    .venv/bin/python bench/ray_cli.py                   # 3 rounds, about 3 minutes
    .venv/bin/python bench/ray_cli.py --repeat 5 --variants
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from optimize import OtherLoad  # bench/optimize.py: CPU used by other processes meanwhile

GRID = ["-p", "fast=5:50:5", "-p", "slow=20:200:20", "-c", "fast < slow", "-a", "bars=2500"]
STRATFORGE = [sys.executable, "-m", "stratforge"]
LABELS = {
    "cli-serial": "CLI serial",
    "cli-default": "CLI default (ray, cold)",
    "cli-server": "CLI --server (a running serve, warm Ray)",
    "warm-serial": "in-process serial (warm process)",
    "warm-ray": "warm Ray, RayExecutor (serve)",
    "ceiling-alone": "serial search, one process alone",
    "ceiling-pair": "serial search, two processes at once (the slower)",
    "hybrid-2": "hybrid cold, Ray forced, 2 workers",
    "hybrid-2-driver": "hybrid cold, Ray forced, 2 workers + driver",
    "hybrid-1-driver": "hybrid cold, Ray forced, 1 worker + driver",
}


def search_spec() -> Any:
    from stratforge.core.optimize import OptimizeSpec

    return OptimizeSpec.model_validate(
        {
            "base": {"strategy": {"name": "sma_cross"}, "data": {"args": {"bars": 2500}}},
            "space": {
                "fast": {"kind": "int", "start": 5, "stop": 50, "step": 5},
                "slow": {"kind": "int", "start": 20, "stop": 200, "step": 20},
            },
            "constraints": ["fast < slow"],
            "executor": "ray",
        }
    )


def trials_of(result: Any) -> list[dict[str, Any]]:
    return [t.model_dump(mode="json", exclude={"seconds"}) for t in result.trials]


# -- child processes --------------------------------------------------------------------


WARM_PAIRS = 4


def warm_child(out: Path) -> None:
    """Ray up and used, then the search timed on it and serially, in this process, in turn
    ``WARM_PAIRS`` times (the best of each: this machine's runs vary by 10%)."""
    import ray

    from stratforge.core.executors import RayExecutor, ensure_ray
    from stratforge.core.optimize import optimize
    from stratforge.core.settings import get_settings

    spec = search_spec()
    ensure_ray(get_settings(), workers=2)
    small = spec.model_copy(update={"trials": 8})
    optimize(small, executor=RayExecutor(workers=2))  # workers import and load plugins
    ray_times, serial_times = [], []

    def timed(run: Any) -> tuple[float, Any]:
        started = time.perf_counter()
        result = run()
        return time.perf_counter() - started, result

    def on_ray_search() -> Any:
        return optimize(spec, executor=RayExecutor(workers=2))

    def serial_search() -> Any:
        return optimize(spec.model_copy(update={"executor": "serial"}))

    for index in range(WARM_PAIRS):  # a warm server runs search after search: best of a few
        if index % 2:  # every other pair serial first, so a drift within a pair cancels out
            serial_seconds, serial = timed(serial_search)
            ray_seconds, on_ray = timed(on_ray_search)
        else:
            ray_seconds, on_ray = timed(on_ray_search)
            serial_seconds, serial = timed(serial_search)
        ray_times.append(ray_seconds)
        serial_times.append(serial_seconds)
    ray_seconds, serial_seconds = min(ray_times), min(serial_times)
    ray.shutdown()
    report = {"warm-ray": ray_seconds, "warm-serial": serial_seconds}
    pairs = list(zip(ray_times, serial_times, strict=True))
    out.write_text(json.dumps({"seconds": report, "pairs": pairs, "trials": trials_of(on_ray)}))
    if trials_of(serial) != trials_of(on_ray):
        raise SystemExit("warm Ray and serial trials differ")


def serial_child(start_at: float, out: Path) -> None:
    """The serial search in this process, imports and a small search done first, timed from
    ``start_at`` (an epoch time shared with a sibling, so two of them run at once)."""
    from stratforge.core.optimize import optimize

    spec = search_spec().model_copy(update={"executor": "serial"})
    optimize(spec.model_copy(update={"trials": 8}))
    while time.time() < start_at:
        time.sleep(0.001)
    started = time.perf_counter()
    result = optimize(spec)
    seconds = time.perf_counter() - started
    out.write_text(json.dumps({"seconds": seconds, "trials": trials_of(result)}))


def hybrid_child(config: str, out: Path) -> None:
    """A cold hybrid search in this process: executor made, search, close, all timed."""
    from stratforge.core.hybrid import HybridExecutor
    from stratforge.core.optimize import optimize

    spec = search_spec()
    started = time.perf_counter()
    workers = {"hybrid-2": 2, "hybrid-2-driver": 3, "hybrid-1-driver": 2}[config]  # with driver
    executor = HybridExecutor(
        workers=workers, driver_trials=config.endswith("driver"), worth_seconds=0
    )
    executor.expect(100)
    try:
        result = optimize(spec, executor=executor)
    finally:
        executor.close()
    seconds = time.perf_counter() - started
    report = {"seconds": {config: seconds}, "trials": trials_of(result)}
    out.write_text(json.dumps({**report, "timeline": executor.timeline}))


# -- driver -----------------------------------------------------------------------------


def ray_left(temp: Path) -> int:
    listing = subprocess.run(["ps", "-eo", "args="], capture_output=True, text=True).stdout
    return sum(str(temp) in line for line in listing.splitlines())


@contextmanager
def running_server(workdir: Path) -> Iterator[str]:
    """``stratforge serve`` on Ray with the result cache off, warmed by one small search."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "STRATFORGE_DATA_DIR": str(workdir / "server"),
        "STRATFORGE_RAY_TEMP_DIR": tempfile.mkdtemp(prefix="s", dir=workdir),
        "STRATFORGE_JOB_EXECUTOR": "ray",
        "STRATFORGE_RESULT_CACHE": "false",
    }
    command = [*STRATFORGE, "serve", "--port", str(port), "--no-demo"]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        from stratforge.client import Client

        with Client(url) as client:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if client.health()["ray"] == "ok":
                        break
                except Exception:  # not listening yet
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("the server did not start")
                time.sleep(0.2)
        warmup = ["-p", "fast=5:10:5", "-p", "slow=20:40:20", "-a", "bars=500"]
        subprocess.run(
            [*STRATFORGE, "optimize", *warmup, "--server", url], check=True, capture_output=True
        )
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ceiling(workdir: Path) -> dict[str, Any]:
    """What two cores give two processes with nothing shared: the serial search alone, then
    the same in two processes at once. Twice the search over the slower of the two is the
    most any two-worker executor can reach here (no Ray, no scheduling, no data to hand
    over); it is below 2.0x by however much two busy cores slow each other on this box."""

    def at_once(count: int) -> list[dict[str, Any]]:
        start_at = time.time() + 8  # after both have imported and run a small search
        outs = [workdir / f"ceiling-{count}-{i}.json" for i in range(count)]
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    "serial",
                    "--at",
                    str(start_at),
                    "--out",
                    str(o),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for o in outs
        ]
        for proc in procs:
            if proc.wait():
                raise SystemExit(
                    f"ceiling child failed:\n{proc.stderr.read()[-3000:] if proc.stderr else ''}"
                )
        return [json.loads(o.read_text()) for o in outs]

    with OtherLoad() as other:
        alone = at_once(1)[0]
        pair = at_once(2)
    slower = max(p["seconds"] for p in pair)
    return {
        "seconds": {"ceiling-alone": alone["seconds"], "ceiling-pair": slower},
        "trials": alone["trials"],
        "left": 0,
        "started_ray": False,
        "other": (other.cpu, other.steal),
        "timeline": None,
        "pairs": [],
    }


def run(config: str, workdir: Path, server: str | None = None) -> dict[str, Any]:
    """One configuration in a fresh process with its own Ray temp dir."""
    if config == "ceiling":
        return ceiling(workdir)
    temp = Path(tempfile.mkdtemp(prefix="r", dir=workdir))
    out = workdir / f"{config}.json"
    env = {**os.environ, "STRATFORGE_RAY_TEMP_DIR": str(temp)}
    if config.startswith("cli-"):
        executor = {"cli-serial": ["--executor", "serial"], "cli-server": ["--server", str(server)]}
        extra = executor.get(config, [])
        command = [*STRATFORGE, "optimize", *GRID, *extra, "--out", str(out)]
    else:
        command = [sys.executable, __file__, "--child", config, "--out", str(out)]
    with OtherLoad() as other:
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        wall = time.perf_counter() - started
    left = ray_left(temp)
    started_ray = any(temp.glob("session_*"))
    shutil.rmtree(temp, ignore_errors=True)
    if done.returncode:
        raise SystemExit(f"{config} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    data = json.loads(out.read_text())
    if config.startswith("cli-"):
        trials = [{k: v for k, v in t.items() if k != "seconds"} for t in data["trials"]]
        seconds = {config: wall}
    else:
        trials, seconds = data["trials"], data["seconds"]
    return {
        "seconds": seconds,
        "trials": trials,
        "left": left,
        "started_ray": started_ray,
        "other": (other.cpu, other.steal),
        "timeline": data.get("timeline"),
        "pairs": data.get("pairs", []),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="rounds (best of)")
    parser.add_argument("--variants", action="store_true", help="the hybrid's alternatives")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--at", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "serial":
        serial_child(args.at, args.out)
        return
    if args.child == "warm":
        warm_child(args.out)
        return
    if args.child:
        hybrid_child(args.child, args.out)
        return
    configs = ["cli-serial", "cli-default", "warm", "ceiling"]
    if args.variants:
        configs += ["hybrid-2", "hybrid-2-driver", "hybrid-1-driver"]
    print(f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="sfcli-", dir="/tmp"))
    try:
        times, pairs, trials = rounds(args.repeat, configs, workdir, None)
        # The server's rounds come last, on their own: an idle serve and its Ray use about
        # 4% of a core, which a serial run absorbs on the spare core and a run on both
        # cores pays for, so it must not run beside the others.
        with running_server(workdir) as server:
            remote, _, remote_trials = rounds(args.repeat, ["cli-server"], workdir, server)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if remote_trials != trials:
        raise SystemExit("cli-server: trials differ from the other configurations'")
    report_table({**times, **remote}, pairs, len(trials))


def rounds(
    repeat: int, configs: list[str], workdir: Path, server: str | None
) -> tuple[dict[str, list[float]], list[tuple[float, float]], list[dict[str, Any]]]:
    """Every configuration once per round; their times, the warm (Ray, serial) pairs, and
    the trials (the same in every run, or the bench stops)."""
    times: dict[str, list[float]] = {}
    pairs: list[tuple[float, float]] = []
    reference = None
    for round_ in range(repeat):
        for config in configs:
            report = run(config, workdir, server)
            if reference is None:
                reference = report["trials"]
            elif report["trials"] != reference:
                raise SystemExit(f"{config}: trials differ from the first run's")
            for name, seconds in report["seconds"].items():
                times.setdefault(name, []).append(seconds)
            pairs.extend((ray_s, serial_s) for ray_s, serial_s in report["pairs"])
            shown = ", ".join(f"{LABELS[k]} {v:.2f} s" for k, v in report["seconds"].items())
            timeline = report["timeline"]
            extra = (
                ""
                if not timeline
                else " ray: " + ", ".join(f"{k} {v:.1f} s" for k, v in timeline.items())
            )
            print(
                f"  round {round_ + 1}: {shown}; Ray started: "
                f"{'yes' if report['started_ray'] else 'no'}, processes left {report['left']}; "
                f"other CPU/steal {report['other'][0]:.1f}/{report['other'][1]:.1f} s" + extra,
                flush=True,
            )
    return times, pairs, reference or []


def report_table(
    times: dict[str, list[float]], pairs: list[tuple[float, float]], trials: int
) -> None:
    best = {name: min(values) for name, values in times.items()}
    print(f"\n100-trial daily grid ({trials} trials reported, same in every run), best of runs:")
    print("| configuration | wall time | vs serial | runs |")
    print("| --- | ---: | ---: | --- |")
    for name, seconds in best.items():
        serial = best["warm-serial" if name.startswith("warm") else "cli-serial"]
        if name.startswith("hybrid"):
            serial = best["warm-serial"]  # in-process search against in-process search
        if name.startswith("ceiling"):  # the pair ran two searches: twice the work
            serial = best["ceiling-alone"] * (2 if name == "ceiling-pair" else 1)
        runs = ", ".join(f"{s:.2f}" for s in times[name])
        print(f"| {LABELS[name]} | {seconds:.2f} s | {serial / seconds:.2f}x | {runs} |")
    cold = best["cli-serial"] / best["cli-default"]
    remote = best["cli-serial"] / best["cli-server"]
    warm = best["warm-serial"] / best["warm-ray"]
    print(f"\n  [{'met' if cold >= 1.5 else 'MISSED'}] CLI default >= 1.5x CLI serial: {cold:.2f}x")
    print(
        f"  [{'met' if remote >= 1.5 else 'MISSED'}] CLI --server >= 1.5x CLI serial: {remote:.2f}x"
    )
    print(f"  [{'met' if warm >= 1.9 else 'MISSED'}] warm Ray >= 1.9x serial: {warm:.2f}x")
    if "ceiling-pair" in times:
        alone, pair = times["ceiling-alone"], times["ceiling-pair"]
        per_round = [2 * a / p for a, p in zip(alone, pair, strict=True)]
        ceiling_x = statistics.median(per_round)
        shown = ", ".join(f"{r:.2f}" for r in per_round)
        print(
            f"  two-process ceiling (no Ray): {ceiling_x:.2f}x, median of rounds ({shown}): "
            f"two busy cores slow each process by {(2 / ceiling_x - 1) * 100:.1f}%"
        )
    if pairs:
        # Each pair runs back to back in one process, so the machine's drift (its runs vary
        # by 10%) cancels within a pair; the best-of ratio above sets the two fastest runs
        # of different minutes against each other.
        ratios = sorted(serial / ray for ray, serial in pairs)
        shown = ", ".join(f"{r:.2f}" for r in ratios)
        paired = statistics.median(ratios)
        print(
            f"  [{'met' if paired >= 1.9 else 'MISSED'}] warm Ray >= 1.9x serial, median of "
            f"{len(ratios)} back-to-back pairs: {paired:.2f}x ({shown})"
        )


if __name__ == "__main__":
    main()
