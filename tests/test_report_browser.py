"""Reports served by a live ``stratforge serve``, opened in headless Chromium (Playwright).

Needs Debian's ``chromium`` (``make test`` installs it) and Playwright's Python package;
nothing is fetched from the internet: BokehJS comes from the server itself.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api_helpers import FINISHED
from tests.browser_helpers import RENDERED

pytestmark = pytest.mark.slow


def finished(base: str, path: str, body: dict[str, Any]) -> str:
    job = httpx.post(f"{base}/api/v1/{path}", json=body, timeout=30).json()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = httpx.get(f"{base}/api/v1/{path}/{job['id']}", timeout=10).json()
        if state["status"] in FINISHED:
            assert state["status"] == "completed", state
            return str(job["id"])
        time.sleep(0.3)
    raise AssertionError(f"{path} {job['id']} did not finish")


def open_report(browser: Any, url: str, shot: Path) -> tuple[Any, list[str]]:
    page = browser.new_page(viewport={"width": 1400, "height": 1300})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
    page.goto(url)
    page.wait_for_function(RENDERED, timeout=30_000)
    page.wait_for_timeout(300)
    page.screenshot(path=str(shot), full_page=True)
    return page, errors


def model_rows(page: Any, name: str) -> int:
    return int(
        page.evaluate(
            "(name) => Bokeh.documents[0].get_model_by_name(name).data_source.data.t.length",
            name,
        )
    )


def test_backtest_report_renders_and_zooms(browser: Any, base: str, tmp_path: Path) -> None:
    body = {
        "strategy": {"name": "sma_cross", "params": {"fast": 10, "slow": 40}},
        "data": {"root": "ES", "args": {"bars": 3000}},
        "analyzers": [{"name": "position_time"}],
    }
    run_id = finished(base, "backtests", body)
    page, errors = open_report(
        browser, f"{base}/api/v1/backtests/{run_id}/report", tmp_path / "backtest.png"
    )
    assert errors == []
    assert page.locator("canvas").count() >= 5  # price, volume, indicator, equity, drawdown...
    tabs = page.locator(".bk-tab").all_inner_texts()
    assert {"Charts", "Trades", "Rolls", "Monthly returns", "Time in market"} <= set(tabs)
    before = page.evaluate("() => Bokeh.documents[0].get_model_by_name('time').start")
    assert model_rows(page, "bars") == 2000  # 3,000 bars thinned to the page's buckets
    page.mouse.move(700, 260)
    for _ in range(3):
        page.mouse.wheel(0, -300)
        page.wait_for_timeout(60)
    page.wait_for_timeout(800)
    after = page.evaluate("() => Bokeh.documents[0].get_model_by_name('time').start")
    assert after > before  # zoomed in
    assert model_rows(page, "bars") < 2000  # the visible window at full resolution
    page.mouse.move(720, 230)
    page.wait_for_timeout(300)
    assert page.locator(".bk-Tooltip").count() > 0  # hover shows the bar's values
    page.screenshot(path=str(tmp_path / "backtest-zoomed.png"))
    page.locator(".bk-tab", has_text="Trades").click()
    page.wait_for_timeout(300)
    assert errors == []


def test_optimisation_report_renders(browser: Any, base: str, tmp_path: Path) -> None:
    choice = {"kind": "choice"}
    search = {
        "base": {"data": {"args": {"bars": 500}}, "strategy": {"name": "sma_cross"}},
        "space": {"fast": {**choice, "options": [5, 10]}, "slow": {**choice, "options": [30, 60]}},
    }
    op_id = finished(base, "optimizations", search)
    page, errors = open_report(
        browser, f"{base}/api/v1/optimizations/{op_id}/report", tmp_path / "optimization.png"
    )
    assert errors == []
    cells = page.evaluate(
        "() => Bokeh.documents[0].get_model_by_name('cells').data_source.data.value.length"
    )
    assert cells == 4
    assert page.locator("canvas").count() >= 1
