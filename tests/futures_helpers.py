"""Hand-built contract chains for futures tests."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from stratforge.futures import ContractChain, ContractId, ContractSpec

TEST_SPEC = ContractSpec(
    root="TT",
    name="Test future",
    exchange="TEST",
    currency="USD",
    multiplier=10.0,
    tick_size=0.25,
    months="HMUZ",
    expiry_rule="third_friday",
    initial_margin=1_000.0,
    maintenance_margin=800.0,
    margin_as_of="2024-01-01",
    commission=2.0,
)


def contract_frame(
    closes: list[float], start: str, *, volume: list[float] | None = None
) -> pd.DataFrame:
    """Daily bars on consecutive calendar days; open = previous close (first: the close)."""
    close = np.asarray(closes, dtype=float)
    open_ = np.concatenate(([close[0]], close[:-1]))
    index = pd.DatetimeIndex(pd.date_range(start, periods=len(close), freq="D"), name="datetime")
    vol = np.asarray(volume if volume is not None else [1000.0] * len(close), dtype=float)
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) + 0.5,
            "low": np.minimum(open_, close) - 0.5,
            "close": close,
            "volume": vol,
            "openinterest": vol * 10,
        },
        index=index,
    )


def chain_of(frames: dict[str, pd.DataFrame], **expiries: str) -> ContractChain:
    """A chain from ``{"TTH24": frame, ...}``; expiries as ``TTH24="2024-01-10"``."""
    parsed = {ContractId.parse(code): frame for code, frame in frames.items()}
    return ContractChain(
        TEST_SPEC,
        parsed,
        {ContractId.parse(code): dt.date.fromisoformat(day) for code, day in expiries.items()},
    )


HELD_INTO_EXPIRY = {
    "data": {
        "source": "synthetic",
        "root": "ES",
        "args": {"bars": 600, "start": "2014-01-01"},
        "end": "2015-12-18",
        "roll": {"name": "schedule", "params": {"dates": ["2030-01-02"]}},
    },
    "strategy": {"name": "trend_following", "params": {"vol_lookback": 20}},
    "cash": 500_000,
}
"""A seeded ES run that holds ESZ15 into its last trade date (2015-12-18), the run's end.

With no scheduled roll each contract is rolled when its data ends, after its expiry; the
last one, ESZ15, has nothing to roll into before the run ends, so it is settled in cash."""
