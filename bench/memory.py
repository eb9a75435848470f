"""Peak memory, time and stored result size of a 3.5-million-bar futures backtest.

One root (ES), about ten years of one-minute bars, 23 hours a day (1,380 bars): the script
writes the quarterly contracts as per-contract Parquet files (a seeded random walk made here,
each contract priced at the walk plus its own carry and trading from 20 business days before
the previous contract's last trade date to its own, so every roll has an overlap), then runs
in a fresh process what a user or the job service does:

  1. ``run_backtest(RunSpec(...))`` with the ``contracts_dir`` source and ``root: ES`` (read and
     validate the files, roll ``days_before_expiry(5)``, back-adjust, run the long-only
     SMA(10)/SMA(30) cross with one contract, build the ``RunResult``)
  2. ``encode_result`` and ``BlobStore.put_bytes`` (a zip of a JSON head and Parquet tables,
     content addressed): how ``jobs.run.store_backtest`` keeps a finished backtest; then, for
     comparison only, the whole result as JSON (the API's ``/result`` edge)

and reports the process's peak RSS (``ru_maxrss``) after its imports, after (1) and after (2),
the times, and the stored and JSON sizes, also per million bars. Target: peak
RSS within 2 GB. The parent kills the run if its RSS passes ``--max-rss`` (the machine may be
shared).

    .venv/bin/python bench/memory.py                 # 3,500,000 bars
    .venv/bin/python bench/memory.py --bars 250000   # a quick look
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from engines import high_water_mib, machine_lines, peak_rss_mib, run_child

ROOT = "ES"
PER_DAY = 1380  # one-minute bars a day, 00:00-22:59
OVERLAP_DAYS = 20  # a contract starts trading this many business days before the front expires
START = "2014-01-02"
TARGET_MIB = 2000 * 10**6 / 2**20  # 2 GB

if TYPE_CHECKING:  # the parent process imports neither (it stays small)
    import numpy as np
    import pandas as pd


def write_contracts(folder: Path, bars: int, seed: int = 7) -> dict[str, int]:
    """Per-contract Parquet files whose continuous series has *bars* one-minute bars."""
    import numpy as np
    import pandas as pd

    from stratforge.futures.contracts import ContractId
    from stratforge.futures.specs import BUILTIN_SPECS

    spec = next(s for s in BUILTIN_SPECS if s.root == ROOT)
    days = pd.bdate_range(START, periods=math.ceil(bars / PER_DAY))
    minutes = pd.to_timedelta(np.arange(PER_DAY), unit="min").to_numpy()
    index = pd.DatetimeIndex((days.to_numpy()[:, None] + minutes[None, :]).ravel())[:bars]
    rng = np.random.default_rng(seed)
    spot = 2000.0 * np.exp(np.cumsum(rng.normal(0.0, 0.0003, size=index.size)))
    contracts = spec.contracts_between(days[0].date(), days[-1].date())
    first_day, contract_bars, written, previous_expiry = days[0], 0, 0, None
    for contract in contracts:
        expiry = pd.Timestamp(spec.last_trade_date(contract))
        if previous_expiry is not None:
            first_day = previous_expiry - pd.offsets.BDay(OVERLAP_DAYS)
        rows = (index >= first_day) & (index < expiry + pd.Timedelta(days=1))
        previous_expiry = expiry
        if not rows.any():
            continue
        years_left = (expiry - index[rows]).days.to_numpy() / 365.25
        frame = _bars(index[rows], spot[rows] * np.exp(0.03 * years_left), spec.tick_size, rng)
        assert isinstance(contract, ContractId)
        frame.to_parquet(folder / f"{contract.code}.parquet")
        contract_bars, written = contract_bars + len(frame), written + 1
    return {"bars": int(index.size), "contract_bars": contract_bars, "contracts": written}


def _bars(
    index: pd.DatetimeIndex, close: np.ndarray, tick: float, rng: np.random.Generator
) -> pd.DataFrame:
    """OHLCV bars around *close*, on the tick, with high >= open, close >= low."""
    import numpy as np
    import pandas as pd

    close = np.round(close / tick) * tick
    open_ = np.concatenate([[close[0]], close[:-1]])
    wick = np.round(np.abs(rng.normal(0.0, 0.0002, size=close.size)) * close / tick) * tick
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) + wick,
            "low": np.minimum(open_, close) - wick,
            "close": close,
            "volume": rng.integers(1, 500, size=close.size),
        },
        index=pd.DatetimeIndex(index, name="datetime"),
    )


def child(folder: str, store: str) -> None:
    """The measured run: backtest, then store the result as the job service does."""
    started = time.perf_counter()
    from stratforge import RunSpec, run_backtest
    from stratforge.core.engine import default_plugins
    from stratforge.core.result_codec import encode_result
    from stratforge.store.blobs import BlobStore

    default_plugins()
    imported = time.perf_counter()
    baseline = peak_rss_mib()
    spec = RunSpec.model_validate(
        {
            "data": {"source": "contracts_dir", "args": {"path": folder}, "root": ROOT},
            "strategy": {
                "name": "sma_cross",
                "params": {"fast": 10, "slow": 30, "long_only": True},
            },
            "sizer": {"name": "fixed", "params": {"stake": 1}},
            "cash": 1_000_000.0,
        }
    )
    progress: list[tuple[float, float]] = []  # (time, peak RSS) at the first and last report

    def on_progress(done: int, total: int) -> None:  # about once per percent of the bars
        progress[1:] = [(time.perf_counter(), peak_rss_mib())]

    result = run_backtest(spec, on_progress=on_progress)
    ran = time.perf_counter()
    after_run = peak_rss_mib()
    blob = encode_result(result)
    serialised = time.perf_counter()
    blobs = BlobStore(Path(store))
    digest = blobs.put_bytes(blob)
    stored = time.perf_counter()
    after_store = peak_rss_mib()
    json_bytes = len(result.to_json().encode("utf-8"))
    metrics = result.metrics
    outcome = {
        "bars": metrics.bars,
        "trades": metrics.trades,
        "rolls": metrics.rolls,
        "end_value": metrics.end_value,
        "import_s": imported - started,
        "backtest_s": ran - imported,
        "to_first_progress_s": progress[0][0] - imported,
        "first_progress_mib": progress[0][1],
        "bar_loop_s": progress[-1][0] - progress[0][0],
        "last_progress_mib": progress[-1][1],
        "collect_s": ran - progress[-1][0],
        "encode_s": serialised - ran,
        "blob_put_s": stored - serialised,
        "baseline_mib": baseline,
        "after_run_mib": after_run,
        "peak_mib": after_store,
        "json_peak_mib": peak_rss_mib(),
        "hwm_mib": high_water_mib(),
        "json_bytes": json_bytes,
        "blob_bytes": len(blob),
        "blob_digest": digest,
    }
    print(json.dumps(outcome))


def report(made: dict[str, int], outcome: dict[str, float], write_s: float) -> None:
    per_million = 1e6 / outcome["bars"]
    mb = 1e6
    within = outcome["peak_mib"] <= TARGET_MIB
    lines = [
        f"data: {ROOT}, {made['contracts']} contract files, "
        f"{made['contract_bars']:,} contract-bars written in {write_s:.1f} s; "
        f"continuous series {outcome['bars']:,.0f} bars",
        f"result: {outcome['trades']:,.0f} trades, {outcome['rolls']:,.0f} rolls, "
        f"end value {outcome['end_value']:,.2f}",
        f"imports {outcome['import_s']:.2f} s, "
        f"RSS after imports {outcome['baseline_mib']:,.0f} MiB",
        f"run_backtest (load, roll, run, RunResult) {outcome['backtest_s']:.2f} s, "
        f"peak RSS {outcome['after_run_mib']:,.0f} MiB",
        f"  to its first progress report (load, roll, build, first 1% of bars) "
        f"{outcome['to_first_progress_s']:.2f} s, "
        f"peak RSS {outcome['first_progress_mib']:,.0f} MiB",
        f"  bar loop to the last report {outcome['bar_loop_s']:.2f} s, "
        f"peak RSS {outcome['last_progress_mib']:,.0f} MiB",
        f"  after it (the RunResult) {outcome['collect_s']:.2f} s",
        f"encode_result {outcome['encode_s']:.2f} s, BlobStore.put_bytes "
        f"{outcome['blob_put_s']:.2f} s: {outcome['blob_bytes'] / mb:,.1f} MB stored "
        f"({outcome['blob_bytes'] * per_million / mb:,.1f} MB per million bars)",
        f"the same result as JSON (the API edge, not stored): {outcome['json_bytes'] / mb:,.1f} MB "
        f"({outcome['json_bytes'] * per_million / mb:,.1f} MB per million bars); peak RSS "
        f"with it {outcome['json_peak_mib']:,.0f} MiB",
        f"peak RSS of the run and its storage {outcome['peak_mib']:,.0f} MiB "
        f"({outcome['peak_mib'] * 2**20 / 1e9:.2f} GB; VmHWM {outcome['hwm_mib'] or 0:,.0f} MiB): "
        "target 2 GB " + ("met" if within else "NOT met"),
    ]
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--bars", type=int, default=3_500_000, help="continuous one-minute bars")
    parser.add_argument("--max-rss", type=float, default=8192, help="kill the run above (MiB)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--make-data", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    if args.make_data:
        print(json.dumps(write_contracts(Path(args.make_data[0]), int(args.make_data[1]))))
        return
    print("\n".join(machine_lines()))
    with tempfile.TemporaryDirectory(prefix="sf-memory-") as temp:
        folder, store = Path(temp) / "contracts", Path(temp) / "results"
        folder.mkdir()
        started = time.perf_counter()
        made = run_child([__file__, "--make-data", str(folder), str(args.bars)])
        write_s = time.perf_counter() - started
        outcome = run_child([__file__, "--child", str(folder), str(store)], args.max_rss)
    report(made, outcome, write_s)


if __name__ == "__main__":
    main()
