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
