"""Futures continuous series: roll + build time and memory, a naive pandas baseline, and
conformance against pysystemtrade's back-adjusted prices.

Prints:
  1. 20-year daily ES chain (2004-2023, 80 quarterly expiries) from ``generate_chain``: the
     generation, a ``volume_crossover`` roll and ``build_continuous`` with ``difference`` and
     ``ratio`` (best-of-N time, tracemalloc peak of each step, bars, contracts, rolls)
  2. 5-year one-minute ES chain (2019-2023): the daily chain expanded here, in the bench, to
     N one-minute bars per contract-day (Brownian bridge between daily closes, default 1,380
     bars = 23 h; generated once), then ``days_before_expiry(days=5)`` and ``difference``
  3. a naive pandas back-adjustment as users write it (splice with ``.loc``, then for each
     roll add the gap to every earlier row: O(bars x rolls)) on the 20-year daily chain with
     the same roll points, and on the one-minute chain as an extra; it must equal
     stratforge's adjusted close to 1e-9
  4. if ``../shared/oracle/pysystemtrade`` exists next to the repository: stratforge's
     ``difference`` series against pysystemtrade's ``adjusted_prices`` for each instrument,
     plus the naive loop of (3) on the same rolls (pysystemtrade's own order of additions)
Times are best of ``--repeat`` runs, the first run shown too: on a fresh VM the first touch
of memory the guest never used costs more than later runs. Peaks are tracemalloc peaks of a
separate run; max RSS is the process's so far.

    .venv/bin/python bench/futures.py              # 20y daily; 5y x 1,380 minute bars/day
    .venv/bin/python bench/futures.py --quick      # 20y daily; 2y x 390 minute bars/day
    .venv/bin/python bench/futures.py --minutes-per-day 690 --repeat 5
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import resource
import time
import tracemalloc
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd

from stratforge.futures.chain import ContractChain, RollPoint
from stratforge.futures.continuous import ContinuousSeries, build_continuous
from stratforge.futures.contracts import ContractId
from stratforge.futures.rolls import days_before_expiry, volume_crossover
from stratforge.futures.specs import BUILTIN_SPECS
from stratforge.futures.synthetic import generate_chain

T = TypeVar("T")

ES = next(spec for spec in BUILTIN_SPECS if spec.root == "ES")
SEED = 7
DAILY_SPAN = ("2004-01-01", "2023-12-31")
MINUTE_START, MINUTE_END = "2019-01-01", "2023-12-31"
QUICK_MINUTE_START = "2022-01-01"
VOLATILITY = 0.2  # generate_chain's default, annualised over 252 days
WICK_SCALE = 0.5  # typical wick beyond a minute's body, in per-minute volatilities
ORACLE = Path(__file__).resolve().parents[2] / "shared" / "oracle" / "pysystemtrade"
MiB = 1024 * 1024


# --------------------------------------------------------------------------- measuring


def best_time(fn: Callable[[], T], repeat: int) -> tuple[float, T, float]:
    """Best-of-*repeat* wall time, the last result, and the first run's time."""
    times: list[float] = []
    result = None
    for _ in range(repeat):
        result = None  # drop the previous result before the next run
        gc.collect()
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times), result, times[0]  # type: ignore[return-value]


def traced_peak(fn: Callable[[], object]) -> float:
    """Peak bytes allocated while *fn* runs (NumPy buffers are traced), in MiB."""
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / MiB


