"""Hyper-parameter trials: the search space a statement writes, the settings that drive
the search, and which way each metric is better.

``WITH model.max_depth = HPARAM_RANGE(2, 8), model.n_estimators = HPARAM_CANDIDATES([50,
100]), train.num_trials = 8`` trains 8 trials, each a step of its own with concrete
values, and publishes the best one as the model's version. The compiler reads the values
(:class:`HparamRange`, :class:`HparamCandidates`), ``sqlml check`` checks them, the
orchestrator samples them (Optuna) and ranks the trials by ``train.objective``: all read
the definitions here, so they agree on what a range means and which metric is better.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

#: The SQL functions that write a search space as a ``WITH`` value.
RANGE_FUNCTION = "HPARAM_RANGE"
CANDIDATES_FUNCTION = "HPARAM_CANDIDATES"
#: ``HPARAM_RANGE(1e-4, 1e-1, log)``: sample on a log scale.
LOG_WORD = "log"

#: ``train.*`` keys that drive the search itself: they take plain values, never a range.
NUM_TRIALS = "num_trials"
MAX_PARALLEL_TRIALS = "max_parallel_trials"
OBJECTIVE = "objective"
TRIAL_SAMPLER = "trial_sampler"
TRIAL_KEYS = (NUM_TRIALS, MAX_PARALLEL_TRIALS, OBJECTIVE, TRIAL_SAMPLER)
#: ``train.*`` keys that say how or whether a step runs, not what it learns: no range.
UNTUNABLE_TRAIN_KEYS = (*TRIAL_KEYS, "seed", "force", "max_runtime", "device", "amp")
#: The namespaces whose keys may hold a search space.
TUNABLE_NAMESPACES = ("model", "train")

#: ``train.trial_sampler``: Optuna's samplers by the name SQL writes.
SAMPLERS = ("tpe", "random", "grid")
DEFAULT_SAMPLER = "tpe"
#: ``train.num_trials`` when a statement has a search space and does not say (a grid
#: sampler over candidates alone runs every combination instead).
DEFAULT_NUM_TRIALS = 10
#: ``train.max_parallel_trials`` unless written: one trial at a time.
DEFAULT_MAX_PARALLEL_TRIALS = 1

#: What a training step reports, without and with ``val_`` (validation rows), and for
#: which task: ``None`` is every task of the deep-learning flavors (their loss).
TRAINING_METRICS: Mapping[str, str | None] = {
    "accuracy": "classification",
    "f1_macro": "classification",
    "r2": "regression",
    "rmse": "regression",
    "mae": "regression",
    "loss": None,
}
#: Metrics where more is better; everything else known here is better smaller.
MAXIMIZED = frozenset(
    {
        *("accuracy", "balanced_accuracy", "f1_macro", "f1", "auc", "precision", "recall"),
        *("r2", "explained_variance", "average_precision", "cohen_kappa"),
    }
)
MINIMIZED = frozenset(
    {
        *("loss", "logloss", "rmse", "mse", "mae", "mape", "msle", "median_ae", "brier"),
        *("hamming_loss", "zero_one_loss"),
    }
)
#: The objective when ``train.objective`` is not written: the first metric the trials
#: report, in this order (the validation loss of a network, else the validation score).
DEFAULT_OBJECTIVES = ("val_loss", "val_accuracy", "val_r2", "loss", "accuracy", "r2")


@dataclass(frozen=True)
class HparamRange:
    """``HPARAM_RANGE(low, high[, log])``: integers when both bounds are, else floats;
    ``log`` samples uniformly in the logarithm (a learning rate, a regularization)."""

    low: int | float
    high: int | float
    log: bool = False

    @property
    def integer(self) -> bool:
        return isinstance(self.low, int) and isinstance(self.high, int)

    def problem(self) -> str | None:
        """Why these bounds make no range, or ``None``."""
        for bound in (self.low, self.high):
            if isinstance(bound, bool) or not isinstance(bound, (int, float)):
                return f"its bounds must be numbers, found {bound!r}"
            if not math.isfinite(bound):
                return f"its bounds must be finite, found {bound!r}"
        if self.low >= self.high:
            return f"its low bound {self.low!r} must be below its high bound {self.high!r}"
        if self.log and self.low <= 0:
            return f"a log range needs a positive low bound, found {self.low!r}"
        return None

    def to_json(self) -> dict[str, Any]:
        bounds: list[Any] = [self.low, self.high]
        return {"hparam_range": [*bounds, LOG_WORD] if self.log else bounds}


@dataclass(frozen=True)
class HparamCandidates:
    """``HPARAM_CANDIDATES([50, 100, 200])``: one of these values (any literals)."""

    values: tuple[Any, ...]

    def problem(self) -> str | None:
        if not self.values:
            return "it lists no candidate"
        seen: list[Any] = []
        for value in self.values:
            if value in seen:
                return f"it lists {value!r} twice"
            seen.append(value)
        return None

    def to_json(self) -> dict[str, Any]:
        return {"hparam_candidates": list(self.values)}


SearchValue = HparamRange | HparamCandidates


def is_search_value(value: object) -> bool:
    return isinstance(value, (HparamRange, HparamCandidates))


def json_value(value: Any) -> Any:
    """A ``WITH`` value as JSON: a search space as ``{"hparam_range": [2, 8]}`` (what the
    project manifest, golden files and a dry run's spec show), anything else as it is."""
    if is_search_value(value):
        return value.to_json()
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    return value


def from_json_value(value: Any) -> Any:
    """The inverse of :func:`json_value` for a search space (a ``WITH`` value is never a
    JSON object otherwise: SQL has no such literal); anything else as it is."""
    if isinstance(value, dict) and len(value) == 1:
        if isinstance(bounds := value.get("hparam_range"), list) and len(bounds) in (2, 3):
            return HparamRange(bounds[0], bounds[1], log=len(bounds) == 3)
        if isinstance(listed := value.get("hparam_candidates"), list):
            return HparamCandidates(tuple(listed))
    return value


def search_space(params: Mapping[str, Mapping[str, Any]]) -> dict[str, SearchValue]:
    """``{"model.max_depth": HparamRange(2, 8), …}``: every searched key of a statement's
    params by namespace (as the IR holds them, or as JSON), in the order written."""
    space = {
        f"{namespace}.{key}": from_json_value(value)
        for namespace, values in params.items()
        for key, value in values.items()
    }
    return {key: value for key, value in space.items() if is_search_value(value)}


def with_values(
    params: Mapping[str, Mapping[str, Any]], values: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    """``params`` with each searched key replaced by a trial's value (``values`` keyed
    ``namespace.key``): what one trial's StepSpec carries."""
    out = {namespace: dict(keys) for namespace, keys in params.items()}
    for dotted, value in values.items():
        namespace, _, key = dotted.partition(".")
        out.setdefault(namespace, {})[key] = value
    return out


def metric_direction(metric: str) -> str | None:
    """``maximize`` or ``minimize`` for a metric (``val_`` or not), ``None`` if unknown."""
    base = metric.removeprefix("val_")
    if base in MAXIMIZED:
        return "maximize"
    if base in MINIMIZED:
        return "minimize"
    return None


def objective_problem(
    metric: str, *, validation: bool, task: str | None, deep_learning: bool | None
) -> str | None:
    """Why a training with these facts never reports ``metric`` (``None``: it may).
    ``task`` and ``deep_learning`` are ``None`` when not known before the step runs."""
    base = metric.removeprefix("val_")
    if base not in TRAINING_METRICS:
        known = ", ".join(f"{m}, val_{m}" for m in TRAINING_METRICS)
        return f"training reports no metric '{metric}' (it reports {known})"
    if metric.startswith("val_") and not validation:
        return (
            f"'{metric}' is measured on validation rows and the statement has none "
            "(set validation.split = 0.2 or validation.select)"
        )
    needs = TRAINING_METRICS[base]
    if needs is not None and task is not None and needs != task:
        return f"'{metric}' is a {needs} metric and this model does {task}"
    if base == "loss" and deep_learning is False:
        return (
            f"'{metric}' is the loss of a network's training; a scikit-learn estimator reports none"
        )
    return None


def default_objective(reported: Iterable[str]) -> str | None:
    """The objective of a search whose statement names none: see :data:`DEFAULT_OBJECTIVES`."""
    names = set(reported)
    return next((m for m in DEFAULT_OBJECTIVES if m in names), None)


def better(metric: str, candidate: float, best: float) -> bool:
    """Whether ``candidate`` beats ``best`` on ``metric`` (unknown metrics: larger wins)."""
    if metric_direction(metric) == "minimize":
        return candidate < best
    return candidate > best


def is_booster_objective(value: object) -> bool:
    """``train.objective = "reg:linear"``: XGBoost's objective as SQLFlow's statements spell
    it (``family:name``), not the metric that ranks trials (``val_accuracy``)."""
    return isinstance(value, str) and ":" in value
