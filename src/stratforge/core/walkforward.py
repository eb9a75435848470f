"""Walk-forward analysis: optimise on a train window, run the best parameters on the test
window that follows, move on; report per-window results, the stitched out-of-sample equity
and the walk-forward efficiency (mean out-of-sample objective / mean in-sample objective)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from stratforge.core.engine import PreparedRun, default_plugins
from stratforge.core.errors import SpecError
from stratforge.core.load import SourceOutputs, load_markets
from stratforge.core.optimize import Executor, OptimizeSpec, TrialMemory, run_search
from stratforge.core.plugins import Plugins
from stratforge.core.resolve import ResolvedRun, resolve
from stratforge.core.trials import objective_value

_PERIOD = re.compile(r"^\s*(\d+)\s*([YMWD])\s*$", re.IGNORECASE)
_UNITS = {"Y": "years", "M": "months", "W": "weeks", "D": "days"}


def parse_length(value: int | str) -> int | pd.DateOffset:
    """Bars (``500``) or a calendar period (``2Y``, ``6M``, ``4W``, ``30D``)."""
    if isinstance(value, int):
        if value < 1:
            raise ValueError("a length in bars must be at least 1")
        return value
    text = str(value).strip()
    if text.isdigit():
        return parse_length(int(text))
    match = _PERIOD.match(text)
    if not match:
        raise ValueError(f"{value!r} is neither a number of bars nor a period like 2Y, 6M, 4W, 30D")
    unit, count = _UNITS[match[2].upper()], int(match[1])
    return pd.DateOffset(**{unit: count})  # type: ignore[arg-type]


class WalkForwardSpec(BaseModel):
    """A search repeated over moving windows."""

    model_config = ConfigDict(extra="forbid", str_max_length=100)

    search: OptimizeSpec
    train: int | str = Field(description="Train length: bars or a period (2Y, 6M, 4W, 30D).")
    test: int | str = Field(description="Test length: bars or a period.")
    step: int | str | None = Field(None, description="Shift between windows; default: test.")
    anchored: bool = Field(False, description="Every train window starts at the first bar.")

    @field_validator("train", "test", "step")
    @classmethod
    def _lengths(cls, value: int | str | None) -> int | str | None:
        if value is not None:
            parse_length(value)
        return value

    @model_validator(mode="after")
    def _same_units(self) -> WalkForwardSpec:
        kinds = {isinstance(parse_length(v), int) for v in (self.train, self.test, self.step) if v}
        if len(kinds) > 1:
            raise ValueError("train, test and step must all be bars or all be periods")
        return self


@dataclass(frozen=True)
class WindowBounds:
    """Positions (inclusive) of one train window and the test window right after it."""

    train_start: int
    train_end: int
    test_start: int
    test_end: int


def layout_windows(
    index: pd.DatetimeIndex,
    train: int | str,
    test: int | str,
    step: int | str | None = None,
    anchored: bool = False,
) -> list[WindowBounds]:
    """Windows over *index*; each test window starts on the bar after its train window."""
    train_len, test_len = parse_length(train), parse_length(test)
    step_len = parse_length(step) if step is not None else test_len
    if isinstance(train_len, int):
        assert isinstance(test_len, int) and isinstance(step_len, int)
        return _bar_windows(len(index), train_len, test_len, step_len, anchored)
    return _period_windows(index, train_len, test_len, step_len, anchored)  # type: ignore[arg-type]


def _bar_windows(n: int, train: int, test: int, step: int, anchored: bool) -> list[WindowBounds]:
    windows: list[WindowBounds] = []
    k = 0
    while True:
        train_end = train - 1 + k * step
        test_end = train_end + test
        if test_end >= n:
            return windows
        start = 0 if anchored else k * step
        windows.append(WindowBounds(start, train_end, train_end + 1, test_end))
        k += 1


def _period_windows(
    index: pd.DatetimeIndex,
    train: pd.DateOffset,
    test: pd.DateOffset,
    step: pd.DateOffset,
    anchored: bool,
) -> list[WindowBounds]:
    windows: list[WindowBounds] = []
    k, first = 0, index[0]
    bar = pd.Series(index).diff().median() if len(index) > 1 else pd.Timedelta(0)
    while True:
        shift = first + step * k if k else first
        train_from = first if anchored else shift
        train_until = shift + train  # exclusive
        test_until = train_until + test  # exclusive
        if test_until > index[-1] + bar:  # the test window would run past the data
            return windows
        a = int(index.searchsorted(train_from, side="left"))
        b = int(index.searchsorted(train_until, side="left")) - 1
        c = b + 1
        d = int(index.searchsorted(test_until, side="left")) - 1
        if b >= a and d >= c:
            windows.append(WindowBounds(a, b, c, d))
        k += 1


class WindowResult(BaseModel):
    index: int
    train_start: str
    train_end: str
    test_start: str
    test_end: str
    train_bars: int
    test_bars: int
    trials: int
    best_params: dict[str, Any] | None
    in_sample: float | None
    out_of_sample: float | None
    test_metrics: dict[str, Any] | None = None


class WalkForwardResult(BaseModel):
    spec: dict[str, Any]
    windows: list[WindowResult]
    efficiency: float | None = Field(description="Mean out-of-sample / mean in-sample objective.")
    oos_equity: dict[str, list[Any]] = Field(description="Stitched test-window equity.")
    is_equity: dict[str, list[Any]] = Field(description="Stitched train-window equity of the best.")
    oos_total_return: float
    cancelled: bool = False


def count_windows(spec: WalkForwardSpec, plugins: Plugins) -> int:
    """How many windows *spec* lays over its data (loaded here); raises ``SpecError`` when
    none fits, so a submission is refused before it is queued."""
    resolved = resolve(spec.search.base, plugins)
    index = pd.DatetimeIndex(load_markets(resolved)[0].frame.index)
    bounds = layout_windows(index, spec.train, spec.test, spec.step, spec.anchored)
    if not bounds:
        raise SpecError("train", f"no window fits in {len(index)} bars; shorten train or test")
    return len(bounds)


def walk_forward(
    spec: WalkForwardSpec,
    *,
    plugins: Plugins | None = None,
    executor: Executor | None = None,
    on_window: Callable[[WindowResult], None] | None = None,
    on_layout: Callable[[int], None] | None = None,
    cancel: threading.Event | None = None,
    memory: TrialMemory | None = None,
) -> WalkForwardResult:
    """Run every window: search on train, then the best parameters on test. With *memory*
    (``run_search``), a window's trials run before on the same bars are recalled."""
    from stratforge.core.executors import make_executor

    plugins = plugins or default_plugins()
    resolved = resolve(spec.search.base, plugins)
    sources = SourceOutputs()  # each source is called once, every window cut from it
    full = load_markets(resolved, sources=sources)
    index = pd.DatetimeIndex(full[0].frame.index)
    bounds = layout_windows(index, spec.train, spec.test, spec.step, spec.anchored)
    if not bounds:
        raise SpecError("train", f"no window fits in {len(index)} bars; shorten train or test")
    if on_layout is not None:
        on_layout(len(bounds))
    own = executor is None
    runner = executor or make_executor(spec.search.executor, workers=spec.search.workers)
    windows: list[WindowResult] = []
    oos, ins = _Stitcher(spec.search.base.cash), _Stitcher(spec.search.base.cash)
    cancelled = False
    try:
        for number, window in enumerate(bounds):
            if cancel is not None and cancel.is_set():
                cancelled = True
                break
            prepared = _Prepared(resolved, plugins, sources)
            result = _run_window(
                spec, prepared, number, window, _Window(index, runner, oos, ins, memory)
            )
            windows.append(result)
            if on_window is not None:
                on_window(result)
    finally:
        if own:
            runner.close()
    pairs = [(w.in_sample, w.out_of_sample) for w in windows if w.in_sample is not None]
    efficiency = None
    if pairs and all(o is not None for _, o in pairs):
        mean_is = float(np.mean([i for i, _ in pairs]))
        mean_oos = float(np.mean([o for _, o in pairs]))
        efficiency = mean_oos / mean_is if mean_is else None
    return WalkForwardResult(
        spec=spec.model_dump(mode="json"),
        windows=windows,
        efficiency=efficiency,
        oos_equity=oos.curve(),
        is_equity=ins.curve(),
        oos_total_return=oos.total_return(),
        cancelled=cancelled,
    )


