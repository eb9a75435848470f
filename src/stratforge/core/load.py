"""Load: the bars of each resolved data spec, as plain frames or futures chains rolled into
continuous series, with FX rates for contracts quoted in another currency. The second step
of a run (resolve -> load -> build -> collect); what it returns is plain data, shipped to Ray
workers by reference."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from stratforge.core.components import Component
from stratforge.core.errors import SpecError
from stratforge.core.resolve import (
    ResolvedData,
    ResolvedRun,
    contract_parameter,
    supplied_parameters,
)
from stratforge.data.feed import feed_columns
from stratforge.data.frames import InMemoryFrames, canonical_frame
from stratforge.data.stored import DatasetStore
from stratforge.futures.catalog import MarketCatalog, frame_sha256
from stratforge.futures.chain import ContractChain
from stratforge.futures.continuous import ContinuousSeries, build_continuous
from stratforge.futures.feed import RollingFeed


@dataclass
class Market:
    """The loaded bars of one feed: what strategies see, and for futures what is traded.
    Plain data (no plugin objects), so it is what Ray workers receive by reference."""

    name: str
    frame: pd.DataFrame
    series: ContinuousSeries | None = None
    fx: np.ndarray | None = None
    _columns: dict[str, np.ndarray] | None = dataclasses.field(default=None, repr=False)
    _digests: tuple[str, ...] | None = dataclasses.field(default=None, repr=False)
    released: bool = dataclasses.field(default=False, repr=False)
    """The bars' columns are gone (a one-off run's feed holds them): only the index is
    left, and the result reads the prices from the feed's lines."""

    def columns(self) -> dict[str, np.ndarray]:
        """Feed arrays, computed on first use and shared by every later run."""
        if self._columns is None:
            if self.series is not None:
                self._columns = RollingFeed.columns_for(self.series, self.fx)
            else:
                self._columns = feed_columns(self.frame)
        return self._columns

    def forget_columns(self) -> None:
        """Drop the cached feed arrays (a feed built from them keeps its own reference until
        it has preloaded them; a later run computes them again)."""
        self._columns = None

    def content_digests(self) -> tuple[str, ...]:
        """Hashes of the bars (and of a futures series' raw contract prices), taken once."""
        if self._digests is None:
            frames = [self.frame] + ([self.series.raw] if self.series is not None else [])
            self._digests = tuple(frame_sha256(frame) for frame in frames)
        return self._digests

    def release_bars(self) -> None:
        """Drop the bars' columns, keeping their index: called by a one-off run's feed once
        it has copied them into its lines, before indicators are computed over them (on
        ten years of minutes, the frames are a fifth of the run's memory). The hash is
        taken first; the frame a caller passed in stays theirs, only this reference goes."""
        self.content_digests()
        self.forget_columns()
        self.frame = _index_only(self.frame)
        if self.series is not None:
            self.series.frame = _index_only(self.series.frame)
            self.series.raw = _index_only(self.series.raw)
        self.released = True

    def __getstate__(self) -> dict[str, Any]:
        """Shipped without the feed arrays: the receiver computes them once itself."""
        return {**self.__dict__, "_columns": None}


