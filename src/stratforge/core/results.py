"""``RunResult``: the complete outcome of one backtest. Per-bar series are typed columns
(``core.columns``); the model serialises to JSON for the edges and to a compact binary
form (``core.result_codec``) for storage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from stratforge.core.columns import FloatColumn, TimeColumn

PERCENT_METRICS = frozenset(
    {
        "total_return",
        "cagr",
        "annual_volatility",
        "max_drawdown",
        "win_rate",
        "exposure",
        "peak_margin_to_equity",
        "var_95",
        "cvar_95",
    }
)
"""Metrics that are fractions, shown as percentages by the CLI and reports."""


class Metrics(BaseModel):
    """Headline performance figures; ``None`` where a figure is undefined (no trades, flat)."""

    start_value: float
    end_value: float
    total_return: float
    cagr: float | None
    annual_volatility: float | None
    sharpe: float | None
    sortino: float | None
    max_drawdown: float = Field(description="Largest peak-to-trough fall, as a fraction.")
    max_drawdown_bars: int = Field(description="Longest time under water, in bars.")
    max_drawdown_days: float = Field(description="Longest time under water, in calendar days.")
    trades: int
    win_rate: float | None
    profit_factor: float | None
    calmar: float | None = Field(None, description="CAGR / max drawdown.")
    var_95: float | None = Field(
        None, description="Historical one-bar Value at Risk at 95%, a loss fraction."
    )
    cvar_95: float | None = Field(
        None, description="Historical one-bar CVaR (expected shortfall) at 95%."
    )
    sqn: float | None = Field(None, description="System quality number of net trade PnLs.")
    expectancy: float | None = Field(None, description="Mean net PnL per closed trade.")
    payoff_ratio: float | None = Field(None, description="Average win / average loss.")
    exposure: float = Field(description="Fraction of bars with an open position.")
    bars: int
    periods_per_year: float | None
    rolls: int | None = Field(None, description="Futures: position roll events.")
    roll_cost: float | None = Field(None, description="Futures: commission and slippage of rolls.")
    peak_margin: float | None = Field(None, description="Futures: largest initial margin in use.")
    peak_margin_to_equity: float | None = Field(
        None, description="Futures: largest margin in use as a fraction of account value."
    )


class EquityCurve(BaseModel):
    """Per-bar account state on the run's clock, as typed columns (JSON: lists)."""

    datetime: TimeColumn
    value: FloatColumn
    cash: FloatColumn
    position: FloatColumn


class TradeRecord(BaseModel):
    ref: int
    data: str
    contract: str | None = Field(None, description="Futures: the contract month traded.")
    direction: str
    entry_datetime: str
    exit_datetime: str
    entry_price: float
    exit_price: float | None
    size: float
    pnl: float
    pnl_net: float
    commission: float
    bars_held: int


class OrderRecord(BaseModel):
    ref: int
    data: str
    contract: str | None = Field(None, description="Futures: the contract month filled.")
    roll: bool = Field(False, description="Futures: a leg of a position roll.")
    risk_rule: str | None = Field(
        None,
        description="The risk rule that placed (stop, target, flatten), trimmed or rejected it.",
    )
    side: str
    type: str
    size: float
    price: float | None
    created_datetime: str
    executed_datetime: str | None
    executed_size: float
    executed_price: float | None
    commission: float
    status: str


class RollEvent(BaseModel):
    """A position rolled from one contract to the next: both legs at that day's real prices."""

    datetime: str
    data: str
    from_contract: str
    to_contract: str
    size: float
    exit_price: float
    entry_price: float
    commission: float
    slippage: float
    cost: float
    status: str = Field(description="Completed, or Margin when the new leg could not be opened.")


class SettlementEvent(BaseModel):
    """A position that reached its contract's last trade date on the feed's final bar,
    settled in cash or closed (physically delivered contracts), releasing its margin."""

    datetime: str
    data: str
    contract: str
    settlement: str = Field(description="cash or physical.")
    size: float = Field(description="The position that was settled (signed).")
    price: float = Field(description="The settlement or closing price, slippage included.")
    commission: float
    slippage: float
    status: str


class RiskEvent(BaseModel):
    """An order a risk rule or sizer acted on: rejected, trimmed, or an action the rule took."""

    datetime: str
    data: str
    rule: str = Field(description="The risk rule (or ``sizer:<name>``) that acted.")
    action: str = Field(
        description="rejected, trimmed, flattened, halted, bracket (stop/target placed), skipped."
    )
    requested: float | None = Field(None, description="Order size asked for.")
    allowed: float | None = Field(None, description="Order size let through (0 when rejected).")
    reason: str = ""


class IndicatorRecord(BaseModel):
    """An indicator the strategy declared, with its lines and how it wants to be plotted."""

    name: str
    indicator: str
    data: str
    subplot: bool
    plot: bool
    lines: dict[str, FloatColumn] = Field(
        description="Each line's values on its data's bars (null before it has a value)."
    )
    hidden_lines: list[str] = Field(
        default_factory=list, description="Lines kept as data but not drawn (plotlines skip)."
    )


class PriceSeries(BaseModel):
    """The bars one feed showed the strategy, columnar: what a report draws without the data.

    For futures these are the adjusted continuous prices; ``raw_close`` holds the held
    contract's real close per bar, so fills (at real prices) can be placed on the chart.
    """

    data: str
    datetime: TimeColumn
    open: FloatColumn
    high: FloatColumn
    low: FloatColumn
    close: FloatColumn
    volume: FloatColumn
    raw_close: FloatColumn | None = None
    adjustment: str | None = Field(None, description="Futures: the continuous adjustment.")


class Provenance(BaseModel):
    stratforge_version: str
    backtrader_version: str
    python_version: str
    plugins: dict[str, str | None] = Field(description="Plugins used by this run and versions.")
    data_sha256: str
    data_bars: int
    data_start: str
    data_end: str
    wall_time_seconds: float


class RunResult(BaseModel):
    """Everything a report or a client needs, without re-running the backtest."""

    spec: dict[str, Any]
    metrics: Metrics
    equity: EquityCurve
    trades: list[TradeRecord]
    orders: list[OrderRecord]
    rolls: list[RollEvent] = Field(default_factory=list)
    settlements: list[SettlementEvent] = Field(
        default_factory=list,
        description="Futures: positions settled or closed at their contract's expiry.",
    )
    analyzers: dict[str, Any]
    indicators: list[IndicatorRecord]
    prices: list[PriceSeries] = Field(default_factory=list)
    risk_events: list[RiskEvent] = Field(
        default_factory=list, description="Orders the risk rules and sizers rejected or changed."
    )
    strategy_info: dict[str, Any] = Field(
        default_factory=dict,
        description="What the strategy reports about itself (``result_info()``), e.g. the "
        "ML strategy's fitted models and feature importances.",
    )
    provenance: Provenance

    def to_json(self, *, indent: int | None = None) -> str:
        return self.model_dump_json(indent=indent)

    def deterministic_json(self) -> str:
        """The JSON without wall time: equal for equal specs and data."""
        return self.model_dump_json(exclude={"provenance": {"wall_time_seconds"}})

    def write(self, path: str | Path) -> Path:
        target = Path(path)
        target.write_text(self.to_json(indent=None), encoding="utf-8")
        return target

    @classmethod
    def read(cls, path: str | Path) -> RunResult:
        return cls.model_validate_json(Path(path).read_text(encoding="utf-8"))
