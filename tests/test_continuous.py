"""Continuous series: hand-computed adjustments and properties on random chains."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stratforge.futures import (
    ContractId,
    MissingRollPriceError,
    RollPoint,
    build_continuous,
)
from stratforge.futures.rolls import schedule
from tests.futures_helpers import chain_of, contract_frame

H24, M24, U24 = (ContractId.parse(c) for c in ("TTH24", "TTM24", "TTU24"))


def two_contracts():
    # Roll on Jan 5: gap measured on Jan 4, where H closes 103 and M 113: gap 10, factor 113/103.
    return chain_of(
        {
            "TTH24": contract_frame([100, 101, 102, 103, 104, 105], "2024-01-01"),
            "TTM24": contract_frame([110, 111, 112, 113, 114, 115, 116, 117], "2024-01-01"),
        }
    )


ROLL = [RollPoint(pd.Timestamp("2024-01-05"), H24, M24)]


def test_difference_adjustment_by_hand() -> None:
    series = build_continuous(two_contracts(), ROLL, "difference")
    assert series.frame["close"].tolist() == [110, 111, 112, 113, 114, 115, 116, 117]
    assert series.raw["close"].tolist() == [100, 101, 102, 103, 114, 115, 116, 117]
    assert series.contract_codes().tolist() == ["TTH24"] * 4 + ["TTM24"] * 4
    row = series.rolls.iloc[0]
    assert (row["from_contract"], row["to_contract"]) == ("TTH24", "TTM24")
    assert (row["from_price"], row["to_price"], row["gap"]) == (103.0, 113.0, 10.0)
    assert row["measured_on"] == pd.Timestamp("2024-01-04")
    # the old contract's open on the roll day (its previous close, 103) closes the position
    assert series.raw["roll_exit"].iloc[4] == 103.0
    assert np.isnan(series.raw["roll_exit"].iloc[3])


def test_ratio_adjustment_by_hand() -> None:
    series = build_continuous(two_contracts(), ROLL, "ratio")
    factor = 113 / 103
    expected = [p * factor for p in (100, 101, 102, 103)] + [114, 115, 116, 117]
    assert series.frame["close"].tolist() == pytest.approx(expected, rel=1e-15)
    assert series.rolls.iloc[0]["factor"] == pytest.approx(factor)
    returns = series.frame["close"].pct_change().iloc[1:4]
    raw_returns = pd.Series([101 / 100, 102 / 101, 103 / 102]) - 1
    assert returns.tolist() == pytest.approx(raw_returns.tolist(), rel=1e-12)


def test_forward_difference_and_none_by_hand() -> None:
    forward = build_continuous(two_contracts(), ROLL, "forward_difference")
    assert forward.frame["close"].tolist() == [100, 101, 102, 103, 104, 105, 106, 107]
    raw = build_continuous(two_contracts(), ROLL, "none")
    assert raw.frame["close"].tolist() == [100, 101, 102, 103, 114, 115, 116, 117]


def test_high_low_open_shift_with_close() -> None:
    series = build_continuous(two_contracts(), ROLL, "difference")
    raw = series.raw
    for column in ("open", "high", "low"):
        expected = raw[column].to_numpy() + np.where(np.arange(8) < 4, 10.0, 0.0)
        assert series.frame[column].tolist() == expected.tolist()


def test_missing_price_on_measurement_bar_names_date_and_contracts() -> None:
    chain = two_contracts()
    new = chain.frames[M24].drop(pd.Timestamp("2024-01-04"))
    chain = chain_of({"TTH24": chain.frames[H24], "TTM24": new})
    with pytest.raises(MissingRollPriceError) as info:
        build_continuous(chain, ROLL, "difference")
    message = str(info.value)
    assert "TTM24 has no close on 2024-01-04" in message and "TTH24" in message
    filled = build_continuous(chain, ROLL, "difference", fill_missing=True)
    assert filled.rolls.iloc[0]["to_price"] == 112.0  # Jan 3, the last earlier close


def test_schedule_rule_and_three_contracts() -> None:
    chain = chain_of(
        {
            "TTH24": contract_frame([10, 11, 12, 13], "2024-01-01"),
            "TTM24": contract_frame([20, 21, 22, 23, 24, 25], "2024-01-01"),
            "TTU24": contract_frame([30, 31, 32, 33, 34, 35, 36], "2024-01-01"),
        }
    )
    rolls = schedule(chain, dates=["2024-01-03", "2024-01-05"])
    assert [(r.at.day, r.from_contract.code, r.to_contract.code) for r in rolls] == [
        (3, "TTH24", "TTM24"),
        (5, "TTM24", "TTU24"),
    ]
    series = build_continuous(chain, rolls, "difference")
    # gaps: Jan 2: 21 - 11 = 10; Jan 4: 33 - 23 = 10 -> H gets +20, M +10
    assert series.frame["close"].tolist() == [30, 31, 32, 33, 34, 35, 36]
    assert series.raw["close"].tolist() == [10, 11, 22, 23, 34, 35, 36]


# -- properties on random chains --------------------------------------------------------


@st.composite
def random_chains(draw):
    n_contracts = draw(st.integers(2, 5))
    length = draw(st.integers(3, 12))
    step = draw(st.integers(1, length - 1))
    frames, rolls = {}, []
    codes = [f"TT{m}{y}" for y in (24, 25) for m in "HMUZ"][:n_contracts]
    start = pd.Timestamp("2024-01-01")
    for k, code in enumerate(codes):
        prices = draw(
            st.lists(st.floats(1.0, 1000.0), min_size=length + step * k, max_size=length + step * k)
        )
        frames[code] = contract_frame(prices, "2024-01-01")
        if k:
            rolls.append(
                RollPoint(
                    start + pd.Timedelta(days=step * k),
                    ContractId.parse(codes[k - 1]),
                    ContractId.parse(code),
                )
            )
    return chain_of(frames), rolls


@settings(max_examples=60, deadline=None)
@given(random_chains())
def test_difference_properties(case) -> None:
    chain, rolls = case
    series = build_continuous(chain, rolls, "difference")
    adjusted = series.frame["close"].to_numpy()
    raw = series.raw["close"].to_numpy()
    roll_positions = {series.frame.index.get_loc(r.at) for r in rolls}
    for i in range(1, len(adjusted)):
        step = adjusted[i] - adjusted[i - 1]
        if i in roll_positions:
            roll = next(r for r in rolls if series.frame.index[i] == r.at)
            previous_next_price = chain.frames[roll.to_contract]["close"].iloc[i - 1]
            assert step == pytest.approx(raw[i] - previous_next_price, abs=1e-9)
        else:
            assert step == pytest.approx(raw[i] - raw[i - 1], abs=1e-9)
    assert adjusted[-1] == raw[-1]


@settings(max_examples=60, deadline=None)
@given(random_chains())
def test_ratio_preserves_returns_off_the_roll(case) -> None:
    chain, rolls = case
    series = build_continuous(chain, rolls, "ratio")
    adjusted = series.frame["close"].to_numpy()
    raw = series.raw["close"].to_numpy()
    rolling = {series.frame.index.get_loc(r.at) for r in rolls}
    for i in range(1, len(adjusted)):
        if i not in rolling:
            assert adjusted[i] / adjusted[i - 1] == pytest.approx(raw[i] / raw[i - 1], rel=1e-9)
    assert adjusted[-1] == pytest.approx(raw[-1], rel=1e-12)
