"""The documentation site builds cleanly, every page in docs/ is reachable from its nav, and
the first-screen Python snippets (README, docs quickstart) run as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def nav_pages(node: object) -> set[str]:
    if isinstance(node, str):
        return {node}
    if isinstance(node, dict):
        return set().union(*(nav_pages(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(nav_pages(v) for v in node)) if node else set()
    return set()


class _Loader(yaml.SafeLoader):
    """mkdocs.yml may hold !!python tags; the nav is all this test reads."""


_Loader.add_multi_constructor("", lambda loader, suffix, node: None)


def python_blocks(path: Path, heading: str) -> list[str]:
    """The ```python blocks of the section under *heading* (up to the next ``## ``)."""
    text = path.read_text(encoding="utf-8")
    assert f"\n{heading}\n" in text, f"{path.name} lost its {heading!r} section"
    section = text.split(f"\n{heading}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```python\n(.*?)^```", section, flags=re.S | re.M)


@pytest.mark.parametrize(
    ("page", "heading"),
    [("README.md", "## Python"), ("docs/index.md", "## Backtest a pandas DataFrame")],
)
def test_the_dataframe_snippet_runs(
    page: str, heading: str, capsys: pytest.CaptureFixture[str]
) -> None:
    blocks = python_blocks(ROOT / page, heading)
    assert blocks and "pd.DataFrame(" in blocks[0] and "run_backtest(" in blocks[0]
    for i, code in enumerate(blocks):
        exec(compile(code, f"{page}:{heading}:{i}", "exec"), {"__name__": "__snippet__"})
    printed = capsys.readouterr().out.split()
    assert len(printed) == 3 and int(printed[-1]) > 0  # metrics and a trade count


def test_every_docs_page_is_in_the_nav() -> None:
    config = yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=_Loader)
    pages = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")}
    assert pages == nav_pages(config["nav"])


@pytest.mark.slow
def test_site_builds_without_warnings(tmp_path: Path) -> None:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    log = done.stdout + done.stderr
    assert done.returncode == 0, log
    assert "WARNING" not in log, log
    reference = (tmp_path / "site" / "reference" / "results.html").read_text(encoding="utf-8")
    assert "risk_events" in reference  # mkdocstrings rendered the models and their fields
    assert (tmp_path / "site" / "index.html").is_file()
