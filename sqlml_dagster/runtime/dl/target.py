"""The label: its task (classification or regression) and, for a classifier, its classes
in output order. They are guessed from the label scanned while the feature plan is
fitted, unless ``train.task``, a *Classifier/*Regressor name or ``model.n_classes``
says; the target is saved with the model (``signature.json``), so prediction decodes
outputs exactly as training encoded labels."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import StepError
from .settings import TrainSettings

#: More distinct labels than this is not a classification problem we will guess at.
MAX_CLASSES = 10_000
#: An integer label with at most this many distinct values is taken as classes.
MAX_GUESSED_CLASSES = 100
CLASSIFIERS = ("DNNClassifier", "LinearClassifier", "DNNLinearCombinedClassifier")
REGRESSORS = ("DNNRegressor", "LinearRegressor", "DNNLinearCombinedRegressor")


@dataclass(frozen=True)
class Target:
    """The label's task and, for classification, its classes in output order."""

    name: str
    task: str  # "classification" | "regression"
    arrow_type: str
    classes: tuple[Any, ...] = ()
    #: Regression labels are trained standardized (``train.normalize``); outputs are
    #: turned back into the label's units with these.
    mean: float = 0.0
    std: float = 1.0

    @property
    def n_outputs(self) -> int:
        return len(self.classes) if self.task == "classification" else 1

    def encode(self, column: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """Labels as class indices (int64) or values (float32)."""
        if column.null_count:
            raise StepError(
                f"label column '{self.name}' has {column.null_count} NULL value(s); filter "
                "them out in the SELECT"
            )
        if self.task == "regression":
            values = np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64)
            return np.asarray((values - self.mean) / self.std, dtype=np.float32)
        index = pc.index_in(column, value_set=pa.array(list(self.classes)))
        if index.null_count:
            unseen = pc.filter(column, pc.is_null(index)).unique().to_pylist()[:5]
            raise StepError(
                f"label value(s) {unseen} of '{self.name}' are not among the model's classes "
                f"{list(self.classes)[:20]}"
            )
        return np.asarray(index.to_numpy(zero_copy_only=False), dtype=np.int64)

    def values(self, outputs: np.ndarray) -> np.ndarray:
        """A regressor's outputs (first column) in the label's units."""
        first = np.asarray(outputs, dtype=np.float64).reshape(len(outputs), -1)[:, 0]
        return first * self.std + self.mean

    def decode(self, indices: np.ndarray) -> pa.Array:
        """Class indices → the label's values and type. The classes are converted once and
        gathered in Arrow, not one Python object a row (a PREDICT step decodes every row);
        the positions go through numpy first, so indexing behaves as numpy's always did."""
        positions = np.arange(len(self.classes))[indices]
        return self._class_values.take(pa.array(positions, type=pa.int64()))

    @cached_property
    def _class_values(self) -> pa.Array:
        return pa.array(list(self.classes), type=pa.type_for_alias(self.arrow_type))

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "task": self.task,
            "type": self.arrow_type,
            "classes": list(self.classes) if self.task == "classification" else None,
            "mean": self.mean,
            "std": self.std,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Target:
        return cls(
            name=str(raw["name"]),
            task=str(raw["task"]),
            arrow_type=str(raw["type"]),
            classes=tuple(raw.get("classes") or ()),
            mean=float(raw.get("mean", 0.0)),
            std=float(raw.get("std", 1.0)),
        )


class LabelScan:
    """Distinct values (up to a bound) and type of the label, gathered while fitting."""

    def __init__(self, name: str):
        self.name = name
        self.values: set[Any] = set()
        self.type: pa.DataType | None = None
        self.too_many = False
        self.rows = 0
        self.total = 0.0
        self.squares = 0.0

    def add(self, batch: pa.RecordBatch) -> None:
        if self.name not in batch.schema.names:
            raise StepError(
                f"label column '{self.name}' is not in the data (columns: "
                f"{', '.join(batch.schema.names)})"
            )
        column = batch.column(self.name)
        self.type = column.type
        self.rows += batch.num_rows
        if column.null_count:
            raise StepError(
                f"label column '{self.name}' has NULL values; filter them out in the SELECT"
            )
        kind = column.type
        if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
            numbers = np.asarray(column.cast(pa.float64()).to_numpy(zero_copy_only=False))
            self.total += float(numbers.sum())
            self.squares += float((numbers * numbers).sum())
        if not self.too_many:
            self.values.update(column.unique().to_pylist())
            self.too_many = len(self.values) > MAX_CLASSES

    def guess_task(self, kind: pa.DataType) -> str:
        """Floats are regression, strings and booleans classification; integers are
        classes when there are few of them (SQLFlow's 0 … n-1 labels), else quantities
        (prices, counts). ``train.task`` or a *Classifier/*Regressor name overrides this."""
        if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
            return "regression"
        if pa.types.is_integer(kind):
            few = not self.too_many and len(self.values) <= MAX_GUESSED_CLASSES
            return "classification" if few else "regression"
        return "classification"

    def target(self, settings: TrainSettings, reference: str, params: Mapping[str, Any]) -> Target:
        kind = self.type or pa.float64()
        task = settings.task
        if task is None and reference.rsplit(".", 1)[-1] in CLASSIFIERS:
            task = "classification"
        if task is None and reference.rsplit(".", 1)[-1] in REGRESSORS:
            task = "regression"
        if task is None and isinstance(params.get("n_classes"), int):
            task = "classification"
        if task is None:
            task = self.guess_task(kind)
        type_name = _type_name(kind)
        if task == "regression":
            if not (
                pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
            ):
                raise StepError(f"a regressor needs a numeric label; '{self.name}' has type {kind}")
            if not settings.normalize or self.rows == 0:
                return Target(self.name, "regression", "double")
            mean = self.total / self.rows
            std = math.sqrt(max(self.squares / self.rows - mean * mean, 0.0)) or 1.0
            return Target(self.name, "regression", "double", mean=mean, std=std)
        if self.too_many:
            raise StepError(
                f"label '{self.name}' has more than {MAX_CLASSES} distinct values: is this a "
                'regression? write train.task = "regression" or use a *Regressor'
            )
        classes = sorted(self.values)
        n_classes = params.get("n_classes")
        if isinstance(n_classes, int) and pa.types.is_integer(kind):
            # SQLFlow's convention: labels are 0 … n_classes-1, some maybe unseen in training.
            outside = [c for c in classes if not 0 <= c < n_classes]
            if outside:
                raise StepError(
                    f"model.n_classes = {n_classes} but label '{self.name}' has value(s) "
                    f"{outside[:5]} outside 0 … {n_classes - 1}"
                )
            classes = list(range(n_classes))
        elif isinstance(n_classes, int) and n_classes < len(classes):
            raise StepError(
                f"model.n_classes = {n_classes} but label '{self.name}' has {len(classes)} "
                f"distinct values: {classes[:10]}"
            )
        if len(classes) < 2:
            raise StepError(
                f"label '{self.name}' has a single value {classes}; a classifier needs two or more"
            )
        return Target(self.name, "classification", type_name, tuple(classes))


def _type_name(kind: pa.DataType) -> str:
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if pa.types.is_large_string(kind):
        return "string"
    for name in ("string", "bool", "int8", "int16", "int32", "int64", "double", "float"):
        if kind == pa.type_for_alias(name):
            return name
    if pa.types.is_integer(kind):
        return "int64"
    return "string" if pa.types.is_string(kind) else "double"
