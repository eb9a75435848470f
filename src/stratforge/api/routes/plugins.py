"""/plugins: every registered item with the JSON Schema of its parameters."""

from __future__ import annotations

import inspect
from typing import Any

from fastapi import APIRouter, HTTPException

from stratforge.api.deps import StateDep
from stratforge.api.param_schema import params_schema
from stratforge.api.schemas import PluginOut
from stratforge.plugin.registry import Entry, did_you_mean

router = APIRouter(prefix="/plugins", tags=["plugins"])
KINDS = (
    "strategies",
    "indicators",
    "sizers",
    "analyzers",
    "data_sources",
    "roll_rules",
    "optimizers",
    "risk_rules",
)


def plugin_out(kind: str, entry: Entry[Any]) -> PluginOut:
    doc = inspect.getdoc(entry.obj) or ""
    return PluginOut(
        kind=kind,
        name=entry.name,
        aliases=list(entry.aliases),
        plugin=entry.plugin,
        version=entry.plugin_version,
        description=doc.split("\n\n")[0] or None,
        params_schema=params_schema(entry.obj),
    )


@router.get("", response_model=list[PluginOut])
def list_plugins(state: StateDep, kind: str | None = None) -> list[PluginOut]:
    """Strategies, indicators, sizers, analyzers, data sources, roll rules, optimisers and
    risk rules."""
    kinds = [_kind(kind)] if kind else list(KINDS)
    registries = state.plugins.registries.by_kind()
    return [plugin_out(k, e) for k in kinds for e in registries[k].entries()]


@router.get("/{kind}/{name}", response_model=PluginOut)
def get_plugin(state: StateDep, kind: str, name: str) -> PluginOut:
    plural = _kind(kind)
    registry = state.plugins.registries.by_kind()[plural]
    if name not in registry:
        raise HTTPException(
            404, detail=f"no {registry.kind} {name!r}; {did_you_mean(name, registry.labels())}"
        )
    return plugin_out(plural, registry.entry(name))


def _kind(kind: str) -> str:
    singular = {k[:-1] if not k.endswith("ies") else k[:-3] + "y": k for k in KINDS}
    plural = kind if kind in KINDS else singular.get(kind)
    if plural is None:
        raise HTTPException(404, detail=f"unknown kind {kind!r}; {did_you_mean(kind, KINDS)}")
    return plural
