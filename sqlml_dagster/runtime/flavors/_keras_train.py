"""Keras training, prediction, evaluation and explanation — SQLFlow's model-zoo contract.

Two Keras APIs meet here, decided by the model's own base class:

* **SQLFlow model-zoo files** subclass ``tf.keras.Model``, take ``feature_columns`` (a
  list of ``tf.feature_column``) and build ``tf.keras.layers.DenseFeatures`` from it; their
  module defines ``optimizer(learning_rate=…)``, ``loss(labels, output)``, optionally
  ``prepare_prediction_column`` and a ``sqlflow_train_loop(dataset, epochs, verbose)``
  method. That is the Keras 2 API, which TensorFlow ≥ 2.16 serves from the ``tf-keras``
  package: the runtime sets ``TF_USE_LEGACY_KERAS=1`` before the model module is imported
  (when tf-keras is installed), so ``tf.keras`` means what these files were written for and
  they run without edits. Their feature columns are real ``tf.feature_column`` objects
  over the encoded COLUMN clause: one numeric column ``dense`` and one embedding column
  per ``EMBEDDING``. Saved as ``model.weights.h5`` (arrays only) with the class reference
  and constructor arguments; loading rebuilds the class.
* **Keras 3 models** (``import keras``): a ``keras.Model`` subclass, or a function
  returning a functional/sequential model, taking ``input_dim`` (and ``n_classes``) among
  ``WITH model.*``. The step prepends :class:`KerasFeatures` and saves the whole network as
  ``model.keras``, loaded with ``safe_mode=True``.
"""

from __future__ import annotations

import contextlib
import inspect
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fsspec
import numpy as np

from ...contract.spec import StepSpec
from .. import Reporter, StepError, dl, scoring
from ..dl.warm_start import base_fitted, base_signature, check_base_constructor, version_ref
from ..evaluation import requested_names
from ..features import Encoded, FeaturePlan
from ..threads import cap_tensorflow
from ._register import call_hook, read_signature, resolve

KERAS3_ARTIFACT = "model.keras"
KERAS2_WEIGHTS = "model.weights.h5"
KERAS2_FORMAT = "sqlml_tf_keras"
KERAS3_FORMAT = "sqlml_keras"


def use_tf_keras_for_tf_dot_keras() -> None:
    """Make ``tf.keras`` the Keras 2 API (tf-keras) when installed — before any import of
    TensorFlow or a model module, which is why the runtime calls it before dispatching."""
    from ...contract import prefer_tf_keras  # shared with `sqlml check`'s import process

    prefer_tf_keras()


def api_of(model: Any) -> str:
    """``tf_keras`` (Keras 2) or ``keras`` (Keras 3) for a model class or instance."""
    cls = model if isinstance(model, type) else type(model)
    for base in inspect.getmro(cls):
        top = base.__module__.split(".", 1)[0]
        if top == "tf_keras":
            return "tf_keras"
        if top == "keras" and base.__name__ in ("Model", "Layer", "Operation"):
            return "keras"
    return ""


def _library(api: str) -> Any:
    if api == "tf_keras":
        import tf_keras

        return tf_keras
    import keras

    return keras


# -- building -------------------------------------------------------------------------


def tf_feature_columns(plan: FeaturePlan) -> list[Any]:
    """The encoded COLUMN clause as ``tf.feature_column``s for ``DenseFeatures``."""
    import tensorflow as tf

    columns: list[Any] = []
    if plan.dense_width:
        columns.append(tf.feature_column.numeric_column("dense", shape=(plan.dense_width,)))
    for i, bag in enumerate(plan.bags):
        ids = tf.feature_column.categorical_column_with_identity(
            f"bag_{i}", num_buckets=bag.num_ids
        )
        columns.append(
            tf.feature_column.embedding_column(ids, dimension=bag.dimension, combiner=bag.combiner)
        )
    return columns


#: ``signature.json``: how a SQLFlow zoo model (tf-keras, taking ``feature_columns``) gets
#: its features. ``columns``: as SQLFlow hands them, a dict keyed by column name over which
#: its ``feature_columns`` are built. A version without it was fed ``{"dense": …}`` and is
#: rebuilt that way (its first layer's weights follow that order).
ZOO_INPUTS = "zoo_inputs"
PER_COLUMN = "columns"


