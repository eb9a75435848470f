"""The tools over streamable HTTP, for mounting in the server's own app at ``/mcp``.

Mounted, the tools call the REST API of the server they run in: over loopback, to the
address the request came in on, with the caller's own key. So a tool call is checked
exactly as the same request sent to REST would be, and no tool can do more than the key
that called it. The endpoint is stateless (JSON answers, no session held between
requests): each tool call stands alone (jobs follow create-then-read), and any worker of a
multi-process server can answer any request.

The API key is checked before a request reaches this endpoint (``stratforge.api.agents``),
and a keyless server's loopback-only guard covers it as it covers every route; the SDK's own
DNS-rebinding guard is therefore off, or it would refuse a keyed server's public host.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp.server.mcpserver import Context
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request

from stratforge.client import Client
from stratforge.mcp.server import build_server


class Loopback:
    """The API of the server the request came to, with the caller's ``Authorization``."""

    def client(self, ctx: Context) -> Client:
        request = _request(ctx)
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        key = token.strip() if scheme.lower() == "bearer" else ""
        # "" (never None): the client would otherwise fall back to STRATFORGE_API_KEY,
        # which in the server's process is the server's own key.
        return Client(own_address(request), api_key=key)

    def public_url(self, ctx: Context) -> str | None:
        return str(_request(ctx).base_url)


def own_address(request: Request) -> str:
    """The address of the socket the request arrived on (``scope["server"]``): the server
    itself, whatever name or proxy the caller used to reach it."""
    server = request.scope.get("server")
    if not server or server[1] is None:
        return str(request.base_url).rstrip("/")
    host, port = server
    host = f"[{host}]" if ":" in host else host
    return f"{request.url.scheme}://{host}:{port}"


def _request(ctx: Context) -> Request:
    request = ctx.request_context.request
    if not isinstance(request, Request):
        raise RuntimeError("the loopback API needs an HTTP request")
    return request


class Endpoint:
    """The ASGI app of ``/mcp``; ``running()`` is entered in the app's lifespan (the SDK's
    session manager runs once, so each lifespan makes its own server and manager)."""

    def __init__(self) -> None:
        self._manager: StreamableHTTPSessionManager | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        server = build_server(Loopback())
        server.streamable_http_app(
            stateless_http=True,
            json_response=True,
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )
        manager = server.session_manager
        async with manager.run():
            self._manager = manager
            try:
                yield
            finally:
                self._manager = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if self._manager is None:
            await _unavailable(send)
            return
        await self._manager.handle_request(scope, receive, send)


async def _unavailable(send: Any) -> None:
    body = json.dumps({"detail": "the MCP endpoint is not running (server starting or stopping)"})
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body.encode()})
