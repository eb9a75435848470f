"""Exchange business days and the last-trade-date rules of futures contracts.

Two calendars are built with pandas' holiday machinery: ``us_futures`` (CME, CBOT, NYMEX,
COMEX full-day closures) and ``eurex``. Business-day arithmetic runs on numpy's
``busdaycalendar`` built from the same holidays, so it is vectorised and fast.

The calendars know the regular holidays only: ad hoc closures (national days of mourning,
hurricanes) and early closes are not modelled. CME still trades on the Friday before a
Saturday New Year's Day, so that holiday moves to Monday only; every other US holiday uses
the usual Saturday->Friday / Sunday->Monday observance. Juneteenth counts from 2022, the first
year CME closed for it.

Each expiry rule maps ``(year, contract month)`` to the last trade date; see
:data:`EXPIRY_RULES`. The rules follow the exchanges' contract specifications (quoted in each
function's docstring) and are checked against published dates in the tests.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Literal

import numpy as np
import pandas as pd
from pandas.tseries.holiday import (
    AbstractHolidayCalendar,
    EasterMonday,
    GoodFriday,
    Holiday,
    USLaborDay,
    USMartinLutherKingJr,
    USMemorialDay,
    USPresidentsDay,
    USThanksgivingDay,
    nearest_workday,
    sunday_to_monday,
)
from pandas.tseries.offsets import CustomBusinessDay

__all__ = [
    "CALENDARS",
    "EXPIRY_RULES",
    "RULE_CALENDARS",
    "BusinessCalendar",
    "CalendarName",
    "EurexHolidayCalendar",
    "USFuturesHolidayCalendar",
    "add_business_days",
    "business_days",
    "business_days_between",
    "eurex_business_days",
    "get_calendar",
    "is_business_day",
    "last_trade_date",
    "rule_calendar",
    "us_futures_business_days",
]

CalendarName = Literal["us_futures", "eurex"]
DateLike = dt.date | str | pd.Timestamp | np.datetime64
CALENDARS: tuple[CalendarName, ...] = ("us_futures", "eurex")

# Holidays are materialised for this span; dates outside it only lose their holidays.
_FIRST_YEAR = 1970
_LAST_YEAR = 2200


class USFuturesHolidayCalendar(AbstractHolidayCalendar):
    """Full-day closures of the CME Group US exchanges (CME, CBOT, NYMEX, COMEX)."""

    rules = [
        # No Friday observance: CME and NYSE stay open on Dec 31 before a Saturday Jan 1.
        Holiday("New Year's Day", month=1, day=1, observance=sunday_to_monday),
        USMartinLutherKingJr,
        USPresidentsDay,
        GoodFriday,
        USMemorialDay,
        Holiday("Juneteenth", month=6, day=19, start_date="2022-01-01", observance=nearest_workday),
        Holiday("Independence Day", month=7, day=4, observance=nearest_workday),
        USLaborDay,
        USThanksgivingDay,
        Holiday("Christmas Day", month=12, day=25, observance=nearest_workday),
    ]


class EurexHolidayCalendar(AbstractHolidayCalendar):
    """Eurex derivatives trading holidays (no weekend observance: the day is simply lost)."""

    rules = [
        Holiday("New Year's Day", month=1, day=1),
        GoodFriday,
        EasterMonday,
        Holiday("Labour Day", month=5, day=1),
        Holiday("Christmas Eve", month=12, day=24),
        Holiday("Christmas Day", month=12, day=25),
        Holiday("Boxing Day", month=12, day=26),
        Holiday("New Year's Eve", month=12, day=31),
    ]


_HOLIDAY_CALENDARS: dict[str, type[AbstractHolidayCalendar]] = {
    "us_futures": USFuturesHolidayCalendar,
    "eurex": EurexHolidayCalendar,
}


@dataclass(frozen=True, eq=False)
class BusinessCalendar:
    """Weekdays minus one exchange's holidays, with vectorised business-day arithmetic."""

    name: str
    holidays: np.ndarray  # sorted datetime64[D]

    @property
    def busdaycalendar(self) -> np.busdaycalendar:
        """numpy's form of this calendar, for vectorised ``np.busday_*`` calls."""
        return _busdaycalendar(self.name)

    def is_business_day(self, date: DateLike) -> bool:
        return bool(np.is_busday(_day(date), busdaycal=self.busdaycalendar))

    def add(self, date: DateLike, n: int) -> dt.date:
        """The *n*-th business day after *date* (before it if *n* < 0); *date* itself if 0.

        *date* need not be a business day: Saturday + 1 is Monday, Saturday - 1 is Friday.
        """
        if n == 0:
            return _day(date).astype(dt.date)
        roll: Literal["backward", "forward"] = "backward" if n > 0 else "forward"
        moved = np.busday_offset(_day(date), n, roll=roll, busdaycal=self.busdaycalendar)
        return moved.astype(dt.date)

    def on_or_before(self, date: DateLike) -> dt.date:
        """*date* if it is a business day, else the business day before it."""
        moved = np.busday_offset(_day(date), 0, roll="backward", busdaycal=self.busdaycalendar)
        return moved.astype(dt.date)

    def count(self, start: DateLike, end: DateLike) -> int:
        """Business days in the half-open range [start, end) (negative if end < start)."""
        return int(np.busday_count(_day(start), _day(end), busdaycal=self.busdaycalendar))

    def days(self, start: DateLike, end: DateLike) -> np.ndarray:
        """Business days from *start* to *end*, both inclusive, as datetime64[D]."""
        span = np.arange(_day(start), _day(end) + np.timedelta64(1, "D"), dtype="M8[D]")
        return span[np.is_busday(span, busdaycal=self.busdaycalendar)]


