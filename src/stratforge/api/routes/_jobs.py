"""What the three job resources share: submission, paging, state, cancel, delete, events."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlmodel import Session

from stratforge.api.deps import AppState, SessionDep, StateDep, quick_session
from stratforge.api.schemas import BacktestOut, OptimizationOut, Page, aware
from stratforge.core.errors import SpecError
from stratforge.core.spec import RunSpec, check_payload
from stratforge.plugin.registry import did_you_mean
from stratforge.store import jobs
from stratforge.store.datasets import get_dataset, list_datasets
from stratforge.store.tables import FINISHED, STATUSES, BacktestRun, Optimization

MAX_OFFSET = 2**53
"""Largest paging offset: beyond any table, and within every database's integers."""
RESOURCE = {"backtest": "backtests", "optimize": "optimizations", "walkforward": "walkforwards"}
Job = BacktestRun | Optimization


def body_hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def kind_of(job: Job) -> str:
    return "backtest" if isinstance(job, BacktestRun) else job.kind


def links(request: Request | None, job: Job) -> dict[str, str]:
    base = f"/api/v1/{RESOURCE[kind_of(job)]}/{job.id}"
    out = {"self": base, "events": f"{base}/events"}
    if isinstance(job, BacktestRun):
        out.update({k: f"{base}/{k}" for k in ("trades", "orders", "equity", "rolls", "result")})
    elif job.kind == "optimize":
        out.update({"trials": f"{base}/trials", "result": f"{base}/result"})
    else:
        out["result"] = f"{base}/result"
    return out


def job_out(
    request: Request | None, job: Job, *, with_spec: bool = True
) -> BacktestOut | OptimizationOut:
    common = {
        "id": job.id,
        "kind": kind_of(job),
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
        "links": links(request, job),
    }
    if isinstance(job, BacktestRun):
        return BacktestOut(**common, metrics=job.metrics)
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
    request: Request,
    response: Response,
    state: AppState,
    session: Session,
    table: type[Job],
    spec: BaseModel,
    strategy: str,
    datasets: list[str],
    idempotency_key: str | None,
    kind: str | None = None,
    total: int | None = None,
) -> BacktestOut | OptimizationOut:
    # NaN, Infinity or megabytes of text in free-form params and args: 422 (the JSON dump
    # would store NaN as null without a word)
    check_payload(spec.model_dump())
    payload = spec.model_dump(mode="json")
    job, created = jobs.create_job(
        session,
        table=table,
        spec=payload,
        strategy=strategy,
        body_sha256=body_hash(payload),
        idempotency_key=idempotency_key,
        datasets=datasets,
        kind=kind,
        trials_total=total if table is Optimization else None,
    )
    state.dispatcher.wake()
    out = job_out(request, job)
    response.status_code = 202
    response.headers["Location"] = out.links["self"]
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return out


def fetch(session: Session, table: type[Job], job_id: str, kind: str | None = None) -> Job:
    job = jobs.get_job(session, table=table, job_id=job_id)
    if job is None or (kind is not None and getattr(job, "kind", kind) != kind):
        raise HTTPException(
            status_code=404, detail=f"no {RESOURCE[kind or 'backtest'][:-1]} {job_id!r}"
        )
    return job


def page(
    request: Request,
    session: Session,
    table: type[Job],
    *,
    status: str | None,
    strategy: str | None,
    limit: int,
    offset: int,
    kind: str | None = None,
) -> Response:
    rows, total = jobs.list_jobs(
        session,
        table=table,
        status=status,
        strategy=strategy,
        kind=kind,
        limit=limit,
        offset=offset,
    )
    items = [job_out(request, r, with_spec=False) for r in rows]
    return as_json(Page(items=items, total=total, limit=limit, offset=offset))


def cancel(
    request: Request, state: AppState, session: Session, job: Job
) -> BacktestOut | OptimizationOut:
    job = jobs.cancel_job(session, job=job)
    state.dispatcher.cancel(job.id)
    return job_out(request, job)


