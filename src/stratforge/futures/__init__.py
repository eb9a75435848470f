"""Futures: contract specs, chains, roll rules, continuous series and rolling positions."""

from stratforge.futures.chain import ContractChain, RollPoint
from stratforge.futures.continuous import (
    ADJUSTMENTS,
    ContinuousSeries,
    MissingRollPriceError,
    build_continuous,
)
from stratforge.futures.contracts import MONTH_CODES, ContractCodeError, ContractId, ContractSpec

__all__ = [
    "ADJUSTMENTS",
    "MONTH_CODES",
    "ContinuousSeries",
    "ContractChain",
    "ContractCodeError",
    "ContractId",
    "ContractSpec",
    "MissingRollPriceError",
    "RollPoint",
    "build_continuous",
]
