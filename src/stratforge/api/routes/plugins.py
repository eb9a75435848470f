"""/plugins: every registered item with the JSON Schema of its parameters."""

from __future__ import annotations

import inspect
from typing import Any

from fastapi import APIRouter, HTTPException

from stratforge.api.deps import AppState, StateDep
from stratforge.api.param_schema import params_schema
from stratforge.api.schemas import PluginOut
from stratforge.plugin.registry import Entry, did_you_mean

router = APIRouter(prefix="/plugins", tags=["plugins"])


def plugin_kinds(state: AppState) -> list[str]:
    """Every kind the loaded registries hold, by plural name: read from the registries, so a
    kind added to them (as contracts and report panels were) is listed without an edit here."""
    return list(state.plugins.registries.by_kind())


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
    """Strategies, indicators, sizers, analyzers, data sources, contracts, roll rules,
    optimisers, risk rules and report panels."""
    registries = state.plugins.registries.by_kind()
    kinds = [_kind(state, kind)] if kind else list(registries)
    return [plugin_out(k, e) for k in kinds for e in registries[k].entries()]


@router.get("/{kind}/{name}", response_model=PluginOut)
def get_plugin(state: StateDep, kind: str, name: str) -> PluginOut:
    plural = _kind(state, kind)
    registry = state.plugins.registries.by_kind()[plural]
    if name not in registry:
        raise HTTPException(
            404, detail=f"no {registry.kind} {name!r}; {did_you_mean(name, registry.labels())}"
        )
    return plugin_out(plural, registry.entry(name))


def _kind(state: AppState, kind: str) -> str:
    """The plural of *kind*, given as plural (``strategies``) or singular (``strategy``,
    ``data_source``); 404 with suggestions otherwise."""
    for plural, registry in state.plugins.registries.by_kind().items():
        if kind in (plural, registry.kind.replace(" ", "_")):
            return plural
    known = plugin_kinds(state)
    raise HTTPException(404, detail=f"unknown kind {kind!r}; {did_you_mean(kind, known)}")
