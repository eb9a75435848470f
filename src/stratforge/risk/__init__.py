"""Risk rules the engine enforces for any strategy, chosen in ``RunSpec.risk``.

A rule is a ``RiskRule`` dataclass: ``check_order`` vets each order a strategy submits
(allow, trim or reject), ``on_bar`` acts at each bar's close. Built-ins register through
``register_risk_rules`` exactly like a third-party plugin's rules.
"""

from __future__ import annotations

from stratforge.plugin.hookspecs import hookimpl
from stratforge.plugin.registry import Register
from stratforge.risk.guard import Account, GuardedBroker, OrderRequest, RiskRule, Verdict
from stratforge.risk.rules import (
    Bracket,
    MaxDailyLoss,
    MaxGrossExposure,
    MaxOrdersPerDay,
    MaxPosition,
)

__all__ = [
    "Account",
    "Bracket",
    "GuardedBroker",
    "MaxDailyLoss",
    "MaxGrossExposure",
    "MaxOrdersPerDay",
    "MaxPosition",
    "OrderRequest",
    "RiskRule",
    "Verdict",
]


@hookimpl
def register_risk_rules(register: Register) -> None:
    register(MaxPosition, name="max_position")
    register(MaxGrossExposure, name="max_gross_exposure")
    register(MaxDailyLoss, name="max_daily_loss")
    register(Bracket, name="bracket", aliases=["stop_loss", "take_profit"])
    register(MaxOrdersPerDay, name="max_orders_per_day")
