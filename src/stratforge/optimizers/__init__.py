"""Built-in search methods: exhaustive grid and seeded random sampling."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from stratforge.optimizers.search import SearchContext
from stratforge.optimizers.space import grid
from stratforge.plugin.hookspecs import hookimpl
from stratforge.plugin.registry import Register


class GridSearch:
    """Every combination of the space, in a fixed order (up to the trial budget)."""

    adaptive = False  # the whole grid can be laid out at once

    def __init__(self, space: Mapping[str, Any], context: SearchContext, /) -> None:
        self._combos: Iterator[dict[str, Any]] = grid(space)

    def ask(self, n: int) -> list[dict[str, Any]]:
        batch = []
        for combo in self._combos:
            batch.append(combo)
            if len(batch) >= n:
                break
        return batch

    def tell(self, params: dict[str, Any], value: float | None) -> None:
        """A grid does not adapt."""


class RandomSearch:
    """Uniform samples of the space (log-uniform for log ranges), seeded, without repeats.

    Args:
        max_draws: give up after this many draws without a new candidate (small spaces)
    """

    adaptive = False  # samples do not depend on results

    def __init__(
        self, space: Mapping[str, Any], context: SearchContext, /, *, max_draws: int = 10_000
    ) -> None:
        self._space = dict(space)
        self._rng = np.random.default_rng(context.seed)
        self._budget = context.budget if context.budget is not None else 100
        self._seen: set[tuple[Any, ...]] = set()
        self._max_draws = max_draws
        self._asked = 0

    def ask(self, n: int) -> list[dict[str, Any]]:
        batch: list[dict[str, Any]] = []
        draws = 0
        while len(batch) < n and self._asked < self._budget * 4 and draws < self._max_draws:
            draws += 1
            candidate = {name: dim.sample(self._rng) for name, dim in self._space.items()}
            key = tuple(candidate.values())
            if key in self._seen:
                continue
            self._seen.add(key)
            self._asked += 1
            batch.append(candidate)
        return batch

    def tell(self, params: dict[str, Any], value: float | None) -> None:
        """Random sampling does not adapt."""


@hookimpl
def register_optimizers(register: Register) -> None:
    register(GridSearch, name="grid")
    register(RandomSearch, name="random")
