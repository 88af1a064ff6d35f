"""Which keyword arguments a model's constructor takes, as ``WITH model.*`` sees them.

``sqlml check`` reads them without importing the model where it can (``validate/models.py``)
and the runtime reads them from the class it builds (``runtime/dl/constructor.py``); the
rules — which names are unknown, which are missing, what the runtime offers — live here once.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .settings import OFFERED_ARGUMENTS, did_you_mean


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
