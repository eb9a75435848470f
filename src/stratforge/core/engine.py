"""Build a Cerebro from a RunSpec and the registries, run it, and collect a RunResult."""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import platform
import random
import time
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import version as dist_version
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd

from stratforge.core.components import Component, resolve_component
from stratforge.core.errors import SpecError
from stratforge.core.markets import Market, ResolvedData, Window, load_market, resolve_datas
from stratforge.core.metrics import compute_metrics
from stratforge.core.plugins import Plugins
from stratforge.core.recorder import ProgressCallback, RunRecorder
from stratforge.core.results import (
    EquityCurve,
    IndicatorRecord,
    Metrics,
    OrderRecord,
    PriceSeries,
    Provenance,
    RiskEvent,
    RollEvent,
    RunResult,
    SettlementEvent,
    TradeRecord,
)
from stratforge.core.settings import get_settings
from stratforge.core.spec import RunSpec
from stratforge.data.feed import make_feed
from stratforge.data.stored import DatasetStore
from stratforge.futures.broker import FuturesBroker, futures_comminfo
from stratforge.futures.feed import RollingFeed
from stratforge.risk.guard import GuardedBroker, RiskGuard, RiskMonitor, RiskRule

_TIMEFRAMES = {
    "ticks": bt.TimeFrame.Ticks,
    "seconds": bt.TimeFrame.Seconds,
    "minutes": bt.TimeFrame.Minutes,
    "days": bt.TimeFrame.Days,
    "weeks": bt.TimeFrame.Weeks,
    "months": bt.TimeFrame.Months,
    "years": bt.TimeFrame.Years,
}
_RECORDER = "_stratforge_recorder"
_RISK_MONITOR = "_stratforge_risk"


@lru_cache(maxsize=1)
def default_plugins() -> Plugins:
    """Plugins loaded from the current settings, once per process (tests clear the cache)."""
    return Plugins.load(get_settings())


@dataclass
class ResolvedRun:
    """A RunSpec checked against the registries: everything needed to build a Cerebro."""

    spec: RunSpec
    datas: list[ResolvedData]
    strategy: Component
    sizer: Component | None
    analyzers: list[Component] = field(default_factory=list)
    indicators: list[Component] = field(default_factory=list)
    risk_rules: list[Component] = field(default_factory=list)

    def plugins_used(self) -> dict[str, str | None]:
        parts = [self.strategy, *self.analyzers, *self.indicators, *self.risk_rules]
        parts += [c for data in self.datas for c in data.components()]
        if self.sizer:
            parts.append(self.sizer)
        return {c.plugin: c.plugin_version for c in sorted(parts, key=lambda c: c.plugin)}


def resolve(spec: RunSpec, plugins: Plugins) -> ResolvedRun:
    """Check every name and parameter in *spec*; raises ``SpecError`` naming the field."""
    reg = plugins.registries
    if spec.slippage.percent and spec.slippage.fixed:
        raise SpecError("slippage", "set either percent or fixed, not both")
    return ResolvedRun(
        spec=spec,
        datas=resolve_datas(spec, reg, datasets=DatasetStore(plugins.settings.data_dir)),
        strategy=resolve_component(reg.strategies, spec.strategy, "strategy"),
        sizer=resolve_component(reg.sizers, spec.sizer, "sizer") if spec.sizer else None,
        analyzers=[
            resolve_component(reg.analyzers, a, f"analyzers[{i}]")
            for i, a in enumerate(spec.analyzers)
        ],
        indicators=[
            resolve_component(reg.indicators, a, f"indicators[{i}]")
            for i, a in enumerate(spec.indicators)
        ],
        risk_rules=[
            resolve_component(reg.risk_rules, r, f"risk[{i}]") for i, r in enumerate(spec.risk)
        ],
    )


def load_markets(
    resolved: ResolvedRun,
    first_frame: pd.DataFrame | None = None,
    window: Window | None = None,
) -> list[Market]:
    """Every data feed's bars; *first_frame* replaces the first source (tests, benchmarks),
    *window* (start, end) overrides the specs' start and end (walk-forward)."""
    markets = []
    for i, (data, name) in enumerate(zip(resolved.datas, market_names(resolved), strict=True)):
        if i == 0 and first_frame is not None:
            frame = first_frame if window is None else first_frame.loc[window[0] : window[1]]
            markets.append(Market(data, name, frame))
        else:
            markets.append(load_market(data, name, window))
    return markets


