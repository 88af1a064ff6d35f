"""Keras 3 models returned by factory functions (``import keras``, not ``tf.keras``),
marked as model factories the two ways a model package can: the decorator, and a name in
``__sqlml_models__``."""

import keras

from sqlml_dagster import model_factory

__sqlml_models__ = ("regressor",)


@model_factory
def classifier(input_dim, n_classes, hidden=32):
    return keras.Sequential(
        [
            keras.Input(shape=(input_dim,)),
            keras.layers.Dense(hidden, activation="relu"),
            keras.layers.Dense(n_classes, activation="softmax"),
        ]
    )


def regressor(input_dim, hidden=32):
    inputs = keras.Input(shape=(input_dim,))
    x = keras.layers.Dense(hidden, activation="relu")(inputs)
    x = keras.layers.Dense(hidden, activation="relu")(x)
    return keras.Model(inputs, keras.layers.Dense(1)(x))
