"""Overfitting diagnostics for a search: the deflated Sharpe ratio and the probability of
backtest overfitting (PBO) by combinatorially symmetric cross-validation (CSCV).

* Bailey, D. H. and López de Prado, M. (2014), "The Deflated Sharpe Ratio: Correcting for
  Selection Bias, Backtest Overfitting and Non-Normality", Journal of Portfolio Management
  40(5), 94-107.
* Bailey, D. H., Borwein, J., López de Prado, M. and Zhu, Q. J. (2015), "The Probability of
  Backtest Overfitting", Journal of Computational Finance 20(4), 39-69.

Formulas are in docs/optimization.md. All Sharpe ratios here are per bar (not annualised).
The normal quantile is the standard library's (``statistics.NormalDist``), the normal CDF
``erfc``'s (exact in the lower tail, where ``NormalDist.cdf`` rounds to 0): importing
scipy.stats for two functions took longer than a small search.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

EULER_GAMMA = 0.5772156649015329
_NORMAL = NormalDist()


@dataclass(frozen=True)
class ReturnStats:
    """What a trial keeps of its per-bar returns: enough for the DSR and for CSCV."""

    sharpe: float | None
    skew: float | None
    kurtosis: float | None
    count: int
    blocks: tuple[tuple[int, float, float], ...]
    """Per block of consecutive bars: (count, sum, sum of squares) of the returns."""


def return_stats(returns: np.ndarray, blocks: int) -> ReturnStats:
    """Per-bar Sharpe, skewness, (non-excess) kurtosis and CSCV block sums of *returns*."""
    count = len(returns)
    parts = np.array_split(returns, blocks) if blocks and count >= blocks else []
    block_sums = tuple((len(p), float(p.sum()), float((p * p).sum())) for p in parts)
    if count < 3:
        return ReturnStats(None, None, None, count, block_sums)
    mean = float(returns.mean())
    std = float(returns.std(ddof=1))
    if std == 0.0:
        return ReturnStats(None, None, None, count, block_sums)
    centred = returns - mean
    m2 = float((centred**2).mean())
    skew = float((centred**3).mean()) / m2**1.5
    kurtosis = float((centred**4).mean()) / m2**2
    return ReturnStats(mean / std, skew, kurtosis, count, block_sums)


def expected_max_sharpe(variance: float, trials: int) -> float:
    """SR0: the expected maximum of *trials* Sharpe ratios with zero mean and this variance.

    SR0 = sqrt(V) * ((1 - g) * Z^-1(1 - 1/N) + g * Z^-1(1 - 1/(N e))), g = Euler's constant.
    """
    if trials < 2:
        return 0.0
    return math.sqrt(variance) * (
        (1 - EULER_GAMMA) * _NORMAL.inv_cdf(1 - 1 / trials)
        + EULER_GAMMA * _NORMAL.inv_cdf(1 - 1 / (trials * math.e))
    )


def probabilistic_sharpe(
    sharpe: float, benchmark: float, count: int, skew: float, kurtosis: float
) -> float:
    """PSR: P(true Sharpe > benchmark) given an observed per-bar Sharpe over *count* returns.

    PSR = Z((SR - SR*) sqrt(T - 1) / sqrt(1 - skew SR + (kurtosis - 1) / 4 SR^2)).
    """
    denominator = 1 - skew * sharpe + (kurtosis - 1) / 4 * sharpe**2
    if count < 2 or denominator <= 0:
        return float("nan")
    return normal_cdf((sharpe - benchmark) * math.sqrt(count - 1) / math.sqrt(denominator))


def normal_cdf(x: float) -> float:
    """The standard normal CDF, accurate in both tails (as scipy's ``norm.cdf``)."""
    return 0.5 * math.erfc(-x / math.sqrt(2))


@dataclass(frozen=True)
class DeflatedSharpe:
    dsr: float
    sharpe: float
    expected_max_sharpe: float
    trials: int


def deflated_sharpe(best: ReturnStats, all_sharpes: Sequence[float]) -> DeflatedSharpe | None:
    """The DSR of the best trial: its PSR against the Sharpe expected from luck alone."""
    sharpes = [s for s in all_sharpes if s is not None and math.isfinite(s)]
    if best.sharpe is None or best.skew is None or best.kurtosis is None or len(sharpes) < 2:
        return None
    benchmark = expected_max_sharpe(float(np.var(sharpes, ddof=1)), len(sharpes))
    dsr = probabilistic_sharpe(best.sharpe, benchmark, best.count, best.skew, best.kurtosis)
    return DeflatedSharpe(dsr, best.sharpe, benchmark, len(sharpes))


@dataclass(frozen=True)
class OverfittingProbability:
    pbo: float
    logits: tuple[float, ...]
    combinations: int


def probability_of_overfitting(
    blocks: Sequence[Sequence[tuple[int, float, float]]],
) -> OverfittingProbability | None:
    """PBO by CSCV from each trial's block sums (trials x S blocks, S even).

    For every choice of S/2 blocks as in-sample (the rest out-of-sample), take the trial with
    the best in-sample Sharpe, its relative out-of-sample rank w = rank / (N + 1) and the
    logit ln(w / (1 - w)); PBO is the share of logits <= 0.
    """
    matrix = np.asarray(blocks, dtype=np.float64)  # (N, S, 3)
    if matrix.ndim != 3 or matrix.shape[0] < 2 or matrix.shape[1] < 2 or matrix.shape[1] % 2:
        return None
    trials, splits, _ = matrix.shape
    masks = _split_masks(splits)
    # (S, 3N): each block's counts, then its sums, then its sums of squares, per trial
    flat = matrix.transpose(1, 2, 0).reshape(splits, 3 * trials)
    # Combinations come in lexicographic order, where the complement of the i-th is the
    # (C-1-i)-th: one Sharpe per trial and combination serves as the in-sample side of one
    # split and the out-of-sample side of its mirror, so half the products are enough.
    total = len(masks)
    half = total // 2
    logits = np.empty(total)
    chunk = max(1, 1_000_000 // (trials * 3))  # bound the (chunk, 3N) temporaries
    for start in range(0, half, chunk):
        stop = min(start + chunk, half)
        front = _sharpe_of(masks[start:stop] @ flat, trials)
        back = _sharpe_of(masks[total - stop : total - start] @ flat, trials)[::-1]
        logits[start:stop] = _logits(front, back, trials)
        logits[total - stop : total - start] = _logits(back, front, trials)[::-1]
    return OverfittingProbability(float(np.mean(logits <= 0)), tuple(logits.tolist()), total)


@functools.lru_cache(maxsize=8)
def _split_masks(splits: int) -> np.ndarray:
    """(C, S), one row per choice of S/2 in-sample blocks (1 where in-sample), in
    lexicographic order; read-only, as it is shared by every search with S blocks."""
    chosen = np.array(list(itertools.combinations(range(splits), splits // 2)))
    masks = np.zeros((len(chosen), splits))
    masks[np.arange(len(chosen))[:, None], chosen] = 1.0
    masks.flags.writeable = False
    return masks


def _logits(in_sample: np.ndarray, out_sample: np.ndarray, trials: int) -> np.ndarray:
    """Per split (rows): the logit of the in-sample best's relative out-of-sample rank."""
    best = np.argmax(in_sample, axis=1)
    best_oos = out_sample[np.arange(len(in_sample)), best][:, None]
    rank = 1 + np.sum(out_sample < best_oos, axis=1)  # 1 = worst out-of-sample
    omega = rank / (trials + 1)
    return np.log(omega / (1 - omega))


def _sharpe_of(sums: np.ndarray, trials: int) -> np.ndarray:
    """Sharpe (mean / sample std) per row and trial from (rows, 3N) sums laid out as N
    counts, N sums, N sums of squares."""
    count, total, squares = sums[:, :trials], sums[:, trials : 2 * trials], sums[:, 2 * trials :]
    mean = total / count
    variance = squares - total * mean
    variance /= count - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        np.sqrt(variance, out=variance)
        np.divide(mean, variance, out=mean)
    mean[~np.isfinite(mean)] = -np.inf
    return mean
