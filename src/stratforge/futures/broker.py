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
    feed's ``fx`` line on the current bar: 1.0 for contracts in the account currency.
    ``settled`` sums every daily settlement booked to cash in the account currency, so the
    broker can give a closed trade the PnL the account really received (see
    ``FuturesBroker._execute``).
    """

    params = (
        ("stocklike", False),
        ("commtype", bt.CommInfoBase.COMM_FIXED),
        ("percabs", True),
        ("fx_line", None),
        ("foreign", False),
    )

    def __init__(self) -> None:
        super().__init__()
        self.settled = 0.0

    def fx(self) -> float:
        line = self.p.fx_line
        return 1.0 if line is None else float(line[0])

    def _getcommission(self, size: float, price: float, pseudoexec: bool) -> float:
        return abs(size) * self.p.commission * self.fx()

    def get_margin(self, price: float) -> float:
        # The requirement at today's rate; FuturesBroker re-posts held margin when the rate
        # moves, so collateral never books FX moves as PnL.
        return float(self.p.margin) * self.fx()

    def profitandloss(self, size: float, price: float, newprice: float) -> float:
        return self.settlement(size, price, newprice)

    def settlement(self, size: float, price: float, newprice: float) -> float:
        """The account-currency value of *size* contracts moving from *price* to *newprice*."""
        return size * (newprice - price) * self.p.mult * self.fx()

    def cashadjust(self, size: float, price: float, newprice: float) -> float:
        amount = self.settlement(size, price, newprice)
        self.settled += amount
        return amount


def futures_comminfo(
    spec: ContractSpec,
    feed: RollingFeed,
    *,
    commission: float | None = None,
    margin: float | None = None,
    foreign: bool = False,
) -> FuturesCommInfo:
    """The commission scheme of one rolling feed; *foreign* when its currency is not the
    account's (its trades then take their PnL from the daily settlements)."""
    return FuturesCommInfo(
        commission=spec.commission if commission is None else commission,
        margin=spec.initial_margin if margin is None else margin,
        mult=spec.multiplier,
        fx_line=feed.lines.fx,
        foreign=foreign,
    )


