"""Worked example of a project analyzer: which futures contracts a run held, and its rolls.

This repository is itself a stratforge project (``[tool.stratforge]`` in its
``pyproject.toml``), so this file is a plugin for any ``stratforge`` command run inside it.
See docs/projects.md for the walk-through.
"""

from __future__ import annotations

from typing import Any

import backtrader as bt

from stratforge.plugin import Register, hookimpl


class ContractsHeld(bt.Analyzer):
    """Each contract month the first feed's position was held in (first and last bar,
    bars held, largest size) and the roll legs that moved it between them, with their
    commission. A feed that is not a futures root has no contracts: only the counts.

    Params:
        none
    """

    def start(self) -> None:
        self.held: dict[str, dict[str, Any]] = {}
        self.roll_legs = 0
        self.roll_commission = 0.0

    def next(self) -> None:
        data = self.strategy.datas[0]
        size = self.strategy.getposition(data).size
        code = getattr(data, "contract_code", None)  # a futures root's rolling feed
        if not size or code is None:
            return
        day = data.datetime.date(0).isoformat()
        entry = self.held.setdefault(
            code(0), {"first": day, "last": day, "bars": 0, "max_size": 0.0}
        )
        entry["last"] = day
        entry["bars"] += 1
        entry["max_size"] = max(entry["max_size"], abs(size))

    def notify_order(self, order: bt.Order) -> None:
        if order.status == order.Completed and order.info.get("roll"):
            self.roll_legs += 1
            self.roll_commission += order.executed.comm

    def get_analysis(self) -> dict[str, Any]:
        return {
            "contracts": [{"contract": code, **entry} for code, entry in self.held.items()],
            "rolls": self.roll_legs // 2,  # each roll closes one contract and opens the next
            "roll_commission": self.roll_commission,
        }


@hookimpl
def register_analyzers(register: Register) -> None:
    register(ContractsHeld, name="contracts_held")
