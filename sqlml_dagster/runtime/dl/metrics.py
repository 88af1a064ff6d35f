"""Scores and class probabilities of raw model outputs (logits or probabilities; values),
computed alike for every framework, so PyTorch and Keras models report the same
validation metrics."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..evaluation import requested_metrics
from .target import Target


def scores(
    target: Target | None, labels: np.ndarray, outputs: np.ndarray, names: Sequence[str] = ()
) -> dict[str, float]:
    """Accuracy/F1 or R2/RMSE/MAE of raw model outputs (logits or probabilities; values),
    and the ``validation.metrics`` ``names`` as TO EVALUATE computes them (classes are the
    label's codes here)."""
    if target is None or labels.size == 0:
        return {}
    from sklearn import metrics

    if target.task == "classification":
        predicted = class_indices(outputs, target)
        found = {
            "accuracy": float(metrics.accuracy_score(labels, predicted)),
            "f1_macro": float(metrics.f1_score(labels, predicted, average="macro")),
        }
        if names:
            proba = probabilities(outputs, target)
            codes = range(proba.shape[1])
            found.update(requested_metrics(names, labels, predicted, proba, codes))
        return found
    values = target.values(outputs)
    labels = labels.astype(np.float64) * target.std + target.mean
    found = {
        "r2": float(metrics.r2_score(labels, values)),
        "rmse": float(math.sqrt(metrics.mean_squared_error(labels, values))),
        "mae": float(metrics.mean_absolute_error(labels, values)),
    }
    if names:
        found.update(requested_metrics(names, labels, np.asarray(values), None, None))
    return found


def class_indices(outputs: np.ndarray, target: Target) -> np.ndarray:
    """argmax over class outputs; a single sigmoid output of a binary classifier thresholds."""
    outputs = np.asarray(outputs)
    if outputs.ndim == 1 or outputs.shape[-1] == 1:
        return (outputs.reshape(-1) > (0.5 if are_probabilities(outputs) else 0.0)).astype(np.int64)
    return np.asarray(outputs.argmax(axis=-1), dtype=np.int64)


def probabilities(outputs: np.ndarray, target: Target) -> np.ndarray:
    """Class probabilities of raw outputs: kept when they already are (softmax/sigmoid
    layers), else softmax of logits; a single output is P(class 1)."""
    outputs = np.asarray(outputs, dtype=np.float64)
    if outputs.ndim == 1 or outputs.shape[-1] == 1:
        p = outputs.reshape(-1)
        if not are_probabilities(p):
            p = 1.0 / (1.0 + np.exp(-p))
        return np.column_stack([1 - p, p])
    if are_probabilities(outputs) and np.allclose(outputs.sum(axis=-1), 1.0, atol=1e-3):
        return outputs
    shifted = outputs - outputs.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return np.asarray(e / e.sum(axis=-1, keepdims=True))


def are_probabilities(outputs: np.ndarray) -> bool:
    """Whether raw outputs already are probabilities (a softmax or sigmoid layer's), not
    logits: every value in [0, 1]."""
    return bool(outputs.size) and float(outputs.min()) >= 0.0 and float(outputs.max()) <= 1.0
