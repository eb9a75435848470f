"""A chain of contract months of one root: the input of every roll rule and of the builder."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from stratforge.futures.contracts import ContractId, ContractSpec


@dataclass(frozen=True)
class RollPoint:
    """Switch from one contract to the next: ``at`` is the first bar that uses ``to``."""

    at: pd.Timestamp
    from_contract: ContractId
    to_contract: ContractId


@dataclass
class ContractChain:
    """Canonical OHLCV frames per contract month of one root, with the root's spec.

    ``expiries`` overrides the spec's calendar for individual contracts (hand-built chains,
    vendor data with known last trade dates).
    """

    spec: ContractSpec
    frames: Mapping[ContractId, pd.DataFrame]
    expiries: dict[ContractId, dt.date] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for contract in self.frames:
            if contract.root != self.spec.root:
                raise ValueError(f"contract {contract} does not belong to root {self.spec.root}")

    @property
    def root(self) -> str:
        return self.spec.root

    def contracts(self) -> list[ContractId]:
        """Contracts in expiry order, those without any bar left out."""
        return sorted(c for c, frame in self.frames.items() if len(frame))

    def last_trade_date(self, contract: ContractId) -> dt.date:
        if contract in self.expiries:
            return self.expiries[contract]
        return self.spec.last_trade_date(contract)

    def window(self, start: dt.datetime | None, end: dt.datetime | None) -> ContractChain:
        """The chain cut to [start, end]: what a backtest over that window may know."""
        if start is None and end is None:
            return self
        frames = {c: f.loc[start:end] for c, f in self.frames.items()}
        return ContractChain(self.spec, {c: f for c, f in frames.items() if len(f)}, self.expiries)
