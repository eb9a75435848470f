"""Store functions for the result cache: content keys (``core.cache_key``) to stored results.

A backtest's entry points at the job that computed it and its result blob; a job served
from the cache gets the same blob, so results are shared, never copied, and deleting either
job leaves the other whole (``blob_in_use``). An entry whose jobs are all gone matches no
more and is dropped when next looked up. A trial's entry holds the trial itself.

The table keeps at most ``max_entries`` rows; writing past that evicts the least recently
used. Writes race harmlessly: two jobs storing one key keep the first (insert-or-ignore).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import delete, func, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from stratforge.store.tables import BacktestRun, CachedResult, utcnow

BACKTEST = "backtest"
TRIAL = "trial"
CHUNK = 500
"""Rows or keys per statement: within every database's limit of bound parameters."""


@dataclass(frozen=True)
class CachedBacktest:
    """A stored backtest identical to the one asked for."""

    job_id: str
    result_blob: str
    metrics: dict[str, Any] | None


@dataclass(frozen=True)
class CacheInfo:
    """How full the cache is."""

    entries: int
    backtests: int
    trials: int
    hits: int
    oldest_use: dt.datetime | None


def recall_backtest(session: Session, *, key: str) -> CachedBacktest | None:
    """The completed backtest stored under *key* (its original job, else any job that shares
    its result), marked used; None when there is none (a stale entry is dropped)."""
    entry = session.get(CachedResult, key)
    if entry is None or entry.kind != BACKTEST or not entry.result_blob:
        return None
    job = _holder(session, entry)
    if job is None:
        session.delete(entry)
        session.commit()
        return None
    _touch(session, [key])
    assert job.result_blob is not None
    return CachedBacktest(job_id=job.id, result_blob=job.result_blob, metrics=job.metrics)


def _holder(session: Session, entry: CachedResult) -> BacktestRun | None:
    """A completed backtest holding the entry's result: the one that computed it if it is
    still there, else the oldest other one (served from it, or computed alike)."""
    original = session.get(BacktestRun, entry.job_id) if entry.job_id else None
    if _holds(original, entry.result_blob):
        return original
    query = (
        select(BacktestRun)
        .where(
            col(BacktestRun.result_blob) == entry.result_blob,
            col(BacktestRun.status) == "completed",
        )
        .order_by(col(BacktestRun.created_at), col(BacktestRun.id))
    )
    return session.exec(query).first()


def _holds(job: BacktestRun | None, digest: str | None) -> bool:
    return job is not None and job.status == "completed" and job.result_blob == digest


def remember_backtest(
    session: Session, *, key: str, job_id: str, result_blob: str, max_entries: int
) -> None:
    """Store that *job_id*'s result (blob *result_blob*) is the result of *key*."""
    row = {"key": key, "kind": BACKTEST, "job_id": job_id, "result_blob": result_blob}
    _insert_new(session, [row], max_entries)


def recall_trials(session: Session, *, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The stored trials among *keys* (key -> trial as stored), marked used."""
    found: dict[str, dict[str, Any]] = {}
    unique = list(dict.fromkeys(keys))
    for start in range(0, len(unique), CHUNK):
        chunk = unique[start : start + CHUNK]
        query = select(CachedResult).where(
            col(CachedResult.key).in_(chunk), col(CachedResult.kind) == TRIAL
        )
        found.update({e.key: e.trial for e in session.exec(query).all() if e.trial})
    if found:
        _touch(session, list(found))
    return found


def remember_trials(
    session: Session, *, trials: Mapping[str, dict[str, Any]], max_entries: int
) -> None:
    """Store finished trials (key -> trial as JSON-ready data)."""
    rows = [{"key": key, "kind": TRIAL, "trial": trial} for key, trial in trials.items()]
    _insert_new(session, rows, max_entries)


def _insert_new(session: Session, rows: list[dict[str, Any]], max_entries: int) -> None:
    """Insert the rows whose key is not stored yet, then evict down to *max_entries*."""
    if not rows:
        return
    now = utcnow()
    values = [{"hits": 0, "created_at": now, "used_at": now, **row} for row in rows]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    table = cast(Any, CachedResult).__table__
    for start in range(0, len(values), CHUNK):
        chunk = values[start : start + CHUNK]
        session.exec(dialect.insert(table).values(chunk).on_conflict_do_nothing())
    session.commit()
    evict(session, max_entries=max_entries)


def _touch(session: Session, keys: list[str]) -> None:
    """Mark entries used now (for least-recently-used eviction) and count the hits."""
    now = utcnow()
    for start in range(0, len(keys), CHUNK):
        session.exec(
            update(CachedResult)
            .where(col(CachedResult.key).in_(keys[start : start + CHUNK]))
            .values(used_at=now, hits=col(CachedResult.hits) + 1)
        )
    session.commit()


def evict(session: Session, *, max_entries: int) -> int:
    """Delete the least recently used entries beyond *max_entries*; how many went."""
    total = session.exec(select(func.count()).select_from(CachedResult)).one()
    extra = int(total) - max_entries
    if extra <= 0:
        return 0
    oldest = (
        select(CachedResult.key)
        .order_by(col(CachedResult.used_at), col(CachedResult.key))
        .limit(extra)
    )
    session.exec(delete(CachedResult).where(col(CachedResult.key).in_(oldest)))
    session.commit()
    return extra


def clear_cache(session: Session) -> int:
    """Forget every entry (stored jobs and their results stay); how many there were."""
    total = int(session.exec(select(func.count()).select_from(CachedResult)).one())
    session.exec(delete(CachedResult))
    session.commit()
    return total


def cache_info(session: Session) -> CacheInfo:
    counts = dict(
        session.exec(select(CachedResult.kind, func.count()).group_by(col(CachedResult.kind))).all()
    )
    hits, oldest = session.exec(
        select(func.coalesce(func.sum(CachedResult.hits), 0), func.min(CachedResult.used_at))
    ).one()
    return CacheInfo(
        entries=sum(counts.values()),
        backtests=counts.get(BACKTEST, 0),
        trials=counts.get(TRIAL, 0),
        hits=int(hits),
        oldest_use=oldest,
    )
