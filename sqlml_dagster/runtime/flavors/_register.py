"""What the ``register`` steps of the deep-learning flavors share: reading the source file,
writing artifacts into the version folder, importing a class by name, JSON-safe values."""

from __future__ import annotations

import difflib
import importlib
import json
import platform
from collections.abc import Mapping
from typing import Any

import fsspec

from .. import StepError

SIGNATURE = "signature.json"


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
