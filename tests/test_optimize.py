"""Searches in-process: spaces, constraints, failures, methods, diagnostics, walk-forward."""

from __future__ import annotations

import csv
import itertools
import json
import math
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stratforge.core.errors import SpecError
from stratforge.core.executors import SerialExecutor
from stratforge.core.optimize import OptimizeSpec, optimize
from stratforge.core.overfitting import (
    expected_max_sharpe,
    probabilistic_sharpe,
    probability_of_overfitting,
    return_stats,
)
from stratforge.core.plugins import Plugins
from stratforge.core.settings import Settings
from stratforge.core.walkforward import WalkForwardSpec, layout_windows, walk_forward
from stratforge.optimizers.space import (
    Choice,
    Constraint,
    ConstraintError,
    FloatRange,
    IntRange,
    LogRange,
    grid,
    parse_dimension,
)
from tests.optimize_helpers import FLAKY_PLUGIN, comparable, grid_spec
from tests.test_cli import assert_one_line_error, stratforge


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5:20:5", IntRange(start=5, stop=20, step=5)),
        ("0.5:2:0.5", FloatRange(start=0.5, stop=2.0, step=0.5)),
        ("log:1:100:3", LogRange(low=1, high=100, num=3, integer=True)),
        ("a,b,c", Choice(options=["a", "b", "c"])),
        ("7", Choice(options=[7])),
    ],
)
def test_parse_dimensions(text: str, expected) -> None:
    assert parse_dimension(text) == expected


def test_dimension_values() -> None:
    assert IntRange(start=5, stop=20, step=5).values() == [5, 10, 15, 20]
    assert FloatRange(start=0.5, stop=2.0, step=0.5).values() == [0.5, 1.0, 1.5, 2.0]
    assert LogRange(low=1, high=100, num=3, integer=True).values() == [1, 10, 100]
    space = {"a": IntRange(start=1, stop=2), "b": Choice(options=["x", "y"])}
    assert list(grid(space)) == [
        {"a": 1, "b": "x"},
        {"a": 1, "b": "y"},
        {"a": 2, "b": "x"},
        {"a": 2, "b": "y"},
    ]


def test_constraints_parse_safely() -> None:
    check = Constraint("fast < slow and slow >= 2 * fast", ["fast", "slow"])
    assert check({"fast": 10, "slow": 20}) and not check({"fast": 10, "slow": 15})
    with pytest.raises(ConstraintError, match="did you mean 'slow'"):
        Constraint("fast < slwo", ["fast", "slow"])
    with pytest.raises(ConstraintError, match="Call is not allowed"):
        Constraint("__import__('os').system('true')", ["fast"])


def test_grid_prunes_invalid_combinations_without_running_them(plugins: Plugins) -> None:
    result = optimize(OptimizeSpec.model_validate(grid_spec()), plugins=plugins)
    combos = list(itertools.product(range(5, 30, 5), range(20, 80, 20)))
    pruned = [c for c in combos if not c[0] < c[1]]
    assert result.pruned == len(pruned) == 2
    assert result.completed == len(combos) - 2 and result.failed == 0
    pruned_trials = [t for t in result.trials if t.status == "pruned"]
    assert [t.params for t in pruned_trials] == [{"fast": 20, "slow": 20}, {"fast": 25, "slow": 20}]
    assert all(t.metrics is None and t.seconds == 0 for t in pruned_trials)
    assert [t.number for t in result.trials] == list(range(len(combos)))
    best = max((t for t in result.trials if t.objective is not None), key=lambda t: t.objective)
    assert result.best == best


def test_a_raising_strategy_gives_exactly_one_failed_trial(write_plugin) -> None:
    directory = write_plugin("flaky", FLAKY_PLUGIN)
    plugins = Plugins.load(Settings(plugins_dirs=[directory]))
    spec = grid_spec()
    spec["base"]["strategy"] = {"name": "flaky", "params": {"raise_on": 15}}
    result = optimize(OptimizeSpec.model_validate(spec), plugins=plugins)
    failed = [t for t in result.trials if t.status == "failed"]
    assert len(failed) == 3  # fast=15 with each slow
    assert {t.params["fast"] for t in failed} == {15}
    assert all("ValueError: fast=15 is cursed" in t.error for t in failed)
    assert result.completed == 15 - 2 - 3


