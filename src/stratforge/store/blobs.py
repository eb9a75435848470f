"""Whole results as gzipped JSON files named by their SHA-256, under ``<data_dir>/results``.

Content addressing makes writes idempotent (a re-run that produces the same result writes
the same file) and lets a report render from storage without re-running anything.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import tempfile
from pathlib import Path

_SHA = re.compile(r"^[0-9a-f]{64}$")


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, digest: str) -> Path:
        if not _SHA.match(digest):  # never build a path from anything but a hash
            raise ValueError(f"not a SHA-256 digest: {digest!r}")
        return self.root / digest[:2] / f"{digest}.json.gz"

    def put(self, text: str) -> str:
        data = text.encode("utf-8")
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.exists():
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as handle:
            handle.write(gzip.compress(data, compresslevel=5))
            temp = Path(handle.name)
        os.replace(temp, target)
        return digest

    def get(self, digest: str) -> str:
        return gzip.decompress(self.path(digest).read_bytes()).decode("utf-8")

    def delete(self, digest: str) -> None:
        self.path(digest).unlink(missing_ok=True)
