"""The result cache's hit path: the same backtest and search submitted twice to the API.

Starts the app in-process on a fresh data directory (SQLite, the serial job executor, so the
times are the job's own and not Ray's start) and, for each case, submits the request, waits
for the job to finish and reports the wall time of the first (computed) and the second
(served from the stored run) submission, and whether the second says ``cached_from`` /
``cached_trials``.

    .venv/bin/python bench/cache.py                  # 250,000 minute bars, a 20-trial search
    .venv/bin/python bench/cache.py --bars 20000     # a quick look
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from stratforge.api import create_app
from stratforge.core.settings import Settings


def timed(client: TestClient, path: str, body: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    response = client.post(f"/api/v1/{path}", json=body)
    response.raise_for_status()
    url = response.json()["links"]["self"]
    while True:
        state = client.get(url).json()
        if state["status"] in ("completed", "failed", "cancelled"):
            break
        time.sleep(0.005)
    if state["status"] != "completed":
        raise SystemExit(f"{path}: {state['status']}: {state.get('error')}")
    return time.perf_counter() - started, state


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=250_000, help="synthetic minute bars")
    args = parser.parse_args()
    data = {"source": "synthetic", "args": {"bars": args.bars, "timeframe": "minutes"}}
    backtest = {"strategy": {"name": "sma_cross", "params": {"fast": 10, "slow": 30}}, "data": data}
    search = {
        "base": {
            "strategy": {"name": "sma_cross"},
            "data": {"source": "synthetic", "args": {"bars": 2500}},
        },
        "space": {
            "fast": {"kind": "choice", "options": [5, 10, 15, 20]},
            "slow": {"kind": "choice", "options": [30, 40, 50, 60, 80]},
        },
        "metric": "sharpe",
    }
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder), job_executor="serial", project=False)
        with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
            for label, path, body, says in (
                (f"backtest, {args.bars:,} minute bars", "backtests", backtest, "cached_from"),
                ("search, 2,500 daily bars", "optimizations", search, "summary"),
            ):
                first, _ = timed(client, path, body)
                second, state = timed(client, path, body)
                note = state.get(says)
                if says == "summary":
                    note = f"cached_trials={(note or {}).get('cached_trials')}"
                else:
                    note = f"cached_from={note}"
                print(
                    f"{label:>34} | computed {first:8.3f} s | again {second:8.3f} s | "
                    f"{first / second:8.0f}x | {note}"
                )


if __name__ == "__main__":
    main()
