"""``auto``: a model reference whose package does not name its framework (``my_models.MyModel``).

The class is imported (only from an allowed model package) and its shape decides the
flavor — a scikit-learn estimator, a ``torch.nn.Module``, a Keras model (Keras 2 via
tf-keras, or Keras 3) — and a function its module marks as a model factory
(``@sqlml_dagster.model_factory``) is taken as a factory of the framework its module imports. The manifest records the flavor
that was used, so prediction never guesses.
"""

from __future__ import annotations

import inspect
import types
from typing import Any

from ...contract.model_packages import ESTIMATOR, FACTORY, KERAS_MODEL, TORCH_MODULE, model_kind
from ...contract.spec import StepSpec
from .. import Reporter, StepError
from . import sklearn


def train(spec: StepSpec, reporter: Reporter) -> None:
    from ._register import resolve

    found = resolve(spec.model_reference)
    flavor = flavor_of(found)
    if flavor in ("sklearn", "keras"):  # the compiler cannot tell before the class is seen
        from ..dl.distributed import refuse

        refuse(spec, flavor)
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
    """``sklearn``, ``pytorch``, ``keras`` or ``""`` for a model class or a marked factory
    (``resolve`` has refused anything else); a factory's framework is the one its module
    imports."""
    kind = model_kind(found) if inspect.isclass(found) else FACTORY
    if kind in KIND_FLAVORS:
        return KIND_FLAVORS[kind]
    if kind == FACTORY and callable(found):
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


#: The flavor that trains each kind of model class.
KIND_FLAVORS = {ESTIMATOR: "sklearn", TORCH_MODULE: "pytorch", KERAS_MODEL: "keras"}


__all__ = ["flavor_of", "train"]
