"""Exchange business-day calendars and last-trade-date rules against published dates."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from pandas.tseries.offsets import CustomBusinessDay

from stratforge.futures import calendar
from stratforge.futures.calendar import (
    EXPIRY_RULES,
    USFuturesHolidayCalendar,
    add_business_days,
    business_days,
    business_days_between,
    get_calendar,
    is_business_day,
    last_trade_date,
    rule_calendar,
    us_futures_business_days,
)
from stratforge.futures.contracts import ContractId


def _d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


# --- calendars ----------------------------------------------------------------------------

US_CLOSED = [
    "2022-12-26",  # Christmas (Sunday) observed Monday
    "2023-01-02",  # New Year's Day (Sunday) observed Monday
    "2023-01-16",  # Martin Luther King Jr. Day
    "2023-02-20",  # Presidents' Day
    "2023-06-19",  # Juneteenth
    "2022-06-20",  # Juneteenth (Sunday) observed Monday, the first year CME closed
    "2024-03-29",  # Good Friday
    "2024-05-27",  # Memorial Day
    "2024-07-04",  # Independence Day
    "2024-09-02",  # Labor Day
    "2024-11-28",  # Thanksgiving
    "2021-12-24",  # Christmas (Saturday) observed Friday
    "2026-07-03",  # Independence Day (Saturday) observed Friday
    "2024-03-30",  # a Saturday
]
US_OPEN = [
    "2021-12-31",  # New Year's Day 2022 is a Saturday: no Friday observance
    "2021-06-18",  # Juneteenth 2021 was a federal holiday but CME traded
    "2023-11-24",  # the day after Thanksgiving
    "2023-12-22",
    "2024-06-18",
]


@pytest.mark.parametrize("day", US_CLOSED)
def test_us_holidays_and_weekends_are_not_business_days(day: str) -> None:
    assert not is_business_day(day)


@pytest.mark.parametrize("day", US_OPEN)
def test_us_business_days(day: str) -> None:
    assert is_business_day(_d(day))


@pytest.mark.parametrize(
    ("day", "open_"),
    [
        ("2024-04-01", False),  # Easter Monday
        ("2024-03-29", False),  # Good Friday
        ("2024-05-01", False),
        ("2024-12-24", False),
        ("2024-12-26", False),
        ("2024-12-31", False),
        ("2025-01-01", False),
        ("2024-07-04", True),  # a US holiday, not a Eurex one
        ("2024-11-28", True),
    ],
)
def test_eurex_calendar(day: str, open_: bool) -> None:
    assert is_business_day(day, calendar="eurex") is open_


def test_pandas_offset_agrees_with_the_holiday_calendar() -> None:
    offset = us_futures_business_days()
    assert isinstance(offset, CustomBusinessDay)
    assert us_futures_business_days() is offset  # cached
    by_offset = pd.date_range("2015-01-01", "2030-12-31", freq=offset)
    by_pandas_calendar = pd.date_range(
        "2015-01-01", "2030-12-31", freq=CustomBusinessDay(calendar=USFuturesHolidayCalendar())
    )
    by_numpy = business_days("2015-01-01", "2030-12-31")
    assert by_offset.equals(by_pandas_calendar)
    np.testing.assert_array_equal(by_offset.values.astype("M8[D]"), by_numpy.values)
    assert pd.Timestamp("2024-03-28") + offset == pd.Timestamp("2024-04-01")


def test_add_business_days_counts_sessions_either_way() -> None:
    assert add_business_days("2024-03-28", 1) == _d("2024-04-01")  # over Good Friday
    assert add_business_days("2024-04-01", -1) == _d("2024-03-28")
    assert add_business_days("2024-03-30", 1) == _d("2024-04-01")  # from a Saturday
    assert add_business_days("2024-03-30", -1) == _d("2024-03-28")
    assert add_business_days(dt.date(2022, 12, 25), -4) == _d("2022-12-20")
    assert add_business_days(pd.Timestamp("2024-01-10 15:30"), 0) == _d("2024-01-10")
    assert add_business_days("2024-01-02", 10) == _d("2024-01-17")  # over MLK day


def test_business_days_between_is_half_open() -> None:
    assert business_days_between("2024-03-25", "2024-04-02") == 5  # Good Friday excluded
    assert business_days_between("2024-04-02", "2024-03-25") == -5
    assert business_days_between("2024-01-08", "2024-01-08") == 0
    days = business_days("2024-12-20", "2025-01-03")
    assert [d.day for d in days] == [20, 23, 24, 26, 27, 30, 31, 2, 3]


def test_unknown_calendar() -> None:
    with pytest.raises(ValueError, match="known calendars: us_futures, eurex"):
        get_calendar("lse")


# --- expiry rules --------------------------------------------------------------------------

ES_EXPIRIES = [
    "2023-03-17", "2023-06-16", "2023-09-15", "2023-12-15",
    "2024-03-15", "2024-06-21", "2024-09-20", "2024-12-20",
    "2025-03-21", "2025-06-20", "2025-09-19", "2025-12-19",
]  # fmt: skip

# CL January 2023 ... December 2025. Each date is 3 business days before the 25th of the month
# before the contract month, or 4 when the 25th is a weekend or holiday (marked *).
CL_EXPIRIES = [
    "2022-12-20",  # F23 *Sun 25th
    "2023-01-20",  # G23
    "2023-02-21",  # H23 *Sat
    "2023-03-21",  # J23 *Sat
    "2023-04-20",  # K23
    "2023-05-22",  # M23
    "2023-06-20",  # N23 *Sun
    "2023-07-20",  # Q23
    "2023-08-22",  # U23
    "2023-09-20",  # V23
    "2023-10-20",  # X23
    "2023-11-20",  # Z23 *Sat; Thanksgiving (23rd) skipped
    "2023-12-19",  # F24 *Christmas
    "2024-01-22",  # G24
    "2024-02-20",  # H24 *Sun
    "2024-03-20",  # J24
    "2024-04-22",  # K24
    "2024-05-21",  # M24 *Sat
    "2024-06-20",  # N24
    "2024-07-22",  # Q24
    "2024-08-20",  # U24 *Sun
    "2024-09-20",  # V24
    "2024-10-22",  # X24
    "2024-11-20",  # Z24
    "2024-12-19",  # F25 *Christmas
    "2025-01-21",  # G25 *Sat
    "2025-02-20",  # H25
    "2025-03-20",  # J25
    "2025-04-22",  # K25
    "2025-05-20",  # M25 *Sun
    "2025-06-20",  # N25
    "2025-07-22",  # Q25
    "2025-08-20",  # U25
    "2025-09-22",  # V25
    "2025-10-21",  # X25 *Sat
    "2025-11-20",  # Z25
]

# Published last trade dates. CLZ23, CLF24, CLG24: CME's CL calendar. CLK20: the contract
# that settled negative on its last day. The rest from Dow Jones Market Data's daily front-month
# reports, which flag the "new front month" the session after each expiry (e.g. Feb on
# 2022-12-21, so CLF23 last traded on 2022-12-20 and not on 2022-12-19).
CL_KNOWN = {
    "CLK20": "2020-04-21",
    "CLV21": "2021-09-21",
    "CLJ22": "2022-03-22",
    "CLX22": "2022-10-20",
    "CLF23": "2022-12-20",
    "CLZ23": "2023-11-20",
    "CLF24": "2023-12-19",
    "CLG24": "2024-01-22",
}

OTHER_KNOWN = {
    # COMEX gold: third last business day of the contract month.
    ("third_last_business_day", "GCZ23"): "2023-12-27",
    ("third_last_business_day", "GCG24"): "2024-02-27",
    ("third_last_business_day", "GCJ24"): "2024-04-26",
    ("third_last_business_day", "GCM24"): "2024-06-26",
    # CBOT 10-year note: 7 business days before the last business day.
    ("seventh_business_day_before_last", "ZNZ23"): "2023-12-19",
    ("seventh_business_day_before_last", "ZNH24"): "2024-03-19",  # last bday 28th (Good Fri)
    ("seventh_business_day_before_last", "ZNM24"): "2024-06-18",  # Juneteenth skipped
    # CBOT 5-year note: last business day.
    ("last_business_day", "ZFZ23"): "2023-12-29",
    ("last_business_day", "ZFH24"): "2024-03-28",
    # CBOT corn: business day before the 15th.
    ("business_day_before_15th", "ZCZ23"): "2023-12-14",
    ("business_day_before_15th", "ZCH24"): "2024-03-14",
    ("business_day_before_15th", "ZCN24"): "2024-07-12",  # the 15th is a Monday
    # CME euro FX: 2 business days before the third Wednesday.
    ("fx_two_days_before_third_wednesday", "6EZ23"): "2023-12-18",
    ("fx_two_days_before_third_wednesday", "6EH24"): "2024-03-18",
    ("fx_two_days_before_third_wednesday", "6EM24"): "2024-06-17",  # Wed is Juneteenth
    # NYMEX natural gas: 3rd last business day of the month before.
    ("ng_energy", "NGF21"): "2020-12-29",
    ("ng_energy", "NGH21"): "2021-02-24",
    ("ng_energy", "NGF24"): "2023-12-27",
    ("ng_energy", "NGG24"): "2024-01-29",
    # Good Friday on the third Friday: both exchanges expire on the Thursday.
    ("third_friday", "ESH08"): "2008-03-20",
    ("eurex_third_friday", "FESXH08"): "2008-03-20",
    ("eurex_third_friday", "FESXH24"): "2024-03-15",
}


def test_es_every_quarter_2023_to_2025() -> None:
    got = [last_trade_date("third_friday", y, m) for y in (2023, 2024, 2025) for m in (3, 6, 9, 12)]
    assert got == [_d(day) for day in ES_EXPIRIES]


def test_cl_every_month_2023_to_2025() -> None:
    got = [last_trade_date("cl_energy", y, m) for y in (2023, 2024, 2025) for m in range(1, 13)]
    assert got == [_d(day) for day in CL_EXPIRIES]


@pytest.mark.parametrize(("code", "expected"), sorted(CL_KNOWN.items()))
def test_cl_published_dates(code: str, expected: str) -> None:
    contract = ContractId.parse(code)
    assert last_trade_date("cl_energy", contract.year, contract.month) == _d(expected)


@pytest.mark.parametrize(("key", "expected"), sorted(OTHER_KNOWN.items()))
def test_other_published_dates(key: tuple[str, str], expected: str) -> None:
    rule, code = key
    contract = ContractId.parse(code)
    assert last_trade_date(rule, contract.year, contract.month) == _d(expected)


@pytest.mark.parametrize("rule", sorted(EXPIRY_RULES))
def test_every_rule_gives_a_business_day_in_or_just_before_the_month(rule: str) -> None:
    business = rule_calendar(rule)
    for year in range(2000, 2031):
        for month in range(1, 13):
            day = last_trade_date(rule, year, month)
            assert business.is_business_day(day), (rule, year, month, day)
            months_before = (year - day.year) * 12 + month - day.month
            assert months_before in ((1,) if rule in ("cl_energy", "ng_energy") else (0,))


def test_unknown_rule_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown expiry rule 'fourth_friday'") as info:
        last_trade_date("fourth_friday", 2024, 3)
    assert all(name in str(info.value) for name in EXPIRY_RULES)
    with pytest.raises(ValueError, match="month must be 1-12"):
        last_trade_date("third_friday", 2024, 13)


def test_rule_functions_are_importable_by_name() -> None:
    assert calendar.EXPIRY_RULES["cl_energy"] is calendar.cl_energy
    assert rule_calendar("eurex_third_friday").name == "eurex"
    assert rule_calendar("third_friday").name == "us_futures"
