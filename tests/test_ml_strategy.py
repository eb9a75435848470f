"""The walk-forward scikit-learn strategy: trades, determinism, no look-ahead, bad input."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from stratforge import RunSpec, run_backtest
from stratforge.core.engine import collect_result, prepare
from stratforge.core.errors import SpecError
from stratforge.core.plugins import Plugins
from stratforge.core.results import RunResult
from stratforge.strategies.ml import MLClassifier, _probability_of_up, build_estimator

SMALL = {
    "min_train": 100,
    "train_bars": 150,
    "retrain_every": 30,
    "estimator_params": {"n_estimators": 10},
}
DATA = {"source": "synthetic", "args": {"bars": 400, "seed": 7, "regime_length": 60}}


def spec(params: dict[str, Any] | None = None, name: str = "ml_classifier", **data: Any) -> RunSpec:
    return RunSpec.model_validate(
        {
            "strategy": {"name": name, "params": {**SMALL, **(params or {})}},
            "data": {**DATA, **data},
        }
    )


def run(plugins: Plugins, the_spec: RunSpec) -> tuple[RunResult, MLClassifier]:
    """The result and the finished strategy object (its models and predictions)."""
    prepared = prepare(the_spec, plugins=plugins)
    resolved, strategy = prepared.execute()
    return collect_result(resolved, prepared.markets, strategy, 0.0), strategy


def test_trades_and_repeats_exactly(plugins: Plugins) -> None:
    first = run_backtest(spec(), plugins=plugins)
    assert first.metrics.trades > 0 and len(first.orders) > 0
    assert first.deterministic_json() == run_backtest(spec(), plugins=plugins).deterministic_json()
    other = run_backtest(spec({"seed": 1}), plugins=plugins)
    importances = [m["feature_importances"] for m in first.strategy_info["models"]]
    assert importances != [m["feature_importances"] for m in other.strategy_info["models"]]


def test_strategy_info_describes_every_fit(plugins: Plugins) -> None:
    params = {"label_horizon": 3}
    result, strategy = run(plugins, spec(params))
    info = result.strategy_info
    assert info["estimator"] == "random_forest"
    assert info["estimator_class"] == "sklearn.ensemble._forest.RandomForestClassifier"
    assert info["estimator_params"]["n_estimators"] == 10
    assert info["estimator_params"]["random_state"] == 0
    features = ["ret_1", "ret_5", "ret_20", "vol_20", "rsi_14", "ma_dist_10", "ma_dist_50"]
    assert info["features"] == features
    models = info["models"]
    assert len(models) == len(strategy.models) >= 5
    first = models[0]
    # SMA(50) warms up on bars 0-49; 100 labelled rows need 3 more bars
    assert first["bar"] == 49 + SMALL["min_train"] + 3 - 1
    assert first["bar"] + 1 >= SMALL["min_train"] + params["label_horizon"]
    assert first["n_samples"] == SMALL["min_train"] and first["train_first_bar"] == 49
    for fit in models:
        assert fit["train_last_bar"] + params["label_horizon"] <= fit["bar"]
        assert fit["n_samples"] <= SMALL["train_bars"]
        assert sum(fit["class_balance"].values()) == pytest.approx(1.0)
        assert 0.5 <= fit["in_sample_accuracy"] <= 1.0
        assert list(fit["feature_importances"]) == features
        assert sum(fit["feature_importances"].values()) == pytest.approx(1.0)
    assert [m["bar"] for m in models[1:]] == [
        first["bar"] + SMALL["retrain_every"] * i for i in range(1, len(models))
    ]
    assert info["feature_importances"] == models[-1]["feature_importances"]
    assert pd.Timestamp(models[-1]["datetime"]) == result_bar_time(result, models[-1]["bar"])
    predictions = strategy.predictions()
    assert predictions["p_up"].notna().sum() == info["predictions"]["bars"] > 0
    assert predictions.loc[predictions["bar"] < first["bar"], "p_up"].isna().all()


def result_bar_time(result: RunResult, bar: int) -> pd.Timestamp:
    return pd.Timestamp(result.prices[0].datetime[bar])


@pytest.mark.parametrize("after_fit", [0, 1])
def test_no_look_ahead(plugins: Plugins, after_fit: int) -> None:
    """Cutting the data right after a retrain changes nothing up to the cut."""
    full, full_strategy = run(plugins, spec())
    k = full.strategy_info["models"][2]["bar"] + after_fit
    cut = result_bar_time(full, k)
    short, short_strategy = run(plugins, spec(end=cut.isoformat()))
    assert short.provenance.data_bars == k + 1

    def models(result: RunResult) -> list[dict[str, Any]]:
        return [m for m in result.strategy_info["models"] if m["bar"] <= k]

    assert len(models(short)) == 3 and models(short) == models(full)

    def orders(result: RunResult) -> list[dict[str, Any]]:
        # an order placed on bar k fills on bar k + 1, which the cut run never reaches
        return [o.model_dump() for o in result.orders if pd.Timestamp(o.created_datetime) < cut]

    assert orders(short) and orders(short) == orders(full)
    seen = full_strategy.predictions().loc[:cut]
    pd.testing.assert_frame_equal(short_strategy.predictions(), seen, check_exact=True)
    assert np.isfinite(seen["p_up"].iloc[-1])  # the decision on bar k itself matches too


@pytest.mark.parametrize(
    ("params", "hint"),
    [
        ({"estimator": "random_forst"}, "did you mean 'random_forest'"),
        ({"estimator": "sklearn.tree.DecisionTreeClassifer"}, "'DecisionTreeClassifier'"),
        ({"estimator": "os.system"}, "not a scikit-learn class"),
        ({"estimator": "builtins.eval"}, "not a scikit-learn class"),
        ({"estimator": "sklearn.linear_model.LinearRegression"}, "'LogisticRegression'"),
        ({"estimator_params": {"n_estimator": 5}}, "did you mean 'n_estimators'"),
        ({"estimator_params": {"n_estimators": "many"}}, "'n_estimators' parameter"),
        ({"estimator_params": {"random_state": 3}}, "seed param"),
        ({"window": "expandng"}, "did you mean 'expanding'"),
        ({"window": "rolling", "train_bars": 50}, "train_bars >= min_train"),
        ({"threshold": 0.4}, "threshold must be in [0.5, 1)"),
        ({"horizons": "1,x"}, "horizons must be a list of integers"),
        ({"ma_periods": [10, 10]}, "ma_periods has duplicates"),
    ],
)
def test_bad_params_name_the_field(plugins: Plugins, params: dict[str, Any], hint: str) -> None:
    with pytest.raises(SpecError) as info:
        run_backtest(spec(params), plugins=plugins)
    assert info.value.field == "strategy.params" and hint in info.value.message


def test_missing_extra_feature_line_is_named(plugins: Plugins) -> None:
    with pytest.raises(SpecError) as info:
        run_backtest(spec({"extra_features": "volume,vwap"}), plugins=plugins)
    assert info.value.field == "strategy.params.extra_features"
    assert "'vwap'" in info.value.message and "volume" in info.value.message


def test_extra_feature_lines_and_alias(plugins: Plugins) -> None:
    result = run_backtest(spec({"extra_features": "volume"}, name="ml"), plugins=plugins)
    assert result.strategy_info["features"][-1] == "volume"
    assert "volume" in result.strategy_info["feature_importances"]


def test_estimator_by_dotted_path(plugins: Plugins) -> None:
    params = {
        "estimator": "sklearn.tree.DecisionTreeClassifier",
        "estimator_params": {"max_depth": 3},
        "keep_models": 2,
    }
    result, strategy = run(plugins, spec(params))
    info = result.strategy_info
    assert info["estimator_class"] == "sklearn.tree._classes.DecisionTreeClassifier"
    assert info["estimator_params"]["max_depth"] == 3 and len(info["models"]) >= 5
    assert len(strategy.models) == 2 and strategy.models[-1].get_depth() <= 3
    assert result.metrics.trades > 0


def test_logistic_regression_reports_normalised_coefficients(plugins: Plugins) -> None:
    params = {"estimator": "logistic_regression", "estimator_params": {}, "long_only": True}
    result, strategy = run(plugins, spec(params))
    info = result.strategy_info
    assert info["scaled"] and info["estimator_params"]["C"] == 1.0
    coef = np.abs(strategy.models[-1][-1].coef_[0])
    expected = dict(zip(info["features"], (coef / coef.sum()).tolist(), strict=True))
    assert info["feature_importances"] == pytest.approx(expected)
    assert min(result.equity.position) >= 0.0 and result.metrics.trades > 0


def test_forest_fast_path_matches_predict_proba() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 5))
    y = (x[:, 0] + rng.normal(size=300) > 0).astype(int)
    for name in ("random_forest", "extra_trees"):
        model = build_estimator(name, {"n_estimators": 15}, 0).fit(x, y)
        fast = _probability_of_up(model)
        rows = rng.normal(size=(50, 5))
        assert [fast(r) for r in rows] == model.predict_proba(rows)[:, 1].tolist()
