"""Turning DataSpecs into markets: plain frames, or futures chains rolled into continuous
series, with FX rates for contracts quoted in another currency."""

from __future__ import annotations

import dataclasses
import inspect
import typing
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from stratforge.core.components import Component, component, resolve_component
from stratforge.core.errors import SpecError
from stratforge.core.plugins import Registries
from stratforge.core.spec import ComponentSpec, DataSpec, RunSpec
from stratforge.data.feed import feed_columns
from stratforge.data.stored import DatasetStore
from stratforge.futures.chain import ContractChain
from stratforge.futures.continuous import ContinuousSeries, build_continuous
from stratforge.futures.contracts import ContractSpec
from stratforge.futures.feed import RollingFeed

DEFAULT_ROLL = ComponentSpec(name="days_before_expiry")


@dataclass
class ResolvedData:
    """A DataSpec checked against the registries."""

    spec: DataSpec
    field: str
    source: Component
    contract: ContractSpec | None = None
    roll: Component | None = None
    fx: Component | None = None
    contract_entry: Component | None = None
    datasets: DatasetStore | None = None
    """Where uploaded datasets are kept, for a source that takes a ``DatasetStore``."""

    _output: Any = dataclasses.field(default=None, repr=False)

    def components(self) -> list[Component]:
        parts = (self.source, self.roll, self.fx, self.contract_entry)
        return [c for c in parts if c is not None]

    def source_output(self) -> Any:
        """What the data source returned (a frame or a chain), loaded once and reused for
        every window cut from it."""
        if self._output is None:
            params = dict(self.source.params)
            if self.contract is not None:
                name = _contract_parameter(self.source.obj)
                assert name is not None
                params[name] = self.contract
            if self.datasets is not None:
                params.update(dict.fromkeys(_store_parameters(self.source.obj), self.datasets))
            self._output = self.source.obj(**params)
        return self._output


@dataclass
class MarketData:
    """The bars of one feed as plain data: what is shipped to Ray workers by reference."""

    name: str
    frame: pd.DataFrame
    series: ContinuousSeries | None = None
    fx: np.ndarray | None = None

    def feed_columns(self) -> dict[str, np.ndarray]:
        if self.series is not None:
            return RollingFeed.columns_for(self.series, self.fx)
        return feed_columns(self.frame)


@dataclass
class Market:
    """Loaded bars for one DataSpec: what strategies see, and for futures what is traded."""

    resolved: ResolvedData
    name: str
    frame: pd.DataFrame
    series: ContinuousSeries | None = None
    fx: np.ndarray | None = None
    _columns: dict[str, np.ndarray] | None = dataclasses.field(default=None, repr=False)

    @classmethod
    def from_data(cls, resolved: ResolvedData, data: MarketData) -> Market:
        return cls(resolved, data.name, data.frame, data.series, data.fx)

    def data(self) -> MarketData:
        return MarketData(self.name, self.frame, self.series, self.fx)

    def columns(self) -> dict[str, np.ndarray]:
        """Feed arrays, computed on first use and shared by every later run."""
        if self._columns is None:
            self._columns = self.data().feed_columns()
        return self._columns


def resolve_datas(
    spec: RunSpec, registries: Registries, *, datasets: DatasetStore | None = None
) -> list[ResolvedData]:
    datas = spec.datas
    fields = (
        ["data"] if not isinstance(spec.data, list) else [f"data[{i}]" for i in range(len(datas))]
    )
    return [
        resolve_data(
            data,
            registries,
            where=where,
            seed=spec.seed,
            currency=spec.currency,
            fx_rates=spec.fx_rates,
            datasets=datasets,
        )
        for data, where in zip(datas, fields, strict=True)
    ]


def _contract_parameter(source: Any) -> str | None:
    """The name of the source's parameter that receives the ContractSpec, if any."""
    hints = typing.get_type_hints(source)
    for name in inspect.signature(source).parameters:
        if ContractSpec in (hints.get(name), *typing.get_args(hints.get(name))):
            return name
    return None


def _store_parameters(source: Any) -> list[str]:
    """The names of the source's parameters that receive the dataset store."""
    hints = typing.get_type_hints(source)
    return [
        name
        for name in inspect.signature(source).parameters
        if DatasetStore in (hints.get(name), *typing.get_args(hints.get(name)))
    ]


