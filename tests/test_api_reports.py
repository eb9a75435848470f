"""Report endpoints over HTTP on both databases: pages, json_item, zoom windows, errors."""

from __future__ import annotations

from typing import Any

from tests.api_helpers import backtest_body, submit, wait_for
from tests.report_helpers import assert_finite_json  # noqa: F401  (shared checks)


def choice(*options: int) -> dict[str, Any]:
    return {"kind": "choice", "options": list(options)}


def completed(client: Any, path: str, body: dict[str, Any]) -> str:
    job = submit(client, path, body)
    state = wait_for(client, f"/api/v1/{path}/{job['id']}")
    assert state["status"] == "completed", state
    return str(job["id"])


def test_backtest_report_page_json_and_window(client: Any) -> None:
    run_id = completed(client, "backtests", backtest_body(bars=500))
    page = client.get(f"/api/v1/backtests/{run_id}/report?theme=dark&benchmark=true")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "/bokeh/static/js/bokeh.min.js" in page.text and "cdn.bokeh.org" not in page.text
    assert f"/api/v1/backtests/{run_id}/report/window" in page.text  # zoom refetch address
    assert client.get("/bokeh/static/js/bokeh.min.js").status_code == 200
    item = client.get(f"/api/v1/backtests/{run_id}/report.json").json()
    assert {"doc", "root_id"} <= set(item)
    equity = client.get(f"/api/v1/backtests/{run_id}/equity").json()
    window = client.get(
        f"/api/v1/backtests/{run_id}/report/window",
        params={"start": _ms(equity["datetime"][100]), "end": _ms(equity["datetime"][120])},
    ).json()
    assert len(window["equity"]["t"]) == 23  # 21 bars plus one either side
    assert {"price:synthetic", "equity", "drawdown"} <= set(window)


def _ms(text: str) -> float:
    import numpy as np

    return float(np.datetime64(text, "ms").astype(np.int64))


def test_report_errors_name_the_problem(client: Any) -> None:
    assert client.get("/api/v1/backtests/bt_0000000000000000/report").status_code == 404
    run_id = completed(client, "backtests", backtest_body(bars=300))
    bad = client.get(f"/api/v1/backtests/{run_id}/report?theme=purple")
    assert bad.status_code == 422 and "theme" in bad.text
    backwards = client.get(
        f"/api/v1/backtests/{run_id}/report/window", params={"start": 10, "end": 5}
    )
    assert backwards.status_code == 422 and "end" in backwards.text


def test_optimisation_walk_forward_and_comparison_reports(client: Any) -> None:
    base = backtest_body(bars=400)
    search = {
        "base": base,
        "space": {"fast": choice(3, 5, 8), "slow": choice(20, 30)},
        "metric": "sharpe",
    }
    op_id = completed(client, "optimizations", search)
    page = client.get(f"/api/v1/optimizations/{op_id}/report?x=slow&y=fast")
    assert page.status_code == 200 and "Heatmap" in page.text
    wrong = client.get(f"/api/v1/optimizations/{op_id}/report?x=fsat")
    assert wrong.status_code == 422 and "did you mean 'fast'" in wrong.text
    assert "doc" in client.get(f"/api/v1/optimizations/{op_id}/report.json").json()
    walk = {"search": {"base": base, "space": {"fast": choice(3, 5)}}, "train": 150, "test": 80}
    wf_id = completed(client, "walkforwards", walk)
    assert client.get(f"/api/v1/walkforwards/{wf_id}/report").status_code == 200
    assert client.get(f"/api/v1/optimizations/{wf_id}/report").status_code == 404
    other = completed(client, "backtests", backtest_body(bars=400, fast=8))
    first = completed(client, "backtests", backtest_body(bars=400))
    compare = client.get("/api/v1/reports/compare", params=[("ids", first), ("ids", other)])
    assert compare.status_code == 200 and "Growth of 1" in compare.text
