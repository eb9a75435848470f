"""Store functions for jobs (backtests, optimisations, walk-forwards) and their trials.

All functions take the session first and everything else by keyword; none commits on its
own behalf except where the docstring says the change must be durable at once."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any, TypeVar, cast

from sqlalchemy import delete, func, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from stratforge.store.kinds import JOB_TABLES, PREFIX_BY_TABLE, Job, JobTable
from stratforge.store.tables import FINISHED, BacktestRun, Optimization, TrialRow, utcnow

J = TypeVar("J", bound=BacktestRun | Optimization)
"""A job table: functions given one return rows of that table."""


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before with a different request body."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(f"Idempotency-Key already used for {job_id} with a different body")


class InvalidTransition(Exception):
    """A state change that the job's current state does not allow (e.g. cancel a finished run)."""


def new_id(table: type[Job]) -> str:
    return f"{PREFIX_BY_TABLE[table]}_{uuid.uuid4().hex[:16]}"


def create_job(
    session: Session,
    *,
    table: type[J],
    spec: dict[str, Any],
    strategy: str,
    body_sha256: str,
    idempotency_key: str | None = None,
    datasets: Sequence[str] = (),
    kind: str | None = None,
    trials_total: int | None = None,
) -> tuple[J, bool]:
    """Insert and commit a queued job; with a known key, return the earlier job instead.

    Clients retrying at once send the same key concurrently: the loser of the race hits the
    key's unique index, and gets the winner's job as a replay (never a 500)."""
    if idempotency_key is not None:
        earlier = _by_key(session, table, idempotency_key, body_sha256)
        if earlier is not None:
            return earlier, False
    fields: dict[str, Any] = {
        "id": new_id(cast(type[Job], table)),
        "spec": spec,
        "strategy": strategy,
        "body_sha256": body_sha256,
        "idempotency_key": idempotency_key,
        "datasets": list(datasets),
        "data": data_label(spec)[:500],
    }
    if kind is not None:
        fields["kind"] = kind
    if trials_total is not None:
        fields["trials_total"] = trials_total
    job = table(**fields)
    session.add(job)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        if idempotency_key is None:
            raise
        earlier = _by_key(session, table, idempotency_key, body_sha256)
        if earlier is None:
            raise
        return earlier, False
    return job, True


def _by_key(session: Session, table: type[J], key: str, body_sha256: str) -> J | None:
    """The job submitted with this Idempotency-Key, if any (a different body: a conflict)."""
    earlier = session.exec(select(table).where(col(table.idempotency_key) == key)).first()
    if earlier is not None and earlier.body_sha256 != body_sha256:
        raise IdempotencyConflict(earlier.id)
    return earlier


