"""The machinery that enforces risk rules for any strategy.

``GuardedBroker`` asks every rule about each order a strategy submits, before the order
exists: a rule may let it through, trim it or reject it (the strategy then receives a
``Rejected`` order). ``RiskMonitor``, an analyzer the engine adds after the strategy, gives
rules a look at the account at each bar's close so they can act on their own: flatten,
halt trading, place protective orders. Orders a rule places itself carry
``info["risk_rule"]`` and are never reviewed. Every decision becomes a ``RiskEvent``.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import backtrader as bt

log = logging.getLogger("stratforge.risk")


@dataclass(frozen=True)
class OrderRequest:
    """An order a strategy wants, as the rules see it."""

    data: Any
    """The strategy's feed (what ``self.data`` is in the strategy)."""
    size: float
    """Signed size: positive buys, negative sells."""
    position: float
    """The position in *data* before this order."""
    price: float
    """Reference price: the last close (the held contract's real price for futures)."""
    multiplier: float
    whole: bool
    """True when sizes must be whole units (futures contracts)."""
    when: dt.datetime

    @property
    def after(self) -> float:
        """The position if the order filled completely."""
        return self.position + self.size

    @property
    def reduces(self) -> bool:
        """True when the order only shrinks the position (never grows or flips it)."""
        return abs(self.after) <= abs(self.position) and self.after * self.position >= 0


@dataclass(frozen=True)
class Verdict:
    """A rule's answer: the signed size it allows (0 rejects) and why."""

    size: float
    reason: str


@dataclass(frozen=True)
class Holding:
    data: Any
    size: float
    price: float
    multiplier: float

    @property
    def notional(self) -> float:
        return self.size * self.price * self.multiplier


class Account:
    """What rules may read and do: positions, value, and actions on the strategy's behalf."""

    def __init__(self, strategy: bt.Strategy, guard: RiskGuard) -> None:
        self.strategy = strategy
        self._guard = guard

    @property
    def broker(self) -> bt.BrokerBase:
        return self.strategy.broker

    @property
    def value(self) -> float:
        return float(self.broker.getvalue())

    @property
    def now(self) -> dt.datetime:
        """The step's time on the run's clock (the union of every feed's bars), which goes
        on when the first feed has no bar or has ended."""
        return self.strategy.datetime.datetime(0)

    def holdings(self) -> Iterator[Holding]:
        """Every open position, valued at the last close (real contract prices)."""
        for data in self.strategy.datas:
            size = self.strategy.getposition(data).size
            if size:
                yield Holding(
                    data, size, reference_price(self.broker, data), multiplier(self.broker, data)
                )

    def gross_exposure(self, *, excluding: Any = None) -> float:
        """Sum of absolute position notionals, in account currency."""
        return sum(abs(h.notional) for h in self.holdings() if h.data is not excluding)

    def flatten(self, rule: str, reason: str) -> None:
        """Cancel resting orders and close every position at the next bar."""
        self.cancel_orders(rule=None)
        for holding in list(self.holdings()):
            self.strategy.close(data=holding.data, risk_rule=rule)
            self._guard.record(
                holding.data,
                rule,
                "flattened",
                requested=-holding.size,
                allowed=-holding.size,
                reason=reason,
            )

    def cancel_orders(self, *, data: Any = None, rule: str | None = "") -> None:
        """Cancel resting orders (of *data*, or all); ``rule`` selects orders placed by that
        rule, ``""`` strategy orders only, None every order."""
        for order in list(self.broker.pending):
            if order is None or not order.alive():
                continue
            if data is not None and _feed(order.data) is not data:
                continue
            placed_by = order.info.get("risk_rule", "")
            if rule is None or placed_by == rule:
                self.broker.cancel(order)

    def record(self, data: Any, rule: str, action: str, **fields: Any) -> None:
        self._guard.record(data, rule, action, **fields)


class RiskRule:
    """Base class of risk rules: subclasses are dataclasses whose fields are their params.

    Override ``check_order`` to vet orders before they exist and ``on_bar`` to act at each
    bar's close; ``name`` is set to the registered name when the engine builds the rule.
    """

    name: str = ""

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> None:
        """Raise ValueError for parameter values that cannot work."""

    def check_order(self, order: OrderRequest, account: Account) -> Verdict | None:
        """None lets the order through; a Verdict trims (smaller size) or rejects (size 0)."""
        return None

    def on_bar(self, account: Account) -> None:
        """Called after the strategy at each bar's close."""


