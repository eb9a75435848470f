"""First-start demo content: a synthetic dataset and one finished backtest on it."""

from __future__ import annotations

import io

from sqlalchemy import Engine
from sqlmodel import Session

from stratforge.core.plugins import Plugins
from stratforge.core.settings import Settings
from stratforge.core.spec import RunSpec
from stratforge.data import generate_synthetic
from stratforge.jobs.run import JobRunner, RunningJob
from stratforge.store import jobs
from stratforge.store.blobs import BlobStore
from stratforge.store.datasets import save_dataset
from stratforge.store.tables import BacktestRun

DEMO_NAME = "demo: synthetic daily bars"


def seed_demo(settings: Settings, engine: Engine, plugins: Plugins) -> str:
    """Create the demo dataset and backtest unless they exist; returns the backtest id."""
    with Session(engine, expire_on_commit=False) as session:
        existing = jobs.first_job(session, table=BacktestRun, strategy="sma_cross")
        if existing is not None:
            return existing.id
        frame = generate_synthetic(bars=2500, seed=7, regime_length=120)
        buffer = io.BytesIO()
        frame.to_parquet(buffer)
        dataset, _ = save_dataset(
            session,
            data_dir=settings.data_dir,
            frame=frame,
            raw=buffer.getvalue(),
            name=DEMO_NAME,
            filename="demo.parquet",
            format="parquet",
        )
        spec = RunSpec.model_validate(
            {
                "data": {"source": "dataset", "args": {"id": dataset.id}, "symbol": "DEMO"},
                "strategy": {
                    "name": "sma_cross",
                    "params": {"fast": 20, "slow": 60, "long_only": True},
                },
                "sizer": {"name": "percent", "params": {"percent": 95}},
                "analyzers": [{"name": "sharpe"}, {"name": "drawdown"}, {"name": "trade_stats"}],
            }
        )
        payload = spec.model_dump(mode="json")
        job, _ = jobs.create_job(
            session,
            table=BacktestRun,
            spec=payload,
            strategy="sma_cross",
            body_sha256="demo",
            datasets=[dataset.id],
        )
        jobs.start_job(session, job=job)  # the job's life as the dispatcher gives it
        blobs = BlobStore(settings.data_dir / "results")
        runner = JobRunner(settings, plugins, blobs, executor="serial")  # seconds, no Ray
        runner.run_and_store(session, job, RunningJob(job.id))
        return job.id
