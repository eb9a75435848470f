"""Whole results as files named by their SHA-256, under ``<data_dir>/results``: backtests in
their compact binary form (``<digest>.bin``, see ``core.result_codec``), searches and
walk-forwards (and backtests stored before the binary form) as gzipped JSON
(``<digest>.json.gz``).

Content addressing makes writes idempotent (a re-run that produces the same result writes
the same file) and lets a report render from storage without re-running anything.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

_SHA = re.compile(r"^[0-9a-f]{64}$")
_TEXT = ".json.gz"
_BINARY = ".bin"


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, digest: str, suffix: str = _TEXT) -> Path:
        if not _SHA.match(digest):  # never build a path from anything but a hash
            raise ValueError(f"not a SHA-256 digest: {digest!r}")
        return self.root / digest[:2] / f"{digest}{suffix}"

    def put(self, text: str) -> str:
        """Store a JSON document (gzipped); returns its digest."""
        data = text.encode("utf-8")
        digest = hashlib.sha256(data).hexdigest()
        self._write(self.path(digest), lambda: gzip.compress(data, compresslevel=5))
        return digest

    def put_bytes(self, data: bytes) -> str:
        """Store binary content as it is (it compresses itself); returns its digest."""
        digest = hashlib.sha256(data).hexdigest()
        self._write(self.path(digest, _BINARY), lambda: data)
        return digest

    def get(self, digest: str) -> str:
        """A JSON document stored by ``put``."""
        return gzip.decompress(self.path(digest).read_bytes()).decode("utf-8")

    def get_bytes(self, digest: str) -> bytes | None:
        """Binary content stored by ``put_bytes``, or None when *digest* is a JSON document."""
        path = self.path(digest, _BINARY)
        return path.read_bytes() if path.exists() else None

    def delete(self, digest: str) -> None:
        self.path(digest).unlink(missing_ok=True)
        self.path(digest, _BINARY).unlink(missing_ok=True)

    @staticmethod
    def _write(target: Path, payload: Callable[[], bytes]) -> None:
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as handle:
            handle.write(payload())
            temp = Path(handle.name)
        os.replace(temp, target)