def max_rss() -> float:
    """The process's max resident set size so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def step(label: str, fn: Callable[[], T], repeat: int) -> tuple[T, float]:
    """Time *fn* (best of *repeat*, first run shown too), then its tracemalloc peak."""
    seconds, result, first = best_time(fn, repeat)
    peak = traced_peak(fn)
    runs = f"best of {repeat}, first {first:.3f} s" if repeat > 1 else "1 run"
    print(f"  {label:<34} {seconds:8.3f} s ({runs}) | peak {peak:7.1f} MiB")
    return result, seconds


def frame_bytes(frames: Mapping[ContractId, pd.DataFrame]) -> float:
    return sum(int(f.memory_usage(index=True).sum()) for f in frames.values()) / MiB


# --------------------------------------------------------------------- minute expansion


def expand_to_minutes(
    frames: Mapping[ContractId, pd.DataFrame], minutes: int, tick: float, seed: int
) -> dict[ContractId, pd.DataFrame]:
    """Each contract-day of a daily chain as *minutes* one-minute bars from 00:00.

    Closes follow a Brownian bridge from the contract's previous close (its open on its
    first day) to the day's close, rounded to the tick; each bar opens at the previous
    bar's close; wicks are half-normal; volume is split evenly and open interest repeated.
    Bench data only: cheap and vectorised, not a market model.
    """
    if not 1 <= minutes <= 1440:
        raise SystemExit(f"--minutes-per-day must be 1-1440, got {minutes}")
    rng = np.random.default_rng(seed)
    fraction = np.arange(1, minutes + 1) / minutes
    offsets = np.arange(minutes).astype("m8[m]").astype("m8[us]")
    sigma_share = VOLATILITY / np.sqrt(252 * minutes)
    expanded: dict[ContractId, pd.DataFrame] = {}
    for contract, daily in frames.items():
        close = daily["close"].to_numpy()
        previous = np.concatenate([daily["open"].to_numpy()[:1], close[:-1]])
        sigma = (previous * sigma_share)[:, None]
        walk = np.cumsum(rng.standard_normal((len(close), minutes)), axis=1)
        walk -= fraction * walk[:, -1:]  # pin the end: a bridge from 0 to 0
        path = previous[:, None] + fraction * (close - previous)[:, None] + sigma * walk
        closes = np.maximum(np.round(path / tick), 1.0) * tick
        closes[:, -1] = close  # exactly the day's close
        opens = np.empty_like(closes)
        opens[:, 0] = previous
        opens[:, 1:] = closes[:, :-1]
        wicks = np.abs(rng.standard_normal((2, len(close), minutes))) * (WICK_SCALE * sigma)
        body_high, body_low = np.maximum(opens, closes), np.minimum(opens, closes)
        highs = np.maximum(np.ceil((body_high + wicks[0]) / tick) * tick, body_high)
        lows = np.minimum(np.maximum(np.floor((body_low - wicks[1]) / tick) * tick, tick), body_low)
        volume = np.repeat(daily["volume"].to_numpy() / minutes, minutes)
        interest = np.repeat(daily["openinterest"].to_numpy(), minutes)
        stamps = (daily.index.to_numpy()[:, None] + offsets).ravel()
        data = np.column_stack(
            [opens.ravel(), highs.ravel(), lows.ravel(), closes.ravel(), volume, interest]
        )
        expanded[contract] = pd.DataFrame(
            data,
            index=pd.DatetimeIndex(stamps, name="datetime"),
            columns=["open", "high", "low", "close", "volume", "openinterest"],
        )
    return expanded


# ------------------------------------------------------------------------ naive baseline


def naive_back_adjust(
    frames: Mapping[ContractId, pd.DataFrame], rolls: Sequence[RollPoint]
) -> pd.Series:
    """Panama back-adjustment of the close as a pandas user writes it, on given rolls."""
    pieces = []
    start = None
    held = [rolls[0].from_contract, *[r.to_contract for r in rolls]]
    ends = [*[r.at for r in rolls], None]
    for contract, end in zip(held, ends, strict=True):
        close = frames[contract]["close"]
        if start is not None:
            close = close.loc[start:]
        if end is not None:
            close = close.loc[close.index < end]
        pieces.append(close)
        start = end
    adjusted = pd.concat(pieces)
    for piece, roll in zip(pieces, rolls, strict=False):
        day = piece.index[-1]  # the bar before the roll: both contracts have a close there
        gap = (
            frames[roll.to_contract]["close"].loc[day]
            - frames[roll.from_contract]["close"].loc[day]
        )
        adjusted.loc[adjusted.index < roll.at] += gap
    return adjusted


# ------------------------------------------------------------------------------- parts


def part_daily(repeat: int) -> tuple[ContractChain, list[RollPoint], ContinuousSeries, float]:
    start, end = DAILY_SPAN
    print(f"1. 20-year daily continuous series: ES {start}..{end}, volume_crossover(confirm=1)")
    frames, _ = step(
        "generate_chain (days)",
        lambda: generate_chain(ES, start=start, end=end, timeframe="days", seed=SEED),
        repeat,
    )
    chain = ContractChain(ES, frames)
    rows = sum(len(f) for f in frames.values())
    print(
        f"  chain: {len(frames)} contracts, {rows:,} contract-bars, {frame_bytes(frames):.1f} MiB"
    )
    rolls, roll_s = step(
        "roll: volume_crossover", lambda: volume_crossover(chain, confirm=1), repeat
    )
    series, diff_s = step(
        "build_continuous difference", lambda: build_continuous(chain, rolls, "difference"), repeat
    )
    _, ratio_s = step(
        "build_continuous ratio", lambda: build_continuous(chain, rolls, "ratio"), repeat
    )
    peak = traced_peak(
        lambda: build_continuous(chain, volume_crossover(chain, confirm=1), "difference")
    )
    print(
        f"  series: {len(series.contracts)} contracts used, {len(rolls)} rolls, "
        f"{len(series.frame):,} bars | roll + difference {roll_s + diff_s:.3f} s, "
        f"roll + ratio {roll_s + ratio_s:.3f} s | roll + build peak {peak:.1f} MiB "
        f"| max RSS {max_rss():,.0f} MiB"
    )
    return chain, rolls, series, diff_s


def part_minutes(
    quick: bool, minutes: int, repeat: int
) -> tuple[ContractChain, list[RollPoint], ContinuousSeries, float]:
    start = QUICK_MINUTE_START if quick else MINUTE_START
    print(
        f"2. one-minute continuous series: ES {start}..{MINUTE_END}, {minutes:,} bars per "
        "contract-day, days_before_expiry(days=5)"
    )
    daily = generate_chain(ES, start=start, end=MINUTE_END, timeframe="days", seed=SEED)
    frames, _ = step(
        f"expand daily chain to {minutes:,} min/day",
        lambda: expand_to_minutes(daily, minutes, ES.tick_size, SEED),
        1,
    )
    chain = ContractChain(ES, frames)
    rows = sum(len(f) for f in frames.values())
    print(
        f"  chain: {len(frames)} contracts, {rows:,} contract-bars, {frame_bytes(frames):.1f} MiB"
    )
    rolls, roll_s = step(
        "roll: days_before_expiry(5)", lambda: days_before_expiry(chain, days=5), repeat
    )
    series, build_s = step(
        "build_continuous difference", lambda: build_continuous(chain, rolls, "difference"), repeat
    )
    peak = traced_peak(
        lambda: build_continuous(chain, days_before_expiry(chain, days=5), "difference")
    )
    bars = len(series.frame)
    print(
        f"  series: {len(series.contracts)} contracts used, {len(rolls)} rolls, {bars:,} bars "
        f"| roll + build {roll_s + build_s:.3f} s ({(roll_s + build_s) / bars * 1e9:.0f} ns/bar) "
        f"| roll + build peak {peak:.1f} MiB | max RSS {max_rss():,.0f} MiB"
    )
    return chain, rolls, series, build_s


def naive_against(
    label: str,
    chain: ContractChain,
    rolls: list[RollPoint],
    series: ContinuousSeries,
    forge_s: float,
    repeat: int,
) -> None:
    naive_s, naive, _ = best_time(lambda: naive_back_adjust(chain.frames, rolls), repeat)
    forge = series.frame["close"]
    if not naive.index.equals(forge.index):
        raise SystemExit(f"{label}: naive and stratforge series have different bars")
    diff = float(np.max(np.abs(naive.to_numpy() - forge.to_numpy())))
    if diff > 1e-9:
        raise SystemExit(f"{label}: naive and stratforge closes differ by up to {diff}")
    print(
        f"  {label:<22} naive {naive_s:.4f} s | stratforge difference {forge_s:.4f} s "
        f"| ratio stratforge/naive {forge_s / naive_s:.2f} | max |diff| {diff:.1e}"
    )


def oracle_chain(instrument: str) -> tuple[ContractChain, list[RollPoint], int]:
    """pysystemtrade's multiple prices as a ContractChain and its roll points."""
    table = pd.read_csv(
        ORACLE / "multiple_prices" / f"{instrument}.csv",
        parse_dates=["DATETIME"],
        index_col="DATETIME",
        dtype={"PRICE_CONTRACT": str, "FORWARD_CONTRACT": str, "CARRY_CONTRACT": str},
    )
    table.index = table.index.as_unit("us")
    table.index.name = "datetime"
    price = table[["PRICE_CONTRACT", "PRICE"]].set_axis(["contract", "close"], axis=1)
    forward = table[["FORWARD_CONTRACT", "FORWARD"]].set_axis(["contract", "close"], axis=1)
    long = pd.concat([price, forward]).dropna(subset=["close"]).reset_index()
    long = long.drop_duplicates(["datetime", "contract"], keep="first")  # PRICE wins

    def contract_of(code: str) -> ContractId:  # YYYYMM00
        return ContractId(instrument, int(code[:4]), int(code[4:6]))

    frames = {}
    for code, rows in long.groupby("contract", sort=True):
        close = rows.set_index("datetime")["close"].sort_index().astype(np.float64)
        frame = pd.DataFrame({c: close for c in ("open", "high", "low", "close")})
        frame["volume"] = 0.0
        frame["openinterest"] = 0.0
        frames[contract_of(code)] = frame
    held = table["PRICE_CONTRACT"].to_numpy()
    changes = np.flatnonzero(held[1:] != held[:-1]) + 1
    rolls, shifted = [], 0
    for row in changes:
        old, new = contract_of(held[row - 1]), contract_of(held[row])
        at = table.index[row]
        bars = frames[new].index
        if at not in bars:  # no price for the new contract on the roll row: next bar of it
            at = bars[bars.searchsorted(at)]
            shifted += 1
        rolls.append(RollPoint(at, old, new))
    spec = dataclasses.replace(ES, root=instrument, name=instrument, description="oracle")
    return ContractChain(spec, frames), rolls, shifted


