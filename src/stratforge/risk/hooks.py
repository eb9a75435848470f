"""The risk hook: plugins contribute risk rules the engine enforces for any strategy."""

from __future__ import annotations

from stratforge.plugin.hookspecs import hookspec
from stratforge.plugin.kinds import Kind, subclass_of
from stratforge.plugin.registry import Register
from stratforge.risk.guard import RiskRule

RISK_RULES = Kind("risk_rules", "risk rule", subclass_of(RiskRule))


@hookspec
def register_risk_rules(register: Register) -> None:
    """Contribute ``stratforge.risk.RiskRule`` subclasses (dataclasses; fields are params)."""
