"""Checks shared by the report tests: embedded data is finite JSON, renders are stable."""

from __future__ import annotations

import base64
import gzip
import json
import re
from typing import Any

import numpy as np

from stratforge.report.output import embed_json

_IDS = re.compile(r"\bp\d{3,}\b|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def embedded_arrays(node: Any) -> list[np.ndarray]:
    """Every binary array Bokeh embedded in a document, decoded."""
    found: list[np.ndarray] = []
    if isinstance(node, dict):
        if node.get("type") == "ndarray" and isinstance(node.get("array"), dict):
            raw = base64.b64decode(node["array"]["data"])
            if raw[:2] == b"\x1f\x8b":  # Bokeh gzips large buffers
                raw = gzip.decompress(raw)
            found.append(np.frombuffer(raw, dtype=node["dtype"]))
        for value in node.values():
            found.extend(embedded_arrays(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(embedded_arrays(value))
    return found


def source_data(node: Any) -> list[Any]:
    """The ``data`` of every ColumnDataSource in a serialised document."""
    found: list[Any] = []
    if isinstance(node, dict):
        if node.get("name") == "ColumnDataSource":
            found.append(node.get("attributes", {}).get("data"))
        for value in node.values():
            found.extend(source_data(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(source_data(value))
    return found


def assert_finite_json(layout: Any) -> dict[str, Any]:
    """The json_item of *layout* is strict JSON, and no number in any data source is NaN or
    infinite (Bokeh's own tool defaults, such as an unset zoom box, are not data)."""
    item = embed_json(layout)
    json.dumps(item, allow_nan=False)  # raises on a bare NaN/Infinity
    datas = source_data(item)
    assert datas
    for data in datas:
        text = json.dumps(data).lower()
        assert '"nan"' not in text and "infinity" not in text
        for array in embedded_arrays(data):
            if array.dtype.kind == "f":
                assert np.isfinite(array).all()
    return item


def normalised(html_or_json: str) -> str:
    """A rendering with Bokeh's generated element ids replaced."""
    return _IDS.sub("ID", html_or_json)
