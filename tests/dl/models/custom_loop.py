"""SQLFlow's other contract: a Keras model that trains itself (``sqlflow_train_loop``)."""

import tensorflow as tf


class SelfTrained(tf.keras.Model):
    def __init__(self, feature_columns=None, n_classes=3, units=32):
        super().__init__()
        self.feature_layer = tf.keras.layers.DenseFeatures(feature_columns)
        self.hidden = tf.keras.layers.Dense(units, activation="relu")
        self.out = tf.keras.layers.Dense(n_classes)

    def call(self, inputs, training=True):
        return self.out(self.hidden(self.feature_layer(inputs)))

    def sqlflow_train_loop(self, dataset, epochs=1, verbose=0):
        optimizer = tf.keras.optimizers.Adam(learning_rate=0.05)
        loss = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        for _ in range(epochs):
            for features, labels in dataset:
                with tf.GradientTape() as tape:
                    value = loss(labels, self(features, training=True))
                grads = tape.gradient(value, self.trainable_variables)
                optimizer.apply_gradients(zip(grads, self.trainable_variables, strict=True))
