"""Optuna's TPE sampler as a stratforge search method (ask-and-tell).

Optuna is imported when a search starts, not when the plugin registers: every stratforge
command loads the installed plugins, and importing optuna (with its sqlalchemy and alembic)
would slow each one down.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from stratforge import hookimpl
from stratforge.optimizers.search import SearchContext
from stratforge.optimizers.space import Choice, FloatRange, IntRange, LogRange

if TYPE_CHECKING:
    import optuna

DEFAULT_BUDGET = 50


class OptunaSearch:
    """Bayesian search with Optuna's Tree-structured Parzen Estimator.

    Args:
        n_startup_trials: random trials before the TPE model takes over
        multivariate: model the parameters jointly rather than one by one
    """

    def __init__(
        self,
        space: Mapping[str, Any],
        context: SearchContext,
        /,
        *,
        n_startup_trials: int = 10,
        multivariate: bool = True,
    ) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        sampler = optuna.samplers.TPESampler(
            seed=context.seed, n_startup_trials=n_startup_trials, multivariate=multivariate
        )
        direction = "maximize" if context.maximize else "minimize"
        self._study = optuna.create_study(direction=direction, sampler=sampler)
        self._space = dict(space)
        self._left = context.budget if context.budget is not None else DEFAULT_BUDGET
        self._open: dict[tuple[Any, ...], list[optuna.trial.Trial]] = {}

    def ask(self, n: int) -> list[dict[str, Any]]:
        batch = []
        for _ in range(min(n, self._left)):
            trial = self._study.ask()
            params = {name: _suggest(trial, name, dim) for name, dim in self._space.items()}
            self._open.setdefault(_key(params), []).append(trial)
            batch.append(params)
        self._left -= len(batch)
        return batch

    def tell(self, params: dict[str, Any], value: float | None) -> None:
        waiting = self._open.get(_key(params))
        if not waiting:
            return
        trial = waiting.pop(0)
        if value is None:
            from optuna.trial import TrialState

            self._study.tell(trial, state=TrialState.FAIL)
        else:
            self._study.tell(trial, value)


def _key(params: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(sorted(params.items()))


def _suggest(trial: optuna.trial.Trial, name: str, dim: Any) -> Any:
    if isinstance(dim, IntRange):
        return trial.suggest_int(name, dim.start, dim.stop, step=dim.step)
    if isinstance(dim, FloatRange):
        return trial.suggest_float(name, dim.start, dim.stop, step=dim.step)
    if isinstance(dim, LogRange):
        if dim.integer:
            return trial.suggest_int(name, int(dim.low), int(dim.high), log=True)
        return trial.suggest_float(name, dim.low, dim.high, log=True)
    if isinstance(dim, Choice):
        return trial.suggest_categorical(name, dim.options)
    raise TypeError(f"unsupported dimension {type(dim).__name__} for {name!r}")


@hookimpl
def register_optimizers(register: Any) -> None:
    register(OptunaSearch, name="optuna", aliases=["tpe"])
