"""The contract database (stratforge/futures/data/contracts.toml), its calendars and rules.

Every row is checked for internal consistency; every expiry and first notice rule added for
it is checked against last trade dates, several years each. Where a date comes from an
exchange's published calendar the comment names it; the others (marked "rule") are worked
out by hand from the contract specification's rule text on the exchange's holiday calendar,
independently of the code, and say so.
"""

from __future__ import annotations

import datetime as dt
import math
import tomllib
from collections import Counter
from importlib import resources
from pathlib import Path

import pytest

from stratforge.core.plugins import Plugins
from stratforge.core.settings import Settings
from stratforge.futures import specs
from stratforge.futures.calendar import (
    ALL_EXPIRY_RULES,
    CALENDARS,
    EXPIRY_RULES,
    FIRST_NOTICE_RULES,
    OFF_MONTH_EXPIRY_RULES,
    RULE_MONTH_OFFSETS,
    first_notice_date,
    get_calendar,
    is_business_day,
    last_trade_date,
    rule_calendar,
)
from stratforge.futures.contracts import MONTH_CODES, ContractId, ContractSpec
from stratforge.futures.specs import (
    BUILTIN_SPECS,
    DATABASE_SPECS,
    MARGIN_FACTS,
    SPEC_FACTS,
    load_contract_database,
)

