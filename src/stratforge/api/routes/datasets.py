"""/datasets: CSV/Parquet uploads, validated with the CLI's rules, stored by content hash."""

from __future__ import annotations

import asyncio
import re
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Query, Response, UploadFile

from stratforge.api.deps import SessionDep, StateDep
from stratforge.api.routes._jobs import MAX_OFFSET as _MAX_OFFSET
from stratforge.api.schemas import DatasetOut, aware
from stratforge.data import DataValidationError, validate_file
from stratforge.store import datasets, jobs
from stratforge.store.tables import Dataset

router = APIRouter(prefix="/datasets", tags=["datasets"])
SUFFIXES = {".csv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet"}
CHUNK = 1 << 20


def dataset_out(dataset: Dataset) -> DatasetOut:
    fields = dataset.model_dump()
    fields["first"] = dataset.first.isoformat() if dataset.first else None
    fields["last"] = dataset.last.isoformat() if dataset.last else None
    fields["created_at"] = aware(dataset.created_at)
    return DatasetOut(**fields, use_in_spec={"source": "dataset", "args": {"id": dataset.id}})


@router.post("", status_code=201, response_model=DatasetOut)
async def upload_dataset(
    state: StateDep,
    session: SessionDep,
    response: Response,
    file: Annotated[
        UploadFile, File(description="CSV (date/time, open, high, low, close, volume) or Parquet")
    ],
    name: Annotated[str | None, Form(max_length=200)] = None,
    datetime_column: Annotated[str, Form(max_length=100)] = "datetime",
) -> DatasetOut:
    """Upload bars; bad rows are a 422 listing row, column and problem."""
    filename = Path(file.filename or "upload.csv").name  # never a client-chosen directory
    suffix = Path(filename).suffix.lower()
    if suffix not in SUFFIXES:
        raise HTTPException(
            422,
            detail=[
                {
                    "loc": ["body", "file"],
                    "msg": f"{filename!r}: use a .csv or .parquet file",
                    "type": "value_error",
                }
            ],
        )
    raw = await _read_limited(file, int(state.settings.max_upload_mb * (1 << 20)))
    label = name or re.sub(r"\.[^.]+$", "", filename)
    # Parsing, validating and writing a 100 MB file takes seconds: off the event loop, so
    # /health and every other request keep answering meanwhile.
    dataset, created = await asyncio.to_thread(
        _validate_and_store, state, session, raw, filename, label, datetime_column
    )
    if not created:
        response.status_code = 200
    return dataset_out(dataset)


def _validate_and_store(
    state: Any, session: Any, raw: bytes, filename: str, label: str, datetime_column: str
) -> tuple[Dataset, bool]:
    suffix = Path(filename).suffix.lower()
    with tempfile.TemporaryDirectory() as temp:
        path = Path(temp) / f"upload{suffix}"
        path.write_bytes(raw)
        try:
            checked = validate_file(path, datetime_column=datetime_column)
        except DataValidationError as exc:  # named after the upload, never the temp file
            raise DataValidationError(
                filename, exc.problems, exc.total, exc.detail, exc.hint, exc.missing_columns
            ) from None
        except (ValueError, OSError) as exc:
            message = str(exc).replace(str(path), filename).replace(temp, "")
            raise HTTPException(
                422,
                detail=[{"loc": ["body", "file"], "msg": message[:500], "type": "value_error"}],
            ) from None
    return datasets.save_dataset(
        session,
        data_dir=state.settings.data_dir,
        frame=checked.frame,
        raw=raw,
        name=label,
        filename=filename,
        format=SUFFIXES[suffix],
    )


async def _read_limited(file: UploadFile, limit: int) -> bytes:
    parts, size = [], 0
    while chunk := await file.read(CHUNK):
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, detail=f"upload larger than the limit of {limit >> 20} MB")
        parts.append(chunk)
    return b"".join(parts)


@router.get("", response_model=list[DatasetOut])
def list_all(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=_MAX_OFFSET)] = 0,
) -> list[DatasetOut]:
    return [dataset_out(d) for d in datasets.list_datasets(session, limit=limit, offset=offset)]


@router.get("/{dataset_id}", response_model=DatasetOut)
def get_one(session: SessionDep, dataset_id: str) -> DatasetOut:
    dataset = datasets.get_dataset(session, dataset_id=dataset_id)
    if dataset is None:
        raise HTTPException(404, detail=f"no dataset {dataset_id!r}")
    return dataset_out(dataset)


@router.delete("/{dataset_id}", status_code=204)
def delete_one(state: StateDep, session: SessionDep, dataset_id: str) -> Response:
    """Delete a dataset; 409 while a queued or running job reads it."""
    dataset = datasets.get_dataset(session, dataset_id=dataset_id)
    if dataset is None:
        raise HTTPException(404, detail=f"no dataset {dataset_id!r}")
    users = jobs.active_dataset_users(session, dataset_id=dataset_id)
    if users:
        raise HTTPException(
            409, detail=f"{dataset_id} is used by queued or running jobs: {', '.join(users)}"
        )
    datasets.delete_dataset(session, data_dir=state.settings.data_dir, dataset=dataset)
    return Response(status_code=204)
