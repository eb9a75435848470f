"""The REST API: ``create_app(settings)`` builds a FastAPI app whose routers live under
/api/v1, one module per resource. The app owns the job dispatcher and is the only writer of
the database."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, Response

from stratforge import __version__
from stratforge.api import dashboard, errors
from stratforge.api.deps import AppState, require_api_key
from stratforge.api.dispatcher import Dispatcher
from stratforge.api.routes import (
    backtests,
    contracts,
    datasets,
    events,
    optimizations,
    plugins,
    reports,
    system,
)
from stratforge.core.settings import Settings, get_settings, use_settings
from stratforge.plugin.manager import Plugins
from stratforge.store.blobs import BlobStore
from stratforge.store.db import make_engine, migrate

log = logging.getLogger("stratforge.api")
API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None) -> FastAPI:
    """The application for *settings* (default: from the environment)."""
    settings = settings or get_settings()
    use_settings(settings)  # data sources of this process read the same data directory
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings)
    migrate(engine)
    loaded = Plugins.load(settings)
    blobs = BlobStore(settings.data_dir / "results")
    dispatcher = Dispatcher(settings, engine, loaded, blobs)
    state = AppState(settings, engine, loaded, blobs, dispatcher)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await dispatcher.start()
        try:
            yield
        finally:
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
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
        )
    errors.install(app)
    protected = APIRouter(prefix=API_PREFIX, dependencies=[Depends(require_api_key)])
    for module in (backtests, optimizations, plugins, contracts, datasets):
        protected.include_router(module.router)
    protected.include_router(optimizations.walkforward_router)
    protected.include_router(system.router)
    protected.include_router(reports.router)
    protected.include_router(events.router)
    app.include_router(protected)
    app.include_router(system.public_router, prefix=API_PREFIX)

    dashboard.install(app)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:  # browsers ask for one on every page; there is none
        return Response(status_code=204)

    return app


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


def app_from_environment() -> FastAPI:
    """Factory for ``uvicorn --factory`` (used by ``stratforge serve`` for workers/reload)."""
    return create_app(get_settings())
