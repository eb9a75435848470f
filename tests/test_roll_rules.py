"""Roll dates of each built-in rule, on synthetic chains and hand-built ones."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import pytest

from stratforge.core.plugins import Plugins
from stratforge.core.settings import Settings
from stratforge.futures import ContractChain, ContractId
from stratforge.futures.calendar import add_business_days
from stratforge.futures.rolls import (
    RollRuleError,
    days_before_expiry,
    first_of_month,
    open_interest_crossover,
    schedule,
    volume_crossover,
)
from stratforge.futures.synthetic import generate_chain
from tests.futures_helpers import chain_of, contract_frame


@pytest.fixture(scope="module")
def es_chain(plugins: Plugins) -> ContractChain:
    spec = plugins.registries.contracts.get("ES")
    frames = generate_chain(spec, start="2019-01-01", end="2021-12-31", seed=4)
    return ContractChain(spec, frames)


@pytest.fixture(scope="module")
def cl_chain(plugins: Plugins) -> ContractChain:
    spec = plugins.registries.contracts.get("CL")
    frames = generate_chain(spec, start="2022-01-01", end="2022-12-31", seed=2)
    return ContractChain(spec, frames)


def consecutive(rolls) -> bool:
    held = [rolls[0].from_contract, *[r.to_contract for r in rolls]]
    return all(
        r.from_contract == a and r.to_contract == b
        for r, a, b in zip(rolls, held, held[1:], strict=False)
    )


def test_days_before_expiry_rolls_n_business_days_before(es_chain: ContractChain) -> None:
    rolls = days_before_expiry(es_chain, days=5)
    assert consecutive(rolls) and len(rolls) >= 10
    for roll in rolls:
        expiry = es_chain.last_trade_date(roll.from_contract)
        assert roll.at.date() == add_business_days(expiry, -5)


def test_cl_days_before_expiry_uses_the_energy_calendar(cl_chain: ContractChain) -> None:
    rolls = days_before_expiry(cl_chain, days=2)
    assert len(rolls) >= 11  # monthly contracts
    for roll in rolls:
        expiry = cl_chain.last_trade_date(roll.from_contract)
        assert roll.at.date() == add_business_days(expiry, -2)
        assert roll.at.month != roll.from_contract.month  # CL expires the month before


@pytest.mark.parametrize("rule", [volume_crossover, open_interest_crossover])
def test_crossover_rolls_inside_the_migration_window(es_chain: ContractChain, rule) -> None:
    rolls = rule(es_chain)
    assert consecutive(rolls)
    for roll in rolls:
        expiry = pd.Timestamp(es_chain.last_trade_date(roll.from_contract))
        assert expiry - pd.Timedelta(days=21) <= roll.at <= expiry
        column = "volume" if rule is volume_crossover else "openinterest"
        old = es_chain.frames[roll.from_contract][column]
        new = es_chain.frames[roll.to_contract][column]
        decided = new.index[new.index.get_loc(roll.at) - 1]
        assert new.loc[decided] > old.loc[decided]  # crossed on the bar before the roll
        before = new.index[new.index.get_loc(roll.at) - 2]
        assert new.loc[before] <= old.loc[before] or roll.at == new.index[1]


def test_crossover_confirmation_delays_the_roll(es_chain: ContractChain) -> None:
    one = volume_crossover(es_chain, confirm=1)
    three = volume_crossover(es_chain, confirm=3)
    assert all(b.at >= a.at for a, b in zip(one, three, strict=False))
    assert any(b.at > a.at for a, b in zip(one, three, strict=False))


def test_first_of_month_rule(es_chain: ContractChain, cl_chain: ContractChain) -> None:
    for roll in first_of_month(es_chain):
        assert (roll.at.year, roll.at.month) == (roll.from_contract.year, roll.from_contract.month)
        assert roll.at.day <= 7
    for roll in first_of_month(cl_chain):  # capped at the last trade date
        assert roll.at.date() <= cl_chain.last_trade_date(roll.from_contract) + dt.timedelta(days=4)


def test_schedule_rule_and_its_errors(es_chain: ContractChain) -> None:
    rolls = schedule(es_chain, dates=["2019-02-01", "2019-05-01"])
    assert [r.at.strftime("%Y-%m-%d") for r in rolls[:2]] == ["2019-02-01", "2019-05-01"]
    with pytest.raises(RollRuleError, match="strictly increasing"):
        schedule(es_chain, dates=["2019-05-01", "2019-02-01"])


def test_crossover_skips_contracts_without_data_and_never_goes_back() -> None:
    chain = chain_of(
        {
            "TTH24": contract_frame(
                [10] * 8, "2024-01-01", volume=[900, 800, 700, 100, 50, 40, 30, 20]
            ),
            "TTM24": contract_frame([20] * 0 or [20], "2024-01-01", volume=[1]).iloc[:0],
            "TTU24": contract_frame(
                [30] * 10, "2024-01-01", volume=[10, 20, 30, 500, 600, 700, 800, 10, 10, 10]
            ),
        }
    )
    rolls = volume_crossover(chain)
    assert [(r.from_contract.code, r.to_contract.code, r.at.day) for r in rolls] == [
        ("TTH24", "TTU24", 5)  # volume led on Jan 4, roll on Jan 5; TTU24's later dip is ignored
    ]


def test_forced_roll_when_no_crossover_before_expiry() -> None:
    chain = chain_of(
        {
            "TTH24": contract_frame([10] * 5, "2024-01-01", volume=[900] * 5),
            "TTM24": contract_frame([20] * 8, "2024-01-01", volume=[10] * 8),
        }
    )
    (roll,) = volume_crossover(chain)
    assert roll.at == pd.Timestamp("2024-01-06")  # the first bar after the old contract's last


def test_a_plugin_can_replace_a_contract_spec(write_plugin) -> None:
    directory = write_plugin(
        "mymargins",
        "import dataclasses\n"
        "from stratforge import hookimpl\n"
        "from stratforge.futures.specs import BUILTIN_SPECS\n"
        "ES = next(s for s in BUILTIN_SPECS if s.root == 'ES')\n"
        "@hookimpl\n"
        "def register_contracts(register):\n"
        "    register(dataclasses.replace(ES, initial_margin=99_000.0), name='ES', replace=True)\n",
    )
    plugins = Plugins.load(Settings(plugins_dirs=[directory]))
    entry = plugins.registries.contracts.entry("ES")
    assert entry.obj.initial_margin == 99_000.0
    assert (entry.plugin, entry.replaced) == ("mymargins", "stratforge.futures.specs")


def test_contract_ids_of_a_spec_are_ordered(es_chain: ContractChain) -> None:
    contracts = es_chain.contracts()
    assert contracts == sorted(contracts)
    assert ContractId.parse("ESZ19") in contracts
    assert dataclasses.is_dataclass(es_chain.spec)
