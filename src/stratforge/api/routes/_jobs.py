"""What the three job resources share: submission, paging, state, cancel, delete, events.

Each resource module (backtests, optimizations, walkforwards) declares its own routes, one
decorated function per endpoint so a path can be found by searching for it; the bodies are
calls of these helpers, which take the resource's ``JobKind`` (store/kinds.py) for its table,
stored kind, path and noun."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import HTTPException, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlmodel import Session

from stratforge.api.deps import AppState, quick_session
from stratforge.api.schemas import BacktestOut, OptimizationOut, Page, aware
from stratforge.core.columns import plain
from stratforge.core.errors import SpecError
from stratforge.core.spec import RunSpec, check_payload
from stratforge.plugin.registry import did_you_mean
from stratforge.store import jobs
from stratforge.store.datasets import get_dataset, list_datasets
from stratforge.store.kinds import BACKTEST, OPTIMIZE, WALKFORWARD, Job, JobKind, kind_of
from stratforge.store.tables import FINISHED, STATUSES, BacktestRun

MAX_OFFSET = 2**53
"""Largest paging offset: beyond any table, and within every database's integers."""
PARTS: dict[JobKind, tuple[str, ...]] = {
    BACKTEST: ("trades", "orders", "equity", "rolls", "result"),
    OPTIMIZE: ("trials", "result"),
    WALKFORWARD: ("result",),
}
"""The sub-resources each kind's routes serve, for the ``links`` of a job."""

Status = Annotated[str | None, Query(pattern=f"^({'|'.join(STATUSES)})$")]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]


def body_hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def links(job: Job) -> dict[str, str]:
    """Where a client finds the job, its events and its parts (no URL building for it)."""
    kind = kind_of(job)
    base = f"/api/v1/{kind.resource}/{job.id}"
    return {"self": base, "events": f"{base}/events"} | {p: f"{base}/{p}" for p in PARTS[kind]}


def job_out(job: Job, *, with_spec: bool = True) -> BacktestOut | OptimizationOut:
    """The job as the API shows it; listings and event streams leave the spec out."""
    common = {
        "id": job.id,
        "kind": kind_of(job).name,
        "status": job.status,
        "strategy": job.strategy,
        "progress": job.progress,
        "message": job.message,
        "error": job.error,
        "attempts": job.attempts,
        "created_at": aware(job.created_at),
        "started_at": aware(job.started_at),
        "finished_at": aware(job.finished_at),
        "data": job.data or jobs.data_label(job.spec),  # rows from before the column
        "spec": job.spec if with_spec else None,
        "links": links(job),
    }
    if isinstance(job, BacktestRun):
        return BacktestOut(**common, metrics=job.metrics, cached_from=job.cached_from)
    return OptimizationOut(
        **common,
        trials_done=job.trials_done,
        trials_failed=job.trials_failed,
        trials_total=job.trials_total,
        best=job.best,
        summary=job.summary,
    )


def as_json(model: Any, status_code: int = 200) -> Response:
    """A response serialised once by pydantic-core: the hot read paths skip FastAPI's second
    validation of an already-typed model (the response_model still documents the shape)."""
    return Response(model.model_dump_json(), status_code=status_code, media_type="application/json")


Format = Annotated[
    Literal["json", "csv"], Query(description="json, or csv for a spreadsheet (one row each).")
]


def table_response(rows: Any, format: str, filename: str) -> Any:
    """*rows* as JSON, or as a CSV download (a list of records, or a dict of columns)."""
    rows = plain(rows)  # a stored run's series are typed columns: lists only at the edge
    if format == "json":
        return rows
    import pandas as pd

    frame = pd.DataFrame(rows if rows else [])
    for column in frame.columns:  # nested values (params, metrics) stay readable as JSON
        if frame[column].map(lambda v: isinstance(v, (dict, list))).any():
            frame[column] = frame[column].map(json.dumps)
    return Response(
        frame.to_csv(index=False),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
    )


def check_datasets(session: Session, specs: list[RunSpec], where: str) -> list[str]:
    """Ids of uploaded datasets the specs read; unknown ids are a 422 with suggestions."""
    used = []
    for spec in specs:
        for i, data in enumerate(spec.datas):
            if data.source != "dataset":
                continue
            dataset_id = str(data.args.get("id", ""))
            if get_dataset(session, dataset_id=dataset_id) is None:
                known = [d.id for d in list_datasets(session, limit=1000)]
                field = f"{where}data" + (f"[{i}]" if isinstance(spec.data, list) else "")
                raise SpecError(
                    f"{field}.args.id",
                    f"unknown dataset {dataset_id!r}; {did_you_mean(dataset_id, known)}",
                )
            used.append(dataset_id)
    return used


