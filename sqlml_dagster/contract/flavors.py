"""The model flavors: the framework families a step can train, register and score.

Every place that needs to know something about a flavor — which packages name it, which
file suffixes it registers, how to save such a file, how the UI shows it, whether the
warehouse process may load it for ``ML_PREDICT`` — reads it here, so adding a flavor is
one entry in :data:`FLAVORS` plus its runtime module (``runtime/flavors/<name>.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .settings import BUILTIN_ESTIMATORS
from .xgboost_params import is_xgboost_reference


@dataclass(frozen=True)
class Flavor:
    """One framework family."""

    name: str
    #: Top-level packages whose model references name this flavor (``sklearn.svm.SVC``).
    packages: tuple[str, ...] = ()
    #: File suffixes ``CREATE MODEL … USING`` registers as this flavor.
    file_suffixes: tuple[str, ...] = ()
    #: How to save a model file this flavor registers (hints for a refused file).
    save_hint: str = ""
    #: The Dagster kind the UI draws an icon for (``scikitlearn``, not ``sklearn``).
    ui_kind: str = "python"
    #: ``ML_PREDICT`` may load it in the warehouse's process (cheap, no framework import).
    in_process: bool = False

    @property
    def registrable(self) -> bool:
        return bool(self.file_suffixes)


SKLEARN = "sklearn"
PYTORCH = "pytorch"
KERAS = "keras"
XGBOOST = "xgboost"
#: A user's own class: the runtime decides by importing it (``runtime/flavors/auto.py``).
AUTO = "auto"

FLAVORS: Mapping[str, Flavor] = {
    f.name: f
    for f in (
        Flavor(
            SKLEARN,
            packages=("sklearn", "lightgbm"),
            file_suffixes=(".skops",),
            save_hint="save a scikit-learn model with skops.io.dump(model, 'model.skops')",
            ui_kind="scikitlearn",
            in_process=True,
        ),
        Flavor(
            PYTORCH,
            packages=("torch", "torchvision"),
            file_suffixes=(".pt", ".pts", ".pth", ".safetensors"),
            save_hint="save a PyTorch model with torch.jit.save(torch.jit.script(model), "
            "'model.pt'), or its weights with safetensors.torch.save_model(model, "
            "'model.safetensors') and write MODEL_TYPE 'package.module.ClassName'",
            ui_kind="pytorch",
        ),
        Flavor(
            KERAS,
            packages=("keras", "tensorflow", "tf"),
            file_suffixes=(".keras",),
            save_hint="save a Keras model with model.save('model.keras')",
            ui_kind="tensorflow",
        ),
        Flavor(
            XGBOOST,
            # SQLFlow's XGBoost estimators (xgboost.gbtree…, XGBRegressor…): trained with
            # xgboost.train and saved in XGBoost's own UBJSON format, never pickled
            # (contract/xgboost_params.py, runtime/flavors/xgboost.py).
            packages=("xgboost",),
            ui_kind="xgboost",
            in_process=True,
        ),
        Flavor(AUTO),
    )
}
#: The flavors with a ``register`` step (``CREATE MODEL … USING 'file'``).
REGISTRABLE_FLAVORS = tuple(name for name, f in FLAVORS.items() if f.registrable)
#: File suffix → the flavor it implies.
FILE_FLAVORS: Mapping[str, str] = {
    suffix: f.name for f in FLAVORS.values() for suffix in f.file_suffixes
}
_PACKAGE_FLAVORS = {package: f.name for f in FLAVORS.values() for package in f.packages}


def flavor_of_reference(reference: str) -> str:
    """The flavor a model reference names: SQLFlow's built-in estimator names
    (``DNNClassifier``) run on PyTorch, its XGBoost ones (``xgboost.gbtree``,
    ``XGBRegressor``) on XGBoost, a package name (``sklearn.…``, ``torch.…``,
    ``keras.…``) names its framework; ``auto`` lets the runtime decide by importing the
    class (a user's own ``my_models.MyModel``)."""
    if reference in BUILTIN_ESTIMATORS:
        return PYTORCH
    if is_xgboost_reference(reference):
        return XGBOOST
    return _PACKAGE_FLAVORS.get(reference.split(".", 1)[0].lower(), AUTO)


def ui_kind(flavor: str | None) -> str:
    """The Dagster kind of a model of ``flavor`` (unknown: ``python``)."""
    known = FLAVORS.get(flavor or SKLEARN)
    return known.ui_kind if known else "python"
