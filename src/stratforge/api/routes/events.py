"""/events: one Server-Sent Events stream for every job, so a live job list needs a single
connection rather than one per job (browsers allow six per server)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from stratforge.api.deps import AppState, StateDep, quick_session
from stratforge.api.routes._jobs import job_out
from stratforge.api.schemas import aware
from stratforge.store import jobs
from stratforge.store.tables import FINISHED

router = APIRouter(tags=["events"])
POLL_SECONDS = 0.5  # the longest a stream waits before looking at shutdown and pings
PING_SECONDS = 15.0  # a comment line now and then keeps proxies from closing an idle stream
STREAM_SECONDS = 600.0  # then the client reconnects: no stream outlives a deployment for long
Since = Annotated[
    dt.datetime | None,
    Query(description="Also report jobs created or finished since then (a reconnecting client)."),
]


@router.get("/events", response_class=StreamingResponse)
def all_job_events(state: StateDep, since: Since = None) -> StreamingResponse:
    """Server-Sent Events for every job: ``status`` (the job as listed) when one is submitted,
    progresses or finishes, ``deleted`` when one that was reported is removed."""
    # In UTC, as stored: SQLite compares the timestamps as text.
    start = (aware(since) or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)

    async def stream() -> AsyncIterator[str]:
        yield "retry: 2000\n\n"
        hub = state.hub
        hub.subscribe()
        try:
            async for chunk in _follow(state, start):
                yield chunk
        finally:
            hub.unsubscribe()

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _follow(state: AppState, start: dt.datetime) -> AsyncIterator[str]:
    """Catch up from *start* with one query of its own, then follow the shared hub."""
    hub = state.hub
    version = hub.version
    sent: dict[str, dict[str, Any]] = {}
    earlier, _ = await asyncio.to_thread(_poll, state, start, [])
    out = [_status(snapshot, sent) for snapshot in earlier]
    opened = last_write = time.monotonic()
    while (now := time.monotonic()) - opened < STREAM_SECONDS:
        if state.closing.is_set():
            yield "event: shutdown\ndata: {}\n\n"  # the client reconnects later
            return
        latest = await hub.wait(version, timeout=POLL_SECONDS)
        if latest != version:
            for job_id, at in list(hub.deleted.items()):
                if at > version and sent.pop(job_id, None) is not None:
                    out.append(f"event: deleted\ndata: {json.dumps({'id': job_id})}\n\n")
            for snapshot in list(hub.snapshots.values()):
                if _relevant(snapshot, start, sent):
                    out.append(_status(snapshot, sent))
            version = latest
        chunk = "".join(out)
        out = []
        if not chunk and now - last_write > PING_SECONDS:
            chunk = ": ping\n\n"
        if chunk:
            last_write = now
            yield chunk


def _relevant(snapshot: dict[str, Any], start: dt.datetime, sent: dict[str, Any]) -> bool:
    """Queued or running, created or finished since the stream's start, or already shown."""
    if snapshot["id"] in sent or snapshot["status"] not in FINISHED:
        return True
    stamps = (snapshot.get("created_at"), snapshot.get("finished_at"))
    return any(s and dt.datetime.fromisoformat(s) >= start for s in stamps)


def _status(snapshot: dict[str, Any], sent: dict[str, Any]) -> str:
    if sent.get(snapshot["id"]) == snapshot:
        return ""
    sent[snapshot["id"]] = snapshot
    return f"event: status\ndata: {json.dumps(snapshot)}\n\n"


def _poll(
    state: AppState, since: dt.datetime, watched: list[str]
) -> tuple[list[dict[str, Any]], list[str]]:
    with quick_session(state) as session:
        changed, deleted = jobs.changed_jobs(session, since=since, watched=watched)
        return [job_out(job, with_spec=False).model_dump(mode="json") for job in changed], deleted
