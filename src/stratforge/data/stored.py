"""Datasets uploaded to the server, kept as canonical Parquet files in the data directory.

Ids are ``ds_`` plus 16 hex digits of the upload's SHA-256; a path is only ever built from an
id that matches that pattern, so nothing a client sends reaches the filesystem as a path."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

_ID = re.compile(r"^ds_[0-9a-f]{16}$")


@dataclass(frozen=True)
class DatasetStore:
    """Where uploaded datasets are kept: handed to the ``dataset`` source by the engine (from
    the run's settings), never by the user, so a spec cannot point it elsewhere."""

    data_dir: Path
    engine_supplied: ClassVar[bool] = True

    def path(self, dataset_id: str) -> Path:
        return stored_dataset_path(self.data_dir, dataset_id)


def dataset_id_for(sha256: str) -> str:
    return f"ds_{sha256[:16]}"


def stored_dataset_path(data_dir: Path, dataset_id: str, *, must_exist: bool = True) -> Path:
    if not _ID.match(dataset_id):
        raise ValueError(f"{dataset_id!r} is not a dataset id (ds_ and 16 hex digits)")
    path = data_dir / "datasets" / f"{dataset_id}.parquet"
    if must_exist and not path.is_file():
        raise FileNotFoundError(f"unknown dataset {dataset_id!r}; see GET /api/v1/datasets")
    return path