@dataclass(frozen=True)
class _Prepared:
    """What every window is cut from: the resolved run, its plugins and loaded sources."""

    resolved: ResolvedRun
    plugins: Plugins
    sources: SourceOutputs

    def window(self, start: Any, end: Any) -> PreparedRun:
        markets = load_markets(self.resolved, window=(start, end), sources=self.sources)
        return PreparedRun(self.resolved, markets, self.plugins)


@dataclass(frozen=True)
class _Window:
    """What every window is run with: the full index, the executor, the two stitched
    curves and the trial memory."""

    index: pd.DatetimeIndex
    runner: Executor
    oos: _Stitcher
    ins: _Stitcher
    memory: TrialMemory | None


def _run_window(
    spec: WalkForwardSpec,
    prepared: _Prepared,
    number: int,
    window: WindowBounds,
    run: _Window,
) -> WindowResult:
    bounds = (window.train_start, window.train_end, window.test_start, window.test_end)
    times = [run.index[i] for i in bounds]
    train = prepared.window(times[0], times[1])
    search = run_search(spec.search, train, run.runner, memory=run.memory)
    best = search.best
    result = WindowResult(
        index=number,
        train_start=times[0].isoformat(),
        train_end=times[1].isoformat(),
        test_start=times[2].isoformat(),
        test_end=times[3].isoformat(),
        train_bars=window.train_end - window.train_start + 1,
        test_bars=window.test_end - window.test_start + 1,
        trials=search.completed,
        best_params=best.params if best else None,
        in_sample=best.objective if best else None,
        out_of_sample=None,
    )
    if best is None:
        return result
    run.ins.add(train.run(best.params).equity)
    test = prepared.window(times[2], times[3])
    tested = test.run(best.params)
    run.oos.add(tested.equity)
    metrics = tested.metrics.model_dump()
    return result.model_copy(
        update={
            "out_of_sample": objective_value(metrics, spec.search.metric),
            "test_metrics": metrics,
        }
    )


class _Stitcher:
    """Chains window equity curves: each window continues from where the last one ended."""

    def __init__(self, start: float) -> None:
        self.level = start
        self.start = start
        self.datetimes: list[str] = []
        self.values: list[float] = []

    def add(self, equity: Any) -> None:
        values = np.asarray(equity.value, dtype=np.float64)
        if not len(values):
            return
        scaled = values / values[0] * self.level
        self.datetimes.extend(equity.datetime)
        self.values.extend(scaled.tolist())
        self.level = float(scaled[-1])

    def curve(self) -> dict[str, list[Any]]:
        return {"datetime": self.datetimes, "value": self.values}

    def total_return(self) -> float:
        return self.level / self.start - 1.0
