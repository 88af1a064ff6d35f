"""scikit-learn flavor: any estimator by import path, saved with skops (never bare pickle).

``WITH model.k = v`` become constructor keyword arguments; an estimator with a
``random_state`` parameter that the statement leaves unset gets the spec's seed, so
training is deterministic by default.

Without a ``COLUMN`` clause the estimator reads the selected columns (all but the label)
as one float matrix, missing values as NaN (``data.numeric_matrix``). With one, the clause
becomes a :class:`~sqlml_dagster.runtime.features.FeaturePlan` — the encoder the PyTorch
and Keras flavors use — fitted on the training rows and saved in ``signature.json`` (key
``feature_plan``), so ``TO PREDICT``, ``TO EVALUATE``, ``TO EXPLAIN`` and ``ML_PREDICT``
encode exactly as training did. The estimator then reads the plan's ``dense`` matrix:
``INDICATOR`` multi-hots, bucket and hash indices as one-hots, numbers as written. See
:func:`feature_plan` for what differs from the deep-learning flavors.
"""

from __future__ import annotations

import json
import platform
import warnings
from typing import Any

import fsspec
import numpy as np
import pyarrow as pa

from ... import contract
from ...contract import SIGNATURE_FILE, TrainingResult
from ...contract.model_packages import ModelPackages
from ...contract.settings import ignored_settings
from ...contract.spec import StepSpec
from .. import Reporter, StepError, scoring
from ..data import input_file, label_vector, numeric_matrix, training_and_validation
from ..evaluation import requested_metrics, requested_names
from ..features import FeaturePlan
from ._register import import_model, model_packages, plain, read_signature, unknown_parameters
from .trusted_types import load_skops

ARTIFACT = "model.skops"
SIGNATURE = SIGNATURE_FILE
#: The ``COLUMN`` group written without ``FOR``: the only one an estimator can take.
FEATURE_COLUMNS = "feature_columns"


def train(spec: StepSpec, reporter: Reporter) -> None:
    estimator_class = import_model(spec.model_reference)
    if not is_estimator_class(estimator_class):
        raise StepError(
            f"{spec.model_reference} is not a scikit-learn estimator (it needs fit and get_params)"
        )
    params = dict(spec.params.get("model", {}))
    base = _warm_start(spec, estimator_class, params, reporter) if spec.warm_start_uri else None
    estimator = base if base is not None else _construct(estimator_class, params, spec)
    for key, why in ignored_settings("sklearn", spec.params):
        reporter.log(f"warning: {key} is ignored here: {why}")
    table, validation = training_and_validation(spec, input_file(spec).table())
    plan = feature_plan(spec, table.schema)
    features = (
        list(plan.source_columns)
        if plan is not None
        else spec.features or [c for c in table.schema.names if c != spec.label]
    )
    reporter.log(
        f"training on {table.num_rows} rows, {len(features)} features: {', '.join(features)}"
        + (f"; {validation.num_rows} validation rows" if validation is not None else "")
    )
    if table.num_rows == 0:
        raise StepError("the training SELECT returned no rows")
    if plan is not None:
        fitted = saved_plan(read_signature(spec.warm_start_uri)) if spec.warm_start_uri else None
        # a warm start reads its inputs through the base's fitted plan: nothing is refit
        plan = fitted if fitted is not None else plan.fit([table], normalize=False)
        reporter.log(
            f"COLUMN clause: {len(features)} column(s) encoded as {plan.dense_width} "
            "input(s) of the estimator"
        )
        x = plan.encode(table).dense
    else:
        x = numeric_matrix(table, features)
    y = label_vector(table, spec.label) if spec.label else None
    try:
        estimator.fit(x, y) if y is not None else estimator.fit(x)
    except (ValueError, TypeError) as e:
        raise StepError(f"{spec.model_reference}.fit failed: {e}") from None
    metrics = {}
    held_out_rows = bool(validation is not None and validation.num_rows and spec.label)
    if validation is not None and held_out_rows and y is not None and spec.label:
        # validation.select / validation.split: rows the estimator never saw, scored first
        x_val = (
            plan.encode(validation).dense
            if plan is not None
            else numeric_matrix(validation, features)
        )
        y_val = label_vector(validation, spec.label)
        held_out = task_metrics(_task(estimator, y), y_val, estimator.predict(x_val))
        held_out.update(_requested(spec, estimator, x_val, y_val))
        metrics.update({f"val_{k}": v for k, v in held_out.items()})
        reporter.log(f"validated on {validation.num_rows} held-out rows")
    metrics.update(_training_metrics(estimator, x, y))
    if y is not None and not held_out_rows:  # no held-out rows: on the fit's own
        metrics.update(_requested(spec, estimator, x, y))
    reporter.log("metrics: " + ", ".join(f"{k}={v:.4f}" for k, v in metrics.items()))

    import sklearn
    import skops
    import skops.io as sio

    signature: dict[str, Any] = {
        "features": [{"name": f, "type": str(table.schema.field(f).type)} for f in features],
        "label": {"name": spec.label, "type": str(table.schema.field(spec.label).type)}
        if spec.label
        else None,
        "classes": [_plain(c) for c in getattr(estimator, "classes_", [])] or None,
        "task": _task(estimator, y),
    }
    if plan is not None:
        signature["feature_plan"] = plan.to_json()
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
        result=TrainingResult(
            kind="train",
            flavor="sklearn",
            metrics=metrics,
            training_rows=table.num_rows,
            features=features,
            label=spec.label,
            artifacts=[ARTIFACT, SIGNATURE],
            signature=signature,
            frameworks=frameworks,
            params={k: _plain(v) for k, v in estimator.get_params(deep=False).items()},
        ),
    )


