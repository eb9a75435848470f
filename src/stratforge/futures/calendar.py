"""Exchange business days and the last-trade-date rules of futures contracts.

Calendars are built with pandas' holiday machinery: ``us_futures`` (CME, CBOT, NYMEX,
COMEX full-day closures; also used for CFE and ICE US), ``eurex``, ``uk`` (England and Wales
bank holidays: ICE Futures Europe financials and softs), ``ice_europe`` (ICE Futures Europe
energy, open on most UK bank holidays), ``japan`` (JPX/OSE), ``hong_kong`` (HKEX, without
most lunar-calendar holidays) and ``weekdays`` (no holidays: the stand-in for exchanges whose
holidays are not modelled, KRX and ASX). Business-day arithmetic runs on numpy's
``busdaycalendar`` built from the same holidays, so it is vectorised and fast.

The calendars know the regular holidays only: ad hoc closures (national days of mourning,
hurricanes) and early closes are not modelled. CME still trades on the Friday before a
Saturday New Year's Day, so that holiday moves to Monday only; every other US holiday uses
the usual Saturday->Friday / Sunday->Monday observance. Juneteenth counts from 2022, the first
year CME closed for it.

Each expiry rule maps ``(year, contract month)`` to the last trade date; see
:data:`EXPIRY_RULES` (dates in the contract month, or the month before for CL and NG) and
:data:`OFF_MONTH_EXPIRY_RULES` (dates months away from it: Brent, heating oil, SOFR...).
The rules follow the exchanges' contract specifications (quoted in each function's
docstring) and are checked against published dates in the tests. First notice days of
physically delivered contracts have their own rules, :data:`FIRST_NOTICE_RULES`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Literal

import numpy as np
import pandas as pd
from dateutil.relativedelta import MO
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
    next_monday,
    sunday_to_monday,
)
from pandas.tseries.offsets import CustomBusinessDay

__all__ = [
    "ALL_EXPIRY_RULES",
    "CALENDARS",
    "EXPIRY_RULES",
    "FIRST_NOTICE_RULES",
    "OFF_MONTH_EXPIRY_RULES",
    "RULE_CALENDARS",
    "RULE_MONTH_OFFSETS",
    "BusinessCalendar",
    "CalendarName",
    "EurexHolidayCalendar",
    "USFuturesHolidayCalendar",
    "add_business_days",
    "business_days",
    "business_days_between",
    "eurex_business_days",
    "first_notice_date",
    "get_calendar",
    "is_business_day",
    "last_trade_date",
    "rule_calendar",
    "us_futures_business_days",
]

CalendarName = Literal["us_futures", "eurex", "uk", "ice_europe", "japan", "hong_kong", "weekdays"]
DateLike = dt.date | str | pd.Timestamp | np.datetime64
CALENDARS: tuple[CalendarName, ...] = (
    "us_futures",
    "eurex",
    "uk",
    "ice_europe",
    "japan",
    "hong_kong",
    "weekdays",
)

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


def _weekend_plus_two(day: dt.datetime) -> dt.datetime:
    """UK Christmas and Boxing Day: a Saturday or Sunday one moves two days on (Christmas on
    a Sunday is kept on Tuesday the 27th, after Boxing Day on the Monday)."""
    return day + dt.timedelta(days=2) if day.weekday() >= 5 else day


class UKHolidayCalendar(AbstractHolidayCalendar):
    """England and Wales bank holidays (ICE Futures Europe financial and soft contracts).

    One-off moves and extra days (2020 VE Day, 2022 Jubilee and state funeral, 2023
    coronation, 2011/2012) are listed in ``_ADDED_HOLIDAYS``/``_REMOVED_HOLIDAYS``."""

    rules = [
        Holiday("New Year's Day", month=1, day=1, observance=next_monday),
        GoodFriday,
        EasterMonday,
        Holiday("Early May bank holiday", month=5, day=1, offset=pd.DateOffset(weekday=MO(1))),
        Holiday("Spring bank holiday", month=5, day=31, offset=pd.DateOffset(weekday=MO(-1))),
        Holiday("Summer bank holiday", month=8, day=31, offset=pd.DateOffset(weekday=MO(-1))),
        Holiday("Christmas Day", month=12, day=25, observance=_weekend_plus_two),
        Holiday("Boxing Day", month=12, day=26, observance=_weekend_plus_two),
    ]


class ICEEuropeHolidayCalendar(AbstractHolidayCalendar):
    """ICE Futures Europe energy (Brent, gasoil): closed on New Year's Day, Good Friday,
    Christmas and Boxing Day; open on the other UK bank holidays."""

    rules = [
        Holiday("New Year's Day", month=1, day=1, observance=next_monday),
        GoodFriday,
        Holiday("Christmas Day", month=12, day=25, observance=_weekend_plus_two),
        Holiday("Boxing Day", month=12, day=26, observance=_weekend_plus_two),
    ]


def _hk_christmas(day: dt.datetime) -> dt.datetime:
    """Hong Kong: Christmas on a Sunday is kept on Tuesday the 27th (Monday being the first
    weekday after Christmas); on a Saturday it is not moved."""
    return day + dt.timedelta(days=2) if day.weekday() == 6 else day


class HongKongHolidayCalendar(AbstractHolidayCalendar):
    """HKEX: the Western-calendar holidays, plus the Lunar New Year days listed in
    ``_ADDED_HOLIDAYS`` (2019-2026). Ching Ming, Buddha's Birthday, Tuen Ng, Mid-Autumn and
    Chung Yeung (lunar dates) are NOT modelled."""

    rules = [
        Holiday("New Year's Day", month=1, day=1, observance=sunday_to_monday),
        GoodFriday,
        EasterMonday,
        Holiday("Labour Day", month=5, day=1, observance=sunday_to_monday),
        Holiday("HKSAR Establishment Day", month=7, day=1, observance=sunday_to_monday),
        Holiday("National Day", month=10, day=1, observance=sunday_to_monday),
        Holiday("Christmas Day", month=12, day=25, observance=_hk_christmas),
        # "The first weekday after Christmas Day" (Saturday counts as a weekday in Hong Kong).
        Holiday("Boxing Day", month=12, day=26, observance=sunday_to_monday),
    ]


class _NoHolidays(AbstractHolidayCalendar):
    """Weekdays only (and the base of the ``japan`` calendar, whose days are computed)."""

    rules: list[Holiday] = []


_HOLIDAY_CALENDARS: dict[str, type[AbstractHolidayCalendar]] = {
    "us_futures": USFuturesHolidayCalendar,
    "eurex": EurexHolidayCalendar,
    "uk": UKHolidayCalendar,
    "ice_europe": ICEEuropeHolidayCalendar,
    "japan": _NoHolidays,
    "hong_kong": HongKongHolidayCalendar,
    "weekdays": _NoHolidays,
}

_LUNAR_NEW_YEAR_HK = (
    # HKEX Lunar New Year closures (weekdays; Sunday first days substituted later in the week).
    "2019-02-05", "2019-02-06", "2019-02-07", "2020-01-27", "2020-01-28",
    "2021-02-12", "2021-02-15", "2022-02-01", "2022-02-02", "2022-02-03",
    "2023-01-23", "2023-01-24", "2023-01-25", "2024-02-12", "2024-02-13",
    "2025-01-29", "2025-01-30", "2025-01-31", "2026-02-17", "2026-02-18", "2026-02-19",
)  # fmt: skip

_ADDED_HOLIDAYS: dict[str, tuple[str, ...]] = {
    "uk": (
        "2011-04-29",  # royal wedding
        "2012-06-04",  # spring bank holiday moved
        "2012-06-05",  # diamond jubilee
        "2020-05-08",  # early May bank holiday moved to VE Day
        "2022-06-02",  # spring bank holiday moved
        "2022-06-03",  # platinum jubilee
        "2022-09-19",  # state funeral of Queen Elizabeth II
        "2023-05-08",  # coronation of King Charles III
    ),
    "hong_kong": _LUNAR_NEW_YEAR_HK,
}
_REMOVED_HOLIDAYS: dict[str, tuple[str, ...]] = {
    "uk": ("2012-05-28", "2020-05-04", "2022-05-30"),  # the moved days' usual dates
}


def _japan_holidays(year: int) -> list[dt.date]:
    """JPX (OSE) non-trading days of *year*: Dec 31 to Jan 3 and the national holidays, with
    Sunday holidays substituted on the next weekday that is not a holiday. The rules are
    those in force from 2016 (Mountain Day), with the 2019 enthronement and the 2020/2021
    Olympic moves; the equinoxes use the usual astronomical approximation (1980-2099)."""
    y = year
    days = {dt.date(y, 1, 1), dt.date(y, 1, 2), dt.date(y, 1, 3), dt.date(y, 12, 31)}
    national = {
        _nth_weekday(y, 1, 0, 2),  # Coming of Age Day
        dt.date(y, 2, 11),  # National Foundation Day
        dt.date(y, 3, int(20.8431 + 0.242194 * (y - 1980) - (y - 1980) // 4)),  # equinox
        dt.date(y, 4, 29),  # Showa Day
        dt.date(y, 5, 3),
        dt.date(y, 5, 4),
        dt.date(y, 5, 5),
        _nth_weekday(y, 9, 0, 3),  # Respect for the Aged Day
        dt.date(y, 9, int(23.2488 + 0.242194 * (y - 1980) - (y - 1980) // 4)),  # equinox
        dt.date(y, 11, 3),  # Culture Day
        dt.date(y, 11, 23),  # Labour Thanksgiving Day
    }
    if y >= 2020:
        national.add(dt.date(y, 2, 23))  # Emperor's Birthday
    elif y <= 2018:
        national.add(dt.date(y, 12, 23))
    olympic = {2020: ("07-23", "07-24", "08-10"), 2021: ("07-22", "07-23", "08-09")}
    if y in olympic:  # Marine Day, Sports Day and Mountain Day moved for the Olympics
        national |= {dt.date.fromisoformat(f"{y}-{md}") for md in olympic[y]}
    else:
        national.add(_nth_weekday(y, 7, 0, 3))  # Marine Day
        national.add(_nth_weekday(y, 10, 0, 2))  # Sports Day
        if y >= 2016:
            national.add(dt.date(y, 8, 11))  # Mountain Day
    if y == 2019:  # the enthronement: a ten-day Golden Week and the ceremony day
        national |= {dt.date(2019, 4, 30), dt.date(2019, 5, 1), dt.date(2019, 5, 2)}
        national.add(dt.date(2019, 10, 22))
    for day in sorted(national):
        if day.weekday() == 6:  # substitute holiday: the next day that is not a holiday
            substitute = day + dt.timedelta(days=1)
            while substitute in national:
                substitute += dt.timedelta(days=1)
            days.add(substitute)
    # A weekday sandwiched between two holidays is a holiday too (e.g. 2026-09-22).
    for day in sorted(national):
        between = day + dt.timedelta(days=1)
        if between + dt.timedelta(days=1) in national and between not in national:
            days.add(between)
    return sorted(days | national)


_COMPUTED_HOLIDAYS: dict[str, Callable[[int], list[dt.date]]] = {"japan": _japan_holidays}
_COMPUTED_YEARS = range(1990, 2100)


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
    extra = [np.datetime64(day, "D") for day in _ADDED_HOLIDAYS.get(name, ())]
    if name in _COMPUTED_HOLIDAYS:
        compute = _COMPUTED_HOLIDAYS[name]
        extra += [np.datetime64(d, "D") for y in _COMPUTED_YEARS for d in compute(y)]
    removed = np.array(_REMOVED_HOLIDAYS.get(name, ()), dtype="M8[D]")
    days = np.union1d(days, np.array(extra, dtype="M8[D]"))
    days = days[~np.isin(days, removed)]
    days.flags.writeable = False
    return days


@cache
def _busdaycalendar(name: str) -> np.busdaycalendar:
    return np.busdaycalendar(holidays=_holidays(name))


@cache
def get_calendar(name: str = "us_futures") -> BusinessCalendar:
    """The named business calendar (one of :data:`CALENDARS`), built once."""
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


def _last_business_day(calendar: str, year: int, month: int) -> dt.date:
    return get_calendar(calendar).add(_first_of_next_month(year, month), -1)


def _first_business_day(calendar: str, year: int, month: int) -> dt.date:
    return get_calendar(calendar).add(dt.date(year, month, 1) - dt.timedelta(days=1), 1)


def _months_later(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + months
    return index // 12, index % 12 + 1


def fx_business_day_before_third_wednesday(year: int, month: int) -> dt.date:
    """CME Canadian dollar (6C, MCD): 9:16 CT on the business day immediately preceding the
    third Wednesday of the contract month."""
    return get_calendar("us_futures").add(_nth_weekday(year, month, 2, 3), -1)


def tenth_business_day(year: int, month: int) -> dt.date:
    """CME lean hogs (HE): 12:00 CT on the 10th business day of the contract month."""
    return get_calendar("us_futures").add(dt.date(year, month, 1) - dt.timedelta(days=1), 10)


def feeder_cattle(year: int, month: int) -> dt.date:
    """CME feeder cattle (GF): the last Thursday of the contract month; in November the
    Thursday before Thanksgiving; the Thursday before when the Thursday is a holiday.

    (The exchange also moves the date when a holiday falls in the days around it; that
    refinement is not modelled.)"""
    calendar = get_calendar("us_futures")
    thursday = _nth_weekday(year, month, 3, 5)
    if thursday.month != month:
        thursday = _nth_weekday(year, month, 3, 4)
    if month == 11:
        thursday = _nth_weekday(year, 11, 3, 3)  # Thanksgiving is the fourth Thursday
    while not calendar.is_business_day(thursday):
        thursday -= dt.timedelta(days=7)
    return thursday


def crypto_last_friday(year: int, month: int) -> dt.date:
    """CME bitcoin and ether (BTC, MBT, ETH, MET): 4:00 p.m. London time on the last Friday
    of the contract month, or the business day before it (US calendar; the UK one is not
    consulted)."""
    friday = _nth_weekday(year, month, 4, 5)
    if friday.month != month:
        friday = _nth_weekday(year, month, 4, 4)
    return get_calendar("us_futures").on_or_before(friday)


def vix_wednesday(year: int, month: int) -> dt.date:
    """Cboe CFE VIX (VX, VXM): the final settlement date, the Wednesday 30 days before the
    third Friday of the following month (counted from the business day before that Friday
    when it is a holiday); the business day before when that Wednesday is a holiday.
    Expiring contracts trade until 8:00 CT that morning."""
    calendar = get_calendar("us_futures")
    friday = calendar.on_or_before(_nth_weekday(*_months_later(year, month, 1), 4, 3))
    return calendar.on_or_before(friday - dt.timedelta(days=30))


def _business_days_before_last(calendar: str, n: int, year: int, month: int) -> dt.date:
    return get_calendar(calendar).add(_last_business_day(calendar, year, month), -n)


def ice_coffee(year: int, month: int) -> dt.date:
    """ICE US Coffee "C" (KC): one business day before the last notice day, which is seven
    business days before the last business day of the month: 8 before the last."""
    return _business_days_before_last("us_futures", 8, year, month)


def ice_cocoa(year: int, month: int) -> dt.date:
    """ICE US Cocoa (CC): one business day before the last notice day, which is ten business
    days before the last business day of the month: 11 before the last."""
    return _business_days_before_last("us_futures", 11, year, month)


def ice_cotton(year: int, month: int) -> dt.date:
    """ICE US Cotton No. 2 (CT): seventeen business days from the end of the contract month
    (the 17th last business day)."""
    return get_calendar("us_futures").add(_first_of_next_month(year, month), -17)


def ice_orange_juice(year: int, month: int) -> dt.date:
    """ICE US FCOJ-A (OJ): the 14th business day before the last business day of the month."""
    return _business_days_before_last("us_futures", 14, year, month)


def london_cocoa(year: int, month: int) -> dt.date:
    """ICE Europe London Cocoa (C): eleven business days before the last business day of
    the delivery month (London business days)."""
    return _business_days_before_last("uk", 11, year, month)


def robusta_coffee(year: int, month: int) -> dt.date:
    """ICE Europe Robusta Coffee (RC): four business days before the last business day of
    the delivery month (London business days)."""
    return _business_days_before_last("uk", 4, year, month)


def ice_gasoil(year: int, month: int) -> dt.date:
    """ICE Europe Low Sulphur Gasoil (G): 12:00 London time, two business days before the
    14th calendar day of the delivery month."""
    return get_calendar("ice_europe").add(dt.date(year, month, 14), -2)


def long_gilt(year: int, month: int) -> dt.date:
    """ICE Europe Long Gilt (R): two business days before the last business day of the
    delivery month (London business days)."""
    return _business_days_before_last("uk", 2, year, month)


def uk_third_friday(year: int, month: int) -> dt.date:
    """ICE Europe FTSE 100 (Z): the third Friday of the contract month, or the London
    business day before it."""
    return get_calendar("uk").on_or_before(_nth_weekday(year, month, 4, 3))


def euribor(year: int, month: int) -> dt.date:
    """Three-month Euribor (ICE Europe I, Eurex FEU3): 11:00 CET two business days before
    the third Wednesday of the delivery month (TARGET days; the Eurex calendar here)."""
    return get_calendar("eurex").add(_nth_weekday(year, month, 2, 3), -2)


def eurex_bond(year: int, month: int) -> dt.date:
    """Eurex fixed income (FGBL, FGBM, FGBS, FGBX, FOAT, FBTP, ...): two exchange days
    before the delivery day, the 10th calendar day of the quarterly month or the exchange
    day after it."""
    calendar = get_calendar("eurex")
    delivery = calendar.add(dt.date(year, month, 9), 1)  # the 10th, or the day after it
    return calendar.add(delivery, -2)


def ose_sq_eve(year: int, month: int) -> dt.date:
    """JPX/OSE Nikkei 225 and TOPIX futures (and SGX Nikkei 225): the business day before
    the SQ day, the second Friday of the contract month (or the business day before it)."""
    calendar = get_calendar("japan")
    return calendar.add(calendar.on_or_before(_nth_weekday(year, month, 4, 2)), -1)


def business_day_before_second_friday(year: int, month: int) -> dt.date:
    """CME Nikkei 225 (NKD, NIY): the business day before the second Friday of the contract
    month (the US calendar; the Osaka SQ is the second Friday)."""
    return get_calendar("us_futures").add(_nth_weekday(year, month, 4, 2), -1)


def jgb_fifth_before_20th(year: int, month: int) -> dt.date:
    """OSE 10-year JGB futures (JGB): the fifth business day before the delivery date, the
    20th of the contract month (or the business day after it)."""
    calendar = get_calendar("japan")
    delivery = calendar.add(dt.date(year, month, 19), 1)  # the 20th, or the day after it
    return calendar.add(delivery, -5)


def hkex_second_last_business_day(year: int, month: int) -> dt.date:
    """HKEX index futures (HSI, MHI, HHI, MCH): the business day before the last business
    day of the contract month (``hong_kong`` calendar)."""
    return get_calendar("hong_kong").add(_first_of_next_month(year, month), -2)


def krx_second_thursday(year: int, month: int) -> dt.date:
    """KRX KOSPI 200 futures: the second Thursday of the contract month (the business day
    before when it is a holiday; Korean holidays are not modelled: ``weekdays``)."""
    return _nth_weekday(year, month, 3, 2)


def asx_third_thursday(year: int, month: int) -> dt.date:
    """ASX SPI 200 (AP): the third Thursday of the contract month (Australian holidays are
    not modelled: ``weekdays``)."""
    return _nth_weekday(year, month, 3, 3)


# --- rules whose last trade date falls outside the contract month ---------------------------


def last_business_day_of_previous_month(year: int, month: int) -> dt.date:
    """NYMEX heating oil and RBOB (HO, RB): the last business day of the month before the
    contract month. Also ICE US sugar No. 11 (SB)."""
    return get_calendar("us_futures").add(dt.date(year, month, 1), -1)


def last_business_day_second_month_before(year: int, month: int) -> dt.date:
    """NYMEX Brent last day financial (BZ): the last business day of the second month before
    the contract month."""
    return get_calendar("us_futures").add(dt.date(*_previous_month(year, month), 1), -1)


def ice_brent(year: int, month: int) -> dt.date:
    """ICE Europe Brent (B): the last business day of the second month before the contract
    month (e.g. March expires on the last business day of January)."""
    return get_calendar("ice_europe").add(dt.date(*_previous_month(year, month), 1), -1)


def mcl_energy(year: int, month: int) -> dt.date:
    """NYMEX Micro WTI (MCL): 4 business days before the 25th of the month before the
    contract month (5 when the 25th is not a business day): the business day before CL."""
    return get_calendar("us_futures").add(cl_energy(year, month), -1)


def sofr_three_month(year: int, month: int) -> dt.date:
    """CME three-month SOFR (SR3): the business day before the third Wednesday of the month
    three months after the contract month, where the contract's reference quarter ends."""
    calendar = get_calendar("us_futures")
    return calendar.add(_nth_weekday(*_months_later(year, month, 3), 2, 3), -1)