def market_names(resolved: ResolvedRun) -> list[str]:
    used: set[str] = set()
    return [
        _unique(data.spec.symbol or data.spec.root or data.spec.source, used)
        for data in resolved.datas
    ]


@dataclass
class PreparedRun:
    """A resolved spec with its data loaded: run it many times (optimisation trials)."""

    resolved: ResolvedRun
    markets: list[Market]
    plugins: Plugins

    def with_strategy_params(self, params: dict[str, Any]) -> ResolvedRun:
        """The run with *params* merged into the strategy's, validated like user input."""
        base = self.resolved
        merged = {**base.spec.strategy.params, **params}
        strategy = base.spec.strategy.model_copy(update={"params": merged})
        spec = base.spec.model_copy(update={"strategy": strategy})
        component = resolve_component(self.plugins.registries.strategies, strategy, "strategy")
        return dataclasses.replace(base, spec=spec, strategy=component)

    def execute(
        self, params: dict[str, Any] | None = None, on_progress: ProgressCallback | None = None
    ) -> tuple[ResolvedRun, bt.Strategy]:
        resolved = self.with_strategy_params(params) if params else self.resolved
        seed = resolved.spec.seed
        random.seed(seed)
        np.random.seed(seed % 2**32)
        cerebro = build_cerebro(resolved, self.markets, self.plugins, on_progress)
        try:
            return resolved, _run_without_gc_pauses(cerebro)
        except IndexError as exc:
            # backtrader fails this way when indicators need more bars than the data has
            bars = min(len(m.frame) for m in self.markets)
            raise SpecError(
                "data",
                f"{bars} bars are too few for the strategy's indicators to warm up ({exc}); "
                "use more data or shorter periods",
            ) from None

    def run(self, params: dict[str, Any] | None = None) -> RunResult:
        started = time.perf_counter()
        resolved, strategy = self.execute(params)
        return collect_result(resolved, self.markets, strategy, time.perf_counter() - started)


def prepare(
    spec: RunSpec,
    *,
    plugins: Plugins | None = None,
    frame: pd.DataFrame | None = None,
    window: Window | None = None,
) -> PreparedRun:
    """Resolve *spec* and load its data once."""
    plugins = plugins or default_plugins()
    resolved = resolve(spec, plugins)
    return PreparedRun(resolved, load_markets(resolved, frame, window), plugins)


def _unique(name: str, used: set[str]) -> str:
    candidate, n = name, 1
    while candidate in used:
        n += 1
        candidate = f"{name}_{n}"
    used.add(candidate)
    return candidate


def infer_timeframe(index: pd.DatetimeIndex) -> tuple[str, int]:
    """Timeframe and compression from the median bar spacing."""
    step = pd.Series(index).diff().median()
    seconds = step.total_seconds() if pd.notna(step) else 86400.0
    if seconds >= 28 * 86400:
        return "months", 1
    if seconds >= 7 * 86400:
        return "weeks", 1
    if seconds >= 86400:
        return "days", 1
    if seconds >= 60:
        return "minutes", max(1, round(seconds / 60))
    return "seconds", max(1, round(seconds))


def frame_sha256(frame: pd.DataFrame) -> str:
    digest = hashlib.sha256(pd.DatetimeIndex(frame.index).as_unit("us").asi8.tobytes())
    for column in frame.columns:
        digest.update(column.encode())
        digest.update(np.ascontiguousarray(frame[column].to_numpy(np.float64)).tobytes())
    return digest.hexdigest()


def build_cerebro(
    resolved: ResolvedRun,
    markets: list[Market],
    plugins: Plugins,
    on_progress: ProgressCallback | None = None,
) -> bt.Cerebro:
    """A Cerebro with preload and runonce on, the recorder added, plugins configured."""
    spec = resolved.spec
    cerebro = bt.Cerebro(stdstats=False, preload=True, runonce=True, tradehistory=True)
    futures = any(m.series is not None for m in markets)
    cerebro.broker = FuturesBroker() if futures else GuardedBroker()
    _configure_broker(cerebro.broker, spec)
    if resolved.risk_rules:
        cerebro.broker.guard = RiskGuard([_risk_rule(c) for c in resolved.risk_rules])
    for market in markets:
        cerebro.adddata(_feed(market, cerebro.broker))
    cerebro.broker.watch(cerebro.datas)
    cerebro.addstrategy(resolved.strategy.obj, **resolved.strategy.params)
    if resolved.sizer:
        cerebro.addsizer(resolved.sizer.obj, **resolved.sizer.params)
    for indicator in resolved.indicators:
        cerebro.addindicator(indicator.obj, **indicator.params)
    for name, analyzer in _analyzer_names(resolved.analyzers):
        cerebro.addanalyzer(analyzer.obj, _name=name, **analyzer.params)
    if on_progress is None:
        cerebro.addanalyzer(RunRecorder, _name=_RECORDER)
    else:
        steps = len(_union_clock(markets))
        cerebro.addanalyzer(RunRecorder, _name=_RECORDER, on_progress=on_progress, total=steps)
    if resolved.risk_rules:
        cerebro.addanalyzer(RiskMonitor, _name=_RISK_MONITOR)
    plugins.manager.hook.configure_cerebro(cerebro=cerebro, spec=spec)
    return cerebro