@dataclass(frozen=True)
class ZooKeys:
    """The name each COLUMN feature has in a zoo model's input dict: its column's name (a
    ``CROSS`` joins its columns'), made unique in clause order; a dense feature's slice of
    the encoded ``dense`` matrix, an embedding's bag."""

    dense: tuple[tuple[str, int, int], ...]
    bags: tuple[str, ...]

    @classmethod
    def of(cls, plan: FeaturePlan) -> ZooKeys:
        from ..features.encoders import Embedding

        used: set[str] = set()
        dense: list[tuple[str, int, int]] = []
        bags: list[str] = []
        start = 0
        for feature in plan.features:
            base = "_".join(feature.source_columns) or "feature"
            key, n = base, 1
            while key in used:
                key, n = f"{base}_{n}", n + 1
            used.add(key)
            if isinstance(feature, Embedding):
                bags.append(key)
            else:
                dense.append((key, start, start + feature.width))
                start += feature.width
        return cls(tuple(dense), tuple(bags))

    def split(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """``{"dense": …, "bag_0": …}`` → ``{column: …}``: what the zoo model reads."""
        out = {key: inputs["dense"][:, a:b] for key, a, b in self.dense}
        out.update({key: inputs[f"bag_{i}"] for i, key in enumerate(self.bags)})
        return out


def zoo_feature_columns(plan: FeaturePlan, keys: ZooKeys) -> list[Any]:
    """``tf.feature_column``s over the per-column dict: a numeric column per dense feature
    (its encoded width), an embedding over the ids of each ``EMBEDDING``."""
    import tensorflow as tf

    columns: list[Any] = [
        tf.feature_column.numeric_column(key, shape=(b - a,)) for key, a, b in keys.dense
    ]
    for key, bag in zip(keys.bags, plan.bags, strict=True):
        ids = tf.feature_column.categorical_column_with_identity(key, num_buckets=bag.num_ids)
        columns.append(
            tf.feature_column.embedding_column(ids, dimension=bag.dimension, combiner=bag.combiner)
        )
    return columns


def _zoo_adapter(model: Any, keys: ZooKeys) -> Any:
    """A zoo model behind a layer that turns the encoded inputs into its per-column dict.
    The zoo model's own weights are what is saved and loaded (:func:`weights_of`)."""
    import tf_keras

    class ZooInputs(tf_keras.Model):
        def __init__(self) -> None:
            super().__init__()
            self.zoo = model

        def call(self, inputs: Any, training: Any = None) -> Any:
            return self.zoo(keys.split(inputs), training=training)

    return ZooInputs()


def weights_of(network: Any) -> Any:
    """The model whose weights a Keras 2 version saves: the zoo model itself when an
    adapter feeds it, so its file has the same layout either way."""
    return getattr(network, "zoo", network)


def inputs_of(encoded: Encoded) -> dict[str, np.ndarray]:
    from ._keras_features import keras_inputs

    return keras_inputs(encoded)


def _offered(plan: FeaturePlan, target: dl.Target | None) -> dict[str, Any]:
    # The features layer (KerasFeatures or DenseFeatures) outputs dense + embeddings.
    offered: dict[str, Any] = {"input_dim": plan.dense_width + sum(b.dimension for b in plan.bags)}
    if target is not None and target.task == "classification":
        offered.update({"n_classes": target.n_outputs, "num_classes": target.n_outputs})
    return offered


def build(
    constructor: Callable[..., Any],
    reference: str,
    params: Mapping[str, Any],
    plan: FeaturePlan,
    target: dl.Target | None,
    per_column: bool = True,
) -> tuple[Any, Any, dict[str, Any], str]:
    """(network to train, the user's model, constructor kwargs, api). ``per_column``: a
    zoo model gets SQLFlow's dict keyed by column name (False: a version trained before
    that, fed ``{"dense": …}``)."""
    api = api_of(constructor) if isinstance(constructor, type) else ""
    offered = _offered(plan, target)
    keys = ZooKeys.of(plan) if per_column else None
    if api == "tf_keras":
        offered["feature_columns"] = (
            zoo_feature_columns(plan, keys) if keys is not None else tf_feature_columns(plan)
        )
    kwargs = dl.model_kwargs(constructor, params, offered, reference)
    try:
        model = constructor(**kwargs)
    except AttributeError as e:
        if "DenseFeatures" in str(e) or "feature_column" in str(e):
            raise StepError(
                f"{reference} uses the Keras 2 API (tf.keras.layers.DenseFeatures); install "
                "tf-keras in the step image (pip install 'sqlml-dagster[keras]')"
            ) from None
        raise
    except (TypeError, ValueError) as e:
        raise StepError(f"cannot construct {reference}: {e}") from None
    api = api_of(model)
    if not api:
        raise StepError(f"{reference} returned a {type(model).__name__}, not a Keras model")
    network = _wrap(model, plan, api, takes_columns="feature_columns" in kwargs, keys=keys)
    return network, model, kwargs, api


def _wrap(
    model: Any, plan: FeaturePlan, api: str, takes_columns: bool, keys: ZooKeys | None = None
) -> Any:
    """The model as it is trained and saved: SQLFlow models take the feature dict
    themselves (keyed by column name through :func:`_zoo_adapter`); others get the
    features layer in front, in a functional model."""
    if api == "tf_keras" and takes_columns:
        return _zoo_adapter(model, keys) if keys is not None else model
    k = _library(api)
    inputs: dict[str, Any] = {
        "dense": k.Input(shape=(plan.dense_width,), name="dense", dtype="float32")
    }
    for i in range(len(plan.bags)):
        inputs[f"bag_{i}"] = k.Input(shape=(None,), name=f"bag_{i}", dtype="int64")
    if api == "tf_keras":
        x = k.layers.DenseFeatures(tf_feature_columns(plan))(inputs)
    else:
        from ._keras_features import KerasFeatures

        x = KerasFeatures(plan)(inputs)
    return k.Model(inputs=inputs, outputs=model(x))


# -- training -------------------------------------------------------------------------


def _quiet() -> None:
    """TensorFlow's Python-side deprecation chatter (feature columns, get_config of
    subclassed models) is about TensorFlow's roadmap, not the user's statement."""
    import logging
    import warnings

    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="tf_keras")
    warnings.filterwarnings("ignore", module="keras")


