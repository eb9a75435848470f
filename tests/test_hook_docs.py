"""Every hook in hookspecs.py must be documented in docs/plugin_hooks.md."""

from __future__ import annotations

import inspect
from pathlib import Path

from stratforge.plugin import hookspecs

DOC = Path(__file__).resolve().parents[1] / "docs" / "plugin_hooks.md"


def hook_names() -> list[str]:
    return [
        name
        for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(fn, "stratforge_spec")
    ]


def test_there_are_hooks() -> None:
    assert {"register_strategies", "configure_cerebro"} <= set(hook_names())


def test_every_hook_has_a_documented_section() -> None:
    text = DOC.read_text(encoding="utf-8")
    for name in hook_names():
        params = ", ".join(inspect.signature(getattr(hookspecs, name)).parameters)
        heading = f"### `{name}({params})`"
        assert heading in text, f"docs/plugin_hooks.md lacks the section {heading!r}"
