"""Interactive Bokeh 3 reports built from stored results, with no web code.

Builders return Bokeh layouts; ``standalone_html``/``write_html`` make offline pages,
``embed_json`` makes ``json_item`` JSON and ``show`` displays in Jupyter::

    from stratforge.report import backtest_report, write_html
    write_html(backtest_report(result, theme="dark"), "run.html", title="My run", theme="dark")

Names are imported on first use so that loading plugins (which registers the built-in
report panels) does not import Bokeh.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "backtest_report": "stratforge.report.backtest",
    "optimization_report": "stratforge.report.optimization",
    "walkforward_report": "stratforge.report.optimization",
    "comparison_report": "stratforge.report.compare",
    "standalone_html": "stratforge.report.output",
    "write_html": "stratforge.report.output",
    "embed_json": "stratforge.report.output",
    "show": "stratforge.report.output",
    "ReportSeries": "stratforge.report.series",
    "THEMES": "stratforge.report.theme",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'stratforge.report' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