def train(spec: StepSpec, reporter: Reporter) -> None:
    _quiet()
    constructor = resolve(spec.model_reference)
    formats = (KERAS2_FORMAT, KERAS3_FORMAT)
    base = base_signature(spec, formats) if spec.warm_start_uri else None
    prepared = dl.prepare(spec, reporter, fitted=base_fitted(base) if base else None)
    settings, target = prepared.settings, prepared.target
    reporter.log(f"TensorFlow uses {cap_tensorflow()} CPU thread(s) per op")
    _configure_devices(settings, reporter)
    _seed(settings.seed)
    scope = mirrored_scope(settings, reporter)
    with scope():
        network, model, kwargs, api = build(
            constructor,
            spec.model_reference,
            dict(spec.params.get("model", {})),
            prepared.plan,
            target,
            # a zoo base trained before per-column inputs keeps its inputs' order
            per_column=base is None or base.get(ZOO_INPUTS) == PER_COLUMN,
        )
    if base is not None:  # USING base@v: its weights, strictly
        check_base_constructor(spec, base, kwargs)
        _load_base_weights(spec, base, network, constructor, prepared)
        reporter.log(
            f"warm start: continuing from {version_ref(str(spec.warm_start_uri))}'s weights"
        )
    k = _library(api)
    hooks = inspect.getmodule(constructor)
    history = dl.History(reporter, settings.epochs)
    train_data = _dataset(prepared.train, settings, shuffle=True)
    reporter.log(
        f"training {spec.model_reference} ({'Keras 2 / tf-keras' if api == 'tf_keras' else 'Keras 3'}) "
        f"for {settings.epochs} epoch(s), batch size {settings.batch_size}"
    )
    started = time.perf_counter()
    custom_loop = getattr(model, "sqlflow_train_loop", None)
    stopper = None
    if callable(custom_loop):  # SQLFlow: the model trains itself
        if settings.early_stop:
            reporter.log("train.early_stop ignored: the model's sqlflow_train_loop owns training")
        if weights_of(network) is not network:  # SQLFlow's dict keyed by column name
            keys = ZooKeys.of(prepared.plan)
            train_data = train_data.map(lambda x, y: (keys.split(x), y))
        call_hook(custom_loop, train_data, epochs=settings.epochs, verbose=settings.verbose)
    else:
        if target is None:
            raise StepError(
                f"{spec.model_reference}: training without LABEL needs a sqlflow_train_loop method"
            )
        with scope():  # the optimizer's variables mirrored like the network's
            _compile(network, hooks, settings, target, k, prepared)
        validation = (
            _dataset(prepared.validation, settings, shuffle=False) if prepared.validation else None
        )
        stopper = dl.EarlyStopping.of(settings, validation is not None)
        callbacks = [_progress(k, history)]
        early = _early_stopping(k, stopper, reporter) if stopper is not None else None
        if early is not None:
            callbacks.append(early)
        initial = 0
        checkpoints = dl.Checkpoints.of(spec, settings, reporter, dl.checkpoints.KERAS_FILE)
        if checkpoints is not None:  # a killed try's checkpoint first, then new ones
            resumed = dl.checkpoints.resume_keras(checkpoints, network, stopper)
            initial = resumed.epoch
            history.rows.extend(resumed.history or [])
            if early is not None and resumed.best is not None:
                early.best_weights = resumed.best
            callbacks.append(_checkpointing(k, checkpoints, history, stopper, early, settings))
        network.fit(
            train_data,
            initial_epoch=initial,
            epochs=settings.epochs,
            verbose=settings.verbose,
            validation_data=validation,
            callbacks=[*callbacks, *_max_steps(k, settings)],
            shuffle=False,  # the dataset is shuffled (seeded) already
        )
    seconds = time.perf_counter() - started
    predictor = _predictor(network, prepared.plan, target, hooks)
    names = requested_names(spec)  # validation.metrics: on held-out rows when there are
    held_out = prepared.validation is not None
    metrics = _metrics(predictor, prepared.train, target, () if held_out else names)
    if prepared.validation is not None:
        metrics.update(
            {
                f"val_{k_}": v
                for k_, v in _metrics(predictor, prepared.validation, target, names).items()
            }
        )
    metrics.update(history.losses(stopper.best_epoch if stopper else None))
    reporter.log("training metrics: " + ", ".join(f"{n}={v:.4f}" for n, v in metrics.items()))
    early = stopper.summary() if stopper else {}
    _save(spec, reporter, network, model, kwargs, api, prepared, metrics, history, seconds, early)