def _index_only(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame with *frame*'s index and no columns, sharing none of its column blocks (an
    ``iloc[:, :0]`` slice would be a view that keeps every block alive)."""
    return pd.DataFrame(index=frame.index)


class SourceOutputs:
    """What each data source of a run returned (a frame or a chain), called once and reused
    for every window cut from it (walk-forward lays many over the same data)."""

    def __init__(self) -> None:
        self._by_field: dict[str, Any] = {}

    def get(self, data: ResolvedData) -> Any:
        if data.field not in self._by_field:
            self._by_field[data.field] = call_source(data.source, data)
        return self._by_field[data.field]


def call_source(source: Component, data: ResolvedData, *, with_contract: bool = True) -> Any:
    """Call a data source with the user's params and what the engine supplies: the futures
    contract to a ``ContractSpec`` parameter (not for an FX source: it loads a plain rate
    series), the dataset store to a ``DatasetStore`` one, the caller's in-memory frames to an
    ``InMemoryFrames`` one."""
    params = dict(source.params)
    if with_contract and data.contract is not None:
        name = contract_parameter(source.obj)
        if name is not None:
            params[name] = data.contract
    if data.datasets is not None:
        params.update(dict.fromkeys(supplied_parameters(source.obj, DatasetStore), data.datasets))
        # The market catalog is kept in the same data directory as the uploaded datasets.
        markets = MarketCatalog(data.datasets.data_dir)
        params.update(dict.fromkeys(supplied_parameters(source.obj, MarketCatalog), markets))
    if data.frames is not None:
        params.update(dict.fromkeys(supplied_parameters(source.obj, InMemoryFrames), data.frames))
    return source.obj(**params)


Window = tuple[Any, Any]


def load_market(
    resolved: ResolvedData,
    name: str,
    window: Window | None = None,
    *,
    sources: SourceOutputs | None = None,
) -> Market:
    """The data source's bars cut to the spec's start/end (or *window*); for futures, the
    chain is cut first, then rolled and adjusted."""
    data = resolved.spec
    start, end = window if window is not None else (data.start, _end_of_day(data.end))
    sources = sources or SourceOutputs()
    if resolved.contract is None:
        frame = sources.get(resolved)
        if start is not None or end is not None:
            frame = frame.loc[start:end]
        _enough_bars(frame, resolved.field)
        return Market(name, frame)
    series = _continuous(resolved, start, end, sources.get(resolved))
    _enough_bars(series.frame, resolved.field)
    fx = _fx_rates(resolved, pd.DatetimeIndex(series.frame.index)) if resolved.fx else None
    return Market(name, series.frame, series, fx)


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
    start, end = resolved.spec.start, _end_of_day(resolved.spec.end)
    return _continuous(resolved, start, end, SourceOutputs().get(resolved))


def _continuous(resolved: ResolvedData, start: Any, end: Any, chain: Any) -> ContinuousSeries:
    data, where = resolved.spec, resolved.field
    assert resolved.roll is not None
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
    frame = call_source(resolved.fx, resolved, with_contract=False)
    rates = frame["close"].reindex(index, method="ffill")
    missing = rates.isna()
    if missing.any():
        first = index[int(np.argmax(missing.to_numpy()))]
        raise SpecError(
            f"fx_rates.{currency}",
            f"no {currency} rate on or before {first}; the FX series starts at {frame.index[0]}",
        )
    return rates.to_numpy(dtype=np.float64)


def load_markets(
    resolved: ResolvedRun,
    first_frame: pd.DataFrame | None = None,
    window: Window | None = None,
    *,
    sources: SourceOutputs | None = None,
) -> list[Market]:
    """Every data feed's bars; *first_frame* replaces the first source's bars (any OHLCV
    frame, made canonical and validated by ``canonical_frame``); *window* (start, end)
    overrides the specs' start and end (walk-forward, which passes the same *sources* for
    every window so each source is called once)."""
    sources = sources or SourceOutputs()
    if first_frame is not None:
        first_frame = canonical_frame(first_frame, where="frame")
    markets = []
    for i, (data, name) in enumerate(zip(resolved.datas, market_names(resolved), strict=True)):
        if i == 0 and first_frame is not None:
            frame = first_frame if window is None else first_frame.loc[window[0] : window[1]]
            markets.append(Market(name, frame))
        else:
            markets.append(load_market(data, name, window, sources=sources))
    return markets


def market_names(resolved: ResolvedRun) -> list[str]:
    used: set[str] = set()
    return [
        _unique(data.spec.symbol or data.spec.root or data.spec.source, used)
        for data in resolved.datas
    ]


def _unique(name: str, used: set[str]) -> str:
    candidate, n = name, 1
    while candidate in used:
        n += 1
        candidate = f"{name}_{n}"
    used.add(candidate)
    return candidate
