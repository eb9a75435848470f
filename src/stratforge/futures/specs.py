"""The built-in contract specifications, registered as a plugin under their roots.

Multipliers, tick sizes, listed month cycles, exchanges and expiry rules are public exchange
facts (CME Group and Eurex contract specifications). The margins (as of ``margin_as_of``) and
the per-contract, per-side commissions are EXAMPLE figures only, in the contract's currency:
exchanges change margins often and brokers charge their own rates, so override them with your
broker's numbers before trusting any margin or cost figure. Nothing here is trading advice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stratforge.futures.contracts import ContractSpec
from stratforge.plugin import hookimpl

if TYPE_CHECKING:
    from stratforge.plugin.registry import Register

__all__ = ["BUILTIN_SPECS", "register_contracts"]

MARGIN_AS_OF = "2024-06-01"
FULL_SIZE_COMMISSION = 2.25
MICRO_COMMISSION = 0.62

CASH_SETTLED = frozenset({"ES", "NQ", "YM", "RTY", "MES", "MNQ", "FESX"})
"""Roots settled in cash at expiry (equity indices); the others are physically delivered."""

QUARTERLY = "HMUZ"
MONTHLY = "FGHJKMNQUVXZ"


def _spec(
    root: str,
    name: str,
    exchange: str,
    multiplier: float,
    tick_size: float,
    months: str,
    expiry_rule: str,
    margins: tuple[float, float],
    *,
    currency: str = "USD",
    commission: float = FULL_SIZE_COMMISSION,
    description: str = "",
) -> ContractSpec:
    """One spec with the shared example margin date; keeps the table below to one line each."""
    initial, maintenance = margins
    return ContractSpec(
        root=root,
        name=name,
        exchange=exchange,
        currency=currency,
        multiplier=multiplier,
        tick_size=tick_size,
        months=months,
        expiry_rule=expiry_rule,
        initial_margin=initial,
        maintenance_margin=maintenance,
        margin_as_of=MARGIN_AS_OF,
        commission=commission,
        description=description,
        settlement="cash" if root in CASH_SETTLED else "physical",
    )


_EQUITY = (
    _spec("ES", "E-mini S&P 500", "CME", 50, 0.25, QUARTERLY, "third_friday", (13_200, 12_000)),
    _spec("NQ", "E-mini Nasdaq-100", "CME", 20, 0.25, QUARTERLY, "third_friday", (19_800, 18_000)),
    _spec("YM", "E-mini Dow ($5)", "CBOT", 5, 1.0, QUARTERLY, "third_friday", (9_350, 8_500)),
    _spec("RTY", "E-mini Russell 2000", "CME", 50, 0.1, QUARTERLY, "third_friday", (7_150, 6_500)),
    _spec(
        "MES",
        "Micro E-mini S&P 500",
        "CME",
        5,
        0.25,
        QUARTERLY,
        "third_friday",
        (1_320, 1_200),
        commission=MICRO_COMMISSION,
    ),
    _spec(
        "MNQ",
        "Micro E-mini Nasdaq-100",
        "CME",
        2,
        0.25,
        QUARTERLY,
        "third_friday",
        (1_980, 1_800),
        commission=MICRO_COMMISSION,
    ),
)

_ENERGY = (
    _spec("CL", "WTI Crude Oil", "NYMEX", 1_000, 0.01, MONTHLY, "cl_energy", (6_600, 6_000)),
    _spec(
        "NG", "Henry Hub Natural Gas", "NYMEX", 10_000, 0.001, MONTHLY, "ng_energy", (3_850, 3_500)
    ),
)

_METALS = (
    _spec("GC", "Gold", "COMEX", 100, 0.1, "GJMQVZ", "third_last_business_day", (9_350, 8_500)),
    _spec(
        "SI", "Silver", "COMEX", 5_000, 0.005, "HKNUZ", "third_last_business_day", (16_500, 15_000)
    ),
    _spec(
        "HG", "Copper", "COMEX", 25_000, 0.0005, "HKNUZ", "third_last_business_day", (6_600, 6_000)
    ),
)

_RATES = (
    _spec(
        "ZB",
        "30-Year U.S. Treasury Bond",
        "CBOT",
        1_000,
        1 / 32,
        QUARTERLY,
        "seventh_business_day_before_last",
        (4_400, 4_000),
    ),
    _spec(
        "ZN",
        "10-Year U.S. Treasury Note",
        "CBOT",
        1_000,
        1 / 64,
        QUARTERLY,
        "seventh_business_day_before_last",
        (2_200, 2_000),
    ),
    _spec(
        "ZF",
        "5-Year U.S. Treasury Note",
        "CBOT",
        1_000,
        1 / 128,
        QUARTERLY,
        "last_business_day",
        (1_540, 1_400),
    ),
)

_GRAIN_NOTE = "Prices in U.S. cents per bushel; 5,000 bushels, so $50 per cent."
_GRAINS = tuple(
    _spec(
        root,
        name,
        "CBOT",
        50,
        0.25,
        months,
        "business_day_before_15th",
        margins,
        description=_GRAIN_NOTE,
    )
    for root, name, months, margins in (
        ("ZC", "Corn", "HKNUZ", (1_210, 1_100)),
        ("ZS", "Soybeans", "FHKNQUX", (2_200, 2_000)),
        ("ZW", "Chicago SRW Wheat", "HKNUZ", (1_925, 1_750)),
    )
)

_FX_RULE = "fx_two_days_before_third_wednesday"
_FX = (
    _spec("6E", "Euro FX", "CME", 125_000, 0.00005, QUARTERLY, _FX_RULE, (2_420, 2_200)),
    _spec("6J", "Japanese Yen", "CME", 12_500_000, 0.0000005, QUARTERLY, _FX_RULE, (3_300, 3_000)),
)

_EUREX = (
    _spec(
        "FESX",
        "Euro Stoxx 50 Index Futures",
        "EUREX",
        10,
        1.0,
        QUARTERLY,
        "eurex_third_friday",
        (3_500, 3_500),
        currency="EUR",
        commission=1.50,
        description="Eurex margins a single (initial = maintenance) requirement.",
    ),
)

BUILTIN_SPECS: tuple[ContractSpec, ...] = (
    *_EQUITY,
    *_ENERGY,
    *_METALS,
    *_RATES,
    *_GRAINS,
    *_FX,
    *_EUREX,
)
"""Every built-in contract spec, in registration order."""


@hookimpl
def register_contracts(register: Register) -> None:
    """Register each built-in spec under its root (``ES``, ``CL``, ``FESX``...)."""
    for spec in BUILTIN_SPECS:
        register(spec, name=spec.root)
