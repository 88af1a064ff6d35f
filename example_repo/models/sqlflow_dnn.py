"""A SQLFlow model-zoo model, written exactly as SQLFlow's guide says (Keras 2 API: a
``tf.keras.Model`` subclass taking ``feature_columns``, with module-level ``optimizer``,
``loss`` and ``prepare_prediction_column``). ``sql/iris.sql`` trains it with
``TO TRAIN sqlflow_dnn.DNNClassifier``; sqlml runs it unchanged.
"""

import tensorflow as tf


class DNNClassifier(tf.keras.Model):
    def __init__(self, feature_columns=None, hidden_units=(100, 100), n_classes=3):
        """DNNClassifier

        :param feature_columns: feature columns.
        :type feature_columns: list[tf.feature_column].
        :param hidden_units: sizes of the hidden layers.
        :param n_classes: number of classes of the label.
        """
        super().__init__()
        self.feature_layer = None
        if feature_columns is not None:
            self.feature_layer = tf.keras.layers.DenseFeatures(feature_columns)
        self.hidden_layers = []
        for hidden_unit in hidden_units:
            self.hidden_layers.append(tf.keras.layers.Dense(hidden_unit, activation="relu"))
        self.prediction_layer = tf.keras.layers.Dense(n_classes, activation="softmax")

    def call(self, inputs, training=True):
        if self.feature_layer is not None:
            x = self.feature_layer(inputs)
        else:
            x = tf.keras.layers.Flatten()(inputs)
        for hidden_layer in self.hidden_layers:
            x = hidden_layer(x)
        return self.prediction_layer(x)


def optimizer(learning_rate=0.01):
    return tf.keras.optimizers.Adam(learning_rate=learning_rate)


def loss(labels, output):
    return tf.reduce_mean(tf.keras.losses.sparse_categorical_crossentropy(labels, output))


def prepare_prediction_column(prediction):
    return prediction.argmax(axis=-1)
