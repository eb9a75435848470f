"""The tools: each one a call (or two) of ``stratforge.client.Client``, run off the event
loop, its refusals turned into tool errors carrying the API's own text.

Why a client and not the engine: the REST API is where specs are validated, names are
checked against the registries (with their "did you mean" hints), paths are confined to
the data roots and the API key is checked. Going through it keeps the MCP tools exactly as
strict as REST, and lets ``stratforge mcp`` run on a machine that only reaches a server.

Why a thread per call: the client is synchronous, and when the tools are mounted in the
server itself (``/mcp``) its request goes back to the same event loop; calling it on that
loop would wait for itself. A limiter of its own keeps tool calls from taking every thread
of the pool the API's own endpoints run on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Protocol, TypeVar

import anyio
import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field

from stratforge import __version__
from stratforge.client import ApiError, Client
from stratforge.core.optimize import OptimizeSpec
from stratforge.core.spec import RunSpec
from stratforge.core.walkforward import WalkForwardSpec
from stratforge.mcp.summary import job_summary, result_summary

T = TypeVar("T")

MAX_ROWS = 500
"""The largest page a tool returns: enough to read, small enough for a model's context."""

INSTRUCTIONS = """\
stratforge runs backtests, parameter searches (optimisations) and walk-forward analyses of
trading strategies on a server. Find what exists with list_plugins, describe_plugin and
list_data; submit a job with submit_backtest, submit_optimization or submit_walkforward
(each returns a job id at once); poll job_status until finished is true; then read
get_results (a summary), and page through get_trades, get_equity or get_trials. Specs use
registered names and dataset or market ids only. A refused spec comes back as a tool error
naming the field and, for a misspelt name, the names it may have meant: fix and resubmit."""

JobId = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="A job id as a submit tool returned it (bt_... or op_...).",
    ),
]
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.:+-]{0,99}$")]
Offset = Annotated[int, Field(ge=0, description="Rows to skip.")]
IdempotencyKey = Annotated[
    str | None,
    Field(
        max_length=200,
        description="Any string unique to this submission: resubmitting with the same key "
        "returns the job already created instead of a second one (safe retries).",
    ),
]


class Api(Protocol):
    """How the tools reach the REST API for one tool call (stdio: a configured server;
    mounted: the same server, with the caller's own key)."""

    def client(self, ctx: Context) -> Client:
        """A client for this call; closed after it."""
        ...

    def public_url(self, ctx: Context) -> str | None:
        """The server's address as the caller sees it, when not the client's own (for the
        report's URL)."""
        ...


@dataclass
class Remote:
    """A server at *url*, reached with *api_key* (``stratforge mcp``, over stdio)."""

    url: str | None = None
    api_key: str | None = None

    def client(self, ctx: Context) -> Client:
        return Client(self.url, api_key=self.api_key)

    def public_url(self, ctx: Context) -> str | None:
        return None


