"""``WITH train.* / validation.* / resources.gpu``: the settings a deep-learning training
step reads from its spec, checked before any data is read so that a wrong value fails
with the key that holds it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ...contract.spec import StepSpec
from .. import StepError


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
    #: ``train.early_stop``, ``train.patience``, ``train.early_stop_metric`` (early_stop.py)
    early_stop: bool = False
    patience: int = 3
    early_stop_metric: str | None = None
    #: ``train.max_steps``: stop after this many minibatches in all (None: every epoch).
    max_steps: int | None = None
    #: ``train.checkpoint_every``: save a resumable checkpoint every N epochs (0: never).
    checkpoint_every: int = 0
    #: SQLFlow's ``model.optimizer = RMSprop`` (None: the module's hook, else Adam).
    optimizer: str | None = None
    #: SQLFlow's ``optimizer.*`` besides the learning rate: the optimizer's arguments.
    optimizer_args: dict[str, Any] = field(default_factory=dict)
    #: ``dnn_optimizer.learning_rate``/``linear_optimizer.learning_rate`` (wide & deep
    #: models): a learning rate per part, by namespace.
    part_learning_rates: dict[str, float] = field(default_factory=dict)

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
            learning_rate=number("train", "learning_rate", None, float)
            if spec.param("train", "learning_rate") is not None
            else number("optimizer", "learning_rate", None, float),
            shuffle=bool(spec.param("train", "shuffle", True)),
            normalize=bool(spec.param("train", "normalize", True)),
            device=spec.param("train", "device"),
            amp=bool(spec.param("train", "amp", False)),
            gpus=_quantity(spec.param("resources", "gpu", 0)),
            validation_split=number("validation", "split", 0.0, float),
            task=spec.param("train", "task"),
            early_stop=bool(spec.param("train", "early_stop", False)),
            patience=number("train", "patience", cls.patience, int),
            early_stop_metric=spec.param("train", "early_stop_metric"),
            max_steps=number("train", "max_steps", None, int),
            checkpoint_every=number("train", "checkpoint_every", 0, int),
            optimizer=_optimizer_name(_optimizer_written(spec)),
            optimizer_args={
                k: v for k, v in spec.params.get("optimizer", {}).items() if k != "learning_rate"
            },
            part_learning_rates={
                part: number(part, "learning_rate", None, float)
                for part in ("linear_optimizer", "dnn_optimizer")
                if spec.param(part, "learning_rate") is not None
            },
        )
        if settings.max_steps is not None and settings.max_steps < 1:
            raise StepError(f"train.max_steps must be at least 1, found {settings.max_steps}")
        if settings.checkpoint_every < 0:
            raise StepError(
                f"train.checkpoint_every is a number of epochs, at least 0 (never), found "
                f"{settings.checkpoint_every}"
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
        if settings.patience < 1:
            raise StepError(f"train.patience must be at least 1 epoch, found {settings.patience}")
        if settings.task not in (None, "classification", "regression"):
            raise StepError(
                f"train.task must be 'classification' or 'regression', found {settings.task!r}"
            )
        return settings


def _optimizer_written(spec: StepSpec) -> Any:
    """``model.optimizer``; for a wide & deep model without it, its ``model.dnn_optimizer``
    or ``model.linear_optimizer`` (one class trains both parts: the step warns when the
    two name different ones)."""
    from ...contract.settings import PART_OPTIMIZERS, WIDE_AND_DEEP

    written = spec.param("model", "optimizer")
    if written is None and spec.model_reference in WIDE_AND_DEEP:
        for part in PART_OPTIMIZERS:
            if spec.param("model", part) is not None:
                return spec.param("model", part)
    return written


def part_optimizer_warning(spec: StepSpec) -> str | None:
    """Why a wide & deep statement's optimizer classes are not both used, if they are not."""
    from ...contract.settings import PART_OPTIMIZERS, WIDE_AND_DEEP

    if spec.model_reference not in WIDE_AND_DEEP:
        return None
    named = {p: spec.param("model", p) for p in (*PART_OPTIMIZERS, "optimizer")}
    written = {p: v for p, v in named.items() if v is not None}
    classes = {_optimizer_name(v) for v in written.values()}
    if len(classes) < 2:
        return None
    used = _optimizer_name(_optimizer_written(spec))
    return (
        "warning: "
        + ", ".join(f"model.{p} = {v!r}" for p, v in written.items())
        + f": one optimizer class trains both parts here, {used}; each part keeps its "
        "own <part>.learning_rate"
    )


def _optimizer_name(value: Any) -> str | None:
    """SQLFlow's optimizer names as written (``RMSprop``, ``"Adagrad"``, PAI's TensorFlow 1
    ``AdagradOptimizer``, ``GradientDescent``), as one spelling: ``rmsprop``, ``sgd``…"""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise StepError(f"model.optimizer names an optimizer such as Adam, found {value!r}")
    name = value.strip().rpartition(".")[2].lower()
    name = name.removesuffix("optimizer") or name
    return {"gradientdescent": "sgd"}.get(name, name)


def _quantity(value: Any) -> float:
    """``resources.gpu = 1`` or ``"1"``: whole GPUs, read as Kubernetes reads them."""
    from ...contract import QuantityError, parse_quantity

    try:
        return float(parse_quantity(value or 0, whole=True))
    except QuantityError as e:
        raise StepError(f"resources.gpu: {e}; {e.hint}") from None
