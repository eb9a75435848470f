"""``stratforge serve``: the REST API, its job dispatcher and the dashboard under uvicorn.

The server processes read their configuration from the environment, so the command exports
what the global options chose; and an API reachable beyond loopback is never left open.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated

import typer

from stratforge.cli.common import current_settings, load_plugins, out, user_errors

if TYPE_CHECKING:
    from stratforge.core.settings import Settings


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Server processes.")] = 1,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development).")] = False,
    demo: Annotated[
        bool, typer.Option(help="Seed a demo dataset and backtest on first start.")
    ] = True,
) -> None:
    """Run the REST API (and its job dispatcher) with uvicorn."""
    import uvicorn

    with user_errors():
        settings = current_settings()
        demo_id = prepare_store(settings, demo)
    generated_key = key_for_public_bind(host, settings.api_key)
    print_addresses(f"http://{host}:{port}", settings, demo_id)
    if generated_key:
        out.print(
            f"API key:         {generated_key}   (generated: {host} is not loopback; set "
            "STRATFORGE_API_KEY to choose one)",
            soft_wrap=True,
        )
        os.environ["STRATFORGE_API_KEY"] = generated_key
    export_settings(settings)
    uvicorn.run(
        "stratforge.api:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        log_level="info",
        timeout_graceful_shutdown=5,  # open event streams must not hold a shutdown
    )


def prepare_store(settings: Settings, demo: bool) -> str | None:
    """Create and migrate the database; the demo backtest's id if one was seeded."""
    from stratforge.jobs.demo import seed_demo
    from stratforge.store.db import make_engine, migrate

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings)
    migrate(engine)
    demo_id = seed_demo(settings, engine, load_plugins()) if demo else None
    engine.dispose()
    return demo_id


def print_addresses(base: str, settings: Settings, demo_id: str | None) -> None:
    out.print(f"dashboard:       {base}/   (data in {settings.data_dir})", soft_wrap=True)
    out.print(f"REST API docs:   {base}/docs", soft_wrap=True)
    out.print(
        f"MCP (agents):    {base}/mcp   (`stratforge mcp config` for a desktop client)",
        soft_wrap=True,
    )
    out.print(
        f'Python client:   Client("{base}")   (from stratforge.client import Client)',
        soft_wrap=True,
    )
    if demo_id:
        out.print(f"demo backtest:   {base}/runs/backtests/{demo_id}", soft_wrap=True)
        out.print(f"its report:      {base}/api/v1/backtests/{demo_id}/report", soft_wrap=True)


def key_for_public_bind(host: str, api_key: str | None) -> str | None:
    """A fresh API key when the server listens beyond loopback without one (as Jupyter
    does with its token): an open API on all interfaces is never the default."""
    import secrets

    from stratforge.api.origin import is_loopback

    if api_key or is_loopback(host):
        return None
    return secrets.token_urlsafe(24)


def export_settings(settings: Settings) -> None:
    """What the global options chose, for the server processes uvicorn starts."""
    os.environ["STRATFORGE_DATA_DIR"] = str(settings.data_dir)
    if settings.plugins_dirs:
        os.environ["STRATFORGE_PLUGINS_DIR"] = os.pathsep.join(map(str, settings.plugins_dirs))
