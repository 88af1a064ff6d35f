"""The Keras 3 side of the ``COLUMN`` clause: a layer over a :class:`FeaturePlan`'s bags.

As with PyTorch, numpy does the encoding (:mod:`sqlml_dagster.runtime.features`) and the
layer holds only what is learned: one embedding table per ``EMBEDDING``. The layer's config
is the fitted plan's JSON, so a ``.keras`` file carries the whole feature pipeline and loads
with ``safe_mode=True`` wherever this module has been imported (which registers the class).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
from keras import ops

from ..features import Bag, Encoded, FeaturePlan

__all__ = ["KerasFeatures", "keras_input_layers", "keras_inputs"]


@keras.saving.register_keras_serializable(package="sqlml")
class KerasFeatures(keras.layers.Layer):
    """``{"dense": [n, w], "bag_0": [n, L], …}`` → ``[n, output_width]``: ``dense`` as it is,
    then one ``dimension``-wide vector per bag.

    Each table has ``num_ids + 1`` rows; the encoder's ``-1`` padding looks up the last one
    and is masked out of the combination, so it neither counts nor learns. ``mean`` divides
    by the number of ids in the row, ``sqrtn`` by its square root, ``sum`` by nothing; a row
    without ids gives zeros.
    """

    def __init__(self, plan: FeaturePlan | dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.plan = plan if isinstance(plan, FeaturePlan) else FeaturePlan.from_json(plan)
        bags = self.plan.bags
        self.dense_width = self.plan.dense_width
        self.combiners = tuple(bag.combiner for bag in bags)
        self.paddings = tuple(bag.num_ids for bag in bags)
        self.tables = [
            keras.layers.Embedding(
                bag.num_ids + 1,
                bag.dimension,
                embeddings_initializer=_initializer(bag),
                name=f"bag_{i}_embedding",
            )
            for i, bag in enumerate(bags)
        ]
        self.output_width = self.dense_width + sum(bag.dimension for bag in bags)

    def build(self, input_shape: Any = None) -> None:
        for table in self.tables:
            table.build((None, None))
        self.built = True

    def call(self, inputs: dict[str, Any]) -> Any:
        parts = [ops.cast(inputs["dense"], "float32")]
        for i, (table, combiner, padding) in enumerate(
            zip(self.tables, self.combiners, self.paddings, strict=True)
        ):
            ids = ops.cast(inputs[f"bag_{i}"], "int64")
            present = ids >= 0
            mask = ops.expand_dims(ops.cast(present, "float32"), -1)
            vectors = table(ops.where(present, ids, padding)) * mask
            combined = ops.sum(vectors, axis=1)
            count = ops.maximum(ops.sum(mask, axis=1), 1.0)
            if combiner == "mean":
                combined = combined / count
            elif combiner == "sqrtn":
                combined = combined / ops.sqrt(count)
            parts.append(combined)
        return ops.concatenate(parts, axis=-1)

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, int]:
        return (None, self.output_width)

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = super().get_config()
        config["plan"] = self.plan.to_json()
        return config


def keras_inputs(encoded: Encoded) -> dict[str, np.ndarray]:
    """An encoded batch as the dict :class:`KerasFeatures` (and a model built on
    :func:`keras_input_layers`) takes."""
    inputs = {"dense": encoded.dense}
    inputs.update({f"bag_{i}": bag for i, bag in enumerate(encoded.bags)})
    return inputs


def keras_input_layers(plan: FeaturePlan) -> dict[str, Any]:
    """``keras.Input``s for a functional model over ``plan``, keyed like
    :func:`keras_inputs`. Keras wants a dict input's keys to be the inputs' names, so the
    inputs are called ``dense``, ``bag_0``, …: name the model's own ``Dense`` layers (the
    first unnamed one is also called ``dense``) or wrap them in a model of their own."""
    inputs = {"dense": keras.Input((plan.dense_width,), name="dense", dtype="float32")}
    for i in range(len(plan.bags)):
        inputs[f"bag_{i}"] = keras.Input((None,), name=f"bag_{i}", dtype="int64")
    return inputs


def _initializer(bag: Bag) -> Any:
    """The initializer written in SQL; none written: a truncated normal with std
    ``1/sqrt(dimension)`` (TensorFlow's default for embedding columns), as in PyTorch."""
    kind = bag.initializer or "truncated_normal"
    if kind == "truncated_normal":
        return keras.initializers.TruncatedNormal(stddev=1.0 / np.sqrt(bag.dimension))
    return {"normal": "random_normal", "uniform": "random_uniform"}.get(kind, kind)
