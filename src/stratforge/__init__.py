"""stratforge: a futures-first, plugin-based backtesting framework on backtrader.

The public surface is small on purpose: plugin authors need ``hookimpl``; users of the
Python API need ``RunSpec``, ``run_backtest`` and ``RunResult``.

The engine names load on first use (module ``__getattr__``), not with the package: every
``stratforge.*`` import runs this file first, and the command line must answer ``--help``
without importing backtrader, pandas and the engine behind these three names.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from stratforge.plugin.hookspecs import hookimpl

if TYPE_CHECKING:
    from stratforge.core.engine import run_backtest
    from stratforge.core.results import RunResult
    from stratforge.core.spec import RunSpec

__version__ = "0.1.0"

__all__ = ["RunResult", "RunSpec", "__version__", "hookimpl", "run_backtest"]

_LAZY = {
    "RunResult": "stratforge.core.results",
    "RunSpec": "stratforge.core.spec",
    "run_backtest": "stratforge.core.engine",
}


def __getattr__(name: str) -> Any:
    """``stratforge.RunSpec`` and friends, imported when first asked for."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
