"""Vendor futures formats as data sources, each reading the vendor's files unmodified.

- ``lean``: QuantConnect LEAN zips (daily, hour, minute), open interest merged;
- ``pysystemtrade``: per-contract CSVs or a multiple-prices file;
- ``databento``: Databento DBN files (OHLCV schemas), symbology from definitions or the
  metadata's symbol mappings.

They are sources (``register_data_sources``), not a hook of their own: a vendor format is
a way of loading bars, and a source already gets everything that needs (user parameters
checked and documented, path parameters confined on a server, the data spec's root as a
``ContractSpec``) and returns what every run consumes (a chain or a frame).
"""

from __future__ import annotations

from stratforge.futures.vendors.databento import databento
from stratforge.futures.vendors.lean import lean
from stratforge.futures.vendors.pysystemtrade import pysystemtrade
from stratforge.plugin import hookimpl
from stratforge.plugin.registry import Register

__all__ = ["databento", "lean", "pysystemtrade", "register_data_sources"]


@hookimpl
def register_data_sources(register: Register) -> None:
    """Register the vendor sources exactly like a third-party plugin would."""
    register(lean, name="lean")
    register(pysystemtrade, name="pysystemtrade")
    register(databento, name="databento")
