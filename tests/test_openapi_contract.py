"""The committed REST contract (api/openapi.json, api/examples/*.json) matches the app.

A change to the HTTP surface must arrive with its diff of api/openapi.json, so reviewers and
client authors see it; the example bodies must be the package's own constants, valid for
their request models and accepted by a running app."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from stratforge.api import create_app
from stratforge.api.contract import (
    EXAMPLES,
    EXAMPLES_DIR,
    SCHEMA_FILE,
    Example,
    as_text,
    build_schema,
    contract_settings,
)

ROOT = Path(__file__).resolve().parents[1] / "api"
REGENERATE = (
    "regenerate with `make openapi` (.venv/bin/python -m stratforge.api.contract) "
    "and commit the diff of api/"
)


def _differences(committed: Any, current: Any, where: str = "") -> Iterator[str]:
    """JSON paths where two documents differ (the first few are enough to see why)."""
    if isinstance(committed, dict) and isinstance(current, dict):
        for key in sorted(set(committed) | set(current), key=str):
            if key not in current:
                yield f"{where}/{key}: removed"
            elif key not in committed:
                yield f"{where}/{key}: added"
            else:
                yield from _differences(committed[key], current[key], f"{where}/{key}")
    elif committed != current:
        yield f"{where or '/'}: changed"


def test_the_committed_schema_is_the_apps() -> None:
    path = ROOT / SCHEMA_FILE
    assert path.is_file(), f"api/{SCHEMA_FILE} is missing; {REGENERATE}"
    text = path.read_text(encoding="utf-8")
    current = build_schema()
    changes = list(_differences(json.loads(text), current))[:20]
    assert not changes, f"the app's OpenAPI schema drifted from api/{SCHEMA_FILE}: " + (
        "; ".join(changes) + f". If the change is meant, {REGENERATE}"
    )
    assert text == as_text(current), f"api/{SCHEMA_FILE} is not formatted as written; {REGENERATE}"


def _committed(example: Example) -> Any:
    path = ROOT / EXAMPLES_DIR / f"{example.name}.json"
    assert path.is_file(), f"api/{EXAMPLES_DIR}/{example.name}.json is missing; {REGENERATE}"
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.name)
def test_an_example_file_is_the_package_constant_and_valid(example: Example) -> None:
    body = _committed(example)
    assert body == example.body, f"api/{EXAMPLES_DIR}/{example.name}.json differs; {REGENERATE}"
    example.model.model_validate(body)  # raises, naming the field, when it is not


def test_every_example_file_has_a_constant() -> None:
    files = {p.stem for p in (ROOT / EXAMPLES_DIR).glob("*.json")}
    assert files == {e.name for e in EXAMPLES}, f"stray or missing examples; {REGENERATE}"


def test_the_examples_are_accepted_by_a_live_app(tmp_path: Path) -> None:
    app = create_app(contract_settings(tmp_path))  # jobs stay queued: submission is the check
    with TestClient(app, base_url="http://127.0.0.1") as client:
        for example in EXAMPLES:
            response = client.post(f"/api/v1/{example.kind.resource}", json=_committed(example))
            assert response.status_code == 202, (example.name, response.text)
            assert response.json()["kind"] == example.kind.name


def test_the_examples_are_the_ones_docs_shows() -> None:
    """/docs' example bodies are these constants (so the files show what /docs shows)."""
    shown = []
    for operation in build_schema()["paths"].values():
        body = operation.get("post", {}).get("requestBody", {})
        for media in body.get("content", {}).values():
            shown.extend(e["value"] for e in media.get("examples", {}).values())
    assert all(any(e.body == value for value in shown) for e in EXAMPLES)
