"""The MCP server: a small, deliberate set of tools for AI agents over a stratforge server.

The tools are a thin adapter over the Python client (``stratforge.client``): every call is
a request to the REST API, so validation, "did you mean" hints and the API key are the
REST contract's, and a refusal reaches the agent as a tool error with the same text.
``build_server`` makes the tools for any way of reaching the API: ``stratforge mcp`` serves
them over stdio against a running server, and ``stratforge serve`` mounts them at ``/mcp``
over streamable HTTP (``stratforge.mcp.http``).

Inputs are registered names, dataset and market ids and parameters: no tool takes a server
path, a module name or code.
"""

from __future__ import annotations

from stratforge.mcp.server import TOOL_NAMES, build_server

__all__ = ["TOOL_NAMES", "build_server"]
