"""A scikit-learn classifier trained walk-forward inside the backtest, without look-ahead.

Features come from backtrader indicators (causal by construction) and are copied into a
buffer one row per bar in ``next()``, so the buffer only ever holds bars already seen. A row's
label (did the close rise ``label_horizon`` bars later?) is used for training only once that
later close has been seen. scikit-learn is imported on first use: loading the built-in
strategies stays fast for everyone else.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import inspect
import re
import threading
from collections.abc import Iterator
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd

from stratforge.plugin.errors import SpecError
from stratforge.plugin.registry import did_you_mean
from stratforge.strategies.base import SignalStrategy

ESTIMATORS: dict[str, str] = {
    "random_forest": "sklearn.ensemble.RandomForestClassifier",
    "extra_trees": "sklearn.ensemble.ExtraTreesClassifier",
    "gradient_boosting": "sklearn.ensemble.GradientBoostingClassifier",
    "logistic_regression": "sklearn.linear_model.LogisticRegression",
    "hist_gradient_boosting": "sklearn.ensemble.HistGradientBoostingClassifier",
}
"""Short estimator names and the classes they stand for (logistic regression is scaled)."""

WINDOWS = ("expanding", "rolling")
_DOTTED = re.compile(r"sklearn(\.[A-Za-z][A-Za-z0-9_]*)+")
_FOREST_DEFAULTS: dict[str, Any] = {"n_estimators": 100, "n_jobs": 1}
_DEFAULTS: dict[str, dict[str, Any]] = {
    "random_forest": _FOREST_DEFAULTS,
    "extra_trees": _FOREST_DEFAULTS,
}
"""Stated explicitly (they are scikit-learn's defaults too) so results never depend on a
joblib backend a caller happens to configure."""


def estimator_class(name: str) -> type:
    """The classifier class for a short name or a dotted ``sklearn.`` path.

    Only classes inside scikit-learn are importable: the name comes from user input.
    """
    if "." not in name:
        if name not in ESTIMATORS:
            raise ValueError(f"unknown estimator {name!r}; {did_you_mean(name, ESTIMATORS)}")
        name = ESTIMATORS[name]
    if not _DOTTED.fullmatch(name):
        raise ValueError(
            f"estimator {name!r} is not a scikit-learn class: use a short name "
            f"({', '.join(ESTIMATORS)}) or a path such as sklearn.tree.DecisionTreeClassifier"
        )
    module_name, _, attr = name.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise ValueError(f"estimator {name!r}: there is no module {module_name!r}") from None
    from sklearn.base import BaseEstimator, ClassifierMixin

    def is_classifier(obj: object) -> bool:
        return (
            isinstance(obj, type)
            and issubclass(obj, ClassifierMixin)
            and issubclass(obj, BaseEstimator)
        )

    found = getattr(module, attr, None)
    if not is_classifier(found):
        known = [
            n for n in dir(module) if not n.startswith("_") and is_classifier(getattr(module, n))
        ]
        raise ValueError(
            f"estimator {name!r} is not a scikit-learn classifier class; "
            f"{did_you_mean(attr, known) if known else 'see sklearn.utils.all_estimators()'}"
        )
    assert isinstance(found, type)
    return found


def build_estimator(name: str, params: dict[str, Any], seed: int) -> Any:
    """An unfitted classifier with *params* checked now rather than at the first fit.

    Forests use one job (the engine parallelises across runs); ``random_state`` comes from
    *seed* so runs repeat exactly.
    """
    cls = estimator_class(name)
    if not isinstance(params, dict):
        raise ValueError(f"estimator_params must be a JSON object, got {params!r}")
    accepted = _constructor_params(cls)
    if "random_state" in params:
        raise ValueError("estimator_params.random_state: set the strategy's seed param instead")
    if accepted is not None:
        for key in params:
            if key not in accepted:
                raise ValueError(
                    f"estimator_params.{key}: {cls.__name__} has no parameter {key!r}; "
                    f"{did_you_mean(key, accepted)}"
                )
    values = {**_DEFAULTS.get(name, {}), **params}
    if accepted is not None and "random_state" in accepted:
        values["random_state"] = seed
    try:
        estimator = cls(**values)
        check = getattr(estimator, "_validate_params", None)  # what fit() would check
        if callable(check):
            check()
    except Exception as exc:  # any constructor or validation failure is a user error here
        raise ValueError(f"estimator_params: {exc}") from None
    if not hasattr(estimator, "predict_proba"):
        raise ValueError(
            f"estimator {cls.__name__} gives no probabilities with these estimator_params "
            '(e.g. SVC needs {"probability": true})'
        )
    if name == "logistic_regression":  # coefficients only compare on a common scale
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(StandardScaler(), estimator)
    return estimator


def _constructor_params(cls: type) -> list[str] | None:
    """Keyword names of ``cls(...)``; None when it takes ``**kwargs``."""
    parameters = inspect.signature(cls).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return None
    return [p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def _positive_ints(name: str, values: Any, minimum: int = 1) -> tuple[int, ...]:
    """CLI lists arrive as strings ("1,5,20"): accept integer text, reject anything else."""
    try:
        items = list(values)
        numbers = tuple(int(v) for v in items)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a list of integers, got {values!r}") from None
    if any(n < minimum or n != float(v) for n, v in zip(numbers, items, strict=True)):
        raise ValueError(f"{name} must be integers >= {minimum}, got {values!r}")
    if len(set(numbers)) < len(numbers):  # features are named by these: keep them unique
        raise ValueError(f"{name} has duplicates: {values!r}")
    return numbers


def _final_step(model: Any) -> Any:
    steps = getattr(model, "steps", None)
    return steps[-1][1] if steps else model


def importances(model: Any) -> np.ndarray | None:
    """``feature_importances_``, or |coef_| normalised to sum 1 (linear models), else None."""
    final = _final_step(model)
    values = getattr(final, "feature_importances_", None)
    if values is not None:
        return np.asarray(values, dtype=np.float64)
    coef = getattr(final, "coef_", None)
    if coef is None:
        return None
    weights = np.abs(np.asarray(coef, dtype=np.float64)).reshape(-1, np.shape(coef)[-1]).sum(0)
    total = weights.sum()
    return weights / total if total > 0 else weights


class _ForestProba:
    """P(class) of a fitted random or extra-trees forest for one row, all trees at once.

    ``predict_proba`` costs about 9 ms per call for 100 trees (validation and joblib), which
    would dominate a run that predicts every bar; walking all trees together in NumPy takes
    a fraction of a millisecond and gives the same number: features are rounded to float32
    as scikit-learn does, leaves are normalised per tree and summed in tree order.
    """

    def __init__(self, trees: list[Any], column: int) -> None:
        children, features, thresholds, probs, roots = [], [], [], [], []
        offset = 0
        for tree in (t.tree_ for t in trees):
            n = tree.node_count
            index = np.arange(offset, offset + n)
            leaf = tree.children_left < 0
            left = np.where(leaf, index, tree.children_left + offset)
            right = np.where(leaf, index, tree.children_right + offset)
            children.append(np.stack([left, right], axis=1))
            features.append(np.where(leaf, 0, tree.feature))
            thresholds.append(tree.threshold)
            value = tree.value[:, 0, :]
            norm = value.sum(axis=1)
            norm[norm == 0.0] = 1.0
            probs.append(value[:, column] / norm)
            roots.append(offset)
            offset += n
        self._children = np.concatenate(children).astype(np.intp)
        self._feature = np.concatenate(features).astype(np.intp)
        self._threshold = np.concatenate(thresholds)
        self._prob = np.concatenate(probs)
        self._roots = np.asarray(roots, dtype=np.intp)
        self._depth = max(t.tree_.max_depth for t in trees)

    def __call__(self, row: np.ndarray) -> float:
        x = row.astype(np.float32).astype(np.float64)
        node = self._roots
        for _ in range(self._depth):
            right = x[self._feature[node]] > self._threshold[node]
            node = self._children[node, right.astype(np.intp)]
        return float(np.add.accumulate(self._prob[node])[-1] / len(node))


_THREADS = threading.Lock()


@functools.cache
def _thread_controller() -> Any:
    from threadpoolctl import ThreadpoolController  # a scikit-learn dependency

    return ThreadpoolController()  # finding the libraries takes ms: once per process


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """One BLAS/OpenMP thread while fitting or predicting, as ``n_jobs=1`` does for joblib.

    Runs are parallelised across processes; OpenMP threads on busy cores made
    hist_gradient_boosting several times slower, and thread counts can change BLAS
    rounding. The limit is process-wide, so the lock keeps concurrent runs in threads from
    restoring each other's limits in the wrong order.
    """
    with _THREADS, _thread_controller().limit(limits=1):
        yield


def _probability_of_up(model: Any) -> Any:
    """A callable row -> P(up) for *model*, fast for tree forests."""
    from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
    from sklearn.tree import DecisionTreeClassifier, ExtraTreeClassifier

    column = list(model.classes_).index(1)
    if type(model) in (RandomForestClassifier, ExtraTreesClassifier):
        return _ForestProba(list(model.estimators_), column)
    if type(model) in (DecisionTreeClassifier, ExtraTreeClassifier):
        return _ForestProba([model], column)

    def predict(row: np.ndarray) -> float:
        with single_thread():
            return float(model.predict_proba(row.reshape(1, -1))[0, column])

    return predict


class MLClassifier(SignalStrategy):
    """Walk-forward scikit-learn classifier: trade the predicted chance of an up move.

    Each bar's features are past returns, volatility, RSI and distance from moving averages
    (plus optional data lines). Every ``retrain_every`` bars a fresh classifier is fitted on
    the rows whose label is already known; each bar it predicts P(up) for the current row.

    Params:
        estimator: random_forest, extra_trees, gradient_boosting, hist_gradient_boosting,
            logistic_regression (scaled first) or a dotted scikit-learn classifier path
            such as sklearn.tree.DecisionTreeClassifier
        estimator_params: constructor arguments of the estimator as a JSON object, e.g.
            {"n_estimators": 50, "max_depth": 5}; random_state comes from seed instead
        seed: random_state of the estimator (when it takes one), so runs repeat exactly
        horizons: look-backs in bars of the return features, close / close n bars ago - 1
        vol_period: bars in the rolling standard deviation of one-bar returns
        rsi_period: look-back of the RSI feature, in bars
        ma_periods: periods of the simple moving averages, used as close / SMA - 1
        extra_features: names of further data lines used as features as they are; the
            feed must provide them as lines (extra frame columns are not lines)
        label_horizon: a row is labelled up when the close this many bars later is higher
        window: training rows, expanding (every labelled row so far) or rolling
        train_bars: labelled rows in a rolling window
        min_train: labelled rows needed before the first fit; no trades before it
        retrain_every: bars between fits
        threshold: go long above this P(up), short below 1 - threshold
        exit_between: go flat when P(up) is between the thresholds (false keeps the position)
        keep_models: fitted estimators kept on self.models, newest last (0 keeps all)
        long_only: never sell short; a down prediction only closes a long position
    """

    params: tuple[tuple[str, Any], ...] = (
        ("estimator", "random_forest"),
        ("estimator_params", {}),
        ("seed", 0),
        ("horizons", (1, 5, 20)),
        ("vol_period", 20),
        ("rsi_period", 14),
        ("ma_periods", (10, 50)),
        ("extra_features", ()),
        ("label_horizon", 1),
        ("window", "rolling"),
        ("train_bars", 500),
        ("min_train", 200),
        ("retrain_every", 250),
        ("threshold", 0.55),
        ("exit_between", True),
        ("keep_models", 0),
    )

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> None:
        def get(name: str) -> Any:
            return params.get(name, getattr(cls.params, name))

        window = get("window")
        if window not in WINDOWS:
            raise ValueError(f"window: unknown window {window!r}; {did_you_mean(window, WINDOWS)}")
        _positive_ints("horizons", get("horizons"))
        if not get("horizons"):
            raise ValueError("horizons: give at least one return horizon")
        _positive_ints("ma_periods", get("ma_periods"))
        for name in ("vol_period",):
            _positive_ints(name, [get(name)], minimum=2)
        for name in ("rsi_period", "label_horizon", "retrain_every", "train_bars"):
            _positive_ints(name, [get(name)])
        _positive_ints("min_train", [get("min_train")], minimum=2)
        _positive_ints("keep_models", [get("keep_models")], minimum=0)
        if window == "rolling" and get("train_bars") < get("min_train"):
            raise ValueError(
                f"a rolling window needs train_bars >= min_train, got train_bars="
                f"{get('train_bars')}, min_train={get('min_train')}"
            )
        threshold = get("threshold")
        if not 0.5 <= threshold < 1.0:
            raise ValueError(f"threshold must be in [0.5, 1), got {threshold}")
        seed = get("seed")
        if not 0 <= seed < 2**32:
            raise ValueError(f"seed must be in [0, 2**32), got {seed}")
        extra = get("extra_features")
        bad = [n for n in extra if not isinstance(n, str) or not n.isidentifier()]
        if bad or "datetime" in extra or len(set(extra)) < len(extra):
            raise ValueError(f"extra_features must be data line names, got {list(extra)!r}")
        build_estimator(get("estimator"), get("estimator_params"), seed)

    def __init__(self) -> None:
        p = self.p
        self.estimator_name: str = p.estimator
        self._template = build_estimator(p.estimator, p.estimator_params, p.seed)
        close = self.data.close
        one_bar = close / close(-1) - 1.0
        self.volatility = bt.ind.StdDev(one_bar, period=p.vol_period)
        self.rsi = bt.ind.RSI(close, period=p.rsi_period, safediv=True)
        self.smas = [
            bt.ind.SMA(close, period=n) for n in _positive_ints("ma_periods", p.ma_periods)
        ]
        features: list[tuple[str, Any]] = [
            (f"ret_{n}", close / close(-n) - 1.0) for n in _positive_ints("horizons", p.horizons)
        ]
        features += [(f"vol_{p.vol_period}", self.volatility), (f"rsi_{p.rsi_period}", self.rsi)]
        features += [(f"ma_dist_{sma.p.period}", close / sma - 1.0) for sma in self.smas]
        features += [(name, self._data_line(name)) for name in p.extra_features]
        self.feature_names: list[str] = [name for name, _ in features]
        self._lines = [line for _, line in features]
        self.models: list[Any] = []
        self._fits: list[dict[str, Any]] = []
        self._model: Any = None
        self._predict: Any = None
        self._last_fit_row = -1
        self._n = 0  # rows stored; row i is bar self._bar[i]
        self._allocate(max(self.data.buflen(), 256))

    def _data_line(self, name: str) -> Any:
        lines = self.data.lines.getlinealiases()
        if name not in lines:
            raise SpecError(
                "strategy.params.extra_features",
                f"the data has no line {name!r}; it has {', '.join(lines)}. Extra columns of a "
                "data frame are not lines: use a feed class that declares them in `lines`",
            )
        return getattr(self.data.lines, name)

    def _allocate(self, size: int) -> None:
        """Buffers for *size* rows, keeping stored rows (only ever rows already seen)."""
        old = self._buffers() if self._n else None
        self._X = np.full((size, len(self._lines)), np.nan)
        self._close = np.full(size, np.nan)
        self._dt = np.full(size, np.nan)
        self._bar = np.zeros(size, dtype=np.int64)
        self._proba = np.full(size, np.nan)
        if old is not None:
            for new, stored in zip(self._buffers(), old, strict=True):
                new[: self._n] = stored[: self._n]

    def _buffers(self) -> tuple[np.ndarray, ...]:
        return (self._X, self._close, self._dt, self._bar, self._proba)

    def next(self) -> None:
        if not self.fresh():
            return  # no new bar of the feed: no new row, no new signal
        i = self._n
        if i == len(self._close):
            self._allocate(2 * i)
        row = self._X[i]
        row[:] = [line[0] for line in self._lines]
        self._close[i] = self.data.close[0]
        self._dt[i] = self.data.datetime[0]
        self._bar[i] = len(self) - 1
        self._n = i + 1
        if self._model is None or i - self._last_fit_row >= self.p.retrain_every:
            self._fit()
        if self._predict is None or not np.isfinite(row).all():
            return
        up = self._predict(row)
        self._proba[i] = up
        if up > self.p.threshold:
            self.go_long()
        elif up < 1.0 - self.p.threshold:
            self.go_short()
        elif self.p.exit_between:
            self.go_flat()

    def _fit(self) -> None:
        """Fit on rows whose label is known now: row t needs the close of t + label_horizon."""
        now = self._n - 1
        labelled = now - self.p.label_horizon + 1  # rows 0 .. labelled-1
        first = 0 if self.p.window == "expanding" else max(0, labelled - self.p.train_bars)
        if labelled - first < self.p.min_train:
            return
        X = self._X[first:labelled]
        y = self._close[first + self.p.label_horizon : now + 1] > self._close[first:labelled]
        usable = np.isfinite(X).all(axis=1)
        X, y = X[usable], y.astype(np.int64)[usable]
        if len(y) < self.p.min_train or y.min() == y.max():
            return  # too few usable rows, or one class only: try again next bar
        from sklearn.base import clone

        with single_thread():
            model = clone(self._template).fit(X, y)
            accuracy = float(model.score(X, y))
        self._model, self._predict, self._last_fit_row = model, _probability_of_up(model), now
        self.models.append(model)
        if self.p.keep_models and len(self.models) > self.p.keep_models:
            del self.models[0]
        weights = importances(model)
        self._fits.append(
            {
                "datetime": self.data.datetime.datetime(0).isoformat(),
                "bar": int(self._bar[now]),
                "train_first_bar": int(self._bar[first]),
                "train_last_bar": int(self._bar[labelled - 1]),
                "train_start": bt.num2date(self._dt[first]).isoformat(),
                "train_end": bt.num2date(self._dt[labelled - 1]).isoformat(),
                "n_samples": len(y),
                "class_balance": {"up": float(y.mean()), "down": float(1.0 - y.mean())},
                "in_sample_accuracy": accuracy,
                "feature_importances": self._named(weights),
            }
        )

    def _named(self, weights: np.ndarray | None) -> dict[str, float] | None:
        if weights is None:
            return None
        return dict(zip(self.feature_names, weights.tolist(), strict=True))

    def predictions(self) -> pd.DataFrame:
        """Every bar's features and P(up) (NaN before the first model), by bar datetime."""
        n = self._n
        index = pd.DatetimeIndex([bt.num2date(d) for d in self._dt[:n].tolist()], name="datetime")
        frame = pd.DataFrame(self._X[:n].copy(), index=index, columns=self.feature_names)
        frame["p_up"] = self._proba[:n]
        frame.insert(0, "bar", self._bar[:n])
        return frame

    def result_info(self) -> dict[str, Any]:
        """Estimator, features and one entry per fit, for ``RunResult.strategy_info``."""
        final = _final_step(self._template)
        proba = self._proba[: self._n]
        predicted = proba[np.isfinite(proba)]
        threshold = self.p.threshold
        last = self._fits[-1]["feature_importances"] if self._fits else None
        return {
            "estimator": self.estimator_name,
            "estimator_class": f"{type(final).__module__}.{type(final).__qualname__}",
            "estimator_params": final.get_params(deep=False),
            "scaled": final is not self._template,
            "features": list(self.feature_names),
            "label_horizon": self.p.label_horizon,
            "window": self.p.window,
            "predictions": {
                "bars": len(predicted),
                "long": int((predicted > threshold).sum()),
                "short": int((predicted < 1.0 - threshold).sum()),
            },
            "feature_importances": last,
            "models": list(self._fits),
        }
