"""A base for strategies that think in target directions (long, short, flat).

Orders go through ``buy``/``sell``/``close`` so a run's sizer decides the size.
"""

from __future__ import annotations

import backtrader as bt


class SignalStrategy(bt.Strategy):
    """Adds ``go_long``, ``go_short`` and ``go_flat``; ``long_only`` turns shorts into exits.

    Params:
        long_only: never sell short; a short signal only closes a long position
    """

    params = (("long_only", False),)

    def go_long(self) -> None:
        if self.position.size < 0:
            self.close()
        if self.position.size <= 0:
            self.buy()

    def go_short(self) -> None:
        if self.p.long_only:
            self.go_flat()
            return
        if self.position.size > 0:
            self.close()
        if self.position.size >= 0:
            self.sell()

    def go_flat(self) -> None:
        if self.position.size:
            self.close()