def predict(spec: StepSpec, reporter: Reporter) -> None:
    estimator = load_estimator(spec.model_uri)
    plan = saved_plan(read_signature(spec.model_uri))

    def predicted(batch: pa.RecordBatch, kept: list[str]) -> Any:
        # A model registered without feature names reads every selected column, in order.
        features = list(spec.features or kept)
        x = plan.encode(batch).dense if plan is not None else numeric_matrix(batch, features)
        return _plain_array(estimator.predict(x))

    def probabilities() -> scoring.ClassProbabilities | None:
        classes = getattr(estimator, "classes_", None)
        if classes is None or not callable(getattr(estimator, "predict_proba", None)):
            return None

        def proba(batch: pa.RecordBatch, kept: list[str]) -> Any:
            features = list(spec.features or kept)
            x = plan.encode(batch).dense if plan is not None else numeric_matrix(batch, features)
            return estimator.predict_proba(x)

        return scoring.ClassProbabilities([_plain(c) for c in classes], proba)

    scoring.predict_into_table(
        spec, reporter, predicted, lambda: _prediction_type(spec.model_uri), probabilities
    )


def evaluate(spec: StepSpec, reporter: Reporter) -> None:
    """``TO EVALUATE``: the flavor-neutral metrics of ``runtime.scoring`` over this model."""
    scoring.evaluate(spec, SklearnPredictor.load(spec), reporter)


def explain(spec: StepSpec, reporter: Reporter) -> None:
    """``TO EXPLAIN``: the flavor-neutral attributions of ``runtime.scoring``; tree and
    linear estimators get exact SHAP values through ``native_model``."""
    scoring.explain(spec, SklearnPredictor.load(spec), reporter)


def load_predictor(spec: StepSpec) -> SklearnPredictor:
    """The version at ``spec.model_uri`` as a predictor (what every flavor module offers
    under this name; ``scoring.load_predictor`` dispatches to it)."""
    return SklearnPredictor.load(spec)


class SklearnPredictor:
    """A loaded estimator as ``scoring.Predictor``: Arrow in, numpy out.

    Without a feature plan, ``native_model`` is the estimator itself (it reads
    ``numeric_matrix(data, features)``), which lets SHAP use TreeExplainer or
    LinearExplainer on it. A model trained with a ``COLUMN`` clause reads the plan's
    encoding instead — other columns, in another number — so handing SHAP the estimator
    would explain inputs the model never saw: it has no ``native_model`` (``None``), and
    EXPLAIN attributes to the source columns through the predictor (permutation
    importance, or SHAP's model-agnostic explainers).
    """

    def __init__(
        self,
        estimator: Any,
        features: list[str],
        task: str,
        classes: list[Any] | None,
        plan: FeaturePlan | None = None,
    ) -> None:
        self.estimator = estimator
        self.native_model = estimator if plan is None else None
        self.features = list(plan.source_columns) if plan is not None else features
        self.task = task
        self.classes = classes
        self.plan = plan
        # EVALUATE with AUC asks for labels and probabilities of the same batch: convert once.
        self._last: tuple[pa.Table | pa.RecordBatch, np.ndarray] | None = None

    @classmethod
    def load(cls, spec: StepSpec) -> SklearnPredictor:
        """The version at ``spec.model_uri``; a model registered without feature names
        reads every selected column but the label, in order."""
        estimator = load_estimator(spec.model_uri)
        signature = read_signature(spec.model_uri)
        features = list(spec.features or [])
        if not features:
            features = [c for c in input_file(spec).schema().names if c != spec.label]
        classes = signature.get("classes")
        if classes is None and getattr(estimator, "classes_", None) is not None:
            classes = [_plain(c) for c in estimator.classes_]
        task = str(signature.get("task", "supervised"))
        return cls(estimator, features, task, classes, saved_plan(signature))

    def _matrix(self, data: pa.Table | pa.RecordBatch) -> np.ndarray:
        if self._last is not None and self._last[0] is data:
            return self._last[1]
        if self.plan is not None:
            x = self.plan.encode(data).dense
        else:
            x = numeric_matrix(data, self.features)
        self._last = (data, x)
        return x

    def predict(self, data: pa.Table | pa.RecordBatch) -> np.ndarray:
        return np.asarray(self.estimator.predict(self._matrix(data)))

    def predict_proba(self, data: pa.Table | pa.RecordBatch) -> np.ndarray | None:
        if not hasattr(self.estimator, "predict_proba"):
            return None
        return np.asarray(self.estimator.predict_proba(self._matrix(data)))


