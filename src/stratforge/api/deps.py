"""Dependencies shared by the routes: application state, a DB session, the API key."""

from __future__ import annotations

import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Request
from sqlalchemy import Engine
from sqlmodel import Session

from stratforge.api.hub import JobHub
from stratforge.core.plugins import Plugins
from stratforge.core.settings import AgentKey, Settings
from stratforge.jobs.dispatcher import Dispatcher
from stratforge.store.blobs import BlobStore
from stratforge.store.results import load_document


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    plugins: Plugins
    blobs: BlobStore
    dispatcher: Dispatcher
    results: OrderedDict[str, dict[str, Any]] = field(default_factory=OrderedDict)
    report_series: OrderedDict[str, Any] = field(default_factory=OrderedDict)
    hub: JobHub = field(default=None)  # type: ignore[assignment]  # set by create_app
    """The one publisher of job changes behind every all-jobs event stream."""
    closing: threading.Event = field(default_factory=threading.Event)
    """Set when the server is asked to stop: event streams end, so shutdown is quick."""

    def remember_series(self, digest: str, series: Any) -> None:
        """Keep a few reports' chart series for zoom requests (parsing is the slow part)."""
        self.report_series[digest] = series
        while len(self.report_series) > 4:
            self.report_series.popitem(last=False)

    def result(self, digest: str) -> dict[str, Any]:
        """A stored result, parsed; the last few stay in memory for paging through parts."""
        cached = self.results.get(digest)
        if cached is None:
            cached = load_document(self.blobs, digest)
            self.results[digest] = cached
            while len(self.results) > 8:
                self.results.popitem(last=False)
        return cached


async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.stratforge
    return state


StateDep = Annotated[AppState, Depends(get_state)]


def get_session(state: StateDep) -> Iterator[Session]:
    with Session(state.engine, expire_on_commit=False) as session:
        yield session


def quick_session(state: AppState) -> Session:
    """For the hot read endpoints, which run on the event loop: their queries take about a
    millisecond, less than the two thread hand-offs a threadpool endpoint costs."""
    return Session(state.engine, expire_on_commit=False)


SessionDep = Annotated[Session, Depends(get_session)]


async def require_api_key(
    request: Request, state: StateDep, authorization: Annotated[str | None, Header()] = None
) -> None:
    """Every endpoint but /health needs ``Authorization: Bearer <key>`` when a key is set;
    an agent key (``STRATFORGE_AGENT_KEYS``) only what its scope allows."""
    holder = key_holder(authorization, state.settings)
    if holder is None:
        raise HTTPException(status_code=401, detail=KEY_REFUSED, headers=KEY_CHALLENGE)
    if isinstance(holder, AgentKey) and not scope_allows(
        holder.scope, request.method, request.url.path
    ):
        raise HTTPException(status_code=403, detail=out_of_scope(holder, request))


KEY_REFUSED = "missing or wrong API key: send Authorization: Bearer <STRATFORGE_API_KEY>"
KEY_CHALLENGE = {"WWW-Authenticate": "Bearer"}
SERVER_KEY = "server"
"""What ``key_holder`` says for the server's own key (or any request to a keyless server)."""
READING = frozenset({"GET", "HEAD", "OPTIONS"})
RUN_PATHS = re.compile(r"^/api/v1/(backtests|optimizations|walkforwards)(/[A-Za-z0-9_-]+/cancel)?$")
"""What a ``run`` key may POST to besides reading: submissions and cancellations."""


def key_holder(authorization: str | None, settings: Settings) -> str | AgentKey | None:
    """Who a request's key belongs to: ``SERVER_KEY`` for the server's own (and for every
    request when the server has no key), the matching agent key, or None (refused)."""
    if not settings.api_key:
        return SERVER_KEY
    if key_accepted(authorization, settings.api_key):
        return SERVER_KEY
    return next((a for a in settings.agent_keys if key_accepted(authorization, a.key)), None)


def scope_allows(scope: str, method: str, path: str) -> bool:
    if method in READING:
        return True
    return scope == "run" and method == "POST" and RUN_PATHS.match(path) is not None


def out_of_scope(holder: AgentKey, request: Request) -> str:
    allowed = "read" if holder.scope == "read" else "read, submit and cancel jobs"
    return (
        f"the key {holder.name!r} may only {allowed} (scope {holder.scope!r}): "
        f"{request.method} {request.url.path} needs the server's own key"
    )


def key_accepted(authorization: str | None, expected: str | None) -> bool:
    """Whether an ``Authorization`` header carries the key (any header when none is set):
    the one comparison behind REST and the MCP endpoint alike."""
    if not expected:
        return True
    scheme, _, token = (authorization or "").partition(" ")
    given = token.strip().encode()  # bytes: a str with non-ASCII letters cannot be compared
    return scheme.lower() == "bearer" and secrets.compare_digest(given, expected.encode())
