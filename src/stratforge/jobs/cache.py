"""The result cache as the job runner uses it: keys from ``core.cache_key`` (pure), entries
in ``store.cache`` (the database, written only here, in the driver: Ray tasks get none)."""

from __future__ import annotations

from sqlmodel import Session

from stratforge.core import cache_key
from stratforge.core.engine import PreparedRun
from stratforge.core.settings import Settings
from stratforge.core.trials import Trial
from stratforge.store import cache, jobs
from stratforge.store.tables import BacktestRun


def backtest_key(prepared: PreparedRun, settings: Settings) -> str | None:
    """The run's key when the cache is on and the run can be keyed, else None."""
    return cache_key.backtest_key(prepared) if settings.result_cache else None


def serve_cached(session: Session, job: BacktestRun, key: str) -> bool:
    """Finish *job* with the stored result of an identical backtest, if there is one: its
    metrics and (shared) result blob, and ``cached_from`` naming the job it came from."""
    hit = cache.recall_backtest(session, key=key)
    if hit is None:
        return False
    jobs.finish_job(
        session,
        job=job,
        status="completed",
        metrics=hit.metrics,
        result_blob=hit.result_blob,
        cached_from=hit.job_id,
        message=f"served from the stored run {hit.job_id} (result cache)",
    )
    return True


def remember_backtest(
    session: Session, settings: Settings, job: BacktestRun, key: str, digest: str
) -> None:
    """Remember that *job* stored the result of the backtest whose key digest is *key*
    (``core.cache_key.backtest_key``)."""
    cache.remember_backtest(
        session,
        key=key,
        job_id=job.id,
        result_blob=digest,
        max_entries=settings.result_cache_max_entries,
    )


class StoredTrials:
    """A search's ``TrialMemory`` over the database: trials as stored, less their number
    (the search renumbers a recalled one by its own order)."""

    def __init__(self, session: Session, settings: Settings) -> None:
        self.session = session
        self.max_entries = settings.result_cache_max_entries
        self.recalled = 0

    def recall(self, keys: list[str]) -> dict[str, Trial]:
        found = cache.recall_trials(self.session, keys=keys)
        self.recalled += len(found)
        return {key: Trial.model_validate({**data, "number": 0}) for key, data in found.items()}

    def remember(self, trials: dict[str, Trial]) -> None:
        stored = {
            key: trial.model_dump(mode="json", exclude={"number"}) for key, trial in trials.items()
        }
        cache.remember_trials(self.session, trials=stored, max_entries=self.max_entries)


def trial_memory(session: Session, settings: Settings) -> StoredTrials | None:
    return StoredTrials(session, settings) if settings.result_cache else None
