"""docs/api.md's curl walkthrough: every endpoint has an example, and the examples run, in
order, against a live ``stratforge serve`` (so the guide cannot drift from the API)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stratforge.api import create_app
from stratforge.core.settings import Settings
from tests.server_helpers import free_port, server

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "api.md"
DOCUMENTED_BASE = "http://127.0.0.1:8000"


def walkthrough() -> str:
    text = GUIDE.read_text(encoding="utf-8")
    section = text.split("<!-- curl-walkthrough -->")[1].split("<!-- /curl-walkthrough -->")[0]
    return "\n".join(re.findall(r"```bash\n(.*?)```", section, flags=re.S))


def test_every_endpoint_has_a_curl_example(tmp_path: Path) -> None:
    paths = create_app(Settings(data_dir=tmp_path, job_executor="serial")).openapi()["paths"]
    script = walkthrough()
    missing = []
    for path, operations in paths.items():
        pattern = re.escape(path.removeprefix("/api/v1"))
        pattern = re.sub(r"\\\{\w+\\\}", r"[^/\\s?\"]+", pattern) + r"(?=[\s?\"']|$)"
        for method in operations:
            calls = [
                line
                for line in script.splitlines()
                if re.search(r"\$API" + pattern, line)
                and ((method == "get") == ("-X " not in line and "-F " not in line))
            ]
            if method != "get":
                calls = [c for c in calls if f"-X {method.upper()}" in c or "-F " in c]
            if not calls:
                missing.append(f"{method.upper()} {path}")
    # POSTs of jobs span several lines: their body follows the "-X POST $API/..." line.
    assert missing == [], missing


@pytest.mark.slow
def test_the_curl_walkthrough_runs(tmp_path: Path) -> None:
    for tool in ("curl", "jq"):
        assert shutil.which(tool), f"the REST guide's examples need {tool}: apt-get install {tool}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    script = walkthrough().replace(DOCUMENTED_BASE, base)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    with server(tmp_path / "data", port):
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert '"status":"ok"' in out.replace(" ", "") or '"status": "ok"' in out
    assert "high" in out and '"row"' in out  # the bad upload's row-level problem
    assert "did you mean 'fast'" in out
    assert "idempotent-replayed: true" in out.lower()
    assert (tmp_path / "trades.csv").read_text().startswith("ref,")
    assert "Bokeh" in (tmp_path / "report.html").read_text()
    assert out.count("204") >= 5
