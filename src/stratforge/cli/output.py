"""What ``run`` prints: the headline metrics and, for futures, the first rolls, settlements
and fills in the real contracts traded (the rest are in ``--json`` / ``--out``)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any, TypeVar

from rich.table import Table

from stratforge.cli.common import out
from stratforge.core.results import PERCENT_METRICS, RunResult

SHOWN_ROWS = 8
FUTURES_ONLY = frozenset({"rolls", "roll_cost", "peak_margin", "peak_margin_to_equity"})

Item = TypeVar("Item")


def print_summary(result: RunResult) -> None:
    """A rich table of the headline metrics."""
    spec = result.spec
    datas = spec["data"] if isinstance(spec["data"], list) else [spec["data"]]
    markets = ", ".join(
        d["symbol"] or (f"{d['root']} ({d['source']} chain)" if d["root"] else d["source"])
        for d in datas
    )
    title = f"{spec['strategy']['name']} on {markets}"
    table = Table(title=title, show_header=False)
    table.add_column("metric", style="bold")
    table.add_column("value", justify="right")
    p = result.provenance
    if len(result.prices) > 1:  # a portfolio: each market's own bars and dates
        for series in result.prices:
            times = series.datetime
            table.add_row(f"bars {series.data}", _span(len(times), times[0], times[-1]))
    else:
        table.add_row("bars", _span(p.data_bars, p.data_start, p.data_end))
    for name, value in result.metrics.model_dump(exclude={"bars"}).items():
        if name in FUTURES_ONLY and value is None:
            continue
        table.add_row(name.replace("_", " "), format_metric(name, value))
    table.add_row("wall time", f"{p.wall_time_seconds:.2f} s")
    out.print(table)
    if result.rolls:
        print_rolls(result)
    if result.settlements:
        print_settlements(result)
    if result.rolls or result.settlements:
        print_fills(result)


def _span(bars: int, start: str, end: str) -> str:
    return f"{bars:,} ({start[:10]} to {end[:10]})"


def format_metric(name: str, value: Any) -> str:
    """A metric as the summary shows it: percentages, whole days, money to the cent."""
    if value is None:
        return "n/a"
    if name in PERCENT_METRICS:
        return f"{value:.2%}"
    if name.endswith("_days"):
        return f"{value:,.0f}"
    if isinstance(value, float):
        return (
            f"{value:,.2f}"
            if abs(value) >= 100 or name.endswith(("_cost", "_margin"))
            else f"{value:.3f}"
        )
    return f"{value:,}"


def print_rolls(result: RunResult) -> None:
    """Roll events: the position moved from one real contract to the next, with costs."""
    print_first_rows(
        "Roll events",
        ("date", "data", "from", "to", "size", "exit", "entry", "cost"),
        {"size", "exit", "entry", "cost"},
        result.rolls,
        lambda roll: (
            roll.datetime[:10],
            roll.data,
            roll.from_contract,
            roll.to_contract,
            f"{roll.size:g}",
            f"{roll.exit_price:,.2f}",
            f"{roll.entry_price:,.2f}",
            f"{roll.cost:,.2f}",
        ),
    )


def print_settlements(result: RunResult) -> None:
    """Positions ended at their contract's expiry: settled in cash or closed."""
    print_first_rows(
        "Settled at expiry",
        ("date", "data", "contract", "settlement", "size", "price", "commission"),
        {"size", "price"},
        result.settlements,
        lambda event: (
            event.datetime[:10],
            event.data,
            event.contract,
            event.settlement,
            f"{event.size:g}",
            f"{event.price:,.2f}",
            f"{event.commission:,.2f}",
        ),
    )


def print_fills(result: RunResult) -> None:
    """The first fills, each in the real contract traded."""
    print_first_rows(
        "Fills in real contracts",
        ("date", "contract", "side", "size", "price", "commission", "roll leg"),
        set(),
        [o for o in result.orders if o.executed_size],
        lambda order: (
            (order.executed_datetime or "")[:10],
            order.contract or order.data,
            order.side,
            f"{abs(order.executed_size):g}",
            f"{order.executed_price:,.2f}",
            f"{order.commission:,.2f}",
            "yes" if order.roll else "",
        ),
    )


def print_first_rows(
    title: str,
    columns: Sequence[str],
    right: Collection[str],
    items: Sequence[Item],
    row: Callable[[Item], tuple[str, ...]],
) -> None:
    """A table of the first ``SHOWN_ROWS`` items, titled with how many there are."""
    table = Table(title=f"{title} ({len(items)})")
    for column in columns:
        table.add_column(column, justify="right" if column in right else "left")
    for item in items[:SHOWN_ROWS]:
        table.add_row(*row(item))
    if len(items) > SHOWN_ROWS:
        table.caption = f"... {len(items) - SHOWN_ROWS} more in --json / --out"
    out.print(table)
