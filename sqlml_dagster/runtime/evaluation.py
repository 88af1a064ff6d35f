"""``TO EVALUATE``: metrics, curves and residuals of a model version on labelled rows.

Flavor-neutral, like EXPLAIN (``runtime.scoring``): a flavor hands over a
:class:`~.scoring.Predictor` and everything here is scikit-learn's metrics over its labels,
predictions and probabilities.

- ``validation.metrics`` names scalar metrics (``contract.EVALUATION_METRICS``: accuracy,
  AUC, LogLoss, BalancedAccuracy, …) and groups (``per_class``: precision, recall and F1
  of every class; ``residuals``: a regressor's residual summary), one output column each.
- ``validation.curves`` (``roc``, ``pr``, ``confusion``; classifiers only) writes one
  Parquet table per curve beside the output (``<curve>.parquet``) and, with matplotlib, a
  chart (``<curve>.png``); the orchestrator loads each as ``<into>_<curve>``.
- A regressor's residual summary (label - prediction: mean, std, min, 5th percentile,
  median, 95th, max) is always reported, in the result and the asset's metadata.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from ..contract import DEFAULT_EVALUATION_METRICS, EvaluationResult
from ..contract.metrics import (
    BINARY_METRICS,
    PROBABILITY_METRICS,
    RESIDUAL_SUMMARY,
    UnknownName,
    curve_name,
    metric_name,
    split_names,
)
from ..contract.spec import StepSpec
from . import Reporter, StepError
from .data import DataFile, input_file, label_vector, output_file
from .plots import new_figure, save_png

if TYPE_CHECKING:
    from .scoring import Predictor

__all__ = ["curve_names", "evaluate", "metric_names", "requested_metrics", "requested_names"]

#: Curves that plot probabilities against a threshold.
_PROBABILITY_CURVES = ("roc", "pr")


def evaluate(spec: StepSpec, predictor: Predictor, reporter: Reporter) -> None:
    """Score a model version on labelled rows; writes one row (model, version, rows,
    metrics) and each asked-for curve's table and chart.

    Streams the input in record batches: only labels and predictions (and probabilities
    when a metric or curve needs them) are kept, never the feature data.
    """
    if not spec.output_uri or not spec.label:
        raise StepError("an evaluate step needs output_uri and label")
    names = metric_names(spec, predictor.task)
    curves = curve_names(spec)
    if curves and predictor.task != "classification":
        raise StepError(
            f"validation.curves ({', '.join(curves)}) are drawn for classifiers; "
            f"{spec.model_reference} is a {predictor.task} model"
        )
    needs_proba = bool(PROBABILITY_METRICS.intersection(names)) or any(
        c in _PROBABILITY_CURVES for c in curves
    )
    labels: list[Any] = []
    predicted: list[Any] = []
    probabilities: list[np.ndarray] = []
    for batch in input_file(spec).batches():
        if batch.num_rows == 0:
            continue
        if spec.label not in batch.schema.names:
            raise StepError(f"the SELECT has no label column '{spec.label}'")
        labels.extend(label_vector(batch, spec.label).tolist())
        predicted.extend(np.asarray(predictor.predict(batch)).tolist())
        if needs_proba:
            proba = predictor.predict_proba(batch)
            if proba is None:
                wanted = [n for n in names if n in PROBABILITY_METRICS]
                wanted += [c for c in curves if c in _PROBABILITY_CURVES]
                raise StepError(
                    f"{', '.join(_shown(w) for w in wanted)} need"
                    f"{'s' if len(wanted) == 1 else ''} class probabilities; "
                    f"{spec.model_reference} has no predict_proba"
                )
            probabilities.append(np.asarray(proba))
    if not labels:
        raise StepError("the evaluation SELECT returned no rows")
    proba_all = np.concatenate(probabilities) if probabilities else None
    y, y_hat = np.asarray(labels), np.asarray(predicted)
    classes = _classes(predictor.classes, y)
    values: dict[str, float] = {}
    for name in names:
        values.update(_metric(name, y, y_hat, proba_all, classes))
    reporter.log("evaluation: " + ", ".join(f"{k}={v:.4f}" for k, v in values.items()))
    table = pa.table(
        {
            "model": [spec.model_name],
            "model_version": pa.array([spec.model_version], pa.int64()),
            "rows": [len(labels)],
            **{name: [value] for name, value in values.items()},
        }
    )
    with output_file(spec).writer(table.schema) as writer:
        writer.write_table(table)
    folder = posixpath.dirname(spec.output_uri)
    written: dict[str, str] = {}
    plots: dict[str, str] = {}
    for curve in curves:
        rows = _curve(curve, y, y_hat, proba_all, classes)
        labelled = _with_lineage(rows, spec)
        uri = posixpath.join(folder, f"{curve}.parquet")
        with DataFile(uri).writer(labelled.schema) as writer:  # Parquet: the curve tables
            writer.write_table(labelled)
        written[curve] = uri
        plot = _plot(curve, rows, posixpath.join(folder, f"{curve}.png"), spec, reporter)
        if plot is not None:
            plots[curve] = plot
    residuals = _residual_summary(y, y_hat) if predictor.task == "regression" else {}
    reporter.result(
        metadata={
            **{f"metric/{k}": v for k, v in values.items()},
            "evaluated_rows": len(labels),
            **{f"residual/{k.removeprefix('residual_')}": v for k, v in residuals.items()},
        },
        result=EvaluationResult(
            kind="evaluate",
            metrics=values,
            rows=len(labels),
            curves=written,
            plots=plots,
            residuals=residuals,
        ),
    )


def metric_names(spec: StepSpec, task: str) -> list[str]:
    """The canonical names of ``WITH validation.metrics = "…"`` (a list or a comma string),
    or the task's defaults; an unknown name fails with the closest known one."""
    written = spec.param("validation", "metrics")
    if written is None:
        return list(DEFAULT_EVALUATION_METRICS.get(task, ("accuracy",)))
    return _resolved(split_names(written), metric_name, "metric")


