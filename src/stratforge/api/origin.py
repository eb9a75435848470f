"""Protection of a server that runs without an API key (on loopback, as `make run` starts it).

Without a key, anything that can make a browser send a request could drive the API: a page on
another site posting a cross-site form (cancel jobs, upload datasets), or DNS rebinding (a
name that resolves to 127.0.0.1 after the page has loaded). As Jupyter does, such a server
answers only requests whose ``Host`` is a loopback name, and changes state (POST, PUT, PATCH,
DELETE) only for requests from its own origin (or a configured CORS origin). With an API key
set, the key is the protection: a form or a rebinding page cannot send it.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any
from urllib.parse import urlsplit

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class LocalOnly:
    """ASGI middleware for a server without an API key: loopback ``Host``, same-origin
    writes. *allowed_origins* are the CORS origins the operator configured."""

    def __init__(self, app: Any, *, allowed_origins: list[str]) -> None:
        self.app = app
        self.allowed_origins = {o.rstrip("/") for o in allowed_origins}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "")
        if not is_loopback(_hostname(host)):
            await _refuse(
                send,
                "this server has no API key and answers only on localhost; set "
                "STRATFORGE_API_KEY to serve other hosts",
            )
            return
        origin = headers.get("origin")
        writes = scope["type"] == "http" and scope["method"] not in SAFE_METHODS
        if writes and origin and not self._same_origin(origin, host, scope):
            await _refuse(
                send,
                "cross-origin request refused: this server has no API key; add the origin "
                "to STRATFORGE_CORS_ORIGINS or set STRATFORGE_API_KEY",
            )
            return
        await self.app(scope, receive, send)

    def _same_origin(self, origin: str, host: str, scope: dict[str, Any]) -> bool:
        if origin.rstrip("/") in self.allowed_origins:
            return True
        parts = urlsplit(origin)
        scheme = scope.get("scheme", "http")
        return parts.scheme == scheme and parts.netloc == host


def is_loopback(name: str) -> bool:
    """``localhost`` or a loopback address (127.0.0.0/8, ``::1``): what a keyless server
    answers to, and the interfaces ``stratforge serve`` may bind without a key."""
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False  # another host name


def _hostname(host: str) -> str:
    """``127.0.0.1:8000`` -> ``127.0.0.1``; ``[::1]:8000`` -> ``::1``."""
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


async def _refuse(send: Any, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})
