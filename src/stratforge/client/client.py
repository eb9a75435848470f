"""``Client``: a running stratforge server from Python, without writing any HTTP.

Every method is one REST call (or a few, for a paged table), so what the server validates
and how it answers is exactly what a ``curl`` user sees; errors come back as ``ApiError``
with the API's field paths and hints. Tables come back as pandas objects, imported only
when asked for, so the client stays quick to import in a CLI or an agent's tool process.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import httpx

from stratforge.client.errors import ApiError, NotFound, ServerUnavailable, error_for
from stratforge.client.jobs import RESOURCES, Job, kind_name

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_URL = "http://127.0.0.1:8000"
API = "/api/v1"
PAGE_ROWS = 5_000  # rows per request when a table is fetched whole
TRIAL_PAGE = 1_000
POLL_SECONDS = 1.0  # between reads of a job when its event stream is not available
JobRef = Job | str


class Client:
    """A stratforge server at ``url`` (``STRATFORGE_URL``, else http://127.0.0.1:8000).

    ``api_key`` (``STRATFORGE_API_KEY``) is sent as ``Authorization: Bearer`` when set.
    ``transport`` is httpx's, for an in-process server (``httpx.ASGITransport`` is async
    only; tests use a real server). Use as a context manager, or call ``close()``.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        api_key: str | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = (url or os.environ.get("STRATFORGE_URL") or DEFAULT_URL).rstrip("/")
        key = api_key if api_key is not None else os.environ.get("STRATFORGE_API_KEY")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._http = httpx.Client(
            base_url=self.url, headers=headers, timeout=timeout, transport=transport
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client({self.url!r})"

    # -- the server -----------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """Database, Ray and queue state (the one endpoint that needs no key)."""
        return dict(self._get("/health"))

    def version(self) -> dict[str, Any]:
        return dict(self._get("/version"))

    # -- plugins and data -----------------------------------------------------------------

    def plugins(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Registered strategies, indicators, sizers, analyzers, risk rules, sources...
        each with its ``params_schema`` (JSON Schema); ``kind`` narrows the list."""
        return list(self._get("/plugins", params={"kind": kind} if kind else None))

    def plugin(self, kind: str, name: str) -> dict[str, Any]:
        return dict(self._get(f"/plugins/{kind}/{name}"))

    def datasets(self) -> list[dict[str, Any]]:
        """Uploaded datasets; each says in ``use_in_spec`` how a RunSpec reads it."""
        return self._all_pages("/datasets")

    def dataset(self, dataset_id: str) -> dict[str, Any]:
        return dict(self._get(f"/datasets/{dataset_id}"))

    def upload_dataset(
        self,
        data: str | Path | bytes | BinaryIO,
        *,
        filename: str | None = None,
        name: str | None = None,
        datetime_column: str = "datetime",
    ) -> dict[str, Any]:
        """Upload a CSV or Parquet file of bars (a path here, on the client's machine, or
        its bytes); the server validates it and answers with its id."""
        if isinstance(data, (str, Path)):
            path = Path(data)
            content: bytes | BinaryIO = path.read_bytes()
            filename = filename or path.name
        else:
            content = data
        form = {"datetime_column": datetime_column, **({"name": name} if name else {})}
        files = {"file": (filename or "upload.csv", content)}
        return dict(self._request("POST", "/datasets", data=form, files=files))

    def delete_dataset(self, dataset_id: str) -> None:
        self._request("DELETE", f"/datasets/{dataset_id}")

    def markets(self) -> list[dict[str, Any]]:
        """Imported futures markets (contract files) and their contracts' date ranges."""
        return list(self._get("/markets"))

    def market(self, root: str) -> dict[str, Any]:
        return dict(self._get(f"/markets/{root}"))

    def contracts(self) -> list[dict[str, Any]]:
        """Contract specifications: multiplier, tick, currency, exchange, margins."""
        return list(self._get("/contracts"))

    def contract(self, root: str) -> dict[str, Any]:
        return dict(self._get(f"/contracts/{root}"))

    # -- submitting -----------------------------------------------------------------------

    def submit_backtest(self, spec: Any, *, idempotency_key: str | None = None) -> Job:
        """Queue a backtest (a RunSpec, or its dict); returns at once with the job."""
        return self._submit("backtest", spec, idempotency_key)

    def submit_optimization(self, spec: Any, *, idempotency_key: str | None = None) -> Job:
        """Queue a search (an OptimizeSpec, or its dict): grid, random, optuna..."""
        return self._submit("optimize", spec, idempotency_key)

    def submit_walkforward(self, spec: Any, *, idempotency_key: str | None = None) -> Job:
        """Queue a walk-forward (a WalkForwardSpec, or its dict)."""
        return self._submit("walkforward", spec, idempotency_key)

    def backtest(self, spec: Any, **wait: Any) -> Job:
        """Submit a backtest and wait for it: the finished job (``wait``'s options)."""
        return self.wait(self.submit_backtest(spec), **wait)

    def _submit(self, kind: str, spec: Any, idempotency_key: str | None) -> Job:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        body = _spec_body(spec)
        data = self._request("POST", f"/{RESOURCES[kind]}", json=body, headers=headers)
        return Job.from_api(data, kind)

    # -- following ------------------------------------------------------------------------

    def job(self, job: JobRef, kind: str | None = None) -> Job:
        """The job as it is now. An id alone is enough: ``bt_`` ids are backtests, and an
        ``op_`` id is looked up as an optimisation, then as a walk-forward."""
        if isinstance(job, Job):
            return Job.from_api(self._get(f"/{job.resource}/{job.id}"), job.kind)
        candidates = [kind_name(kind)] if kind else _kinds_for(job)
        for candidate in candidates:
            try:
                return Job.from_api(self._get(f"/{RESOURCES[candidate]}/{job}"), candidate)
            except ApiError as exc:
                if exc.status_code != 404 or candidate == candidates[-1]:
                    raise
        raise NotFound(404, f"no job {job!r}")

    def jobs(
        self,
        kind: str = "backtest",
        *,
        status: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[Job]:
        """The newest jobs of a kind first (``status`` narrows: queued, running...)."""
        name = kind_name(kind)
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if status:
            params["status"] = status
        page = self._get(f"/{RESOURCES[name]}", params=params)
        return [Job.from_api(item, name) for item in page["items"]]

    def events(self, job: JobRef) -> Iterator[Job]:
        """The job at each change the server reports (status, progress, trials done),
        ending once it has finished. Reconnects when the stream ends early (a restart of
        the server) and reads the job every second if there is no stream to follow."""
        current = self.job(job)
        yield current
        failures = 0
        while not current.finished:
            try:
                for snapshot in self._stream(f"/{current.resource}/{current.id}/events"):
                    failures = 0
                    fresh = current.updated(snapshot)
                    if fresh.finished:
                        break  # read whole below: metrics, best trial, links
                    if fresh.state != current.state:
                        current = fresh
                        yield current
            except (httpx.TransportError, ServerUnavailable):
                failures += 1
                time.sleep(min(POLL_SECONDS * failures, 5.0))
            fresh = self.job(current)  # the finished record, or what a reconnect missed
            if fresh.finished or fresh.state != current.state:
                yield fresh
            current = fresh

    def wait(
        self,
        job: JobRef,
        *,
        on_progress: Callable[[Job], None] | None = None,
        timeout: float | None = None,
    ) -> Job:
        """Follow the job until it finishes and return it (completed, failed or
        cancelled: check ``job.ok``); ``on_progress`` sees it at every change. After
        ``timeout`` seconds, ``TimeoutError`` (the job goes on on the server)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        last: Job | None = None
        for last in self.events(job):
            if on_progress is not None:
                on_progress(last)
            if deadline is not None and time.monotonic() > deadline and not last.finished:
                raise TimeoutError(f"{last.id} still {last.status} after {timeout} s")
        assert last is not None
        return last

    def cancel(self, job: JobRef) -> Job:
        """Ask the server to stop the job (a finished one stays as it is)."""
        current = job if isinstance(job, Job) else self.job(job)
        data = self._request("POST", f"/{current.resource}/{current.id}/cancel")
        return Job.from_api(data, current.kind)

    def delete(self, job: JobRef) -> None:
        """Delete the job and what it stored (its result stays while others share it)."""
        current = job if isinstance(job, Job) else self.job(job)
        self._request("DELETE", f"/{current.resource}/{current.id}")

    # -- results --------------------------------------------------------------------------

    def result(self, job: JobRef) -> dict[str, Any]:
        """The whole stored result: a backtest's RunResult (metrics, trades, orders, equity,
        prices, indicators...), or a search's or walk-forward's result, as JSON."""
        current = self._ref(job)
        return dict(self._get(f"/{current.resource}/{current.id}/result"))

    def metrics(self, job: JobRef) -> dict[str, Any]:
        """A backtest's metrics; a search's best trial's (its ``best`` record)."""
        current = job if isinstance(job, Job) and job.finished else self.job(job)
        if current.kind == "backtest":
            return dict(current.metrics or {})
        best = self.result(current).get("best") or {}
        return dict(best.get("metrics") or {})

    def trades_page(self, job: JobRef, *, offset: int = 0, limit: int = 100) -> list[dict]:
        return list(self._part(job, "trades", offset, limit))

    def orders_page(self, job: JobRef, *, offset: int = 0, limit: int = 100) -> list[dict]:
        return list(self._part(job, "orders", offset, limit))

    def rolls_page(self, job: JobRef, *, offset: int = 0, limit: int = 100) -> list[dict]:
        return list(self._part(job, "rolls", offset, limit))

    def equity_page(
        self, job: JobRef, *, offset: int = 0, limit: int = 500
    ) -> dict[str, list[Any]]:
        """Equity steps as columns (datetime, value, cash, position), cut alike."""
        return dict(self._part(job, "equity", offset, limit))

    def trials_page(
        self,
        job: JobRef,
        *,
        offset: int = 0,
        limit: int = 100,
        sort: str | None = None,
        descending: bool = True,
        status: str | None = None,
    ) -> list[dict[str, Any]]:
        """A page of a search's trials (while it runs, too), sorted by ``sort``: number,
        objective or a metric name (by trial number, in order, when not given)."""
        current = self._ref(job)
        params: dict[str, Any] = {"offset": offset, "limit": limit}
        params |= {"sort": sort, "descending": descending} if sort else {}
        params |= {"status": status} if status else {}
        return list(self._get(f"/optimizations/{current.id}/trials", params=params))

    def trades(self, job: JobRef) -> pd.DataFrame:
        """Every closed trade, one row each (entry and exit times as timestamps)."""
        return _frame(self._all_rows(job, "trades"), ("entry_datetime", "exit_datetime"))

    def orders(self, job: JobRef) -> pd.DataFrame:
        return _frame(self._all_rows(job, "orders"), ("created_datetime", "executed_datetime"))

    def rolls(self, job: JobRef) -> pd.DataFrame:
        """Each roll of a futures position: the contracts, sizes, prices and costs."""
        return _frame(self._all_rows(job, "rolls"), ("datetime",))

    def equity(self, job: JobRef) -> pd.DataFrame:
        """Value, cash and position at each step, indexed by time."""
        import pandas as pd

        columns: dict[str, list[Any]] = {}
        offset = 0
        while True:
            page = self.equity_page(job, offset=offset, limit=PAGE_ROWS * 10)
            steps = len(next(iter(page.values()), []))
            for name, values in page.items():
                columns.setdefault(name, []).extend(values)
            offset += steps
            if steps < PAGE_ROWS * 10:
                break
        frame = pd.DataFrame(columns)
        if "datetime" in frame:
            frame = frame.set_index(pd.DatetimeIndex(pd.to_datetime(frame.pop("datetime"))))
        return frame

    def trials(self, job: JobRef, *, status: str | None = None) -> pd.DataFrame:
        """Every trial of a search: number, params, objective, status and its metrics as
        columns (``params.fast``, ``metrics.sharpe``...)."""
        import pandas as pd

        rows: list[dict[str, Any]] = []
        while True:
            page = self.trials_page(job, offset=len(rows), limit=TRIAL_PAGE, status=status)
            rows.extend(page)
            if len(page) < TRIAL_PAGE:
                break
        return pd.json_normalize(rows) if rows else pd.DataFrame()

    def report_url(self, job: JobRef) -> str:
        """The interactive Bokeh report of a finished job, served by the server."""
        current = self._ref(job)
        return f"{self.url}{API}/{current.resource}/{current.id}/report"

    # -- plumbing -------------------------------------------------------------------------

    def _ref(self, job: JobRef) -> Job:
        """A Job for building a URL: as given, or read (to learn an ``op_`` id's kind)."""
        if isinstance(job, Job):
            return job
        if job.startswith("bt_"):
            return Job(id=job, kind="backtest", status="unknown")
        return self.job(job)

    def _part(self, job: JobRef, name: str, offset: int, limit: int | None) -> Any:
        current = self._ref(job)
        if current.kind != "backtest":
            raise ValueError(f"{current.id} is a {current.kind}: only backtests have {name}")
        params = {"offset": offset, **({"limit": limit} if limit else {})}
        return self._get(f"/backtests/{current.id}/{name}", params=params)

    def _all_rows(self, job: JobRef, name: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        while True:
            page = self._part(job, name, len(rows), PAGE_ROWS)
            rows.extend(page)
            if len(page) < PAGE_ROWS:
                return rows

    def _all_pages(self, path: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        while True:
            page = self._get(path, params={"offset": len(rows), "limit": 500})
            rows.extend(page)
            if len(page) < 500:
                return rows

    def _get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self._request("GET", path, params=params)

    def _request(self, method: str, path: str, **options: Any) -> Any:
        url = f"{API}{path}"
        try:
            response = self._http.request(method, url, **options)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise self._unavailable(method, exc) from None
        if response.status_code >= 400:
            raise error_for(
                response.status_code, _detail(response), method=method, url=str(response.url)
            )
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def _unavailable(self, method: str, exc: Exception) -> ServerUnavailable:
        detail = (
            f"no stratforge server answered at {self.url} ({type(exc).__name__}): "
            "start one with `stratforge serve` or pass its URL"
        )
        return ServerUnavailable(0, detail, method=method, url=self.url)

    def _stream(self, path: str) -> Iterator[dict[str, Any]]:
        """A Server-Sent Events stream's ``status`` and ``end`` payloads, until ``end``
        (returns early on ``shutdown``: the caller reconnects)."""
        timeout = httpx.Timeout(self._http.timeout.connect, read=None)
        try:
            with self._http.stream("GET", f"{API}{path}", timeout=timeout) as response:
                if response.status_code >= 400:
                    response.read()
                    raise error_for(response.status_code, _detail(response), url=path)
                for event, data in _server_sent_events(response.iter_lines()):
                    if event in ("status", "end"):
                        yield json.loads(data)
                    if event in ("end", "shutdown", "error"):
                        return
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise self._unavailable("GET", exc) from None


def _server_sent_events(lines: Iterator[str]) -> Iterator[tuple[str, str]]:
    """(event, data) pairs from an SSE stream's lines (comments and retry hints skipped)."""
    event, data = "message", list[str]()
    for line in lines:
        if not line:
            if data:
                yield event, "\n".join(data)
            event, data = "message", []
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip())


def _kinds_for(job_id: str) -> list[str]:
    if job_id.startswith("bt_"):
        return ["backtest"]
    if job_id.startswith("op_"):
        return ["optimize", "walkforward"]
    return ["backtest", "optimize", "walkforward"]


def _spec_body(spec: Any) -> Any:
    """A spec as JSON: a pydantic model is dumped as the server would read it back."""
    dump = getattr(spec, "model_dump", None)
    if callable(dump):
        return dump(mode="json", exclude_unset=True)
    if isinstance(spec, Mapping):
        return dict(spec)
    raise TypeError(f"a spec is a RunSpec/OptimizeSpec/WalkForwardSpec or a dict, not {spec!r}")


def _detail(response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase
    return body.get("detail", body) if isinstance(body, dict) else body


def _frame(rows: list[dict[str, Any]], times: tuple[str, ...]) -> pd.DataFrame:
    import pandas as pd

    frame = pd.DataFrame(rows)
    for column in times:
        if column in frame:
            frame[column] = pd.to_datetime(frame[column])
    return frame
