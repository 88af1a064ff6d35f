"""What the flavors share: reading a source file, writing artifacts into the version
folder, importing a model by name (only from an allowed model package, and only a model:
``contract/model_packages.py``), checking ``WITH model.*`` names, JSON-safe values."""

from __future__ import annotations

import difflib
import inspect
import json
import os
import platform
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

import fsspec

from ...contract import BUILTIN_ESTIMATORS, SIGNATURE_FILE, unknown_parameters_message
from ...contract.model_packages import ModelPackages, model_kind, not_a_model
from .. import StepError
from ..quiet import import_quietly

SIGNATURE = SIGNATURE_FILE


def read_source(uri: str) -> bytes:
    """The bytes of the model file at ``uri`` (any fsspec URL)."""
    try:
        with fsspec.open(uri, "rb") as f:
            data: bytes = f.read()
    except (OSError, ValueError) as e:
        raise StepError(f"cannot read the model file {uri}: {e}") from None
    if not data:
        raise StepError(f"the model file {uri} is empty")
    return data


def write_version(
    model_uri: str, files: Mapping[str, bytes], signature: Mapping[str, Any]
) -> list[str]:
    """Write ``files`` and ``signature.json`` into the version folder; the artifact names."""
    base = model_uri.rstrip("/")
    for name, data in files.items():
        with fsspec.open(f"{base}/{name}", "wb") as f:
            f.write(data)
    with fsspec.open(f"{base}/{SIGNATURE}", "w", encoding="utf-8") as f:
        json.dump(plain(dict(signature)), f, indent=2)
    return [*files, SIGNATURE]


def model_packages() -> ModelPackages:
    """What this step may import: the built-ins and ``$SQLML_ALLOWED_MODEL_PACKAGES``,
    which the orchestrator sets for the step — the project's ``models/`` packages and the
    operator's setting. Read from the environment, never from the spec, so a forged spec
    cannot widen it."""
    try:
        return ModelPackages.from_env(os.environ)
    except ValueError as e:
        raise StepError(str(e)) from None


def import_model(reference: str, example: str = "sklearn.svm.SVC") -> Any:
    """The model class or marked factory ``reference`` names. Refused *before* importing
    when its package is not an allowed model package, and *before* anything is called when
    what it names is not a model (``contract.model_kind``): a reference in SQL can name
    ``torch.hub.load`` or ``os.system`` as easily as a model."""
    module_name, _, name = reference.rpartition(".")
    if not module_name or not name:
        raise StepError(f"'{reference}' is not a dotted import path such as {example}")
    packages = model_packages()
    if not packages.permits(reference):
        raise StepError(packages.not_allowed(reference))
    try:
        module = import_quietly(module_name)  # a model module may load TensorFlow
    except ImportError as e:
        raise StepError(
            f"cannot import {module_name} for model {reference}: {e} (model packages are "
            "found on PYTHONPATH, in the project's models/ folder, or in the step image)"
        ) from None
    except SyntaxError as e:
        raise StepError(
            f"the model package {module_name} does not compile: {e.msg} at "
            f"{e.filename}:{e.lineno}:{e.offset or 0}"
        ) from None
    found = getattr(module, name, None)
    if found is None:
        names = [n for n in dir(module) if not n.startswith("_")]
        close = difflib.get_close_matches(name, names, n=1)
        suggestion = f"; did you mean {module_name}.{close[0]}?" if close else ""
        raise StepError(f"{module_name} has no '{name}'{suggestion}")
    if model_kind(found, module, name) is None:
        raise StepError(not_a_model(reference, found))
    return found


def import_class(reference: str, example: str) -> type:
    """The model class a dotted ``MODEL_TYPE`` names (:func:`import_model`, and a class)."""
    found = import_model(reference, example)
    if not isinstance(found, type):
        raise StepError(f"MODEL_TYPE {reference} is a model factory; it must name a class")
    return found


def read_signature(model_uri: str) -> dict[str, Any]:
    """A version's ``signature.json``: format, features, task, classes, feature plan."""
    with fsspec.open(f"{model_uri.rstrip('/')}/{SIGNATURE}", "r", encoding="utf-8") as f:
        signature: dict[str, Any] = json.load(f)
    return signature


def resolve(reference: str) -> Callable[..., Any]:
    """The class or factory function a model reference names; SQLFlow's built-in names
    first (only they import torch)."""
    if reference in BUILTIN_ESTIMATORS:
        from ._torch_builtins import BUILTINS

        return BUILTINS[reference]
    if "." not in reference:
        raise StepError(
            f"'{reference}' is neither a built-in estimator ({', '.join(BUILTIN_ESTIMATORS)}) "
            "nor a dotted import path such as my_models.MyNet"
        )
    found: Callable[..., Any] = import_model(reference)
    return found


def call_hook(function: Callable[..., Any], *args: Any, **offered: Any) -> Any:
    """Call a model module's hook (``optimizer``, ``sqlml_train_loop``, …) with the keyword
    arguments it declares, all of them when it takes ``**kwargs``."""
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return function(*args)
    if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        return function(*args, **offered)
    return function(*args, **{k: v for k, v in offered.items() if k in parameters})


def unknown_parameters(
    reference: str, unknown: Iterable[str], accepted: Collection[str]
) -> StepError:
    """``WITH model.x`` that the model's constructor does not take: each with its closest
    accepted name, and the whole list (the same words as ``sqlml check``'s SQLML301)."""
    return StepError(unknown_parameters_message(reference, unknown, accepted))


def qualified_name(obj: object) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def frameworks(**versions: str) -> dict[str, str]:
    return {"python": platform.python_version(), **versions}


def plain(value: Any) -> Any:
    """Tuples, numpy scalars and other odd values → JSON-safe Python values."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    item = getattr(value, "item", None)
    if callable(item):
        try:
            return plain(item())
        except (TypeError, ValueError):
            pass
    return str(value)
