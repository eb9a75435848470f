"""A job as the client sees it: the API's JSON, with the fields a caller reads named."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

FINISHED = frozenset({"completed", "failed", "cancelled"})
RESOURCES = {"backtest": "backtests", "optimize": "optimizations", "walkforward": "walkforwards"}
"""The REST collection of each job kind (``Job.kind`` is the API's ``kind``)."""
KIND_ALIASES = {
    "backtest": "backtest",
    "backtests": "backtest",
    "optimize": "optimize",
    "optimization": "optimize",
    "optimizations": "optimize",
    "walkforward": "walkforward",
    "walk-forward": "walkforward",
    "walkforwards": "walkforward",
}


@dataclass(frozen=True)
class Job:
    """A backtest, optimisation or walk-forward on the server, as last read.

    Reading a job again (``Client.job``) gives a new one; a Job is never updated in place.
    ``raw`` is the API's JSON (``trials_done`` and ``best`` of a search are there too).
    """

    id: str
    kind: str
    status: str
    progress: float = 0.0
    message: str | None = None
    error: str | None = None
    metrics: dict[str, Any] | None = None
    links: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_api(cls, data: dict[str, Any], kind: str | None = None) -> Job:
        return cls(
            id=str(data["id"]),
            kind=str(data.get("kind") or kind or "backtest"),
            status=str(data.get("status", "queued")),
            progress=float(data.get("progress") or 0.0),
            message=data.get("message"),
            error=data.get("error"),
            metrics=data.get("metrics"),
            links=dict(data.get("links") or {}),
            raw=dict(data),
        )

    def updated(self, snapshot: dict[str, Any]) -> Job:
        """This job with an event's fields (status, progress, message...) applied."""
        return Job.from_api({**self.raw, "kind": self.kind, **snapshot}, self.kind)

    @property
    def state(self) -> tuple[Any, ...]:
        """What an event can change: a new state is worth reporting, the same is not."""
        return (self.status, self.progress, self.message, self.error, self.raw.get("trials_done"))

    @property
    def resource(self) -> str:
        return RESOURCES[self.kind]

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def ok(self) -> bool:
        return self.status == "completed"


def kind_name(kind: str) -> str:
    """``backtest``, ``optimize`` or ``walkforward`` from any of their usual spellings."""
    try:
        return KIND_ALIASES[kind.lower()]
    except KeyError:
        raise ValueError(
            f"unknown job kind {kind!r}; use backtest, optimize or walkforward"
        ) from None
