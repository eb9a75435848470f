"""A base for strategies that think in target directions (long, short, flat).

Orders go through ``buy``/``sell``/``close`` so a run's sizer decides the size; a reversal is
one order (close and open), as a broker would fill it.
"""

from __future__ import annotations

from typing import Any

import backtrader as bt


def has_new_bar(strategy: bt.Strategy, data: Any | None = None) -> bool:
    """Whether *data* (default: the strategy's first feed) got a bar on this step.

    In a portfolio the strategy's ``next`` runs at every bar of every feed. A feed whose bar
    did not change still shows the signal already acted on, so acting again would place the
    same order twice. stratforge's broker knows which feeds advanced; under another broker
    every step counts as new.
    """
    check = getattr(strategy.broker, "has_new_bar", None)
    return True if check is None else bool(check(strategy.data if data is None else data))


class SignalStrategy(bt.Strategy):
    """Adds ``go_long``, ``go_short`` and ``go_flat``; ``long_only`` turns shorts into exits.

    Params:
        long_only: never sell short; a short signal only closes a long position
    """

    params = (("long_only", False),)

    def fresh(self, data: Any | None = None) -> bool:
        """Whether *data* (default the first feed) has a new bar to act on (see has_new_bar)."""
        return has_new_bar(self, data)

    def go_long(self) -> None:
        """Be long the sizer's stake; a short is closed by the same order."""
        size = self.position.size
        if size <= 0:
            stake = self.getsizing(isbuy=True)
            if stake or size:
                self.buy(size=stake - size)

    def go_short(self) -> None:
        """Be short the stake (flat if ``long_only``); a long is closed by the same order."""
        if self.p.long_only:
            self.go_flat()
            return
        size = self.position.size
        if size >= 0:
            stake = self.getsizing(isbuy=False)
            if stake or size:
                self.sell(size=stake + size)

    def go_flat(self) -> None:
        if self.position.size:
            self.close()