def _day(date: DateLike) -> np.datetime64:
    """Any date-like value as a numpy day (the time of day is dropped)."""
    if isinstance(date, np.datetime64):
        return date.astype("M8[D]")
    if isinstance(date, dt.datetime | pd.Timestamp | str):
        return np.datetime64(pd.Timestamp(date).date(), "D")
    return np.datetime64(date, "D")


@cache
def _holidays(name: str) -> np.ndarray:
    try:
        holiday_calendar = _HOLIDAY_CALENDARS[name]()
    except KeyError:
        known = ", ".join(CALENDARS)
        raise ValueError(f"unknown calendar {name!r}; known calendars: {known}") from None
    dates = holiday_calendar.holidays(f"{_FIRST_YEAR}-01-01", f"{_LAST_YEAR}-12-31")
    days = np.asarray(dates.values.astype("M8[D]"))
    days.flags.writeable = False
    return days


@cache
def _busdaycalendar(name: str) -> np.busdaycalendar:
    return np.busdaycalendar(holidays=_holidays(name))


@cache
def get_calendar(name: str = "us_futures") -> BusinessCalendar:
    """The named business calendar (``us_futures`` or ``eurex``), built once."""
    return BusinessCalendar(name, _holidays(name))


@cache
def us_futures_business_days() -> CustomBusinessDay:
    """A pandas offset stepping over US futures business days, e.g. ``ts + 3 * offset``."""
    return CustomBusinessDay(calendar=_busdaycalendar("us_futures"))


@cache
def eurex_business_days() -> CustomBusinessDay:
    """A pandas offset stepping over Eurex business days."""
    return CustomBusinessDay(calendar=_busdaycalendar("eurex"))


def is_business_day(date: DateLike, calendar: str = "us_futures") -> bool:
    return get_calendar(calendar).is_business_day(date)


def add_business_days(date: DateLike, n: int, calendar: str = "us_futures") -> dt.date:
    """The *n*-th business day after *date*, or before it for negative *n*."""
    return get_calendar(calendar).add(date, n)


def business_days_between(start: DateLike, end: DateLike, calendar: str = "us_futures") -> int:
    """Business days in [start, end): how many trading sessions lie between two dates."""
    return get_calendar(calendar).count(start, end)


def business_days(start: DateLike, end: DateLike, calendar: str = "us_futures") -> pd.DatetimeIndex:
    """The business days from *start* to *end* inclusive, as a tz-naive DatetimeIndex."""
    return pd.DatetimeIndex(get_calendar(calendar).days(start, end))


