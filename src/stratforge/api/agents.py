"""``/mcp``: the MCP tools (``stratforge.mcp``) over streamable HTTP, behind the API key.

The key is checked here, before the MCP app reads the request, with the comparison REST
uses; the tools then call REST with the same key, so each call is checked again as the
request it makes.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from starlette.routing import Route

from stratforge.api.deps import KEY_REFUSED, key_holder
from stratforge.core.settings import Settings
from stratforge.mcp.http import Endpoint

__all__ = ["MCP_PATH", "Endpoint", "KeyRequired", "install"]
MCP_PATH = "/mcp"


class KeyRequired:
    """ASGI wrapper: 401 unless the request carries the server's API key or an agent key
    (when it has one); what an agent key's tools may then do, REST decides per call."""

    def __init__(self, app: Any, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = dict(scope.get("headers") or [])
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        if scope["type"] == "http" and key_holder(authorization, self.settings) is None:
            await _refuse(send)
            return
        await self.app(scope, receive, send)


def install(app: FastAPI, settings: Settings, endpoint: Endpoint) -> None:
    """Route ``/mcp`` to *endpoint*, whose ``running()`` the app's lifespan enters."""
    # A Route given an ASGI app (not a function) passes every method to it, as MCP needs.
    app.router.routes.append(Route(MCP_PATH, KeyRequired(endpoint, settings)))


async def _refuse(send: Any) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/json"),
                (b"www-authenticate", b"Bearer"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": json.dumps({"detail": KEY_REFUSED}).encode()})
