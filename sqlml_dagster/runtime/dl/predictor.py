"""A trained network as the predictor that PREDICT, EVALUATE and EXPLAIN use, whatever the
framework that computes its outputs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from ..features import Encoded, FeaturePlan
from .metrics import class_indices, probabilities
from .target import Target


@dataclass
class DLPredictor:
    """A trained network behind :class:`runtime.scoring.Predictor`: raw outputs from the
    flavor's ``forward``, turned into labels by the model module's
    ``prepare_prediction_column`` when it has one (SQLFlow's contract), else argmax for
    classifiers and the value for regressors."""

    plan: FeaturePlan
    target: Target | None
    forward: Callable[[Encoded], np.ndarray]
    prepare: Callable[[np.ndarray], Any] | None = None

    @property
    def task(self) -> str:
        return self.target.task if self.target else "regression"

    @property
    def classes(self) -> list[Any] | None:
        return list(self.target.classes) if self.target and self.target.classes else None

    @property
    def features(self) -> list[str]:
        return list(self.plan.source_columns)

    def outputs(self, data: pa.Table | pa.RecordBatch) -> np.ndarray:
        return self.outputs_of(self.plan.encode(data))

    def outputs_of(self, encoded: Encoded) -> np.ndarray:
        """The network's raw outputs for rows already encoded by :attr:`plan`."""
        return np.asarray(self.forward(encoded))

    def predict(self, data: pa.Table | pa.RecordBatch) -> np.ndarray:
        return self.labels(self.outputs(data))

    def label_array(self, outputs: np.ndarray) -> pa.Array:
        """:meth:`labels` as the Arrow column a PREDICT step writes. A classifier's classes
        are gathered in Arrow and stay there: no numpy round trip, and no Python object a
        row for text classes."""
        target = self.target
        if self.prepare is None and target is not None and target.task == "classification":
            return target.decode(class_indices(outputs, target))
        labels = self.labels(outputs)
        return pa.array(labels.tolist() if labels.dtype == object else labels)

    def labels(self, outputs: np.ndarray) -> np.ndarray:
        target = self.target
        if self.prepare is not None:
            if target is not None and target.task == "regression":
                outputs = target.values(outputs).reshape(-1, 1)  # in the label's units
            prepared = np.asarray(self.prepare(outputs))
            if prepared.ndim > 1 and prepared.shape[-1] == 1:
                prepared = prepared.reshape(-1)
            if (
                target is not None
                and target.task == "classification"
                and np.issubdtype(prepared.dtype, np.integer)
                and list(target.classes) != list(range(len(target.classes)))
            ):
                return np.asarray(target.decode(prepared).to_numpy(zero_copy_only=False))
            return prepared
        if target is not None and target.task == "classification":
            return np.asarray(
                target.decode(class_indices(outputs, target)).to_numpy(zero_copy_only=False)
            )
        if target is not None:
            return target.values(outputs)
        outputs = np.asarray(outputs)
        if outputs.ndim > 1 and outputs.shape[-1] > 1:  # a registered classifier: the index
            return np.asarray(outputs.argmax(axis=-1), dtype=np.int64)
        return np.asarray(outputs, dtype=np.float64).reshape(len(outputs), -1)[:, 0]

    def predict_proba(self, data: pa.Table | pa.RecordBatch) -> np.ndarray | None:
        if self.target is None or self.target.task != "classification":
            return None
        return probabilities(self.outputs(data), self.target)
