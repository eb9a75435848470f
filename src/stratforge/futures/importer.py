"""Import a directory of per-contract files (CSV or Parquet) as a ContractChain.

The contract of each file comes from a column (``contract_column``) or from its name:
``ESZ23.csv``, ``ES 2023-12.parquet``, vendor names with ``YYYYMM`` such as
``es_trade_201312.csv`` or pysystemtrade's ``SP500_20231200.csv``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from stratforge.data.loaders import load_csv, load_parquet
from stratforge.data.validation import validate_frame
from stratforge.futures.chain import ContractChain
from stratforge.futures.contracts import ContractCodeError, ContractId, ContractSpec

SUFFIXES = {".csv": "csv", ".txt": "csv", ".gz": "csv", ".parquet": "parquet", ".pq": "parquet"}
_YEAR_MONTH = re.compile(r"(?<!\d)(?P<year>(?:19|20)\d{2})(?P<month>0[1-9]|1[0-2])(?:00)?(?!\d)")


def contract_from_name(name: str, root: str) -> ContractId:
    """The contract a file name stands for; raises ``ContractCodeError`` naming the file."""
    stem = name.split(".")[0]
    try:
        parsed = ContractId.parse(stem)
        if parsed.root == root.upper():
            return parsed
    except ContractCodeError:
        pass
    match = _YEAR_MONTH.search(stem)
    if match:
        return ContractId(root, int(match["year"]), int(match["month"]))
    raise ContractCodeError(
        f"cannot tell the contract of {name!r}: name files like {root}Z23.csv, "
        f"'{root} 2023-12.csv' or {root.lower()}_202312.csv, or set contract_column"
    )


def load_contract_dir(
    path: str | Path,
    spec: ContractSpec,
    *,
    pattern: str = "*",
    contract_column: str | None = None,
    on_bad_rows: Literal["error", "drop"] = "error",
    **loader_args: Any,
) -> ContractChain:
    """Every matching CSV/Parquet file under *path* as contract frames of *spec*'s root."""
    directory = Path(path)
    if not directory.is_dir():
        raise FileNotFoundError(f"contracts directory {str(directory)!r} does not exist")
    files = sorted(
        p for p in directory.glob(pattern) if p.is_file() and p.suffix.lower() in SUFFIXES
    )
    if not files:
        raise FileNotFoundError(
            f"no CSV or Parquet files match {pattern!r} in {directory}; "
            f"supported suffixes: {', '.join(sorted(SUFFIXES))}"
        )
    frames: dict[ContractId, pd.DataFrame] = {}
    for file in files:
        for contract, frame in _read(file, spec, contract_column, on_bad_rows, loader_args):
            if contract in frames:
                raise ValueError(f"contract {contract} appears twice (again in {file})")
            frames[contract] = frame
    return ContractChain(spec, frames)


def _read(
    file: Path,
    spec: ContractSpec,
    contract_column: str | None,
    on_bad_rows: Literal["error", "drop"],
    loader_args: dict[str, Any],
) -> list[tuple[ContractId, pd.DataFrame]]:
    if contract_column is None:
        contract = contract_from_name(file.name, spec.root)
        if SUFFIXES[file.suffix.lower()] == "parquet":
            csv_only = ("date_format", "header", "names")
            parquet_args = {k: v for k, v in loader_args.items() if k not in csv_only}
            return [(contract, load_parquet(file, on_bad_rows=on_bad_rows, **parquet_args))]
        return [(contract, load_csv(file, on_bad_rows=on_bad_rows, **loader_args))]
    raw = _read_table(file, loader_args)
    if contract_column not in raw.columns:
        raise ValueError(
            f"{file}: no column {contract_column!r}; columns are {', '.join(map(str, raw.columns))}"
        )
    parts = []
    for code, rows in raw.groupby(contract_column, sort=True):
        try:
            contract = ContractId.parse(str(code))
        except ContractCodeError as exc:
            raise ContractCodeError(f"{file}: {exc}") from None
        if contract.root != spec.root:
            raise ValueError(
                f"{file}: contract {contract} in {contract_column!r} is not {spec.root}"
            )
        first = 2 if loader_args.get("header", True) else 1
        checked = validate_frame(
            rows.drop(columns=[contract_column]),
            origin=f"{file} [{code}]",
            on_bad_rows=on_bad_rows,
            first_row_number=first,
            row_numbers=(rows.index.to_numpy() + first),
            **{k: v for k, v in loader_args.items() if k not in ("header", "names")},
        )
        parts.append((contract, checked.frame))
    return parts


def _read_table(file: Path, loader_args: dict[str, Any]) -> pd.DataFrame:
    """A file with a contract column as read; a headerless CSV's columns are its ``names``
    or positions (``"0"``, ``"1"``, ...)."""
    if file.suffix.lower() in (".parquet", ".pq"):
        return pd.read_parquet(file)
    names = loader_args.get("names")
    if loader_args.get("header", True):
        return pd.read_csv(file) if names is None else pd.read_csv(file, header=0, names=names)
    raw = pd.read_csv(file, header=None, names=names, index_col=False)
    return raw if names is not None else raw.rename(columns=str)
