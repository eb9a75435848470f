"""An internal analyzer that records what a RunResult needs: equity, trades and orders.

It is added to every run by the engine; it is not a registered plugin because results must
not depend on what plugins are installed.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from typing import Any

import backtrader as bt
import numpy as np

ProgressCallback = Callable[[int, int], None]
"""``(steps done, steps in the run)``; may raise to stop the run (a job's time limit)."""
PROGRESS_REPORTS = 100  # calls per run, at most: about one per percent


class RunRecorder(bt.Analyzer):
    """Per-bar equity, cash and position of the first data; closed trades; final orders;
    and, when given ``on_progress``, the steps done about once per percent of the run."""

    params = (("on_progress", None), ("total", 0))

    PRUNE_EVERY = 512
    """Bars between sweeps of finished orders out of backtrader's bookkeeping lists."""

    def start(self) -> None:
        self._on_progress: ProgressCallback | None = self.p.on_progress
        self._total = int(self.p.total)
        self._every = max(1, self._total // PROGRESS_REPORTS)
        # Typed arrays, 8 bytes a value: a list of Python floats would cost 32.
        self.bar_datetimes = array("d")
        self.values = array("d")
        self.cash = array("d")
        self.positions = array("d")
        self.trades: list[dict[str, Any]] = []
        self.orders: list[dict[str, Any]] = []
        self._broker = self.strategy.broker
        self._data0 = self.strategy.datas[0]
        self._open_contracts: dict[int, str] = {}
        self._closed: list[bt.Trade] = []
        self._internals_freed = False

    def prenext(self) -> None:
        self.next()

    def nextstart(self) -> None:
        self.next()

    def next(self) -> None:
        if not self._internals_freed:
            self._internals_freed = True
            if getattr(self.strategy.cerebro, "_dorunonce", False):
                free_precomputed_internals(self.strategy)
        # The strategy's clock: one row per step of the run, on the union of every feed's
        # bars (the first feed may have no bar on a step, or may have ended).
        self.bar_datetimes.append(self.strategy.datetime[0])
        self.values.append(self._broker.getvalue())
        self.cash.append(self._broker.getcash())
        self.positions.append(self.strategy.getposition(self._data0).size)
        steps = len(self.values)
        while self._closed:
            self._forget_closed(self._closed.pop())
        if steps % self.PRUNE_EVERY == 0:
            self._forget_finished_orders()
        if self._on_progress is not None and steps % self._every == 0:
            self._on_progress(steps, self._total)

    def _forget_finished_orders(self) -> None:
        """Let go of the orders backtrader keeps for ever: the strategy's ``_orders`` (a copy
        of every notification, which backtrader only appends to and never reads) and the
        broker's finished orders (a million-bar run places tens of thousands, each with its
        execution bits). Their records were taken when they were notified."""
        self.strategy._orders.clear()
        broker_orders = getattr(self._broker, "orders", None)
        if isinstance(broker_orders, list) and len(broker_orders) > 64:
            broker_orders[:] = [o for o in broker_orders if o.alive()]

    def notify_trade(self, trade: bt.Trade) -> None:
        if trade.justopened:
            contract = _held_contract(trade.data)
            if contract is not None:
                self._open_contracts[trade.ref] = contract
        if trade.isclosed:
            record = _trade_record(trade)
            record["contract"] = self._open_contracts.pop(trade.ref, None)
            account_pnl = getattr(self._broker, "closed_trade_pnl", lambda _data: None)(trade.data)
            if account_pnl is not None:  # foreign futures: what the account settled
                record["pnl"] = account_pnl
                record["pnl_net"] = account_pnl - trade.commission
            self.trades.append(record)
            self._closed.append(trade)

    def _forget_closed(self, trade: bt.Trade) -> None:
        """A closed trade's history (copies of its orders and positions at each update) is
        in its record now; the strategy keeps every trade ever closed, so let go of it. The
        recorder does this on the step after the close, once every analyzer has been told."""
        trade.history.clear()  # shared with the strategy's own Trade (shallow copies)
        trades = self.strategy._trades[trade.data][trade.tradeid]
        if len(trades) > 1:
            del trades[:-1]  # backtrader only ever updates the last trade of a data and id

    def notify_order(self, order: bt.Order) -> None:
        if not order.alive():
            record = _order_record(order)
            record["contract"] = order.info.get("contract") or _held_contract(order.data)
            record["roll"] = bool(order.info.get("roll", False))
            info = order.info
            record["risk_rule"] = (
                info.get("risk_rule") or info.get("rejected_by") or info.get("trimmed_by")
            )
            self.orders.append(record)

    def series(self) -> dict[str, np.ndarray]:
        """The per-bar records as float64 arrays sharing the recorder's memory (``times``
        in backtrader's float days)."""
        return {
            "times": _view(self.bar_datetimes),
            "values": _view(self.values),
            "cash": _view(self.cash),
            "positions": _view(self.positions),
        }

    def get_analysis(self) -> dict[str, Any]:
        return {"bars": len(self.values), "trades": len(self.trades), "orders": len(self.orders)}


def free_precomputed_internals(strategy: bt.Strategy) -> int:
    """Empty the buffers inside backtrader's own indicators once they are precomputed; returns
    how many values were let go.

    With ``runonce`` backtrader computes every indicator over the whole data before the
    first bar, keeping each intermediate line in full (a ``CrossOver`` of two SMAs holds
    about twenty arrays as long as the data). After that only the strategy-level
    indicators' own lines are read (and advanced) bar by bar, and only those are recorded
    for the report, so the buffers of the lines *inside* backtrader's indicators are dead
    weight: here they go. Children of other indicators (plugins', users') are left alone:
    their code may read them.
    """
    keep: set[int] = set()
    top = list(strategy._lineiterators[bt.LineIterator.IndType])
    for indicator in top:
        keep.update(id(line) for line in indicator.lines)
    freed = 0
    stack = [child for parent in top if _is_backtraders(parent) for child in _children(parent)]
    seen: set[int] = set()
    while stack:
        item = stack.pop()
        if id(item) in seen or not _is_backtraders(item):
            continue
        seen.add(id(item))
        for line in item.lines:
            buffer = getattr(line, "array", None)
            if id(line) not in keep and isinstance(buffer, array) and len(buffer):
                freed += len(buffer)
                line.array = array("d")
        stack.extend(_children(item))
    return freed


def _children(item: Any) -> list[Any]:
    return list(getattr(item, "_lineiterators", {}).get(bt.LineIterator.IndType, []))


def _is_backtraders(item: Any) -> bool:
    return type(item).__module__.startswith("backtrader.")


def _view(values: array[float]) -> np.ndarray:
    return np.frombuffer(values, dtype=np.float64) if len(values) else np.empty(0)


def _held_contract(data: Any) -> str | None:
    """The contract a futures execution view holds on the current bar, else None."""
    feed = getattr(data, "feed", None)
    code = getattr(feed, "contract_code", None)
    return code(0) if callable(code) else None


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