def submit(
    *,
    response: Response,
    state: AppState,
    session: Session,
    kind: JobKind,
    spec: BaseModel,
    planned: BaseModel,
    strategy: str,
    datasets: list[str],
    idempotency_key: str | None,
    total: int | None = None,
) -> BacktestOut | OptimizationOut:
    """Store a checked spec as a queued job of *kind* and wake the dispatcher: 202 with the
    job and its ``Location`` (a replayed Idempotency-Key says so in a header). *planned* is
    the spec as it will run (every source named) and is what is stored; the request's own
    *spec* is what an Idempotency-Key's body is compared by."""
    # NaN, Infinity or megabytes of text in free-form params and args: 422 (the JSON dump
    # would store NaN as null without a word)
    check_payload(spec.model_dump())
    job, created = jobs.create_job(
        session,
        table=kind.table,
        spec=planned.model_dump(mode="json"),
        strategy=strategy,
        body_sha256=body_hash(spec.model_dump(mode="json")),
        idempotency_key=idempotency_key,
        datasets=datasets,
        kind=kind.stored_kind,
        trials_total=total,
    )
    state.dispatcher.wake()
    out = job_out(job)
    response.status_code = 202
    response.headers["Location"] = out.links["self"]
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return out


def fetch(session: Session, kind: JobKind, job_id: str) -> Job:
    """The job of *kind* with *job_id*; 404 for another kind's id too (an optimisation is no
    walk-forward, though both live in one table)."""
    job = jobs.get_job(session, table=kind.table, job_id=job_id)
    if job is None or not kind.holds(job):
        raise HTTPException(status_code=404, detail=f"no {kind.noun} {job_id!r}")
    return job


def listing(
    state: AppState,
    kind: JobKind,
    *,
    status: str | None,
    strategy: str | None,
    limit: int,
    offset: int,
) -> Response:
    """A page of *kind*'s jobs, newest first, without specs. Run on the event loop with a
    short session: the query takes about a millisecond, less than a thread hand-off."""
    with quick_session(state) as session:
        rows, total = jobs.list_jobs(
            session,
            table=kind.table,
            status=status,
            strategy=strategy,
            kind=kind.stored_kind,
            limit=limit,
            offset=offset,
        )
        items = [job_out(r, with_spec=False) for r in rows]
    return as_json(Page(items=items, total=total, limit=limit, offset=offset))


def state_of(state: AppState, kind: JobKind, job_id: str) -> Response:
    """One job's state, read on the event loop like ``listing`` (clients poll it)."""
    with quick_session(state) as session:
        return as_json(job_out(fetch(session, kind, job_id)))


def cancel(state: AppState, session: Session, job: Job) -> BacktestOut | OptimizationOut:
    """Mark the job cancelled (409 once finished) and stop it if it is running."""
    job = jobs.cancel_job(session, job=job)
    state.dispatcher.cancel(job.id)
    return job_out(job)


def remove(state: AppState, session: Session, job: Job) -> Response:
    """Delete the job, and its result blob unless another job shares it (same content)."""
    digest = job.result_blob
    jobs.delete_job(session, job=job)
    if digest and not jobs.blob_in_use(session, digest=digest):
        state.blobs.delete(digest)
    return Response(status_code=204)


def result_of(state: AppState, job: Job) -> dict[str, Any]:
    """The stored result of a completed job; 409 before it completes."""
    if job.status != "completed" or not job.result_blob:
        raise HTTPException(
            status_code=409, detail=f"{job.id} is {job.status}; results exist once it completes"
        )
    return state.result(job.result_blob)


def follow(state: AppState, kind: JobKind, job_id: str) -> StreamingResponse:
    """Server-Sent Events: the job's status and progress until it ends (404 first if there
    is no such job)."""
    # A short session for the check only: a stream that held one for its whole life
    # would exhaust the pool with a few dozen followers.
    with quick_session(state) as session:
        fetch(session, kind, job_id)
    return StreamingResponse(
        _stream(state, kind, job_id),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _stream(state: AppState, kind: JobKind, job_id: str) -> AsyncIterator[str]:
    last: dict[str, Any] | None = None
    while True:
        if state.closing.is_set():
            yield "event: shutdown\ndata: {}\n\n"  # the server is stopping: reconnect
            return
        snapshot = await asyncio.to_thread(_snapshot, state, kind, job_id)
        if snapshot is None:
            yield 'event: error\ndata: {"detail": "job deleted"}\n\n'
            return
        if snapshot != last:
            yield f"event: status\ndata: {json.dumps(snapshot, default=str)}\n\n"
            last = snapshot
        if snapshot["status"] in FINISHED:
            yield f"event: end\ndata: {json.dumps(snapshot, default=str)}\n\n"
            return
        await asyncio.sleep(0.5)


def _snapshot(state: AppState, kind: JobKind, job_id: str) -> dict[str, Any] | None:
    with quick_session(state) as session:
        return jobs.job_snapshot(session, table=kind.table, job_id=job_id)