def _load_base_weights(
    spec: StepSpec, base: Mapping[str, Any], network: Any, constructor: Any, prepared: dl.Prepared
) -> None:
    """The base version's weights into ``network``, every one of them and in its shape:
    a Keras 2 (tf-keras) version's ``model.weights.h5`` loaded into the built network, a
    Keras 3 version's ``model.keras`` loaded (``safe_mode``) and its weights copied."""
    uri = str(spec.warm_start_uri).rstrip("/")
    probe = next(iter(prepared.train.chunks()))
    network(inputs_of(dl.take(probe, np.arange(min(probe.rows, 1))).encoded), training=False)
    with tempfile.TemporaryDirectory() as tmp:
        name = KERAS2_WEIGHTS if base.get("format") == KERAS2_FORMAT else KERAS3_ARTIFACT
        path = Path(tmp) / name
        with fsspec.open(f"{uri}/{name}", "rb") as f:
            path.write_bytes(f.read())
        try:
            if name == KERAS2_WEIGHTS:
                weights_of(network).load_weights(str(path))
                return
            weights = _keras3_network(path, constructor).get_weights()
            mine = network.get_weights()
            if len(weights) != len(mine) or any(
                a.shape != b.shape for a, b in zip(weights, mine, strict=True)
            ):
                raise ValueError(
                    f"{len(weights)} arrays of shapes {[a.shape for a in weights]} there, "
                    f"{len(mine)} of shapes {[b.shape for b in mine]} here"
                )
            network.set_weights(weights)
        except (ValueError, KeyError) as e:
            raise StepError(
                f"{version_ref(uri)}'s weights do not fit the network this statement builds: "
                f"{str(e).splitlines()[0]}"
            ) from None


