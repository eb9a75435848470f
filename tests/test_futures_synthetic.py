"""The synthetic futures chain generator."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pandas as pd
import pytest

from stratforge.data import CANONICAL_COLUMNS, validate_frame
from stratforge.futures.calendar import business_days_between, rule_calendar
from stratforge.futures.contracts import ContractId, ContractSpec
from stratforge.futures.specs import BUILTIN_SPECS
from stratforge.futures.synthetic import DEFAULT_PRICES, MINUTE_BARS_PER_DAY, generate_chain

SPECS = {spec.root: spec for spec in BUILTIN_SPECS}
ROLL_WINDOW = 10


@pytest.fixture(scope="module")
def es_chain() -> dict[ContractId, pd.DataFrame]:
    return generate_chain(SPECS["ES"], start="2019-01-01", end="2022-12-31", seed=3)


@pytest.fixture(scope="module")
def cl_chain() -> dict[ContractId, pd.DataFrame]:
    return generate_chain(SPECS["CL"], start="2021-01-01", end="2022-12-31", seed=5)


def _pairs(chain: dict[ContractId, pd.DataFrame]) -> list[tuple[ContractId, ContractId]]:
    contracts = list(chain)
    return list(itertools.pairwise(contracts))


def test_same_arguments_same_chain_bit_for_bit() -> None:
    first = generate_chain(SPECS["CL"], start="2022-01-01", end="2022-12-31", seed=11)
    second = generate_chain(SPECS["CL"], start="2022-01-01", end="2022-12-31", seed=11)
    assert list(first) == list(second)
    for contract, frame in first.items():
        assert frame.to_numpy().tobytes() == second[contract].to_numpy().tobytes()
        assert frame.index.equals(second[contract].index)
    other = generate_chain(SPECS["CL"], start="2022-01-01", end="2022-12-31", seed=12)
    contract = next(iter(first))
    assert not np.array_equal(first[contract]["close"], other[contract]["close"])


def test_frames_are_canonical(es_chain: dict[ContractId, pd.DataFrame]) -> None:
    for contract, frame in es_chain.items():
        assert list(frame.columns) == list(CANONICAL_COLUMNS)
        assert all(dtype == np.float64 for dtype in frame.dtypes)
        assert isinstance(frame.index, pd.DatetimeIndex) and frame.index.name == "datetime"
        assert frame.index.tz is None and frame.index.is_monotonic_increasing
        assert frame.index.is_unique
        validated = validate_frame(frame, origin=str(contract)).frame
        pd.testing.assert_frame_equal(validated, frame, check_index_type=False)


def test_chain_is_the_listed_contracts_in_expiry_order(es_chain) -> None:
    contracts = list(es_chain)
    assert contracts == sorted(contracts)
    assert contracts[0] == ContractId("ES", 2019, 3)
    assert all(c.month in (3, 6, 9, 12) for c in contracts)
    assert contracts[-1] == ContractId("ES", 2023, 9)  # listed after ESZ22 expired


def test_contracts_end_on_their_last_trade_date(es_chain, cl_chain) -> None:
    for spec, chain in ((SPECS["ES"], es_chain), (SPECS["CL"], cl_chain)):
        end = pd.Timestamp("2022-12-31")
        for contract, frame in chain.items():
            expiry = pd.Timestamp(spec.last_trade_date(contract))
            if expiry <= end:
                assert frame.index[-1] == expiry, contract
            else:
                assert frame.index[-1] == pd.Timestamp("2022-12-30"), contract


def test_bars_fall_on_exchange_business_days_and_three_contracts_trade_each_day(
    cl_chain,
) -> None:
    days = pd.concat([frame["close"] for frame in cl_chain.values()]).index
    per_day = days.value_counts()
    assert (per_day == 3).all()
    business = rule_calendar("cl_energy")
    assert all(business.is_business_day(day) for day in per_day.index)
    assert pd.Timestamp("2022-06-20") not in per_day.index  # Juneteenth observed
    assert pd.Timestamp("2022-04-15") not in per_day.index  # Good Friday


def test_a_contract_lists_after_the_expiry_three_places_before_it(es_chain) -> None:
    contracts = list(es_chain)
    for earlier, later in zip(contracts, contracts[3:], strict=False):
        expiry = es_chain[earlier].index[-1]
        assert business_days_between(expiry, es_chain[later].index[0]) == 1


@pytest.mark.parametrize(("carry", "sign"), [(0.03, 1), (-0.03, -1)])
def test_carry_orders_adjacent_contracts(carry: float, sign: int) -> None:
    chain = generate_chain(SPECS["CL"], start="2021-01-01", end="2022-12-31", carry=carry)
    closes = pd.DataFrame({c: frame["close"] for c, frame in chain.items()})
    checked = 0
    for near, far in _pairs(chain):
        both = closes[[near, far]].dropna()
        assert (np.sign(both[far] - both[near]) == sign).all(), (near, far)
        checked += len(both)
    assert checked > 1000


def test_ohlc_consistent_and_on_the_tick() -> None:
    for root in ("ES", "ZN", "CL", "6J", "ZF"):
        spec = SPECS[root]
        chain = generate_chain(spec, start="2020-01-01", end="2021-12-31", volatility=0.6)
        for frame in chain.values():
            o, h, lo, c = (frame[k].to_numpy() for k in ("open", "high", "low", "close"))
            assert np.all(lo <= o) and np.all(o <= h) and np.all(lo <= c) and np.all(c <= h)
            assert np.all(lo > 0)
            ticks = frame[["open", "high", "low", "close"]].to_numpy() / spec.tick_size
            np.testing.assert_allclose(ticks, np.round(ticks), rtol=0, atol=1e-6)
            assert np.all(frame["volume"] >= 0) and np.all(frame["openinterest"] > 0)


def test_volume_and_open_interest_cross_over_inside_the_roll_window(es_chain, cl_chain) -> None:
    for chain in (es_chain, cl_chain):
        crossed = 0
        for front, nxt in _pairs(chain):
            expiry = chain[front].index[-1]
            if expiry == pd.Timestamp("2022-12-30"):
                continue  # still trading at the end of the span
            both = pd.concat([chain[front], chain[nxt]], axis=1, keys=["f", "n"]).dropna()
            for column in ("volume", "openinterest"):
                ahead = both["n", column] > both["f", column]
                first = ahead.idxmax()
                assert ahead.any() and ahead[first:].all(), (front, column)
                assert 0 <= business_days_between(first, expiry) < ROLL_WINDOW, (front, column)
            crossed += 1
        assert crossed >= 15


def test_open_interest_crosses_no_earlier_than_volume(es_chain) -> None:
    for front, nxt in _pairs(es_chain)[:-1]:
        both = pd.concat([es_chain[front], es_chain[nxt]], axis=1, keys=["f", "n"]).dropna()
        by_volume = (both["n", "volume"] > both["f", "volume"]).idxmax()
        by_interest = (both["n", "openinterest"] > both["f", "openinterest"]).idxmax()
        assert by_interest >= by_volume


def test_deferred_contracts_trade_thinly(es_chain) -> None:
    day = pd.Timestamp("2021-02-01")
    volumes = sorted(
        (frame.loc[day, "volume"] for frame in es_chain.values() if day in frame.index),
        reverse=True,
    )
    assert len(volumes) == 3 and volumes[0] > 10 * volumes[1]


def test_spot_level_and_default_prices() -> None:
    chain = generate_chain(SPECS["GC"], start="2020-01-01", end="2020-03-31")
    first = next(iter(chain.values()))
    assert first["open"].iloc[0] == pytest.approx(DEFAULT_PRICES["GC"], rel=0.01)
    odd = ContractSpec("XX", "Test", "CME", "USD", 10, 0.01, "HMUZ", "third_friday", 1, 1, "2024")
    chain = generate_chain(odd, start="2020-01-01", end="2020-03-31", price=None)
    assert next(iter(chain.values()))["open"].iloc[0] == pytest.approx(100.0, rel=0.01)
    chain = generate_chain(odd, start="2020-01-01", end="2020-03-31", price=5.0)
    assert next(iter(chain.values()))["open"].iloc[0] == pytest.approx(5.0, rel=0.01)


def test_eurex_contract_uses_the_eurex_calendar() -> None:
    chain = generate_chain(SPECS["FESX"], start="2024-01-01", end="2024-12-31")
    days = pd.concat([frame["close"] for frame in chain.values()]).index
    assert pd.Timestamp("2024-04-01") not in days  # Easter Monday
    assert pd.Timestamp("2024-07-04") in days
    assert chain[ContractId("FESX", 2024, 3)].index[-1] == pd.Timestamp("2024-03-15")


def test_minutes_mode() -> None:
    chain = generate_chain(
        SPECS["ES"], start="2024-03-01", end="2024-03-31", timeframe="minutes", seed=1
    )
    front = chain[ContractId("ES", 2024, 3)]
    assert len(front) == 11 * MINUTE_BARS_PER_DAY  # Mar 1-15
    assert front.index[0] == pd.Timestamp("2024-03-01 09:30")
    assert front.index[MINUTE_BARS_PER_DAY - 1] == pd.Timestamp("2024-03-01 10:29")
    assert front.index[-1] == pd.Timestamp("2024-03-15 10:29")
    assert front.index.is_unique and front.index.is_monotonic_increasing
    o, h, lo, c = (front[k].to_numpy() for k in ("open", "high", "low", "close"))
    assert np.all(lo <= np.minimum(o, c)) and np.all(np.maximum(o, c) <= h)
    june = chain[ContractId("ES", 2024, 6)]
    assert pd.Timestamp("2024-03-29 09:30") not in june.index  # Good Friday


def test_twenty_years_of_daily_bars_is_fast() -> None:
    began = time.perf_counter()
    chain = generate_chain(SPECS["ES"], start="2003-01-01", end="2022-12-31")
    assert time.perf_counter() - began < 1.5
    assert 75 <= len(chain) <= 90


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"start": "2022-01-01", "end": "2021-01-01"}, "end must be after start"),
        ({"start": "2022-01-01", "end": "2022-01-01"}, "end must be after start"),
        ({"start": "not a date"}, "start"),
        ({"end": "2022-13-45"}, "end"),
        ({"start": "2022-01-08", "end": "2022-01-09"}, "no business days"),
        ({"timeframe": "hours"}, "timeframe"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"price": 0.0}, "price"),
        ({"price": float("nan")}, "price"),
        ({"volatility": -0.1}, "volatility"),
        ({"carry": float("inf")}, "carry"),
        ({"contracts_listed": 1}, "contracts_listed"),
        ({"roll_window": 0}, "roll_window"),
        ({"volume": 0.0}, "volume"),
    ],
)
def test_bad_arguments_name_the_parameter(kwargs: dict[str, object], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        generate_chain(SPECS["ES"], **kwargs)  # type: ignore[arg-type]
