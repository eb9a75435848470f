"""Contract specifications and contract codes (``ESZ3``, ``ESZ23``, ``ESZ2023``, ``ES 2023-12``)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Literal

MONTH_CODES = "FGHJKMNQUVXZ"
"""Futures month letters, January (F) to December (Z)."""

CodeStyle = Literal["short", "two_digit", "full", "iso"]
Settlement = Literal["cash", "physical"]


class ContractCodeError(ValueError):
    """A contract code could not be parsed."""


@dataclass(frozen=True, order=True)
class ContractId:
    """One contract month of a root, e.g. ES December 2023."""

    root: str
    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise ContractCodeError(f"month must be 1-12, got {self.month}")

    @property
    def month_code(self) -> str:
        return MONTH_CODES[self.month - 1]

    @property
    def code(self) -> str:
        """The two-digit-year form, ``ESZ23``: unambiguous for a century, short to read."""
        return self.format("two_digit")

    def format(self, style: CodeStyle = "two_digit") -> str:
        if style == "short":
            return f"{self.root}{self.month_code}{self.year % 10}"
        if style == "two_digit":
            return f"{self.root}{self.month_code}{self.year % 100:02d}"
        if style == "full":
            return f"{self.root}{self.month_code}{self.year}"
        if style == "iso":
            return f"{self.root} {self.year}-{self.month:02d}"
        raise ValueError(f"unknown code style {style!r}; use short, two_digit, full or iso")

    def __str__(self) -> str:
        return self.code

    @classmethod
    def parse(cls, text: str, *, pivot_year: int | None = None) -> ContractId:
        """Parse ``ESZ3``, ``ESZ23``, ``ESZ2023`` or ``ES 2023-12`` (also ``ES_202312``).

        A one-digit year is resolved to the year nearest *pivot_year* (default: this year)
        with that last digit; a two-digit year to 2000-2069 or 1970-1999.
        """
        cleaned = text.strip().upper() if isinstance(text, str) else ""
        iso = _ISO_CODE.fullmatch(cleaned)
        letter = None if iso else _LETTER_CODE.fullmatch(cleaned)
        try:
            if iso:
                return cls(iso["root"], int(iso["year"]), int(iso["month"]))
            if letter:
                year = _resolve_year(letter["year"], pivot_year)
                return cls(letter["root"], year, MONTH_CODES.index(letter["month"]) + 1)
        except ContractCodeError as exc:
            raise ContractCodeError(f"cannot parse contract code {text!r}: {exc}") from None
        raise ContractCodeError(
            f"cannot parse contract code {text!r}; use e.g. ESZ3, ESZ23, ESZ2023 or ES 2023-12"
        )


_LETTER_CODE = re.compile(r"(?P<root>[A-Z0-9]+?)[ _-]?(?P<month>[FGHJKMNQUVXZ])(?P<year>\d{1,4})")
_ISO_CODE = re.compile(r"(?P<root>[A-Z0-9]+)[ _-](?P<year>\d{4})-?(?P<month>\d{2})")


def _resolve_year(digits: str, pivot_year: int | None) -> int:
    if len(digits) == 4:
        return int(digits)
    if len(digits) == 2:
        value = int(digits)
        return 2000 + value if value < 70 else 1900 + value
    if len(digits) == 1:
        pivot = pivot_year if pivot_year is not None else dt.date.today().year
        same_decade = pivot - pivot % 10 + int(digits)
        candidates = (same_decade - 10, same_decade, same_decade + 10)
        # Nearest to the pivot; a tie (five years either way) goes to the later year.
        return min(candidates, key=lambda y: (abs(y - pivot), -y))
    raise ContractCodeError(f"year {digits!r} must have 1, 2 or 4 digits")


@dataclass(frozen=True)
class ContractSpec:
    """Exchange facts for one futures root. Margins and commission are example figures.

    ``expiry_rule`` names a function in ``stratforge.futures.calendar.EXPIRY_RULES`` that
    gives the last trade date of a contract month.
    """

    engine_supplied: ClassVar[bool] = True
    """A data source parameter of this type receives the data spec's root from the engine."""

    root: str
    name: str
    exchange: str
    currency: str
    multiplier: float
    tick_size: float
    months: str
    expiry_rule: str
    initial_margin: float
    maintenance_margin: float
    margin_as_of: str
    commission: float = 2.0
    description: str = field(default="", compare=False)
    settlement: Settlement = "physical"
    """How an expiring position ends: ``cash`` (settled at the final settlement price, taken
    as the last trade date's close) or ``physical`` (closed at that close, with slippage,
    as a trader would before delivery)."""
    first_notice_rule: str | None = field(default=None, compare=False)
    """For physically delivered roots whose first notice day comes before the last trade
    date: a name in ``stratforge.futures.calendar.FIRST_NOTICE_RULES`` (roll before it)."""
    calendar: str | None = field(default=None, compare=False)
    """The trading calendar's name; ``None``: the expiry rule's (``rule_calendar``)."""
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)
    """Fact (``multiplier``, ``expiry_rule``, ``initial_margin``...) -> where it comes from,
    e.g. ``"CME Group, E-mini S&P 500 Futures Contract Specs"``."""

    @property
    def tick_value(self) -> float:
        return self.multiplier * self.tick_size

    @property
    def month_numbers(self) -> tuple[int, ...]:
        return tuple(MONTH_CODES.index(code) + 1 for code in self.months)

    def contract(self, year: int, month: int) -> ContractId:
        if not 1 <= month <= 12:
            raise ContractCodeError(f"month must be 1-12, got {month}")
        if month not in self.month_numbers:
            raise ContractCodeError(
                f"{self.root} lists months {self.months}; {MONTH_CODES[month - 1]} is not one"
            )
        return ContractId(self.root, year, month)

    def last_trade_date(self, contract: ContractId | tuple[int, int]) -> dt.date:
        from stratforge.futures.calendar import last_trade_date

        if isinstance(contract, ContractId):
            if contract.root != self.root:
                raise ValueError(f"{contract} is not a {self.root} contract")
            year, month = contract.year, contract.month
        else:
            year, month = contract
        return last_trade_date(self.expiry_rule, year, month)

    def first_notice_date(self, contract: ContractId | tuple[int, int]) -> dt.date | None:
        """The first notice day under ``first_notice_rule``; ``None`` if the root has none."""
        if self.first_notice_rule is None:
            return None
        from stratforge.futures.calendar import first_notice_date

        if isinstance(contract, ContractId):
            year, month = contract.year, contract.month
        else:
            year, month = contract
        return first_notice_date(self.first_notice_rule, year, month)

    def contracts_between(self, start: dt.date, end: dt.date) -> list[ContractId]:
        """Listed contracts whose last trade date falls in [start, end + one cycle]."""
        found: list[ContractId] = []
        # From the year before: a contract month can trade into the next year (SOFR).
        for year in range(start.year - 1, end.year + 2):
            for month in self.month_numbers:
                contract = ContractId(self.root, year, month)
                if start <= self.last_trade_date(contract):
                    found.append(contract)
        cutoff = next((c for c in found if self.last_trade_date(c) > end), None)
        return [c for c in found if cutoff is None or c <= cutoff]
