"""scikit-learn flavor: any estimator by import path, saved with skops (never bare pickle).

``WITH model.k = v`` become constructor keyword arguments; an estimator with a
``random_state`` parameter that the statement leaves unset gets the spec's seed, so
training is deterministic by default.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import json
import platform
from contextlib import ExitStack
from typing import Any

import fsspec
import numpy as np
import pyarrow as pa

from .. import Reporter, StepError
from ..data import (
    iter_batches,
    label_vector,
    numeric_matrix,
    parquet_writer,
    read_schema,
    read_table,
)
from ..spec import StepSpec

ARTIFACT = "model.skops"
SIGNATURE = "signature.json"
#: Modules whose types a saved model may contain without the user vouching for them.
TRUSTED_MODULE_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.", "collections.")


def train(spec: StepSpec, reporter: Reporter) -> None:
    estimator_class = import_model_class(spec.model_reference)
    if not is_estimator_class(estimator_class):
        raise StepError(
            f"{spec.model_reference} is not a scikit-learn estimator (it needs fit and get_params)"
        )
    params = dict(spec.params.get("model", {}))
    estimator = _construct(estimator_class, params, spec)
    table = read_table(spec.input_uri)
    features = spec.features or [c for c in table.schema.names if c != spec.label]
    reporter.log(
        f"training on {table.num_rows} rows, {len(features)} features: {', '.join(features)}"
    )
    if table.num_rows == 0:
        raise StepError("the training SELECT returned no rows")
    x = numeric_matrix(table, features)
    y = label_vector(table, spec.label) if spec.label else None
    try:
        estimator.fit(x, y) if y is not None else estimator.fit(x)
    except (ValueError, TypeError) as e:
        raise StepError(f"{spec.model_reference}.fit failed: {e}") from None
    metrics = _training_metrics(estimator, x, y)
    reporter.log("training metrics: " + ", ".join(f"{k}={v:.4f}" for k, v in metrics.items()))

    import sklearn
    import skops
    import skops.io as sio

    signature = {
        "features": [{"name": f, "type": str(table.schema.field(f).type)} for f in features],
        "label": {"name": spec.label, "type": str(table.schema.field(spec.label).type)}
        if spec.label
        else None,
        "classes": [_plain(c) for c in getattr(estimator, "classes_", [])] or None,
        "task": _task(estimator, y),
    }
    base = spec.model_uri.rstrip("/")
    with fsspec.open(f"{base}/{ARTIFACT}", "wb") as f:
        f.write(sio.dumps(estimator))
    with fsspec.open(f"{base}/{SIGNATURE}", "w", encoding="utf-8") as f:
        json.dump(signature, f, indent=2)
    frameworks = {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "skops": skops.__version__,
        "numpy": np.__version__,
    }
    reporter.result(
        metadata={
            **{f"metric/{k}": v for k, v in metrics.items()},
            "training_rows": table.num_rows,
        },
        payload={
            "kind": "train",
            "flavor": "sklearn",
            "metrics": metrics,
            "training_rows": table.num_rows,
            "features": features,
            "label": spec.label,
            "artifacts": [ARTIFACT, SIGNATURE],
            "signature": signature,
            "frameworks": frameworks,
            "params": {k: _plain(v) for k, v in estimator.get_params(deep=False).items()},
        },
    )


def predict(spec: StepSpec, reporter: Reporter) -> None:
    if not spec.output_uri or not spec.prediction_column:
        raise StepError("a predict step needs output_uri and prediction_column")
    estimator = load_estimator(spec.model_uri, spec.model_reference)
    features = list(spec.features or [])
    column = spec.prediction_column
    input_schema = read_schema(spec.input_uri)
    kept = [f for f in input_schema if f.name != column]
    rows = 0
    with ExitStack() as stack:
        writer = None
        for batch in iter_batches(spec.input_uri):
            if batch.num_rows == 0:
                continue
            predictions = pa.array(_plain_array(estimator.predict(numeric_matrix(batch, features))))
            out = pa.RecordBatch.from_arrays(
                [batch.column(f.name) for f in kept] + [predictions],
                schema=pa.schema([*kept, pa.field(column, predictions.type)]),
            )
            if writer is None:
                writer = stack.enter_context(parquet_writer(spec.output_uri, out.schema))
            writer.write_batch(out)
            rows += batch.num_rows
        if writer is None:  # no rows: still produce a table with the right columns
            schema = pa.schema([*kept, pa.field(column, _prediction_type(spec.model_uri))])
            with parquet_writer(spec.output_uri, schema) as empty:
                empty.write_table(schema.empty_table())
    reporter.log(f"predicted {rows} rows into column '{column}'")
    reporter.result(metadata={"predicted_rows": rows}, payload={"kind": "predict", "rows": rows})


def load_estimator(model_uri: str, model_reference: str) -> Any:
    """Load a skops artifact, trusting only sklearn/numpy/scipy and the model's own package."""
    import skops.io as sio

    with fsspec.open(f"{model_uri.rstrip('/')}/{ARTIFACT}", "rb") as f:
        data = f.read()
    own_package = model_reference.split(".", 1)[0] + "."
    untrusted = sio.get_untrusted_types(data=data)
    refused = [t for t in untrusted if not t.startswith((*TRUSTED_MODULE_PREFIXES, own_package))]
    if refused:
        raise StepError(
            f"the saved model contains types outside its own package and scikit-learn: {', '.join(refused)}; "
            "refusing to load it"
        )
    return sio.loads(data, trusted=untrusted)