def _risk_rule(component: Component) -> RiskRule:
    """A fresh rule instance per run: rules keep state (daily counters, halts)."""
    rule: RiskRule = component.obj(**component.params)
    rule.name = component.name
    return rule


def _feed(market: Market, broker: bt.BrokerBase) -> bt.feed.DataBase:
    data = market.resolved.spec
    timeframe, compression = infer_timeframe(pd.DatetimeIndex(market.frame.index))
    options = {
        "name": market.name,
        "timeframe": _TIMEFRAMES[data.timeframe or timeframe],
        "compression": data.compression or compression,
    }
    if market.series is None:
        return make_feed(columns=market.columns(), **options)
    contract = market.resolved.contract
    assert contract is not None and isinstance(broker, FuturesBroker)
    feed = RollingFeed.from_series(market.series, contract, columns=market.columns(), **options)
    broker.attach(feed)
    broker.addcommissioninfo(
        futures_comminfo(
            contract,
            feed,
            commission=data.commission,
            margin=data.margin,
            foreign=market.fx is not None,
        ),
        name=market.name,
    )
    return feed


def _analyzer_names(analyzers: list[Component]) -> list[tuple[str, Component]]:
    seen: dict[str, int] = {}
    named = []
    for analyzer in analyzers:
        seen[analyzer.name] = seen.get(analyzer.name, 0) + 1
        count = seen[analyzer.name]
        named.append((analyzer.name if count == 1 else f"{analyzer.name}_{count}", analyzer))
    return named


def _configure_broker(broker: bt.BrokerBase, spec: RunSpec) -> None:
    broker.setcash(spec.cash)
    commission = spec.commission
    broker.setcommission(
        commission=commission.value,
        commtype=bt.CommInfoBase.COMM_PERC
        if commission.kind == "percent"
        else bt.CommInfoBase.COMM_FIXED,
        percabs=True,
        mult=commission.multiplier,
        margin=commission.margin,
        stocklike=commission.margin is None,
    )
    if spec.slippage.percent:
        broker.set_slippage_perc(spec.slippage.percent)
    elif spec.slippage.fixed:
        broker.set_slippage_fixed(spec.slippage.fixed)


def _union_clock(markets: list[Market]) -> pd.DatetimeIndex:
    """Every distinct bar time of the run: the steps a multi-feed run takes."""
    index = pd.DatetimeIndex(markets[0].frame.index)
    for market in markets[1:]:
        index = index.union(pd.DatetimeIndex(market.frame.index))
    return index


def run_backtest(
    spec: RunSpec,
    *,
    plugins: Plugins | None = None,
    frame: pd.DataFrame | None = None,
    on_progress: ProgressCallback | None = None,
) -> RunResult:
    """Run one backtest; same spec and data give byte-identical results (wall time aside).

    *frame* replaces the first data source's bars (hand-built fixtures, benchmarks).
    *on_progress* is called with (steps done, steps) about once per percent of the run.
    """
    started = time.perf_counter()
    prepared = prepare(spec, plugins=plugins, frame=frame)
    resolved, strategy = prepared.execute(on_progress=on_progress)
    return collect_result(resolved, prepared.markets, strategy, time.perf_counter() - started)


