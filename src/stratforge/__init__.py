"""stratforge: a futures-first, plugin-based backtesting framework on backtrader.

The public surface is small on purpose: plugin authors need ``hookimpl``; users of the
Python API need ``RunSpec``, ``run_backtest`` and ``RunResult``.
"""

from stratforge.core.engine import run_backtest
from stratforge.core.results import RunResult
from stratforge.core.spec import RunSpec
from stratforge.plugin.hookspecs import hookimpl

__version__ = "0.1.0"

__all__ = ["RunResult", "RunSpec", "__version__", "hookimpl", "run_backtest"]
