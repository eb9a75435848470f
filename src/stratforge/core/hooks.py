"""The engine's hooks: the backtrader components a run is built from, search methods, report
panels, and the one lifecycle hook, ``configure_cerebro``.

Report panels are declared here rather than in ``stratforge.report`` because the engine's
typed registries (``stratforge.core.plugins``) hold them; the report package implements the
hook like any plugin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import backtrader as bt

from stratforge.plugin.hookspecs import hookspec
from stratforge.plugin.kinds import Kind, is_callable, subclass_of
from stratforge.plugin.registry import Register

if TYPE_CHECKING:
    from stratforge.core.spec import RunSpec

STRATEGIES = Kind("strategies", "strategy", subclass_of(bt.Strategy))
INDICATORS = Kind("indicators", "indicator", subclass_of(bt.Indicator))
SIZERS = Kind("sizers", "sizer", subclass_of(bt.Sizer))
ANALYZERS = Kind("analyzers", "analyzer", subclass_of(bt.Analyzer))
OPTIMIZERS = Kind("optimizers", "optimizer", is_callable)
REPORT_PANELS = Kind("report_panels", "report panel", is_callable)


@hookspec
def register_strategies(register: Register) -> None:
    """Contribute ``backtrader.Strategy`` subclasses."""


@hookspec
def register_indicators(register: Register) -> None:
    """Contribute ``backtrader.Indicator`` subclasses."""


@hookspec
def register_sizers(register: Register) -> None:
    """Contribute ``backtrader.Sizer`` subclasses."""


@hookspec
def register_analyzers(register: Register) -> None:
    """Contribute ``backtrader.Analyzer`` subclasses."""


@hookspec
def register_optimizers(register: Register) -> None:
    """Contribute search methods: classes ``(space, context, /, **params)`` with ask/tell."""


@hookspec
def register_report_panels(register: Register) -> None:
    """Contribute report tabs: callables ``(result, theme, /)`` returning a Bokeh layout
    (or None when the run has nothing for this panel)."""


@hookspec
def configure_cerebro(cerebro: bt.Cerebro, spec: RunSpec) -> Any:
    """Adjust a fully built Cerebro just before it runs (add observers, filters, broker tweaks)."""
