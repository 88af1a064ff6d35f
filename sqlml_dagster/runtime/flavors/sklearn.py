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

from .. import Reporter, StepError, scoring
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


def evaluate(spec: StepSpec, reporter: Reporter) -> None:
    """``TO EVALUATE``: the flavor-neutral metrics of ``runtime.scoring`` over this model."""
    scoring.evaluate(spec, SklearnPredictor.load(spec), reporter)


def explain(spec: StepSpec, reporter: Reporter) -> None:
    """``TO EXPLAIN``: the flavor-neutral attributions of ``runtime.scoring``; tree and
    linear estimators get exact SHAP values through ``native_model``."""
    scoring.explain(spec, SklearnPredictor.load(spec), reporter)


class SklearnPredictor:
    """A loaded estimator as ``scoring.Predictor``: Arrow in, numpy out.

    ``native_model`` is the estimator itself (it reads ``numeric_matrix(data, features)``),
    which lets SHAP use TreeExplainer or LinearExplainer on it.
    """

    def __init__(
        self, estimator: Any, features: list[str], task: str, classes: list[Any] | None
    ) -> None:
        self.native_model = estimator
        self.features = features
        self.task = task
        self.classes = classes
        # EVALUATE with AUC asks for labels and probabilities of the same batch: convert once.
        self._last: tuple[pa.Table | pa.RecordBatch, np.ndarray] | None = None

    @classmethod
    def load(cls, spec: StepSpec) -> SklearnPredictor:
        """The version at ``spec.model_uri``; a model registered without feature names
        reads every selected column but the label, in order."""
        estimator = load_estimator(spec.model_uri, spec.model_reference)
        signature = _signature(spec.model_uri)
        features = list(spec.features or [])
        if not features:
            features = [c for c in read_schema(spec.input_uri).names if c != spec.label]
        classes = signature.get("classes")
        if classes is None and getattr(estimator, "classes_", None) is not None:
            classes = [_plain(c) for c in estimator.classes_]
        return cls(estimator, features, str(signature.get("task", "supervised")), classes)

    def _matrix(self, data: pa.Table | pa.RecordBatch) -> np.ndarray:
        if self._last is not None and self._last[0] is data:
            return self._last[1]
        x = numeric_matrix(data, self.features)
        self._last = (data, x)
        return x

    def predict(self, data: pa.Table | pa.RecordBatch) -> np.ndarray:
        return np.asarray(self.native_model.predict(self._matrix(data)))

    def predict_proba(self, data: pa.Table | pa.RecordBatch) -> np.ndarray | None:
        if not hasattr(self.native_model, "predict_proba"):
            return None
        return np.asarray(self.native_model.predict_proba(self._matrix(data)))


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
