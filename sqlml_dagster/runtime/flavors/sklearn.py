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
    column = spec.prediction_column
    input_schema = read_schema(spec.input_uri)
    kept = [f for f in input_schema if f.name != column]
    # A model registered without feature names reads every selected column, in order.
    features = list(spec.features or [f.name for f in kept])
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


#: ``validation.metrics`` names (case-insensitive, SQLFlow/Keras spellings too) → how
#: to compute them from labels, predictions and, for AUC, class probabilities.
METRICS: dict[str, str] = {
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
DEFAULT_METRICS = {"classification": ("accuracy", "f1"), "regression": ("mse", "mae", "r2")}


def evaluate(spec: StepSpec, reporter: Reporter) -> None:
    """Score a model version on labelled rows; writes one row: model, version, rows, metrics."""
    if not spec.output_uri or not spec.label:
        raise StepError("an evaluate step needs output_uri and label")
    estimator = load_estimator(spec.model_uri, spec.model_reference)
    features = list(spec.features or [])
    names = _metric_names(spec, _signature(spec.model_uri).get("task", "supervised"))
    labels: list[Any] = []
    predicted: list[Any] = []
    probabilities: list[np.ndarray] = []
    needs_proba = "auc" in names
    if needs_proba and not hasattr(estimator, "predict_proba"):
        raise StepError(
            f"AUC needs class probabilities; {spec.model_reference} has no predict_proba"
        )
    for batch in iter_batches(spec.input_uri):
        if batch.num_rows == 0:
            continue
        if spec.label not in batch.schema.names:
            raise StepError(f"the SELECT has no label column '{spec.label}'")
        x = numeric_matrix(batch, features or [c for c in batch.schema.names if c != spec.label])
        labels.extend(label_vector(batch, spec.label).tolist())
        predicted.extend(estimator.predict(x).tolist())
        if needs_proba:
            probabilities.append(estimator.predict_proba(x))
    if not labels:
        raise StepError("the evaluation SELECT returned no rows")
    proba = np.concatenate(probabilities) if probabilities else None
    values = {
        name: _metric(name, np.asarray(labels), np.asarray(predicted), proba, estimator)
        for name in names
    }
    reporter.log("evaluation: " + ", ".join(f"{k}={v:.4f}" for k, v in values.items()))
    table = pa.table(
        {
            "model": [spec.model_name],
            "model_version": pa.array([spec.model_version], pa.int64()),
            "rows": [len(labels)],
            **{name: [value] for name, value in values.items()},
        }
    )
    with parquet_writer(spec.output_uri, table.schema) as writer:
        writer.write_table(table)
    reporter.result(
        metadata={**{f"metric/{k}": v for k, v in values.items()}, "evaluated_rows": len(labels)},
        payload={"kind": "evaluate", "metrics": values, "rows": len(labels)},
    )


def _metric_names(spec: StepSpec, task: str) -> list[str]:
    written = spec.param("validation", "metrics")
    if written is None:
        return list(DEFAULT_METRICS.get(task, ("accuracy",)))
    items = written if isinstance(written, list) else str(written).split(",")
    names = []
    for item in (str(i).strip() for i in items if str(i).strip()):
        name = METRICS.get(item.lower().replace("_", ""))
        if name is None:
            close = difflib.get_close_matches(item.lower(), list(METRICS), n=1)
            raise StepError(
                f"unknown metric '{item}'"
                + (f" (did you mean '{close[0]}'?)" if close else "")
                + f"; known: {', '.join(sorted(set(METRICS.values())))}"
            )
        names.append(name)
    return names


def _metric(
    name: str, y: np.ndarray, predicted: np.ndarray, proba: np.ndarray | None, estimator: Any
) -> float:
    from sklearn import metrics

    average = "binary" if len(np.unique(y)) == 2 else "macro"
    if name == "accuracy":
        return float(metrics.accuracy_score(y, predicted))
    if name in ("precision", "recall", "f1"):
        scorer = {
            "precision": metrics.precision_score,
            "recall": metrics.recall_score,
            "f1": metrics.f1_score,
        }[name]
        pos = {"pos_label": estimator.classes_[1]} if average == "binary" else {}
        return float(scorer(y, predicted, average=average, zero_division=0, **pos))
    if name == "auc":
        assert proba is not None
        if proba.shape[1] == 2:
            return float(metrics.roc_auc_score(y, proba[:, 1]))
        return float(
            metrics.roc_auc_score(y, proba, multi_class="ovr", labels=list(estimator.classes_))
        )
    y_float, predicted_float = y.astype(float), predicted.astype(float)
    if name == "mse":
        return float(metrics.mean_squared_error(y_float, predicted_float))
    if name == "rmse":
        return float(np.sqrt(metrics.mean_squared_error(y_float, predicted_float)))
    if name == "mae":
        return float(metrics.mean_absolute_error(y_float, predicted_float))
    return float(metrics.r2_score(y_float, predicted_float))


def register(spec: StepSpec, reporter: Reporter) -> None:
    """Rikai's ``CREATE MODEL m USING 'uri'``: check that the skops file loads with safe
    types only, then copy it into the reserved version with a signature."""
    import skops.io as sio

    try:
        with fsspec.open(spec.input_uri, "rb") as f:
            data = f.read()
    except (OSError, ValueError) as e:
        raise StepError(f"cannot read the model file {spec.input_uri}: {e}") from None
    try:
        untrusted = sio.get_untrusted_types(data=data)
    except Exception as e:
        raise StepError(f"{spec.input_uri} is not a skops model file: {e}") from None
    refused = [t for t in untrusted if not t.startswith(TRUSTED_MODULE_PREFIXES)]
    if refused:
        raise StepError(
            f"{spec.input_uri} contains types outside scikit-learn: {', '.join(refused)}; "
            "refusing to load it"
        )
    estimator = sio.loads(data, trusted=untrusted)
    if not hasattr(estimator, "predict"):
        raise StepError(
            f"{spec.input_uri} holds a {type(estimator).__name__}, which cannot predict"
        )
    names = getattr(estimator, "feature_names_in_", None)
    features = [str(n) for n in names] if names is not None else None
    classes = getattr(estimator, "classes_", None)
    from sklearn.base import is_classifier, is_regressor

    task = (
        "classification"
        if is_classifier(estimator)
        else "regression"
        if is_regressor(estimator)
        else "supervised"
    )
    label_type = None
    if classes is not None and len(classes):
        label_type = "string" if isinstance(_plain(classes[0]), str) else "int64"
    signature = {
        "features": [{"name": f, "type": "double"} for f in features or []],
        "n_features": int(getattr(estimator, "n_features_in_", 0)) or None,
        "label": {"name": None, "type": label_type} if label_type else None,
        "classes": [_plain(c) for c in classes] if classes is not None else None,
        "task": task,
    }
    base = spec.model_uri.rstrip("/")
    with fsspec.open(f"{base}/{ARTIFACT}", "wb") as f:
        f.write(data)
    with fsspec.open(f"{base}/{SIGNATURE}", "w", encoding="utf-8") as f:
        json.dump(signature, f, indent=2)
    reference = f"{type(estimator).__module__}.{type(estimator).__qualname__}"
    reporter.log(f"registered {reference} from {spec.input_uri}")
    import sklearn

    reporter.result(
        metadata={"source_uri": spec.input_uri},
        payload={
            "kind": "register",
            "flavor": "sklearn",
            "model_reference": reference,
            "features": features or [],
            "signature": signature,
            "artifacts": [ARTIFACT, SIGNATURE],
            "frameworks": {
                "python": platform.python_version(),
                "scikit-learn": sklearn.__version__,
            },
            "params": {k: _plain(v) for k, v in estimator.get_params(deep=False).items()}
            if hasattr(estimator, "get_params")
            else {},
        },
    )


def _signature(model_uri: str) -> dict[str, Any]:
    with fsspec.open(f"{model_uri.rstrip('/')}/{SIGNATURE}", "r", encoding="utf-8") as f:
        signature: dict[str, Any] = json.load(f)
    return signature


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
    signature = _signature(model_uri)
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
