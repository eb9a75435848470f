"""Exception handlers: every bad request gets a status and a detail naming the field."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from stratforge.core.errors import SpecError
from stratforge.data import DataValidationError
from stratforge.store.jobs import IdempotencyConflict, InvalidTransition


def spec_error_detail(
    exc: SpecError, prefix: tuple[str, ...] = ("body",)
) -> list[dict[str, object]]:
    location = [
        *prefix,
        *(part for part in exc.field.replace("]", "").replace("[", ".").split(".")),
    ]
    return [{"loc": location, "msg": exc.message, "type": "value_error"}]


def install(app: FastAPI) -> None:
    @app.exception_handler(SpecError)
    async def _spec(_request: Request, exc: SpecError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": spec_error_detail(exc)})

    @app.exception_handler(DataValidationError)
    async def _data(_request: Request, exc: DataValidationError) -> JSONResponse:
        problems = [
            {"row": p.row, "column": p.column, "msg": p.message} for p in exc.problems[:100]
        ]
        return JSONResponse(
            status_code=422,
            content={
                "detail": [
                    {
                        "loc": ["body", "file"],
                        "msg": str(exc),
                        "type": "data_error",
                        "problems": problems,
                    }
                ]
            },
        )

    @app.exception_handler(IdempotencyConflict)
    async def _conflict(_request: Request, exc: IdempotencyConflict) -> JSONResponse:
        return JSONResponse(status_code=409, content={"detail": str(exc), "job": exc.job_id})

    @app.exception_handler(InvalidTransition)
    async def _transition(_request: Request, exc: InvalidTransition) -> JSONResponse:
        return JSONResponse(status_code=409, content={"detail": str(exc)})