def curve_names(spec: StepSpec) -> list[str]:
    """The canonical names of ``WITH validation.curves = "roc,pr,confusion"``."""
    return _resolved(split_names(spec.param("validation", "curves")), curve_name, "curve")


def _resolved(items: list[str], resolve: Any, what: str) -> list[str]:
    names: list[str] = []
    for item in items:
        found = resolve(item)
        if isinstance(found, UnknownName):
            raise StepError(found.message(what))
        if found not in names:
            names.append(found)
    return names


def _shown(name: str) -> str:
    return {"auc": "AUC", "logloss": "LogLoss", "roc": "the ROC curve", "pr": "the PR curve"}.get(
        name, name
    )


def _classes(classes: Sequence[Any] | None, y: np.ndarray) -> list[Any]:
    """The model's classes in ``predict_proba``'s column order; without them,
    scikit-learn's order: the sorted labels."""
    return list(classes) if classes else sorted(np.unique(y).tolist())


# -- metrics ----------------------------------------------------------------------------


def requested_names(spec: StepSpec) -> tuple[str, ...]:
    """TO TRAIN's ``validation.metrics``: the canonical names of the metrics a training
    reports beside its own (SQLFlow passes them to Keras' ``compile``), in the order
    written; empty when not written."""
    return tuple(_resolved(split_names(spec.param("validation", "metrics")), metric_name, "metric"))


def requested_metrics(
    names: Sequence[str],
    y: np.ndarray,
    predicted: np.ndarray,
    proba: np.ndarray | None,
    classes: Sequence[Any] | None,
) -> dict[str, float]:
    """The metrics ``names`` of a fit, computed as TO EVALUATE computes them, so a
    training's ``val_auc`` and an evaluation's ``auc`` of the same rows agree. ``proba``:
    class probabilities in ``classes``' order (``None``: the model has none)."""
    wanted = [n for n in names if n in PROBABILITY_METRICS]
    if wanted and proba is None:
        raise StepError(
            f"validation.metrics: {', '.join(_shown(w) for w in wanted)} need"
            f"{'s' if len(wanted) == 1 else ''} class probabilities; the model has none"
        )
    known = _classes(list(classes) if classes is not None else None, y)
    values: dict[str, float] = {}
    for name in names:
        values.update(_metric(name, y, predicted, proba, known))
    return values


def _metric(
    name: str,
    y: np.ndarray,
    predicted: np.ndarray,
    proba: np.ndarray | None,
    classes: list[Any],
) -> dict[str, float]:
    """One metric (a group: several columns); a scikit-learn complaint (e.g. text labels
    for MSE) is the user's to fix."""
    try:
        if name == "per_class":
            return _per_class(y, predicted, classes)
        if name == "residuals":
            return _residual_summary(y, predicted)
        return {name: _scalar(name, y, predicted, proba, classes)}
    except (ValueError, TypeError) as e:
        raise StepError(f"cannot compute {name}: {e}") from None


