"""Contract codes, contract specs and the built-in specs plugin module."""

from __future__ import annotations

import datetime as dt

import pytest

from stratforge.futures import specs
from stratforge.futures.calendar import EXPIRY_RULES, rule_calendar
from stratforge.futures.contracts import (
    MONTH_CODES,
    ContractCodeError,
    ContractId,
    ContractSpec,
)
from stratforge.futures.specs import BUILTIN_SPECS

SPECS = {spec.root: spec for spec in BUILTIN_SPECS}
ROOTS = ("ES", "6E", "MES", "ZN", "FESX", "6J", "CL")


# --- contract codes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ESZ3", ContractId("ES", 2023, 12)),
        ("ESZ23", ContractId("ES", 2023, 12)),
        ("ESZ2023", ContractId("ES", 2023, 12)),
        ("ES 2023-12", ContractId("ES", 2023, 12)),
        ("ES_202312", ContractId("ES", 2023, 12)),
        ("ES-2023-12", ContractId("ES", 2023, 12)),
        ("es z23", ContractId("ES", 2023, 12)),
        ("  clf24 ", ContractId("CL", 2024, 1)),
        ("6EZ3", ContractId("6E", 2023, 12)),
        ("6EH24", ContractId("6E", 2024, 3)),
        ("MESZ23", ContractId("MES", 2023, 12)),
        ("ZNZ2023", ContractId("ZN", 2023, 12)),
        ("ZNH5", ContractId("ZN", 2025, 3)),
        ("FESXM24", ContractId("FESX", 2024, 6)),
        ("6E 2024-06", ContractId("6E", 2024, 6)),
        ("NQU99", ContractId("NQ", 1999, 9)),
        ("NQU69", ContractId("NQ", 2069, 9)),
    ],
)
def test_parse(text: str, expected: ContractId) -> None:
    assert ContractId.parse(text, pivot_year=2024) == expected


@pytest.mark.parametrize("root", ROOTS)
def test_format_parse_round_trip_in_every_style(root: str) -> None:
    for year in range(2015, 2035):
        for month in range(1, 13):
            contract = ContractId(root, year, month)
            for style in ("two_digit", "full", "iso"):
                assert ContractId.parse(contract.format(style)) == contract  # type: ignore[arg-type]
            short = contract.format("short")
            assert ContractId.parse(short, pivot_year=year + 3) == contract
            assert ContractId.parse(short, pivot_year=year - 4) == contract


def test_formats() -> None:
    contract = ContractId("6E", 2023, 12)
    assert contract.format("short") == "6EZ3"
    assert contract.format("two_digit") == "6EZ23" == contract.code == str(contract)
    assert contract.format("full") == "6EZ2023"
    assert contract.format("iso") == "6E 2023-12"
    assert contract.month_code == "Z"
    with pytest.raises(ValueError, match="unknown code style"):
        contract.format("long")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("pivot", "digit", "year"),
    [
        (2024, 3, 2023),
        (2024, 9, 2029),  # 2019 and 2029 are both five years away: the later wins
        (2025, 0, 2030),  # a tie goes to the later year
        (2025, 1, 2021),
        (2029, 3, 2033),
        (2020, 6, 2016),
        (2020, 5, 2025),
        (1999, 0, 2000),
    ],
)
def test_one_digit_year_resolves_to_the_year_nearest_the_pivot(
    pivot: int, digit: int, year: int
) -> None:
    assert ContractId.parse(f"ESH{digit}", pivot_year=pivot).year == year


def test_one_digit_year_defaults_to_this_year_as_pivot() -> None:
    this_year = dt.date.today().year
    assert ContractId.parse(f"ESH{this_year % 10}").year == this_year


@pytest.mark.parametrize(
    "text", ["", "ES", "ESZ", "ESA3", "Z23", "ESZ202", "ES 2023-13", "ES_202300", "ES Z23 X"]
)
def test_bad_codes_raise_contract_code_error_naming_the_text(text: str) -> None:
    with pytest.raises(ContractCodeError) as info:
        ContractId.parse(text)
    assert repr(text) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_contract_id_validates_month_and_orders_by_date() -> None:
    with pytest.raises(ContractCodeError, match="month must be 1-12"):
        ContractId("ES", 2024, 0)
    assert ContractId("ES", 2023, 12) < ContractId("ES", 2024, 3) < ContractId("ES", 2024, 6)


# --- contract specs --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("root", "tick_value"),
    [
        ("ES", 12.5),
        ("NQ", 5.0),
        ("YM", 5.0),
        ("RTY", 5.0),
        ("MES", 1.25),
        ("MNQ", 0.5),
        ("CL", 10.0),
        ("NG", 10.0),
        ("GC", 10.0),
        ("SI", 25.0),
        ("HG", 12.5),
        ("ZB", 31.25),
        ("ZN", 15.625),
        ("ZF", 7.8125),
        ("ZC", 12.5),
        ("ZS", 12.5),
        ("ZW", 12.5),
        ("6E", 6.25),
        ("6J", 6.25),
        ("FESX", 10.0),
    ],
)
def test_tick_value(root: str, tick_value: float) -> None:
    assert SPECS[root].tick_value == pytest.approx(tick_value, rel=1e-12)


