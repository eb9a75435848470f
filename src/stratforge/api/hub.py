"""One publisher of job changes for every all-jobs event stream.

Each /events stream used to poll the database itself and serialise every queued and
running job twice a second: with 500 queued jobs and 20 open dashboards the server spent
most of a core doing the same work twenty times. The hub polls once for all of them (only
while someone listens), keeps the latest snapshot of each recent job, and wakes the streams;
each stream diffs those snapshots against what it has sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from stratforge.store import db, jobs
from stratforge.store.tables import FINISHED

Snapshot = dict[str, Any]
POLL_SECONDS = 0.5
WATCH_FINISHED_SECONDS = 120.0  # how long a finished job is still watched for its deletion


class JobHub:
    """The latest snapshot of every queued, running or recently finished job."""

    def __init__(self, engine: Any, serialise: Callable[[Any], Snapshot]) -> None:
        self.engine = engine
        self.serialise = serialise
        self.snapshots: dict[str, Snapshot] = {}
        self.deleted: dict[str, int] = {}  # job id -> version at which it disappeared
        self.version = 0
        self._finished_seen: dict[str, float] = {}
        self._listeners = 0
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    async def wait(self, after: int, timeout: float) -> int:
        """The version after *after*, or *after* again when *timeout* passes first."""
        async with self._changed:
            if self.version == after:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout)
            return self.version

    def subscribe(self) -> None:
        self._listeners += 1
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="stratforge-job-hub")

    def unsubscribe(self) -> None:
        self._listeners -= 1

    async def _run(self) -> None:
        while self._listeners > 0:
            try:
                snapshots, deleted = await asyncio.to_thread(self._poll)
            except Exception:  # a database hiccup: keep the last snapshots, try again
                await asyncio.sleep(POLL_SECONDS)
                continue
            async with self._changed:
                if snapshots != self.snapshots or deleted:
                    self.version += 1
                    self.snapshots = snapshots
                    for job_id in deleted:
                        self.deleted[job_id] = self.version
                    while len(self.deleted) > 1000:  # streams need only recent deletions
                        self.deleted.pop(next(iter(self.deleted)))
                    self._changed.notify_all()
            await asyncio.sleep(POLL_SECONDS)
        self._task = None

    def _poll(self) -> tuple[dict[str, Snapshot], list[str]]:
        now = time.monotonic()
        since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=WATCH_FINISHED_SECONDS)
        watched = [
            job_id
            for job_id in self.snapshots
            if now - self._finished_seen.get(job_id, now) <= WATCH_FINISHED_SECONDS
        ]
        with db.session(self.engine) as session:
            changed, deleted = jobs.changed_jobs(session, since=since, watched=watched)
            snapshots = {job.id: self.serialise(job) for job in changed}
        for job_id, snapshot in snapshots.items():
            if snapshot["status"] in FINISHED:
                self._finished_seen.setdefault(job_id, now)
        for job_id in deleted:
            self._finished_seen.pop(job_id, None)
        return snapshots, deleted