def part_oracle() -> None:
    print(f"4. conformance: difference adjustment against pysystemtrade ({ORACLE})")
    if not ORACLE.is_dir():
        print("  skipped: oracle folder absent")
        return
    for path in sorted((ORACLE / "multiple_prices").glob("*.csv")):
        instrument = path.stem
        chain, rolls, shifted = oracle_chain(instrument)
        started = time.perf_counter()
        series = build_continuous(chain, rolls, "difference", fill_missing=True)
        seconds = time.perf_counter() - started
        naive = naive_back_adjust(chain.frames, rolls)
        expected = pd.read_csv(
            ORACLE / "adjusted_prices" / f"{instrument}.csv",
            parse_dates=["DATETIME"],
            index_col="DATETIME",
        )["price"].dropna()
        expected.index = expected.index.as_unit("us")
        common = series.frame.index.intersection(expected.index)
        want = expected.loc[common].to_numpy()
        forge_diff = np.abs(series.frame["close"].loc[common].to_numpy() - want)
        naive_diff = np.abs(naive.loc[common].to_numpy() - want)
        print(
            f"  {instrument:<8} {len(rolls):4d} rolls ({shifted} moved to the new contract's "
            f"next bar) | {len(common):6,} rows compared of {len(expected):6,} | stratforge max "
            f"|diff| {forge_diff.max():.2e}, exact on {np.mean(forge_diff == 0):6.1%} | naive "
            f"loop max |diff| {naive_diff.max():.2e} | build {seconds:.3f} s"
        )
    print(
        "  moved: the roll row has an empty PRICE, so no bar of the new contract; the roll\n"
        "  point moves to its next bar (build_continuous would snap it there too).\n"
        f"  max RSS {max_rss():,.0f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 years x 390 minute bars/day")
    parser.add_argument(
        "--minutes-per-day", type=int, default=None, help="one-minute bars per contract-day"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per daily step (best of)")
    args = parser.parse_args()
    minutes = args.minutes_per_day or (390 if args.quick else 1380)
    print(f"pandas {pd.__version__}, NumPy {np.__version__}")
    started = time.perf_counter()
    daily = part_daily(args.repeat)
    minute = part_minutes(args.quick, minutes, args.repeat)
    print("3. naive pandas back-adjustment (splice, then a loop over rolls), same roll points")
    naive_against("20-year daily", *daily, args.repeat)
    naive_against("one-minute (extra)", *minute, args.repeat)
    part_oracle()
    print(f"total {time.perf_counter() - started:.1f} s, max RSS {max_rss():,.0f} MiB")


if __name__ == "__main__":
    main()