def test_contract_rejects_unlisted_months() -> None:
    es = SPECS["ES"]
    assert es.contract(2024, 3) == ContractId("ES", 2024, 3)
    with pytest.raises(ContractCodeError, match="ES lists months HMUZ; F is not one"):
        es.contract(2024, 1)
    with pytest.raises(ContractCodeError, match="month must be 1-12"):
        es.contract(2024, 13)
    assert SPECS["GC"].month_numbers == (2, 4, 6, 8, 10, 12)


def test_last_trade_date_takes_a_contract_or_a_year_month() -> None:
    es = SPECS["ES"]
    assert es.last_trade_date(ContractId("ES", 2024, 6)) == dt.date(2024, 6, 21)
    assert es.last_trade_date((2024, 6)) == dt.date(2024, 6, 21)
    with pytest.raises(ValueError, match="not a ES contract"):
        es.last_trade_date(ContractId("NQ", 2024, 6))


def test_contracts_between_lists_the_es_quarterlies_of_2023_and_the_next_one() -> None:
    found = SPECS["ES"].contracts_between(dt.date(2023, 1, 1), dt.date(2023, 12, 31))
    assert [c.code for c in found] == ["ESH23", "ESM23", "ESU23", "ESZ23", "ESH24"]
    mid = SPECS["ES"].contracts_between(dt.date(2023, 3, 18), dt.date(2023, 6, 16))
    assert [c.code for c in mid] == ["ESM23", "ESU23"]


def test_contracts_between_for_a_monthly_root_crosses_the_year() -> None:
    found = SPECS["CL"].contracts_between(dt.date(2023, 11, 21), dt.date(2023, 12, 31))
    assert [c.code for c in found] == ["CLF24", "CLG24"]


# --- built-in specs ---------------------------------------------------------------------------


def test_register_contracts_registers_every_builtin_under_its_root() -> None:
    calls: list[tuple[object, str | None, tuple[str, ...]]] = []

    def register(obj: object, name: str | None = None, aliases: tuple[str, ...] = ()) -> None:
        calls.append((obj, name, tuple(aliases)))

    specs.register_contracts(register)
    assert [name for _, name, _ in calls] == [spec.root for spec in BUILTIN_SPECS]
    assert all(isinstance(obj, ContractSpec) for obj, _, _ in calls)
    expected = {"ES", "NQ", "YM", "RTY", "MES", "MNQ", "CL", "NG", "GC", "SI", "HG", "ZB"}
    expected |= {"ZN", "ZF", "ZC", "ZS", "ZW", "6E", "6J", "FESX"}
    assert set(SPECS) == expected and len(SPECS) == len(BUILTIN_SPECS)
    assert hasattr(specs.register_contracts, "stratforge_impl")  # a pluggy hookimpl


@pytest.mark.parametrize("spec", BUILTIN_SPECS, ids=lambda spec: spec.root)
def test_builtin_spec_is_consistent(spec: ContractSpec) -> None:
    assert spec.expiry_rule in EXPIRY_RULES
    assert spec.months and all(code in MONTH_CODES for code in spec.months)
    assert list(spec.month_numbers) == sorted(set(spec.month_numbers))
    assert spec.multiplier > 0 and spec.tick_size > 0 and spec.commission > 0
    assert 0 < spec.maintenance_margin <= spec.initial_margin
    dt.date.fromisoformat(spec.margin_as_of)
    assert spec.currency == ("EUR" if spec.root == "FESX" else "USD")
    business = rule_calendar(spec.expiry_rule)
    for year in (2023, 2024, 2025):
        for month in spec.month_numbers:
            day = spec.last_trade_date(spec.contract(year, month))
            first_of_month = dt.date(year, month, 1)
            assert first_of_month - dt.timedelta(days=31) < day, (spec.root, year, month)
            assert day < dt.date(year + month // 12, month % 12 + 1, 1)
            assert business.is_business_day(day)


def test_builtin_cycles_and_docstring() -> None:
    assert SPECS["ZS"].months == "FHKNQUX"
    assert SPECS["GC"].months == "GJMQVZ"
    assert SPECS["CL"].months == SPECS["NG"].months == MONTH_CODES
    assert {SPECS[r].months for r in ("ES", "ZN", "6E", "FESX")} == {"HMUZ"}
    assert SPECS["FESX"].exchange == "EUREX"
    assert "EXAMPLE" in (specs.__doc__ or "")
