"""Which files a request from the network may make the server read.

The CLI is a local user's tool and reads any path it is given. A request that arrives over
HTTP reads files only under the server's data roots (``STRATFORGE_DATA_ROOTS``; default the
``files/`` folder of the data directory): every parameter a plugin declares as a
``FilePath`` is resolved (``..`` and symlinks followed) and checked at submission. The
message never repeats the path or names the server's folders.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from stratforge.core.components import Component
from stratforge.core.errors import SpecError
from stratforge.core.resolve import ResolvedRun
from stratforge.plugin.params import path_params


def check_network_paths(resolved: ResolvedRun, roots: list[Path], prefix: str = "") -> None:
    """Raise ``SpecError`` for a declared path outside *roots* (or not a plain string)."""
    for component, where in _components(resolved):
        name = path_outside(component, roots)
        if name is not None:
            raise SpecError(
                f"{prefix}{where}.{name}",
                "this server reads files only from its data folders "
                "(STRATFORGE_DATA_ROOTS): put the file there and give its path, or "
                "upload it (POST /api/v1/datasets) and use the dataset source",
            )


def path_outside(component: Component, roots: list[Path]) -> str | None:
    """The first path parameter *component* declares whose value lies outside *roots* (or is
    not a plain string), or None when every given path is inside."""
    for name in path_params(component.obj):
        value = component.params.get(name)
        if value is not None and (not isinstance(value, str) or not _inside(Path(value), roots)):
            return name
    return None


def _inside(path: Path, roots: list[Path]) -> bool:
    try:
        real = path.expanduser().resolve()
    except (OSError, RuntimeError):
        return False
    return any(real == root or real.is_relative_to(root) for root in roots)


def _components(resolved: ResolvedRun) -> Iterator[tuple[Component, str]]:
    for data in resolved.datas:
        yield data.source, f"{data.field}.args"
        if data.fx is not None and data.contract is not None:
            yield data.fx, f"fx_rates.{data.contract.currency}.args"
        if data.roll is not None:
            yield data.roll, f"{data.field}.roll.params"
    yield resolved.strategy, "strategy.params"
    if resolved.sizer is not None:
        yield resolved.sizer, "sizer.params"
    for kind, parts in (
        ("analyzers", resolved.analyzers),
        ("indicators", resolved.indicators),
        ("risk", resolved.risk_rules),
    ):
        for i, part in enumerate(parts):
            yield part, f"{kind}[{i}].params"