# --- first notice rules ----------------------------------------------------------------------


def fnd_last_business_day_before_month(year: int, month: int) -> dt.date:
    """CBOT grains and Treasuries, COMEX and NYMEX metals: first notice day is the last
    business day of the month before the contract month."""
    return get_calendar("us_futures").add(dt.date(year, month, 1), -1)


def fnd_ice_coffee(year: int, month: int) -> dt.date:
    """ICE US coffee (KC): seven business days before the first business day of the month."""
    return get_calendar("us_futures").add(_first_business_day("us_futures", year, month), -7)


def fnd_ice_cocoa(year: int, month: int) -> dt.date:
    """ICE US cocoa (CC): ten business days before the first business day of the month."""
    return get_calendar("us_futures").add(_first_business_day("us_futures", year, month), -10)


def fnd_ice_cotton(year: int, month: int) -> dt.date:
    """ICE US cotton (CT): five business days from the end of the month before delivery
    (the fifth last business day of the month before)."""
    return get_calendar("us_futures").add(dt.date(year, month, 1), -5)


def fnd_long_gilt(year: int, month: int) -> dt.date:
    """ICE Europe Long Gilt (R): two business days before the first day of the delivery
    month (London business days)."""
    return get_calendar("uk").add(dt.date(year, month, 1), -2)


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
    "fx_business_day_before_third_wednesday": fx_business_day_before_third_wednesday,
    "tenth_business_day": tenth_business_day,
    "feeder_cattle": feeder_cattle,
    "crypto_last_friday": crypto_last_friday,
    "vix_wednesday": vix_wednesday,
    "ice_coffee": ice_coffee,
    "ice_cocoa": ice_cocoa,
    "ice_cotton": ice_cotton,
    "ice_orange_juice": ice_orange_juice,
    "london_cocoa": london_cocoa,
    "robusta_coffee": robusta_coffee,
    "ice_gasoil": ice_gasoil,
    "long_gilt": long_gilt,
    "uk_third_friday": uk_third_friday,
    "euribor": euribor,
    "eurex_bond": eurex_bond,
    "ose_sq_eve": ose_sq_eve,
    "business_day_before_second_friday": business_day_before_second_friday,
    "jgb_fifth_before_20th": jgb_fifth_before_20th,
    "hkex_second_last_business_day": hkex_second_last_business_day,
    "krx_second_thursday": krx_second_thursday,
    "asx_third_thursday": asx_third_thursday,
}
"""Rule name -> function of (year, contract month) giving the last trade date, for rules
whose date lies in the contract month (CL and NG: the month before)."""

