"""What the tools return about jobs and their results: the figures an agent reasons with,
never the per-bar series (those are paged by their own tools), so one answer fits in a
model's context whatever the length of the run."""

from __future__ import annotations

from typing import Any

from stratforge.client import Job

TOP_TRIALS = 5
"""The best trials a search's summary lists (get_trials pages through the rest)."""
SERIES = ("equity", "prices", "indicators", "trades", "orders", "rolls", "settlements")
"""A backtest's row-per-bar or row-per-event parts: counted in a summary, not copied."""
NEXT = {
    "backtest": "get_results, then get_trades / get_equity; report_url for the charts",
    "optimize": "get_results, then get_trials; report_url for the heatmaps",
    "walkforward": "get_results; report_url for the charts",
}


def job_summary(job: Job) -> dict[str, Any]:
    """A job's state, with what to call next."""
    raw = job.raw
    summary: dict[str, Any] = {
        "job_id": job.id,
        "kind": job.kind,
        "status": job.status,
        "finished": job.finished,
        "progress": job.progress,
        "message": job.message,
    }
    if job.error:
        summary["error"] = job.error
    for field in ("trials_done", "trials_failed", "trials_total", "cached_from"):
        if raw.get(field) is not None:
            summary[field] = raw[field]
    summary["next"] = (
        NEXT.get(job.kind, "get_results")
        if job.status == "completed"
        else "job_status until finished is true"
        if not job.finished
        else "nothing to read: the job did not complete"
    )
    return summary


def result_summary(job: Job, result: dict[str, Any] | None) -> dict[str, Any]:
    """The summary of a job's *result* (None while it has none: not completed)."""
    summary = job_summary(job)
    if result is None:
        return summary
    summarise = {"backtest": _backtest, "optimize": _search, "walkforward": _walkforward}
    return {**summary, **summarise.get(job.kind, _backtest)(result)}


def _backtest(result: dict[str, Any]) -> dict[str, Any]:
    equity = result.get("equity") or {}
    rows = {name: len(result.get(name) or []) for name in SERIES if name != "equity"}
    rows["equity_steps"] = len(next(iter(equity.values()), [])) if equity else 0
    provenance = dict(result.get("provenance") or {})
    provenance.pop("plugins", None)
    return {
        "metrics": result.get("metrics"),
        "rows": rows,
        "analyzers": result.get("analyzers") or {},
        "risk_events": (result.get("risk_events") or [])[:20],
        "strategy_info": result.get("strategy_info") or {},
        "provenance": provenance,
        "spec": result.get("spec"),
    }


def _search(result: dict[str, Any]) -> dict[str, Any]:
    trials = result.get("trials") or []
    ranked = sorted(
        (t for t in trials if t.get("objective") is not None),
        key=lambda t: t["objective"],
        reverse=bool((result.get("spec") or {}).get("maximize", True)),
    )
    figures = ("completed", "failed", "pruned", "cancelled", "cached", "wall_time_seconds")
    return {
        "best": _trial(result.get("best")),
        "top_trials": [_trial(t, with_metrics=False) for t in ranked[:TOP_TRIALS]],
        "trials": len(trials),
        **{name: result.get(name) for name in figures},
        "deflated_sharpe": result.get("deflated_sharpe"),
        "pbo": result.get("pbo"),
        "spec": result.get("spec"),
    }


def _walkforward(result: dict[str, Any]) -> dict[str, Any]:
    oos = result.get("oos_equity") or {}
    return {
        "windows": result.get("windows") or [],
        "efficiency": result.get("efficiency"),
        "oos_total_return": result.get("oos_total_return"),
        "oos_equity_steps": len(oos.get("value") or []),
        "cancelled": result.get("cancelled"),
        "spec": result.get("spec"),
    }


def _trial(trial: dict[str, Any] | None, *, with_metrics: bool = True) -> dict[str, Any] | None:
    """A trial without its return blocks (the PBO's input: numbers no reader needs)."""
    if trial is None:
        return None
    fields = ("number", "params", "status", "objective", "error")
    kept = {field: trial.get(field) for field in fields}
    if with_metrics:
        kept["metrics"] = trial.get("metrics")
    return kept
