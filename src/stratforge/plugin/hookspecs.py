"""The hooks a stratforge plugin can implement.

Registration hooks all have the shape ``register_<plural>(register)``: the plugin calls
``register(obj, name=..., aliases=...)`` once per contribution. Lifecycle hooks receive the
objects they may change. Every hook here is documented in ``docs/plugin_hooks.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import backtrader as bt

    from stratforge.core.spec import RunSpec
    from stratforge.plugin.registry import Register

PROJECT_NAME = "stratforge"

_hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@_hookspec
def register_strategies(register: Register) -> None:
    """Contribute ``backtrader.Strategy`` subclasses."""


@_hookspec
def register_indicators(register: Register) -> None:
    """Contribute ``backtrader.Indicator`` subclasses."""


@_hookspec
def register_sizers(register: Register) -> None:
    """Contribute ``backtrader.Sizer`` subclasses."""


@_hookspec
def register_analyzers(register: Register) -> None:
    """Contribute ``backtrader.Analyzer`` subclasses."""


@_hookspec
def register_data_sources(register: Register) -> None:
    """Contribute data sources: callables with keyword-only parameters returning an OHLCV frame."""


@_hookspec
def register_contracts(register: Register) -> None:
    """Contribute futures ``ContractSpec`` objects, keyed by root (``replace=True`` overrides)."""


@_hookspec
def register_roll_rules(register: Register) -> None:
    """Contribute roll rules: ``rule(chain, /, **params) -> list[RollPoint]``."""


@_hookspec
def register_optimizers(register: Register) -> None:
    """Contribute search methods: classes ``(space, context, /, **params)`` with ask/tell."""


@_hookspec
def register_risk_rules(register: Register) -> None:
    """Contribute ``stratforge.risk.RiskRule`` subclasses (dataclasses; fields are params)."""


@_hookspec
def register_report_panels(register: Register) -> None:
    """Contribute report tabs: callables ``(result, theme, /)`` returning a Bokeh layout
    (or None when the run has nothing for this panel)."""


@_hookspec
def configure_cerebro(cerebro: bt.Cerebro, spec: RunSpec) -> Any:
    """Adjust a fully built Cerebro just before it runs (add observers, filters, broker tweaks)."""
