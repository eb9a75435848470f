"""One backtest's pipeline: resolve -> load -> build -> collect, each step a module of its
own (``core.resolve``, ``core.load``, ``core.build``, ``core.collect``), data flowing one way.
``prepare`` does the first two once; a ``PreparedRun`` runs the last two as often as a
search needs."""

from __future__ import annotations

import dataclasses
import gc
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd

from stratforge.core.build import build_cerebro
from stratforge.core.collect import collect_result
from stratforge.core.components import resolve_component
from stratforge.core.errors import SpecError
from stratforge.core.load import Market, Window, load_markets
from stratforge.core.plugins import Plugins
from stratforge.core.recorder import ProgressCallback
from stratforge.core.resolve import ResolvedRun, resolve
from stratforge.core.results import (
    RunResult,
)
from stratforge.core.settings import get_settings
from stratforge.core.spec import DataSpec, RunSpec
from stratforge.data.frames import InMemoryFrames


@lru_cache(maxsize=1)
def default_plugins() -> Plugins:
    """Plugins loaded from the current settings, once per process (tests clear the cache)."""
    return Plugins.load(get_settings())


@dataclass
class PreparedRun:
    """A resolved spec with its data loaded: run it many times (optimisation trials)."""

    resolved: ResolvedRun
    markets: list[Market]
    plugins: Plugins

    def with_strategy_params(self, params: dict[str, Any]) -> ResolvedRun:
        """The run with *params* merged into the strategy's, validated like user input."""
        base = self.resolved
        merged = {**base.spec.strategy.params, **params}
        strategy = base.spec.strategy.model_copy(update={"params": merged})
        spec = base.spec.model_copy(update={"strategy": strategy})
        component = resolve_component(self.plugins.registries.strategies, strategy, "strategy")
        return dataclasses.replace(base, spec=spec, strategy=component)

    def execute(
        self,
        params: dict[str, Any] | None = None,
        on_progress: ProgressCallback | None = None,
        *,
        once: bool = False,
    ) -> tuple[ResolvedRun, bt.Strategy]:
        """Build and run; *once* says no other run will follow on these markets, so their
        feed arrays and bars go as soon as the feeds have copied them into their lines."""
        resolved = self.with_strategy_params(params) if params else self.resolved
        seed = resolved.spec.seed
        random.seed(seed)
        np.random.seed(seed % 2**32)
        cerebro = build_cerebro(
            resolved, self.markets, self.plugins, on_progress, release_bars=once
        )
        if once:
            for market in self.markets:
                market.forget_columns()
        try:
            return resolved, _run_without_gc_pauses(cerebro)
        except IndexError as exc:
            # backtrader fails this way when indicators need more bars than the data has
            bars = min(len(m.frame) for m in self.markets)
            raise SpecError(
                "data",
                f"{bars} bars are too few for the strategy's indicators to warm up ({exc}); "
                "use more data or shorter periods",
            ) from None

    def run(self, params: dict[str, Any] | None = None) -> RunResult:
        started = time.perf_counter()
        resolved, strategy = self.execute(params)
        return collect_result(resolved, self.markets, strategy, time.perf_counter() - started)


def prepare(
    spec: RunSpec,
    *,
    plugins: Plugins | None = None,
    frame: pd.DataFrame | None = None,
    frames: Mapping[str, pd.DataFrame] | None = None,
    window: Window | None = None,
) -> PreparedRun:
    """Resolve *spec* and load its data once (*frame* and *frames* as for ``run_backtest``)."""
    plugins = plugins or default_plugins()
    in_memory = _in_memory(frames)
    if in_memory is not None and "data" not in spec.model_fields_set:
        spec = spec.model_copy(update={"data": _frame_feeds(in_memory)})
    resolved = resolve(spec, plugins, frames=in_memory)
    return PreparedRun(resolved, load_markets(resolved, frame, window), plugins)


def _in_memory(frames: Mapping[str, pd.DataFrame] | None) -> InMemoryFrames | None:
    if frames is None:
        return None
    if not isinstance(frames, Mapping) or not frames:
        raise TypeError("frames: give a dict of names to DataFrames, e.g. frames={'ES': df}")
    for name, frame in frames.items():
        if not isinstance(name, str) or not isinstance(frame, pd.DataFrame):
            raise TypeError(f"frames: {name!r} must be a str name of a pandas DataFrame")
    return InMemoryFrames(dict(frames))


def _frame_feeds(frames: InMemoryFrames) -> DataSpec | list[DataSpec]:
    """A spec without data reads every frame, one feed each, named by its key."""
    feeds = [
        DataSpec(source="dataframe", args={"name": name}, symbol=name) for name in frames.frames
    ]
    return feeds[0] if len(feeds) == 1 else feeds


def run_backtest(
    spec: RunSpec,
    *,
    plugins: Plugins | None = None,
    frame: pd.DataFrame | None = None,
    frames: Mapping[str, pd.DataFrame] | None = None,
    on_progress: ProgressCallback | None = None,
) -> RunResult:
    """Run one backtest; same spec and data give byte-identical results (wall time aside).

    *frames* are pandas DataFrames by name, read by the spec's ``dataframe`` sources
    (``{"source": "dataframe", "args": {"name": "ES"}}``); a spec that sets no data gets
    one ``dataframe`` feed per frame, named by its key. *frame* replaces the first data
    source's bars (the spec still names that source). Either kind of frame may use the
    usual spellings (``Open``/``Volume``, a ``Date`` index, tz-aware, no volume or open
    interest) and is validated like a file (``data.frames.canonical_frame``).
    *on_progress* is called with (steps done, steps) about once per percent of the run.
    """
    started = time.perf_counter()
    prepared = prepare(spec, plugins=plugins, frame=frame, frames=frames)
    return run_prepared(prepared, on_progress=on_progress, started=started)


def run_prepared(
    prepared: PreparedRun,
    *,
    on_progress: ProgressCallback | None = None,
    started: float | None = None,
) -> RunResult:
    """Run a prepared backtest once, as ``run_backtest`` does; *started* (a
    ``time.perf_counter()``) is when its preparation began, so the result's wall time
    includes loading the data, as ``run_backtest``'s does."""
    started = time.perf_counter() if started is None else started
    resolved, strategy = prepared.execute(on_progress=on_progress, once=True)
    return collect_result(resolved, prepared.markets, strategy, time.perf_counter() - started)


def _run_without_gc_pauses(cerebro: bt.Cerebro) -> bt.Strategy:
    """Run with the cyclic GC paused: backtrader allocates per bar and full collections
    rescan every line buffer (about 6% of a 250,000-bar run). Cycles are freed afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return cerebro.run()[0]
    finally:
        if was_enabled:
            gc.enable()
