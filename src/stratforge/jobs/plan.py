"""Checking a job before any work is done: names, parameters and paths resolve, a search's
space and method make sense, and its size fits the limit. The REST API refuses a submission
with what these raise (422 naming the field); the CLI prints the same message and exits 2.

Network callers pass ``network_roots``: files they name must lie under the server's data
roots. The CLI is a local user's tool and passes none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from stratforge.core.optimize import OptimizeSpec, check_space, make_optimizer
from stratforge.core.plugins import Plugins
from stratforge.core.resolve import resolve
from stratforge.core.spec import RunSpec
from stratforge.core.walkforward import WalkForwardSpec, count_windows
from stratforge.jobs.files import check_network_paths
from stratforge.optimizers.space import grid_size
from stratforge.plugin.errors import SpecError


@dataclass(frozen=True)
class SearchPlan:
    """How big a search is, as far as is known before it runs."""

    trials: int | None
    """Trials of one search: the grid's size within the budget, or the budget; None when
    neither bounds it (a method that stops by itself)."""
    search: OptimizeSpec
    """The search as it will run: each feed's source named (a futures root with no source
    reads the market catalog when the root is stored there), so the stored job runs what was
    checked, and its listing says so."""
    windows: int = 1
    """Walk-forward windows the search is repeated over."""

    @property
    def backtests(self) -> int | None:
        return None if self.trials is None else self.trials * self.windows


def plan_backtest(
    spec: RunSpec, plugins: Plugins, *, network_roots: Sequence[Path] | None = None
) -> RunSpec:
    """Raise ``SpecError`` for any name, parameter or (network) path of *spec* that is wrong;
    return the spec as it will run, each feed's source named."""
    resolved = resolve(spec, plugins)
    if network_roots is not None:
        check_network_paths(resolved, list(network_roots))
    return resolved.spec


def plan_search(
    search: OptimizeSpec,
    plugins: Plugins,
    *,
    where: str = "",
    windows: int = 1,
    max_backtests: int | None = None,
    network_roots: Sequence[Path] | None = None,
) -> SearchPlan:
    """Check a search (prefixing fields with *where*, e.g. ``search.``) and size it."""
    try:
        base = plan_backtest(search.base, plugins, network_roots=network_roots)
    except SpecError as exc:
        raise SpecError(f"{where}base.{exc.field}", exc.message) from None
    try:
        check_space(search, plugins)
        make_optimizer(search, plugins)  # method name and params are checked before any work
    except SpecError as exc:
        raise SpecError(f"{where}{exc.field}", exc.message) from None
    size = grid_size(search.space) if search.method.name == "grid" else None
    trials = min(filter(None, [search.trials, size]), default=None)
    plan = SearchPlan(trials, search.model_copy(update={"base": base}), windows)
    if max_backtests is not None:
        _within_limit(plan, search, where, max_backtests)
    return plan


def _within_limit(plan: SearchPlan, search: OptimizeSpec, where: str, limit: int) -> None:
    trials = plan.trials or search.trials or 0
    if trials * plan.windows <= limit:
        return
    windows = plan.windows
    per = f"{trials:,} trials" + (f" in each of {windows:,} windows" if windows > 1 else "")
    raise SpecError(
        f"{where}space",
        f"the search has {per}, more than the limit of {limit:,} backtests; "
        "narrow the ranges, use method random with a trials budget"
        + (", or fewer windows (a longer step)" if windows > 1 else ""),
    )


def plan_walkforward(
    spec: WalkForwardSpec,
    plugins: Plugins,
    *,
    max_backtests: int | None = None,
    network_roots: Sequence[Path] | None = None,
) -> SearchPlan:
    """Check a walk-forward analysis: its data is loaded once to count the windows."""
    try:
        plan_backtest(spec.search.base, plugins, network_roots=network_roots)
        windows = count_windows(spec, plugins)
    except SpecError as exc:
        field = exc.field if exc.field == "train" else f"search.base.{exc.field}"
        raise SpecError(field, exc.message) from None
    except (ValueError, OSError) as exc:  # the data could not be loaded to count windows
        raise SpecError("search.base.data", str(exc).splitlines()[0][:500]) from None
    return plan_search(
        spec.search,
        plugins,
        where="search.",
        windows=windows,
        max_backtests=max_backtests,
        network_roots=network_roots,
    )