def _scalar(
    name: str,
    y: np.ndarray,
    predicted: np.ndarray,
    proba: np.ndarray | None,
    classes: list[Any],
) -> float:
    from sklearn import metrics

    average = "binary" if len(np.unique(y)) == 2 else "macro"
    if name == "accuracy":
        return float(metrics.accuracy_score(y, predicted))
    if name == "balanced_accuracy":
        return float(metrics.balanced_accuracy_score(y, predicted))
    if name in ("precision", "recall", "f1"):
        scorer = {
            "precision": metrics.precision_score,
            "recall": metrics.recall_score,
            "f1": metrics.f1_score,
        }[name]
        # The positive class is the one whose probability is predict_proba's 2nd column.
        positive = classes[1] if len(classes) > 1 else np.unique(y)[-1]
        pos = {"pos_label": positive} if average == "binary" else {}
        return float(scorer(y, predicted, average=average, zero_division=0, **pos))
    if name == "auc":
        assert proba is not None
        if proba.shape[1] == 2:
            return float(metrics.roc_auc_score(_is(y, classes[1]), proba[:, 1]))
        return float(metrics.roc_auc_score(y, proba, multi_class="ovr", labels=classes))
    if name == "logloss":
        assert proba is not None
        return float(metrics.log_loss(y, proba, labels=classes))
    if name in BINARY_METRICS:
        assert proba is not None
        if proba.shape[1] != 2:
            raise ValueError(f"{name} scores a two-class model; this one has {proba.shape[1]}")
        positive = _is(y, classes[1])
        if name == "brier":
            return float(metrics.brier_score_loss(positive, proba[:, 1]))
        return float(metrics.average_precision_score(positive, proba[:, 1]))
    on_labels = {  # scikit-learn's function of labels and predicted labels, by name
        "cohen_kappa": metrics.cohen_kappa_score,
        "hamming_loss": metrics.hamming_loss,
        "zero_one_loss": metrics.zero_one_loss,
    }
    if name in on_labels:
        return float(on_labels[name](y, predicted))
    y_float, predicted_float = y.astype(float), predicted.astype(float)
    if name == "mape":  # Keras' MeanAbsolutePercentageError: a percentage, |y| at least 1e-7
        scale = np.maximum(np.abs(y_float), 1e-7)
        return float(100.0 * np.mean(np.abs(y_float - predicted_float) / scale))
    if name == "rmse":
        return float(np.sqrt(metrics.mean_squared_error(y_float, predicted_float)))
    on_values = {  # … and of values and predicted values
        "msle": metrics.mean_squared_log_error,
        "median_ae": metrics.median_absolute_error,
        "explained_variance": metrics.explained_variance_score,
        "mse": metrics.mean_squared_error,
        "mae": metrics.mean_absolute_error,
        "r2": metrics.r2_score,
    }
    return float(on_values[name](y_float, predicted_float))


def _per_class(y: np.ndarray, predicted: np.ndarray, classes: list[Any]) -> dict[str, float]:
    """``precision_<class>``, ``recall_<class>``, ``f1_<class>`` for every class, in the
    model's class order (scikit-learn's ``precision_recall_fscore_support``)."""
    from sklearn import metrics

    precision, recall, f1, _ = metrics.precision_recall_fscore_support(
        y, predicted, labels=classes, zero_division=0
    )
    out: dict[str, float] = {}
    for i, c in enumerate(classes):
        out[f"precision_{c}"] = float(precision[i])
        out[f"recall_{c}"] = float(recall[i])
        out[f"f1_{c}"] = float(f1[i])
    return out


