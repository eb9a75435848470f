"""The data hook: plugins contribute data sources."""

from __future__ import annotations

from stratforge.plugin.hookspecs import hookspec
from stratforge.plugin.kinds import Kind, is_callable
from stratforge.plugin.registry import Register

DATA_SOURCES = Kind("data_sources", "data source", is_callable)


@hookspec
def register_data_sources(register: Register) -> None:
    """Contribute data sources: callables with keyword-only parameters returning an OHLCV frame."""
