"""How long the ``stratforge`` command takes from a shell: fresh processes, best of N.

Prints the best wall time and the least CPU time of:
  * ``stratforge --help``
  * ``stratforge plugins --help``
  * ``stratforge run`` of the SMA crossover on 2,500 synthetic daily bars
Each command runs once first, unmeasured, so that Python's bytecode caches are written. The
targets (issue 18): under 0.3 s for each ``--help``, under 1 s for the run. Wall time on a
busy machine is mostly waiting for a core: compare the CPU column there.

    .venv/bin/python bench/cli.py              # best of 5
    .venv/bin/python bench/cli.py -n 10
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

RUN = ["run", "--strategy", "sma_cross", "--param", "fast=20", "--param", "slow=60"]
RUN += ["--data-arg", "bars=2500"]
COMMANDS: dict[str, list[str]] = {
    "stratforge --help": ["--help"],
    "stratforge plugins --help": ["plugins", "--help"],
    "stratforge run (2,500 bars)": RUN,
}


def stratforge_command() -> list[str]:
    """The console script next to this interpreter, else ``python -m stratforge``."""
    script = Path(sys.executable).with_name("stratforge")
    if script.exists():
        return [str(script)]
    found = shutil.which("stratforge")
    return [found] if found else [sys.executable, "-m", "stratforge"]


def timed(argv: list[str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one child process."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        stderr = child.stderr.read().decode() if child.stderr else ""
        raise SystemExit(f"{' '.join(argv)} failed:\n{stderr}")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5, help="measured runs per command")
    args = parser.parse_args()
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        print("note: PYTHONDONTWRITEBYTECODE is set: every run compiles stratforge's sources")
    base = stratforge_command()
    best = {name: (float("inf"), float("inf")) for name in COMMANDS}
    for argv in COMMANDS.values():
        timed(base + argv)  # warm-up: bytecode caches, file system caches
    for _ in range(args.n):  # interleaved, so a busy moment hits every command alike
        for name, argv in COMMANDS.items():
            wall, cpu = timed(base + argv)
            best[name] = min(best[name][0], wall), min(best[name][1], cpu)
    print(f"best of {args.n}, fresh processes ({' '.join(base)}):")
    for name, (wall, cpu) in best.items():
        print(f"  {name:<30} wall {wall:6.3f} s   cpu {cpu:6.3f} s")


if __name__ == "__main__":
    main()
