"""What the flavors share: reading a source file, writing artifacts into the version
folder, importing a class by name, checking ``WITH model.*`` names, JSON-safe values."""

from __future__ import annotations

import difflib
import importlib
import inspect
import json
import platform
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

import fsspec

from ...contract import BUILTIN_ESTIMATORS, SIGNATURE_FILE, unknown_parameters_message
from .. import StepError

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


def import_class(reference: str, example: str) -> type:
    """The class a dotted ``MODEL_TYPE`` names, or a :class:`StepError` that says why not."""
    module_name, _, class_name = reference.rpartition(".")
    if not module_name or not class_name:
        raise StepError(f"MODEL_TYPE '{reference}' is not a dotted import path such as {example}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise StepError(f"cannot import {module_name} for MODEL_TYPE {reference}: {e}") from None
    found = getattr(module, class_name, None)
    if not isinstance(found, type):
        names = [n for n in dir(module) if not n.startswith("_")]
        close = difflib.get_close_matches(class_name, names, n=1)
        suggestion = f"; did you mean {module_name}.{close[0]}?" if close else ""
        raise StepError(f"{module_name} has no class '{class_name}'{suggestion}")
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
    from .sklearn import import_model_class

    found = import_model_class(reference)
    if not callable(found):
        raise StepError(f"{reference} is a {type(found).__name__}, not a model class or factory")
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
