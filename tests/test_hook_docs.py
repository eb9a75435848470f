"""docs/plugin_hooks.md is checked against the hook specifications (the modules listed in
``stratforge.core.plugins.HOOKSPECS``): a section per hook with its real
signature, no section for a hook that is gone, and each section opening with the spec's own
docstring."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from stratforge.core.plugins import HOOKSPECS

DOC = Path(__file__).resolve().parents[1] / "docs" / "plugin_hooks.md"


SPECS = {
    name: fn
    for module in HOOKSPECS
    for name, fn in inspect.getmembers(module, inspect.isfunction)
    if hasattr(fn, "stratforge_spec")
}


def hook_names() -> list[str]:
    return sorted(SPECS)


def test_there_are_hooks() -> None:
    assert {"register_strategies", "configure_cerebro"} <= set(hook_names())


def test_every_hook_has_a_documented_section() -> None:
    text = DOC.read_text(encoding="utf-8")
    for name in hook_names():
        params = ", ".join(inspect.signature(SPECS[name]).parameters)
        heading = f"### `{name}({params})`"
        assert heading in text, f"docs/plugin_hooks.md lacks the section {heading!r}"


def sections() -> dict[str, str]:
    """Hook sections of the guide: name -> text up to the next heading."""
    text = DOC.read_text(encoding="utf-8")
    found = re.findall(r"^### `(\w+)\(([^)]*)\)`\n(.*?)(?=^#)", text, flags=re.M | re.S)
    return {name: " ".join(body.split()) for name, _, body in found}


def test_no_section_documents_a_hook_that_does_not_exist() -> None:
    assert set(sections()) == set(hook_names())


def test_each_section_opens_with_its_hookspec_docstring() -> None:
    """The spec's docstring is the source; the guide's section starts with it, so the two
    cannot say different things."""
    documented = sections()
    for name in hook_names():
        doc = inspect.getdoc(SPECS[name]) or ""
        summary = " ".join(doc.replace("``", "`").split())
        assert documented[name].startswith(summary), (name, summary, documented[name][:200])