DB = {spec.root: spec for spec in DATABASE_SPECS}
RAW = tomllib.loads(
    resources.files("stratforge.futures").joinpath("data", "contracts.toml").read_text()
)["contracts"]
ISO_CURRENCIES = {"USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "HKD", "KRW", "SGD"}


def _d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


# --- the rows ---------------------------------------------------------------------------------


def test_the_database_covers_the_main_exchanges() -> None:
    assert len(DATABASE_SPECS) >= 120 and len(DB) == len(DATABASE_SPECS)
    by_exchange = Counter(spec.exchange for spec in DATABASE_SPECS)
    expected = {"CME", "CBOT", "NYMEX", "COMEX", "CFE", "ICE_US", "ICE_EU", "EUREX", "OSE"}
    assert expected | {"SGX", "HKEX", "ASX", "KRX"} == set(by_exchange)
    wanted = {
        "6A", "6B", "6C", "6S", "6N", "6M", "ZT", "ZF", "ZN", "TN", "ZB", "UB", "SR3", "FGBL",
        "FGBM", "FGBS", "FGBX", "FESX", "FDAX", "FDXM", "FSMI", "VX", "LE", "HE", "GF", "KC",
        "SB", "CC", "CT", "OJ", "HO", "RB", "CL", "NG", "BZ", "B", "G", "PL", "PA", "HG", "GC",
        "SI", "ZC", "ZS", "ZW", "KE", "ZM", "ZL", "ZO", "ZR", "NKD", "NIY", "NK225", "NK",
        "HSI", "MHI", "AP", "Z", "I", "R", "MES", "MNQ", "MYM", "M2K", "MGC", "SIL", "MCL",
        "M6E",
    }  # fmt: skip
    assert not wanted - set(DB)


@pytest.mark.parametrize("root", sorted(RAW))
def test_every_row_is_consistent(root: str) -> None:
    row, spec = RAW[root], DB[root]
    assert math.isclose(row["tick_value"], row["tick_size"] * row["multiplier"], rel_tol=1e-9)
    assert math.isclose(spec.tick_value, row["tick_value"], rel_tol=1e-9)
    assert spec.months and set(spec.months) <= set(MONTH_CODES)
    assert list(spec.month_numbers) == sorted(set(spec.month_numbers))
    assert spec.expiry_rule in ALL_EXPIRY_RULES
    assert spec.calendar in CALENDARS and spec.calendar == rule_calendar(spec.expiry_rule).name
    assert spec.currency in ISO_CURRENCIES
    assert spec.settlement in ("cash", "physical")
    assert spec.multiplier > 0 and spec.tick_size > 0 and spec.commission > 0
    assert 0 < spec.maintenance_margin <= spec.initial_margin
    dt.date.fromisoformat(spec.margin_as_of)
    facts = [*SPEC_FACTS, *MARGIN_FACTS, "calendar", "commission"]
    if spec.first_notice_rule is not None:
        assert spec.first_notice_rule in FIRST_NOTICE_RULES
        assert spec.settlement == "physical"
        facts.append("first_notice_rule")
    missing = [fact for fact in facts if not spec.sources.get(fact, "").strip()]
    assert not missing, f"{root}: no source for {missing}"
    exchange_page = spec.sources["multiplier"]
    assert exchange_page.split(",")[0] in {
        "CME Group", "ICE", "Eurex", "Cboe Futures Exchange", "SGX", "HKEX", "ASX", "KRX",
        "Japan Exchange Group (Osaka Exchange)",
    }  # fmt: skip
    assert "Contract Spec" in exchange_page


@pytest.mark.parametrize("spec", DATABASE_SPECS, ids=lambda spec: spec.root)
def test_every_listed_month_expires_on_a_business_day_in_its_month(spec: ContractSpec) -> None:
    business = get_calendar(spec.calendar or "us_futures")
    offset = RULE_MONTH_OFFSETS.get(spec.expiry_rule, 0)
    for year in (2019, 2021, 2023, 2024, 2025, 2026):
        for month in spec.month_numbers:
            day = spec.last_trade_date(spec.contract(year, month))
            assert business.is_business_day(day), (spec.root, year, month, day)
            assert (day.year - year) * 12 + day.month - month == offset, (spec.root, day)
            notice = spec.first_notice_date((year, month))
            if notice is not None:
                assert business.is_business_day(notice) and notice < day, (spec.root, notice)


def test_off_month_rules_are_kept_apart_and_have_offsets() -> None:
    assert not set(EXPIRY_RULES) & set(OFF_MONTH_EXPIRY_RULES)
    assert set(OFF_MONTH_EXPIRY_RULES) <= set(RULE_MONTH_OFFSETS)
    assert ALL_EXPIRY_RULES == {**EXPIRY_RULES, **OFF_MONTH_EXPIRY_RULES}
    used = {spec.expiry_rule for spec in DATABASE_SPECS}
    assert used == set(ALL_EXPIRY_RULES)  # every rule serves a root
    assert {spec.first_notice_rule for spec in DATABASE_SPECS} - {None} == set(FIRST_NOTICE_RULES)


# The twenty original built-ins, with the values they had as Python ContractSpec(...) objects.
ORIGINAL = {
    "ES": ("E-mini S&P 500", "CME", 50, 0.25, "HMUZ", "third_friday", 13_200, 12_000, 2.25),
    "NQ": ("E-mini Nasdaq-100", "CME", 20, 0.25, "HMUZ", "third_friday", 19_800, 18_000, 2.25),
    "YM": ("E-mini Dow ($5)", "CBOT", 5, 1.0, "HMUZ", "third_friday", 9_350, 8_500, 2.25),
    "RTY": ("E-mini Russell 2000", "CME", 50, 0.1, "HMUZ", "third_friday", 7_150, 6_500, 2.25),
    "MES": ("Micro E-mini S&P 500", "CME", 5, 0.25, "HMUZ", "third_friday", 1_320, 1_200, 0.62),
    "MNQ": ("Micro E-mini Nasdaq-100", "CME", 2, 0.25, "HMUZ", "third_friday", 1_980, 1_800, 0.62),
    "CL": ("WTI Crude Oil", "NYMEX", 1_000, 0.01, MONTH_CODES, "cl_energy", 6_600, 6_000, 2.25),
    "NG": ("Henry Hub Natural Gas", "NYMEX", 10_000, 0.001, MONTH_CODES, "ng_energy", 3_850, 3_500,
           2.25),
    "GC": ("Gold", "COMEX", 100, 0.1, "GJMQVZ", "third_last_business_day", 9_350, 8_500, 2.25),
    "SI": ("Silver", "COMEX", 5_000, 0.005, "HKNUZ", "third_last_business_day", 16_500, 15_000,
           2.25),
    "HG": ("Copper", "COMEX", 25_000, 0.0005, "HKNUZ", "third_last_business_day", 6_600, 6_000,
           2.25),
    "ZB": ("30-Year U.S. Treasury Bond", "CBOT", 1_000, 1 / 32, "HMUZ",
           "seventh_business_day_before_last", 4_400, 4_000, 2.25),
    "ZN": ("10-Year U.S. Treasury Note", "CBOT", 1_000, 1 / 64, "HMUZ",
           "seventh_business_day_before_last", 2_200, 2_000, 2.25),
    "ZF": ("5-Year U.S. Treasury Note", "CBOT", 1_000, 1 / 128, "HMUZ", "last_business_day",
           1_540, 1_400, 2.25),
    "ZC": ("Corn", "CBOT", 50, 0.25, "HKNUZ", "business_day_before_15th", 1_210, 1_100, 2.25),
    "ZS": ("Soybeans", "CBOT", 50, 0.25, "FHKNQUX", "business_day_before_15th", 2_200, 2_000,
           2.25),
    "ZW": ("Chicago SRW Wheat", "CBOT", 50, 0.25, "HKNUZ", "business_day_before_15th", 1_925,
           1_750, 2.25),
    "6E": ("Euro FX", "CME", 125_000, 0.00005, "HMUZ", "fx_two_days_before_third_wednesday",
           2_420, 2_200, 2.25),
    "6J": ("Japanese Yen", "CME", 12_500_000, 0.0000005, "HMUZ",
           "fx_two_days_before_third_wednesday", 3_300, 3_000, 2.25),
    "FESX": ("Euro Stoxx 50 Index Futures", "EUREX", 10, 1.0, "HMUZ", "eurex_third_friday",
             3_500, 3_500, 1.50),
}  # fmt: skip


def test_the_original_builtins_keep_their_values() -> None:
    assert [spec.root for spec in BUILTIN_SPECS] == list(ORIGINAL)
    for spec in BUILTIN_SPECS:
        name, exchange, mult, tick, months, rule, initial, maintenance, commission = ORIGINAL[
            spec.root
        ]
        expected = ContractSpec(
            root=spec.root,
            name=name,
            exchange=exchange,
            currency="EUR" if spec.root == "FESX" else "USD",
            multiplier=mult,
            tick_size=tick,
            months=months,
            expiry_rule=rule,
            initial_margin=initial,
            maintenance_margin=maintenance,
            margin_as_of="2024-06-01",
            commission=commission,
            settlement="cash" if spec.root in {"ES", "NQ", "YM", "RTY", "MES", "MNQ", "FESX"}
            else "physical",
        )  # fmt: skip
        assert spec == expected
        assert (spec.multiplier, spec.tick_size, spec.commission) == (mult, tick, commission)
    assert DB["ZC"].description.startswith("Prices in U.S. cents per bushel; 5,000 bushels")


def test_registration_adds_the_database_through_the_same_hook() -> None:
    calls: list[str] = []

    def register(obj: object, name: str | None = None) -> None:
        assert isinstance(obj, ContractSpec) and name == obj.root
        calls.append(name)

    specs.register_contract_database(register)
    assert not set(calls) & {spec.root for spec in BUILTIN_SPECS}
    assert sorted(calls + [spec.root for spec in BUILTIN_SPECS]) == sorted(DB)
    registry = Plugins.load(Settings()).registries.contracts
    assert set(registry.names()) >= set(DB)
    assert {registry.entry(root).plugin for root in DB} == {"stratforge.futures.specs"}


def test_a_plugin_adds_and_replaces_database_roots(write_plugin, tmp_path: Path) -> None:
    own = tmp_path / "mine.toml"
    own.write_text(
        '[meta]\nmargin_as_of = "2025-01-02"\ncommission_source = "my broker"\n'
        '[meta.calendar_sources]\neurex = "Eurex, Trading Calendar"\n'
        "[contracts.FGBL]\n"
        'name = "Euro-Bund Futures"\nexchange = "EUREX"\ncurrency = "EUR"\nmultiplier = 1000\n'
        'tick_size = 0.01\nmonths = "HMUZ"\nexpiry_rule = "eurex_bond"\n'
        'settlement = "physical"\ncalendar = "eurex"\ninitial_margin = 4100\n'
        "maintenance_margin = 4100\ncommission = 0.9\n"
        'source = "Eurex, Euro-Bund Futures Contract Specifications"\n'
        'margin_source = "my broker, 2025-01-02"\n'
        '[contracts.FGBL.sources]\ncommission = "my broker\'s rate card"\n',
        encoding="utf-8",
    )
    (bund,) = load_contract_database(own)
    assert (bund.initial_margin, bund.margin_as_of, bund.commission) == (4100, "2025-01-02", 0.9)
    assert bund.sources["commission"] == "my broker's rate card"
    assert bund.sources["calendar"] == "Eurex, Trading Calendar"
    directory = write_plugin(
        "mybund",
        "from stratforge import hookimpl\n"
        "from stratforge.futures.specs import load_contract_database\n"
        "import dataclasses\n"
        "@hookimpl\n"
        "def register_contracts(register):\n"
        f"    (bund,) = load_contract_database({str(own)!r})\n"
        "    register(bund, name='FGBL', replace=True)\n"
        "    register(dataclasses.replace(bund, root='FGBLX'), name='FGBLX')\n",
    )
    registry = Plugins.load(Settings(plugins_dirs=[directory])).registries.contracts
    entry = registry.entry("FGBL")
    assert (entry.plugin, entry.replaced, entry.obj.initial_margin) == (
        "mybund",
        "stratforge.futures.specs",
        4100,
    )
    assert registry.get("FGBLX").expiry_rule == "eurex_bond"


def test_a_bad_row_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[contracts.XX]\nname = "X"\nmultiplyer = 5\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"contract 'XX': missing \[.*'exchange'.*multiplyer"):
        load_contract_database(path)


