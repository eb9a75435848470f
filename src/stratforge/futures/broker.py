"""A broker that trades real contracts behind continuous series, and rolls positions.

Strategies place orders on a ``RollingFeed`` (adjusted prices). ``FuturesBroker`` routes them
to the feed's ``ExecutionView`` (raw prices), translating limit and stop levels to the held
contract's prices. On each roll bar, an open position is closed in the old contract and
reopened in the new one with the same size, before any other order of that bar executes;
both legs pay commission and slippage and a ``roll`` event is recorded.
"""

from __future__ import annotations

import math
from typing import Any

import backtrader as bt

from stratforge.futures.contracts import ContractSpec
from stratforge.futures.feed import ExecutionView, RollingFeed
from stratforge.risk.guard import GuardedBroker


class FuturesCommInfo(bt.CommInfoBase):
    """Per-contract commission, margin and multiplier, converted to the account currency.

    Every cash amount (commission, margin, PnL, daily settlement) is multiplied by the
    feed's ``fx`` line: 1.0 for contracts in the account currency.
    """

    params = (
        ("stocklike", False),
        ("commtype", bt.CommInfoBase.COMM_FIXED),
        ("percabs", True),
        ("fx_line", None),
    )

    def _fx(self) -> float:
        line = self.p.fx_line
        return 1.0 if line is None else float(line[0])

    def _getcommission(self, size: float, price: float, pseudoexec: bool) -> float:
        return abs(size) * self.p.commission * self._fx()

    def get_margin(self, price: float) -> float:
        # Margin is collateral, not profit: convert it at one fixed rate (the first bar's) so
        # that posting it and getting it back never books FX moves as PnL.
        line = self.p.fx_line
        rate = 1.0 if line is None else float(line.array[0]) if len(line.array) else 1.0
        return float(self.p.margin) * rate

    def profitandloss(self, size: float, price: float, newprice: float) -> float:
        return size * (newprice - price) * self.p.mult * self._fx()

    def cashadjust(self, size: float, price: float, newprice: float) -> float:
        return size * (newprice - price) * self.p.mult * self._fx()


def futures_comminfo(
    spec: ContractSpec,
    feed: RollingFeed,
    *,
    commission: float | None = None,
    margin: float | None = None,
) -> FuturesCommInfo:
    return FuturesCommInfo(
        commission=spec.commission if commission is None else commission,
        margin=spec.initial_margin if margin is None else margin,
        mult=spec.multiplier,
        fx_line=feed.lines.fx,
    )