def base_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The RunSpec inside a backtest, optimisation or walk-forward payload."""
    if "search" in spec:
        spec = spec["search"]
    return dict(spec.get("base", spec))


def data_label(spec: dict[str, Any]) -> str:
    """What a job reads, in a few words ('dataset ds_…', 'ES synthetic 750 bars, volume, …'),
    stored with the job so listings need not load specs."""
    data = base_spec(spec).get("data") or {}
    return "; ".join(_feed_label(feed) for feed in (data if isinstance(data, list) else [data]))


def _feed_label(feed: dict[str, Any]) -> str:
    source = feed.get("source", "synthetic")
    args = feed.get("args") or {}
    label = f"dataset {args.get('id', '?')}" if source == "dataset" else source
    if source == "synthetic" and "bars" in args:
        label += f" {args['bars']} bars"
    if feed.get("root"):
        roll = (feed.get("roll") or {}).get("name", "default roll")
        label = f"{feed['root']} {label}, {roll}, {feed.get('adjust', 'difference')}"
    return label


def get_job(session: Session, *, table: type[J], job_id: str) -> J | None:
    return session.get(table, job_id)


def first_job(session: Session, *, table: type[J], strategy: str) -> J | None:
    """The oldest job of *table* for *strategy*, if any."""
    query = select(table).where(col(table.strategy) == strategy)
    return session.exec(query.order_by(col(table.created_at), col(table.id))).first()


def list_jobs(
    session: Session,
    *,
    table: type[J],
    status: str | None = None,
    strategy: str | None = None,
    kind: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[J], int]:
    """A page of jobs, newest first, and the total that match."""
    query = select(table).options(defer(cast(Any, table.spec)))  # listings leave specs out
    if status:
        query = query.where(col(table.status) == status)
    if strategy:
        query = query.where(col(table.strategy) == strategy)
    if kind and table is Optimization:
        query = query.where(col(Optimization.kind) == kind)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    page = (
        query.order_by(col(table.created_at).desc(), col(table.id).desc())
        .offset(offset)
        .limit(limit)
    )
    return list(session.exec(page).all()), int(total)


def claim_next(session: Session) -> Job | None:
    """The oldest queued job of any kind, marked running (committed); None when idle."""
    candidates: list[Job] = []
    for table in JOB_TABLES:
        row = session.exec(
            select(table)
            .where(col(table.status) == "queued")
            .order_by(col(table.created_at), col(table.id))
        ).first()
        if row is not None:
            candidates.append(cast(Job, row))
    for job in sorted(candidates, key=lambda j: (j.created_at, j.id)):
        kind: Any = type(job)
        claimed = session.exec(
            update(kind)
            .where(col(kind.id) == job.id, col(kind.status) == "queued")
            .values(
                status="running",
                started_at=utcnow(),
                attempts=col(kind.attempts) + 1,
                progress=0.0,
                message=None,
            )
        )
        session.commit()
        if claimed.rowcount == 1:
            session.refresh(job)
            return job
    return None


def blob_in_use(session: Session, *, digest: str) -> bool:
    """Whether any job still points at this result blob (identical results share one)."""
    return any(
        session.exec(select(table.id).where(col(table.result_blob) == digest)).first()
        for table in JOB_TABLES
    )


def job_snapshot(session: Session, *, table: JobTable, job_id: str) -> dict[str, Any] | None:
    """The few fields a job's event stream reports, or None once the job is deleted."""
    job = session.get(table, job_id)
    if job is None:
        return None
    snapshot: dict[str, Any] = {
        "id": job.id,
        "status": job.status,
        "progress": job.progress,
        "message": job.message,
        "error": job.error,
    }
    if isinstance(job, Optimization):  # a follower's bar counts trials done and failed
        snapshot["trials_done"] = job.trials_done
        snapshot["trials_failed"] = job.trials_failed
    return snapshot


def start_job(session: Session, *, job: Job) -> bool:
    """Mark one queued job running, as ``claim_next`` does (for content run in-process at
    once, such as the demo); False when it was no longer queued."""
    table = type(job)
    started = session.exec(
        update(table)
        .where(col(table.id) == job.id, col(table.status) == "queued")
        .values(status="running", started_at=utcnow(), attempts=col(table.attempts) + 1)
    )
    session.commit()
    session.refresh(job)
    return bool(started.rowcount)


def requeue_interrupted(session: Session, *, max_attempts: int) -> tuple[int, int]:
    """After a crash: jobs left running go back to the queue, or fail once out of attempts."""
    requeued = failed = 0
    for table in JOB_TABLES:
        for job in session.exec(select(table).where(col(table.status) == "running")).all():
            if job.attempts >= max_attempts:
                job.status, job.finished_at = "failed", utcnow()
                job.error = f"interrupted {job.attempts} times (server restarts); giving up"
                failed += 1
            else:
                job.status, job.message = "queued", "requeued after a server restart"
                requeued += 1
            session.add(job)
    session.commit()
    return requeued, failed


def set_progress(
    session: Session, *, job: Job, progress: float, message: str | None = None, **fields: Any
) -> None:
    table = type(job)
    values = {"progress": progress, **fields}
    if message is not None:
        values["message"] = message
    session.exec(
        update(table)
        .where(col(table.id) == job.id, col(table.status) == "running")
        .values(**values)
    )
    session.commit()


def count_attempt(session: Session, *, job: Job) -> None:
    """One more start of a running job (Ray retried it after its worker died)."""
    table = type(job)
    session.exec(
        update(table)
        .where(col(table.id) == job.id, col(table.status) == "running")
        .values(attempts=col(table.attempts) + 1, message="started again after a worker died")
    )
    session.commit()


