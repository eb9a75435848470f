"""``stratforge mcp``: the MCP tools over stdio, for desktop AI clients, against a running
server; ``stratforge mcp config`` prints the snippet a client's configuration file takes.

The stdio server holds no engine: its tools call the server's REST API (``stratforge.mcp``),
so it runs wherever the server is reachable, and the server checks what it is sent. Its
stdout is the MCP channel: nothing else may print there.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated, Any

import typer

from stratforge.cli.common import HELP_OPTIONS, err

DEFAULT_URL = "http://127.0.0.1:8000"
KEY_PLACEHOLDER = "<STRATFORGE_API_KEY>"
CONFIG_FILES = {
    "claude": "claude_desktop_config.json (Claude Desktop: Settings > Developer > Edit Config)",
    "claude-code": ".mcp.json in the project (or: claude mcp add-json stratforge '<server>')",
    "cursor": "~/.cursor/mcp.json, or .cursor/mcp.json in the project",
    "vscode": ".vscode/mcp.json in the workspace",
}

Server = Annotated[
    str | None,
    typer.Option(
        "--server", help="The server's URL [default: STRATFORGE_URL, else " + DEFAULT_URL + "]."
    ),
]
ApiKey = Annotated[
    str | None,
    typer.Option("--api-key", help="The server's API key [default: STRATFORGE_API_KEY]."),
]

mcp_app = typer.Typer(
    short_help="Serve the MCP tools over stdio for AI clients (against a running server).",
    invoke_without_command=True,
    **HELP_OPTIONS,
)


@mcp_app.callback()
def mcp(ctx: typer.Context, server: Server = None, api_key: ApiKey = None) -> None:
    """Serve the MCP tools over stdio for AI clients (against a running server).

    A desktop client (Claude Desktop, Cursor, VS Code...) starts this command and talks
    MCP on its stdin and stdout; each tool call is a request to the server at --server.
    `stratforge mcp config` prints the configuration to give the client.
    """
    if ctx.invoked_subcommand is not None:
        return
    from stratforge.mcp import build_server
    from stratforge.mcp.server import Remote

    build_server(Remote(server, api_key)).run("stdio")


@mcp_app.command("config")
def config(
    client: Annotated[
        str, typer.Option("--client", help="claude (Desktop), claude-code, cursor or vscode.")
    ] = "claude",
    http: Annotated[
        bool, typer.Option("--http", help="Connect to the server's /mcp over HTTP, not stdio.")
    ] = False,
    server: Server = None,
    api_key: ApiKey = None,
) -> None:
    """Print a client's MCP configuration.

    JSON on stdout (the server entry for the client's configuration file), and on stderr
    where that file is. Without --http the client starts `stratforge mcp` (stdio); with
    it, the client connects to the server's /mcp with the API key as a Bearer header.
    """
    if client not in CONFIG_FILES:
        err.print(f"error: unknown client {client!r}; use {', '.join(CONFIG_FILES)}")
        raise typer.Exit(2)
    url = (server or os.environ.get("STRATFORGE_URL") or DEFAULT_URL).rstrip("/")
    key = api_key if api_key is not None else os.environ.get("STRATFORGE_API_KEY")
    if http and client == "claude":
        err.print(
            "error: Claude Desktop's configuration file starts local servers only: use the "
            "stdio snippet (without --http; it reaches a remote server too), or add "
            f"{url}/mcp as a custom connector in Claude's settings"
        )
        raise typer.Exit(2)
    entry = http_entry(url, key, client) if http else stdio_entry(url, key, client)
    snippet = {"servers" if client == "vscode" else "mcpServers": {"stratforge": entry}}
    typer.echo(json.dumps(snippet, indent=2))
    err.print(f"Put this in {CONFIG_FILES[client]}.", soft_wrap=True, highlight=False)
    if not key:
        err.print(
            "No API key given: if the server has one, pass --api-key or set STRATFORGE_API_KEY.",
            soft_wrap=True,
            highlight=False,
        )


def stdio_entry(url: str, key: str | None, client: str) -> dict[str, Any]:
    """The client starts this Python's ``stratforge mcp``: an absolute command, since
    desktop apps do not see the shell's PATH or virtual environment."""
    entry: dict[str, Any] = {"type": "stdio"} if client in ("vscode", "claude-code") else {}
    entry |= {"command": sys.executable, "args": ["-m", "stratforge", "mcp", "--server", url]}
    if key:
        entry["env"] = {"STRATFORGE_API_KEY": key}
    return entry


def http_entry(url: str, key: str | None, client: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": "http"} if client in ("vscode", "claude-code") else {}
    entry |= {"url": f"{url}/mcp", "headers": {"Authorization": f"Bearer {key or KEY_PLACEHOLDER}"}}
    return entry
