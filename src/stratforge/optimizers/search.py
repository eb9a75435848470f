"""What a search method is and is told: the interface ``register_optimizers`` contributes.

It stands below the engine's optimiser (``stratforge.core.optimize``), which drives any
method of this shape, so built-in and third-party methods depend on it alone.
"""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import BaseModel


class SearchContext(BaseModel):
    """What a search method is told about the search it serves."""

    budget: int | None
    seed: int
    maximize: bool


class Optimizer(Protocol):
    """A search method: ``register_optimizers`` contributes classes of this shape.

    ``__init__(self, space, context, /, **params)``: *space* maps names to dimensions,
    *context* is a ``SearchContext``; keyword params are the method's user parameters.

    A class attribute ``adaptive = False`` (optional; a method is taken to adapt unless it
    says otherwise) declares that candidates never depend on ``tell``: the engine may then
    ask for the whole search at once and lay it out across the workers so that they finish
    together. A method that learns from results keeps the default, and is asked for a few
    candidates per free worker.
    """

    def ask(self, n: int) -> list[dict[str, Any]]:
        """Up to *n* new candidates; an empty list ends the search."""
        ...

    def tell(self, params: dict[str, Any], value: float | None) -> None:
        """The objective of a finished candidate (None if failed or undefined)."""
        ...
