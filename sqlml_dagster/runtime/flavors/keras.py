"""Keras flavor: register a Keras 3 ``.keras`` file trained elsewhere (Rikai's
``CREATE MODEL … USING``).

The file is loaded with ``keras.saving.load_model(path, safe_mode=True, compile=False)``:
safe mode refuses Python lambdas serialized as bytecode, so loading runs no code from the
file. The model's input shapes become the signature; the file is copied as
``model.keras``. Keras runs on the TensorFlow backend unless ``KERAS_BACKEND`` says otherwise.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from ...contract import TrainingResult
from ...contract.spec import StepSpec
from .. import Reporter, StepError
from ._register import frameworks, plain, qualified_name, read_source, write_version

ARTIFACT = "model.keras"


def _import_keras() -> Any:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import keras
    except ImportError as e:
        raise StepError(
            f"registering a Keras model needs Keras 3 in the step image "
            f"(pip install 'sqlml-dagster[keras]'): {e}"
        ) from None
    if _version(keras.__version__) < SAFE_KERAS:
        raise StepError(
            f"registering a .keras file needs Keras {'.'.join(map(str, SAFE_KERAS))} or later, "
            f"whose safe mode runs no code from the file; this image has {keras.__version__}"
        )
    return keras


#: The first Keras whose safe mode has no known bypass (CVE-2025-1550, CVE-2025-8747,
#: CVE-2026-1462: a crafted .keras file ran code in safe mode before).
SAFE_KERAS = (3, 14)


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("+")[0].split(".")[:2] if p.isdigit())


def register(spec: StepSpec, reporter: Reporter) -> None:
    data = read_source(spec.input_uri)
    if data[:4] != b"PK\x03\x04":
        raise StepError(
            f"{spec.input_uri} is not a Keras 3 .keras file (a zip archive); save the model "
            "with model.save('model.keras')"
        )
    keras = _import_keras()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ARTIFACT
        path.write_bytes(data)
        try:
            model = keras.saving.load_model(str(path), safe_mode=True, compile=False)
        except Exception as e:  # Keras raises ValueError, TypeError, OSError… for bad files
            raise StepError(
                f"cannot load {spec.input_uri} with Keras in safe mode: {type(e).__name__}: "
                f"{_first(e)}"
            ) from None
    inputs = _tensors(model, "inputs")
    outputs = _tensors(model, "outputs")
    n_features = None
    if len(inputs) == 1 and len(inputs[0]["shape"]) == 2 and inputs[0]["shape"][1]:
        n_features = int(inputs[0]["shape"][1])
    signature = {
        "format": "keras",
        "features": [],
        "n_features": n_features,
        "inputs": inputs,
        "outputs": outputs,
        "label": None,
        "classes": None,
        "task": None,
        "parameters": int(model.count_params()) if model.built else None,
    }
    signature = plain(signature)
    artifacts = write_version(spec.model_uri, {ARTIFACT: data}, signature)
    reference = spec.model_reference or qualified_name(model)
    reporter.log(f"registered {reference} ({model.name}) from {spec.input_uri}")
    versions = {"keras": keras.__version__, "keras_backend": keras.backend.backend()}
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        versions["tensorflow"] = tf.__version__
    reporter.result(
        metadata={"source_uri": spec.input_uri, "model_format": "keras"},
        result=TrainingResult(
            kind="register",
            flavor="keras",
            model_reference=reference,
            features=[],
            signature=signature,
            artifacts=artifacts,
            frameworks=frameworks(**versions),
            params=plain(dict(spec.params.get("options", {}))),
        ),
    )


def _tensors(model: Any, attribute: str) -> list[dict[str, Any]]:
    """Name, shape (``None`` for the batch and other free dimensions) and dtype of the
    model's symbolic inputs or outputs; empty for a subclassed model never called."""
    try:
        tensors = getattr(model, attribute) or []
    except (AttributeError, ValueError):
        return []
    if not isinstance(tensors, (list, tuple)):
        tensors = [tensors]
    return [
        {
            "name": str(getattr(t, "name", "")),
            "shape": [None if d is None else int(d) for d in t.shape],
            "dtype": str(getattr(t, "dtype", "")),
        }
        for t in tensors
    ]


def _first(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


from ._keras_train import (  # noqa: E402  (one flavor module)
    evaluate,
    explain,
    load_predictor,
    predict,
    train,
)

__all__ = ["evaluate", "explain", "load_predictor", "predict", "register", "train"]
