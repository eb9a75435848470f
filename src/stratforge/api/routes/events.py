"""/events: one Server-Sent Events stream for every job, so a live job list needs a single
connection rather than one per job (browsers allow six per server)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from sqlmodel import Session

from stratforge.api.deps import AppState, StateDep
from stratforge.api.routes._jobs import job_out
from stratforge.api.schemas import aware
from stratforge.store import jobs
from stratforge.store.tables import FINISHED

router = APIRouter(tags=["events"])
POLL_SECONDS = 0.5
PING_SECONDS = 15.0  # a comment line now and then keeps proxies from closing an idle stream
STREAM_SECONDS = 600.0  # then the client reconnects: no stream outlives a deployment for long
WATCH_FINISHED_SECONDS = 120.0  # how long a finished job is still watched for its deletion
Since = Annotated[
    dt.datetime | None,
    Query(description="Also report jobs created or finished since then (a reconnecting client)."),
]


@router.get("/events", response_class=StreamingResponse)
def all_job_events(request: Request, state: StateDep, since: Since = None) -> StreamingResponse:
    """Server-Sent Events for every job: ``status`` (the job as listed) when one is submitted,
    progresses or finishes, ``deleted`` when one that was reported is removed."""
    # In UTC, as stored: SQLite compares the timestamps as text.
    start = (aware(since) or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)

    async def stream() -> AsyncIterator[str]:
        yield "retry: 2000\n\n"
        sent: dict[str, dict[str, Any]] = {}
        finished_at: dict[str, float] = {}  # monotonic time a job was first seen finished
        polled_since = start
        opened = last_write = time.monotonic()
        while (now := time.monotonic()) - opened < STREAM_SECONDS:
            if state.closing.is_set():
                yield "event: shutdown\ndata: {}\n\n"  # the client reconnects later
                return
            for job_id, seen in list(finished_at.items()):
                if now - seen > WATCH_FINISHED_SECONDS:
                    del finished_at[job_id]
                    sent.pop(job_id, None)
            next_since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
            changed, deleted = await asyncio.to_thread(
                _poll, state, request, polled_since, list(sent)
            )
            polled_since = next_since
            out = []
            for job_id in deleted:
                sent.pop(job_id, None)
                finished_at.pop(job_id, None)
                out.append(f"event: deleted\ndata: {json.dumps({'id': job_id})}\n\n")
            for snapshot in changed:
                if sent.get(snapshot["id"]) != snapshot:
                    sent[snapshot["id"]] = snapshot
                    out.append(f"event: status\ndata: {json.dumps(snapshot)}\n\n")
                if snapshot["status"] in FINISHED:
                    finished_at.setdefault(snapshot["id"], now)
            if not out and now - last_write > PING_SECONDS:
                out.append(": ping\n\n")
            if out:
                last_write = now
                yield "".join(out)
            await asyncio.sleep(POLL_SECONDS)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _poll(
    state: AppState, request: Request, since: dt.datetime, watched: list[str]
) -> tuple[list[dict[str, Any]], list[str]]:
    with Session(state.engine) as session:
        changed, deleted = jobs.changed_jobs(session, since=since, watched=watched)
        return [
            job_out(request, job, with_spec=False).model_dump(mode="json") for job in changed
        ], deleted
