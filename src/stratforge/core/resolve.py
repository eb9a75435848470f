"""Resolve: a RunSpec checked against the registries, every name and parameter, before any
data is read. The first step of a run (resolve -> load -> build -> collect)."""

from __future__ import annotations

import inspect
import typing
from dataclasses import dataclass, field
from typing import Any

from stratforge.core.components import Component, component, resolve_component
from stratforge.core.errors import SpecError
from stratforge.core.plugins import Plugins, Registries
from stratforge.core.spec import ComponentSpec, DataSpec, RunSpec
from stratforge.data.frames import FRAMES_ONLY_IN_PROCESS, InMemoryFrames
from stratforge.data.stored import DatasetStore
from stratforge.futures.catalog import MarketCatalog
from stratforge.futures.contracts import ContractSpec

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
    frames: InMemoryFrames | None = None
    """The caller's in-memory frames, for a source that takes ``InMemoryFrames``."""

    def components(self) -> list[Component]:
        parts = (self.source, self.roll, self.fx, self.contract_entry)
        return [c for c in parts if c is not None]


def resolve_datas(
    spec: RunSpec,
    registries: Registries,
    *,
    datasets: DatasetStore | None = None,
    frames: InMemoryFrames | None = None,
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
            frames=frames,
        )
        for data, where in zip(datas, fields, strict=True)
    ]


def supplied_parameters(source: Any, supplied: type) -> list[str]:
    """The names of the source's parameters the engine fills with a *supplied* value (a
    ``ContractSpec``, the dataset store, the market catalog, in-memory frames): those whose
    annotation is that type, alone or in a union."""
    hints = typing.get_type_hints(source)
    return [
        name
        for name in inspect.signature(source).parameters
        if supplied in (hints.get(name), *typing.get_args(hints.get(name)))
    ]


def contract_parameter(source: Any) -> str | None:
    """The name of the source's parameter that receives the ContractSpec, if any."""
    return next(iter(supplied_parameters(source, ContractSpec)), None)


def _needs_frames(source: Component, frames: InMemoryFrames | None, where: str) -> None:
    """A source reading in-memory frames resolves only where the frames are (in process)."""
    if frames is None and supplied_parameters(source.obj, InMemoryFrames):
        raise SpecError(where, FRAMES_ONLY_IN_PROCESS)


def resolve_data(
    data: DataSpec,
    reg: Registries,
    *,
    where: str = "data",
    seed: int = 0,
    currency: str = "USD",
    fx_rates: dict[str, DataSpec] | None = None,
    datasets: DatasetStore | None = None,
    frames: InMemoryFrames | None = None,
) -> ResolvedData:
    """Check one DataSpec: source and args, and for futures root, roll rule and FX source."""
    source = component(
        reg.data_sources, data.source, dict(data.args), f"{where}.source", f"{where}.args"
    )
    if "seed" in inspect.signature(source.obj).parameters and "seed" not in source.params:
        source.params["seed"] = seed
    _needs_frames(source, frames, f"{where}.source")
    resolved = ResolvedData(data, where, source, datasets=datasets, frames=frames)
    if data.root is None:
        if data.roll is not None:
            raise SpecError(f"{where}.roll", "a roll rule needs a futures root; set root too")
        return resolved
    contract_entry = component(reg.contracts, data.root, {}, f"{where}.root", f"{where}.root")
    resolved.contract = contract_entry.obj
    resolved.contract_entry = contract_entry
    if contract_parameter(source.obj) is None:
        futures_sources = [
            n for n in reg.data_sources if contract_parameter(reg.data_sources.get(n))
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
        _needs_frames(resolved.fx, frames, f"fx_rates.{quoted}.source")
    return resolved


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

    def components(self) -> list[Component]:
        """Every resolved component the run uses (strategy, sizer, analyzers, indicators,
        risk rules, each feed's source, roll rule, FX source and contract)."""
        parts = [self.strategy, *self.analyzers, *self.indicators, *self.risk_rules]
        parts += [c for data in self.datas for c in data.components()]
        return parts + ([self.sizer] if self.sizer else [])

    def plugins_used(self) -> dict[str, str | None]:
        parts = self.components()
        return {c.plugin: c.plugin_version for c in sorted(parts, key=lambda c: c.plugin)}


def resolve(
    spec: RunSpec, plugins: Plugins, *, frames: InMemoryFrames | None = None
) -> ResolvedRun:
    """Check every name and parameter in *spec*; raises ``SpecError`` naming the field.
    *frames* are the caller's in-memory frames (``run_backtest(spec, frames=...)``); without
    them a ``dataframe`` source is refused (a spec from the REST API or a file)."""
    reg = plugins.registries
    if spec.slippage.percent and spec.slippage.fixed:
        raise SpecError("slippage", "set either percent or fixed, not both")
    spec = catalog_sources(spec, MarketCatalog(plugins.settings.data_dir))
    return ResolvedRun(
        spec=spec,
        datas=resolve_datas(
            spec, reg, datasets=DatasetStore(plugins.settings.data_dir), frames=frames
        ),
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


CATALOG_SOURCE = "catalog"


def catalog_sources(spec: RunSpec, markets: MarketCatalog) -> RunSpec:
    """*spec* with every feed's source named: a feed with a futures root and no source reads
    the market catalog when that root is stored there, else synthetic data (the default).
    The result's spec so says which source each feed used."""
    datas = spec.datas
    fields = (
        ["data"] if not isinstance(spec.data, list) else [f"data[{i}]" for i in range(len(datas))]
    )
    chosen = [
        _chosen_source(data, markets, where) for data, where in zip(datas, fields, strict=True)
    ]
    return spec.model_copy(update={"data": chosen if isinstance(spec.data, list) else chosen[0]})


def _chosen_source(data: DataSpec, markets: MarketCatalog, where: str) -> DataSpec:
    if "source" in data.model_fields_set:
        return data
    if data.root is None or not _in_catalog(markets, data.root):
        return data.model_copy(update={"source": data.source})
    if data.args:
        raise SpecError(
            f"{where}.args",
            f"{data.root} is in the market catalog, whose stored contracts take no args; "
            'set "source": "synthetic" to generate data with these args instead',
        )
    return data.model_copy(update={"source": CATALOG_SOURCE})


def _in_catalog(markets: MarketCatalog, root: str) -> bool:
    try:
        return markets.has(root)
    except OSError:
        return False
