"""Exception handlers: every bad request gets a status and a detail naming the field."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
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
    location = [_short(part) for part in location]
    return [{"loc": location, "msg": _short(exc.message, 2000), "type": "value_error"}]


MAX_ECHO = 100
"""Longest piece of a request (a field name in ``loc``) an error repeats back."""


def validation_detail(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """pydantic's errors without the ``input`` it would echo (a 50 MB string, a file's
    worth of text): each names the field, says what is wrong, and nothing more."""
    detail = []
    for error in errors[:50]:
        loc = [
            part if isinstance(part, int) else _short(str(part)) for part in error.get("loc", ())
        ]
        detail.append(
            {"loc": loc, "msg": _short(str(error.get("msg", "")), 300), "type": error.get("type")}
        )
    return detail


def _short(text: str, limit: int = MAX_ECHO) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": validation_detail(exc.errors())})

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
