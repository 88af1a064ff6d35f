"""EVALUATE's metric names, shared by the compiler (gates, ``sqlml check``) and the
runtime (``runtime.scoring``)."""

from __future__ import annotations

#: EVALUATE's metric names (lower case, ``_`` removed; SQLFlow/Keras spellings too) → the
#: canonical name the runtime computes. Shared by the
#: compiler (gates, ``sqlml check``) and the runtime (``runtime.scoring``).
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
}
#: What EVALUATE computes when ``validation.metrics`` is not written, by the model's task
#: (unknown task: accuracy).
DEFAULT_EVALUATION_METRICS: dict[str, tuple[str, ...]] = {
    "classification": ("accuracy", "f1"),
    "regression": ("mse", "mae", "r2"),
}
