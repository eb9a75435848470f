"""A plugin file for optimisation tests: strategies that fail or crash on chosen params."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

FLAKY_PLUGIN = '''
import os

import backtrader as bt
from stratforge import hookimpl


class Flaky(bt.Strategy):
    """SMA cross that raises for fast == raise_on and kills its process once for
    fast == crash_on (a marker file remembers the crash).

    Params:
        fast: fast SMA period
        slow: slow SMA period
        raise_on: fast value that raises ValueError
        crash_on: fast value whose first run kills the worker process
        marker: file that records the crash
    """

    params = (("fast", 10), ("slow", 30), ("raise_on", -1), ("crash_on", -1), ("marker", ""))

    def __init__(self):
        if self.p.fast == self.p.raise_on:
            raise ValueError(f"fast={self.p.fast} is cursed")
        if self.p.fast == self.p.crash_on and self.p.marker and not os.path.exists(self.p.marker):
            open(self.p.marker, "w").close()
            os._exit(1)
        self.cross = bt.ind.CrossOver(
            bt.ind.SMA(period=self.p.fast), bt.ind.SMA(period=self.p.slow)
        )

    def next(self):
        if self.cross[0] > 0:
            self.order_target_size(target=1)
        elif self.cross[0] < 0:
            self.order_target_size(target=-1)


@hookimpl
def register_strategies(register):
    register(Flaky, name="flaky")
'''


def grid_spec(**overrides):
    spec = {
        "base": {"strategy": {"name": "sma_cross"}, "data": {"args": {"bars": 600, "seed": 3}}},
        "space": {
            "fast": {"kind": "int", "start": 5, "stop": 25, "step": 5},
            "slow": {"kind": "int", "start": 20, "stop": 60, "step": 20},
        },
        "constraints": ["fast < slow"],
        "pbo_blocks": 4,
    }
    spec.update(overrides)
    return spec


def comparable(result):
    """Trials without their timings, for comparing executors."""
    return [t.model_dump(exclude={"seconds"}) for t in result.trials]


@contextmanager
def local_ray(num_cpus: int) -> Iterator[None]:
    """A local Ray for a test module, its session files in a short private temp dir (Ray's
    socket paths must stay short), shut down and removed afterwards."""
    import ray

    if ray.is_initialized():
        ray.shutdown()
    temp = tempfile.mkdtemp(prefix="sfray-", dir="/tmp")
    ray.init(
        num_cpus=num_cpus,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
        _temp_dir=temp,
    )
    try:
        yield
    finally:
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)
