"""Collect: a finished strategy turned into a RunResult (equity, trades, orders, rolls,
settlements, analyzers, indicators, prices, metrics, provenance), all JSON-ready. The last
step of a run (resolve -> load -> build -> collect)."""

from __future__ import annotations

import hashlib
import platform
from array import array
from collections.abc import Iterator
from importlib.metadata import version as dist_version
from typing import Any, TypeVar

import backtrader as bt
import numpy as np
import pandas as pd

from stratforge.core.build import RECORDER, analyzer_names
from stratforge.core.columns import FloatColumn, TimeColumn, iso_times
from stratforge.core.load import Market
from stratforge.core.metrics import compute_metrics
from stratforge.core.recorder import RunRecorder
from stratforge.core.resolve import ResolvedRun
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
from stratforge.futures.broker import FuturesBroker

_Record = TypeVar("_Record", TradeRecord, OrderRecord)


def collect_result(
    resolved: ResolvedRun, markets: list[Market], strategy: bt.Strategy, wall_time: float
) -> RunResult:
    """Turn a finished strategy into a RunResult."""
    recorder: RunRecorder = getattr(strategy.analyzers, RECORDER)
    recorded = recorder.series()
    metrics = run_metrics(strategy)  # first: the records below consume the recorder's
    trades = _models(TradeRecord, _records(recorder.trades, ("entry_dt", "exit_dt")))
    orders = _models(OrderRecord, _records(recorder.orders, ("created_dt", "executed_dt")))
    rolls = [RollEvent(**r) for r in _dated(getattr(strategy.broker, "roll_events", []))]
    settlements = [
        SettlementEvent(**r) for r in _dated(getattr(strategy.broker, "settlement_events", []))
    ]
    index = pd.DatetimeIndex(markets[0].frame.index)
    return RunResult(
        spec=resolved.spec.model_dump(mode="json"),
        metrics=metrics,
        equity=EquityCurve(
            datetime=TimeColumn(num2millis(recorded["times"])),
            value=FloatColumn(recorded["values"]),
            cash=FloatColumn(recorded["cash"]),
            position=FloatColumn(recorded["positions"]),
        ),
        trades=trades,
        orders=orders,
        rolls=rolls,
        settlements=settlements,
        analyzers={
            name: to_jsonable(getattr(strategy.analyzers, name).get_analysis())
            for name, _ in analyzer_names(resolved.analyzers)
        },
        indicators=_indicator_records(strategy),
        prices=[price_series(market, _feed_of(strategy, market)) for market in markets],
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


def price_series(market: Market, feed: bt.feed.DataBase | None = None) -> PriceSeries:
    """The bars of one market as the strategy saw them (NaN-free: loaders reject gaps):
    the frame's own arrays, or once a one-off run has released them, its feed's lines
    (the same float64 values, copied in at preload). Views, not copies: a result shares
    the loaded data's memory."""
    index = pd.DatetimeIndex(market.frame.index)
    if market.released:
        assert feed is not None, f"{market.name}: released bars need the feed's lines"
        names = [*_PRICE_COLUMNS, *(["raw_close"] if market.series is not None else [])]
        values = {name: _line(feed, name, len(index)) for name in names}
    else:
        values = {name: market.frame[name].to_numpy(np.float64) for name in _PRICE_COLUMNS}
        if market.series is not None:
            values["raw_close"] = market.series.raw["close"].to_numpy(np.float64)
    columns = {name: FloatColumn(values[name]) for name in _PRICE_COLUMNS}
    raw_close = FloatColumn(values["raw_close"]) if "raw_close" in values else None
    adjustment = market.series.adjustment if market.series is not None else None
    return PriceSeries(
        data=market.name,
        datetime=TimeColumn(index.as_unit("ms").asi8),
        raw_close=raw_close,
        adjustment=adjustment,
        **columns,
    )


def _line(feed: bt.feed.DataBase, name: str, bars: int) -> np.ndarray:
    """A preloaded feed line's values, without a copy (the run is over: nothing appends)."""
    values = np.frombuffer(getattr(feed.lines, name).array, dtype=np.float64)
    if len(values) != bars:
        raise RuntimeError(f"{feed._name}: line {name} has {len(values)} values, not {bars}")
    return values


def _feed_of(strategy: bt.Strategy, market: Market) -> bt.feed.DataBase | None:
    return next((data for data in strategy.datas if data._name == market.name), None)


_PRICE_COLUMNS = ("open", "high", "low", "close", "volume")


def run_metrics(strategy: bt.Strategy) -> Metrics:
    """Headline metrics of a finished run, from the recorder alone (cheap: trials use it)."""
    recorder: RunRecorder = getattr(strategy.analyzers, RECORDER)
    recorded = recorder.series()
    metrics = compute_metrics(
        times=recorded["times"],
        values=recorded["values"],
        positions=recorded["positions"],
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
    recorder: RunRecorder = getattr(strategy.analyzers, RECORDER)
    return recorder.series()["values"]


def markets_sha256(markets: list[Market]) -> str:
    """One hash over every feed's bars (and, for futures, the raw contract prices)."""
    digest = hashlib.sha256()
    for market in markets:
        digest.update(market.name.encode())
        for part in market.content_digests():
            digest.update(part.encode())
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
    return iso_times(num2millis(days))


def num2millis(days: np.ndarray) -> np.ndarray:
    """Epoch milliseconds (int64) of backtrader float dates, rounded to the millisecond."""
    return np.round((np.asarray(days, dtype=np.float64) - 719163.0) * 86_400_000).astype(np.int64)


def _records(raw: list[dict[str, Any]], dt_keys: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    """Recorder dicts with run-local refs from 1 and ISO datetimes (``*_dt`` -> ``*_datetime``),
    one at a time, emptying *raw* as they go: a run with tens of thousands of orders never
    holds two lists of them.

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
    records = raw.copy()
    raw.clear()
    for i in range(len(records)):
        record, records[i] = records[i], {}
        out = {k: v for k, v in record.items() if k not in dt_keys}
        out["ref"] = ranks[record["ref"]]
        for name, texts in columns.items():
            out[name] = texts[i]
        yield out


def _models(model: type[_Record], records: Iterator[dict[str, Any]]) -> list[_Record]:
    """Validated records sharing one ``fields_set`` per set of fields given: pydantic keeps a
    set per instance (728 bytes for an order), more than the record's own values, and a
    run's records all set the same fields."""
    shared: dict[frozenset[str], set[str]] = {}
    out = []
    for record in records:
        item = model(**record)
        given = item.__pydantic_fields_set__
        object.__setattr__(
            item, "__pydantic_fields_set__", shared.setdefault(frozenset(given), given)
        )
        out.append(item)
    return out


def _indicator_records(strategy: bt.Strategy) -> list[IndicatorRecord]:
    names = {id(v): k for k, v in vars(strategy).items() if isinstance(v, bt.Indicator)}
    records = []
    declared = [i for i in strategy.getindicators() if isinstance(i, bt.Indicator)]
    for position, indicator in enumerate(declared):
        kind = type(indicator).__name__
        name = names.get(id(indicator)) or f"{kind.lower()}_{position}"
        lines = {
            alias: FloatColumn(_line_values(indicator.lines[i].array))
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


def _line_values(values: Any) -> np.ndarray:
    """A backtrader line's values as float64, sharing a full buffer's memory (no copy)."""
    if isinstance(values, array) and values.typecode == "d" and len(values):
        return np.frombuffer(values, dtype=np.float64)
    return np.array(values, dtype=np.float64)


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