def register(spec: StepSpec, reporter: Reporter) -> None:
    """Rikai's ``CREATE MODEL m USING 'uri'``: check that the skops file holds trusted
    types only (``trusted_types.py``: exact names, nothing that runs code), load it, then
    copy it into the reserved version with a signature."""
    try:
        with fsspec.open(spec.input_uri, "rb") as f:
            data = f.read()
    except (OSError, ValueError) as e:
        raise StepError(f"cannot read the model file {spec.input_uri}: {e}") from None
    estimator = load_skops(data, spec.input_uri, model_packages())
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
        result=TrainingResult(
            kind="register",
            flavor="sklearn",
            model_reference=reference,
            features=features or [],
            signature=signature,
            artifacts=[ARTIFACT, SIGNATURE],
            frameworks={
                "python": platform.python_version(),
                "scikit-learn": sklearn.__version__,
            },
            params=plain(estimator.get_params(deep=False))  # a Pipeline's steps: names
            if hasattr(estimator, "get_params")
            else {},
        ),
    )


def feature_plan(spec: StepSpec, schema: pa.Schema) -> FeaturePlan | None:
    """The training step's ``COLUMN`` clause as an unfitted plan; ``None`` without one,
    which keeps the plain matrix of every selected column but the label.

    It is fitted with ``normalize=False``: trees — the usual estimators here — split on
    thresholds, which standardizing does not move, and scikit-learn fits every estimator
    on the values as given, leaving scaling to an explicit step (a ``StandardScaler`` in
    the user's own pipeline class). So numbers reach the estimator as written, and a
    missing one is 0, not the training mean as in the deep-learning flavors. ``EMBEDDING`` asks for
    vectors learned with the network and an estimator learns none: it is an error that
    points at ``INDICATOR`` or a DNN model. ``COLUMN … FOR arg`` names a constructor
    argument that takes feature columns; an estimator takes one matrix, so only the
    clause without ``FOR`` is accepted.
    """
    groups = spec.columns
    if not groups:
        return None
    others = [g for g in groups if g != FEATURE_COLUMNS]
    if others:
        raise StepError(
            f"COLUMN … FOR {others[0]}: {spec.model_reference} is a scikit-learn estimator, "
            "which takes all its features as one matrix; write one COLUMN clause without FOR"
        )
    columns = groups.get(FEATURE_COLUMNS) or []
    for column in columns:
        if str(column.get("function", "")).upper() == "EMBEDDING":
            raise StepError(_embedding_error(column, spec.model_reference))
    exclude = {spec.label} if spec.label else set()
    return FeaturePlan.infer(columns, schema, exclude)


def saved_plan(signature: dict[str, Any]) -> FeaturePlan | None:
    """The fitted plan a model was trained with (``None``: a model trained without a
    ``COLUMN`` clause, or before there was one, or registered from a file)."""
    raw = signature.get("feature_plan")
    return FeaturePlan.from_json(raw) if raw else None


def _embedding_error(column: dict[str, Any], reference: str) -> str:
    category = column.get("category")
    function = (
        str(category.get("function", "CATEGORY_ID")).upper()
        if isinstance(category, dict)
        else "CATEGORY_ID"
    )
    names = ", ".join(_column_names(category)) or "…"
    return (
        f"COLUMN EMBEDDING({function}({names}, …), …): an embedding is a table of vectors "
        f"learned together with a neural network, and {reference} is a scikit-learn "
        f"estimator, which learns no such table — write INDICATOR({function}({names}, …)) "
        "for one input per category, or train a DNN model that learns embeddings (e.g. "
        "TO TRAIN DNNClassifier)"
    )