class FuturesBroker(GuardedBroker):
    """A risk-guarded BackBroker with execution-view routing, position rolling, margins and
    expiry settlement.

    Each step, for every rolling feed that has a new bar (never for one that merely shows
    its previous bar on another market's step): held margin is re-posted at the bar's FX
    rate, resting orders are re-priced into the new contract on a roll bar and an open
    position is rolled; then orders are matched; then a position still held in a contract
    on its last trade date, on the feed's final bar, is settled.
    """

    def __init__(self) -> None:
        super().__init__()
        self.views: dict[Any, ExecutionView] = {}
        self.roll_events: list[dict[str, Any]] = []
        self.settlement_events: list[dict[str, Any]] = []
        self.peak_margin = 0.0
        self.peak_margin_to_equity = 0.0
        self._owners: dict[ExecutionView, Any] = {}
        self._margin_fx: dict[ExecutionView, float] = {}
        self._trade_start: dict[ExecutionView, float] = {}
        self._trade_pnls: dict[ExecutionView, list[float]] = {}

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

    def before_orders(self) -> None:
        for feed, view in self.views.items():
            if not self.has_new_bar(feed):
                continue
            self._repost_margin(view)
            if feed.is_roll_bar():
                self._reprice_resting(feed, view)
                position = self.positions[view]
                if position.size:
                    self._roll(feed, view, position.size)

    def after_orders(self) -> None:
        settled = False
        for feed, view in self.views.items():
            if self.has_new_bar(feed) and self.positions[view].size and feed.held_expires_now():
                self._settle(feed, view)
                settled = True
        if settled:
            self._get_value()  # backtrader caches the value computed before settlement
        self._track_margin()

    def _repost_margin(self, view: ExecutionView) -> None:
        """Hold the margin of an open position at this bar's FX rate.

        Cash carries the initial margin posted; when the rate moves, the requirement in the
        account currency moves with it, and the difference is posted (or released) here, so
        the account's value never changes by an FX move of collateral, while margin checks
        and peak margin see today's rate.
        """
        comminfo = self.getcommissioninfo(view)
        rate = comminfo.fx()
        posted = self._margin_fx.get(view, rate)
        size = self.positions[view].size
        if size and rate != posted:
            self.cash -= abs(size) * float(comminfo.p.margin) * (rate - posted)
        self._margin_fx[view] = rate

    def _reprice_resting(self, feed: RollingFeed, view: ExecutionView) -> None:
        """Keep resting orders at the same adjusted level in the new contract's prices.

        Orders submitted on the bar before the roll are still in ``submitted`` (they are
        accepted when this step's orders are checked), so both queues are re-priced.
        """
        for order in [*self.submitted, *self.pending]:
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
        close_leg = self._fill(owner, view, -size, exit_price, roll=True, contract=old)
        open_leg = self._fill(owner, view, size, entry_price, roll=True, contract=new)
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

    def _settle(self, feed: RollingFeed, view: ExecutionView) -> None:
        """Close a position whose contract expires on this, the feed's final, bar.

        Cash-settled contracts settle at the day's close (the final settlement price) with
        commission and no slippage; physically delivered ones are closed at the close, with
        slippage, as a trader would before delivery. The strategy is told through
        ``notify_order`` (``order.info["settlement"]``); margin is released by the close.
        """
        size = self.positions[view].size
        kind = feed.spec.settlement
        reference = float(view.close[0])
        price = reference if kind == "cash" else self._slipped(reference, buying=size < 0)
        contract = feed.contract_code(0)
        order = self._fill(
            self._owners.get(view), view, -size, price, settlement=kind, contract=contract
        )
        unit_value = feed.spec.multiplier * float(feed.lines.fx[0])
        self.settlement_events.append(
            {
                "dt": feed.lines.datetime[0],
                "data": feed._name,
                "contract": contract,
                "settlement": kind,
                "size": size,
                "price": price,
                "commission": order.executed.comm,
                "slippage": abs(size) * unit_value * abs(price - reference),
                "status": order.getstatusname(),
            }
        )

    def _fill(
        self, owner: Any, view: ExecutionView, size: float, price: float, **info: Any
    ) -> bt.Order:
        """Execute a market order now at *price* (a roll leg or a settlement), with the
        usual notifications."""
        order_class = bt.BuyOrder if size > 0 else bt.SellOrder
        order = order_class(owner=owner, data=view, size=abs(size), exectype=bt.Order.Market)
        order.addinfo(**info)
        self._ocoize(order, None)
        order.submit(self)
        order.accept(self)
        self.orders.append(order)
        self._execute(order, ago=0, price=price)
        return order

    def _execute(
        self,
        order: bt.Order,
        ago: int | None = None,
        price: float | None = None,
        cash: float | None = None,
        position: bt.Position | None = None,
        dtcoc: Any = None,
    ) -> Any:
        """backtrader's execution, keeping each foreign trade's account-currency PnL.

        backtrader prices a closed trade's PnL at the exit day's FX rate, while the account
        settled every day at that day's rate. For contracts in a foreign currency the trade's
        PnL is therefore taken from the settlements booked while it was open (its share of
        ``FuturesCommInfo.settled``), so closed trades plus open PnL equal the equity change.
        """
        view = order.data
        comminfo = self.getcommissioninfo(view)
        if ago is None or not getattr(comminfo.p, "foreign", False):
            return super()._execute(order, ago, price, cash, position, dtcoc)
        held = self.positions[view]
        before = held.size
        result = super()._execute(order, ago, price, cash, position, dtcoc)
        after, settled = held.size, comminfo.settled
        # An execution books the closing part's settlement (old close to the fill price);
        # the opened part starts from the fill price, so `settled` now splits the two trades.
        if before == 0 and after != 0:
            self._trade_start[view] = settled
        elif before != 0 and (after == 0 or (after > 0) != (before > 0)):
            start = self._trade_start.pop(view, 0.0)
            self._trade_pnls.setdefault(view, []).append(settled - start)
            if after != 0:
                self._trade_start[view] = settled
        return result

    def closed_trade_pnl(self, data: Any) -> float | None:
        """The account-currency PnL of the oldest closed foreign trade of *data* not yet
        collected (None for contracts in the account currency)."""
        pnls = self._trade_pnls.get(self._route(data))
        return pnls.pop(0) if pnls else None

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
