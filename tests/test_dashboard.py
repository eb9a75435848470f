"""The dashboard's pages and assets, and the API additions it uses: CSV downloads, the data
summary in listings and the all-jobs event stream."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import time
from itertools import pairwise
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from stratforge.api.dashboard import NAV, WEB
from tests.api_helpers import backtest_body, submit, wait_for
from tests.server_helpers import free_port, server

PAGES = [
    "/",
    "/new/backtest",
    "/new/optimization",
    "/datasets",
    "/markets",
    "/plugins",
    "/contracts",
]


def test_every_page_renders_with_navigation(client: TestClient) -> None:
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.text
        assert all(f'href="{href}"' in html for href, _, _ in NAV)
        assert 'aria-current="page"' in html and '<main id="main"' in html
    run = client.get("/runs/backtests/bt_0000").text  # the shell; the data comes from the API
    assert 'data-resource="backtests"' in run and "/bokeh/static/js/bokeh.min.js" in run
    assert client.get("/new/trade").status_code == 404
    assert client.get("/runs/trades/x").status_code == 404


def test_markets_page_says_how_to_import_and_links_to_the_form(client: TestClient) -> None:
    html = client.get("/markets").text
    assert '<a href="/markets" aria-current="page">Markets</a>' in html
    assert 'data-page="markets"' in html and '<table id="markets">' in html
    command = "stratforge data import --format &lt;lean|pysystemtrade|databento|contracts_dir&gt;"
    assert command in html and "--root ES PATH" in html  # shown when the catalog is empty
    assert ("/markets", "Markets", "markets") in NAV
    script = client.get("/ui/static/js/markets.js").text
    assert "/new/backtest?source=catalog&root=" in script
    assert "/markets" in client.get("/ui/static/js/form.js").text  # the form reads the catalog


def test_pages_hold_no_data_so_they_need_no_key(client: TestClient, api_settings) -> None:
    """With an API key set, the page shells still load; their API calls carry the key."""
    api_settings.api_key = "k"
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/backtests").status_code == 401


def _assets() -> list[Path]:
    return [p for p in WEB.rglob("*") if p.is_file()]


def test_every_asset_is_local_and_exists(client: TestClient) -> None:
    """No CDN, no web font: the dashboard works with no internet."""
    for path in _assets():
        text = path.read_text()
        assert not re.search(r"(src|href)=\"https?://", text), path
        assert "@import url(" not in text and "fonts.googleapis" not in text, path
        for module in re.findall(r'from "\./([\w-]+\.js)"|import\("\./([\w-]+\.js)"\)', text):
            name = next(filter(None, module))
            assert (WEB / "static" / "js" / name).exists(), (path, name)
    html = client.get("/").text
    for url in re.findall(r'(?:src|href)="(/ui/static/[^"?]+)', html):
        assert client.get(url).status_code == 200, url
    for name in ("api", "ui", "fields", "form", "run", "runs", "datasets", "catalog", "markets"):
        assert client.get(f"/ui/static/js/{name}.js").status_code == 200


def test_assets_are_not_git_ignored() -> None:
    """Hatchling leaves ignored files out of the wheel: every page and script must ship."""
    import subprocess

    ignored = subprocess.run(
        ["git", "check-ignore", *map(str, _assets())], capture_output=True, text=True
    )
    assert ignored.returncode == 1, ignored.stdout  # 1: none of them is ignored


def test_listings_say_what_data_a_job_reads(client: TestClient) -> None:
    futures = {
        "strategy": {"name": "sma_cross"},
        "data": {"root": "ES", "args": {"bars": 200}, "roll": {"name": "volume"}},
    }
    submit(client, "backtests", futures)
    submit(client, "backtests", backtest_body(bars=300))
    labels = [job["data"] for job in client.get("/api/v1/backtests").json()["items"]]
    assert labels == ["synthetic 300 bars", "ES synthetic 200 bars, volume, difference"]


def test_results_download_as_csv(client: TestClient) -> None:
    job = submit(client, "backtests", backtest_body())
    wait_for(client, job["links"]["self"])
    trades = client.get(f"{job['links']['trades']}?format=csv")
    assert trades.headers["content-type"].startswith("text/csv")
    assert f'filename="{job["id"]}-trades.csv"' in trades.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(trades.text)))
    as_json = client.get(job["links"]["trades"]).json()
    assert len(rows) == len(as_json) > 0
    assert float(rows[0]["pnl_net"]) == pytest.approx(as_json[0]["pnl_net"])
    equity = list(
        csv.DictReader(io.StringIO(client.get(f"{job['links']['equity']}?format=csv").text))
    )
    assert list(equity[0]) == ["datetime", "value", "cash", "position"] and len(equity) == 400
    assert client.get(f"{job['links']['rolls']}?format=csv").text.strip() == ""
    assert client.get(f"{job['links']['trades']}?format=xml").status_code == 422


def test_trials_download_as_csv_with_a_column_per_parameter(client: TestClient) -> None:
    search = {
        "base": {"strategy": {"name": "sma_cross"}, "data": {"args": {"bars": 300}}},
        "space": {"fast": {"kind": "choice", "options": [5, 10]}},
    }
    job = submit(client, "optimizations", search)
    wait_for(client, job["links"]["self"])
    rows = list(
        csv.DictReader(io.StringIO(client.get(f"{job['links']['trials']}?format=csv").text))
    )
    assert [r["param_fast"] for r in rows] == ["5", "10"]
    assert {"objective", "sharpe", "total_return", "status"} <= set(rows[0])


@pytest.mark.slow
def test_one_event_stream_follows_every_job(tmp_path: Path) -> None:
    """/api/v1/events over real HTTP: a new job appears, progresses, finishes, is deleted."""
    port = free_port()
    base = f"http://127.0.0.1:{port}/api/v1"
    with server(tmp_path, port), httpx.Client(timeout=30) as http:
        seen: list[tuple[str, dict]] = []
        with http.stream("GET", f"{base}/events") as events:
            lines = events.iter_lines()
            job = http.post(f"{base}/backtests", json=backtest_body()).json()
            event = ""
            deadline = time.monotonic() + 60
            for line in lines:
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    seen.append((event, json.loads(line[5:])))
                    if event == "status" and seen[-1][1]["status"] == "completed":
                        assert http.delete(f"{base}/backtests/{job['id']}").status_code == 204
                    if event == "deleted" or time.monotonic() > deadline:
                        break
    mine = [(e, d) for e, d in seen if d["id"] == job["id"]]
    statuses = [d["status"] for e, d in mine if e == "status"]
    assert statuses[-1] == "completed"  # after queued and running, unless quicker than a poll
    snapshots = [d for e, d in mine if e == "status"]
    assert all(a != b for a, b in pairwise(snapshots))  # unchanged: not sent again
    assert mine[-1][0] == "deleted"
    done = next(d for e, d in mine if e == "status" and d["status"] == "completed")
    assert done["metrics"]["trades"] >= 0 and done["data"] == "synthetic 400 bars"


@pytest.mark.slow
def test_a_reconnecting_client_catches_up_with_since(tmp_path: Path) -> None:
    """A job that finished while no stream was open is reported to one opened with since."""
    port = free_port()
    base = f"http://127.0.0.1:{port}/api/v1"
    with server(tmp_path, port), httpx.Client(timeout=30) as http:
        before = http.get(f"{base}/health").headers["date"]  # the server's clock
        job = http.post(f"{base}/backtests", json=backtest_body(bars=200)).json()
        wait_for(http, f"{base}/backtests/{job['id']}")
        since = dt.datetime.strptime(before, "%a, %d %b %Y %H:%M:%S GMT") - dt.timedelta(seconds=2)
        with http.stream("GET", f"{base}/events", params={"since": since.isoformat()}) as events:
            for line in events.iter_lines():
                if line.startswith("data:") and json.loads(line[5:])["id"] == job["id"]:
                    assert json.loads(line[5:])["status"] == "completed"
                    break