def test_contracts_between_reaches_back_for_a_contract_trading_into_the_next_year() -> None:
    found = DB["SR3"].contracts_between(dt.date(2024, 1, 2), dt.date(2024, 4, 30))
    assert [c.code for c in found] == ["SR3Z23", "SR3H24"]  # Z23 trades until 2024-03-19
    assert DB["B"].contracts_between(dt.date(2024, 1, 2), dt.date(2024, 1, 31))[0].code == "BH24"


# --- calendars ---------------------------------------------------------------------------------

CLOSED = {
    # gov.uk, "Bank holidays in England and Wales" (2020-2024 lists).
    "uk": """2020-05-08 2021-12-27 2021-12-28 2022-01-03 2022-06-02 2022-06-03 2022-09-19
        2022-12-26 2022-12-27 2023-04-07 2023-04-10 2023-05-01 2023-05-08 2023-05-29
        2023-08-28 2024-03-29 2024-04-01 2024-08-26 2024-12-25 2024-12-26""",
    # ICE Futures Europe holiday schedule: Brent and gasoil close on these.
    "ice_europe": "2023-12-25 2023-12-26 2024-01-01 2024-03-29 2021-12-27 2021-12-28",
    # JPX, "Market Holidays" (2019, 2021, 2023, 2024).
    "japan": """2019-04-30 2019-05-01 2019-05-02 2019-05-06 2019-10-22 2021-07-22 2021-07-23
        2021-08-09 2023-01-02 2023-01-03 2023-03-21 2024-02-12 2024-02-23 2024-03-20
        2024-09-23 2024-11-04 2024-12-31""",
    # HKEX trading calendar (the holidays the calendar models).
    "hong_kong": """2023-01-23 2023-01-24 2023-01-25 2023-10-02 2023-12-25 2023-12-26
        2024-02-12 2024-02-13 2024-03-29 2024-04-01 2024-07-01 2025-01-29 2025-01-31
        2021-12-27 2022-12-26 2022-12-27""",
}
OPEN = {
    "uk": "2022-05-30 2020-05-04 2024-07-04 2023-12-27",  # the moved bank holidays' usual days
    "ice_europe": "2024-07-04 2024-05-06",  # a US holiday; a UK bank holiday Brent trades on
    "japan": "2021-07-19 2021-10-11 2024-03-19 2019-12-23",  # 2021 moves; no Dec 23 from 2019
    "hong_kong": "2024-03-28 2024-12-24 2020-12-28 2021-12-28",  # Saturday holidays: no Monday
    "weekdays": "2024-12-25 2024-01-01",
}