def _residual_summary(y: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Residuals (label - prediction) in a few numbers: where a regressor errs and how far."""
    residual = y.astype(float) - predicted.astype(float)
    values = (
        residual.mean(),
        residual.std(),
        residual.min(),
        *np.percentile(residual, [5, 50, 95]),
        residual.max(),
    )
    return {name: float(v) for name, v in zip(RESIDUAL_SUMMARY, values, strict=True)}


def _is(y: np.ndarray, value: Any) -> np.ndarray:
    return np.asarray(y == value, dtype=np.int64)


# -- curves -----------------------------------------------------------------------------


def _curve(
    curve: str,
    y: np.ndarray,
    predicted: np.ndarray,
    proba: np.ndarray | None,
    classes: list[Any],
) -> pa.Table:
    """One curve's rows. ROC and PR: for two classes the positive class's (predict_proba's
    second column), beyond two one curve per class against the rest; a threshold above
    every score (scikit-learn's ``inf``) is NULL, which every warehouse stores."""
    from sklearn import metrics

    if curve == "confusion":
        labels = list(classes) + sorted(
            {v for v in (*np.unique(y).tolist(), *np.unique(predicted).tolist())} - set(classes),
            key=str,
        )
        matrix = metrics.confusion_matrix(y, predicted, labels=labels)
        return pa.table(
            {
                "actual": pa.array([str(a) for a in labels for _ in labels], pa.string()),
                "predicted": pa.array([str(p) for _ in labels for p in labels], pa.string()),
                "count": pa.array(matrix.reshape(-1).astype(np.int64), pa.int64()),
            }
        )
    assert proba is not None
    shown = [1] if proba.shape[1] == 2 else list(range(len(classes)))
    pieces: dict[str, list[Any]] = {"class": [], "threshold": []}
    names = ("fpr", "tpr") if curve == "roc" else ("recall", "precision")
    for column in names:
        pieces[column] = []
    for i in shown:
        truth = _is(y, classes[i])
        if curve == "roc":
            first, second, thresholds = metrics.roc_curve(truth, proba[:, i])
        else:
            precision, recall, cut = metrics.precision_recall_curve(truth, proba[:, i])
            first, second, thresholds = recall, precision, np.append(cut, np.inf)
        pieces["class"] += [str(classes[i])] * len(first)
        pieces["threshold"] += [None if not np.isfinite(t) else float(t) for t in thresholds]
        pieces[names[0]] += first.astype(float).tolist()
        pieces[names[1]] += second.astype(float).tolist()
    return pa.table(
        {
            "class": pa.array(pieces["class"], pa.string()),
            "threshold": pa.array(pieces["threshold"], pa.float64()),
            names[0]: pa.array(pieces[names[0]], pa.float64()),
            names[1]: pa.array(pieces[names[1]], pa.float64()),
        }
    )


def _with_lineage(rows: pa.Table, spec: StepSpec) -> pa.Table:
    """A curve's rows with the model and version they describe, as the metrics row has."""
    n = rows.num_rows
    return rows.append_column("model", pa.array([spec.model_name] * n, pa.string())).append_column(
        "model_version", pa.array([spec.model_version] * n, pa.int64())
    )


def _plot(curve: str, rows: pa.Table, uri: str, spec: StepSpec, reporter: Reporter) -> str | None:
    """The curve's chart; ``None`` without matplotlib."""
    figure = new_figure(5.5, 4.5, reporter, f"{curve}.png")
    if figure is None:
        return None
    axes = figure.add_subplot()
    title = spec.model_name + (f"@{spec.model_version}" if spec.model_version is not None else "")
    if curve == "confusion":
        labels = list(dict.fromkeys(rows.column("actual").to_pylist()))
        counts = np.asarray(rows.column("count").to_pylist()).reshape(len(labels), len(labels))
        axes.imshow(counts, cmap="Blues")
        for (i, j), count in np.ndenumerate(counts):
            axes.text(j, i, str(count), ha="center", va="center")
        axes.set_xticks(range(len(labels)), labels=labels)
        axes.set_yticks(range(len(labels)), labels=labels)
        axes.set_xlabel("predicted")
        axes.set_ylabel("actual")
        axes.set_title(f"{title} — confusion matrix")
    else:
        x_name, y_name = ("fpr", "tpr") if curve == "roc" else ("recall", "precision")
        classes = rows.column("class").to_pylist()
        xs, ys = rows.column(x_name).to_pylist(), rows.column(y_name).to_pylist()
        for name in dict.fromkeys(classes):
            keep = [i for i, c in enumerate(classes) if c == name]
            axes.plot([xs[i] for i in keep], [ys[i] for i in keep], label=str(name))
        if curve == "roc":
            axes.plot([0, 1], [0, 1], color="#999999", linewidth=0.8, linestyle="--")
        axes.set_xlabel(x_name)
        axes.set_ylabel(y_name)
        axes.set_xlim(0, 1)
        axes.set_ylim(0, 1.02)
        axes.legend(title="class", loc="lower right" if curve == "roc" else "lower left")
        axes.set_title(f"{title} — {'ROC' if curve == 'roc' else 'precision-recall'} curve")
    return save_png(figure, uri, reporter)
