"""Datasets uploaded to the server, kept as canonical Parquet files in the data directory.

Ids are ``ds_`` plus 16 hex digits of the upload's SHA-256; a path is only ever built from an
id that matches that pattern, so nothing a client sends reaches the filesystem as a path."""

from __future__ import annotations

import re
from pathlib import Path

_ID = re.compile(r"^ds_[0-9a-f]{16}$")


def dataset_id_for(sha256: str) -> str:
    return f"ds_{sha256[:16]}"


def stored_dataset_path(data_dir: Path, dataset_id: str, *, must_exist: bool = True) -> Path:
    if not _ID.match(dataset_id):
        raise ValueError(f"{dataset_id!r} is not a dataset id (ds_ and 16 hex digits)")
    path = data_dir / "datasets" / f"{dataset_id}.parquet"
    if must_exist and not path.is_file():
        raise FileNotFoundError(f"unknown dataset {dataset_id!r}; see GET /api/v1/datasets")
    return path
