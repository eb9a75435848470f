"""Risk and performance analyzers: record a run bar by bar, compute with ``stats``.

Each analyzer records what it needs in ``next`` (backtrader's ``prenext`` and ``nextstart``
call ``next`` by default, so every bar from the first is recorded, like the engine's own
recorder), in ``notify_order`` or ``notify_trade``, and computes its analysis once in
``stop``. Outputs are JSON-friendly: string keys, ISO datetimes, None for undefined values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Real
from typing import Any

import backtrader as bt
import numpy as np

from stratforge.analyzers import stats


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real | str):
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return number


def _numbers(values: Any, name: str) -> list[float]:
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise ValueError(f"{name} must be a list of numbers, got {values!r}")
    numbers = [_number(v, name) for v in values]
    if not numbers:
        raise ValueError(f"{name} must not be empty")
    return numbers


def _param(cls: type, params: dict[str, Any], name: str) -> Any:
    return params.get(name, getattr(cls.params, name))  # type: ignore[attr-defined]


def _fx(comminfo: Any) -> float:
    """The account-currency rate of a futures commission info (1.0 for everything else)."""
    line = getattr(comminfo.p, "fx_line", None)
    return 1.0 if line is None else float(line[0])


class _Recorded(bt.Analyzer):
    """Base: records the bar datetime (of the first data) and the account value every bar."""

    def start(self) -> None:
        self._times: list[float] = []
        self._values: list[float] = []
        self._analysis: dict[str, Any] | None = None

    def next(self) -> None:
        self._times.append(self.strategy.datas[0].datetime[0])
        self._values.append(self.strategy.broker.getvalue())

    def stop(self) -> None:
        self._analysis = self.compute()

    def get_analysis(self) -> dict[str, Any]:
        return self._analysis if self._analysis is not None else self.compute()

    def compute(self) -> dict[str, Any]:
        raise NotImplementedError

    def _arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(self._times, dtype=np.float64), np.asarray(self._values, np.float64)

    def _start_value(self) -> float:
        return float(self.strategy.broker.startingcash)


class Performance(_Recorded):
    """Returns and risk-adjusted ratios of the account value: total return, CAGR, annualised
    volatility, Sharpe, Sortino and Calmar (see docs/analyzers.md for the definitions).

    Params:
        risk_free: annual risk-free rate (0.02 = 2%), converted per bar as
            (1 + risk_free) ** (1 / periods_per_year) - 1 for Sharpe and Sortino
        periods_per_year: bars per year used to annualise; None observes it from the
            data's timestamps as (bars - 1) / years
    """

    params = (("risk_free", 0.0), ("periods_per_year", None))

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> None:
        if _number(_param(cls, params, "risk_free"), "risk_free") <= -1.0:
            raise ValueError("risk_free must be greater than -1 (an annual rate, 0.02 = 2%)")
        periods = _param(cls, params, "periods_per_year")
        if periods is not None and not _number(periods, "periods_per_year") > 0:
            raise ValueError(f"periods_per_year must be positive or null, got {periods!r}")

    def compute(self) -> dict[str, Any]:
        times, values = self._arrays()
        periods = self.p.periods_per_year
        return stats.performance_summary(
            times,
            values,
            start_value=self._start_value(),
            risk_free=float(self.p.risk_free),
            periods=None if periods is None else float(periods),
        )


def _episode_times(episode: dict[str, Any] | None, iso: list[str]) -> dict[str, Any] | None:
    """An episode with its bar indices replaced by ISO datetimes."""
    if episode is None:
        return None
    out = dict(episode)
    for key in ("start", "trough", "end"):
        index = episode[key]
        out[key] = None if index is None else iso[index]
    return out


class Drawdowns(_Recorded):
    """Drawdowns of the account value: the maximum one with its peak, trough and recovery
    dates, its length in bars and days and the time to recover from the trough; the longest
    underwater stretch; the deepest episodes.

    Params:
        top: how many of the deepest drawdown episodes to list (0 lists none)
    """

    params = (("top", 5),)

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> None:
        top = _param(cls, params, "top")
        if top < 0:
            raise ValueError(f"top must be >= 0, got {top}")

    def compute(self) -> dict[str, Any]:
        times, values = self._arrays()
        analysis = stats.drawdown_analysis(times, values, top=int(self.p.top))
        iso = stats.to_iso(times)
        return analysis | {
            "max": _episode_times(analysis["max"], iso),
            "longest": _episode_times(analysis["longest"], iso),
            "episodes": [_episode_times(e, iso) for e in analysis["episodes"]],
        }


class ValueAtRisk(_Recorded):
    """One-bar Value at Risk and CVaR (expected shortfall) of the account's per-bar returns,
    as positive loss fractions, by historical, Gaussian and Cornish-Fisher methods, with the
    return moments they use.

    Params:
        levels: confidence levels, each strictly between 0 and 1
        methods: any of historical, gaussian, cornish_fisher
    """

    params = (("levels", (0.95, 0.99)), ("methods", stats.VAR_METHODS))

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> None:
        for level in _numbers(_param(cls, params, "levels"), "levels"):
            if not 0.0 < level < 1.0:
                raise ValueError(f"levels must be strictly between 0 and 1, got {level!r}")
        methods = _param(cls, params, "methods")
        if isinstance(methods, str) or not methods:
            raise ValueError(f"methods must be a non-empty list, got {methods!r}")
        for method in methods:
            if method not in stats.VAR_METHODS:
                raise ValueError(
                    f"unknown VaR method {method!r}; use one of {', '.join(stats.VAR_METHODS)}"
                )

    def compute(self) -> dict[str, Any]:
        _, values = self._arrays()
        levels = [float(level) for level in self.p.levels]
        return stats.var_table(stats.simple_returns(values), levels, list(self.p.methods))


class Exposure(bt.Analyzer):
    """Time in market and gross and net exposure as fractions of the account value.

    Per bar, each open position's notional is size * close * multiplier (in the account
    currency; for futures, the held contract's raw price): gross exposure sums their
    absolute values, net exposure their signed values, both divided by the account value.

    Params:
        none
    """

    def start(self) -> None:
        self._bars = 0
        self._in_market = 0
        self._gross: list[float] = []
        self._net: list[float] = []

    def next(self) -> None:
        broker = self.strategy.broker
        gross = net = 0.0
        held = False
        for data, position in broker.positions.items():
            if position.size:
                held = True
                comminfo = broker.getcommissioninfo(data)
                notional = position.size * data.close[0] * comminfo.p.mult * _fx(comminfo)
                gross += abs(notional)
                net += notional
        self._bars += 1
        self._in_market += held
        value = broker.getvalue()
        if value > 0 and math.isfinite(value):
            self._gross.append(gross / value)
            self._net.append(net / value)

    def get_analysis(self) -> dict[str, Any]:
        gross, net = np.asarray(self._gross), np.asarray(self._net)
        some = len(gross) > 0
        return {
            "bars": self._bars,
            "time_in_market": self._in_market / self._bars if self._bars else None,
            "gross": {
                "average": stats.finite(float(gross.mean())) if some else None,
                "max": stats.finite(float(gross.max())) if some else None,
            },
            "net": {
                "average": stats.finite(float(net.mean())) if some else None,
                "max": stats.finite(float(net.max())) if some else None,
                "min": stats.finite(float(net.min())) if some else None,
            },
        }


class Turnover(_Recorded):
    """Traded notional of completed orders (|size| * price * multiplier, in the account
    currency), split into strategy orders and futures roll legs, and turnover: traded
    notional over the average account value (buys and sells both count, so buying and
    later selling the whole account once is 2.0), in total and per year.

    Params:
        none
    """

    def start(self) -> None:
        super().start()
        self._notional = {"strategy": 0.0, "roll": 0.0}
        self._orders = {"strategy": 0, "roll": 0}

    def notify_order(self, order: bt.Order) -> None:
        if order.status != order.Completed:
            return
        comminfo = self.strategy.broker.getcommissioninfo(order.data)
        executed = order.executed
        notional = abs(executed.size) * executed.price * comminfo.p.mult * _fx(comminfo)
        kind = "roll" if order.info.get("roll") else "strategy"
        self._notional[kind] += notional
        self._orders[kind] += 1

    def compute(self) -> dict[str, Any]:
        times, values = self._arrays()
        average = float(values.mean()) if len(values) else None
        years = stats.elapsed_years(times)
        total = self._notional["strategy"] + self._notional["roll"]

        def ratio(notional: float) -> float | None:
            return stats.finite(notional / average) if average and average > 0 else None

        turnover = ratio(total)
        return {
            "orders": self._orders["strategy"] + self._orders["roll"],
            "strategy_orders": self._orders["strategy"],
            "roll_orders": self._orders["roll"],
            "traded_notional": total,
            "strategy_notional": self._notional["strategy"],
            "roll_notional": self._notional["roll"],
            "average_value": stats.finite(average),
            "turnover": turnover,
            "strategy_turnover": ratio(self._notional["strategy"]),
            "roll_turnover": ratio(self._notional["roll"]),
            "years": years,
            "annual_turnover": stats.finite(turnover / years)
            if turnover is not None and years > 0
            else None,
        }


class TradeStatistics(bt.Analyzer):
    """Statistics of closed trades from their PnL after commission: counts, win rate,
    average win and loss, payoff ratio, profit factor, expectancy, SQN, streaks, largest
    win and loss, average bars held.

    Params:
        none
    """

    def start(self) -> None:
        self._pnls: list[float] = []
        self._bars: list[float] = []

    def notify_trade(self, trade: bt.Trade) -> None:
        if trade.isclosed:
            self._pnls.append(float(trade.pnlcomm))
            self._bars.append(float(trade.barlen))

    def get_analysis(self) -> dict[str, Any]:
        return stats.trade_statistics(self._pnls, self._bars)


class PeriodReturns(_Recorded):
    """Calendar-month and calendar-year returns of the account value, the first period
    measured from the starting cash: ``{"monthly": {"2020": {"1": r}}, "yearly": {"2020": r}}``.

    Params:
        none
    """

    def compute(self) -> dict[str, Any]:
        times, values = self._arrays()
        tables = stats.period_returns(times, values, start_value=self._start_value())
        return {
            "monthly": {
                str(year): {str(month): r for month, r in months.items()}
                for year, months in tables["monthly"].items()
            },
            "yearly": {str(year): r for year, r in tables["yearly"].items()},
        }


class FuturesRisk(_Recorded):
    """Futures costs and leverage: roll count and costs (commission plus slippage of both
    legs, from the futures broker's roll events) in total and per contract root, peak
    margin, and peak and average margin-to-equity. A run without futures reports zero rolls
    and the margin of any margined (non stock-like) positions, usually none.

    Params:
        none
    """

    def start(self) -> None:
        super().start()
        self._margins: list[float] = []

    def next(self) -> None:
        super().next()
        broker = self.strategy.broker
        used = 0.0
        for data, position in broker.positions.items():
            if position.size:
                comminfo = broker.getcommissioninfo(data)
                if not comminfo.stocklike:
                    used += comminfo.getoperationcost(position.size, data.close[0])
        self._margins.append(float(used))

    def compute(self) -> dict[str, Any]:
        broker = self.strategy.broker
        events: list[dict[str, Any]] = list(getattr(broker, "roll_events", []))
        feeds = getattr(broker, "views", {})
        roots = {feed._name: feed.spec.root for feed in feeds}
        by_root: dict[str, dict[str, Any]] = {
            root: {"rolls": 0, "roll_cost": 0.0, "roll_commission": 0.0, "roll_slippage": 0.0}
            for root in roots.values()
        }
        for event in events:
            row = by_root.setdefault(
                roots.get(event["data"], event["data"]),
                {"rolls": 0, "roll_cost": 0.0, "roll_commission": 0.0, "roll_slippage": 0.0},
            )
            row["rolls"] += 1
            row["roll_cost"] += event["cost"]
            row["roll_commission"] += event["commission"]
            row["roll_slippage"] += event["slippage"]
        _, values = self._arrays()
        margins = np.asarray(self._margins, dtype=np.float64)
        valid = (values > 0) & np.isfinite(values)
        ratios = np.zeros_like(margins)
        ratios[valid] = margins[valid] / values[valid]
        used = valid & (margins > 0)
        return {
            "futures": bool(feeds),
            "rolls": len(events),
            "roll_cost": float(sum(e["cost"] for e in events)),
            "roll_commission": float(sum(e["commission"] for e in events)),
            "roll_slippage": float(sum(e["slippage"] for e in events)),
            "peak_margin": float(margins.max()) if len(margins) else 0.0,
            "average_margin": stats.finite(float(margins.mean())) if len(margins) else None,
            "peak_margin_to_equity": float(ratios.max()) if len(ratios) else 0.0,
            "average_margin_to_equity": (
                stats.finite(float(ratios[valid].mean())) if valid.any() else None
            ),
            "average_margin_to_equity_in_market": (
                stats.finite(float(ratios[used].mean())) if used.any() else None
            ),
            "by_root": dict(sorted(by_root.items())),
        }


class MonteCarlo(_Recorded):
    """Monte Carlo resampling of the closed trades' net PnLs: percentiles of final equity
    and of max drawdown (on closed-trade equity) over many reordered or resampled trade
    sequences, the probability of ending below the starting cash, and the original values.

    Params:
        paths: number of simulated trade sequences (at least 1)
        seed: seed of numpy's default_rng; the same seed gives the same output
        method: bootstrap (draw trades with replacement) or shuffle (reorder the trades)
        percentiles: percentiles (0-100) of final equity and max drawdown to report
    """

    params = (
        ("paths", 1000),
        ("seed", 0),
        ("method", "bootstrap"),
        ("percentiles", (5, 50, 95)),
    )

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> None:
        paths = _param(cls, params, "paths")
        if paths < 1:
            raise ValueError(f"paths must be at least 1, got {paths}")
        seed = _param(cls, params, "seed")
        if seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        method = _param(cls, params, "method")
        if method not in stats.MONTE_CARLO_METHODS:
            raise ValueError(
                f"unknown method {method!r}; use one of {', '.join(stats.MONTE_CARLO_METHODS)}"
            )
        for p in _numbers(_param(cls, params, "percentiles"), "percentiles"):
            if not 0.0 <= p <= 100.0:
                raise ValueError(f"percentiles must be within [0, 100], got {p!r}")

    def start(self) -> None:
        super().start()
        self._pnls: list[float] = []

    def next(self) -> None:
        pass  # only trades matter

    def notify_trade(self, trade: bt.Trade) -> None:
        if trade.isclosed:
            self._pnls.append(float(trade.pnlcomm))

    def compute(self) -> dict[str, Any]:
        return stats.monte_carlo(
            self._pnls,
            self._start_value(),
            paths=int(self.p.paths),
            seed=int(self.p.seed),
            method=str(self.p.method),
            percentiles=[float(p) for p in self.p.percentiles],
        )


RISK_ANALYZERS: dict[str, tuple[type[bt.Analyzer], tuple[str, ...]]] = {
    "performance": (Performance, ()),
    "drawdowns": (Drawdowns, ()),
    "value_at_risk": (ValueAtRisk, ("var",)),
    "exposure": (Exposure, ()),
    "turnover": (Turnover, ()),
    "trade_statistics": (TradeStatistics, ()),
    "period_returns": (PeriodReturns, ()),
    "futures_risk": (FuturesRisk, ()),
    "monte_carlo": (MonteCarlo, ()),
}
"""Name -> (analyzer, aliases), registered by ``stratforge.analyzers``."""