def finish_job(session: Session, *, job: Job, status: str, **fields: Any) -> bool:
    """Record the end of a running job; False if it is no longer running (cancelled)."""
    table = type(job)
    values = {"status": status, "finished_at": utcnow(), **fields}
    if status == "completed":
        values["progress"] = 1.0
    result = session.exec(
        update(table)
        .where(col(table.id) == job.id, col(table.status) == "running")
        .values(**values)
    )
    session.commit()
    return bool(result.rowcount)


def cancel_job(session: Session, *, job: Job) -> Job:
    """Cancel a queued or running job; finished jobs cannot be cancelled."""
    if job.status in FINISHED:
        raise InvalidTransition(f"{job.id} is already {job.status}")
    table = type(job)
    session.exec(
        update(table)
        .where(col(table.id) == job.id, col(table.status).in_(("queued", "running")))
        .values(status="cancelled", finished_at=utcnow(), message="cancelled by request")
    )
    session.commit()
    session.refresh(job)
    return job


def delete_job(session: Session, *, job: Job) -> None:
    """Delete a job that is not running (cancel it first); its trials go with it."""
    if job.status == "running":
        raise InvalidTransition(f"{job.id} is running; cancel it first")
    if isinstance(job, Optimization):
        session.exec(delete(TrialRow).where(col(TrialRow.optimization_id) == job.id))
    session.delete(job)
    session.commit()


def keep_trials(session: Session, *, optimization_id: str, numbers: Sequence[int]) -> None:
    """After a successful attempt: drop stored trials it did not produce (an interrupted
    earlier attempt's), so each trial is stored once and only the final set remains."""
    session.exec(
        delete(TrialRow).where(
            col(TrialRow.optimization_id) == optimization_id,
            col(TrialRow.number).not_in(list(numbers)),
        )
    )
    session.commit()


def add_trials(session: Session, *, optimization_id: str, trials: Sequence[Any]) -> None:
    """One multi-row INSERT, replacing stored trials of the same numbers (an earlier attempt
    of a restarted search): a batch is stored without building ORM objects, and trials a
    crash left behind are kept until the new attempt has its own."""
    if not trials:
        return
    session.exec(
        delete(TrialRow).where(
            col(TrialRow.optimization_id) == optimization_id,
            col(TrialRow.number).in_([trial.number for trial in trials]),
        )
    )
    rows = [
        {
            "optimization_id": optimization_id,
            "number": trial.number,
            "status": trial.status,
            "params": trial.params,
            "objective": trial.objective,
            "metrics": trial.metrics,
            "error": trial.error,
            "seconds": trial.seconds,
        }
        for trial in trials
    ]
    session.execute(insert(TrialRow), rows)
    session.commit()


def list_trials(session: Session, *, optimization_id: str) -> list[TrialRow]:
    return list(
        session.exec(
            select(TrialRow)
            .where(col(TrialRow.optimization_id) == optimization_id)
            .order_by(col(TrialRow.number))
        ).all()
    )


def active_dataset_users(session: Session, *, dataset_id: str) -> list[str]:
    """Ids of queued or running jobs that read the dataset."""
    users: list[str] = []
    for table in JOB_TABLES:
        rows = session.exec(select(table).where(col(table.status).in_(("queued", "running")))).all()
        users.extend(job.id for job in rows if dataset_id in (job.datasets or []))
    return users


def queue_depth(session: Session) -> dict[str, int]:
    counts = {}
    for state in ("queued", "running"):
        counts[state] = sum(
            int(session.exec(select(func.count()).where(col(table.status) == state)).one())
            for table in JOB_TABLES
        )
    return counts


def changed_jobs(
    session: Session, *, since: dt.datetime, watched: Sequence[str] = ()
) -> tuple[list[Job], list[str]]:
    """Jobs that are queued or running, created or finished after *since*, or in *watched*;
    and the *watched* ids that no longer exist (deleted). What a live job list polls for."""
    found: dict[str, Job] = {}
    for table in JOB_TABLES:
        query = (
            select(table)
            .options(defer(cast(Any, table.spec)))  # events carry no specs
            .where(
                col(table.status).in_(("queued", "running"))
                | (col(table.created_at) >= since)
                | (col(table.finished_at) >= since)
                | col(table.id).in_(list(watched))
            )
        )
        found.update((job.id, cast(Job, job)) for job in session.exec(query).all())
    return list(found.values()), [job_id for job_id in watched if job_id not in found]