def _run_without_gc_pauses(cerebro: bt.Cerebro) -> bt.Strategy:
    """Run with the cyclic GC paused: backtrader allocates per bar and full collections
    rescan every line buffer (about 6% of a 250,000-bar run). Cycles are freed afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return cerebro.run()[0]
    finally:
        if was_enabled:
            gc.enable()


def collect_result(
    resolved: ResolvedRun, markets: list[Market], strategy: bt.Strategy, wall_time: float
) -> RunResult:
    """Turn a finished strategy into a RunResult."""
    recorder: RunRecorder = getattr(strategy.analyzers, _RECORDER)
    times = np.asarray(recorder.bar_datetimes, dtype=np.float64)
    trades = [TradeRecord(**r) for r in _records(recorder.trades, ("entry_dt", "exit_dt"))]
    orders = [OrderRecord(**r) for r in _records(recorder.orders, ("created_dt", "executed_dt"))]
    rolls = [RollEvent(**r) for r in _dated(getattr(strategy.broker, "roll_events", []))]
    settlements = [
        SettlementEvent(**r) for r in _dated(getattr(strategy.broker, "settlement_events", []))
    ]
    metrics = run_metrics(strategy)
    index = pd.DatetimeIndex(markets[0].frame.index)
    return RunResult(
        spec=resolved.spec.model_dump(mode="json"),
        metrics=metrics,
        equity=EquityCurve(
            datetime=num2iso(times),
            value=recorder.values,
            cash=recorder.cash,
            position=recorder.positions,
        ),
        trades=trades,
        orders=orders,
        rolls=rolls,
        settlements=settlements,
        analyzers={
            name: to_jsonable(getattr(strategy.analyzers, name).get_analysis())
            for name, _ in _analyzer_names(resolved.analyzers)
        },
        indicators=_indicator_records(strategy),
        prices=[price_series(market) for market in markets],
        risk_events=[RiskEvent(**r) for r in _risk_records(strategy)],
        strategy_info=_strategy_info(strategy),
        provenance=Provenance(
            stratforge_version=dist_version("stratforge"),
            backtrader_version=bt.__version__,
            python_version=platform.python_version(),
            plugins=resolved.plugins_used(),
            data_sha256=markets_sha256(markets),
            data_bars=len(index),
            data_start=index[0].isoformat(),
            data_end=index[-1].isoformat(),
            wall_time_seconds=wall_time,
        ),
    )


def price_series(market: Market) -> PriceSeries:
    """The bars of one market as the strategy saw them (NaN-free: loaders reject gaps)."""
    frame = market.frame
    index = pd.DatetimeIndex(frame.index)
    millis = index.as_unit("ms").asi8.astype("datetime64[ms]")
    texts = [s.removesuffix(".000") for s in np.datetime_as_string(millis, unit="ms").tolist()]
    columns = {name: frame[name].to_numpy(np.float64).tolist() for name in _PRICE_COLUMNS}
    raw_close = adjustment = None
    if market.series is not None:
        raw_close = market.series.raw["close"].to_numpy(np.float64).tolist()
        adjustment = market.series.adjustment
    return PriceSeries(
        data=market.name,
        datetime=texts,
        raw_close=raw_close,
        adjustment=adjustment,
        **columns,
    )


_PRICE_COLUMNS = ("open", "high", "low", "close", "volume")


def run_metrics(strategy: bt.Strategy) -> Metrics:
    """Headline metrics of a finished run, from the recorder alone (cheap: trials use it)."""
    recorder: RunRecorder = getattr(strategy.analyzers, _RECORDER)
    metrics = compute_metrics(
        times=np.asarray(recorder.bar_datetimes, dtype=np.float64),
        values=np.asarray(recorder.values, dtype=np.float64),
        positions=np.asarray(recorder.positions, dtype=np.float64),
        trade_pnls=[t["pnl_net"] for t in recorder.trades],
        start_value=float(strategy.broker.startingcash),
    )
    broker = strategy.broker
    if isinstance(broker, FuturesBroker):
        metrics = metrics.model_copy(
            update={
                "rolls": len(broker.roll_events),
                "roll_cost": sum(e["cost"] for e in broker.roll_events),
                "peak_margin": broker.peak_margin,
                "peak_margin_to_equity": broker.peak_margin_to_equity,
            }
        )
    return metrics


def recorded_values(strategy: bt.Strategy) -> np.ndarray:
    """The per-bar account values of a finished run."""
    recorder: RunRecorder = getattr(strategy.analyzers, _RECORDER)
    return np.asarray(recorder.values, dtype=np.float64)


def markets_sha256(markets: list[Market]) -> str:
    """One hash over every feed's bars (and, for futures, the raw contract prices)."""
    digest = hashlib.sha256()
    for market in markets:
        digest.update(market.name.encode())
        digest.update(frame_sha256(market.frame).encode())
        if market.series is not None:
            digest.update(frame_sha256(market.series.raw).encode())
    return digest.hexdigest()


