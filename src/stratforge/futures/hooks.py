"""The futures hooks: plugins contribute contract specifications and roll rules."""

from __future__ import annotations

from stratforge.futures.contracts import ContractSpec
from stratforge.plugin.hookspecs import hookspec
from stratforge.plugin.kinds import Kind, instance_of, is_callable
from stratforge.plugin.registry import Register

CONTRACTS = Kind("contracts", "contract", instance_of(ContractSpec))
ROLL_RULES = Kind("roll_rules", "roll rule", is_callable)


@hookspec
def register_contracts(register: Register) -> None:
    """Contribute futures ``ContractSpec`` objects, keyed by root (``replace=True`` overrides)."""


@hookspec
def register_roll_rules(register: Register) -> None:
    """Contribute roll rules: ``rule(chain, /, **params) -> list[RollPoint]``."""
