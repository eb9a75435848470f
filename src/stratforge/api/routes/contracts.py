"""/contracts: the registered futures contract specifications."""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter, HTTPException

from stratforge.api.deps import StateDep
from stratforge.plugin.registry import did_you_mean

router = APIRouter(prefix="/contracts", tags=["futures"])


def contract_out(spec: Any, plugin: str) -> dict[str, Any]:
    return {**dataclasses.asdict(spec), "tick_value": spec.tick_value, "plugin": plugin}


@router.get("")
def list_contracts(state: StateDep) -> list[dict[str, Any]]:
    """Root, exchange, currency, multiplier, tick, months, expiry rule, example margins."""
    return [contract_out(e.obj, e.plugin) for e in state.plugins.registries.contracts.entries()]


@router.get("/{root}")
def get_contract(state: StateDep, root: str) -> dict[str, Any]:
    registry = state.plugins.registries.contracts
    if root not in registry:
        raise HTTPException(
            404, detail=f"no contract {root!r}; {did_you_mean(root, registry.labels())}"
        )
    entry = registry.entry(root)
    return contract_out(entry.obj, entry.plugin)
