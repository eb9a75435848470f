"""schemathesis against the app's own OpenAPI schema: no server errors, no schema violations."""

from __future__ import annotations

import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from stratforge.api import create_app
from stratforge.core.settings import Settings

APP = create_app(
    Settings(
        data_dir=Path(tempfile.mkdtemp(prefix="sfschema-")),
        job_executor="serial",
        run_jobs=False,  # jobs stay queued: the check is about the HTTP surface
        max_upload_mb=0.05,
    )
)
LOCAL = {"Host": "127.0.0.1"}  # a keyless server answers loopback names only
schema = schemathesis.openapi.from_asgi("/openapi.json", APP, headers=LOCAL)


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,  # a fixed seed: the same cases on every run
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors_and_responses_match_the_schema(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=[not_a_server_error, response_schema_conformance], headers=LOCAL)