def remove(state: AppState, session: Session, job: Job) -> Response:
    digest = job.result_blob
    jobs.delete_job(session, job=job)
    if digest and not jobs.blob_in_use(session, digest=digest):
        state.blobs.delete(digest)
    return Response(status_code=204)


def result_of(state: AppState, job: Job) -> dict[str, Any]:
    if job.status != "completed" or not job.result_blob:
        raise HTTPException(
            status_code=409, detail=f"{job.id} is {job.status}; results exist once it completes"
        )
    return state.result(job.result_blob)


def events(state: AppState, table: type[Job], job_id: str) -> StreamingResponse:
    """Server-Sent Events: the job's status and progress until it ends."""

    async def stream() -> AsyncIterator[str]:
        last: dict[str, Any] | None = None
        while True:
            if state.closing.is_set():
                yield "event: shutdown\ndata: {}\n\n"  # the server is stopping: reconnect
                return
            snapshot = await asyncio.to_thread(_snapshot, state, table, job_id)
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

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _snapshot(state: AppState, table: type[Job], job_id: str) -> dict[str, Any] | None:
    with quick_session(state) as session:
        return jobs.job_snapshot(session, table=table, job_id=job_id)


Status = Annotated[str | None, Query(pattern=f"^({'|'.join(STATUSES)})$")]


def add_lifecycle_routes(
    router: APIRouter, *, table: type[Job], kind: str | None, out_model: type, noun: str
) -> None:
    """The routes every job resource has: list, get, result, cancel, delete and events."""
    plural = RESOURCE[kind or "backtest"]

    async def list_jobs(
        request: Request,
        state: StateDep,
        status: Status = None,
        strategy: str | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    ) -> Response:
        with quick_session(state) as session:
            return page(
                request,
                session,
                table,
                status=status,
                strategy=strategy,
                limit=limit,
                offset=offset,
                kind=kind,
            )

    async def get_job(request: Request, state: StateDep, job_id: str) -> Any:
        with quick_session(state) as session:
            return as_json(job_out(request, fetch(session, table, job_id, kind)))

    def get_result(state: StateDep, session: SessionDep, job_id: str) -> dict[str, Any]:
        return result_of(state, fetch(session, table, job_id, kind))

    def cancel_job(request: Request, state: StateDep, session: SessionDep, job_id: str) -> Any:
        return cancel(request, state, session, fetch(session, table, job_id, kind))

    def delete_job(state: StateDep, session: SessionDep, job_id: str) -> Response:
        return remove(state, session, fetch(session, table, job_id, kind))

    async def job_events(state: StateDep, job_id: str) -> StreamingResponse:
        # A short session for the check only: a stream that held one for its whole life
        # would exhaust the pool with a few dozen followers.
        with quick_session(state) as session:
            fetch(session, table, job_id, kind)
        return events(state, table, job_id)

    routes: list[tuple[str, str, Any, dict[str, Any], str]] = [
        ("", "GET", list_jobs, {"response_model": Page}, f"List {plural}, newest first."),
        ("/{job_id}", "GET", get_job, {"response_model": out_model}, f"A {noun}'s state."),
        ("/{job_id}/result", "GET", get_result, {}, f"The {noun}'s whole result, as stored."),
        (
            "/{job_id}/cancel",
            "POST",
            cancel_job,
            {"response_model": out_model},
            f"Cancel a queued or running {noun} (409 once it has finished).",
        ),
        (
            "/{job_id}",
            "DELETE",
            delete_job,
            {"status_code": 204},
            f"Delete a {noun} that is not running, with its stored results.",
        ),
        (
            "/{job_id}/events",
            "GET",
            job_events,
            {"response_class": StreamingResponse},
            f"Server-Sent Events with the {noun}'s status and progress until it ends.",
        ),
    ]
    for path, method, endpoint, options, doc in routes:
        name = f"{endpoint.__name__.replace('job', noun.replace('-', '_'))}"
        router.add_api_route(
            path, endpoint, methods=[method], name=name, description=doc, summary=None, **options
        )