def _keras3_network(path: Path, constructor: Any) -> Any:
    """A saved ``model.keras`` network (``safe_mode``: no code runs from the file)."""
    import keras

    from ._keras_features import KerasFeatures

    custom: dict[str, type] = {"KerasFeatures": KerasFeatures}
    if isinstance(constructor, type):
        custom[constructor.__name__] = constructor
    return keras.saving.load_model(str(path), safe_mode=True, compile=False, custom_objects=custom)


def mirrored_scope(
    settings: dl.TrainSettings, reporter: Reporter
) -> Callable[[], contextlib.AbstractContextManager[Any]]:
    """Where the network and its optimizer are built: ``tf.distribute.MirroredStrategy``'s
    scope over the visible GPUs when the statement asks for several (``resources.gpu > 1``)
    and the pod has them — each minibatch split among them, gradients all-reduced — else
    no scope at all. (Several pods, ``train.num_workers``, are PyTorch's: SQLML440.)"""
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    if settings.gpus <= 1 or len(gpus) < 2:
        return contextlib.nullcontext
    strategy = tf.distribute.MirroredStrategy()
    reporter.log(
        f"MirroredStrategy over {strategy.num_replicas_in_sync} GPUs: each minibatch of "
        f"{settings.batch_size} split among them"
    )
    return strategy.scope


def _configure_devices(settings: dl.TrainSettings, reporter: Reporter) -> None:
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    wants_gpu = (settings.device or "").startswith(("cuda", "gpu")) or (
        settings.gpus > 0 and not settings.device
    )
    if not wants_gpu and gpus:  # as with PyTorch: a GPU only when the statement asks
        tf.config.set_visible_devices([], "GPU")
        gpus = []
    if wants_gpu and settings.device and not gpus:
        raise StepError(f"train.device = '{settings.device}' but this step sees no GPU")
    if settings.amp:
        if gpus:
            import importlib.util

            # Both APIs: a SQLFlow model builds tf-keras layers, a Keras 3 model keras ones.
            for name in ("keras", "tf_keras"):
                if importlib.util.find_spec(name) is not None:
                    importlib.import_module(name).mixed_precision.set_global_policy("mixed_float16")
            reporter.log("mixed precision: mixed_float16")
        else:
            reporter.log("train.amp ignored: mixed precision needs a GPU")


def _seed(seed: int) -> None:
    """Python's, numpy's and TensorFlow's seeds — before the model is built, because
    Keras initializes weights when layers are created (tf-keras uses TensorFlow's seed)."""
    import keras

    keras.utils.set_random_seed(seed)


def _dataset(feed: dl.Feed, settings: dl.TrainSettings, shuffle: bool) -> Any:
    """A ``tf.data.Dataset`` of ``(inputs dict, labels)`` minibatches: from memory when the
    feed keeps its rows, else generated from the Parquet batches each epoch."""
    import tensorflow as tf

    cached = feed.arrays()
    if cached is not None:
        data = tf.data.Dataset.from_tensor_slices((inputs_of(cached.encoded), cached.labels))
        if shuffle and settings.shuffle:
            data = data.shuffle(
                max(cached.rows, 1), seed=settings.seed, reshuffle_each_iteration=True
            )
        return data.batch(settings.batch_size)
    rng = np.random.default_rng(settings.seed)
    first = next(feed.chunks())  # dtypes and widths; bags vary in length
    signature = (
        {
            n: tf.TensorSpec(
                [None, None] if n.startswith("bag_") else [None, a.shape[1]], tf.as_dtype(a.dtype)
            )
            for n, a in inputs_of(first.encoded).items()
        },
        tf.TensorSpec(
            [None], tf.as_dtype(first.labels.dtype if first.labels is not None else np.float32)
        ),
    )

    def generate() -> Any:
        for arrays in feed.epoch(rng if shuffle else np.random.default_rng(0)):
            yield inputs_of(arrays.encoded), arrays.labels

    return tf.data.Dataset.from_generator(generate, output_signature=signature)


