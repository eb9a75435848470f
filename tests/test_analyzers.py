"""Risk and performance analyzers: golden stats against independent computations, and every
analyzer through the real engine."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from stratforge import RunSpec, run_backtest
from stratforge.analyzers import stats
from stratforge.core.errors import SpecError
from stratforge.core.plugins import Plugins
from stratforge.core.results import RunResult

EPOCH = 719163.0  # backtrader day number of 1970-01-01


def bt_days(index: pd.DatetimeIndex) -> np.ndarray:
    """Timestamps as backtrader float days, computed independently of the code under test."""
    return (index.as_unit("ns").asi8 / 1e9 / 86400.0 + EPOCH).astype(np.float64)


def random_equity(n: int = 900, seed: int = 1, start: str = "2019-03-05") -> pd.Series:
    rng = np.random.default_rng(seed)
    index = pd.bdate_range(start, periods=n)
    returns = rng.normal(0.0004, 0.01, n)
    return pd.Series(100_000.0 * np.cumprod(1.0 + returns), index=index)


# -- time, returns, ratios ----------------------------------------------------------------


def test_periods_per_year_observed_and_overridden() -> None:
    index = pd.date_range("2020-01-01", "2022-12-31", freq="D")
    years = (index[-1] - index[0]).days / 365.25
    assert stats.periods_per_year(bt_days(index)) == pytest.approx((len(index) - 1) / years)
    assert stats.periods_per_year(bt_days(index)) == pytest.approx(365.25, rel=1e-3)
    business = pd.bdate_range("2020-01-01", "2022-12-31")
    assert stats.periods_per_year(bt_days(business)) == pytest.approx(261, abs=1)
    assert stats.periods_per_year(bt_days(index), 252) == 252.0
    assert stats.periods_per_year(bt_days(index[:1])) is None
    with pytest.raises(ValueError, match="positive"):
        stats.periods_per_year(bt_days(index), 0)


def test_performance_summary_matches_pandas() -> None:
    equity = random_equity()
    times = bt_days(pd.DatetimeIndex(equity.index))
    rf, start = 0.03, 99_000.0
    got = stats.performance_summary(times, equity.to_numpy(), start_value=start, risk_free=rf)

    years = (equity.index[-1] - equity.index[0]).days / 365.25
    ppy = (len(equity) - 1) / years
    r = equity.pct_change().dropna()
    rf_p = (1 + rf) ** (1 / ppy) - 1
    excess = r - rf_p
    total = equity.iloc[-1] / start - 1
    growth = (1 + total) ** (1 / years) - 1
    mdd = (1 - equity / equity.cummax()).max()
    assert got["periods_per_year"] == pytest.approx(ppy)
    assert got["total_return"] == pytest.approx(total)
    assert got["cagr"] == pytest.approx(growth)
    assert got["annual_volatility"] == pytest.approx(r.std() * math.sqrt(ppy))
    assert got["sharpe"] == pytest.approx(excess.mean() / excess.std() * math.sqrt(ppy))
    downside = math.sqrt((excess.clip(upper=0) ** 2).mean())
    assert got["sortino"] == pytest.approx(excess.mean() / downside * math.sqrt(ppy))
    assert got["max_drawdown"] == pytest.approx(mdd)
    assert got["calmar"] == pytest.approx(growth / mdd)
    assert got["years"] == pytest.approx(years)

    fixed = stats.performance_summary(times, equity.to_numpy(), periods=252.0)
    assert fixed["sharpe"] == pytest.approx(r.mean() / r.std() * math.sqrt(252))
    assert fixed["total_return"] == pytest.approx(equity.iloc[-1] / equity.iloc[0] - 1)


def test_undefined_values_are_none_never_nan() -> None:
    flat = stats.performance_summary([738000.0, 738001.0, 738002.0], [100.0, 100.0, 100.0])
    assert flat["sharpe"] is None and flat["sortino"] is None and flat["calmar"] is None
    assert flat["max_drawdown"] == 0.0 and flat["total_return"] == 0.0
    single = stats.performance_summary([738000.0], [100.0])
    assert single["cagr"] is None and single["annual_volatility"] is None
    json.dumps(flat, allow_nan=False)
    json.dumps(single, allow_nan=False)
    ruined = stats.performance_summary([738000.0, 738100.0], [100.0, 0.0])
    assert ruined["cagr"] is None and ruined["total_return"] == -1.0
    only_gains = stats.sortino_ratio([0.01, 0.02, 0.03], 252)
    assert only_gains is None


# -- drawdowns ----------------------------------------------------------------------------


def test_drawdown_episodes_by_hand() -> None:
    values = [100, 110, 99, 105, 110, 120, 90, 100, 95, 130, 125]
    index = pd.date_range("2024-01-01", periods=len(values), freq="D")
    index = index.delete(3).append(pd.DatetimeIndex(["2024-01-20"]))  # one uneven gap
    index = pd.DatetimeIndex(sorted(index))
    times = bt_days(index)
    got = stats.drawdown_analysis(times, values, top=2)

    deepest = got["max"]
    assert got["max_drawdown"] == pytest.approx(0.25)
    assert (deepest["start"], deepest["trough"], deepest["end"]) == (5, 6, 9)
    assert deepest["recovered"] and deepest["bars"] == 4 and deepest["recovery_bars"] == 3
    assert deepest["days"] == pytest.approx(times[9] - times[5])
    assert deepest["recovery_days"] == pytest.approx(times[9] - times[6])
    assert got["longest"] == deepest
    assert got["count"] == 3
    assert [e["start"] for e in got["episodes"]] == [5, 1]  # deepest first, top 2
    first = got["episodes"][1]
    assert first["depth"] == pytest.approx(0.1)
    assert (first["trough"], first["end"], first["bars"], first["recovery_bars"]) == (2, 4, 3, 2)
    assert got["time_underwater"] == pytest.approx(6 / 11)

    last = stats.drawdown_episodes(times, values)[-1]
    assert last["depth"] == pytest.approx(1 - 125 / 130)
    assert last["end"] is None and not last["recovered"] and last["recovery_bars"] is None
    assert last["bars"] == 1 and last["days"] == pytest.approx(times[10] - times[9])
    json.dumps(got, allow_nan=False)


def test_drawdown_matches_pandas_on_a_random_curve() -> None:
    equity = random_equity(seed=4)
    times = bt_days(pd.DatetimeIndex(equity.index))
    got = stats.drawdown_analysis(times, equity.to_numpy(), top=3)
    depth = 1 - equity / equity.cummax()
    assert got["max_drawdown"] == pytest.approx(depth.max())
    assert got["max"]["trough"] == int(np.argmax(depth.to_numpy()))
    underwater = (depth > 0).to_numpy()
    assert got["time_underwater"] == pytest.approx(underwater.mean())
    # the longest stretch, counted from the peak bar to the first bar back at the peak
    runs, current = [], 0
    for flag in underwater:
        current = current + 1 if flag else 0
        runs.append(current)
    longest_run = max(runs)
    recovered = got["longest"]["recovered"]
    assert got["longest"]["bars"] == longest_run + (1 if recovered else 0)
    assert [e["depth"] for e in got["episodes"]] == sorted(
        (e["depth"] for e in got["episodes"]), reverse=True
    )
    assert not stats.drawdown_episodes(times, np.maximum.accumulate(equity.to_numpy()))


# -- value at risk ------------------------------------------------------------------------


def test_var_golden_values_and_moments() -> None:
    rng = np.random.default_rng(3)
    r = rng.standard_t(5, 5000) * 0.01 + 0.0005
    mu, sigma = r.mean(), r.std(ddof=1)
    moments = stats.return_moments(r)
    assert moments["mean"] == pytest.approx(mu)
    assert moments["std"] == pytest.approx(sigma)
    assert moments["skew"] == pytest.approx(sps.skew(r))
    assert moments["excess_kurtosis"] == pytest.approx(sps.kurtosis(r))
    for level in (0.9, 0.95, 0.99):
        alpha = 1 - level
        hist = stats.value_at_risk(r, level, "historical")
        q = np.percentile(r, 100 * alpha)
        assert hist["var"] == pytest.approx(-q)
        assert hist["cvar"] == pytest.approx(-r[r <= q].mean())
        gauss = stats.value_at_risk(r, level, "gaussian")
        z = sps.norm.ppf(alpha)
        assert gauss["var"] == pytest.approx(-sps.norm.ppf(alpha, loc=mu, scale=sigma))
        assert gauss["cvar"] == pytest.approx(-(mu - sigma * sps.norm.pdf(z) / alpha))
        cf = stats.value_at_risk(r, level, "cornish_fisher")
        s, k = sps.skew(r), sps.kurtosis(r)

        def zcf(x, s=s, k=k):
            return x + (x**2 - 1) * s / 6 + (x**3 - 3 * x) * k / 24 - (2 * x**3 - 5 * x) * s**2 / 36

        assert cf["var"] == pytest.approx(-(mu + zcf(z) * sigma))
        # CVaR: the average Cornish-Fisher quantile over the tail, by a midpoint rule in u
        u = (np.arange(200_000) + 0.5) / 200_000 * alpha
        tail_mean = zcf(sps.norm.ppf(u)).mean()
        assert cf["cvar"] == pytest.approx(-(mu + sigma * tail_mean), rel=2e-3)
        assert cf["cvar"] > cf["var"] > 0 and gauss["cvar"] > gauss["var"]


def test_var_normal_sample_agrees_across_methods() -> None:
    r = np.random.default_rng(11).normal(0.0002, 0.012, 200_000)
    table = stats.var_table(r, (0.95, 0.99))
    for key in ("0.95", "0.99"):
        hist, gauss, cf = (table[m][key] for m in ("historical", "gaussian", "cornish_fisher"))
        assert gauss["var"] == pytest.approx(hist["var"], rel=0.02)
        assert gauss["cvar"] == pytest.approx(hist["cvar"], rel=0.02)
        assert cf["var"] == pytest.approx(gauss["var"], rel=0.02)
        assert cf["cvar"] == pytest.approx(gauss["cvar"], rel=0.02)
    assert set(table) == {"moments", "historical", "gaussian", "cornish_fisher"}


def test_cornish_fisher_sees_a_fat_left_tail_that_gaussian_misses() -> None:
    rng = np.random.default_rng(5)
    r = 0.02 - rng.gamma(2.0, 0.01, 50_000)  # left-skewed: rare large losses
    assert sps.skew(r) < -1
    for level in (0.95, 0.99):
        gauss = stats.value_at_risk(r, level, "gaussian")
        cf = stats.value_at_risk(r, level, "cornish_fisher")
        hist = stats.value_at_risk(r, level, "historical")
        assert cf["var"] > gauss["var"] and cf["cvar"] > gauss["cvar"]
        # and the adjusted quantile is closer to the empirical one
        assert abs(cf["var"] - hist["var"]) < abs(gauss["var"] - hist["var"])


def test_var_edges() -> None:
    assert stats.value_at_risk([0.01], 0.95) == {"var": None, "cvar": None}
    flat = stats.value_at_risk([0.001] * 10, 0.99, "cornish_fisher")
    assert flat["var"] == pytest.approx(-0.001) and flat["cvar"] == pytest.approx(-0.001)
    with pytest.raises(ValueError, match="between 0 and 1"):
        stats.value_at_risk([0.01, 0.02], 1.0)
    with pytest.raises(ValueError, match="unknown VaR method"):
        stats.value_at_risk([0.01, 0.02], 0.95, "monte")


# -- trades -------------------------------------------------------------------------------


def test_trade_statistics_by_hand() -> None:
    pnls = [10, -5, 20, 0, -5, -10, 15, 15, 15, -20]  # W L W = L L W W W L
    got = stats.trade_statistics(pnls, bars_held=list(range(1, 11)))
    assert (got["trades"], got["won"], got["lost"], got["even"]) == (10, 5, 4, 1)
    assert got["win_rate"] == 0.5
    assert got["average_win"] == 15.0 and got["average_loss"] == -10.0
    assert got["payoff_ratio"] == 1.5
    assert got["gross_profit"] == 75.0 and got["gross_loss"] == 40.0
    assert got["profit_factor"] == pytest.approx(75 / 40)
    assert got["expectancy"] == 3.5 and got["net_pnl"] == 35.0
    # deviations from 3.5 squared sum to 1602.5
    assert got["sqn"] == pytest.approx(math.sqrt(10) * 3.5 / math.sqrt(1602.5 / 9))
    assert got["longest_win_streak"] == 3 and got["longest_loss_streak"] == 2
    assert got["largest_win"] == 20.0 and got["largest_loss"] == -20.0
    assert got["average_bars_held"] == 5.5


def test_trade_statistics_without_losses_or_trades() -> None:
    wins = stats.trade_statistics([1.0, 2.0])
    assert wins["profit_factor"] is None and wins["payoff_ratio"] is None
    assert wins["average_bars_held"] is None and wins["longest_loss_streak"] == 0
    none = stats.trade_statistics([])
    assert none["trades"] == 0 and none["win_rate"] is None and none["sqn"] is None
    json.dumps(none, allow_nan=False)


# -- calendar periods ---------------------------------------------------------------------


def test_period_returns_match_pandas_resample() -> None:
    equity = random_equity(n=700, seed=9, start="2019-11-13")
    start = 100_000.0
    got = stats.period_returns(
        bt_days(pd.DatetimeIndex(equity.index)), equity.to_numpy(), start_value=start
    )
    for rule, table in (("ME", "monthly"), ("YE", "yearly")):
        ends = equity.resample(rule).last().dropna()
        bases = pd.Series([start, *ends.iloc[:-1]], index=ends.index)
        expected = ends / bases - 1
        for stamp, value in expected.items():
            if table == "monthly":
                assert got["monthly"][stamp.year][stamp.month] == pytest.approx(value)
            else:
                assert got["yearly"][stamp.year] == pytest.approx(value)
        count = sum(len(m) for m in got["monthly"].values()) if table == "monthly" else None
        assert (count or len(got["yearly"])) == len(expected)
    compounded = np.prod([1 + r for r in got["monthly"][2020].values()]) - 1
    assert got["yearly"][2020] == pytest.approx(compounded)
    no_base = stats.period_returns(bt_days(pd.DatetimeIndex(equity.index)), equity.to_numpy())
    assert no_base["monthly"][2019][11] == pytest.approx(
        equity["2019-11"].iloc[-1] / equity.iloc[0] - 1
    )


# -- Monte Carlo --------------------------------------------------------------------------

PNLS = [120.0, -80.0, 45.5, -30.25, 200.0, -150.0, 10.0, -5.0, 60.0, -90.0, 33.0]


def test_monte_carlo_is_seeded() -> None:
    first = stats.monte_carlo(PNLS, 10_000.0, paths=500, seed=42)
    again = stats.monte_carlo(PNLS, 10_000.0, paths=500, seed=42)
    other = stats.monte_carlo(PNLS, 10_000.0, paths=500, seed=43)
    assert first == again
    assert first["final_equity"] != other["final_equity"]
    assert set(first["final_equity"]) == {"p5", "p50", "p95"}
    assert first["final_equity"]["p5"] <= first["final_equity"]["p50"]
    assert first["final_equity"]["p50"] <= first["final_equity"]["p95"]
    assert 0.0 <= first["probability_of_loss"] <= 1.0
    json.dumps(first, allow_nan=False)


def test_monte_carlo_bootstrap_against_numpy() -> None:
    start, paths, seed = 10_000.0, 300, 7
    got = stats.monte_carlo(PNLS, start, paths=paths, seed=seed, percentiles=(10, 90))
    rng = np.random.default_rng(seed)
    pnl = np.array(PNLS)
    finals, drawdowns = [], []
    for row in pnl[rng.integers(0, len(pnl), size=(paths, len(pnl)))]:
        curve = np.concatenate(([start], start + np.cumsum(row)))
        finals.append(curve[-1])
        drawdowns.append(np.max(1 - curve / np.maximum.accumulate(curve)))
    assert got["final_equity"]["p10"] == pytest.approx(np.percentile(finals, 10))
    assert got["max_drawdown"]["p90"] == pytest.approx(np.percentile(drawdowns, 90))
    assert got["probability_of_loss"] == pytest.approx(np.mean(np.array(finals) < start))


def test_monte_carlo_shuffle_keeps_final_equity() -> None:
    start = 10_000.0
    got = stats.monte_carlo(PNLS, start, paths=400, seed=1, method="shuffle")
    final = start + sum(PNLS)
    assert got["original"]["final_equity"] == pytest.approx(final)
    for key in ("p5", "p50", "p95"):
        assert got["final_equity"][key] == pytest.approx(final)
    assert got["probability_of_loss"] == 0.0  # sum(PNLS) > 0 on every ordering
    # the original path: peak 10,120, lowest 10,009.75 after four trades... by hand
    curve = np.concatenate(([start], start + np.cumsum(PNLS)))
    expected = np.max(1 - curve / np.maximum.accumulate(curve))
    assert got["original"]["max_drawdown"] == pytest.approx(expected)
    assert got["max_drawdown"]["p5"] <= got["max_drawdown"]["p95"]


def test_monte_carlo_edges() -> None:
    empty = stats.monte_carlo([], 1000.0)
    assert empty["trades"] == 0 and empty["final_equity"]["p50"] is None
    with pytest.raises(ValueError, match="paths"):
        stats.monte_carlo(PNLS, 1000.0, paths=0)
    with pytest.raises(ValueError, match="method"):
        stats.monte_carlo(PNLS, 1000.0, method="jackknife")


# -- through the engine -------------------------------------------------------------------

ALL = [
    "performance",
    "drawdowns",
    "value_at_risk",
    "exposure",
    "turnover",
    "trade_statistics",
    "period_returns",
    "futures_risk",
    "monte_carlo",
]


@pytest.fixture(scope="module")
def stock_run(plugins: Plugins) -> RunResult:
    spec = RunSpec.model_validate(
        {
            "strategy": {"name": "sma_cross", "params": {"fast": 5, "slow": 20}},
            "sizer": {"name": "percent", "params": {"percent": 50}},
            "data": {"args": {"bars": 1200, "seed": 3}},
            "commission": {"value": 0.001},
            "analyzers": [{"name": name} for name in ALL]
            + [
                {"name": "performance", "params": {"risk_free": 0.03, "periods_per_year": 252}},
                {"name": "var", "params": {"levels": [0.9], "methods": ["historical"]}},
            ],
        }
    )
    return run_backtest(spec, plugins=plugins)


def test_every_analyzer_is_jsonable(stock_run: RunResult) -> None:
    assert set(stock_run.analyzers) == {*ALL, "performance_2", "value_at_risk_2"}
    for name, output in stock_run.analyzers.items():
        assert json.dumps(output, allow_nan=False), name
    assert len(stock_run.trades) > 10


def test_performance_matches_the_recorded_equity(stock_run: RunResult) -> None:
    equity = pd.Series(stock_run.equity.value, index=pd.DatetimeIndex(stock_run.equity.datetime))
    r = equity.pct_change().dropna()
    default = stock_run.analyzers["performance"]
    metrics = stock_run.metrics
    assert default["sharpe"] == pytest.approx(metrics.sharpe)
    assert default["sortino"] == pytest.approx(metrics.sortino)
    assert default["cagr"] == pytest.approx(metrics.cagr)
    assert default["annual_volatility"] == pytest.approx(metrics.annual_volatility)
    assert default["total_return"] == pytest.approx(metrics.total_return)
    custom = stock_run.analyzers["performance_2"]
    rf_p = 1.03 ** (1 / 252) - 1
    assert custom["sharpe"] == pytest.approx((r - rf_p).mean() / r.std() * math.sqrt(252))
    assert custom["periods_per_year"] == 252 and custom["risk_free"] == 0.03


def test_drawdowns_agree_with_metrics(stock_run: RunResult) -> None:
    out = stock_run.analyzers["drawdowns"]
    assert out["max_drawdown"] == pytest.approx(stock_run.metrics.max_drawdown)
    assert out["longest"]["bars"] == stock_run.metrics.max_drawdown_bars
    assert len(out["episodes"]) == min(5, out["count"])
    times = set(stock_run.equity.datetime)
    assert out["max"]["start"] in times and out["max"]["trough"] in times
    assert out["max"]["end"] is None or out["max"]["end"] in times


def test_value_at_risk_uses_the_bar_returns(stock_run: RunResult) -> None:
    r = pd.Series(stock_run.equity.value).pct_change().dropna().to_numpy()
    out = stock_run.analyzers["value_at_risk"]
    assert set(out["historical"]) == {"0.95", "0.99"}
    assert out["historical"]["0.99"]["var"] == pytest.approx(-np.quantile(r, 0.01))
    assert out["moments"]["std"] == pytest.approx(r.std(ddof=1))
    custom = stock_run.analyzers["value_at_risk_2"]
    assert set(custom) == {"moments", "historical"} and set(custom["historical"]) == {"0.9"}


def test_trade_statistics_and_monte_carlo_match_the_trades(stock_run: RunResult) -> None:
    pnls = [t.pnl_net for t in stock_run.trades]
    out = stock_run.analyzers["trade_statistics"]
    assert out["trades"] == len(pnls)
    assert out["won"] == sum(p > 0 for p in pnls) and out["lost"] == sum(p < 0 for p in pnls)
    assert out["net_pnl"] == pytest.approx(sum(pnls))
    assert out["win_rate"] == pytest.approx(stock_run.metrics.win_rate)
    assert out["profit_factor"] == pytest.approx(stock_run.metrics.profit_factor)
    assert out["average_bars_held"] == pytest.approx(
        np.mean([t.bars_held for t in stock_run.trades])
    )
    mc = stock_run.analyzers["monte_carlo"]
    assert mc["trades"] == len(pnls) and mc["paths"] == 1000
    assert mc["original"]["final_equity"] == pytest.approx(stock_run.spec["cash"] + sum(pnls))


def test_exposure_and_turnover(stock_run: RunResult) -> None:
    exposure = stock_run.analyzers["exposure"]
    assert exposure["time_in_market"] == pytest.approx(stock_run.metrics.exposure)
    prices = stock_run.prices[0].close
    gross = [
        abs(pos) * price / value
        for pos, price, value in zip(
            stock_run.equity.position, prices, stock_run.equity.value, strict=True
        )
    ]
    assert exposure["gross"]["average"] == pytest.approx(np.mean(gross))
    assert exposure["gross"]["max"] == pytest.approx(max(gross))
    assert 0.3 < exposure["gross"]["max"] < 0.7  # the sizer invests about half
    assert exposure["net"]["min"] < 0 < exposure["net"]["max"]  # sma_cross goes short too

    turnover = stock_run.analyzers["turnover"]
    done = [o for o in stock_run.orders if o.status == "Completed"]
    notional = sum(abs(o.executed_size) * o.executed_price for o in done)
    assert turnover["strategy_orders"] == len(done) and turnover["roll_orders"] == 0
    assert turnover["traded_notional"] == pytest.approx(notional)
    average = np.mean(stock_run.equity.value)
    assert turnover["turnover"] == pytest.approx(notional / average)
    years = (
        pd.Timestamp(stock_run.equity.datetime[-1]) - pd.Timestamp(stock_run.equity.datetime[0])
    ).days / 365.25
    assert turnover["annual_turnover"] == pytest.approx(notional / average / years)


def test_period_returns_and_futures_risk_of_a_stock_run(stock_run: RunResult) -> None:
    equity = pd.Series(stock_run.equity.value, index=pd.DatetimeIndex(stock_run.equity.datetime))
    out = stock_run.analyzers["period_returns"]
    ends = equity.resample("YE").last()
    bases = pd.Series([stock_run.spec["cash"], *ends.iloc[:-1]], index=ends.index)
    expected = {str(k.year): v for k, v in (ends / bases - 1).items()}
    assert out["yearly"] == pytest.approx(expected)
    first_year = min(out["monthly"])
    assert set(out["monthly"][first_year]) <= {str(m) for m in range(1, 13)}

    futures = stock_run.analyzers["futures_risk"]
    assert futures["futures"] is False and futures["rolls"] == 0
    assert futures["roll_cost"] == 0.0 and futures["peak_margin"] == 0.0
    assert futures["by_root"] == {}


def test_futures_run(plugins: Plugins) -> None:
    spec = RunSpec.model_validate(
        {
            "strategy": {"name": "sma_cross"},
            "data": {"source": "synthetic", "root": "ES", "args": {"bars": 500, "seed": 2}},
            "slippage": {"percent": 0.0002},
            "cash": 1_000_000.0,
            "analyzers": [{"name": n} for n in ("futures_risk", "turnover", "exposure")],
        }
    )
    result = run_backtest(spec, plugins=plugins)
    json.dumps(result.analyzers, allow_nan=False)
    out = result.analyzers["futures_risk"]
    assert out["futures"] is True
    assert len(result.rolls) > 2 and out["rolls"] == len(result.rolls)
    assert out["roll_cost"] == pytest.approx(sum(r.cost for r in result.rolls))
    assert out["roll_slippage"] == pytest.approx(sum(r.slippage for r in result.rolls))
    assert out["roll_slippage"] > 0
    assert out["by_root"]["ES"]["rolls"] == len(result.rolls)
    assert out["by_root"]["ES"]["roll_cost"] == pytest.approx(out["roll_cost"])
    assert out["peak_margin"] == pytest.approx(result.metrics.peak_margin)
    assert out["peak_margin_to_equity"] == pytest.approx(result.metrics.peak_margin_to_equity)
    assert 0 < out["average_margin_to_equity"] <= out["peak_margin_to_equity"]

    turnover = result.analyzers["turnover"]
    legs = [o for o in result.orders if o.roll and o.status == "Completed"]
    # both legs of every roll, except a reopening leg the margin check rejected
    rejected = sum(r.status != "Completed" for r in result.rolls)
    assert turnover["roll_orders"] == len(legs) == 2 * len(result.rolls) - rejected
    mult = plugins.registries.contracts.get("ES").multiplier
    roll_notional = sum(abs(o.executed_size) * o.executed_price * mult for o in legs)
    assert turnover["roll_notional"] == pytest.approx(roll_notional)

    # exposure values the held contract at its raw (unadjusted) price times the multiplier
    raw = result.prices[0].raw_close
    assert raw is not None and min(result.equity.value) > 0
    gross = [
        abs(pos) * price * mult / value
        for pos, price, value in zip(result.equity.position, raw, result.equity.value, strict=True)
    ]
    assert result.analyzers["exposure"]["gross"]["max"] == pytest.approx(max(gross))
    assert result.analyzers["exposure"]["gross"]["average"] == pytest.approx(np.mean(gross))


@pytest.mark.parametrize(
    ("name", "params", "fragment"),
    [
        ("value_at_risk", {"levels": [0.95, 1.5]}, "between 0 and 1"),
        ("var", {"methods": ["historical", "montecarlo"]}, "unknown VaR method"),
        ("monte_carlo", {"paths": 0}, "paths must be at least 1"),
        ("monte_carlo", {"method": "jackknife"}, "unknown method"),
        ("monte_carlo", {"percentiles": [5, 120]}, "percentiles"),
        ("performance", {"periods_per_year": -5}, "periods_per_year"),
        ("performance", {"risk_free": -1.5}, "risk_free"),
        ("drawdowns", {"top": -1}, "top"),
    ],
)
def test_bad_params_name_the_field(
    plugins: Plugins, name: str, params: dict, fragment: str
) -> None:
    spec = RunSpec.model_validate(
        {"strategy": {"name": "sma_cross"}, "analyzers": [{"name": name, "params": params}]}
    )
    with pytest.raises(SpecError, match=fragment) as caught:
        run_backtest(spec, plugins=plugins)
    assert caught.value.field == "analyzers[0].params"


def test_registered_with_documented_params(plugins: Plugins) -> None:
    from stratforge.plugin.params import describe_params

    registry = plugins.registries.analyzers
    assert registry.entry("var").name == "value_at_risk"
    for name in (*ALL, "sharpe", "annual_return"):
        assert name in registry
    for name in ALL:
        for info in describe_params(registry.get(name)):
            assert info.description, f"{name}.{info.name} is undocumented"
