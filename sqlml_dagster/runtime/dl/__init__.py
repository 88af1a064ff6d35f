"""What the deep-learning flavors (PyTorch, Keras) share: the training settings written in
``WITH train.* / validation.*``, the label's task and classes, and the data feed that turns
Parquet into encoded numpy batches — framework-neutral, so each flavor only turns arrays
into its own tensors.

The feed streams: one pass fits the feature plan (vocabularies, normalization) and scans
the label; then each epoch reads the Parquet file again in record batches. When the
encoded data is small (``CACHE_BYTES``) it is kept in memory after the first epoch, which
is what makes tiny tables train fast; larger tables never are, so a step's memory does not
grow with the table.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..contract import PredictionResult, TrainingResult
from ..contract.spec import StepSpec
from . import Reporter, StepError
from .data import iter_batches, read_schema
from .features import Encoded, FeaturePlan

#: Encoded training data up to this size stays in memory between epochs.
CACHE_BYTES = 512 * 1024 * 1024
#: Parquet record batch size of the feed (rows); minibatches are cut from these.
READ_ROWS = 65_536
#: An epoch gathers the shuffled rows of about this many rows' minibatches at a time.
GATHER_ROWS = 65_536
#: More distinct labels than this is not a classification problem we will guess at.
MAX_CLASSES = 10_000
#: An integer label with at most this many distinct values is taken as classes.
MAX_GUESSED_CLASSES = 100
CLASSIFIERS = ("DNNClassifier", "LinearClassifier")
REGRESSORS = ("DNNRegressor", "LinearRegressor")


# -- settings -------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainSettings:
    """``WITH train.epoch = 10, train.batch_size = 32, validation.split = 0.2, …``."""

    epochs: int = 10
    batch_size: int = 32
    verbose: int = 0
    seed: int = 0
    learning_rate: float | None = None
    shuffle: bool = True
    normalize: bool = True
    device: str | None = None
    amp: bool = False
    gpus: float = 0.0
    validation_split: float = 0.0
    task: str | None = None

    @classmethod
    def of(cls, spec: StepSpec) -> TrainSettings:
        def number(namespace: str, key: str, default: Any, kind: Callable[[Any], Any]) -> Any:
            value = spec.param(namespace, key, default)
            if value is None:
                return default
            try:
                return kind(value)
            except (TypeError, ValueError):
                raise StepError(f"{namespace}.{key} must be a number, found {value!r}") from None

        epochs = number("train", "epoch", None, int)
        if epochs is None:
            epochs = number("train", "epochs", cls.epochs, int)
        settings = cls(
            epochs=epochs,
            batch_size=number("train", "batch_size", cls.batch_size, int),
            verbose=number("train", "verbose", cls.verbose, int),
            seed=spec.seed,
            learning_rate=number("train", "learning_rate", None, float),
            shuffle=bool(spec.param("train", "shuffle", True)),
            normalize=bool(spec.param("train", "normalize", True)),
            device=spec.param("train", "device"),
            amp=bool(spec.param("train", "amp", False)),
            gpus=_quantity(spec.param("resources", "gpu", 0)),
            validation_split=number("validation", "split", 0.0, float),
            task=spec.param("train", "task"),
        )
        if settings.epochs < 1:
            raise StepError(f"train.epoch must be at least 1, found {settings.epochs}")
        if settings.batch_size < 1:
            raise StepError(f"train.batch_size must be at least 1, found {settings.batch_size}")
        if not 0.0 <= settings.validation_split < 1.0:
            raise StepError(
                f"validation.split is the fraction of rows held out, in [0, 1); found "
                f"{settings.validation_split}"
            )
        if settings.task not in (None, "classification", "regression"):
            raise StepError(
                f"train.task must be 'classification' or 'regression', found {settings.task!r}"
            )
        return settings


def _quantity(value: Any) -> float:
    """``resources.gpu = 1`` or ``"1"``: whole GPUs, read as Kubernetes reads them."""
    from ..contract import QuantityError, parse_quantity

    try:
        return float(parse_quantity(value or 0, whole=True))
    except QuantityError as e:
        raise StepError(f"resources.gpu: {e}; {e.hint}") from None


# -- the label ------------------------------------------------------------------------


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


class _LabelScan:
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


# -- the feed -------------------------------------------------------------------------


@dataclass
class Arrays:
    """Encoded rows: features as numpy arrays, labels encoded by the target."""

    encoded: Encoded
    labels: np.ndarray | None

    @property
    def rows(self) -> int:
        return int(self.encoded.dense.shape[0])


@dataclass
class Feed:
    """Training (and validation) data as encoded batches, re-readable once per epoch."""

    uri: str
    plan: FeaturePlan
    target: Target | None
    settings: TrainSettings
    #: "train" keeps rows outside the validation split, "validation" the rows in it,
    #: "all" every row.
    part: str = "all"
    _cache: Arrays | None = field(default=None, repr=False)
    #: The rows of this part as read by the fitting pass, when they were small enough to
    #: keep: the first epoch encodes them instead of reading the file a second time.
    preloaded: list[pa.RecordBatch] | None = field(default=None, repr=False)
    _cacheable: bool = True

    def arrays(self) -> Arrays | None:
        """Every row in memory, when the data is small enough to keep (else ``None``)."""
        if self._cache is None and self._cacheable:
            parts, size = [], 0
            for part in self._read():
                size += part.encoded.dense.nbytes + sum(b.nbytes for b in part.encoded.bags)
                if size > CACHE_BYTES:  # stop before holding a table larger than memory
                    self._cacheable = False
                    return None
                parts.append(part)
            self._cache = concat(parts, self.plan)
        return self._cache

    def chunks(self) -> Iterator[Arrays]:
        """Every row in large unshuffled chunks: for scoring, where minibatches only cost."""
        cached = self.arrays()
        if cached is None:
            yield from self._read()
            return
        for start in range(0, cached.rows, READ_ROWS):
            yield _slice(cached, start, start + READ_ROWS)

    def epoch(self, rng: np.random.Generator) -> Iterator[Arrays]:
        """One epoch in minibatches of ``settings.batch_size``, shuffled when asked."""
        size = self.settings.batch_size
        cached = self.arrays()
        sources = [cached] if cached is not None else self._read()
        for source in sources:
            order = (
                rng.permutation(source.rows) if self.settings.shuffle else np.arange(source.rows)
            )
            # Gather the rows of many minibatches in one numpy call and cut the minibatches
            # from that as views: the same rows in the same order as one ``take`` each, at a
            # fraction of the per-minibatch cost that dominates small batch sizes.
            span = size * max(1, GATHER_ROWS // size)
            for first in range(0, source.rows, span):
                gathered = take(source, order[first : first + span], trim=False)
                for start in range(0, gathered.rows, size):
                    yield _slice(gathered, start, start + size)

    def _read(self) -> Iterator[Arrays]:
        if self.preloaded is not None:
            batches, self.preloaded = self.preloaded, None  # encoded once, then cached
            for kept in batches:
                yield encode(kept, self.plan, self.target)
            return
        for index, batch in enumerate(iter_batches(self.uri, READ_ROWS)):
            if batch.num_rows == 0:
                continue
            if self.part != "all":
                held_out = _holdout(batch.num_rows, index, self.settings)
                batch = batch.filter(pa.array(held_out if self.part == "validation" else ~held_out))
                if batch.num_rows == 0:
                    continue
            yield encode(batch, self.plan, self.target)


def _holdout(rows: int, batch_index: int, settings: TrainSettings) -> np.ndarray:
    """Which rows of a read batch ``validation.split`` holds out: seeded, so every epoch
    (and the validation pass) draws the same rows."""
    if settings.validation_split <= 0:
        return np.zeros(rows, dtype=bool)
    rng = np.random.default_rng([settings.seed, batch_index])
    return rng.random(rows) < settings.validation_split


def encode(data: pa.Table | pa.RecordBatch, plan: FeaturePlan, target: Target | None) -> Arrays:
    labels = None
    if target is not None and target.name in data.schema.names:
        labels = target.encode(data.column(target.name))
    return Arrays(plan.encode(data), labels)


def concat(parts: Sequence[Arrays], plan: FeaturePlan) -> Arrays:
    """One Arrays of many; bags are padded (-1) to the longest."""
    if not parts:
        return Arrays(
            Encoded(
                np.zeros((0, plan.dense_width), np.float32),
                tuple(np.zeros((0, 1), np.int64) for _ in plan.bags),
            ),
            None,
        )
    dense = np.concatenate([p.encoded.dense for p in parts])
    bags = []
    for i in range(len(plan.bags)):
        width = max(p.encoded.bags[i].shape[1] for p in parts)
        bags.append(
            np.concatenate(
                [
                    np.pad(
                        p.encoded.bags[i],
                        ((0, 0), (0, width - p.encoded.bags[i].shape[1])),
                        constant_values=-1,
                    )
                    for p in parts
                ]
            )
        )
    labels = None
    if all(p.labels is not None for p in parts):
        labels = np.concatenate([p.labels for p in parts if p.labels is not None])
    return Arrays(Encoded(dense, tuple(bags)), labels)


def take(arrays: Arrays, rows: np.ndarray, trim: bool = True) -> Arrays:
    bags = tuple(b[rows] for b in arrays.encoded.bags)
    return Arrays(
        Encoded(arrays.encoded.dense[rows], _trimmed(bags) if trim else bags),
        None if arrays.labels is None else arrays.labels[rows],
    )


def _slice(arrays: Arrays, start: int, stop: int) -> Arrays:
    """Rows ``start:stop`` as views (bags trimmed, as ``take`` trims them)."""
    bags = _trimmed(tuple(b[start:stop] for b in arrays.encoded.bags))
    return Arrays(
        Encoded(arrays.encoded.dense[start:stop], bags),
        None if arrays.labels is None else arrays.labels[start:stop],
    )


def _trimmed(bags: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """Bags without the padding columns no row uses, so embeddings do less work."""
    trimmed = []
    for bag in bags:
        used = int((bag >= 0).sum(axis=1).max()) if bag.size else 0
        trimmed.append(bag[:, : max(used, 1)])
    return tuple(trimmed)


# -- preparing a training step --------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    """What a flavor needs to build and train a model: the fitted plan, the target, the
    training and validation feeds, and the rows each holds."""

    plan: FeaturePlan
    target: Target | None
    train: Feed
    validation: Feed | None
    settings: TrainSettings
    #: Training rows (without those ``validation.split`` holds out).
    rows: int


def prepare(spec: StepSpec, reporter: Reporter, group: str = "feature_columns") -> Prepared:
    """Fit the feature plan and scan the label in one streaming pass over the training data."""
    settings = TrainSettings.of(spec)
    schema = read_schema(spec.input_uri)
    groups = spec.columns or {}
    unknown = [g for g in groups if g != group]
    if unknown:
        raise StepError(
            f"COLUMN … FOR {unknown[0]}: this model takes its features in one argument "
            f"('{group}'); remove FOR or write one COLUMN clause"
        )
    exclude = {spec.label} if spec.label else set()
    columns = groups.get(group)
    if columns is None and spec.features:  # a spec naming its features, as for scikit-learn
        columns = [{"function": "COLUMN", "name": name} for name in spec.features]
    plan = FeaturePlan.infer(columns, schema, exclude)
    scan = _LabelScan(spec.label) if spec.label else None

    counted = [0]
    kept: list[pa.RecordBatch] | None = []  # the training rows, while they fit the cache
    kept_bytes = 0

    def batches() -> Iterator[pa.RecordBatch]:
        nonlocal kept, kept_bytes
        for index, batch in enumerate(iter_batches(spec.input_uri, READ_ROWS)):
            if settings.validation_split > 0 and not spec.validation_uri:
                batch = batch.filter(pa.array(~_holdout(batch.num_rows, index, settings)))
            counted[0] += batch.num_rows
            if kept is not None:
                kept_bytes += batch.nbytes
                if kept_bytes > CACHE_BYTES:
                    kept = None
                elif batch.num_rows:
                    kept.append(batch)
            if scan is not None:
                scan.add(batch)
            yield batch

    started = time.perf_counter()
    stream = batches()
    plan = plan.fit(stream, normalize=settings.normalize)
    for _ in stream:  # a plan that learns nothing reads no batch: the label scan still must
        pass
    rows = counted[0]
    if rows == 0:
        raise StepError("the training SELECT returned no rows")
    target = (
        scan.target(settings, spec.model_reference, spec.params.get("model", {}))
        if scan is not None
        else None
    )
    reporter.log(
        f"fitted features in {time.perf_counter() - started:.2f}s: "
        f"{len(plan.source_columns)} column(s) → {plan.dense_width} dense"
        + (f" + {len(plan.bags)} embedding(s)" if plan.bags else "")
        + (f"; {target.task} of '{target.name}'" if target else "")
        + (f" with classes {list(target.classes)[:10]}" if target and target.classes else "")
    )
    split = settings.validation_split > 0 and not spec.validation_uri
    train = Feed(
        spec.input_uri, plan, target, settings, part="train" if split else "all", preloaded=kept
    )
    validation = None
    if spec.validation_uri:
        validation = Feed(spec.validation_uri, plan, target, settings)
    elif split:
        validation = Feed(spec.input_uri, plan, target, settings, part="validation")
    return Prepared(plan, target, train, validation, settings, rows)


# -- metrics and progress -------------------------------------------------------------


def scores(target: Target | None, labels: np.ndarray, outputs: np.ndarray) -> dict[str, float]:
    """Accuracy/F1 or R2/RMSE/MAE of raw model outputs (logits or probabilities; values)."""
    if target is None or labels.size == 0:
        return {}
    from sklearn import metrics

    if target.task == "classification":
        predicted = class_indices(outputs, target)
        return {
            "accuracy": float(metrics.accuracy_score(labels, predicted)),
            "f1_macro": float(metrics.f1_score(labels, predicted, average="macro")),
        }
    values = target.values(outputs)
    labels = labels.astype(np.float64) * target.std + target.mean
    return {
        "r2": float(metrics.r2_score(labels, values)),
        "rmse": float(math.sqrt(metrics.mean_squared_error(labels, values))),
        "mae": float(metrics.mean_absolute_error(labels, values)),
    }


def class_indices(outputs: np.ndarray, target: Target) -> np.ndarray:
    """argmax over class outputs; a single sigmoid output of a binary classifier thresholds."""
    outputs = np.asarray(outputs)
    if outputs.ndim == 1 or outputs.shape[-1] == 1:
        return (outputs.reshape(-1) > (0.5 if _probabilities(outputs) else 0.0)).astype(np.int64)
    return np.asarray(outputs.argmax(axis=-1), dtype=np.int64)


def probabilities(outputs: np.ndarray, target: Target) -> np.ndarray:
    """Class probabilities of raw outputs: kept when they already are (softmax/sigmoid
    layers), else softmax of logits; a single output is P(class 1)."""
    outputs = np.asarray(outputs, dtype=np.float64)
    if outputs.ndim == 1 or outputs.shape[-1] == 1:
        p = outputs.reshape(-1)
        if not _probabilities(p):
            p = 1.0 / (1.0 + np.exp(-p))
        return np.column_stack([1 - p, p])
    if _probabilities(outputs) and np.allclose(outputs.sum(axis=-1), 1.0, atol=1e-3):
        return outputs
    shifted = outputs - outputs.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return np.asarray(e / e.sum(axis=-1, keepdims=True))


def _probabilities(outputs: np.ndarray) -> bool:
    return bool(outputs.size) and float(outputs.min()) >= 0.0 and float(outputs.max()) <= 1.0


@dataclass
class History:
    """Per-epoch loss and validation metrics, logged as progress and returned as a table."""

    reporter: Reporter
    epochs: int
    rows: list[dict[str, float]] = field(default_factory=list)

    def record(self, epoch: int, seconds: float, **values: float | None) -> None:
        row: dict[str, float] = {"epoch": epoch, "seconds": round(seconds, 4)}
        row.update({k: float(v) for k, v in values.items() if v is not None})
        self.rows.append(row)
        shown = ", ".join(f"{k}={v:.4f}" for k, v in row.items() if k not in ("epoch", "seconds"))
        self.reporter.log(f"epoch {epoch}/{self.epochs}: {shown} ({seconds:.2f}s)")


def prediction_columns(
    column: str, target: Target | None, proba: np.ndarray | None
) -> list[tuple[str, pa.Array]]:
    """``predict.probabilities = true``: one ``<column>_probability_<class>`` per class."""
    if target is None or proba is None or not target.classes:
        return []
    return [
        (f"{column}_probability_{value}", pa.array(proba[:, i], pa.float64()))
        for i, value in enumerate(target.classes)
    ]


def model_kwargs(
    constructor: Callable[..., Any],
    params: Mapping[str, Any],
    offered: Mapping[str, Any],
    reference: str,
) -> dict[str, Any]:
    """``WITH model.*`` checked against the constructor, plus what the runtime offers
    (``input_dim``, ``n_classes``, ``feature_columns``…) when the constructor takes it and
    the statement did not set it."""
    from ..contract import ConstructorSignature
    from .flavors._register import unknown_parameters

    signature = ConstructorSignature.of(constructor)  # what `sqlml check` checks too
    if signature is None:
        return dict(params)
    unknown = signature.unknown(params)
    if unknown:
        raise unknown_parameters(reference, unknown, signature.parameters)
    kwargs = dict(params)
    for name, value in offered.items():
        if name in signature.parameters and name not in kwargs:
            kwargs[name] = value
    missing = signature.missing(kwargs)
    if missing:
        raise StepError(
            f"{reference} needs {', '.join(missing)}: write WITH "
            + ", ".join(f"model.{m} = …" for m in missing)
        )
    return kwargs


# -- prediction -----------------------------------------------------------------------


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
        return np.asarray(self.forward(self.plan.encode(data)))

    def predict(self, data: pa.Table | pa.RecordBatch) -> np.ndarray:
        return self.labels(self.outputs(data))

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


def predict_step(spec: StepSpec, predictor: DLPredictor, reporter: Reporter) -> None:
    """Score the SELECT's rows batch by batch into ``output_uri``: the selected columns
    (minus one named like the prediction column), the prediction, and — with
    ``predict.probabilities = true`` — a probability column per class."""
    from contextlib import ExitStack

    from .data import parquet_writer

    if not spec.output_uri or not spec.prediction_column:
        raise StepError("a predict step needs output_uri and prediction_column")
    column = spec.prediction_column
    with_proba = bool(spec.param("predict", "probabilities", False))
    if with_proba and (predictor.target is None or predictor.target.task != "classification"):
        raise StepError("predict.probabilities needs a classifier; this model is a regressor")
    rows = 0
    started = time.perf_counter()
    with ExitStack() as stack:
        writer = None
        for batch in iter_batches(spec.input_uri):
            if batch.num_rows == 0:
                continue
            outputs = predictor.outputs(batch)
            labels = predictor.labels(outputs)
            kept = [f for f in batch.schema if f.name != column]
            predicted = pa.array(labels.tolist() if labels.dtype == object else labels)
            extra = (
                prediction_columns(
                    column, predictor.target, probabilities(outputs, predictor.target)
                )
                if with_proba and predictor.target is not None
                else []
            )
            out = pa.RecordBatch.from_arrays(
                [batch.column(f.name) for f in kept] + [predicted] + [a for _, a in extra],
                schema=pa.schema(
                    [*kept, pa.field(column, predicted.type)]
                    + [pa.field(n, a.type) for n, a in extra]
                ),
            )
            if writer is None:
                writer = stack.enter_context(parquet_writer(spec.output_uri, out.schema))
            writer.write_batch(out)
            rows += batch.num_rows
        if writer is None:
            schema = read_schema(spec.input_uri)
            kind = (
                pa.type_for_alias(predictor.target.arrow_type)
                if predictor.target and predictor.target.task == "classification"
                else pa.float64()
            )
            fields = [f for f in schema if f.name != column] + [pa.field(column, kind)]
            with parquet_writer(spec.output_uri, pa.schema(fields)) as empty:
                empty.write_table(pa.schema(fields).empty_table())
    seconds = time.perf_counter() - started
    reporter.log(f"predicted {rows} rows into column '{column}' in {seconds:.2f}s")
    reporter.result(
        metadata={"predicted_rows": rows},
        result=PredictionResult(kind="predict", rows=rows, seconds=seconds),
    )


# -- the end of a training step -------------------------------------------------------


@dataclass(frozen=True)
class Trained:
    """What a deep-learning flavor hands back after training, to be written and reported
    the same way whatever the framework."""

    flavor: str
    #: The saved-model format in ``signature.json`` (how ``load_predictor`` rebuilds it).
    format: str
    files: Mapping[str, bytes]
    constructor: Mapping[str, Any]
    parameters: int
    frameworks: Mapping[str, str]
    metrics: Mapping[str, float]
    history: History
    seconds: float
    extra_signature: Mapping[str, Any] = field(default_factory=dict)


def publish_training(
    spec: StepSpec, reporter: Reporter, prepared: Prepared, trained: Trained
) -> None:
    """Write artifacts and ``signature.json`` (class, constructor arguments, feature plan,
    target) into the version folder, and report metrics, history and lineage."""
    from .flavors._register import frameworks, plain, write_version

    target = prepared.target
    signature = {
        "format": trained.format,
        "model_class": spec.model_reference,
        "constructor": plain(dict(trained.constructor)),
        **trained.extra_signature,
        "feature_plan": prepared.plan.to_json(),
        "target": target.to_json() if target else None,
        "features": [{"name": c} for c in prepared.plan.source_columns],
        "label": {"name": spec.label, "type": target.arrow_type} if target and spec.label else None,
        "classes": list(target.classes) if target and target.classes else None,
        "task": target.task if target else "unsupervised",
        "parameters": trained.parameters,
    }
    artifacts = write_version(spec.model_uri, trained.files, signature)
    metrics = dict(trained.metrics)
    reporter.result(
        metadata={
            **{f"metric/{k}": v for k, v in metrics.items()},
            "training_rows": prepared.rows,
            "training_seconds": round(trained.seconds, 3),
        },
        result=TrainingResult(
            kind="train",
            flavor=trained.flavor,
            metrics=metrics,
            history=trained.history.rows,
            training_rows=prepared.rows,
            training_seconds=trained.seconds,
            features=list(prepared.plan.source_columns),
            label=spec.label,
            artifacts=artifacts,
            signature=plain(signature),
            frameworks=frameworks(**trained.frameworks),
            params=plain(dict(trained.constructor)),
        ),
    )