def test_random_search_is_seeded_and_respects_the_budget(plugins: Plugins) -> None:
    spec = grid_spec(method={"name": "random"}, trials=6, seed=11)
    spec["space"]["fast"] = {"kind": "int", "start": 2, "stop": 30}
    first = optimize(OptimizeSpec.model_validate(spec), plugins=plugins)
    second = optimize(OptimizeSpec.model_validate(spec), plugins=plugins)
    assert first.completed == 6
    assert comparable(first) == comparable(second)
    other = optimize(OptimizeSpec.model_validate({**spec, "seed": 12}), plugins=plugins)
    assert [t.params for t in other.trials] != [t.params for t in first.trials]


def test_minimising_a_metric(plugins: Plugins) -> None:
    spec = OptimizeSpec.model_validate(grid_spec(metric="max_drawdown", maximize=False))
    result = optimize(spec, plugins=plugins)
    completed = [t for t in result.trials if t.objective is not None]
    assert result.best.objective == min(t.objective for t in completed)


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"metric": "sharp"}, "did you mean 'sharpe'"),
        ({"pbo_blocks": 3}, "pbo_blocks must be even"),
    ],
)
def test_bad_search_specs(overrides: dict, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        OptimizeSpec.model_validate(grid_spec(**overrides))


def test_space_must_name_strategy_params(plugins: Plugins) -> None:
    spec = grid_spec()
    spec["space"]["fsat"] = spec["space"].pop("fast")
    with pytest.raises(SpecError) as info:
        optimize(OptimizeSpec.model_validate(spec), plugins=plugins)
    assert info.value.field == "space.fsat" and "did you mean 'fast'" in str(info.value)


def test_cancel_keeps_finished_trials(plugins: Plugins) -> None:
    cancel = threading.Event()
    seen = []

    def stop_after_three(trial, progress):
        seen.append(trial)
        if progress.done == 3:
            cancel.set()

    spec = OptimizeSpec.model_validate(grid_spec())
    result = optimize(spec, plugins=plugins, on_trial=stop_after_three, cancel=cancel)
    assert result.cancelled and result.completed == 3
    assert [t.status for t in result.trials] == ["completed"] * 3


def test_serial_executor_streams_trials_to_the_callback(plugins: Plugins) -> None:
    got = []
    optimize(
        OptimizeSpec.model_validate(grid_spec()),
        plugins=plugins,
        executor=SerialExecutor(),
        on_trial=lambda trial, progress: got.append((trial.number, progress.done)),
    )
    assert len(got) == 15 and max(done for _, done in got) == 13


def test_optuna_plugin_is_a_real_search_method(plugins: Plugins) -> None:
    entry = plugins.registries.optimizers.entry("optuna")
    assert entry.plugin == "optuna"
    spec = grid_spec(method={"name": "optuna", "params": {"n_startup_trials": 3}}, trials=8)
    spec["space"]["fast"] = {"kind": "int", "start": 2, "stop": 30}
    result = optimize(OptimizeSpec.model_validate(spec), plugins=plugins)
    assert result.completed + result.pruned == 8 and result.best is not None


# -- diagnostics, checked against worked examples -------------------------------------------


def test_deflated_sharpe_matches_the_papers_example() -> None:
    # Bailey and Lopez de Prado (2014), section 6: annualised SR 2.5 over 5 years of daily
    # returns (T = 1250), 100 trials whose annualised SRs have variance 0.5, skew -3, kurtosis 10.
    # Per day: SR = 2.5 / sqrt(250) = 0.15811, V = 0.5 / 250 = 0.002.
    # SR0 = sqrt(0.002) * ((1 - 0.5772) * Z^-1(0.99) + 0.5772 * Z^-1(1 - 1/(100 e)))
    #     = 0.044721 * (0.42278 * 2.32635 + 0.57722 * 2.68076) = 0.11319
    # DSR = Z((0.15811 - 0.11319) * sqrt(1249) / sqrt(1 + 3 * 0.15811 + 9/4 * 0.15811^2))
    #     = Z(1.5878 / 1.23717) = Z(1.2834) = 0.9004
    sr0 = expected_max_sharpe(0.002, 100)
    assert sr0 == pytest.approx(0.11319, abs=5e-5)
    dsr = probabilistic_sharpe(2.5 / math.sqrt(250), sr0, 1250, -3.0, 10.0)
    assert dsr == pytest.approx(0.9004, abs=5e-4)


def test_return_stats_by_hand() -> None:
    returns = np.array([0.01, -0.02, 0.03, 0.0])
    stats = return_stats(returns, blocks=2)
    mean, std = 0.005, np.std(returns, ddof=1)
    assert stats.sharpe == pytest.approx(mean / std)
    assert stats.blocks == (
        (2, pytest.approx(-0.01), pytest.approx(0.0005)),
        (2, 0.03, pytest.approx(0.0009)),
    )


def _blocks(*block_returns: list[float]) -> list[tuple[int, float, float]]:
    return [(len(b), float(np.sum(b)), float(np.sum(np.square(b)))) for b in block_returns]


def test_pbo_is_one_when_in_sample_winners_always_lose_out_of_sample() -> None:
    # Two trials, two blocks: A shines in block 0, B in block 1. With block 0 in-sample A
    # is picked and ranks last out-of-sample (w = 1/3, logit < 0); symmetrically for B.
    a = _blocks([0.03, 0.01], [-0.01, 0.0])
    b = _blocks([-0.01, 0.0], [0.03, 0.01])
    result = probability_of_overfitting([a, b])
    assert result.combinations == 2 and result.pbo == 1.0
    assert result.logits == pytest.approx((math.log(0.5), math.log(0.5)))


def test_pbo_is_zero_when_the_best_stays_best() -> None:
    a = _blocks([0.03, 0.01], [0.02, 0.04])
    b = _blocks([-0.01, 0.0], [0.0, -0.02])
    result = probability_of_overfitting([a, b])
    assert result.pbo == 0.0 and result.logits == pytest.approx((math.log(2), math.log(2)))


@pytest.mark.parametrize(("n_trials", "splits"), [(5, 6), (2, 2), (9, 10)])
def test_pbo_matches_a_brute_force_cscv(n_trials: int, splits: int) -> None:
    """Every split on its own, as the paper states it (the code computes each combination's
    Sharpes once and reads its complement's from the mirrored row)."""
    rng = np.random.default_rng(5)
    per_block = 8
    returns = rng.normal(0.0005, 0.01, (n_trials, splits, per_block))
    result = probability_of_overfitting([_blocks(*trial) for trial in returns])
    logits = []
    for chosen in itertools.combinations(range(splits), splits // 2):
        rest = [s for s in range(splits) if s not in chosen]
        sharpe = lambda rows: rows.mean() / rows.std(ddof=1)  # noqa: E731
        ins = [sharpe(returns[t][list(chosen)].ravel()) for t in range(n_trials)]
        oos = [sharpe(returns[t][rest].ravel()) for t in range(n_trials)]
        best = int(np.argmax(ins))
        omega = (1 + sum(o < oos[best] for o in oos)) / (n_trials + 1)
        logits.append(math.log(omega / (1 - omega)))
    assert result.logits == pytest.approx(tuple(logits))
    assert result.pbo == pytest.approx(np.mean(np.array(logits) <= 0))


class WorkersInProcess(SerialExecutor):
    """The serial executor claiming several workers, recording what the driver sends: the
    driver's side of a parallel search without a cluster (Ray runs it in test_optimize_ray)."""

    def __init__(self, workers: int) -> None:
        super().__init__()
        self.workers = workers
        self.batches: list[int] = []
        self.most_in_flight = 0

    def capacity(self) -> int:
        return self.workers

    def submit(self, batch, metric: str, blocks: int) -> None:
        super().submit(batch, metric, blocks)
        self.batches.append(len(batch))
        in_flight = sum(len(queued) for queued, _, _ in self._queue)
        self.most_in_flight = max(self.most_in_flight, in_flight)


def test_a_grid_is_laid_out_at_once_in_tasks_that_shrink_to_one_trial(plugins: Plugins) -> None:
    """A method that does not adapt (grid) on several workers: every trial is sent before
    the first result is back, in tasks of at most the batch size that end in single trials,
    so the workers finish together; the trials are the serial ones."""
    spec = grid_spec(space={"fast": {"kind": "int", "start": 2, "stop": 40, "step": 2}})
    spec["space"]["slow"] = {"kind": "int", "start": 20, "stop": 60, "step": 20}
    serial = optimize(OptimizeSpec.model_validate(spec), plugins=plugins)
    executor = WorkersInProcess(workers=2)
    laid_out = optimize(OptimizeSpec.model_validate(spec), plugins=plugins, executor=executor)
    assert comparable(laid_out) == comparable(serial)
    valid = laid_out.completed
    assert sum(executor.batches) == valid == executor.most_in_flight  # all sent at once
    assert executor.batches == sorted(executor.batches, reverse=True)
    assert executor.batches[-2:] == [1, 1] and max(executor.batches) == math.ceil(60 / 8)


def test_a_large_grid_keeps_at_most_the_lookahead_in_flight(
    plugins: Plugins, monkeypatch: pytest.MonkeyPatch
) -> None:
    import stratforge.core.optimize as optimize_module

    monkeypatch.setattr(optimize_module, "LOOKAHEAD", 36)  # the ordinary window is 32
    spec = grid_spec(space={"fast": {"kind": "int", "start": 2, "stop": 40, "step": 2}})
    spec["space"]["slow"] = {"kind": "int", "start": 20, "stop": 60, "step": 20}
    executor = WorkersInProcess(workers=2)
    result = optimize(OptimizeSpec.model_validate(spec), plugins=plugins, executor=executor)
    assert executor.most_in_flight <= 36 < result.completed == sum(executor.batches)


def test_an_adaptive_method_is_asked_for_a_few_candidates_per_worker(
    plugins: Plugins, write_plugin
) -> None:
    """Without ``adaptive = False`` a method is taken to learn from results: only about
    two batches per worker are out at a time, so its later candidates can use what it was
    told."""
    folder = write_plugin(
        "told_plugin",
        """
from stratforge import hookimpl
from stratforge.optimizers import GridSearch


class ToldGrid(GridSearch):
    adaptive = True  # as if it learned from tell


@hookimpl
def register_optimizers(register):
    register(ToldGrid, name="told_grid")
""",
    )
    spec = grid_spec(method={"name": "told_grid"}, trials=60)
    spec["space"] = {
        "fast": {"kind": "int", "start": 2, "stop": 40, "step": 2},
        "slow": {"kind": "int", "start": 60, "stop": 120, "step": 20},
    }
    loaded = Plugins.load(Settings(plugins_dirs=[folder]))
    executor = WorkersInProcess(workers=2)
    result = optimize(OptimizeSpec.model_validate(spec), plugins=loaded, executor=executor)
    batch = math.ceil(60 / 8)
    assert result.completed == 60 and executor.most_in_flight <= 2 * 2 * batch
    assert set(executor.batches[:-1]) == {batch}  # fixed tasks, not shrinking ones


def test_guided_batches_cover_every_trial_in_order() -> None:
    from stratforge.core.optimize import _guided_batches

    valid = [(n, {"x": n}) for n in range(90)]
    batches = _guided_batches(valid, 13, 2, left=90)
    assert [item for batch in batches for item in batch] == valid
    assert [len(b) for b in batches] == [13, 13, 13, 13, 10, 7, 6, 4, 3, 2, 2, 1, 1, 1, 1]
    assert [len(b) for b in _guided_batches(valid[:3], 13, 2, left=200)] == [3]
    assert _guided_batches([], 13, 2, left=0) == []


def test_search_reports_diagnostics(plugins: Plugins) -> None:
    result = optimize(OptimizeSpec.model_validate(grid_spec()), plugins=plugins)
    assert 0.0 <= result.deflated_sharpe["dsr"] <= 1.0
    assert result.deflated_sharpe["trials"] == 13
    assert 0.0 <= result.pbo["pbo"] <= 1.0 and result.pbo["combinations"] == 6


# -- walk-forward --------------------------------------------------------------------------


def test_bar_windows_rolling_and_anchored() -> None:
    index = pd.date_range("2020-01-01", periods=100, freq="D")
    rolling = layout_windows(index, 40, 20)
    assert [(w.train_start, w.train_end, w.test_start, w.test_end) for w in rolling] == [
        (0, 39, 40, 59),
        (20, 59, 60, 79),
        (40, 79, 80, 99),
    ]
    anchored = layout_windows(index, 40, 20, step=30, anchored=True)
    assert [(w.train_start, w.train_end, w.test_start, w.test_end) for w in anchored] == [
        (0, 39, 40, 59),
        (0, 69, 70, 89),
    ]


def test_period_windows_never_overlap_their_tests() -> None:
    index = pd.bdate_range("2015-01-01", "2020-12-31")
    windows = layout_windows(index, "2Y", "6M")
    assert len(windows) == 8  # tests end mid-2017, 2018, ... 2020-12-31
    for w in windows:
        assert w.test_start == w.train_end + 1
        assert index[w.train_end] < index[w.test_start]
        span = index[w.test_end] - index[w.test_start]
        assert pd.Timedelta(days=170) < span < pd.Timedelta(days=185)
    starts = [index[w.train_start] for w in windows]
    assert starts[1] - starts[0] >= pd.Timedelta(days=180)


def test_walk_forward_end_to_end(plugins: Plugins) -> None:
    spec = WalkForwardSpec.model_validate(
        {
            "search": grid_spec(
                base={"strategy": {"name": "sma_cross"}, "data": {"args": {"bars": 900}}}
            ),
            "train": 400,
            "test": 200,
        }
    )
    result = walk_forward(spec, plugins=plugins)
    assert len(result.windows) == 2
    for window in result.windows:
        assert window.train_bars == 400 and window.test_bars == 200
        assert window.train_end < window.test_start
        assert window.best_params is not None and window.in_sample is not None
    assert len(result.oos_equity["value"]) == 400
    ins, oos = zip(*[(w.in_sample, w.out_of_sample) for w in result.windows], strict=True)
    assert result.efficiency == pytest.approx(np.mean(oos) / np.mean(ins))
    assert result.oos_total_return == pytest.approx(result.oos_equity["value"][-1] / 100_000 - 1)


def test_walk_forward_spec_errors() -> None:
    with pytest.raises(ValueError, match="neither a number of bars nor a period"):
        WalkForwardSpec.model_validate({"search": grid_spec(), "train": "2 decades", "test": 10})
    with pytest.raises(ValueError, match="all be bars or all be periods"):
        WalkForwardSpec.model_validate({"search": grid_spec(), "train": "2Y", "test": 100})


# -- command line -------------------------------------------------------------------------


def test_optimize_command_exports_trials(tmp_path: Path) -> None:
    out = tmp_path / "trials.csv"
    proc = stratforge(
        "optimize",
        "-p",
        "fast=5:15:5",
        "-p",
        "slow=20:40:20",
        "-c",
        "fast < slow",
        "--executor",
        "serial",
        "-a",
        "bars=500",
        "--out",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    assert "Top" in proc.stdout and "deflated Sharpe ratio" in proc.stdout
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 6 and {"param_fast", "param_slow", "sharpe", "status"} <= set(rows[0])
    as_json = tmp_path / "trials.json"
    stratforge(
        "optimize",
        "-p",
        "fast=5:10:5",
        "--executor",
        "serial",
        "-a",
        "bars=300",
        "--out",
        str(as_json),
    )
    assert len(json.loads(as_json.read_text())["trials"]) == 2


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("optimize", "--executor", "serial"), "give at least one parameter to search"),
        (("optimize", "-p", "fast=9:1", "--executor", "serial"), "stop (1) is below start (9)"),
        (("optimize", "-p", "fsat=5:10", "--executor", "serial"), "did you mean 'fast'"),
        (("optimize", "-p", "fast=5:10", "-c", "fast <", "--executor", "serial"), "constraints"),
        (
            ("optimize", "-p", "fast=5:10", "--executor", "gpu"),
            "executor: Input should be 'serial' or 'ray'",
        ),
        (("optimize", "-p", "fast=5:10", "--metric", "sharp", "--executor", "serial"), "sharpe"),
    ],
)
def test_optimize_bad_input_is_one_line(args: tuple[str, ...], fragment: str) -> None:
    assert_one_line_error(stratforge(*args), fragment)


def test_walkforward_command(tmp_path: Path) -> None:
    out = tmp_path / "wf.json"
    proc = stratforge(
        "walkforward",
        "-p",
        "fast=5:10:5",
        "-p",
        "slow=20:40:20",
        "--train",
        "300",
        "--test",
        "100",
        "--executor",
        "serial",
        "-a",
        "bars=600",
        "--out",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    assert "walk-forward efficiency" in proc.stdout
    assert len(json.loads(out.read_text())["windows"]) == 3
