"""Built-in sizers, registered by name."""

from __future__ import annotations

import backtrader as bt

from stratforge.plugin.hookspecs import hookimpl
from stratforge.plugin.registry import Register


@hookimpl
def register_sizers(register: Register) -> None:
    register(bt.sizers.FixedSize, name="fixed")
    register(bt.sizers.PercentSizer, name="percent")
    register(bt.sizers.AllInSizer, name="all_in")
