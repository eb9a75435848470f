"""Shared pieces of the API tests: settings per backend, clients, waiting for jobs."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient

FINISHED = {"completed", "failed", "cancelled"}


def wait_for(client: Any, url: str, timeout: float = 60.0) -> dict[str, Any]:
    """Poll a job URL until it finishes; returns its last state."""
    deadline = time.monotonic() + timeout
    while True:
        state = client.get(url).json()
        if state.get("status") in FINISHED or time.monotonic() > deadline:
            return state
        time.sleep(0.1)


def submit(client: TestClient, path: str, body: dict[str, Any], **headers: str) -> dict[str, Any]:
    response = client.post(f"/api/v1/{path}", json=body, headers=headers)
    assert response.status_code == 202, response.text
    return response.json()


def backtest_body(bars: int = 400, **strategy_params: Any) -> dict[str, Any]:
    return {
        "strategy": {"name": "sma_cross", "params": {"fast": 5, "slow": 20, **strategy_params}},
        "data": {"args": {"bars": bars}},
    }


SMALL_SEARCH: dict[str, Any] = {
    "base": {"strategy": {"name": "sma_cross"}, "data": {"args": {"bars": 400}}},
    "space": {
        "fast": {"kind": "int", "start": 5, "stop": 15, "step": 5},
        "slow": {"kind": "int", "start": 20, "stop": 40, "step": 20},
    },
    "constraints": ["fast < slow"],
    "pbo_blocks": 4,
}
"""A six-trial grid on 400 synthetic bars: a search that finishes in a second or two."""