class RiskGuard:
    """The rules of one run, applied in order, and the events they produced."""

    def __init__(self, rules: list[RiskRule]) -> None:
        self.rules = rules
        self.events: list[dict[str, Any]] = []
        self.account: Account | None = None

    def review(self, order: OrderRequest, account: Account) -> tuple[float, str, str]:
        """The size allowed after every rule; with the last rule that acted and its reason."""
        size, acted, why = order.size, "", ""
        for rule in self.rules:
            current = order if size == order.size else _with_size(order, size)
            verdict = rule.check_order(current, account)
            if verdict is None or _same(verdict.size, size):
                continue
            allowed = _clamp(verdict.size, size, order.whole)
            self.record(
                order.data,
                rule.name,
                "rejected" if allowed == 0 else "trimmed",
                requested=size,
                allowed=allowed,
                reason=verdict.reason,
            )
            size, acted, why = allowed, rule.name, verdict.reason
            if size == 0:
                break
        return size, acted, why

    def record(
        self,
        data: Any,
        rule: str,
        action: str,
        *,
        requested: float | None = None,
        allowed: float | None = None,
        reason: str = "",
    ) -> None:
        self.events.append(risk_event(data, rule, action, requested, allowed, reason))


def risk_event(
    data: Any,
    rule: str,
    action: str,
    requested: float | None = None,
    allowed: float | None = None,
    reason: str = "",
) -> dict[str, Any]:
    """A RiskEvent as the engine collects it (``dt`` in backtrader float days)."""
    feed = _feed(data)
    return {
        "dt": float(feed.datetime[0]),
        "data": feed._name,
        "rule": rule,
        "action": action,
        "requested": requested,
        "allowed": allowed,
        "reason": reason,
    }


def _with_size(order: OrderRequest, size: float) -> OrderRequest:
    return OrderRequest(
        order.data, size, order.position, order.price, order.multiplier, order.whole, order.when
    )


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


def _clamp(allowed: float, requested: float, whole: bool) -> float:
    """*allowed* kept on the side of *requested*, never larger, rounded down when whole."""
    if allowed * requested <= 0:
        return 0.0
    magnitude = min(abs(allowed), abs(requested))
    if whole:
        magnitude = float(math.floor(magnitude + 1e-9))
    return math.copysign(magnitude, requested) if magnitude else 0.0


def _feed(data: Any) -> Any:
    """The strategy's feed behind a futures execution view (or the data itself)."""
    return getattr(data, "feed", data)


def reference_price(broker: bt.BrokerBase, data: Any) -> float:
    """The last close in real prices: a futures feed's held contract, else the close."""
    view = getattr(broker, "views", {}).get(data, data)
    return float(view.close[0])


def multiplier(broker: bt.BrokerBase, data: Any) -> float:
    view = getattr(broker, "views", {}).get(data, data)
    mult = broker.getcommissioninfo(view).p.mult
    fx = getattr(getattr(_feed(data), "lines", None), "fx", None)
    return float(mult) * (float(fx[0]) if fx is not None else 1.0)


