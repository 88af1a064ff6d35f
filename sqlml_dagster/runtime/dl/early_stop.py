"""``train.early_stop = true``: stop a training whose watched metric has not improved for
``train.patience`` epochs, and keep the weights of its best epoch — the same rule for
PyTorch and Keras, so both record the same ``best_epoch`` and ``stopped_epoch``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...contract.trials import metric_direction
from .. import StepError
from .settings import TrainSettings


@dataclass
class EarlyStopping:
    """The watched metric's best value so far, and how long it has not improved."""

    metric: str
    patience: int
    minimize: bool
    best: float | None = None
    best_epoch: int = 0
    stopped_epoch: int = 0
    waited: int = 0

    @classmethod
    def of(cls, settings: TrainSettings, validation: bool) -> EarlyStopping | None:
        """The rule a training's settings ask for; ``None`` without ``train.early_stop``.
        The default metric is the validation loss (the training loss without validation
        rows)."""
        if not settings.early_stop:
            return None
        metric = settings.early_stop_metric or ("val_loss" if validation else "loss")
        if metric.startswith("val_") and not validation:
            raise StepError(
                f"train.early_stop_metric = '{metric}' is measured on validation rows and "
                "there are none: set validation.split or validation.select"
            )
        direction = metric_direction(metric)
        if direction is None:
            raise StepError(
                f"train.early_stop_metric = '{metric}': not a metric with a known better "
                "direction (loss, val_loss, val_accuracy, val_rmse…)"
            )
        return cls(metric=metric, patience=settings.patience, minimize=direction == "minimize")

    def update(self, epoch: int, values: Mapping[str, Any]) -> tuple[bool, bool]:
        """After ``epoch`` (from 1) with its ``values``: (improved, stop now)."""
        value = values.get(self.metric)
        if value is None:
            reported = ", ".join(k for k in values if k not in ("epoch", "seconds"))
            raise StepError(
                f"train.early_stop_metric = '{self.metric}' is not reported per epoch "
                f"(epochs report {reported or 'nothing'})"
            )
        value = float(value)
        self.stopped_epoch = epoch
        improved = self.best is None or (value < self.best if self.minimize else value > self.best)
        if improved:
            self.best, self.best_epoch, self.waited = value, epoch, 0
        else:
            self.waited += 1
        return improved, self.waited >= self.patience

    def summary(self) -> dict[str, Any]:
        """What the manifest records (``early_stopping``)."""
        return {
            "metric": self.metric,
            "patience": self.patience,
            "best": self.best,
            "best_epoch": self.best_epoch,
            "stopped_epoch": self.stopped_epoch,
        }
