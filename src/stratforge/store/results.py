"""Reading a finished job's stored result by id: what reports and exports start from."""

from __future__ import annotations

import json
from typing import Any, cast

from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlmodel import Session

from stratforge.core.result_codec import decode_document
from stratforge.store.blobs import BlobStore
from stratforge.store.kinds import BACKTEST, TABLE_BY_PREFIX, Job, kind_of


class StoredResultError(LookupError):
    """No finished result for that id; the message says why."""


def stored_result(session: Session, blobs: BlobStore, *, job_id: str) -> tuple[str, dict[str, Any]]:
    """The kind (backtest, optimize or walkforward) and parsed result of a completed job."""
    prefix = job_id.partition("_")[0]
    table = TABLE_BY_PREFIX.get(prefix)
    if table is None:
        raise StoredResultError(f"{job_id!r} is not a job id; ids start with bt_ or op_")
    try:
        job = cast(Job | None, session.get(table, job_id))
    except (OperationalError, ProgrammingError):  # no schema: nothing was ever stored here
        raise StoredResultError(
            f"no {_noun(prefix)} {job_id!r}: this database has no stratforge tables yet"
        ) from None
    if job is None:
        raise StoredResultError(f"no {_noun(prefix)} {job_id!r} in this database")
    if job.status != "completed" or not job.result_blob:
        raise StoredResultError(f"{job_id} is {job.status}; a report needs a completed run")
    return kind_of(job).name, load_document(blobs, job.result_blob)


def load_document(blobs: BlobStore, digest: str) -> dict[str, Any]:
    """A stored result as a document: a backtest's per-bar series as columns (its compact
    form), a search's or an older backtest's parsed JSON."""
    data = blobs.get_bytes(digest)
    if data is not None:
        return decode_document(data)
    document: dict[str, Any] = json.loads(blobs.get(digest))
    return document


def _noun(prefix: str) -> str:
    """What an id of this prefix names before its row is read ("optimization" covers both
    searches and walk-forwards, which share the table)."""
    return "backtest" if prefix == BACKTEST.id_prefix else "optimization"
