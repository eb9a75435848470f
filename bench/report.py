"""Report build time, page size and browser render time for 2,500 / 250,000 / 1,000,000 bars.

    .venv/bin/python bench/report.py [--sizes 2500 250000 1000000]

Each size runs an SMA-cross backtest on synthetic bars (daily for 2,500, one-minute above),
then times: building the Bokeh layout from the stored result, writing the standalone HTML
(BokehJS inline), and opening it in headless Chromium until BokehJS reports the document
idle. Chromium is Debian's /usr/bin/chromium driven by Playwright.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from stratforge import RunSpec, run_backtest
from stratforge.core.results import RunResult
from stratforge.report import backtest_report, standalone_html

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' Chromium launcher
from tests.browser_helpers import RENDERED, chromium


def result_for(bars: int) -> RunResult:
    timeframe = "days" if bars <= 10_000 else "minutes"
    fast, slow = (20, 60) if timeframe == "days" else (200, 800)
    spec = RunSpec.model_validate(
        {
            "data": {"args": {"bars": bars, "timeframe": timeframe}},
            "strategy": {"name": "sma_cross", "params": {"fast": fast, "slow": slow}},
        }
    )
    return run_backtest(spec)


def render_seconds(path: Path) -> float:
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1300})
        started = time.perf_counter()
        page.goto(path.as_uri())
        page.wait_for_function(RENDERED, timeout=120_000)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2_500, 250_000, 1_000_000])
    args = parser.parse_args()
    print(f"{'bars':>10} {'trades':>7} {'build s':>8} {'html s':>7} {'MB':>6} {'render s':>9}")
    with tempfile.TemporaryDirectory() as scratch:
        for bars in args.sizes:
            stored = RunResult.model_validate_json(result_for(bars).to_json())  # as from storage
            started = time.perf_counter()
            layout = backtest_report(stored)
            built = time.perf_counter() - started
            page = standalone_html(layout, title=f"{bars} bars")
            written = time.perf_counter() - started - built
            path = Path(scratch) / f"report-{bars}.html"
            path.write_text(page, encoding="utf-8")
            size = path.stat().st_size / 1e6
            render = render_seconds(path)
            print(
                f"{bars:>10,} {len(stored.trades):>7} {built:>8.2f} {written:>7.2f} {size:>6.2f}"
                f" {render:>9.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
