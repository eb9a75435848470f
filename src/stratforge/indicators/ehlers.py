"""John Ehlers' low-lag filters."""

from __future__ import annotations

import math
from typing import Any

import backtrader as bt

MAX_POLES = 4


class GaussianFilter(bt.Indicator):
    """Ehlers' recursive Gaussian filter: a low-pass smoother with less lag than an EMA.

    From "Gaussian and Other Low Lag Filters" (Cybernetic Analysis): N cascaded EMAs sharing
    the alpha that puts the filter's -3 dB point at ``period`` bars, written as one recursion::

        beta  = (1 - cos(2 pi / period)) / (2 ** (1 / poles) - 1)
        alpha = -beta + sqrt(beta ** 2 + 2 beta)
        f     = alpha ** N * x + sum(k=1..N) (-1) ** (k + 1) * C(N, k) * (1 - alpha) ** k * f[-k]

    Seed: an IIR filter needs N past outputs, so the first ``poles`` values (from the input's
    first bar) equal the input and the recursion starts on the next bar. The seed fades
    geometrically; allow a few ``period``s before trusting the value.

    Params:
        period: critical period in bars: cycles shorter than this are attenuated (at least 2)
        poles: filter order, 1 to 4: more poles smooth harder at the cost of more lag
    """

    lines = ("gauss",)
    params = (("period", 14), ("poles", 4))
    plotinfo = {"subplot": False}

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> None:
        period = params.get("period", cls.params.period)
        poles = params.get("poles", cls.params.poles)
        if not 1 <= poles <= MAX_POLES:
            raise ValueError(f"poles must be 1 to {MAX_POLES}, got {poles}")
        if period < 2:  # a cycle shorter than 2 bars cannot be sampled
            raise ValueError(f"period must be at least 2 bars, got {period}")

    def __init__(self) -> None:
        self.check_params({"period": self.p.period, "poles": self.p.poles})
        self.gain, self.coefficients = gaussian_coefficients(self.p.period, self.p.poles)

    def next(self) -> None:
        # bars since the input's first value: the first `poles` of them are the seed
        if len(self) - self._minperiod < self.p.poles:
            self.lines.gauss[0] = self.data[0]
            return
        value = self.gain * self.data[0]
        for lag, coefficient in enumerate(self.coefficients, start=1):
            value += coefficient * self.lines.gauss[-lag]
        self.lines.gauss[0] = value

    def once(self, start: int, end: int) -> None:
        # also called by the default oncestart() for the first bar, so seeds are set here
        src = self.data.array
        dst = self.lines.gauss.array
        seed_end = self._minperiod - 1 + self.p.poles
        gain, coefficients = self.gain, self.coefficients
        for i in range(start, end):
            if i < seed_end:
                dst[i] = src[i]
                continue
            value = gain * src[i]
            for lag, coefficient in enumerate(coefficients, start=1):
                value += coefficient * dst[i - lag]
            dst[i] = value


def gaussian_coefficients(period: float, poles: int) -> tuple[float, tuple[float, ...]]:
    """``alpha ** N`` and the weights of ``f[-1] .. f[-N]`` of an N-pole Gaussian filter."""
    beta = (1.0 - math.cos(2.0 * math.pi / period)) / (2.0 ** (1.0 / poles) - 1.0)
    alpha = -beta + math.sqrt(beta * beta + 2.0 * beta)
    decay = 1.0 - alpha
    weights = tuple((-1.0) ** (k + 1) * math.comb(poles, k) * decay**k for k in range(1, poles + 1))
    return alpha**poles, weights
