"""/cache: the result cache's size, and clearing it (docs/api.md, "Result cache")."""

from __future__ import annotations

from fastapi import APIRouter

from stratforge.api.deps import SessionDep, StateDep
from stratforge.api.schemas import CacheCleared, CacheOut, aware
from stratforge.store import cache

router = APIRouter(prefix="/cache", tags=["system"])


@router.get("", response_model=CacheOut)
def get_cache(state: StateDep, session: SessionDep) -> CacheOut:
    """How many runs and trials the result cache knows, and whether it is on."""
    info = cache.cache_info(session)
    return CacheOut(
        enabled=state.settings.result_cache,
        max_entries=state.settings.result_cache_max_entries,
        entries=info.entries,
        backtests=info.backtests,
        trials=info.trials,
        hits=info.hits,
        oldest_use=aware(info.oldest_use),
    )


@router.delete("", response_model=CacheCleared)
def clear_cache(session: SessionDep) -> CacheCleared:
    """Forget every entry: the next identical run is computed again. Stored jobs and their
    results stay as they are."""
    return CacheCleared(cleared=cache.clear_cache(session))