def is_estimator_class(candidate: object) -> bool:
    return (
        inspect.isclass(candidate)
        and hasattr(candidate, "fit")
        and hasattr(candidate, "get_params")
    )


def import_model_class(reference: str) -> type:
    module_name, _, class_name = reference.rpartition(".")
    if not module_name:
        raise StepError(f"'{reference}' is not a dotted import path such as sklearn.svm.SVC")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        raise StepError(f"cannot import {module_name} for model {reference}: {e}") from None
    estimator_class = getattr(module, class_name, None)
    if estimator_class is None:
        names = [n for n in dir(module) if not n.startswith("_")]
        close = difflib.get_close_matches(class_name, names, n=1)
        suggestion = f"; did you mean {module_name}.{close[0]}?" if close else ""
        raise StepError(f"{module_name} has no '{class_name}'{suggestion}")
    return estimator_class


def _construct(estimator_class: type, params: dict[str, Any], spec: StepSpec) -> Any:
    """Check WITH model.* against the estimator's parameters before constructing it."""
    try:
        accepted: dict[str, Any] | None = estimator_class().get_params(deep=False)
    except Exception:  # an estimator with required arguments: let its constructor judge
        accepted = None
    if accepted is not None:
        unknown = [k for k in params if k not in accepted]
        if unknown:
            hints = []
            for key in unknown:
                close = difflib.get_close_matches(key, list(accepted), n=1)
                hints.append(f"'{key}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
            raise StepError(
                f"{spec.model_reference} has no parameter {', '.join(hints)}; "
                f"it accepts: {', '.join(sorted(accepted))}"
            )
        if "random_state" in accepted and "random_state" not in params:
            params["random_state"] = spec.seed
    try:
        return estimator_class(**params)
    except (TypeError, ValueError) as e:
        raise StepError(f"cannot construct {spec.model_reference} with {params}: {e}") from None


def _task(estimator: Any, y: np.ndarray | None) -> str:
    from sklearn.base import is_classifier, is_regressor

    if y is None:
        return "unsupervised"
    if is_classifier(estimator):
        return "classification"
    if is_regressor(estimator):
        return "regression"
    return "supervised"


def _training_metrics(estimator: Any, x: np.ndarray, y: np.ndarray | None) -> dict[str, float]:
    from sklearn import metrics

    task = _task(estimator, y)
    if y is None:
        inertia = getattr(estimator, "inertia_", None)
        return {"inertia": float(inertia)} if inertia is not None else {}
    predicted = estimator.predict(x)
    if task == "classification":
        return {
            "accuracy": float(metrics.accuracy_score(y, predicted)),
            "f1_macro": float(metrics.f1_score(y, predicted, average="macro")),
        }
    if task == "regression":
        return {
            "r2": float(metrics.r2_score(y, predicted)),
            "rmse": float(np.sqrt(metrics.mean_squared_error(y, predicted))),
            "mae": float(metrics.mean_absolute_error(y, predicted)),
        }
    return {}


def _prediction_type(model_uri: str) -> pa.DataType:
    with fsspec.open(f"{model_uri.rstrip('/')}/{SIGNATURE}", "r", encoding="utf-8") as f:
        signature = json.load(f)
    label = signature.get("label")
    if label and signature.get("task") == "classification":
        return (
            pa.type_for_alias(label["type"])
            if label["type"] in ("string", "int64", "int32", "bool")
            else pa.string()
        )
    return pa.float64()


def _plain(value: Any) -> Any:
    """numpy scalars → Python scalars, so results serialize to JSON."""
    return value.item() if isinstance(value, np.generic) else value


def _plain_array(values: np.ndarray) -> Any:
    return values.tolist() if values.dtype == object else values
