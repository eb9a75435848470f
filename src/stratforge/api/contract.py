"""The REST contract as files: ``api/openapi.json`` and ``api/examples/<name>.json``.

Clients, reviewers and code generators read the contract without running a server, and a
change to the HTTP surface shows up in review as a diff of a committed file instead of
passing unnoticed (tests/test_openapi_contract.py fails until the files are regenerated).
The request examples stay constants of this package (schemas.py), so an installed wheel
still shows them in /docs; the files are their copies for people and tools outside Python.

Regenerate with ``make openapi`` or ``python -m stratforge.api.contract [--out api]``;
``--check`` only reports whether the files are current (exit status 1 when not).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from stratforge.api import create_app
from stratforge.api.schemas import (
    BACKTEST_EXAMPLE,
    FUTURES_EXAMPLE,
    OPTIMIZATION_EXAMPLE,
    WALKFORWARD_EXAMPLE,
)
from stratforge.core.optimize import OptimizeSpec
from stratforge.core.settings import Settings
from stratforge.core.spec import RunSpec
from stratforge.core.walkforward import WalkForwardSpec
from stratforge.store.kinds import BACKTEST, OPTIMIZE, WALKFORWARD, JobKind

SCHEMA_FILE = "openapi.json"
EXAMPLES_DIR = "examples"


@dataclass(frozen=True)
class Example:
    """A request body shown in /docs, the model that validates it and where it is posted."""

    name: str
    """The file's stem: ``examples/<name>.json``."""
    body: dict[str, Any]
    model: type[BaseModel]
    kind: JobKind
    """The job resource that accepts it: ``POST /api/v1/<kind.resource>``."""


EXAMPLES: tuple[Example, ...] = (
    Example("backtest", BACKTEST_EXAMPLE, RunSpec, BACKTEST),
    Example("futures_backtest", FUTURES_EXAMPLE, RunSpec, BACKTEST),
    Example("optimization", OPTIMIZATION_EXAMPLE, OptimizeSpec, OPTIMIZE),
    Example("walkforward", WALKFORWARD_EXAMPLE, WalkForwardSpec, WALKFORWARD),
)


def contract_settings(data_dir: Path) -> Settings:
    """Settings that make the schema the same on every machine: built-in plugins only, no
    database URL, key or origins from the environment, and no jobs run."""
    return Settings(
        data_dir=data_dir,
        database_url=None,
        api_key=None,
        cors_origins=[],
        plugins_dirs=[],
        blocked_plugins=[],
        disable_plugin_autoload=True,
        job_executor="serial",
        run_jobs=False,
    )


def build_schema() -> dict[str, Any]:
    """The OpenAPI document of ``create_app`` on a throwaway data directory."""
    with tempfile.TemporaryDirectory(prefix="stratforge-contract-") as temp:
        app = create_app(contract_settings(Path(temp)))
        try:
            return app.openapi()
        finally:
            app.state.stratforge.engine.dispose()  # release the SQLite file before cleanup


def as_text(document: Any) -> str:
    """How contract files are written: pretty, sorted keys (diffs stay small), newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def expected_files() -> dict[str, str]:
    """Every contract file, by path relative to the ``api/`` folder, with its content."""
    files = {SCHEMA_FILE: as_text(build_schema())}
    files.update({f"{EXAMPLES_DIR}/{e.name}.json": as_text(e.body) for e in EXAMPLES})
    return files


def stale_files(root: Path, files: dict[str, str]) -> list[str]:
    """The relative paths under *root* that are missing or differ from *files*."""
    stale = []
    for relative, content in files.items():
        path = root / relative
        if not path.is_file() or path.read_text(encoding="utf-8") != content:
            stale.append(relative)
    return stale


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stratforge.api.contract", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("api"), help="default: ./api")
    parser.add_argument("--check", action="store_true", help="report stale files, write none")
    args = parser.parse_args(argv)
    files = expected_files()
    stale = stale_files(args.out, files)
    if args.check:
        for relative in stale:
            print(f"stale: {args.out / relative}", file=sys.stderr)
        return 1 if stale else 0
    for relative in stale:
        path = args.out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[relative], encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