def _compile(
    network: Any,
    hooks: Any,
    settings: dl.TrainSettings,
    target: dl.Target,
    k: Any,
    prepared: dl.Prepared,
) -> None:
    optimizer_factory = getattr(hooks, "optimizer", None) if hooks else None
    if callable(optimizer_factory):
        kwargs = {"learning_rate": settings.learning_rate} if settings.learning_rate else {}
        optimizer = call_hook(optimizer_factory, **kwargs)
    elif settings.optimizer:  # SQLFlow's model.optimizer = RMSprop, optimizer.* its arguments
        config = {"learning_rate": settings.learning_rate or 1e-3, **settings.optimizer_args}
        names = {n.lower(): n for n in dir(k.optimizers) if n[:1].isupper()}
        class_name = names.get(settings.optimizer)
        if class_name is None or class_name == "Optimizer":
            raise StepError(
                f"model.optimizer = {settings.optimizer!r} is no Keras optimizer; write one of "
                + ", ".join(sorted(n for n in names.values() if n not in ("Optimizer", "Loss")))
            )
        try:
            optimizer = getattr(k.optimizers, class_name)(**config)
        except (TypeError, ValueError) as e:
            raise StepError(
                f"cannot build the {class_name} optimizer from optimizer.*: {e}"
            ) from None
    else:
        optimizer = k.optimizers.Adam(learning_rate=settings.learning_rate or 1e-3)
    loss = getattr(hooks, "loss", None) if hooks else None
    metrics: list[Any] = []
    if not callable(loss):
        if target.task == "classification":
            sample = prepared.train.arrays()
            probe = (
                next(iter(prepared.train.epoch(np.random.default_rng(0))))
                if sample is None
                else dl.take(sample, np.arange(min(sample.rows, 64)))
            )
            outputs = np.asarray(network(inputs_of(probe.encoded), training=False))
            from_logits = not dl.are_probabilities(outputs)
            if outputs.shape[-1] == 1:
                loss = k.losses.BinaryCrossentropy(from_logits=from_logits)
            else:
                loss = k.losses.SparseCategoricalCrossentropy(from_logits=from_logits)
            metrics = ["accuracy"]
        else:
            loss = k.losses.MeanSquaredError()
    network.compile(optimizer=optimizer, loss=loss, metrics=metrics)


