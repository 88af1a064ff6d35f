"""What the orchestrator side and a step agree on about a TRAIN statement's ``WITH``.

``sqlml check`` validates a statement before anything runs, and the runtime validates it
again when the step starts; both must say the same thing, so both read the definitions
here: the ``train.*``/``validation.*``/``resources.*`` keys the runtime understands, how a
Kubernetes quantity is written, which constructor arguments ``WITH model.*`` may name and
which ones the runtime fills in itself, SQLFlow's built-in estimator names, and how
``tf.keras`` is chosen before a model module is imported.

Standard library only: the compiler side must not import torch or TensorFlow to read these,
and the runtime imports neither Dagster nor the compiler.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import os
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

#: SQLFlow's estimators that run without a model zoo (``TO TRAIN DNNClassifier``),
#: implemented in ``runtime/flavors/_torch_builtins.py``.
BUILTIN_ESTIMATORS = ("DNNClassifier", "DNNRegressor", "LinearClassifier", "LinearRegressor")

#: ``WITH`` keys the runtime and the launchers read, by namespace, with what each does.
#: A key outside these is silently ignored at run time — usually a typo — so ``sqlml check``
#: reports it. ``model.*`` is checked against the model's constructor instead; ``predict``,
#: ``explain``, ``summary`` and ``check`` keys are not checked here.
SETTINGS_KEYS: Mapping[str, Mapping[str, str]] = {
    "train": {
        "epoch": "passes over the training rows",
        "epochs": "passes over the training rows (same as train.epoch)",
        "batch_size": "rows per minibatch",
        "learning_rate": "passed to the model module's optimizer(…)",
        "seed": "seeds estimators, shuffling, initialization and the validation split",
        "shuffle": "reshuffle every epoch",
        "verbose": "Keras' verbose",
        "normalize": "standardize numeric features and regression labels",
        "task": "classification or regression",
        "device": "cpu, cuda, cuda:1",
        "amp": "mixed precision on a GPU",
        "force": "retrain even when nothing changed",
    },
    "validation": {
        "select": "a second SELECT yielding validation rows",
        "split": "fraction of training rows held out",
        "metrics": "metrics to compute (EVALUATE)",
    },
    "resources": {
        "cpu": "CPU request and limit (Kubernetes quantity: 2, 500m)",
        "memory": "memory request and limit (Kubernetes quantity: 8Gi, 512Mi)",
        "gpu": "whole GPUs requested from Kubernetes",
        "node_selector": "node labels, gpu-type=a100",
        "tolerations": "taints tolerated, kubectl syntax",
    },
}

#: Constructor arguments the deep-learning flavors fill in when the constructor takes them
#: and the statement does not set them: the encoded feature width, the classes of a
#: classification label, the COLUMN clause's feature columns.
OFFERED_ARGUMENTS = frozenset(
    {"input_dim", "in_features", "n_features", "feature_columns", "n_classes", "num_classes"}
)

#: ``resources.*`` keys whose value is a Kubernetes quantity, and those counted in whole units.
QUANTITY_KEYS = ("cpu", "memory", "gpu")
WHOLE_QUANTITY_KEYS = ("gpu",)

#: The image allow-list as deployments and CI set it (comma-separated prefixes).
ALLOWED_IMAGES_ENV = "SQLML_K8S_ALLOWED_IMAGES"


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """The closest candidate to a misspelled ``word``, if any is close."""
    close = difflib.get_close_matches(word, sorted(candidates), n=1)
    return close[0] if close else None


def allowed_images_from_env(environ: Mapping[str, str]) -> list[str]:
    """``SQLML_K8S_ALLOWED_IMAGES``: the registry/repository prefixes an image must start with."""
    return [v.strip() for v in environ.get(ALLOWED_IMAGES_ENV, "").split(",") if v.strip()]


# -- Kubernetes quantities --------------------------------------------------------------

# Kubernetes' grammar (k8s.io/apimachinery resource.Quantity):
#   quantity ::= signedNumber suffix;  suffix ::= binarySI | decimalSI | decimalExponent
#   binarySI ::= Ki|Mi|Gi|Ti|Pi|Ei;  decimalSI ::= n|u|m|""|k|M|G|T|P|E;  exponent ::= (e|E) signedNumber
_QUANTITY = re.compile(
    r"(?P<number>[+-]?(?:\d+\.?\d*|\.\d+))"
    r"(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?"
)
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
#: Suffixes people reach for that Kubernetes does not accept (compared lower-case), and
#: the ones it does: decimal (powers of 1000) and binary (powers of 1024).
_MEANT = {
    "k": ("k", "Ki"), "kb": ("k", "Ki"), "kib": ("Ki",),
    "m": ("M", "Mi"), "mb": ("M", "Mi"), "mib": ("Mi",),
    "g": ("G", "Gi"), "gb": ("G", "Gi"), "gi": ("Gi",), "gib": ("Gi",),
    "t": ("T", "Ti"), "tb": ("T", "Ti"), "ti": ("Ti",), "tib": ("Ti",),
    "p": ("P", "Pi"), "pb": ("P", "Pi"), "pib": ("Pi",),
}  # fmt: skip
_POWER = {"k": "10^3", "M": "10^6", "G": "10^9", "T": "10^12", "P": "10^15"}
_POWER.update({"Ki": "2^10", "Mi": "2^20", "Gi": "2^30", "Ti": "2^40", "Pi": "2^50"})


class QuantityError(ValueError):
    """A value Kubernetes would refuse as a resource quantity; ``hint`` says what to write."""

    def __init__(self, message: str, hint: str):
        super().__init__(message)
        self.hint = hint


def parse_quantity(value: object, *, whole: bool = False) -> Decimal:
    """A ``WITH resources.*`` value as Kubernetes reads it: ``2``, ``0.5``, ``500m``,
    ``8Gi``, ``1e3``. Raises :class:`QuantityError` for anything else (``2GB``, ``abc``, a
    negative amount, a fraction of a GPU when ``whole``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise QuantityError(
            f"{value!r} is not a quantity", 'write a number or a string such as "8Gi" or "500m"'
        )
    text = str(value).strip()
    match = _QUANTITY.fullmatch(text)
    if match is None:
        leading = re.match(r"[+-]?(?:\d+\.?\d*|\.\d+)", text)
        meant = _MEANT.get(text[leading.end() :].lower(), ()) if leading else ()
        if leading and meant:
            spelled = " or ".join(f"{leading.group()}{s} ({_POWER[s]})" for s in meant)
            hint = f"Kubernetes writes {spelled}"
        else:
            hint = "a number with an optional suffix: 2, 0.5, 500m, 8Gi, 512Mi, 1G"
        raise QuantityError(f"'{text}' is not a Kubernetes quantity", hint)
    number = Decimal(match.group("number"))
    suffix = match.group("suffix") or ""
    amount: Decimal
    try:
        if suffix in _BINARY:
            amount = number * _BINARY[suffix]
        elif suffix in _DECIMAL:
            amount = number.scaleb(_DECIMAL[suffix])
        elif suffix:
            amount = number.scaleb(int(suffix[1:]))
        else:
            amount = number
    except InvalidOperation:
        raise QuantityError(f"'{text}' is out of range", "write a smaller amount") from None
    if amount < 0:
        raise QuantityError(f"'{text}' is negative", "resources are amounts of at least 0")
    if whole and amount != amount.to_integral_value():
        raise QuantityError(
            f"'{text}' is not a whole number",
            "GPUs are requested in whole units (an extended resource): 1, 2, …",
        )
    return amount


# -- constructor signatures ------------------------------------------------------------


@dataclass(frozen=True)
class ConstructorSignature:
    """The keyword arguments a model's constructor (or factory) takes, as ``WITH model.*``
    sees them: which names it accepts, which it needs, and whether ``**kwargs`` takes any.

    ``estimator``: a scikit-learn-style estimator, to which the runtime offers nothing; a
    deep-learning model is offered :data:`OFFERED_ARGUMENTS`."""

    parameters: tuple[str, ...]
    required: tuple[str, ...] = ()
    open_ended: bool = False
    estimator: bool = False

    @classmethod
    def of(cls, constructor: Callable[..., Any]) -> ConstructorSignature | None:
        """From ``inspect.signature``; None when Python cannot tell (some builtins)."""
        try:
            signature = inspect.signature(constructor)
        except (TypeError, ValueError):
            return None
        names: list[str] = []
        required: list[str] = []
        open_ended = False
        for name, p in signature.parameters.items():
            if p.kind is p.VAR_KEYWORD:
                open_ended = True
            elif p.kind is p.VAR_POSITIONAL or name == "self":
                continue
            elif p.kind is not p.POSITIONAL_ONLY:
                names.append(name)
                if p.default is p.empty:
                    required.append(name)
        return cls(tuple(names), tuple(required), open_ended)

    @classmethod
    def of_estimator(cls, estimator_class: type) -> ConstructorSignature | None:
        """A scikit-learn estimator's parameters as the sklearn flavor checks them: the
        keys of ``get_params()`` of an instance built without arguments (so an estimator
        with ``**kwargs`` that lists its parameters, like XGBoost's, is still checked);
        its constructor's signature when it needs arguments."""
        try:
            accepted = estimator_class().get_params(deep=False)
        except Exception:  # needs arguments, or refuses defaults: the signature decides
            found = cls.of(estimator_class)
            return None if found is None else dataclasses.replace(found, estimator=True)
        return cls(tuple(accepted), (), False, estimator=True)

    def unknown(self, given: Iterable[str]) -> list[str]:
        """The given names the constructor does not take."""
        if self.open_ended:
            return []
        return [name for name in given if name not in self.parameters]

    def missing(self, given: Collection[str], offered: Collection[str] = ()) -> list[str]:
        """Required arguments that neither the statement nor the runtime provides."""
        return [name for name in self.required if name not in given and name not in offered]

    def offered(self) -> frozenset[str]:
        """What the runtime fills in for this kind of model."""
        return frozenset() if self.estimator else OFFERED_ARGUMENTS

    def to_json(self) -> dict[str, Any]:
        return {
            "parameters": list(self.parameters),
            "required": list(self.required),
            "open_ended": self.open_ended,
            "estimator": self.estimator,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ConstructorSignature:
        return cls(
            tuple(data["parameters"]),
            tuple(data["required"]),
            bool(data["open_ended"]),
            bool(data.get("estimator", False)),
        )


def is_estimator_class(candidate: object) -> bool:
    """A scikit-learn-compatible estimator class (``fit`` and ``get_params``)."""
    return (
        inspect.isclass(candidate)
        and hasattr(candidate, "fit")
        and hasattr(candidate, "get_params")
    )


def unknown_parameters_message(
    reference: str, unknown: Iterable[str], accepted: Collection[str]
) -> str:
    """``X has no parameter 'max_iterz' (did you mean 'max_iter'?); it accepts: …``."""
    hints = []
    for key in unknown:
        close = did_you_mean(key, accepted)
        hints.append(f"'{key}'" + (f" (did you mean '{close}'?)" if close else ""))
    return (
        f"{reference} has no parameter {', '.join(hints)}; it accepts: "
        f"{', '.join(sorted(accepted)) or 'no parameters'}"
    )


# -- Keras ----------------------------------------------------------------------------


def prefer_tf_keras() -> None:
    """Make ``tf.keras`` the Keras 2 API (tf-keras) when installed, as SQLFlow's model-zoo
    files expect — before TensorFlow or a model module is imported, which is why the
    runtime and ``sqlml check``'s import process call it first."""
    import importlib.util

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # no CUDA-probe noise in step logs
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    if importlib.util.find_spec("tf_keras") is not None:
        os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")


__all__ = [
    "ALLOWED_IMAGES_ENV",
    "BUILTIN_ESTIMATORS",
    "OFFERED_ARGUMENTS",
    "SETTINGS_KEYS",
    "ConstructorSignature",
    "QuantityError",
    "allowed_images_from_env",
    "did_you_mean",
    "is_estimator_class",
    "parse_quantity",
    "prefer_tf_keras",
    "unknown_parameters_message",
]


# -- EVALUATE metrics ---------------------------------------------------------------

#: EVALUATE's metric names (lower case, ``_`` removed; SQLFlow/Keras spellings too) → the
#: canonical name the runtime computes. Shared by the
#: compiler (gates, ``sqlml check``) and the runtime (``runtime.scoring``).
EVALUATION_METRICS: dict[str, str] = {
    "accuracy": "accuracy",
    "auc": "auc",
    "precision": "precision",
    "recall": "recall",
    "f1": "f1",
    "mse": "mse",
    "meansquarederror": "mse",
    "rmse": "rmse",
    "mae": "mae",
    "meanabsoluteerror": "mae",
    "r2": "r2",
}
#: What EVALUATE computes when ``validation.metrics`` is not written, by the model's task
#: (unknown task: accuracy).
DEFAULT_EVALUATION_METRICS: dict[str, tuple[str, ...]] = {
    "classification": ("accuracy", "f1"),
    "regression": ("mse", "mae", "r2"),
}