def _column_names(spec: Any) -> list[str]:
    """The column names an expression of the COLUMN clause (as JSON) reads, in order."""
    if isinstance(spec, dict):
        if str(spec.get("function", "")).upper() == "COLUMN" and "name" in spec:
            return [str(spec["name"])]
        return list(dict.fromkeys(n for v in spec.values() for n in _column_names(v)))
    if isinstance(spec, list):
        return list(dict.fromkeys(n for v in spec for n in _column_names(v)))
    return []


def load_estimator(model_uri: str, packages: ModelPackages | None = None) -> Any:
    """A version's skops artifact, trusting the exact types of ``trusted_types.py`` and
    the classes of ``packages`` (default: what this process may import,
    ``$SQLML_ALLOWED_MODEL_PACKAGES``) — never a function, method or constructor call."""
    uri = f"{model_uri.rstrip('/')}/{ARTIFACT}"
    with fsspec.open(uri, "rb") as f:
        data = f.read()
    return load_skops(data, uri, packages if packages is not None else model_packages())


def is_estimator_class(candidate: object) -> bool:
    return contract.is_estimator_class(candidate)


def _construct(estimator_class: type, params: dict[str, Any], spec: StepSpec) -> Any:
    """Check WITH model.* against the estimator's parameters before constructing it
    (``contract.ConstructorSignature.of_estimator``, which ``sqlml check`` uses too)."""
    signature = contract.ConstructorSignature.of_estimator(estimator_class)
    if signature is not None:
        unknown = signature.unknown(params)
        if unknown:
            raise unknown_parameters(spec.model_reference, unknown, signature.parameters)
        if "random_state" in signature.parameters and "random_state" not in params:
            params["random_state"] = spec.seed
    try:
        return estimator_class(**params)
    except (TypeError, ValueError) as e:
        raise StepError(f"cannot construct {spec.model_reference} with {params}: {e}") from None


def _warm_start(
    spec: StepSpec, estimator_class: type, params: dict[str, Any], reporter: Reporter
) -> Any:
    """``USING base@v``: the base version's fitted estimator, set to continue fitting
    (``warm_start=True``) with the statement's ``model.*`` — a random forest grows more
    trees, a linear model starts from its coefficients. Its class must be the statement's."""
    assert spec.warm_start_uri is not None
    base: Any = load_estimator(spec.warm_start_uri)
    base_reference = f"{type(base).__module__}.{type(base).__qualname__}"
    if not _same_class(base, estimator_class):
        raise StepError(
            f"cannot warm-start {spec.model_reference} from {_ref(spec.warm_start_uri)}, "
            f"which is a {base_reference}"
        )
    if "warm_start" not in base.get_params(deep=False):
        raise StepError(
            f"{spec.model_reference} has no warm_start parameter: it cannot continue "
            f"fitting {_ref(spec.warm_start_uri)}; train it without USING"
        )
    signature = contract.ConstructorSignature.of_estimator(estimator_class)
    if signature is not None:
        unknown = signature.unknown(params)
        if unknown:
            raise unknown_parameters(spec.model_reference, unknown, signature.parameters)
    try:
        base.set_params(**params, warm_start=True)
    except (TypeError, ValueError) as e:
        raise StepError(f"cannot set {params} on {_ref(spec.warm_start_uri)}: {e}") from None
    reporter.log(f"warm start: continuing to fit {_ref(spec.warm_start_uri)}")
    return base


def _same_class(instance: object, cls: type) -> bool:
    return type(instance) is cls


def _ref(uri: str) -> str:
    """``model@3`` of a version folder URI."""
    parts = uri.rstrip("/").rsplit("/", 2)
    return f"{parts[-2]}@{parts[-1]}" if len(parts) == 3 else uri


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
    task = _task(estimator, y)
    if y is None:
        inertia = getattr(estimator, "inertia_", None)
        return {"inertia": float(inertia)} if inertia is not None else {}
    return task_metrics(task, y, estimator.predict(x))


def _requested(spec: StepSpec, estimator: Any, x: Any, y: np.ndarray) -> dict[str, float]:
    """``validation.metrics`` of the estimator on ``x``/``y`` (probabilities when it has
    ``predict_proba``)."""
    names = requested_names(spec)
    if not names:
        return {}
    proba = estimator.predict_proba(x) if hasattr(estimator, "predict_proba") else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        predicted = estimator.predict(x)
    return requested_metrics(names, y, predicted, proba, getattr(estimator, "classes_", None))


def task_metrics(task: str, y: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """What a model page shows for a fit: accuracy and macro F1 for a classifier, R², RMSE
    and MAE for a regressor (the XGBoost flavor reports the same names)."""
    from sklearn import metrics

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
    signature = read_signature(model_uri)
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
