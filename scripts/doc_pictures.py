"""Draw the pictures of the documentation into docs/img/ (``make pictures``).

Futures pictures come from a synthetic ES chain built with stratforge's own functions, drawn
with Bokeh and photographed by headless Chromium; the dashboard pictures are screenshots of a
live ``stratforge serve`` with its demo data. Nothing is downloaded. Re-run it after changing
what the pictures show; the PNGs are committed so the site builds without a browser.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
from bokeh.embed import file_html
from bokeh.layouts import column
from bokeh.models import Span
from bokeh.plotting import figure
from bokeh.resources import INLINE

from stratforge import RunSpec, run_backtest
from stratforge.futures import ContractChain, build_continuous
from stratforge.futures.rolls import volume_crossover
from stratforge.futures.specs import BUILTIN_SPECS
from stratforge.futures.synthetic import generate_chain

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "img"
sys.path.insert(0, str(ROOT))  # tests/ helpers: the same browser and server launchers
from tests.browser_helpers import chromium  # noqa: E402
from tests.server_helpers import free_port, server  # noqa: E402

WIDTH = 1000
COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"]


def _chain() -> ContractChain:
    spec = next(s for s in BUILTIN_SPECS if s.root == "ES")
    frames = generate_chain(spec, start="2023-01-01", end="2024-06-30", seed=4, carry=0.05)
    return ContractChain(spec, frames)


def _roll_lines(fig: figure, dates: pd.Series) -> None:
    for when in dates:
        fig.add_layout(
            Span(
                location=pd.Timestamp(when),
                dimension="height",
                line_dash="dashed",
                line_color="#888",
            )
        )


def chain_figure() -> figure:
    chain = _chain()
    series = build_continuous(chain, volume_crossover(chain), "none")
    fig = figure(
        title="ES contract months (thin) and the raw front series (thick); "
        "dashed: volume-crossover rolls",
        x_axis_type="datetime",
        width=WIDTH,
        height=330,
    )
    for i, (contract, frame) in enumerate(chain.frames.items()):
        fig.line(
            frame.index,
            frame["close"],
            color=COLOURS[i % len(COLOURS)],
            alpha=0.55,
            legend_label=str(contract),
        )
    fig.line(
        series.raw.index,
        series.raw["close"],
        color="black",
        line_width=2.5,
        legend_label="raw front",
    )
    _roll_lines(fig, series.rolls["date"])
    fig.legend.location = "top_left"
    fig.legend.ncols = 4
    fig.toolbar_location = None
    return fig


def adjustment_figure() -> figure:
    chain = _chain()
    rolls = volume_crossover(chain)
    fig = figure(
        title="The same rolls, three adjustments: none jumps at each roll; "
        "difference and ratio are continuous",
        x_axis_type="datetime",
        width=WIDTH,
        height=330,
    )
    for colour, adjustment in zip(COLOURS, ("none", "difference", "ratio"), strict=False):
        series = build_continuous(chain, rolls, adjustment)
        fig.line(
            series.frame.index,
            series.frame["close"],
            color=colour,
            line_width=2,
            legend_label=adjustment,
        )
    _roll_lines(fig, build_continuous(chain, rolls, "none").rolls["date"])
    fig.legend.location = "top_left"
    fig.toolbar_location = None
    return fig


def position_figure() -> column:
    spec = RunSpec.model_validate(
        {
            "data": {
                "source": "synthetic",
                "root": "ES",
                "args": {"bars": 400, "seed": 11},
                "roll": {"name": "volume"},
                "adjust": "difference",
            },
            "strategy": {"name": "sma_cross", "params": {"fast": 10, "slow": 40}},
            "sizer": {"name": "fixed", "params": {"stake": 2}},
            "cash": 500_000,
        }
    )
    result = run_backtest(spec)
    bars = result.prices[0]
    index = pd.to_datetime(bars.datetime)
    equity = pd.DataFrame(result.equity.model_dump())
    rolls = pd.DataFrame([r.model_dump() for r in result.rolls])
    price = figure(
        title="sma_cross on rolled ES: the adjusted series it sees, the real close of the "
        "contract held, and its rolls",
        x_axis_type="datetime",
        width=WIDTH,
        height=320,
    )
    price.line(index, bars.close, color=COLOURS[0], line_width=2, legend_label="adjusted")
    price.line(index, bars.raw_close, color="#777", legend_label="held contract, real")
    if not rolls.empty:
        when = pd.to_datetime(rolls["datetime"])
        price.scatter(
            when,
            rolls["exit_price"],
            marker="inverted_triangle",
            size=10,
            color=COLOURS[3],
            legend_label="roll: exit old",
        )
        price.scatter(
            when,
            rolls["entry_price"],
            marker="triangle",
            size=10,
            color=COLOURS[2],
            legend_label="roll: enter new",
        )
        _roll_lines(price, rolls["datetime"])
    price.legend.location = "top_left"
    position = figure(
        title="Contracts held: the position carries across each roll",
        x_axis_type="datetime",
        width=WIDTH,
        height=160,
        x_range=price.x_range,
    )
    position.step(
        pd.to_datetime(equity["datetime"]), equity["position"], mode="after", line_width=2
    )
    for fig in (price, position):
        fig.toolbar_location = None
    return column(price, position)


def photograph(browser: Any, layout: Any, name: str) -> None:
    html = Path(tempfile.mkdtemp()) / f"{name}.html"
    html.write_text(file_html(layout, INLINE, name), encoding="utf-8")
    page = browser.new_page(viewport={"width": WIDTH + 40, "height": 600}, device_scale_factor=1)
    page.goto(html.as_uri())
    page.wait_for_function(
        "() => window.Bokeh && Bokeh.documents.length && Bokeh.documents[0].is_idle"
    )
    page.wait_for_timeout(300)
    page.locator(".bk-Column, .bk-Figure").first.screenshot(path=str(OUT / f"{name}.png"))
    page.close()


def dashboard(browser: Any) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data, server(Path(data), port):
        body = {
            "strategy": {"name": "sma_cross", "params": {"fast": 20, "slow": 60}},
            "data": {"args": {"bars": 1500}},
            "sizer": {"name": "percent", "params": {"percent": 90}},
        }
        job = httpx.post(f"{base}/api/v1/backtests", json=body).json()
        search = {
            "base": {"strategy": {"name": "sma_cross"}, "data": {"args": {"bars": 800}}},
            "space": {
                "fast": {"kind": "int", "start": 5, "stop": 25, "step": 5},
                "slow": {"kind": "int", "start": 40, "stop": 100, "step": 20},
            },
        }
        httpx.post(f"{base}/api/v1/optimizations", json=search)
        time.sleep(8)
        page = browser.new_page(viewport={"width": 1200, "height": 760})
        page.goto(base + "/")
        page.locator("body[data-ready]").wait_for()
        page.screenshot(path=str(OUT / "dashboard-runs.png"))
        page.goto(f"{base}/new/backtest")
        page.locator("body[data-ready]").wait_for()
        page.screenshot(path=str(OUT / "dashboard-new-backtest.png"))
        page.set_viewport_size({"width": 1200, "height": 1100})
        page.goto(f"{base}/runs/backtests/{job['id']}")
        page.locator("body[data-ready]").wait_for()
        page.wait_for_timeout(500)
        page.screenshot(path=str(OUT / "dashboard-run.png"))
        page.close()


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        photograph(browser, chain_figure(), "futures-chain")
        photograph(browser, adjustment_figure(), "futures-adjustments")
        photograph(browser, position_figure(), "futures-position-rolls")
        dashboard(browser)
    for path in sorted(OUT.glob("*.png")):
        print(f"{path.relative_to(ROOT)}  {path.stat().st_size // 1024} kB")


if __name__ == "__main__":
    main()
