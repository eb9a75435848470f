"""Store functions for uploaded datasets: validated, stored once by content hash."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
from sqlmodel import Session, col, select

from stratforge.data.stored import dataset_id_for, stored_dataset_path
from stratforge.store.tables import Dataset


def save_dataset(
    session: Session,
    *,
    data_dir: Path,
    frame: pd.DataFrame,
    raw: bytes,
    name: str,
    filename: str,
    format: str,
) -> tuple[Dataset, bool]:
    """Store a validated canonical frame; the same file uploaded again is the same dataset."""
    digest = hashlib.sha256(raw).hexdigest()
    existing = session.exec(select(Dataset).where(col(Dataset.sha256) == digest)).first()
    if existing is not None:
        return existing, False
    dataset_id = dataset_id_for(digest)
    path = stored_dataset_path(data_dir, dataset_id, must_exist=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path)
    index = pd.DatetimeIndex(frame.index)
    dataset = Dataset(
        id=dataset_id,
        name=name,
        filename=filename,
        sha256=digest,
        format=format,
        rows=len(frame),
        first=index[0].to_pydatetime() if len(index) else None,
        last=index[-1].to_pydatetime() if len(index) else None,
        size_bytes=len(raw),
    )
    session.add(dataset)
    session.commit()
    return dataset, True


def get_dataset(session: Session, *, dataset_id: str) -> Dataset | None:
    return session.get(Dataset, dataset_id)


def list_datasets(session: Session, *, limit: int = 100, offset: int = 0) -> list[Dataset]:
    query = select(Dataset).order_by(col(Dataset.created_at).desc()).offset(offset).limit(limit)
    return list(session.exec(query).all())


def delete_dataset(session: Session, *, data_dir: Path, dataset: Dataset) -> None:
    stored_dataset_path(data_dir, dataset.id, must_exist=False).unlink(missing_ok=True)
    session.delete(dataset)
    session.commit()
