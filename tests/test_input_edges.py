"""Edge cases users hit: short data, intraday stamps, importer formats, odd CLI input."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stratforge import RunSpec, run_backtest
from stratforge.core.errors import SpecError
from stratforge.core.plugins import Plugins
from stratforge.data import generate_synthetic
from stratforge.futures import ContractChain, ContractId, ContractSpec
from tests.test_cli import assert_one_line_error, stratforge


def test_too_few_bars_for_the_warm_up_is_a_spec_error(plugins: Plugins) -> None:
    spec = RunSpec.model_validate(
        {"strategy": {"name": "sma_cross"}, "data": {"args": {"bars": 10}}}
    )
    with pytest.raises(SpecError, match="10 bars are too few"):
        run_backtest(spec, plugins=plugins)
    assert_one_line_error(stratforge("run", "-a", "bars=10"), "too few")


def test_annual_return_analyzer_runs(plugins: Plugins) -> None:
    spec = RunSpec.model_validate(
        {"strategy": {"name": "sma_cross"}, "analyzers": [{"name": "annual_return"}]}
    )
    years = run_backtest(spec, plugins=plugins).analyzers["annual_return"]
    assert len(years) >= 9 and all(key[:4].isdigit() for key in years)


def test_minute_timestamps_are_exact(plugins: Plugins) -> None:
    frame = generate_synthetic(bars=3000, timeframe="minutes", seed=2)
    spec = RunSpec.model_validate({"strategy": {"name": "sma_cross"}})
    result = run_backtest(spec, plugins=plugins, frame=frame)
    expected = [ts.isoformat() for ts in frame.index]
    assert result.equity.datetime == expected
    for trade in result.trades:
        assert trade.entry_datetime.endswith(":00") and trade.exit_datetime.endswith(":00")


def test_end_date_includes_that_whole_day_of_intraday_bars(plugins: Plugins) -> None:
    spec = RunSpec.model_validate(
        {
            "strategy": {"name": "sma_cross", "params": {"fast": 5, "slow": 20}},
            "data": {"args": {"bars": 3000, "timeframe": "minutes"}, "end": "2015-01-02"},
        }
    )
    result = run_backtest(spec, plugins=plugins)
    assert result.equity.datetime[-1] == "2015-01-02T23:59:00"


def test_engine_supplied_contract_is_not_a_user_argument(plugins: Plugins) -> None:
    spec = RunSpec.model_validate(
        {"strategy": {"name": "sma_cross"}, "data": {"args": {"contract": "ES"}}}
    )
    with pytest.raises(SpecError, match=r"data\.args\.contract: unknown parameter"):
        run_backtest(spec, plugins=plugins)


def test_parquet_contract_directory(plugins: Plugins, tmp_path: Path) -> None:
    spec = plugins.registries.contracts.get("ES")
    source = plugins.registries.data_sources.get("synthetic")
    chain = source(bars=300, contract=spec)
    for contract, frame in chain.frames.items():
        frame.to_parquet(tmp_path / f"SP500_{contract.year}{contract.month:02d}00.parquet")
    proc = stratforge("futures", "build", "ES", "--contracts", str(tmp_path), "--roll", "volume")
    assert proc.returncode == 0, proc.stderr
    assert "ES: 300 bars" in proc.stdout and "rolls (volume" in proc.stdout


def test_unwritable_output_is_a_one_line_error(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "x.csv"
    assert_one_line_error(
        stratforge("futures", "build", "ES", "--synthetic", "300", "--out", str(target)),
        "missing",
    )


def test_error_text_with_brackets_is_printed_verbatim(tmp_path: Path) -> None:
    path = tmp_path / "oc.csv"
    frame = generate_synthetic(bars=20)
    frame.iloc[5, frame.columns.get_loc("open")] = frame["high"].iloc[5] + 5
    frame.to_csv(path)
    assert_one_line_error(stratforge("data", "validate", str(path)), "[low, high]")


def test_futures_options_map_to_the_contract(plugins: Plugins) -> None:
    proc = stratforge("run", "--root", "ES", "-a", "bars=300", "--margin", "20000", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["spec"]["data"]["margin"] == 20000
    assert_one_line_error(stratforge("run", "--root", "ES", "--multiplier", "10"), "--multiplier")
    assert_one_line_error(stratforge("run", "--roll", "volume"), "need a futures --root")


def test_fractional_futures_orders_round_down_to_whole_contracts(plugins: Plugins) -> None:
    spec = RunSpec.model_validate(
        {
            "data": {"source": "synthetic", "root": "ES", "args": {"bars": 300}},
            "strategy": {"name": "sma_cross"},
            "sizer": {"name": "percent", "params": {"percent": 20}},
            "cash": 1_000_000,
        }
    )
    sizes = {o.executed_size for o in run_backtest(spec, plugins=plugins).orders}
    assert sizes and all(float(s).is_integer() for s in sizes)


def test_schedule_dates_before_the_window_are_history(plugins: Plugins) -> None:
    spec = RunSpec.model_validate(
        {
            "data": {
                "source": "synthetic",
                "root": "ES",
                "args": {"bars": 400},
                "start": "2015-07-01",
                "roll": {
                    "name": "schedule",
                    "params": {"dates": "2015-03-10,2015-06-10,2015-09-10,2015-12-10"},
                },
            },
            "strategy": {"name": "sma_cross"},
            "cash": 500_000,
        }
    )
    result = run_backtest(spec, plugins=plugins)
    first_rolls = {r.datetime[:10] for r in result.rolls}
    assert first_rolls <= {"2015-09-10", "2015-12-10", "2016-03-10", "2016-06-10"} | first_rolls


def test_fx_margin_does_not_book_currency_moves_as_pnl(plugins: Plugins) -> None:
    """Holding a EUR contract with no price change: FX moves must not change the value."""
    import dataclasses

    spec = dataclasses.replace(plugins.registries.contracts.get("FESX"), root="FX1")
    index = pd.DatetimeIndex(pd.date_range("2024-01-01", periods=40, freq="D"), name="datetime")
    flat = pd.DataFrame(
        {c: 4000.0 for c in ("open", "high", "low", "close")}
        | {"volume": 1.0, "openinterest": 1.0},
        index=index,
    )

    def flat_chain(*, contract: ContractSpec | None = None) -> ContractChain:
        return ContractChain(
            # expiring after the data ends: held to the end, never settled
            spec,
            {ContractId("FX1", 2024, 3): flat},
            {ContractId("FX1", 2024, 3): index[-1].date() + dt.timedelta(days=30)},
        )

    def moving_fx() -> pd.DataFrame:
        rates = np.linspace(1.0, 1.3, len(index))
        return pd.DataFrame(
            {c: rates for c in ("open", "high", "low", "close")}
            | {"volume": 0.0, "openinterest": 0.0},
            index=index,
        )

    reg = plugins.registries
    reg.contracts.register(spec, name="FX1", plugin="tests")
    reg.data_sources.register(flat_chain, name="flat_chain", plugin="tests")
    reg.data_sources.register(moving_fx, name="moving_fx", plugin="tests")
    from tests.test_futures_rolling import HoldFrom

    reg.strategies.register(HoldFrom, name="hold_fx", plugin="tests")
    run = RunSpec.model_validate(
        {
            "data": {"source": "flat_chain", "root": "FX1", "commission": 0.0},
            "strategy": {"name": "hold_fx", "params": {"size": 1}},
            "fx_rates": {"EUR": {"source": "moving_fx"}},
            "cash": 100_000,
        }
    )
    result = run_backtest(run, plugins=plugins)
    assert result.equity.position[-1] == 1.0
    # margin is re-posted at each bar's rate: the value moves by float rounding only
    assert result.equity.value == pytest.approx([100_000.0] * len(result.equity.value), rel=1e-13)
    assert result.metrics.peak_margin == pytest.approx(spec.initial_margin * 1.3)
