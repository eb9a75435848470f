"""/events: one Server-Sent Events stream for every job, so a live job list needs a single
connection rather than one per job (browsers allow six per server)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from sqlmodel import Session

from stratforge.api.deps import AppState, StateDep
from stratforge.api.routes._jobs import job_out
from stratforge.store import jobs

router = APIRouter(tags=["events"])
POLL_SECONDS = 0.5
STREAM_SECONDS = 600.0  # then the client reconnects: no stream outlives a deployment for long


@router.get("/events", response_class=StreamingResponse)
def all_job_events(request: Request, state: StateDep) -> StreamingResponse:
    """Server-Sent Events for every job: ``status`` (the job as listed) when one is submitted,
    progresses or finishes, ``deleted`` when one is removed."""

    async def stream() -> AsyncIterator[str]:
        yield "retry: 2000\n\n"
        sent: dict[str, dict[str, Any]] = {}
        since = dt.datetime.now(dt.UTC)
        started = time.monotonic()
        while time.monotonic() - started < STREAM_SECONDS:
            polled_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
            changed, deleted = await asyncio.to_thread(_poll, state, request, since, list(sent))
            since = polled_at
            for job_id in deleted:
                sent.pop(job_id, None)
                yield f"event: deleted\ndata: {json.dumps({'id': job_id})}\n\n"
            for snapshot in changed:
                if sent.get(snapshot["id"]) != snapshot:
                    sent[snapshot["id"]] = snapshot
                    yield f"event: status\ndata: {json.dumps(snapshot)}\n\n"
            # Finished jobs stay watched (for deletes) but need no more status events.
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