class FuturesBroker(GuardedBroker):
    """A risk-guarded BackBroker with execution-view routing, position rolling and margins."""

    def __init__(self) -> None:
        super().__init__()
        self.views: dict[Any, ExecutionView] = {}
        self.roll_events: list[dict[str, Any]] = []
        self.peak_margin = 0.0
        self.peak_margin_to_equity = 0.0
        self._owners: dict[ExecutionView, Any] = {}

    def attach(self, feed: RollingFeed) -> ExecutionView:
        """Trade *feed* through a new execution view; returns the view."""
        view = ExecutionView(feed)
        self.views[feed] = view
        return view

    def _route(self, data: Any) -> Any:
        return self.views.get(data, data)

    def getposition(self, data: Any) -> bt.Position:
        return super().getposition(self._route(data))

    def buy(self, owner: Any, data: Any, size: float, *args: Any, **kwargs: Any) -> bt.Order | None:
        contracts = self._whole_contracts(data, size)
        if contracts is None:
            return None
        data, kwargs = self._translated(owner, data, args, kwargs)
        return super().buy(owner, data, contracts, **kwargs)

    def sell(
        self, owner: Any, data: Any, size: float, *args: Any, **kwargs: Any
    ) -> bt.Order | None:
        contracts = self._whole_contracts(data, size)
        if contracts is None:
            return None
        data, kwargs = self._translated(owner, data, args, kwargs)
        return super().sell(owner, data, contracts, **kwargs)

    def _whole_contracts(self, data: Any, size: float) -> float | None:
        """Futures trade whole contracts: round down; skip (and log) what rounds to zero."""
        if data not in self.views:
            return size
        whole = float(math.floor(abs(size) + 1e-9))
        if whole == 0:
            reason = f"order for {size:.4g} contracts rounds down to 0"
            self.record_skip(data, "whole_contracts", size, reason)
            return None
        return whole

    _ORDER_ARGS = ("price", "plimit", "exectype", "valid", "tradeid", "oco", "trailamount")

    def _translated(
        self, owner: Any, data: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[Any, dict[str, Any]]:
        """The view as data and price levels in raw contract prices (for rolling feeds)."""
        merged = dict(zip(self._ORDER_ARGS, args, strict=False)) | kwargs
        view = self.views.get(data)
        if view is None:
            return data, merged
        feed: RollingFeed = view.feed
        for key in ("price", "plimit"):
            merged[key] = feed.to_raw(merged.get(key))
        if merged.get("trailamount") and feed.multiplicative:
            merged["trailamount"] *= feed.lines.raw_close[0] / feed.lines.close[0]
        self._owners[view] = owner
        return view, merged

    def next(self) -> None:
        for feed, view in self.views.items():
            if feed.is_roll_bar():
                self._reprice_pending(feed, view)
                position = self.positions[view]
                if position.size:
                    self._roll(feed, view, position.size)
        super().next()
        self._track_margin()

    def _reprice_pending(self, feed: RollingFeed, view: ExecutionView) -> None:
        """Keep resting orders at the same adjusted level in the new contract's prices."""
        for order in self.pending:
            if order is None or order.data is not view:
                continue
            for attr in ("price", "pricelimit"):
                level = getattr(order.created, attr)
                if level is not None:
                    setattr(order.created, attr, feed.to_raw(feed.from_raw(level, ago=-1)))

    def _roll(self, feed: RollingFeed, view: ExecutionView, size: float) -> None:
        owner = self._owners.get(view)
        old, new = feed.contract_code(-1), feed.contract_code(0)
        exit_ref, entry_ref = float(feed.lines.roll_exit[0]), float(view.open[0])
        exit_price = self._slipped(exit_ref, buying=size < 0)
        entry_price = self._slipped(entry_ref, buying=size > 0)
        close_leg = self._fill(owner, view, -size, exit_price, old)
        open_leg = self._fill(owner, view, size, entry_price, new)
        mult = feed.spec.multiplier * float(feed.lines.fx[0])
        commission = close_leg.executed.comm + open_leg.executed.comm
        slippage = abs(size) * mult * (abs(exit_price - exit_ref) + abs(entry_price - entry_ref))
        self.roll_events.append(
            {
                "dt": feed.lines.datetime[0],
                "data": feed._name,
                "from_contract": old,
                "to_contract": new,
                "size": size,
                "exit_price": exit_price,
                "entry_price": entry_price,
                "commission": commission,
                "slippage": slippage,
                "cost": commission + slippage,
                "status": open_leg.getstatusname(),
            }
        )

    def _fill(
        self, owner: Any, view: ExecutionView, size: float, price: float, contract: str
    ) -> bt.Order:
        """Execute a market order now at *price* (a roll leg), with the usual notifications."""
        order_class = bt.BuyOrder if size > 0 else bt.SellOrder
        order = order_class(owner=owner, data=view, size=abs(size), exectype=bt.Order.Market)
        order.addinfo(roll=True, contract=contract)
        self._ocoize(order, None)
        order.submit(self)
        order.accept(self)
        self.orders.append(order)
        self._execute(order, ago=0, price=price)
        return order

    def _slipped(self, price: float, *, buying: bool) -> float:
        if self.p.slip_perc:
            return price * (1 + self.p.slip_perc) if buying else price * (1 - self.p.slip_perc)
        if self.p.slip_fixed:
            return price + self.p.slip_fixed if buying else price - self.p.slip_fixed
        return price

    def _track_margin(self) -> None:
        used = 0.0
        for data, position in self.positions.items():
            if position.size:
                comminfo = self.getcommissioninfo(data)
                if not comminfo.stocklike:
                    used += comminfo.getoperationcost(position.size, data.close[0])
        if used:
            self.peak_margin = max(self.peak_margin, used)
            value = self.getvalue()
            if value > 0 and math.isfinite(value):
                self.peak_margin_to_equity = max(self.peak_margin_to_equity, used / value)