def _strategy_info(strategy: bt.Strategy) -> dict[str, Any]:
    """What the strategy reports about itself through an optional ``result_info()``."""
    info = getattr(strategy, "result_info", None)
    return to_jsonable(info()) if callable(info) else {}


def _risk_records(strategy: bt.Strategy) -> list[dict[str, Any]]:
    """Risk-rule and sizer events (``dt`` as backtrader float days), oldest first."""
    events = [*getattr(strategy.broker, "risk_events", [])]
    events.extend(getattr(strategy.getsizer(), "events", []))
    return _dated(sorted(events, key=lambda e: e["dt"]))


def _dated(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Event dicts with backtrader's float ``dt`` replaced by an ISO ``datetime``."""
    if not events:
        return []
    iso = num2iso(np.array([e["dt"] for e in events], dtype=np.float64))
    return [
        {**{k: v for k, v in e.items() if k != "dt"}, "datetime": text}
        for e, text in zip(events, iso, strict=True)
    ]


def num2iso(days: np.ndarray) -> list[str]:
    """ISO-8601 strings for backtrader float dates (inverse of ``date2num``), vectorised.

    A float day count near 740,000 resolves about 10 microseconds, so times are rounded to
    the millisecond (and shown to the second when whole).
    """
    millis = np.round((days - 719163.0) * 86_400_000).astype("datetime64[ms]")
    return [s.removesuffix(".000") for s in np.datetime_as_string(millis, unit="ms").tolist()]


def _records(raw: list[dict[str, Any]], dt_keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """Recorder dicts with run-local refs from 1 and ISO datetimes (``*_dt`` -> ``*_datetime``).

    backtrader's refs are process-wide counters, so they are renumbered for determinism.
    """
    ranks = {ref: i for i, ref in enumerate(sorted(r["ref"] for r in raw), start=1)}
    columns = {}
    for key in dt_keys:
        values = np.array([np.nan if r[key] is None else r[key] for r in raw], dtype=np.float64)
        texts: list[str | None] = list(num2iso(np.nan_to_num(values)))
        for i in np.flatnonzero(np.isnan(values)).tolist():
            texts[i] = None
        columns[key.replace("_dt", "_datetime")] = texts
    records = []
    for i, record in enumerate(raw):
        out = {k: v for k, v in record.items() if k not in dt_keys}
        out["ref"] = ranks[record["ref"]]
        for name, texts in columns.items():
            out[name] = texts[i]
        records.append(out)
    return records


def _indicator_records(strategy: bt.Strategy) -> list[IndicatorRecord]:
    names = {id(v): k for k, v in vars(strategy).items() if isinstance(v, bt.Indicator)}
    records = []
    declared = [i for i in strategy.getindicators() if isinstance(i, bt.Indicator)]
    for position, indicator in enumerate(declared):
        kind = type(indicator).__name__
        name = names.get(id(indicator)) or f"{kind.lower()}_{position}"
        lines = {
            alias: _floats(indicator.lines[i].array)
            for i, alias in enumerate(indicator.getlinealiases())
        }
        data = getattr(indicator.data, "_name", "") or ""
        records.append(
            IndicatorRecord(
                name=name,
                indicator=kind,
                data=data,
                subplot=bool(indicator.plotinfo.subplot),
                plot=bool(indicator.plotinfo.plot),
                lines=lines,
                hidden_lines=[
                    alias
                    for alias in lines
                    if getattr(getattr(indicator.plotlines, alias, None), "_plotskip", False)
                ],
            )
        )
    return records


def _floats(values: Any) -> list[float | None]:
    array = np.asarray(values, dtype=np.float64)
    out: list[float | None] = array.tolist()
    if np.isnan(array).any():
        for i in np.flatnonzero(np.isnan(array)).tolist():
            out[i] = None
    return out


def to_jsonable(value: Any) -> Any:
    """Analyzer output (nested ordered dicts, datetimes, NaN) as plain JSON values."""
    if isinstance(value, dict):
        return {_key(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float | np.floating):
        number = float(value)
        return number if np.isfinite(number) else None
    if isinstance(value, np.integer):
        return int(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _key(key: Any) -> str:
    return key.isoformat() if hasattr(key, "isoformat") else str(key)