OFF_MONTH_EXPIRY_RULES: dict[str, Callable[[int, int], dt.date]] = {
    "last_business_day_of_previous_month": last_business_day_of_previous_month,
    "last_business_day_second_month_before": last_business_day_second_month_before,
    "ice_brent": ice_brent,
    "mcl_energy": mcl_energy,
    "sofr_three_month": sofr_three_month,
}
"""Rules whose last trade date lies further from the contract month (see
:data:`RULE_MONTH_OFFSETS`); :func:`last_trade_date` knows both tables."""

RULE_MONTH_OFFSETS: dict[str, int] = {
    "cl_energy": -1,
    "ng_energy": -1,
    "last_business_day_of_previous_month": -1,
    "last_business_day_second_month_before": -2,
    "ice_brent": -2,
    "mcl_energy": -1,
    "sofr_three_month": 3,
}
"""Months from the contract month to the month of its last trade date; 0 unless listed."""

ALL_EXPIRY_RULES: dict[str, Callable[[int, int], dt.date]] = {
    **EXPIRY_RULES,
    **OFF_MONTH_EXPIRY_RULES,
}
"""Every expiry rule by name."""

FIRST_NOTICE_RULES: dict[str, Callable[[int, int], dt.date]] = {
    "fnd_last_business_day_before_month": fnd_last_business_day_before_month,
    "fnd_ice_coffee": fnd_ice_coffee,
    "fnd_ice_cocoa": fnd_ice_cocoa,
    "fnd_ice_cotton": fnd_ice_cotton,
    "fnd_long_gilt": fnd_long_gilt,
}
"""Rule name -> first notice day of a physically delivered contract month (a long position
still open then may be assigned delivery): roll before it."""