@pytest.mark.parametrize("name", sorted(CLOSED))
def test_calendar_closures(name: str) -> None:
    for day in CLOSED[name].split():
        assert not is_business_day(day, calendar=name), (name, day)


@pytest.mark.parametrize("name", sorted(OPEN))
def test_calendar_open_days(name: str) -> None:
    for day in OPEN[name].split():
        assert is_business_day(day, calendar=name), (name, day)


def test_every_calendar_is_named_in_the_unknown_calendar_message() -> None:
    with pytest.raises(ValueError, match=", ".join(CALENDARS)):
        get_calendar("lse")


# --- expiry rules against published dates ----------------------------------------------------

PUBLISHED = {
    # Cboe, VX futures expiration calendar (final settlement dates). 2019-03-19 and 2022-03-15
    # are Tuesdays: the third Friday of April was Good Friday. 2024-06-18: Juneteenth Wednesday.
    "vix_wednesday": {
        "VXF19": "2019-01-16", "VXH19": "2019-03-19", "VXM19": "2019-06-19",
        "VXZ19": "2019-12-18", "VXF21": "2021-01-20", "VXH21": "2021-03-17",
        "VXZ21": "2021-12-22", "VXH22": "2022-03-15", "VXF23": "2023-01-18",
        "VXH23": "2023-03-22", "VXM23": "2023-06-21", "VXZ23": "2023-12-20",
        "VXM24": "2024-06-18",
    },
    # CME Group, SOFR futures calendar: the business day before the third Wednesday of the
    # month after the reference quarter (SR3H24 ends on 2024-06-18, Juneteenth being the 19th).
    "sofr_three_month": {
        "SR3M19": "2019-09-17", "SR3U21": "2021-12-14", "SR3H23": "2023-06-20",
        "SR3Z23": "2024-03-19", "SR3H24": "2024-06-18",
    },
    # CME Group, NY Harbor ULSD and RBOB calendars; ICE, Sugar No. 11 expiry dates.
    "last_business_day_of_previous_month": {
        "HOJ19": "2019-03-29", "HOZ21": "2021-11-30", "HOF24": "2023-12-29",
        "HOH24": "2024-02-29", "RBK24": "2024-04-30", "SBK23": "2023-04-28",
        "SBH24": "2024-02-29", "SBV21": "2021-09-30",
    },
    # CME Group, Brent Last Day Financial calendar (BZK24: Good Friday 2024-03-29).
    "last_business_day_second_month_before": {
        "BZG19": "2018-12-31", "BZF22": "2021-11-30", "BZH24": "2024-01-31",
        "BZK24": "2024-03-28",
    },
    # ICE, Brent Crude futures expiry calendar.
    "ice_brent": {
        "BG19": "2018-12-31", "BH21": "2021-01-29", "BF24": "2023-11-30", "BG24": "2023-12-29",
        "BH24": "2024-01-31", "BK24": "2024-03-28",
    },
    # Rule: CL's published last trade dates (test_futures_calendar.py) less one business day.
    "mcl_energy": {
        "MCLX21": "2021-10-19", "MCLZ23": "2023-11-17", "MCLF24": "2023-12-18",
        "MCLG24": "2024-01-19",
    },
    # CME Group, Canadian Dollar calendar (6CM24: the third Wednesday was Juneteenth).
    "fx_business_day_before_third_wednesday": {
        "6CH19": "2019-03-19", "6CU21": "2021-09-14", "6CZ23": "2023-12-19",
        "6CH24": "2024-03-19", "6CM24": "2024-06-18",
    },
    # CME Group, Lean Hog calendar.
    "tenth_business_day": {
        "HEM19": "2019-06-14", "HEQ21": "2021-08-13", "HEZ23": "2023-12-14",
        "HEG24": "2024-02-14", "HEJ24": "2024-04-12",
    },
    # CME Group, Feeder Cattle calendar (November: the Thursday before Thanksgiving).
    "feeder_cattle": {
        "GFX19": "2019-11-21", "GFH21": "2021-03-25", "GFX21": "2021-11-18",
        "GFQ23": "2023-08-31", "GFX23": "2023-11-16", "GFF24": "2024-01-25",
    },
    # CME Group, Bitcoin futures calendar (BTCH24: Good Friday, so Thursday 2024-03-28).
    "crypto_last_friday": {
        "BTCH19": "2019-03-29", "BTCZ21": "2021-12-31", "BTCZ23": "2023-12-29",
        "BTCH24": "2024-03-28", "BTCM24": "2024-06-28",
    },
    # Rule (ICE Coffee C: one business day before the last notice day, seven business days
    # before the last business day), counted by hand on the ICE US holidays.
    "ice_coffee": {
        "KCK19": "2019-05-20", "KCH21": "2021-03-19", "KCN23": "2023-07-19",
        "KCZ23": "2023-12-18", "KCH24": "2024-03-18",
    },
    # Rule (ICE Cocoa: 11 business days before the last business day), counted by hand.
    "ice_cocoa": {
        "CCK19": "2019-05-15", "CCN21": "2021-07-15", "CCZ23": "2023-12-13",
        "CCH24": "2024-03-13",
    },
    # Rule (ICE Cotton No. 2: seventeen business days from the end of the month), by hand.
    "ice_cotton": {
        "CTN19": "2019-07-09", "CTK21": "2021-05-06", "CTZ23": "2023-12-06",
        "CTH24": "2024-03-06",
    },
    # Rule (ICE FCOJ-A: 14th business day before the last business day), by hand.
    "ice_orange_juice": {"OJK21": "2021-05-10", "OJF24": "2024-01-10", "OJH24": "2024-03-08"},
    # Rule (ICE London Cocoa: 11 London business days before the last), by hand: CZ23 is a
    # day earlier than New York's CCZ23 because of Boxing Day.
    "london_cocoa": {"CK21": "2021-05-13", "CZ23": "2023-12-12", "CH24": "2024-03-13"},
    # Rule (ICE Robusta: 4 London business days before the last), by hand (spring holiday).
    "robusta_coffee": {"RCK23": "2023-05-24", "RCF24": "2024-01-25"},
    # ICE, Low Sulphur Gasoil expiry calendar: two business days before the 14th.
    "ice_gasoil": {
        "GN19": "2019-07-11", "GU21": "2021-09-10", "GZ23": "2023-12-12",
        "GF24": "2024-01-11", "GH24": "2024-03-12",
    },
    # ICE, Long Gilt delivery calendar (last trading days).
    "long_gilt": {
        "RM19": "2019-06-26", "RH21": "2021-03-29", "RM23": "2023-06-28",
        "RU23": "2023-09-27", "RZ23": "2023-12-27", "RH24": "2024-03-26",
    },
    # ICE, FTSE 100 index futures expiry dates (third Friday).
    "uk_third_friday": {
        "ZU19": "2019-09-20", "ZM21": "2021-06-18", "ZZ23": "2023-12-15", "ZH24": "2024-03-15",
    },
    # ICE, Three Month Euribor last trading days (the Monday before the IMM Wednesday).
    "euribor": {
        "IZ19": "2019-12-16", "IU21": "2021-09-13", "IM23": "2023-06-19",
        "IZ23": "2023-12-18", "IH24": "2024-03-18",
    },
    # Eurex, fixed income futures expiration calendar (delivery day the 10th, or the exchange
    # day after; last trading day two exchange days before).
    "eurex_bond": {
        "FGBLM19": "2019-06-06", "FGBLZ19": "2019-12-06", "FGBLH21": "2021-03-08",
        "FGBLU23": "2023-09-07", "FGBLZ23": "2023-12-07", "FGBLH24": "2024-03-07",
        "FGBLM24": "2024-06-06",
    },
    # JPX, Nikkei 225 futures last trading days (the day before the SQ, the second Friday);
    # 2021 from JPX's "Last Trading Day" quick reference table.
    "ose_sq_eve": {
        "NK225H21": "2021-03-11", "NK225U21": "2021-09-09", "NK225Z21": "2021-12-09",
        "NK225H19": "2019-03-07", "NK225M21": "2021-06-10", "NK225U23": "2023-09-07",
        "NK225Z23": "2023-12-07", "NK225H24": "2024-03-07",
    },
    # CME Group, Nikkei/USD calendar.
    "business_day_before_second_friday": {
        "NKDH19": "2019-03-07", "NKDM21": "2021-06-10", "NKDZ23": "2023-12-07",
        "NKDH24": "2024-03-07",
    },
    # Rule (JPX 10-year JGB: five business days before the 20th or the day after it), on the
    # JPX holidays: JGBU21's 20th was Respect for the Aged Day, JGBH24's the equinox.
    "jgb_fifth_before_20th": {
        "JGBM19": "2019-06-13", "JGBU21": "2021-09-13", "JGBM23": "2023-06-13",
        "JGBZ23": "2023-12-13", "JGBH24": "2024-03-13",
    },
    # HKEX, HSI futures expiry dates (HSIH24: Good Friday; HSIF25: Lunar New Year).
    "hkex_second_last_business_day": {
        "HSIH19": "2019-03-28", "HSIH21": "2021-03-30", "HSIZ23": "2023-12-28",
        "HSIF24": "2024-01-30", "HSIH24": "2024-03-27", "HSIF25": "2025-01-27",
    },
    # KRX, KOSPI 200 futures expiry dates (second Thursday; not 2019-09: Chuseok moved it).
    "krx_second_thursday": {
        "K200M21": "2021-06-10", "K200Z23": "2023-12-14", "K200H24": "2024-03-14",
    },
    # ASX, SPI 200 futures expiry calendar (third Thursday).
    "asx_third_thursday": {
        "APH19": "2019-03-21", "APM21": "2021-06-17", "APU23": "2023-09-21",
        "APZ23": "2023-12-21", "APH24": "2024-03-21",
    },
}  # fmt: skip

