"""The REST API: ``create_app(settings)`` builds a FastAPI app whose routers live under
/api/v1, one module per resource. The app owns the job dispatcher and is the only writer of
the database."""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import FrameType
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, Response

from stratforge import __version__
from stratforge.api import agents, dashboard, errors
from stratforge.api.deps import AppState, require_api_key
from stratforge.api.hub import JobHub
from stratforge.api.limits import BodyLimit
from stratforge.api.origin import LocalOnly
from stratforge.api.routes import (
    backtests,
    cache,
    contracts,
    datasets,
    events,
    markets,
    optimizations,
    plugins,
    reports,
    system,
    walkforwards,
)
from stratforge.api.routes._jobs import job_out
from stratforge.core.plugins import Plugins
from stratforge.core.settings import Settings, get_settings
from stratforge.jobs.dispatcher import Dispatcher
from stratforge.store.blobs import BlobStore
from stratforge.store.db import make_engine, migrate

log = logging.getLogger("stratforge.api")
API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None) -> FastAPI:
    """The application for *settings* (default: from the environment)."""
    settings = settings or get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings)
    migrate(engine)
    loaded = Plugins.load(settings)
    blobs = BlobStore(settings.data_dir / "results")
    dispatcher = Dispatcher(settings, engine, loaded, blobs)
    state = AppState(settings, engine, loaded, blobs, dispatcher)
    state.hub = JobHub(engine, _listed)
    mcp = agents.Endpoint()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        _end_streams_on_exit_signals(state)
        await dispatcher.start()
        try:
            async with mcp.running():  # the MCP tools at /mcp (stratforge.mcp)
                yield
        finally:
            state.closing.set()
            await dispatcher.stop()
            engine.dispose()

    app = FastAPI(
        title="stratforge",
        version=__version__,
        description="Backtests, optimisations and walk-forward analyses as durable jobs.",
        lifespan=lifespan,
        docs_url=None,  # served below from local files: /docs must work without internet
        redoc_url=None,
    )
    _offline_docs(app)
    app.state.stratforge = state
    _middleware(app, settings)
    errors.install(app)
    _routes(app)
    agents.install(app, settings, mcp)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:  # browsers ask for one on every page; there is none
        return Response(status_code=204)

    return app


def _middleware(app: FastAPI, settings: Settings) -> None:
    """CORS when origins are configured, loopback-only without a key, and body limits (the
    last added runs first: oversized bodies are refused before anything reads them)."""
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
        )
    if not settings.api_key:
        app.add_middleware(LocalOnly, allowed_origins=settings.cors_origins)
    app.add_middleware(
        BodyLimit,
        limit=int(settings.max_request_kb * 1024),
        upload_limit=int(settings.max_upload_mb * (1 << 20)) + (1 << 20),  # + form framing
        upload_path=f"{API_PREFIX}/datasets",
    )


def _routes(app: FastAPI) -> None:
    """Every resource under /api/v1 behind the API key, but /health; then the dashboard."""
    protected = APIRouter(prefix=API_PREFIX, dependencies=[Depends(require_api_key)])
    for module in (
        backtests,
        optimizations,
        walkforwards,
        plugins,
        contracts,
        markets,
        datasets,
        system,
        cache,
        reports,
        events,
    ):
        protected.include_router(module.router)
    app.include_router(protected)
    app.include_router(system.public_router, prefix=API_PREFIX)
    dashboard.install(app)


def _offline_docs(app: FastAPI) -> None:
    """Swagger UI from the swagger-ui-bundle package instead of a CDN."""
    from bokeh.util.paths import bokehjs_path
    from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
    from fastapi.staticfiles import StaticFiles
    from swagger_ui_bundle import swagger_ui_path

    app.mount("/static/swagger", StaticFiles(directory=swagger_ui_path), name="swagger")
    # Report pages load BokehJS from here, never from a CDN.
    app.mount("/bokeh/static", StaticFiles(directory=bokehjs_path()), name="bokehjs")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title="stratforge API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/static/swagger/favicon-32x32.png",
            oauth2_redirect_url="/docs/oauth2-redirect",
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()


def _listed(job: Any) -> dict[str, Any]:
    """A job as listings and the events stream show it (no spec)."""
    return job_out(job, with_spec=False).model_dump(mode="json")


def _end_streams_on_exit_signals(state: AppState) -> None:
    """Let SIGTERM and SIGINT end the event streams before uvicorn waits for connections.

    uvicorn waits for open responses before it runs the shutdown; an event stream never
    ends by itself, so a deploy would wait for the graceful timeout and then cut them. The
    server's own handlers (uvicorn's, in the main thread) are kept and called after.
    """
    if threading.current_thread() is not threading.main_thread():
        return  # test clients run the app in a thread; no signals reach it there
    for signum in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(signum)
        if not callable(previous):
            continue

        def handler(sig: int, frame: FrameType | None, previous: Any = previous) -> None:
            state.closing.set()
            previous(sig, frame)

        signal.signal(signum, handler)


def app_from_environment() -> FastAPI:
    """Factory for ``uvicorn --factory`` (used by ``stratforge serve`` for workers/reload)."""
    # Ray's core installs a crash handler on SIGTERM in the driver that aborts the process
    # (SIGABRT) three seconds later, before a graceful shutdown has finished: a server
    # stops on SIGTERM through uvicorn instead. Read when Ray is first imported.
    os.environ.setdefault("RAY_DISABLE_FAILURE_SIGNAL_HANDLER", "1")
    # Read the environment afresh: `stratforge serve` has just set what it passes on
    # (data directory, plugin folders, a generated API key), after its own settings were read.
    return create_app(Settings())
