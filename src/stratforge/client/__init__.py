"""The Python client of a stratforge server: submit backtests and searches, follow them,
read their results as pandas objects; errors carry the API's field paths and hints.

    from stratforge.client import Client

    with Client("http://127.0.0.1:8000") as client:
        job = client.backtest({"strategy": {"name": "sma_cross"}})
        print(job.metrics, client.trades(job).head())

It speaks only HTTP (httpx) and imports nothing of the server, so it is as usable from a
machine that has no engine installed as from the same one.
"""

from stratforge.client.client import Client
from stratforge.client.errors import ApiError, AuthError, NotFound, ServerUnavailable
from stratforge.client.jobs import Job

__all__ = ["ApiError", "AuthError", "Client", "Job", "NotFound", "ServerUnavailable"]