RULE_CALENDARS: dict[str, CalendarName] = {
    "eurex_third_friday": "eurex",
    "london_cocoa": "uk",
    "robusta_coffee": "uk",
    "ice_gasoil": "ice_europe",
    "long_gilt": "uk",
    "uk_third_friday": "uk",
    "euribor": "eurex",
    "eurex_bond": "eurex",
    "ose_sq_eve": "japan",
    "jgb_fifth_before_20th": "japan",
    "hkex_second_last_business_day": "hong_kong",
    "krx_second_thursday": "weekdays",
    "asx_third_thursday": "weekdays",
    "ice_brent": "ice_europe",
    "fnd_long_gilt": "uk",
}
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
    return ALL_EXPIRY_RULES[rule](year, month)


def first_notice_date(rule: str, year: int, month: int) -> dt.date:
    """The first notice day of the *year*/*month* contract under the named first notice rule."""
    if rule not in FIRST_NOTICE_RULES:
        known = ", ".join(sorted(FIRST_NOTICE_RULES))
        raise ValueError(f"unknown first notice rule {rule!r}; known rules: {known}")
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 1-12, got {month}")
    return FIRST_NOTICE_RULES[rule](year, month)


def _check_rule(rule: str) -> None:
    if rule not in ALL_EXPIRY_RULES:
        known = ", ".join(sorted(ALL_EXPIRY_RULES))
        raise ValueError(f"unknown expiry rule {rule!r}; known rules: {known}")
