"""XGBoost flavor: SQLFlow's ``TO TRAIN xgboost.gbtree|gblinear|dart`` (and ``XGBRegressor``…)
trained with ``xgboost.train``, as SQLFlow's own runtime does
(``python/runtime/step/xgboost/train.py``).

* The reference picks defaults (``booster``, ``objective``: ``contract/xgboost_params.py``);
  ``WITH objective = …, eta = 0.1, max_depth = 5`` (bare or ``model.``) are booster
  parameters, checked against XGBoost's parameter list before anything is read;
  ``train.num_boost_round`` is the number of rounds (default 10, SQLFlow's).
* ``validation.select`` (or ``validation.split``) is the ``validate`` set of every round:
  its metric per round is the history, its final scores the model's ``val_*`` metrics.
* A classification objective (``binary:*``, ``multi:*``) learns class indices: labels that
  are not already ``0 … k-1`` are mapped to them and back; ``multi:*`` without
  ``num_class`` gets the number of classes in the rows.
* The booster is saved as ``model.ubj`` — XGBoost's own UBJSON model format, a data
  format its C++ loader reads without running any code of the file's — never pickled.
* A ``COLUMN`` clause is encoded like the scikit-learn flavor's (``FeaturePlan``, saved in
  ``signature.json``), so every step and ``ML_PREDICT`` encode the same way.
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Sequence
from typing import Any

import fsspec
import numpy as np
import pyarrow as pa

from ...contract import TrainingResult
from ...contract.settings import ignored_settings
from ...contract.spec import StepSpec
from ...contract.trials import is_booster_objective
from ...contract.xgboost_params import (
    BOOSTED_TREES,
    BOOSTED_TREES_ROUNDS,
    DEFAULT_ROUNDS,
    XGBOOST_ESTIMATORS,
    accepted_model_params,
    ignored_model_params,
    translate_boosted_trees,
    xgboost_estimator,
)
from .. import Reporter, StepError, scoring
from ..data import input_file, label_vector, numeric_matrix, training_and_validation
from ..evaluation import requested_metrics, requested_names
from ..features import FeaturePlan
from ._register import read_signature, unknown_parameters, write_version
from .sklearn import feature_plan, saved_plan, task_metrics

ARTIFACT = "model.ubj"


def train(spec: StepSpec, reporter: Reporter) -> None:
    estimator = xgboost_estimator(spec.model_reference)
    if estimator is None:
        raise StepError(
            f"{spec.model_reference} is not one of SQLFlow's XGBoost estimators: "
            + ", ".join(XGBOOST_ESTIMATORS)
        )
    for key, why in ignored_settings("xgboost", spec.params):
        reporter.log(f"warning: {key} is ignored here: {why}")
    params, rounds, missing = booster_params(spec, estimator, reporter)
    table = input_file(spec).table()
    if table.num_rows == 0:
        raise StepError("the training SELECT returned no rows")
    if not spec.label:
        raise StepError(f"{spec.model_reference} learns from a label: write LABEL <column>")
    plan = feature_plan(spec, table.schema)
    if plan is not None:
        plan = plan.fit([table], normalize=False)
        features = list(plan.source_columns)
    else:
        features = spec.features or [c for c in table.schema.names if c != spec.label]
    task = task_of(params)
    training, validation = training_and_validation(spec, table)
    x, y_raw = _matrix(plan, training, features), label_vector(training, spec.label)
    classes = _classes(task, params, y_raw) if task == "classification" else None
    y = _encode(y_raw, classes)
    if classes is not None and str(params.get("objective", "")).startswith("multi:"):
        params.setdefault("num_class", len(classes))
    import xgboost as xgb

    dtrain = xgb.DMatrix(x, label=y, missing=missing, feature_names=_names(features, plan))
    evals = [(dtrain, "train")]
    x_val = y_val = None
    if validation is not None and validation.num_rows:
        x_val, y_val = (
            _matrix(plan, validation, features),
            _encode(label_vector(validation, spec.label), classes),
        )
        evals.append(
            (
                xgb.DMatrix(
                    x_val, label=y_val, missing=missing, feature_names=dtrain.feature_names
                ),
                "validate",
            )
        )
    reporter.log(
        f"training {estimator} for {rounds} rounds on {training.num_rows} rows, "
        f"{len(features)} features"
        + (f", validating on {validation.num_rows} rows" if validation is not None else "")
    )
    base = _warm_start(spec, features, reporter)
    evals_result: dict[str, dict[str, list[float]]] = {}
    began = time.perf_counter()
    try:
        booster = xgb.train(
            params,
            dtrain,
            num_boost_round=rounds,
            evals=evals,
            evals_result=evals_result,
            verbose_eval=False,
            xgb_model=base,
        )
    except xgb.core.XGBoostError as e:
        raise StepError(f"XGBoost refused the training: {_first_line(e)}") from None
    seconds = time.perf_counter() - began
    history = _history(evals_result, rounds)
    for row in history[-1:]:
        reporter.log(
            f"round {int(row['epoch'])}: "
            + ", ".join(f"{k}={v:.4f}" for k, v in row.items() if k != "epoch")
        )
    metrics = {}
    names = requested_names(spec)
    if x_val is not None and y_val is not None:
        scored = _scores(booster, x_val, y_val, task, missing, names)
        metrics.update({f"val_{k}": v for k, v in scored.items()})
    metrics.update(_scores(booster, x, y, task, missing, () if x_val is not None else names))
    reporter.log("metrics: " + ", ".join(f"{k}={v:.4f}" for k, v in metrics.items()))

    signature: dict[str, Any] = {
        "features": [{"name": f, "type": str(table.schema.field(f).type)} for f in features],
        "label": {"name": spec.label, "type": str(table.schema.field(spec.label).type)},
        "classes": classes,
        "task": task,
        "objective": params.get("objective"),
        "missing": None if np.isnan(missing) else missing,
        "format": "ubj",
    }
    if plan is not None:
        signature["feature_plan"] = plan.to_json()
    artifacts = write_version(
        spec.model_uri, {ARTIFACT: bytes(booster.save_raw(raw_format="ubj"))}, signature
    )
    reporter.result(
        metadata={
            **{f"metric/{k}": v for k, v in metrics.items()},
            "training_rows": training.num_rows,
        },
        result=TrainingResult(
            kind="train",
            flavor="xgboost",
            metrics=metrics,
            history=history,
            training_rows=training.num_rows,
            training_seconds=round(seconds, 4),
            features=features,
            label=spec.label,
            artifacts=artifacts,
            signature=signature,
            frameworks={
                "python": platform.python_version(),
                "xgboost": xgb.__version__,
                "numpy": np.__version__,
            },
            params={**params, "num_boost_round": rounds},
        ),
    )


def _warm_start(spec: StepSpec, features: list[str], reporter: Reporter) -> Any:
    """SQLFlow's ``TO TRAIN … USING <trained model>``: the booster boosting continues from
    (checked against its manifest's checksums, read by XGBoost's loader), or None. It
    must read the same features, in the same order."""
    if not spec.warm_start_uri:
        return None
    from ...store.models import CorruptVersion, verify_artifacts

    try:
        verify_artifacts(spec.warm_start_uri)
    except CorruptVersion as e:
        raise StepError(str(e)) from None
    signature = read_signature(spec.warm_start_uri)
    if signature.get("format") != "ubj":
        raise StepError(
            f"USING names a model that is not an XGBoost model ({spec.warm_start_uri}); "
            "training continues only from a version an XGBoost estimator trained"
        )
    before = [f["name"] for f in signature.get("features") or []]
    if before != features:
        raise StepError(
            f"the trained model read the features {', '.join(before)}; this SELECT gives "
            f"{', '.join(features)} — continuing training needs the same columns in order"
        )
    booster = load_booster(spec.warm_start_uri)
    reporter.log(f"continuing from {booster.num_boosted_rounds()} rounds of {spec.warm_start_uri}")
    return booster


def booster_params(
    spec: StepSpec, estimator: str, reporter: Reporter | None = None
) -> tuple[dict[str, Any], int, float]:
    """The estimator's defaults with ``WITH model.*`` over them, the number of rounds and
    the missing-value marker; a key XGBoost does not know is a :class:`StepError`."""
    given = dict(spec.params.get("model", {}))
    objective = spec.param("train", "objective")
    if is_booster_objective(objective) and "objective" not in given:
        given["objective"] = objective  # SQLFlow's train.objective = "reg:linear"
    accepted, ignored = accepted_model_params(estimator), ignored_model_params(estimator)
    unknown = sorted(k for k in given if k not in accepted)
    if unknown:
        raise unknown_parameters(spec.model_reference, unknown, sorted(accepted))
    for key in [k for k in given if k in ignored]:
        if reporter is not None:
            reporter.log(f"warning: {key} is ignored here: {ignored[key]}")
        del given[key]
    if estimator in BOOSTED_TREES:
        try:
            given = translate_boosted_trees(estimator, given)
        except ValueError as e:
            raise StepError(f"{spec.model_reference}: {e}") from None
    written = {
        key: value
        for key, value in (
            ("train.num_boost_round", spec.param("train", "num_boost_round")),
            ("num_boost_round", given.pop("num_boost_round", None)),
            ("n_estimators", given.pop("n_estimators", None)),
        )
        if value is not None
    }
    if len(set(map(repr, written.values()))) > 1:
        raise StepError(
            " and ".join(f"{k} = {v!r}" for k, v in written.items())
            + " all set the number of rounds; write one"
        )
    rounds = next(iter(written.values()), None)
    if rounds is None:
        rounds = BOOSTED_TREES_ROUNDS if estimator in BOOSTED_TREES else DEFAULT_ROUNDS
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        raise StepError(f"train.num_boost_round must be a whole number ≥ 1, found {rounds!r}")
    missing = given.pop("missing", None)
    if missing is not None and (isinstance(missing, bool) or not isinstance(missing, (int, float))):
        raise StepError(f"missing must be a number, found {missing!r}")
    params: dict[str, Any] = {**XGBOOST_ESTIMATORS[estimator], **given}
    params.setdefault("seed", spec.seed)
    device = spec.param("train", "device")
    if device is not None:
        params.setdefault("device", device)
    verbose = spec.param("train", "verbose")
    params.setdefault("verbosity", 1 if verbose else 0)
    return params, rounds, float("nan") if missing is None else float(missing)


def task_of(params: dict[str, Any]) -> str:
    """``classification`` for ``binary:*``/``multi:*`` objectives, ``ranking`` for
    ``rank:*``, else ``regression`` (XGBoost's default objective is ``reg:squarederror``)."""
    objective = str(params.get("objective") or "reg:squarederror")
    if objective.startswith(("binary:", "multi:")):
        return "classification"
    if objective.startswith("rank:"):
        return "ranking"
    return "regression"


def _matrix(plan: FeaturePlan | None, data: pa.Table | pa.RecordBatch, features: list[str]) -> Any:
    return plan.encode(data).dense if plan is not None else numeric_matrix(data, features)


def _names(features: list[str], plan: FeaturePlan | None) -> list[str] | None:
    """Feature names for the booster (SHAP and XGBoost's importances show them); an
    encoded plan's inputs are not the source columns, so it gets none."""
    return list(features) if plan is None else None


def _classes(task: str, params: dict[str, Any], labels: np.ndarray) -> list[Any]:
    """The class of each index: ``0 … k-1`` as written when the labels already are such
    indices (SQLFlow's convention), else the distinct labels in order."""
    values = [_plain(v) for v in np.unique(labels)]
    k = int(
        params.get("num_class") or (2 if str(params.get("objective")).startswith("binary:") else 0)
    )
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        width = max(k, (max(values) + 1) if values else 0)
        if values and min(values) >= 0 and width <= max(k, len(values), 2):
            return list(range(width))
    if k and len(values) > k:
        raise StepError(f"the label has {len(values)} classes but num_class is {k}")
    return values


def _encode(labels: np.ndarray, classes: list[Any] | None) -> np.ndarray:
    if classes is None:
        try:
            return labels.astype(np.float64)
        except (TypeError, ValueError):
            raise StepError("a regression objective needs a numeric label") from None
    index = {c: i for i, c in enumerate(classes)}
    try:
        return np.array([index[_plain(v)] for v in labels], dtype=np.float64)
    except KeyError as e:
        raise StepError(
            f"label value {e.args[0]!r} is not a class the model was trained on"
        ) from None


def _history(evals_result: dict[str, dict[str, list[float]]], rounds: int) -> list[dict[str, Any]]:
    """One row per round: ``train_rmse``, ``val_rmse``… (XGBoost's eval metrics)."""
    prefix = {"train": "train_", "validate": "val_"}
    rows: list[dict[str, Any]] = [{"epoch": i + 1} for i in range(rounds)]
    for name, series in evals_result.items():
        for metric, values in series.items():
            for row, value in zip(rows, values, strict=False):
                row[f"{prefix.get(name, name + '_')}{metric}"] = float(value)
    return rows


def _scores(
    booster: Any,
    x: np.ndarray,
    y: np.ndarray,
    task: str,
    missing: float,
    names: Sequence[str] = (),
) -> dict[str, float]:
    """The model page's metrics, and ``validation.metrics``' (``names``) as TO EVALUATE
    computes them; classes are the label's codes here, probabilities the booster's."""
    import xgboost as xgb

    out = booster.predict(xgb.DMatrix(x, missing=missing, feature_names=booster.feature_names))
    if task == "classification":
        indices = _indices(out)
        scores = task_metrics(task, y.astype(np.int64), indices)
        if names:
            proba = _probabilities(booster, np.asarray(out))
            classes = range(proba.shape[1]) if proba is not None else None
            scores.update(requested_metrics(names, y.astype(np.int64), indices, proba, classes))
        return scores
    if task == "regression":
        values = np.asarray(out, dtype=np.float64).reshape(len(y), -1)[:, 0]
        scores = task_metrics(task, y, values)
        if names:
            scores.update(requested_metrics(names, y, values, None, None))
        return scores
    return {}


def _probabilities(booster: Any, output: np.ndarray) -> np.ndarray | None:
    """Class probabilities of a booster's output, by its objective: ``multi:softprob``'s
    rows, ``binary:logistic``'s positive-class probability; ``None`` for the objectives
    that give margins (``binary:logitraw``) or class indices (``multi:softmax``)."""
    objective = json.loads(booster.save_config())["learner"]["objective"]["name"]
    if objective == "multi:softprob" and output.ndim == 2:
        return output
    if objective == "binary:logistic" and output.ndim == 1:
        return np.column_stack([1.0 - output, output])
    return None


def _indices(output: np.ndarray) -> np.ndarray:
    """Class indices from a booster's output: probabilities of each class (``multi:softprob``),
    the index itself (``multi:softmax``), or the positive class's probability or margin
    (``binary:*``)."""
    output = np.asarray(output)
    if output.ndim == 2:
        return np.argmax(output, axis=1)
    if output.size and np.all(np.equal(np.mod(output, 1), 0)) and output.max() > 1:
        return output.astype(np.int64)
    return (output > 0.5).astype(np.int64)


def _first_line(e: BaseException) -> str:
    lines = [line for line in str(e).splitlines() if line.strip() and "Stack trace" not in line]
    return lines[0] if lines else type(e).__name__


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


# -- scoring ------------------------------------------------------------------------------


def load_booster(model_uri: str) -> Any:
    """A version's ``model.ubj``, read by XGBoost's own loader from bytes."""
    import xgboost as xgb

    uri = f"{model_uri.rstrip('/')}/{ARTIFACT}"
    with fsspec.open(uri, "rb") as f:
        data = f.read()
    booster = xgb.Booster()
    try:
        booster.load_model(bytearray(data))
    except xgb.core.XGBoostError as e:
        raise StepError(f"cannot load {uri}: {_first_line(e)}") from None
    return booster


class XGBoostPredictor:
    """A loaded booster as ``scoring.Predictor``: Arrow in, labels or values out. When its
    inputs are the columns themselves, ``native_model`` is the booster, which SHAP's
    TreeExplainer reads (exact tree SHAP values)."""

    def __init__(self, booster: Any, signature: dict[str, Any], features: list[str]) -> None:
        self.booster = booster
        self.plan = saved_plan(signature)
        # A COLUMN clause of plain numeric columns (the tutorial's) encodes each column as
        # itself: SHAP may read the booster over the columns then too.
        plain = self.plan is None or self.plan.dense_names == self.plan.source_columns
        self.native_model = booster if plain else None
        self.features = list(self.plan.source_columns) if self.plan is not None else features
        self.task = str(signature.get("task", "regression"))
        self.classes = signature.get("classes")
        self.objective = str(signature.get("objective") or "")
        missing = signature.get("missing")
        self.missing = float("nan") if missing is None else float(missing)

    @classmethod
    def load(cls, spec: StepSpec) -> XGBoostPredictor:
        signature = read_signature(spec.model_uri)
        features = [f["name"] for f in signature.get("features") or []]
        return cls(load_booster(spec.model_uri), signature, features)

    def raw(self, data: pa.Table | pa.RecordBatch) -> np.ndarray:
        import xgboost as xgb

        x = _matrix(self.plan, data, self.features)
        names = self.features if self.plan is None else None
        return np.asarray(
            self.booster.predict(xgb.DMatrix(x, missing=self.missing, feature_names=names))
        )

    def predict(self, data: pa.Table | pa.RecordBatch) -> np.ndarray:
        out = self.raw(data)
        if self.task == "classification" and self.classes:
            classes = np.asarray(self.classes, dtype=object)
            labels = classes[_indices(out)]
            return labels.astype(type(self.classes[0])) if labels.size else labels
        return out.reshape(len(out), -1)[:, 0] if out.ndim == 2 else out

    def predict_proba(self, data: pa.Table | pa.RecordBatch) -> np.ndarray | None:
        if self.task != "classification" or self.objective in ("multi:softmax", "binary:hinge"):
            return None
        out = self.raw(data)
        if out.ndim == 2:
            return out
        if self.objective == "binary:logitraw":
            out = 1.0 / (1.0 + np.exp(-out))
        return np.column_stack([1.0 - out, out])


def load_predictor(spec: StepSpec) -> XGBoostPredictor:
    """The version at ``spec.model_uri`` as a predictor: what ``scoring.load_predictor``
    (``sqlml serve``, ML_PREDICT in process) finds on every flavor module."""
    return XGBoostPredictor.load(spec)


def predict(spec: StepSpec, reporter: Reporter) -> None:
    predictor = XGBoostPredictor.load(spec)
    scoring.predict_into_table(
        spec,
        reporter,
        lambda batch, _: predictor.predict(batch).tolist(),
        lambda: pa.float64() if predictor.task != "classification" else pa.string(),
        lambda: (
            scoring.ClassProbabilities(
                list(predictor.classes or ()), lambda batch, _: predictor.predict_proba(batch)
            )
            if predictor.task == "classification"
            and predictor.classes
            and predictor.objective not in ("multi:softmax", "binary:hinge")
            else None
        ),
    )


def evaluate(spec: StepSpec, reporter: Reporter) -> None:
    """``TO EVALUATE``: the flavor-neutral metrics of ``runtime.scoring``."""
    scoring.evaluate(spec, XGBoostPredictor.load(spec), reporter)


def explain(spec: StepSpec, reporter: Reporter) -> None:
    """``TO EXPLAIN … USING TreeExplainer`` (or SQLFlow's ``XGBoostExplainer``): exact
    SHAP values of the booster."""
    scoring.explain(spec, XGBoostPredictor.load(spec), reporter)