class Tools:
    """The tool functions, bound to how they reach the API."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self._limiter: anyio.CapacityLimiter | None = None

    async def _call(self, ctx: Context, work: Callable[[Client], T]) -> T:
        """*work* with a fresh client, in a worker thread; an API refusal becomes a tool
        error whose text is the API's (field paths and hints included)."""
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(8)
        client = self.api.client(ctx)

        def run() -> T:
            with client:
                return work(client)

        try:
            return await anyio.to_thread.run_sync(run, limiter=self._limiter)
        except ApiError as exc:
            raise ToolError(refusal(exc)) from None
        except (ValueError, TimeoutError) as exc:  # the client's own checks (a job's kind)
            raise ToolError(str(exc)) from None

    async def list_plugins(
        self,
        ctx: Context,
        kind: Annotated[
            str | None,
            Field(
                description="strategies, indicators, sizers, analyzers, risk_rules, "
                "data_sources, roll_rules, contracts, optimizers or report_panels (singular "
                "works too). Omit for every kind, by name only."
            ),
        ] = None,
    ) -> dict[str, Any]:
        """List the registered components a spec can name: strategies, indicators, sizers,
        analyzers, risk rules, data sources, roll rules, optimisers. With a kind, each
        comes with the JSON Schema of its parameters (what goes in its "params"); without
        one, the names and one-line descriptions of every kind."""
        entries = await self._call(ctx, lambda client: client.plugins(kind))
        if kind is not None:
            return {"kind": kind, "plugins": [_plugin(entry, True) for entry in entries]}
        kinds: dict[str, list[dict[str, Any]]] = {}
        for entry in entries:
            kinds.setdefault(entry["kind"], []).append(_plugin(entry, False))
        return {"kinds": kinds}

    async def describe_plugin(
        self,
        ctx: Context,
        kind: Annotated[Name, Field(description="strategies, indicators, risk_rules...")],
        name: Annotated[Name, Field(description="The registered name (or an alias).")],
    ) -> dict[str, Any]:
        """One registered component: its description and the JSON Schema of its parameters
        (types, defaults, bounds). An unknown name is refused with the closest names."""
        return await self._call(ctx, lambda client: client.plugin(kind, name))

    async def list_data(self, ctx: Context) -> dict[str, Any]:
        """The data a spec can use: uploaded datasets (by id), futures markets imported into
        the catalog (by root), and the contract specifications known to the server. Each
        dataset and market gives "use_in_spec", the value to put in a spec's "data". With
        no data at all, the "synthetic" source (the default) generates bars from a seed."""

        def read(client: Client) -> dict[str, Any]:
            return {
                "datasets": [_dataset(item) for item in client.datasets()],
                "markets": client.markets(),
                "contracts": [_contract(item) for item in client.contracts()],
                "synthetic": {"source": "synthetic", "args": {"bars": 1000, "seed": 0}},
            }

        return await self._call(ctx, read)

    async def submit_backtest(
        self, ctx: Context, spec: dict[str, Any], idempotency_key: IdempotencyKey = None
    ) -> dict[str, Any]:
        """Queue a backtest of one strategy on one or more data feeds; returns its job id at
        once (it runs on the server: poll job_status). The spec is a RunSpec: "strategy"
        ({"name", "params"}), "data" (a dataset, market or the synthetic source), and
        optionally sizer, analyzers, indicators, risk rules, cash, commission, slippage.
        The smallest: {"strategy": {"name": "sma_cross"}} (synthetic bars)."""
        job = await self._call(
            ctx, lambda client: client.submit_backtest(spec, idempotency_key=idempotency_key)
        )
        return job_summary(job)

    async def submit_optimization(
        self, ctx: Context, spec: dict[str, Any], idempotency_key: IdempotencyKey = None
    ) -> dict[str, Any]:
        """Queue a parameter search (grid, random or another registered optimiser); returns
        its job id at once. The spec is an OptimizeSpec: "base" (a backtest spec), "space"
        (each parameter's range, e.g. {"fast": {"kind": "int", "start": 5, "stop": 25,
        "step": 5}}), "metric" to rank by (default sharpe), optional "constraints" such as
        "fast < slow". Results carry overfitting checks (deflated Sharpe, PBO)."""
        job = await self._call(
            ctx,
            lambda client: client.submit_optimization(spec, idempotency_key=idempotency_key),
        )
        return job_summary(job)

    async def submit_walkforward(
        self, ctx: Context, spec: dict[str, Any], idempotency_key: IdempotencyKey = None
    ) -> dict[str, Any]:
        """Queue a walk-forward analysis: a search on each training window, its best
        parameters tested on the next, unseen window; returns its job id at once. The spec
        is a WalkForwardSpec: "search" (an optimisation spec), "train" and "test" window
        lengths in bars, optional "step" and "anchored"."""
        job = await self._call(
            ctx,
            lambda client: client.submit_walkforward(spec, idempotency_key=idempotency_key),
        )
        return job_summary(job)

    async def job_status(self, ctx: Context, job_id: JobId) -> dict[str, Any]:
        """Where a job is: status (queued, running, completed, failed, cancelled), progress
        from 0 to 1, a message, and the error of a failed job. Poll until "finished" is
        true (every few seconds), then read get_results."""
        job = await self._call(ctx, lambda client: client.job(job_id))
        return job_summary(job)

    async def get_results(self, ctx: Context, job_id: JobId) -> dict[str, Any]:
        """The results of a finished job, summarised: a backtest's metrics (return, Sharpe,
        drawdown, trades...), a search's best trial, its overfitting checks and top trials,
        a walk-forward's windows and out-of-sample figures; with row counts of what
        get_trades, get_equity and get_trials page through."""

        def read(client: Client) -> dict[str, Any]:
            job = client.job(job_id)
            return result_summary(job, client.result(job) if job.status == "completed" else None)

        return await self._call(ctx, read)

    async def get_trades(
        self,
        ctx: Context,
        job_id: JobId,
        offset: Offset = 0,
        limit: Annotated[int, Field(ge=1, le=MAX_ROWS)] = 100,
    ) -> dict[str, Any]:
        """A page of a finished backtest's closed trades, oldest first (entry and exit
        times and prices, size, profit and loss, commission)."""
        rows = await self._call(
            ctx, lambda client: client.trades_page(job_id, offset=offset, limit=limit)
        )
        return _page(rows, offset, limit, len(rows))

    async def get_equity(
        self,
        ctx: Context,
        job_id: JobId,
        offset: Offset = 0,
        limit: Annotated[int, Field(ge=1, le=MAX_ROWS)] = MAX_ROWS,
    ) -> dict[str, Any]:
        """A page of a finished backtest's equity curve as columns (datetime, value, cash,
        position), one step per bar, cut to the same steps."""
        columns = await self._call(
            ctx, lambda client: client.equity_page(job_id, offset=offset, limit=limit)
        )
        steps = len(next(iter(columns.values()), []))
        return _page(columns, offset, limit, steps, key="columns")

    async def get_trials(
        self,
        ctx: Context,
        job_id: JobId,
        offset: Offset = 0,
        limit: Annotated[int, Field(ge=1, le=MAX_ROWS)] = 50,
        sort: Annotated[
            str | None,
            Field(
                pattern=r"^[A-Za-z0-9_]{1,64}$",
                description="objective, number or a metric name (sharpe, total_return...); "
                "omit for trial order.",
            ),
        ] = None,
        descending: bool = True,
    ) -> dict[str, Any]:
        """A page of an optimisation's trials (also while it runs): each trial's parameters,
        objective, status and metrics, sorted as asked."""
        rows = await self._call(
            ctx,
            lambda client: client.trials_page(
                job_id, offset=offset, limit=limit, sort=sort, descending=descending
            ),
        )
        return _page(rows, offset, limit, len(rows))

    async def report_url(self, ctx: Context, job_id: JobId) -> dict[str, Any]:
        """The address of a finished job's interactive HTML report (charts of equity,
        drawdown, trades; a search's heatmaps), to give to a person to open."""

        def read(client: Client) -> str:
            url = client.report_url(client.job(job_id))
            public = self.api.public_url(ctx)
            return url.replace(client.url, public.rstrip("/"), 1) if public else url

        url = await self._call(ctx, read)
        note = "Opens in a browser; a server with an API key wants it as Authorization: Bearer."
        return {"job_id": job_id, "url": url, "note": note}

    async def cancel_job(self, ctx: Context, job_id: JobId) -> dict[str, Any]:
        """Stop a queued or running job (what it computed so far is discarded; a search
        keeps the trials already done). A finished job is refused (HTTP 409) and stays."""
        job = await self._call(ctx, lambda client: client.cancel(job_id))
        return job_summary(job)


