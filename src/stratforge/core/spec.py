"""``RunSpec``: everything that defines one backtest, as plain JSON-able data."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    PositiveFloat,
    SerializerFunctionWrapHandler,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from stratforge.core.errors import SpecError

Timeframe = Literal["ticks", "seconds", "minutes", "days", "weeks", "months", "years"]


MAX_TEXT = 1000
"""Longest text any spec field takes: names, currencies and paths are far shorter."""


class _Strict(BaseModel):
    # No NaN or Infinity (JSON allows neither; Python's parser accepts both) and no text of
    # megabytes: specs are stored and echoed back.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_max_length=MAX_TEXT)


class ComponentSpec(_Strict):
    """A registered plugin object chosen by name, with its parameters."""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)


class DataSpec(_Strict):
    """Where the bars come from: a registered data source and its arguments."""

    source: str = Field(
        "synthetic",
        description="Registered data source name. Left out with a futures root, the market "
        "catalog's stored contracts are used when that root is there (source catalog; see "
        "`stratforge data import`), else synthetic data; give synthetic to always get "
        "synthetic data.",
    )
    args: dict[str, Any] = Field(default_factory=dict, description="Arguments of the source.")
    symbol: str | None = Field(None, description="Name given to the feed (defaults to source).")
    start: dt.datetime | None = Field(None, description="First bar to use (inclusive).")
    end: dt.datetime | None = Field(None, description="Last bar to use (inclusive).")
    timeframe: Timeframe | None = Field(None, description="Bar timeframe; inferred when unset.")
    compression: int | None = Field(None, ge=1, description="Bars per timeframe unit.")
    root: str | None = Field(
        None,
        description="Futures root (a registered contract, e.g. ES): the source loads a contract "
        "chain that is rolled and adjusted into one continuous, tradable series.",
    )
    roll: ComponentSpec | None = Field(
        None, description="Roll rule and params (futures); default days_before_expiry."
    )
    adjust: Literal["none", "difference", "ratio", "forward_difference"] = Field(
        "difference", description="Price adjustment of the continuous series (futures)."
    )
    fill_missing: bool = Field(
        False, description="Use the last earlier close when a roll gap cannot be measured."
    )
    margin: PositiveFloat | None = Field(None, description="Initial margin override (futures).")
    commission: NonNegativeFloat | None = Field(
        None, description="Commission per contract and side override (futures)."
    )

    @model_serializer(mode="wrap")
    def _unset_source_left_out(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """A source that was not given stays left out when the spec is stored and read back,
        so the engine still chooses it (the catalog or synthetic) when the job runs."""
        dumped: dict[str, Any] = handler(self)
        if "source" not in self.model_fields_set:
            dumped.pop("source", None)
        return dumped

    @field_validator("start", "end")
    @classmethod
    def _naive_utc(cls, value: dt.datetime | None) -> dt.datetime | None:
        """Bars are naive UTC (loaders convert aware timestamps so): so are start and end."""
        if value is not None and value.tzinfo is not None:
            return value.astimezone(dt.UTC).replace(tzinfo=None)
        return value

    @field_validator("end")
    @classmethod
    def _end_after_start(cls, end: dt.datetime | None, info: ValidationInfo) -> dt.datetime | None:
        start = info.data.get("start")
        if end is not None and start is not None and end < start:
            raise ValueError(f"end ({end:%Y-%m-%d}) is before start ({start:%Y-%m-%d})")
        return end


class CommissionSpec(_Strict):
    """Broker commission scheme (backtrader's ``setcommission``)."""

    value: NonNegativeFloat = Field(0.0, description="Commission amount.")
    kind: Literal["percent", "per_unit"] = Field(
        "percent",
        description="percent: a fraction of traded value (0.001 = 0.1%); per_unit: cash per unit.",
    )
    multiplier: PositiveFloat = Field(1.0, description="Contract multiplier.")
    margin: PositiveFloat | None = Field(None, description="Margin per contract (futures-like).")


class SlippageSpec(_Strict):
    """Fill slippage: a fraction of price or a fixed price amount (not both)."""

    percent: NonNegativeFloat = 0.0
    fixed: NonNegativeFloat = 0.0


class RunSpec(_Strict):
    """One backtest: data, strategy, optional sizer and analyzers, broker, seed."""

    data: DataSpec | list[DataSpec] = Field(
        default_factory=DataSpec, description="One data feed, or several (e.g. ES and GC)."
    )
    strategy: ComponentSpec
    sizer: ComponentSpec | None = None
    analyzers: list[ComponentSpec] = Field(default_factory=list)
    indicators: list[ComponentSpec] = Field(
        default_factory=list,
        description="Extra registered indicators computed on the data and kept in the result.",
    )
    risk: list[ComponentSpec] = Field(
        default_factory=list,
        description="Risk rules the engine enforces for any strategy (e.g. max_position, "
        "bracket), applied in order; see `stratforge plugins risk_rules`.",
    )
    cash: PositiveFloat = 100_000.0
    commission: CommissionSpec = Field(default_factory=CommissionSpec)
    slippage: SlippageSpec = Field(default_factory=SlippageSpec)
    seed: int = Field(0, ge=0, le=2**63 - 1, description="Seed of every random draw.")
    currency: str = Field("USD", max_length=8, description="Account currency.")
    fx_rates: dict[str, DataSpec] = Field(
        default_factory=dict,
        description="Per foreign currency (e.g. EUR), a data source whose close is the price of "
        "one unit in the account currency; needed for contracts quoted in another currency.",
    )

    @property
    def datas(self) -> list[DataSpec]:
        """The data feeds as a list, whether one or several were given."""
        return self.data if isinstance(self.data, list) else [self.data]

    @model_validator(mode="after")
    def _at_least_one_data(self) -> RunSpec:
        if isinstance(self.data, list) and not self.data:
            raise ValueError("data: give at least one data feed")
        return self


def check_payload(value: Any, where: str = "") -> None:
    """Refuse non-finite numbers and oversized text anywhere in a spec, plugin parameters
    included (typed fields are checked by the models; ``params`` and ``args`` are free JSON).
    Raises ``SpecError`` with the dotted path; the value itself is never echoed."""
    if isinstance(value, float) and not math.isfinite(value):
        raise SpecError(where or "body", "must be a finite number (no NaN or Infinity)")
    if isinstance(value, str) and len(value) > MAX_TEXT:
        raise SpecError(where or "body", f"is {len(value):,} characters long; at most {MAX_TEXT:,}")
    if isinstance(value, dict):
        for key, item in value.items():
            if len(str(key)) > MAX_TEXT:
                raise SpecError(where or "body", "has a key over the length limit")
            check_payload(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            check_payload(item, f"{where}[{i}]")