class GuardedBroker(bt.brokers.BackBroker):
    """BackBroker whose ``buy``/``sell`` pass through a ``RiskGuard`` when one is set, and
    which acts on a feed only on the steps where that feed has a new bar.

    With feeds on different calendars, backtrader calls the broker on every step of the
    union clock; a feed with no bar on that step still shows its previous bar. Matching a
    resting order against that stale bar would fill it on its own creation bar (or at a
    price from before it existed), so ``_try_exec`` skips orders whose feed did not
    advance. The engine names the feeds with ``watch``; an unwatched broker behaves like
    backtrader's.
    """

    def __init__(self) -> None:
        super().__init__()
        self.guard: RiskGuard | None = None
        self.skipped: list[dict[str, Any]] = []
        self.on_order: Callable[[bt.Order], None] | None = None
        """Called with every order a strategy or rule creates, as created (look-ahead check)."""
        self._watched: list[Any] = []
        self._bars_seen: dict[int, int] = {}
        self._advanced: set[int] = set()

    def watch(self, feeds: list[Any]) -> None:
        """Track these feeds' bars, so per-feed actions happen only on their own bars."""
        self._watched = list(feeds)

    def has_new_bar(self, data: Any) -> bool:
        """True when *data* (a feed or its execution view) got a bar on this step."""
        if not self._watched:
            return True
        return id(_feed(data)) in self._advanced

    def _begin_step(self) -> None:
        advanced = set()
        for feed in self._watched:
            bars = len(feed)
            if bars > self._bars_seen.get(id(feed), 0):
                advanced.add(id(feed))
            self._bars_seen[id(feed)] = bars
        self._advanced = advanced

    def next(self) -> None:
        self._begin_step()
        self._cancel_orders_of_ended_feeds()
        self.before_orders()
        super().next()
        self.after_orders()

    def _cancel_orders_of_ended_feeds(self) -> None:
        """Cancel resting orders of feeds whose data is over while the run goes on: they
        could never fill, and the strategy should hear so instead of waiting for ever."""
        ended = {
            id(feed)
            for feed in self._watched
            if id(feed) not in self._advanced and len(feed) and len(feed) >= feed.buflen()
        }
        if not ended:
            return
        for order in list(self.pending):  # oldest first: resting, then just submitted
            if order is not None and order.alive() and id(_feed(order.data)) in ended:
                order.addinfo(reason="the feed's data has ended")
                self.cancel(order)
        for order in [o for o in self.submitted if id(_feed(o.data)) in ended]:
            self.submitted.remove(order)  # not yet accepted: cancelled before it is
            order.addinfo(reason="the feed's data has ended")
            order.cancel()
            self.notify(order)

    def before_orders(self) -> None:
        """Per-step work before orders are matched (futures: re-margin, roll)."""

    def after_orders(self) -> None:
        """Per-step work after orders are matched and positions marked to the close."""

    def _try_exec(self, order: bt.Order) -> None:
        if self.has_new_bar(order.data):
            super()._try_exec(order)

    @property
    def risk_events(self) -> list[dict[str, Any]]:
        return [*self.skipped, *(self.guard.events if self.guard is not None else [])]

    def record_skip(self, data: Any, source: str, requested: float, reason: str) -> None:
        """Note an order that was not placed because its size rounded to zero."""
        log.warning("%s: %s; no order placed", _feed(data)._name, reason)
        self.skipped.append(risk_event(data, source, "skipped", requested, 0.0, reason))

    def buy(self, owner: Any, data: Any, size: float, *args: Any, **kwargs: Any) -> bt.Order:
        allowed = self._reviewed(owner, data, abs(size), kwargs, args)
        if isinstance(allowed, bt.Order):
            return self._created(allowed)
        return self._created(super().buy(owner, data, abs(allowed), *args, **kwargs))

    def sell(self, owner: Any, data: Any, size: float, *args: Any, **kwargs: Any) -> bt.Order:
        allowed = self._reviewed(owner, data, -abs(size), kwargs, args)
        if isinstance(allowed, bt.Order):
            return self._created(allowed)
        return self._created(super().sell(owner, data, abs(allowed), *args, **kwargs))

    def _created(self, order: bt.Order) -> bt.Order:
        if self.on_order is not None:
            self.on_order(order)
        return order

    def _reviewed(
        self, owner: Any, data: Any, size: float, kwargs: dict[str, Any], args: tuple[Any, ...]
    ) -> float | bt.Order:
        """The signed size the rules allow, or the Rejected order when they allow none."""
        if self.guard is None or kwargs.get("risk_rule") or kwargs.get("roll"):
            return size
        feed = _feed(data)
        account = self.guard.account or Account(owner, self.guard)
        self.guard.account = account
        request = OrderRequest(
            data=feed,
            size=size,
            position=self.getposition(data).size,
            price=reference_price(self, data),
            multiplier=multiplier(self, data),
            whole=data is not feed,
            when=feed.datetime.datetime(0),
        )
        allowed, rule, reason = self.guard.review(request, account)
        if allowed == 0:
            return self._rejected(owner, data, size, rule, reason, args, kwargs)
        if rule:
            kwargs["trimmed_by"] = rule
        return allowed

    def _rejected(
        self,
        owner: Any,
        data: Any,
        size: float,
        rule: str,
        reason: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> bt.Order:
        order_class = bt.BuyOrder if size > 0 else bt.SellOrder
        exectype = kwargs.get("exectype", args[2] if len(args) > 2 else None)
        price = kwargs.get("price", args[0] if args else None)
        order = order_class(owner=owner, data=data, size=abs(size), price=price, exectype=exectype)
        order.addinfo(**{k: v for k, v in kwargs.items() if not k.startswith("_")})
        order.addinfo(rejected_by=rule, reason=reason)
        order.reject(self)
        self.notify(order)
        return order


class RiskMonitor(bt.Analyzer):
    """Runs each rule's ``on_bar`` after the strategy, at every bar's close."""

    def start(self) -> None:
        guard = getattr(self.strategy.broker, "guard", None)
        self._guard: RiskGuard | None = guard
        if guard is not None and guard.account is None:
            guard.account = Account(self.strategy, guard)

    def prenext(self) -> None:
        self.next()

    def nextstart(self) -> None:
        self.next()

    def next(self) -> None:
        if self._guard is None or self._guard.account is None:
            return
        for rule in self._guard.rules:
            rule.on_bar(self._guard.account)

    def get_analysis(self) -> dict[str, Any]:
        events = self._guard.events if self._guard is not None else []
        return {"events": len(events)}
