"""Content keys of runs, for the result cache: a hash of everything that decides a result.

A backtest's result is a function of its resolved spec (as it will run: every source named),
the bars it loaded, the code of the plugins it used and stratforge's own engine code. The
key hashes exactly those, so an identical run can be served from a stored one and anything
that could change the result (an edited strategy file, new bars under the same dataset
name, an upgrade) gives a new key. Pure: no database here (the store keeps the entries).

A search's trial is keyed the same way with the trial's parameters merged into the
strategy's, plus the number of return blocks kept for the PBO.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import inspect
import json
import logging
import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import version as dist_version
from pathlib import Path
from typing import Any

from stratforge.core.collect import markets_sha256
from stratforge.core.components import Component
from stratforge.core.engine import PreparedRun
from stratforge.core.plugins import Plugins

KEY_FORMAT = 1
"""Bumped when what a key covers changes, so older entries stop matching."""
ENGINE_PACKAGES = (
    "core",
    "data",
    "futures",
    "risk",
    "plugin",
    "strategies",
    "indicators",
    "analyzers",
    "sizers",
    "optimizers",
)
"""stratforge's packages whose code (and data files) decide results; storage, reports and
the adapters do not, so editing them keeps the cache."""

log = logging.getLogger("stratforge.cache")


def canonical_json(value: Any) -> str:
    """One spelling of a JSON value: sorted keys, no spaces (``repr`` for anything else)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=repr)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class _FileHashes:
    """SHA-256 of files, recomputed only when a file's mtime or size changes."""

    def __init__(self) -> None:
        self._known: dict[str, tuple[int, int, str]] = {}
        self._lock = threading.Lock()

    def __call__(self, path: str) -> tuple[str, int]:
        """The file's hash and its mtime (ns)."""
        stat = os.stat(path)
        with self._lock:
            known = self._known.get(path)
            if known is not None and known[:2] == (stat.st_mtime_ns, stat.st_size):
                return known[2], stat.st_mtime_ns
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        with self._lock:
            self._known[path] = (stat.st_mtime_ns, stat.st_size, digest)
        return digest, stat.st_mtime_ns


file_sha256 = _FileHashes()


@lru_cache(maxsize=1)
def engine_fingerprint() -> dict[str, str]:
    """stratforge's version and a hash of its engine code as imported by this process
    (an editable install keeps its version while its code changes)."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for package in ENGINE_PACKAGES:
        for path in sorted((root / package).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                digest.update(str(path.relative_to(root)).encode())
                digest.update(file_sha256(str(path))[0].encode())
    return {"version": dist_version("stratforge"), "source": digest.hexdigest()}


def _source_file(obj: Any) -> str | None:
    """The file defining *obj* (a class, function or module; an instance's class)."""
    for candidate in (obj, type(obj)):
        try:
            path = inspect.getsourcefile(candidate)
        except TypeError:
            continue
        if path and os.path.isfile(path):
            return path
    return None


class StaleCode(Exception):
    """A plugin's source is not what this process runs (edited since the plugins loaded, or
    it has no source file): its results cannot be keyed by its source."""


def component_sources(component: Component, plugins: Plugins) -> dict[str, str]:
    """Hashes of the files behind *component*: where its object is defined and the module
    its plugin registered (which may define a contract or wrap a class from elsewhere)."""
    files = {_source_file(component.obj)}
    plugin_object = plugins.manager.get_plugin(component.plugin)
    if plugin_object is not None:
        files.add(_source_file(plugin_object))
    if None in files:
        raise StaleCode(f"{component.name!r} of plugin {component.plugin!r} has no source file")
    hashes: dict[str, str] = {}
    for path in sorted(f for f in files if f is not None):
        digest, mtime_ns = file_sha256(path)
        if mtime_ns / 1e9 > plugins.loaded_at:
            raise StaleCode(f"{path} changed after the plugins were loaded; reload them")
        hashes[path] = digest
    return hashes


def plugin_fingerprints(prepared: PreparedRun) -> dict[str, dict[str, Any]]:
    """Per plugin used: its version and the hashes of its used components' source files."""
    used = prepared.resolved.plugins_used()
    found: dict[str, dict[str, Any]] = {
        name: {"version": version, "sources": {}} for name, version in used.items()
    }
    for component in prepared.resolved.components():
        found[component.plugin]["sources"].update(component_sources(component, prepared.plugins))
    for entry in found.values():  # paths differ between machines; the content is what counts
        entry["sources"] = sorted(entry["sources"].values())
    return found


def _contracts(prepared: PreparedRun) -> list[Any]:
    """The futures contracts' facts (multiplier, tick, margins): they decide the accounting
    and may come from a data file or the catalog rather than plugin code."""
    return [
        dataclasses.asdict(data.contract) if dataclasses.is_dataclass(data.contract) else None
        for data in prepared.resolved.datas
    ]


@dataclass(frozen=True)
class RunKey:
    """What a prepared run's results depend on; ``backtest()`` and ``trial()`` hash it."""

    spec: dict[str, Any]
    context: dict[str, Any]

    def backtest(self) -> str:
        return sha256_text(canonical_json({"kind": "backtest", "spec": self.spec, **self.context}))

    def trial(self, params: dict[str, Any], blocks: int) -> str:
        """The key of one trial: the spec with *params* merged into the strategy's, as
        ``PreparedRun.with_strategy_params`` runs it, and the PBO's block count."""
        spec = copy.deepcopy(self.spec)
        spec["strategy"]["params"] = {**spec["strategy"].get("params", {}), **params}
        payload = {"kind": "trial", "spec": spec, "blocks": blocks, **self.context}
        return sha256_text(canonical_json(payload))


def backtest_key(prepared: PreparedRun) -> str | None:
    """The key a backtest of *prepared* is stored under (``RunKey.backtest()``), or None
    when it cannot be keyed (``run_key``): the same wherever the run is loaded, a Ray worker
    or the job runner's process."""
    key = run_key(prepared)
    return key.backtest() if key is not None else None


def run_key(prepared: PreparedRun) -> RunKey | None:
    """The content key of a prepared run (data loaded), or None when it cannot be keyed
    safely (a plugin edited since it was loaded, or without a source file): such a run is
    computed and not stored in the cache."""
    try:
        plugins = plugin_fingerprints(prepared)
    except StaleCode as exc:
        log.warning("result cache not used: %s", exc)
        return None
    context = {
        "format": KEY_FORMAT,
        "stratforge": engine_fingerprint(),
        "data_sha256": markets_sha256(prepared.markets),
        "contracts": _contracts(prepared),
        "plugins": plugins,
    }
    return RunKey(spec=prepared.resolved.spec.model_dump(mode="json"), context=context)
