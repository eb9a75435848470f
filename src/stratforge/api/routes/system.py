"""/health and /version."""

from __future__ import annotations

import platform
from importlib.metadata import version

import backtrader as bt
from fastapi import APIRouter

from stratforge.api.deps import StateDep, quick_session
from stratforge.api.schemas import Health, Version
from stratforge.store import jobs

router = APIRouter(tags=["system"])
public_router = APIRouter(tags=["system"])


@public_router.get("/health", response_model=Health)
def health(state: StateDep) -> Health:
    """Database reachable, Ray state and queue depth (no API key needed)."""
    queue: dict[str, int] = {}
    try:
        with quick_session(state) as session:
            queue = jobs.queue_depth(session)  # its counts are the round trip that proves it
        database = "ok"
    except Exception as exc:
        database = f"error: {type(exc).__name__}"
    ray = state.dispatcher.ray_health()
    healthy = database == "ok" and not ray.startswith("error")
    return Health(status="ok" if healthy else "degraded", database=database, ray=ray, queue=queue)


@router.get("/version", response_model=Version)
def get_version() -> Version:
    return Version(
        stratforge=version("stratforge"),
        backtrader=bt.__version__,
        python=platform.python_version(),
    )