def _max_steps(k: Any, settings: dl.TrainSettings) -> list[Any]:
    """SQLFlow's ``train.max_steps``: training stops after that many minibatches in all."""
    if settings.max_steps is None:
        return []
    limit = settings.max_steps

    class MaxSteps(k.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.steps = 0

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            self.steps += 1
            if self.steps >= limit:
                self.model.stop_training = True

    return [MaxSteps()]


def _checkpointing(
    k: Any,
    checkpoints: dl.Checkpoints,
    history: dl.History,
    stopper: dl.EarlyStopping | None,
    early: Any,
    settings: dl.TrainSettings,
) -> Any:
    """``train.checkpoint_every``: the training's state after every N epochs (after early
    stopping's own ``on_epoch_end``: its best epoch goes with it)."""

    class Checkpointing(k.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            if self.model.stop_training or not checkpoints.due(epoch + 1, settings.epochs):
                return
            dl.checkpoints.save_keras(
                checkpoints,
                epoch + 1,
                self.model,
                history=history.rows,
                stopper=stopper,
                best=early.best_weights if early is not None else None,
            )

    return Checkpointing()


def _progress(k: Any, history: dl.History) -> Any:
    class Progress(k.callbacks.Callback):
        """Per-epoch loss and validation metrics into the step's log and history."""

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.began = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            values = {str(n): float(v) for n, v in (logs or {}).items() if np.ndim(v) == 0}
            history.record(epoch + 1, time.perf_counter() - self.began, **values)

    return Progress()


def _early_stopping(k: Any, stopper: dl.EarlyStopping, reporter: Reporter) -> Any:
    class EarlyStop(k.callbacks.Callback):
        """``train.early_stop`` by the rule PyTorch steps use: stop after ``patience``
        epochs without improvement and put the best epoch's weights back."""

        best_weights: Any = None

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            values = {str(n): float(v) for n, v in (logs or {}).items() if np.ndim(v) == 0}
            improved, stop = stopper.update(epoch + 1, values)
            if improved:
                self.best_weights = self.model.get_weights()
            if stop:
                reporter.log(
                    f"early stopping after epoch {epoch + 1}: {stopper.metric} has not "
                    f"improved for {stopper.patience} epoch(s); keeping epoch "
                    f"{stopper.best_epoch}'s weights"
                )
                self.model.stop_training = True

        def on_train_end(self, logs: Any = None) -> None:
            if self.best_weights is not None:
                self.model.set_weights(self.best_weights)

    return EarlyStop()


def _predictor(
    network: Any, plan: FeaturePlan, target: dl.Target | None, hooks: Any
) -> dl.DLPredictor:
    def forward(encoded: Encoded) -> np.ndarray:
        inputs = inputs_of(encoded)
        outputs = []
        rows = encoded.dense.shape[0]
        step = 8192
        for start in range(0, rows, step):
            part = {n: a[start : start + step] for n, a in inputs.items()}
            outputs.append(np.asarray(network(part, training=False), dtype=np.float32))
        if not outputs:
            return np.zeros((0, 1), np.float32)
        return np.concatenate(outputs)

    prepare = getattr(hooks, "prepare_prediction_column", None) if hooks else None
    return dl.DLPredictor(plan, target, forward, prepare if callable(prepare) else None)


def _metrics(
    predictor: dl.DLPredictor, feed: dl.Feed, target: dl.Target | None, names: Sequence[str] = ()
) -> dict[str, float]:
    outs, labels = [], []
    for arrays in feed.chunks():
        outs.append(predictor.forward(arrays.encoded))
        if arrays.labels is not None:
            labels.append(arrays.labels)
    if not outs or not labels:
        return {}
    return dl.scores(target, np.concatenate(labels), np.concatenate(outs), names)


def _save(
    spec: StepSpec,
    reporter: Reporter,
    network: Any,
    model: Any,
    kwargs: dict[str, Any],
    api: str,
    prepared: dl.Prepared,
    metrics: dict[str, float],
    history: dl.History,
    seconds: float,
    early_stopping: dict[str, Any],
) -> None:
    import tensorflow as tf

    constructor_args = {k: v for k, v in kwargs.items() if k != "feature_columns"}
    with tempfile.TemporaryDirectory() as tmp:
        if api == "tf_keras":
            path = Path(tmp) / KERAS2_WEIGHTS
            weights_of(network).save_weights(str(path))
            files = {KERAS2_WEIGHTS: path.read_bytes()}
            fmt = KERAS2_FORMAT
        else:
            path = Path(tmp) / KERAS3_ARTIFACT
            try:
                network.save(str(path))
            except (NotImplementedError, TypeError, ValueError) as e:
                raise StepError(
                    f"{spec.model_reference} cannot be saved as a .keras file: {e}; give the "
                    "class a get_config() and @keras.saving.register_keras_serializable()"
                ) from None
            files = {KERAS3_ARTIFACT: path.read_bytes()}
            fmt = KERAS3_FORMAT
    k = _library(api)
    dl.publish_training(
        spec,
        reporter,
        prepared,
        dl.Trained(
            flavor="keras",
            format=fmt,
            files=files,
            constructor=constructor_args,
            parameters=int(network.count_params()),
            frameworks={
                "tensorflow": tf.__version__,
                ("tf_keras" if api == "tf_keras" else "keras"): k.__version__,
            },
            metrics=metrics,
            history=history,
            seconds=seconds,
            early_stopping=early_stopping,
            extra_signature={ZOO_INPUTS: PER_COLUMN} if weights_of(network) is not network else {},
        ),
    )


# -- prediction -----------------------------------------------------------------------


def load_predictor(spec: StepSpec) -> dl.DLPredictor:
    _quiet()
    signature = read_signature(spec.model_uri)
    fmt = signature.get("format")
    base = spec.model_uri.rstrip("/")
    if fmt not in (KERAS2_FORMAT, KERAS3_FORMAT):
        return _registered(spec, signature)
    constructor = resolve(str(signature["model_class"]))
    plan = FeaturePlan.from_json(signature["feature_plan"])
    target = dl.Target.from_json(signature["target"]) if signature.get("target") else None
    hooks = inspect.getmodule(constructor)
    if fmt == KERAS2_FORMAT:
        network, _, _, _ = build(
            constructor,
            str(signature["model_class"]),
            dict(signature.get("constructor") or {}),
            plan,
            target,
            per_column=signature.get(ZOO_INPUTS) == PER_COLUMN,
        )
        empty = dl.Arrays(plan.encode(_empty_like(spec, signature)), None)
        network(inputs_of(empty.encoded), training=False)  # builds the variables
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / KERAS2_WEIGHTS
            with fsspec.open(f"{base}/{KERAS2_WEIGHTS}", "rb") as f:
                path.write_bytes(f.read())
            try:
                weights_of(network).load_weights(str(path))
            except (ValueError, KeyError) as e:
                raise StepError(
                    f"the saved weights do not fit {signature['model_class']} as it is now "
                    f"(was its code changed since training?): {str(e).splitlines()[0]}"
                ) from None
    else:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / KERAS3_ARTIFACT
            with fsspec.open(f"{base}/{KERAS3_ARTIFACT}", "rb") as f:
                path.write_bytes(f.read())
            network = _keras3_network(path, constructor)
    return _predictor(network, plan, target, hooks)


def _empty_like(spec: StepSpec, signature: Mapping[str, Any]) -> Any:
    """One row of the input, enough to build a subclassed model's variables: the step's
    first row, or — with no input (``sqlml serve``) — a row of zeros and empty strings
    typed as the signature's features, which only builds the variables."""
    from ..data import input_file
    from ..scoring import rows_table

    if not spec.input_uri:
        fields = [
            (str(f["name"]), str(f.get("type", "double")))
            for f in signature.get("features") or []
            if isinstance(f, dict)
        ]
        return rows_table([{name: "" if "string" in kind else 0 for name, kind in fields}], fields)
    for batch in input_file(spec).batches(1):
        return batch.slice(0, 1)
    raise StepError("the SELECT returned no rows to predict")


def _registered(spec: StepSpec, signature: Mapping[str, Any]) -> dl.DLPredictor:
    """A ``.keras`` file registered with CREATE MODEL: every selected column but the label,
    in order, as one float32 matrix."""
    import keras

    from ..data import input_file

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / KERAS3_ARTIFACT
        with fsspec.open(f"{spec.model_uri.rstrip('/')}/{KERAS3_ARTIFACT}", "rb") as f:
            path.write_bytes(f.read())
        model = keras.saving.load_model(str(path), safe_mode=True, compile=False)
    schema = input_file(spec).schema()
    exclude = {c for c in (spec.label, spec.prediction_column) if c}
    columns = [{"function": "COLUMN", "name": c} for c in spec.features] if spec.features else None
    plan = FeaturePlan.infer(columns, schema, exclude).fit([], normalize=False)

    def forward(encoded: Encoded) -> np.ndarray:
        return np.asarray(model(encoded.dense, training=False), dtype=np.float32)

    return dl.DLPredictor(plan, None, forward)


def predict(spec: StepSpec, reporter: Reporter) -> None:
    dl.predict_step(spec, load_predictor(spec), reporter)


def evaluate(spec: StepSpec, reporter: Reporter) -> None:
    scoring.evaluate(spec, load_predictor(spec), reporter)


def explain(spec: StepSpec, reporter: Reporter) -> None:
    scoring.explain(spec, load_predictor(spec), reporter)
