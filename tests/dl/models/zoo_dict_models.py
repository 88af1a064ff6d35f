"""SQLFlow model-zoo models that read the feature dict the way SQLFlow hands it: keyed by
column name, one tensor a column (``tests/runtime/test_zoo_inputs.py``)."""

import tensorflow as tf


class ByName(tf.keras.Model):
    """Reads two columns by name, as zoo models that pick their inputs do."""

    def __init__(self, feature_columns=None, n_classes=2):
        super().__init__()
        self.names = sorted(fc.key for fc in feature_columns)
        self.hidden = tf.keras.layers.Dense(8, activation="relu")
        self.out = tf.keras.layers.Dense(n_classes, activation="softmax")

    def call(self, inputs, training=True):
        if sorted(inputs) != self.names:  # the dict's keys are its feature columns' keys
            raise ValueError(f"inputs {sorted(inputs)} are not the columns {self.names}")
        x = tf.concat([tf.cast(inputs["x"], tf.float32), tf.cast(inputs["z"], tf.float32)], 1)
        return self.out(self.hidden(x))


class Concatenated(tf.keras.Model):
    """Concatenates the dict's values (each ``[batch, width]``) in key order."""

    def __init__(self, feature_columns=None, n_classes=2):
        super().__init__()
        self.out = tf.keras.layers.Dense(n_classes, activation="softmax")

    def call(self, inputs, training=True):
        return self.out(tf.concat([tf.cast(inputs[k], tf.float32) for k in sorted(inputs)], 1))


class WithFeatureLayer(tf.keras.Model):
    """SQLFlow's usual shape: ``DenseFeatures(feature_columns)`` over the dict."""

    def __init__(self, feature_columns=None, n_classes=2):
        super().__init__()
        self.features = tf.keras.layers.DenseFeatures(feature_columns)
        self.out = tf.keras.layers.Dense(n_classes, activation="softmax")

    def call(self, inputs, training=True):
        return self.out(self.features(inputs))


def optimizer(learning_rate=0.05):
    return tf.keras.optimizers.Adam(learning_rate=learning_rate)


def loss(labels, output):
    return tf.reduce_mean(tf.keras.losses.sparse_categorical_crossentropy(labels, output))
