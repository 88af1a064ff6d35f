"""EVALUATE's metric and curve names, shared by the compiler (gates), ``sqlml check``
(``validation.metrics`` and ``validation.curves``) and the runtime (``runtime.scoring``),
so a name one of them accepts the others compute."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

#: EVALUATE's scalar metric names (lower case, ``_`` removed; SQLFlow/Keras spellings too)
#: → the canonical name the runtime computes: one number each, so a quality gate
#: (``check.<metric> >= x``) may compare it.
EVALUATION_METRICS: dict[str, str] = {
    "accuracy": "accuracy",
    "auc": "auc",
    "precision": "precision",
    "recall": "recall",
    "f1": "f1",
    "mse": "mse",
    "meansquarederror": "mse",
    "rmse": "rmse",
    "mae": "mae",
    "meanabsoluteerror": "mae",
    "r2": "r2",
    "logloss": "logloss",
    "crossentropy": "logloss",
    "balancedaccuracy": "balanced_accuracy",
    # Keras metric classes (SQLFlow's TensorFlow steps look them up in tf.keras.metrics)
    "categoricalaccuracy": "accuracy",
    "sparsecategoricalaccuracy": "accuracy",
    "binaryaccuracy": "accuracy",
    "rootmeansquarederror": "rmse",
    "binarycrossentropy": "logloss",
    "categoricalcrossentropy": "logloss",
    "sparsecategoricalcrossentropy": "logloss",
    "mape": "mape",
    "meanabsolutepercentageerror": "mape",
    "msle": "msle",
    "meansquaredlogarithmicerror": "msle",
    # scikit-learn's function names (SQLFlow's XGBoost EVALUATE calls sklearn.metrics.<name>)
    "accuracyscore": "accuracy",
    "balancedaccuracyscore": "balanced_accuracy",
    "precisionscore": "precision",
    "recallscore": "recall",
    "f1score": "f1",
    "rocaucscore": "auc",
    "r2score": "r2",
    "meansquaredlogerror": "msle",
    "medianabsoluteerror": "median_ae",
    "explainedvariance": "explained_variance",
    "explainedvariancescore": "explained_variance",
    "averageprecision": "average_precision",
    "averageprecisionscore": "average_precision",
    "brierscore": "brier",
    "brierscoreloss": "brier",
    "cohenkappa": "cohen_kappa",
    "cohenkappascore": "cohen_kappa",
    "hammingloss": "hamming_loss",
    "zerooneloss": "zero_one_loss",
}
#: Names that ``validation.metrics`` accepts and that expand into several columns, so no
#: gate compares them: ``per_class`` → ``precision_<class>``, ``recall_<class>``,
#: ``f1_<class>`` for every class of a classifier; ``residuals`` → a regressor's residual
#: summary (:data:`RESIDUAL_SUMMARY`).
METRIC_GROUPS: dict[str, str] = {
    "perclass": "per_class",
    "classificationreport": "per_class",
    "residuals": "residuals",
}
#: The columns of the ``residuals`` group (residual = label - prediction).
RESIDUAL_SUMMARY = (
    "residual_mean",
    "residual_std",
    "residual_min",
    "residual_p05",
    "residual_median",
    "residual_p95",
    "residual_max",
)
#: Metrics that need class probabilities (``predict_proba``).
PROBABILITY_METRICS = frozenset({"auc", "logloss", "average_precision", "brier"})
#: Metrics of a classifier's binary problem only (scikit-learn refuses more classes).
BINARY_METRICS = frozenset({"average_precision", "brier"})
#: What EVALUATE computes when ``validation.metrics`` is not written, by the model's task
#: (unknown task: accuracy).
DEFAULT_EVALUATION_METRICS: dict[str, tuple[str, ...]] = {
    "classification": ("accuracy", "f1"),
    "regression": ("mse", "mae", "r2"),
}
#: ``validation.curves`` names → the side table each writes beside the evaluation
#: (``<into>_roc`` …) and what it holds. Classifiers only.
EVALUATION_CURVES: dict[str, str] = {
    "roc": "ROC curve: class, threshold, fpr, tpr (one-vs-rest per class beyond two)",
    "pr": "precision-recall curve: class, threshold, recall, precision",
    "confusion": "confusion matrix: actual, predicted, count",
}


@dataclass(frozen=True)
class UnknownName:
    """A name ``validation.metrics``/``validation.curves`` does not know, with the closest
    known spelling (``None`` when none is close) and every known name, for the message."""

    written: str
    suggestion: str | None
    known: tuple[str, ...]

    def message(self, what: str) -> str:
        """``unknown metric 'acuracy' (did you mean 'accuracy'?); known: …``."""
        return (
            f"unknown {what} '{self.written}'"
            + (f" (did you mean '{self.suggestion}'?)" if self.suggestion else "")
            + f"; known: {', '.join(self.known)}"
        )


def split_names(written: object) -> list[str]:
    """A ``WITH`` value naming several things: a list, or one comma-separated string."""
    if written is None:
        return []
    items = written if isinstance(written, list) else str(written).split(",")
    return [str(i).strip() for i in items if str(i).strip()]


def metric_name(written: str) -> str | UnknownName:
    """The canonical name of one ``validation.metrics`` entry (a scalar metric or a group),
    or what is wrong with it."""
    key = written.lower().replace("_", "").replace("-", "")
    found = EVALUATION_METRICS.get(key) or METRIC_GROUPS.get(key)
    if found is not None:
        return found
    table = {**EVALUATION_METRICS, **METRIC_GROUPS}
    return UnknownName(
        written, _closest(key, table), tuple(sorted(set(table.values()), key=str.lower))
    )


def curve_name(written: str) -> str | UnknownName:
    """The canonical name of one ``validation.curves`` entry, or what is wrong with it."""
    key = written.lower().replace("_", "").replace("-", "")
    aliases = {**{c: c for c in EVALUATION_CURVES}, "confusionmatrix": "confusion"}
    aliases.update({"precisionrecall": "pr", "roccurve": "roc", "prcurve": "pr"})
    if key in aliases:
        return aliases[key]
    return UnknownName(written, _closest(key, aliases), tuple(EVALUATION_CURVES))


def unknown_names(names: Iterable[str], *, curves: bool = False) -> list[UnknownName]:
    """Every entry of ``names`` that does not resolve (metrics, or curves with ``curves``)."""
    check = curve_name if curves else metric_name
    return [r for r in (check(n) for n in names) if isinstance(r, UnknownName)]


def _closest(key: str, table: dict[str, str]) -> str | None:
    close = difflib.get_close_matches(key, list(table), n=1)
    return table[close[0]] if close else None


def side_table(into: Sequence[str], curve: str) -> tuple[str, ...]:
    """The name parts of a curve's table beside the evaluation ``into``: ``churn_eval`` →
    ``churn_eval_roc`` (same schema)."""
    return (*into[:-1], f"{into[-1]}_{curve}")
