"""A Keras 3 factory model for ``test_columns.py``, referenced as ``column_models.classifier``
the way a project's ``models/`` folder is (the test puts this folder on ``sys.path``).

The runtime prepends the COLUMN clause's features layer and passes its width as
``input_dim`` and the number of classes as ``n_classes``.
"""

from __future__ import annotations

import keras

from sqlml_dagster import model_factory


@model_factory
def classifier(input_dim: int, n_classes: int, hidden: int = 16) -> keras.Model:
    return keras.Sequential(
        [
            keras.Input(shape=(input_dim,)),
            keras.layers.Dense(hidden, activation="relu"),
            keras.layers.Dense(n_classes, activation="softmax"),
        ]
    )
