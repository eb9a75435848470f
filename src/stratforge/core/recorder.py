"""An internal analyzer that records what a RunResult needs: equity, trades and orders.

It is added to every run by the engine; it is not a registered plugin because results must
not depend on what plugins are installed.
"""

from __future__ import annotations

from typing import Any

import backtrader as bt


class RunRecorder(bt.Analyzer):
    """Per-bar equity, cash and position of the first data; closed trades; final orders."""

    def start(self) -> None:
        self.bar_datetimes: list[float] = []
        self.values: list[float] = []
        self.cash: list[float] = []
        self.positions: list[float] = []
        self.trades: list[dict[str, Any]] = []
        self.orders: list[dict[str, Any]] = []
        self._broker = self.strategy.broker
        self._data0 = self.strategy.datas[0]

    def prenext(self) -> None:
        self.next()

    def nextstart(self) -> None:
        self.next()

    def next(self) -> None:
        self.bar_datetimes.append(self._data0.datetime[0])
        self.values.append(self._broker.getvalue())
        self.cash.append(self._broker.getcash())
        self.positions.append(self.strategy.getposition(self._data0).size)

    def notify_trade(self, trade: bt.Trade) -> None:
        if trade.isclosed:
            self.trades.append(_trade_record(trade))

    def notify_order(self, order: bt.Order) -> None:
        if not order.alive():
            self.orders.append(_order_record(order))

    def get_analysis(self) -> dict[str, Any]:
        return {"bars": len(self.values), "trades": len(self.trades), "orders": len(self.orders)}


def _trade_record(trade: bt.Trade) -> dict[str, Any]:
    entry_size = 0.0
    exit_size = 0.0
    exit_notional = 0.0
    for entry in trade.history:
        size = entry.event.size
        if (size > 0) == trade.long:
            entry_size += abs(size)
        else:
            exit_size += abs(size)
            exit_notional += abs(size) * entry.event.price
    return {
        "ref": trade.ref,
        "data": trade.data._name,
        "direction": "long" if trade.long else "short",
        "entry_dt": trade.dtopen,
        "exit_dt": trade.dtclose,
        "entry_price": trade.price,
        "exit_price": exit_notional / exit_size if exit_size else None,
        "size": entry_size if trade.long else -entry_size,
        "pnl": trade.pnl,
        "pnl_net": trade.pnlcomm,
        "commission": trade.commission,
        "bars_held": trade.barlen,
    }


def _order_record(order: bt.Order) -> dict[str, Any]:
    executed = order.executed
    return {
        "ref": order.ref,
        "data": order.data._name,
        "side": "buy" if order.isbuy() else "sell",
        "type": order.getordername(),
        "size": order.created.size,
        "price": order.created.price if order.exectype != bt.Order.Market else None,
        "created_dt": order.created.dt,
        "executed_dt": executed.dt if executed.size else None,
        "executed_size": executed.size,
        "executed_price": executed.price if executed.size else None,
        "commission": executed.comm,
        "status": order.getstatusname(),
    }
