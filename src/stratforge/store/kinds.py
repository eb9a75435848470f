"""The kinds of job, in one table: what storage, routes, the dashboard and reports derive
what they need from (table, id prefix, resource path, nouns), instead of each keeping its
own map of the same facts."""

from __future__ import annotations

from dataclasses import dataclass

from stratforge.store.tables import BacktestRun, Optimization

Job = BacktestRun | Optimization
JobTable = type[BacktestRun] | type[Optimization]


@dataclass(frozen=True)
class JobKind:
    """One kind of job and every name it goes by."""

    name: str
    """The kind as stored results and reports name it: backtest, optimize, walkforward."""
    table: JobTable
    id_prefix: str
    """Ids are ``<prefix>_<16 hex>``; the prefix picks the table."""
    resource: str
    """The REST collection (``/api/v1/<resource>``) and dashboard path segment."""
    noun: str
    """What messages call one job of this kind."""

    @property
    def stored_kind(self) -> str | None:
        """The value of the table's ``kind`` column, for tables that hold several kinds."""
        return None if self.table is BacktestRun else self.name

    def holds(self, job: Job) -> bool:
        """Whether *job* (a row of this kind's table) is of this kind."""
        return isinstance(job, self.table) and kind_of(job) is self


BACKTEST = JobKind("backtest", BacktestRun, "bt", "backtests", "backtest")
OPTIMIZE = JobKind("optimize", Optimization, "op", "optimizations", "optimization")
WALKFORWARD = JobKind("walkforward", Optimization, "op", "walkforwards", "walk-forward")

JOB_KINDS: tuple[JobKind, ...] = (BACKTEST, OPTIMIZE, WALKFORWARD)
JOB_TABLES: tuple[JobTable, ...] = (BacktestRun, Optimization)
"""Each job table once, in claim order (backtests are quick, so they go first)."""

BY_NAME = {kind.name: kind for kind in JOB_KINDS}
BY_RESOURCE = {kind.resource: kind for kind in JOB_KINDS}
TABLE_BY_PREFIX: dict[str, JobTable] = {kind.id_prefix: kind.table for kind in JOB_KINDS}
PREFIX_BY_TABLE: dict[type[Job], str] = {kind.table: kind.id_prefix for kind in JOB_KINDS}


def kind_of(job: Job) -> JobKind:
    """The kind of a stored job row."""
    return BACKTEST if isinstance(job, BacktestRun) else BY_NAME[job.kind]
