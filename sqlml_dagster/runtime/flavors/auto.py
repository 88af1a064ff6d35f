"""``auto``: a model reference whose package does not name its framework (``my_models.MyModel``).

The class is imported and its shape decides the flavor — a scikit-learn estimator, a
``torch.nn.Module``, a Keras model (Keras 2 via tf-keras, or Keras 3) — and a function is
taken as a factory of the framework its module imports. The manifest records the flavor
that was used, so prediction never guesses.
"""

from __future__ import annotations

import inspect
import types
from typing import Any

from ...contract.spec import StepSpec
from .. import Reporter, StepError
from . import sklearn


def train(spec: StepSpec, reporter: Reporter) -> None:
    from ._register import resolve

    found = resolve(spec.model_reference)
    flavor = flavor_of(found)
    if flavor == "sklearn":
        sklearn.train(spec, reporter)
    elif flavor == "pytorch":
        from . import pytorch

        pytorch.train(spec, reporter)
    elif flavor == "keras":
        from . import keras

        keras.train(spec, reporter)
    else:
        raise StepError(
            f"{spec.model_reference} is not a model this runtime can train: a scikit-learn "
            "estimator (fit/predict/get_params), a torch.nn.Module, a Keras model, or a "
            "function returning a torch.nn.Module or a Keras model"
        )


def flavor_of(found: Any) -> str:
    """``sklearn``, ``pytorch``, ``keras`` or ``""`` for a class or factory function."""
    if inspect.isclass(found):
        if sklearn.is_estimator_class(found):
            return "sklearn"
        for base in inspect.getmro(found):
            top = base.__module__.split(".", 1)[0]
            if top == "torch":
                return "pytorch"
            if top in ("keras", "tf_keras", "tensorflow"):
                return "keras"
        return ""
    if callable(found):
        module = inspect.getmodule(found)
        imported = (
            {
                value.__name__.split(".", 1)[0]
                for value in vars(module).values()
                if isinstance(value, types.ModuleType)
            }
            if module
            else set()
        )
        if "torch" in imported:
            return "pytorch"
        if imported & {"keras", "tensorflow", "tf_keras"}:
            return "keras"
    return ""


__all__ = ["flavor_of", "train"]