def resolve_data(
    data: DataSpec,
    reg: Registries,
    *,
    where: str = "data",
    seed: int = 0,
    currency: str = "USD",
    fx_rates: dict[str, DataSpec] | None = None,
    datasets: DatasetStore | None = None,
) -> ResolvedData:
    """Check one DataSpec: source and args, and for futures root, roll rule and FX source."""
    source = component(
        reg.data_sources, data.source, dict(data.args), f"{where}.source", f"{where}.args"
    )
    if "seed" in inspect.signature(source.obj).parameters and "seed" not in source.params:
        source.params["seed"] = seed
    resolved = ResolvedData(data, where, source, datasets=datasets)
    if data.root is None:
        if data.roll is not None:
            raise SpecError(f"{where}.roll", "a roll rule needs a futures root; set root too")
        return resolved
    contract_entry = component(reg.contracts, data.root, {}, f"{where}.root", f"{where}.root")
    resolved.contract = contract_entry.obj
    resolved.contract_entry = contract_entry
    if _contract_parameter(source.obj) is None:
        futures_sources = [
            n for n in reg.data_sources if _contract_parameter(reg.data_sources.get(n))
        ]
        raise SpecError(
            f"{where}.source",
            f"data source {data.source!r} cannot load a futures chain; use one of "
            + ", ".join(repr(n) for n in futures_sources),
        )
    resolved.roll = resolve_component(reg.roll_rules, data.roll or DEFAULT_ROLL, f"{where}.roll")
    quoted = resolved.contract.currency
    if quoted != currency:
        fx_spec = (fx_rates or {}).get(quoted)
        if fx_spec is None:
            raise SpecError(
                f"fx_rates.{quoted}",
                f"{data.root} is quoted in {quoted} but the account is in {currency}; "
                f"supply fx_rates.{quoted}: a data source whose close is the {currency} "
                f"price of one {quoted}",
            )
        resolved.fx = component(
            reg.data_sources,
            fx_spec.source,
            dict(fx_spec.args),
            f"fx_rates.{quoted}.source",
            f"fx_rates.{quoted}.args",
        )
    return resolved


Window = tuple[Any, Any]


def load_market(resolved: ResolvedData, name: str, window: Window | None = None) -> Market:
    """The data source's bars cut to the spec's start/end (or *window*); for futures, the
    chain is cut first, then rolled and adjusted."""
    data = resolved.spec
    start, end = window if window is not None else (data.start, _end_of_day(data.end))
    if resolved.contract is None:
        frame = resolved.source_output()
        if start is not None or end is not None:
            frame = frame.loc[start:end]
        _enough_bars(frame, resolved.field)
        return Market(resolved, name, frame)
    series = _continuous(resolved, start, end)
    _enough_bars(series.frame, resolved.field)
    fx = _fx_rates(resolved, pd.DatetimeIndex(series.frame.index)) if resolved.fx else None
    return Market(resolved, name, series.frame, series, fx)


def _end_of_day(end: Any) -> Any:
    """An end given as a date (midnight) includes that whole day's intraday bars."""
    if end is None or pd.Timestamp(end) != pd.Timestamp(end).normalize():
        return end
    return pd.Timestamp(end) + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)


def _enough_bars(frame: pd.DataFrame, where: str) -> None:
    if len(frame) < 2:
        raise SpecError(where, "fewer than 2 bars remain after start/end; widen the range")


def continuous_series(resolved: ResolvedData) -> ContinuousSeries:
    """The rolled and adjusted series of a resolved futures DataSpec."""
    if resolved.contract is None:
        raise SpecError(f"{resolved.field}.root", "set a futures root to build a continuous series")
    return _continuous(resolved, resolved.spec.start, _end_of_day(resolved.spec.end))


def _continuous(resolved: ResolvedData, start: Any, end: Any) -> ContinuousSeries:
    data, where = resolved.spec, resolved.field
    assert resolved.roll is not None
    chain = resolved.source_output()
    if not isinstance(chain, ContractChain):
        raise SpecError(f"{where}.source", f"{data.source!r} did not return a contract chain")
    # Cut before rolling and adjusting: nothing after `end` may shape the series.
    chain = chain.window(start, end)
    try:
        rolls = resolved.roll.obj(chain, **resolved.roll.params)
        return build_continuous(chain, rolls, data.adjust, fill_missing=data.fill_missing)
    except ValueError as exc:
        raise SpecError(where, str(exc)) from None


def _fx_rates(resolved: ResolvedData, index: pd.DatetimeIndex) -> np.ndarray:
    """The FX close at or before each bar (never a later rate)."""
    assert resolved.fx is not None and resolved.contract is not None
    currency = resolved.contract.currency
    params = dict(resolved.fx.params)
    if resolved.datasets is not None:
        params.update(dict.fromkeys(_store_parameters(resolved.fx.obj), resolved.datasets))
    frame = resolved.fx.obj(**params)
    rates = frame["close"].reindex(index, method="ffill")
    missing = rates.isna()
    if missing.any():
        first = index[int(np.argmax(missing.to_numpy()))]
        raise SpecError(
            f"fx_rates.{currency}",
            f"no {currency} rate on or before {first}; the FX series starts at {frame.index[0]}",
        )
    return rates.to_numpy(dtype=np.float64)