# --- expiry rules -------------------------------------------------------------------------


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The *n*-th given weekday (Monday = 0) of a month."""
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _first_of_next_month(year: int, month: int) -> dt.date:
    return dt.date(year + month // 12, month % 12 + 1, 1)


def _previous_month(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


def third_friday(year: int, month: int) -> dt.date:
    """CME equity index (ES, NQ, YM, RTY, MES, MNQ): 9:30 ET on the third Friday of the
    contract month; the business day before it when that Friday is a holiday."""
    return get_calendar("us_futures").on_or_before(_nth_weekday(year, month, 4, 3))


def cl_energy(year: int, month: int) -> dt.date:
    """NYMEX WTI (CL): 3 business days before the 25th calendar day of the month prior to the
    contract month; 4 business days before it if the 25th is not a business day."""
    calendar = get_calendar("us_futures")
    anchor = dt.date(*_previous_month(year, month), 25)
    return calendar.add(anchor, -3 if calendar.is_business_day(anchor) else -4)


def ng_energy(year: int, month: int) -> dt.date:
    """NYMEX Henry Hub (NG): the 3rd last business day of the month prior to the contract
    month, i.e. 3 business days before its first calendar day."""
    return get_calendar("us_futures").add(dt.date(year, month, 1), -3)


def third_last_business_day(year: int, month: int) -> dt.date:
    """COMEX metals (GC, SI, HG): the third last business day of the contract month."""
    return get_calendar("us_futures").add(_first_of_next_month(year, month), -3)


def last_business_day(year: int, month: int) -> dt.date:
    """CBOT 5- and 2-year notes (ZF, ZT): the last business day of the contract month."""
    return get_calendar("us_futures").add(_first_of_next_month(year, month), -1)


def seventh_business_day_before_last(year: int, month: int) -> dt.date:
    """CBOT bonds and 10-year notes (ZB, ZN): the 7th business day preceding the last
    business day of the contract month."""
    return get_calendar("us_futures").add(last_business_day(year, month), -7)


def business_day_before_15th(year: int, month: int) -> dt.date:
    """CBOT grains (ZC, ZS, ZW): the business day prior to the 15th calendar day of the
    contract month."""
    return get_calendar("us_futures").add(dt.date(year, month, 15), -1)


def fx_two_days_before_third_wednesday(year: int, month: int) -> dt.date:
    """CME FX (6E, 6J): 9:16 CT on the second business day before the third Wednesday of the
    contract month (usually the Monday)."""
    return get_calendar("us_futures").add(_nth_weekday(year, month, 2, 3), -2)


def eurex_third_friday(year: int, month: int) -> dt.date:
    """Eurex index futures (FESX): the third Friday of the contract month if it is an
    exchange day, else the exchange day before it."""
    return get_calendar("eurex").on_or_before(_nth_weekday(year, month, 4, 3))


EXPIRY_RULES: dict[str, Callable[[int, int], dt.date]] = {
    "third_friday": third_friday,
    "cl_energy": cl_energy,
    "ng_energy": ng_energy,
    "third_last_business_day": third_last_business_day,
    "seventh_business_day_before_last": seventh_business_day_before_last,
    "last_business_day": last_business_day,
    "business_day_before_15th": business_day_before_15th,
    "fx_two_days_before_third_wednesday": fx_two_days_before_third_wednesday,
    "eurex_third_friday": eurex_third_friday,
}
"""Rule name -> function of (year, contract month) giving the last trade date."""

RULE_CALENDARS: dict[str, CalendarName] = {"eurex_third_friday": "eurex"}
"""The calendar each rule counts business days on; ``us_futures`` unless listed."""


def rule_calendar(rule: str) -> BusinessCalendar:
    """The business calendar a contract with this expiry rule trades on."""
    _check_rule(rule)
    return get_calendar(RULE_CALENDARS.get(rule, "us_futures"))


def last_trade_date(rule: str, year: int, month: int) -> dt.date:
    """The last trade date of the *year*/*month* contract under the named expiry rule."""
    _check_rule(rule)
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 1-12, got {month}")
    return EXPIRY_RULES[rule](year, month)


def _check_rule(rule: str) -> None:
    if rule not in EXPIRY_RULES:
        known = ", ".join(sorted(EXPIRY_RULES))
        raise ValueError(f"unknown expiry rule {rule!r}; known rules: {known}")