READ = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)
SUBMIT = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
)
CANCEL = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False
)
HINTS: dict[str, ToolAnnotations] = {
    "list_plugins": READ,
    "describe_plugin": READ,
    "list_data": READ,
    "submit_backtest": SUBMIT,
    "submit_optimization": SUBMIT,
    "submit_walkforward": SUBMIT,
    "job_status": READ,
    "get_results": READ,
    "get_trades": READ,
    "get_equity": READ,
    "get_trials": READ,
    "report_url": READ,
    "cancel_job": CANCEL,
}
TOOL_NAMES = tuple(HINTS)
SPECS: dict[str, type[BaseModel]] = {
    "submit_backtest": RunSpec,
    "submit_optimization": OptimizeSpec,
    "submit_walkforward": WalkForwardSpec,
}
"""The input schema of each submission tool's ``spec``: the model the API validates with."""


def build_server(api: Api) -> MCPServer:
    """The MCP server whose tools reach the REST API through *api*."""
    tools = Tools(api)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    server: MCPServer = MCPServer(
        "stratforge",
        title="stratforge backtesting",
        instructions=INSTRUCTIONS,
        version=__version__,
        tools=[_tool(getattr(tools, name), HINTS[name]) for name in TOOL_NAMES],
    )
    # The SDK configures the root logger (logging.basicConfig) when a server is made: in
    # `stratforge serve` that would reroute every library's logs; the host keeps its own.
    root.handlers[:] = handlers
    root.setLevel(level)
    return server


def _tool(fn: Callable[..., Any], hints: ToolAnnotations) -> Tool:
    tool = Tool.from_function(fn, annotations=hints, structured_output=True)
    model = SPECS.get(tool.name)
    if model is not None:
        tool.parameters = spec_parameters(tool.parameters, model)
    return tool


def spec_parameters(parameters: dict[str, Any], model: type[BaseModel]) -> dict[str, Any]:
    """*parameters* with ``spec`` described by *model*'s JSON Schema (its definitions moved
    to the top, where its ``$ref`` point). The tool itself takes any object, so the API's
    validation, with its hints, is the one an agent meets."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})
    properties = {**parameters["properties"], "spec": schema}
    return {**parameters, "properties": properties, "$defs": definitions}


def refusal(exc: ApiError) -> str:
    """An API refusal as a tool error's text: the status, then the API's own lines (field
    paths and "did you mean" hints)."""
    if exc.status_code == 401:
        return f"the server refused the API key (HTTP 401): {exc}"
    status = f"HTTP {exc.status_code}: " if exc.status_code else ""
    return f"{status}{exc}"


def _page(rows: Any, offset: int, limit: int, count: int, *, key: str = "rows") -> dict[str, Any]:
    more = count == limit
    return {
        "offset": offset,
        "count": count,
        "next_offset": offset + count if more else None,
        key: rows,
    }


def _plugin(entry: dict[str, Any], with_schema: bool) -> dict[str, Any]:
    fields = ("name", "aliases", "description") + (("params_schema",) if with_schema else ())
    return {field: entry.get(field) for field in fields}


def _dataset(item: dict[str, Any]) -> dict[str, Any]:
    fields = ("id", "name", "rows", "first", "last", "use_in_spec")
    return {field: item.get(field) for field in fields}


def _contract(item: dict[str, Any]) -> dict[str, Any]:
    fields = ("root", "name", "exchange", "currency", "multiplier", "tick_size", "months")
    return {field: item.get(field) for field in fields}