PUBLISHED_FIRST_NOTICE = {
    # CME Group calendars: the last business day of the month before the contract month.
    "fnd_last_business_day_before_month": {
        "ZCH19": "2019-02-28", "GCG21": "2021-01-29", "ZBM23": "2023-05-31",
        "GCZ23": "2023-11-30", "ZNH24": "2024-02-29", "ZCN24": "2024-06-28",
    },
    # Rules from the ICE contract specifications, counted by hand on the ICE US holidays.
    "fnd_ice_coffee": {"KCN23": "2023-06-22", "KCH24": "2024-02-21"},
    "fnd_ice_cocoa": {"CCZ23": "2023-11-16", "CCH24": "2024-02-15"},
    "fnd_ice_cotton": {"CTZ23": "2023-11-24", "CTH24": "2024-02-23"},
    # ICE, Long Gilt delivery calendar (first notice day).
    "fnd_long_gilt": {"RZ23": "2023-11-29", "RH24": "2024-02-28"},
}  # fmt: skip


def test_every_new_rule_is_checked_against_dates() -> None:
    new_rules = set(ALL_EXPIRY_RULES) - {
        "third_friday", "cl_energy", "ng_energy", "third_last_business_day",
        "seventh_business_day_before_last", "last_business_day", "business_day_before_15th",
        "fx_two_days_before_third_wednesday", "eurex_third_friday",
    }  # fmt: skip
    assert new_rules == set(PUBLISHED)
    assert set(FIRST_NOTICE_RULES) == set(PUBLISHED_FIRST_NOTICE)
    for dates in (*PUBLISHED.values(), *PUBLISHED_FIRST_NOTICE.values()):
        years = {ContractId.parse(code).year for code in dates}
        assert len(years) >= 2 and len(dates) >= 2, dates


@pytest.mark.parametrize(
    ("rule", "code", "expected"),
    [(rule, code, day) for rule, dates in PUBLISHED.items() for code, day in dates.items()],
)
def test_last_trade_dates(rule: str, code: str, expected: str) -> None:
    contract = ContractId.parse(code)
    assert last_trade_date(rule, contract.year, contract.month) == _d(expected)
    spec = DB.get(contract.root)
    if spec is not None and spec.expiry_rule == rule:
        assert spec.last_trade_date(contract) == _d(expected)


@pytest.mark.parametrize(
    ("rule", "code", "expected"),
    [(r, code, day) for r, dates in PUBLISHED_FIRST_NOTICE.items() for code, day in dates.items()],
)
def test_first_notice_dates(rule: str, code: str, expected: str) -> None:
    contract = ContractId.parse(code)
    assert first_notice_date(rule, contract.year, contract.month) == _d(expected)
    assert DB[contract.root].first_notice_date(contract) == _d(expected)


def test_unknown_first_notice_rule() -> None:
    with pytest.raises(ValueError, match="unknown first notice rule 'x'; known rules: fnd_"):
        first_notice_date("x", 2024, 3)
    assert DB["ES"].first_notice_date((2024, 3)) is None


# --- the command line ------------------------------------------------------------------------


def test_contracts_command_lists_the_database_and_filters_by_exchange() -> None:
    import json

    from typer.testing import CliRunner

    from stratforge.cli import app

    runner = CliRunner()
    every = runner.invoke(app, ["contracts", "--json"])
    assert every.exit_code == 0, every.output
    rows = {row["root"]: row for row in json.loads(every.stdout)}
    assert set(rows) >= set(DB) and rows["FGBL"]["sources"]["tick_size"].startswith("Eurex")
    eurex = runner.invoke(app, ["contracts", "--exchange", "eurex", "--json"])
    assert eurex.exit_code == 0, eurex.output
    roots = {row["root"] for row in json.loads(eurex.stdout)}
    assert roots == {spec.root for spec in DATABASE_SPECS if spec.exchange == "EUREX"}
    table = runner.invoke(app, ["contracts", "--exchange", "HKEX"])
    assert table.exit_code == 0 and "HSI" in table.stdout and "FGBL" not in table.stdout
    unknown = runner.invoke(app, ["contracts", "--exchange", "LSE"])
    assert unknown.exit_code == 2 and "exchanges: ASX, CBOT" in unknown.output
