"""Flavor-neutral scoring: EVALUATE's metrics (``evaluation.py``) and EXPLAIN's feature
attributions.

Both only need a model that predicts from Arrow data, so they live here once instead of in
every flavor: a flavor wraps its loaded model in a :class:`Predictor` (a few lines) and
calls :func:`evaluate` or :func:`explain`. Data stays in Arrow until the predictor turns it
into whatever its framework eats, which is what lets EXPLAIN shuffle a column of any type
and lets a PyTorch or Keras flavor reuse all of this without scikit-learn's matrices.

EXPLAIN's methods (``StepSpec.explainer``, SQLFlow's ``USING …``):

- ``permutation`` — permutation importance: each feature column is shuffled within the
  sample (``explain.repeats`` times, default 5) and the score drop is measured: accuracy
  for classification, R² for regression. When the SELECT has no label (no ``spec.label``
  or its column is missing) there is no score, so the measure is how much the model's
  output moves instead: the mean total-variation change of the class probabilities
  (for two classes, the change of the positive class's probability), the mean absolute
  change of a regressor's prediction, or the share of changed labels for a classifier
  without probabilities. Works for any predictor and any column type.
- ``shap`` / ``TreeExplainer`` / ``LinearExplainer`` / ``KernelExplainer`` — mean |SHAP
  value| per feature (``importance_std``: its spread over the rows). Needs the optional
  ``shap`` package in the step image. Tree and linear explainers need the predictor's
  ``native_model``; ``KernelExplainer`` and plain ``shap`` on other models treat the
  predictor as a black box (slow: KernelExplainer explains 100 rows unless
  ``explain.max_rows`` says otherwise).
- ``auto`` (no ``USING``) — SHAP when ``shap`` imports and the model is one that SHAP
  explains exactly and fast (trees, linear models), otherwise permutation importance.
"""

from __future__ import annotations

import difflib
import posixpath
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pyarrow as pa

from ..contract import (
    DEFAULT_EVALUATION_METRICS,
    EVALUATION_METRICS,
    ExplanationResult,
    PredictionResult,
)
from ..contract.explain import (
    BAD_EXPLAIN_OPTION,
    BASE_VALUE,
    EXPLAINED_CLASS,
    MODEL_OUTPUT,
    NO_PER_ROW,
    PER_ROW_KEY,
    PER_ROW_RESERVED,
    ROW_NUMBER,
)
from ..contract.spec import StepSpec
from . import Reporter, StepError
from .data import (
    DataFile,
    input_file,
    label_vector,
    numeric_matrix,
    output_file,
    sample_row_numbers,
    sample_rows,
)
from .evaluation import evaluate, metric_names
from .explain_charts import Chart, RowAttributions, bar_chart, shap_chart

if TYPE_CHECKING:
    from ..store.records import ModelVersion

__all__ = [
    "DEFAULT_METRICS",
    "METRICS",
    "PLOT_FILE",
    "ROWS_FILE",
    "Predictor",
    "RowError",
    "evaluate",
    "explain",
    "load_predictor",
    "metric_names",
    "plain_values",
    "rows_table",
]


class Predictor(Protocol):
    """What EVALUATE and EXPLAIN need from a flavor's loaded model.

    A predictor may also have a ``native_model`` attribute: the framework's model object,
    called with ``numeric_matrix(data, features)``. SHAP uses it to pick an exact,
    model-specific explainer (TreeExplainer for tree ensembles, LinearExplainer for linear
    models); without it SHAP can only treat the predictor as a black box.
    """

    # Read-only properties, so that a plain attribute and a @property both satisfy them.
    @property
    def task(self) -> str:
        """The kind of model: "classification", "regression", or e.g. "supervised" if unknown."""
        ...

    @property
    def classes(self) -> list[Any] | None:
        """Class labels in the order of ``predict_proba``'s columns; None for regressors."""
        ...

    @property
    def features(self) -> list[str]:
        """The source columns the model reads, in its order."""
        ...

    def predict(self, data: pa.Table | pa.RecordBatch) -> np.ndarray:
        """Labels for a classifier, values for a regressor: one per row."""
        ...

    def predict_proba(self, data: pa.Table | pa.RecordBatch) -> np.ndarray | None:
        """Class probabilities, ``[rows, len(classes)]``; None when the model has none."""
        ...


# -- EVALUATE ---------------------------------------------------------------------------

#: ``validation.metrics`` names (case-insensitive, SQLFlow/Keras spellings too) → the
#: canonical metric; one table with the compiler's (``contract/metrics.py``). EVALUATE
#: itself — metrics, curves, residuals — is ``runtime/evaluation.py``.
METRICS = EVALUATION_METRICS
DEFAULT_METRICS = DEFAULT_EVALUATION_METRICS


# -- scoring rows that arrive one request at a time (``sqlml serve``) ------------------------


class RowError(StepError):
    """A row of a request that cannot be scored: which row, which field, why."""

    def __init__(self, row: int, field: str, problem: str) -> None:
        super().__init__(f"row {row}: field '{field}' {problem}")
        self.row, self.field, self.problem = row, field, problem


def load_predictor(spec: StepSpec) -> Predictor:
    """A version (``spec.model_uri``, checked against its sha256s first) loaded by its
    flavor as the :class:`Predictor` that PREDICT, EVALUATE and EXPLAIN use."""
    import importlib

    from ..store.models import CorruptVersion, verify_artifacts

    try:
        verify_artifacts(spec.model_uri)
    except CorruptVersion as e:
        raise StepError(str(e)) from None
    from ..contract.flavors import FLAVORS

    if spec.flavor not in FLAVORS:  # a manifest's word, never a module path to import
        raise StepError(
            f"flavor '{spec.flavor}' is not one of {', '.join(sorted(FLAVORS))}: the version's "
            "manifest is damaged or from another tool"
        )
    if spec.flavor in ("keras", "auto"):
        # as a step does before TensorFlow loads: tf.keras is the Keras 2 API that SQLFlow's
        # model-zoo files (and their saved weights) are written against
        from ..contract.constructors import prefer_tf_keras

        prefer_tf_keras()
    flavor = importlib.import_module(f"{__package__}.flavors.{spec.flavor}")
    loader = getattr(flavor, "load_predictor", None)
    if loader is None:
        raise StepError(f"flavor '{spec.flavor}' cannot load a predictor")
    predictor: Predictor = loader(spec)
    return predictor


def version_spec(version: ModelVersion, step_id: str, features: Sequence[str]) -> StepSpec:
    """The predict spec that loads ``version`` with :func:`load_predictor` outside a step
    (``sqlml serve``, ``ML_PREDICT``'s scoring worker): no data files, only the version."""
    m = version.manifest
    return StepSpec(
        kind="predict",
        step_id=step_id,
        model_name=m.model,
        model_reference=m.model_reference,
        flavor=m.flavor,
        features=list(features),
        model_uri=version.uri,
        model_version=m.version,
    )


def rows_table(rows: Sequence[Any], fields: Sequence[tuple[str, str]]) -> pa.Table:
    """JSON rows (``{column: value}``) as the Arrow table a predictor reads: one column per
    feature ``(name, Arrow type)`` of the version's signature, typed as in training, NULL
    where a row says ``null``; other keys are ignored, as TO PREDICT keeps other columns.
    A missing field or a value of the wrong type is a :class:`RowError` naming it."""
    columns: dict[str, pa.Array] = {}
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise RowError(i, "", f"is a JSON {type(row).__name__}, not an object")
    for name, type_name in fields:
        values = []
        for i, row in enumerate(rows):
            if name not in row:
                raise RowError(i, name, "is missing")
            values.append(row[name])
        arrow_type = _arrow_type(type_name)
        for i, value in enumerate(values):
            if value is not None and not _fits(value, arrow_type):
                raise RowError(i, name, f"is {value!r}, not a {type_name}")
        try:
            columns[name] = pa.array(values, type=arrow_type)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
            for i, value in enumerate(values):
                try:
                    pa.array([value], type=arrow_type)
                except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
                    raise RowError(i, name, f"is {value!r}, not a {type_name}") from None
            raise
    return pa.table(columns) if columns else pa.table({"_": pa.nulls(len(rows))}).drop(["_"])


def _fits(value: Any, arrow_type: pa.DataType | None) -> bool:
    """Whether a JSON value is one of ``arrow_type`` without losing anything: Arrow would
    truncate ``2.5`` into an integer column and read ``true`` as the number 1."""
    if arrow_type is None:
        return True
    if pa.types.is_integer(arrow_type):
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if pa.types.is_floating(arrow_type):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if pa.types.is_boolean(arrow_type):
        return isinstance(value, bool)
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return isinstance(value, str)
    return True


def _arrow_type(name: str) -> pa.DataType | None:
    """A signature's type name (``double``, ``int64``, ``string``…) as Arrow's type;
    ``None`` (inferred from the values) for a type it cannot name in one word."""
    try:
        return pa.type_for_alias(name)
    except ValueError:
        return None


def plain_values(values: np.ndarray) -> list[Any]:
    """A predictor's output as JSON values (numpy scalars → Python numbers, NaN → null)."""
    out = np.asarray(values).tolist()
    return [None if isinstance(v, float) and v != v else v for v in out]


# -- PREDICT ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassProbabilities:
    """What ``predict.probabilities = true`` needs from a classifier: its classes and a
    ``[rows, classes]`` probability matrix for a batch (``proba(batch, kept names)``)."""

    classes: Sequence[Any]
    proba: Callable[[pa.RecordBatch, list[str]], Any]


def predict_into_table(
    spec: StepSpec,
    reporter: Reporter,
    predict: Callable[[pa.RecordBatch, list[str]], Any],
    empty_type: Callable[[], pa.DataType],
    probabilities: Callable[[], ClassProbabilities | None] | None = None,
) -> None:
    """``TO PREDICT`` for the flavors that score a batch at once (scikit-learn, XGBoost):
    the SELECT's columns plus ``spec.prediction_column`` (replacing a column of that name),
    streamed batch by batch; ``predict(batch, kept column names)`` gives the values. No rows
    still write a table with the right columns, the prediction typed ``empty_type()``.
    With ``predict.probabilities = true``, one ``<column>_probability_<class>`` column per
    class follows, as the deep-learning flavors write them (``probabilities()``: None for a
    model that gives none — a regressor —, which is then an error)."""
    if not spec.output_uri or not spec.prediction_column:
        raise StepError("a predict step needs output_uri and prediction_column")
    column = spec.prediction_column
    with_proba = None
    if bool(spec.param("predict", "probabilities", False)):
        with_proba = probabilities() if probabilities is not None else None
        if with_proba is None:
            raise StepError(
                "predict.probabilities needs a classifier that gives probabilities; "
                f"{spec.model_reference} does not"
            )
    source, target = input_file(spec), output_file(spec)
    kept = [f for f in source.schema() if f.name != column]
    names = [f.name for f in kept]
    extra_names = [f"{column}_probability_{c}" for c in with_proba.classes] if with_proba else []
    rows = 0
    with ExitStack() as stack:
        writer = None
        for batch in source.batches():
            if batch.num_rows == 0:
                continue
            predictions = pa.array(predict(batch, names))
            extra: list[pa.Array] = []
            if with_proba is not None:
                proba = np.asarray(with_proba.proba(batch, names), dtype=np.float64)
                extra = [pa.array(proba[:, i]) for i in range(len(extra_names))]
            out = pa.RecordBatch.from_arrays(
                [batch.column(name) for name in names] + [predictions, *extra],
                schema=pa.schema(
                    [*kept, pa.field(column, predictions.type)]
                    + [pa.field(n, pa.float64()) for n in extra_names]
                ),
            )
            if writer is None:
                writer = stack.enter_context(target.writer(out.schema))
            writer.write_batch(out)
            rows += batch.num_rows
        if writer is None:
            schema = pa.schema(
                [*kept, pa.field(column, empty_type())]
                + [pa.field(n, pa.float64()) for n in extra_names]
            )
            with target.writer(schema) as empty:
                empty.write_table(schema.empty_table())
    reporter.log(f"predicted {rows} rows into column '{column}'")
    reporter.result(
        metadata={"predicted_rows": rows}, result=PredictionResult(kind="predict", rows=rows)
    )


# -- EXPLAIN ----------------------------------------------------------------------------

#: ``USING …`` spellings (lower case) → method.
EXPLAINERS: dict[str, str] = {
    "auto": "auto",
    "permutation": "permutation",
    "shap": "shap",
    "treeexplainer": "tree",
    # SQLFlow's explainer of XGBoost models (go/cmd/sqlflowserver e2e tests): SHAP's tree
    # explainer over the booster, as SQLFlow's XGBoost runtime computes it.
    "xgboostexplainer": "tree",
    "linearexplainer": "linear",
    "kernelexplainer": "kernel",
}
DEFAULT_MAX_ROWS = 2000
#: KernelExplainer evaluates the model about 2·features + 2048 times per explained row.
KERNEL_DEFAULT_MAX_ROWS = 100
DEFAULT_REPEATS = 5
#: SHAP's background sample (what "a feature is absent" means) is at most this many rows.
BACKGROUND_ROWS = 100
#: Written beside the output table: the chart, and with ``explain.per_row`` the rows.
PLOT_FILE = "explanation.png"
ROWS_FILE = "rows.parquet"


@dataclass(frozen=True)
class _Attribution:
    """Per-feature importances in the predictor's feature order."""

    importance: np.ndarray
    std: np.ndarray
    #: "permutation" or "shap-tree" / "shap-linear" / "shap-kernel" / "shap-permutation".
    method: str
    #: What the importance measures, in words (the chart's axis label).
    measure: str
    #: SHAP's per-row values and the matrix they explain; None for permutation importance.
    rows: RowAttributions | None = None
    x: np.ndarray | None = None


def explain(spec: StepSpec, predictor: Predictor, reporter: Reporter) -> None:
    """Attribute the model's output on the SELECT's rows to its feature columns.

    Writes a table (feature, importance, importance_std, rank, method, model,
    model_version; rank 1 = most important) to ``output_uri`` and, when matplotlib is
    installed, the ``summary.plot_type`` chart ``explanation.png`` in the same folder;
    with ``explain.per_row = true`` also ``rows.parquet`` there (every explained row's
    attributions, which the orchestrator loads as ``<into>_rows``). Attributions are
    computed on a seeded sample of at most ``explain.max_rows`` rows, so their cost does
    not grow with the table. A per-row chart or table needs SHAP's per-row values:
    permutation importance has none, which is SQLML538 rather than a different chart.
    """
    if not spec.output_uri:
        raise StepError("an explain step needs output_uri")
    kind = _explainer_kind(spec.explainer)
    chart = Chart.of(spec)
    per_row = spec.param("explain", PER_ROW_KEY, False)
    if not isinstance(per_row, bool):
        raise StepError(
            f"explain.per_row must be true or false, not {per_row!r}", BAD_EXPLAIN_OPTION
        )
    wanted = _per_row_wanted(chart, per_row)
    if wanted and kind == "permutation":
        raise StepError(
            f"{wanted} needs every row's attributions; USING permutation measures one "
            "importance per feature — write USING shap (or TreeExplainer…), or "
            "summary.plot_type = bar without explain.per_row",
            NO_PER_ROW,
        )
    default_rows = KERNEL_DEFAULT_MAX_ROWS if kind == "kernel" else DEFAULT_MAX_ROWS
    max_rows = _positive_int(spec, "max_rows", default_rows)
    repeats = _positive_int(spec, "repeats", DEFAULT_REPEATS)
    features = list(predictor.features)
    if not features:
        raise StepError("no feature columns: the model reads no column of the SELECT")
    clash = sorted(set(features) & set(PER_ROW_RESERVED)) if per_row else []
    if clash:
        raise StepError(
            f"explain.per_row: feature column(s) {', '.join(clash)} would clash with the "
            f"per-row table's own columns ({', '.join(PER_ROW_RESERVED)}); rename them in "
            "the SELECT the model was trained on",
            BAD_EXPLAIN_OPTION,
        )
    source = input_file(spec)
    names = source.schema().names
    missing = [c for c in features if c not in names]
    if missing:
        raise StepError(
            f"feature column(s) {', '.join(missing)} not in the data (columns: {', '.join(names)})"
        )
    label = (
        spec.label if spec.label and spec.label in names and spec.label not in features else None
    )
    total = source.num_rows()
    sample = sample_rows(source, [*features, *([label] if label else [])], max_rows, spec.seed)
    if sample.num_rows == 0:
        raise StepError("the explain SELECT returned no rows")
    kept = sample_row_numbers(total, max_rows, spec.seed)
    row_numbers = np.arange(sample.num_rows) if kept is None else kept
    reporter.log(
        f"explaining {spec.model_name} on {sample.num_rows} rows"
        + (f" with label '{label}'" if label else " without a label column")
    )

    attribution = None
    if kind != "permutation":
        attribution = _shap(kind, spec, predictor, sample, wanted)
    if attribution is None:
        attribution = _permutation(predictor, sample, label, repeats, spec.seed)

    order = np.argsort(-attribution.importance, kind="stable")
    ranked = [features[i] for i in order]
    n = len(features)
    table = pa.table(
        {
            "feature": pa.array(ranked, pa.string()),
            "importance": pa.array(attribution.importance[order], pa.float64()),
            "importance_std": pa.array(attribution.std[order], pa.float64()),
            "rank": pa.array(np.arange(1, n + 1), pa.int64()),
            "method": pa.array([attribution.method] * n, pa.string()),
            "model": pa.array([spec.model_name] * n, pa.string()),
            "model_version": pa.array([spec.model_version] * n, pa.int64()),
        }
    )
    folder = posixpath.dirname(spec.output_uri)
    rows_uri = None
    if per_row:
        assert attribution.rows is not None  # _shap gives rows when they are wanted
        rows_uri = posixpath.join(folder, ROWS_FILE)
        per_row_table = _rows_table(spec, features, row_numbers, attribution)
        with DataFile(rows_uri).writer(per_row_table.schema) as writer:  # Parquet
            writer.write_table(per_row_table)
        reporter.log(f"wrote {per_row_table.num_rows} rows of attributions to {rows_uri}")
    with output_file(spec).writer(table.schema) as writer:
        writer.write_table(table)
    importances = {f: float(v) for f, v in zip(ranked, attribution.importance[order], strict=True)}
    reporter.log(
        f"{attribution.method} ({attribution.measure}): "
        + ", ".join(f"{f}={v:.4f}" for f, v in importances.items())
    )
    title = (
        f"{spec.model_name}"
        + (f"@{spec.model_version}" if spec.model_version is not None else "")
        + f" — {attribution.method}"
    )
    plot_path = posixpath.join(folder, PLOT_FILE)
    if chart.per_row:
        assert attribution.rows is not None and attribution.x is not None
        plot_uri = shap_chart(
            plot_path,
            chart,
            attribution.rows,
            attribution.x,
            features,
            title=title,
            seed=spec.seed,
            reporter=reporter,
        )
    else:
        plot_uri = bar_chart(
            plot_path,
            chart,
            features,
            attribution.importance,
            attribution.std,
            title=title,
            xlabel=attribution.measure,
            reporter=reporter,
        )
    reporter.result(
        metadata={"explain_method": attribution.method, "explained_rows": sample.num_rows},
        result=ExplanationResult(
            kind="explain",
            method=attribution.method,
            measure=attribution.measure,
            rows=sample.num_rows,
            importances=importances,
            plot_uri=plot_uri,
            plot_type=chart.plot_type,
            rows_uri=rows_uri,
        ),
    )


def _per_row_wanted(chart: Chart, per_row: bool) -> str:
    """What asks for per-row attributions, in the statement's words ('' for nothing)."""
    asked = ([f"summary.plot_type = {chart.plot_type}"] if chart.per_row else []) + (
        ["explain.per_row = true"] if per_row else []
    )
    return " and ".join(asked)


def _rows_table(
    spec: StepSpec, features: list[str], row_numbers: np.ndarray, attribution: _Attribution
) -> pa.Table:
    """``explain.per_row``: one row per explained row — its number in the SELECT's
    output (0-based), one attribution column per feature (SQLFlow's layout), the base
    value and the output they sum to, the class explained (None for one output)."""
    rows = attribution.rows
    assert rows is not None
    n = len(row_numbers)
    columns: dict[str, pa.Array] = {ROW_NUMBER: pa.array(row_numbers, pa.int64())}
    for i, name in enumerate(features):
        columns[name] = pa.array(rows.values[:, i], pa.float64())
    columns[BASE_VALUE] = pa.array(rows.base, pa.float64())
    columns[MODEL_OUTPUT] = pa.array(rows.output, pa.float64())
    classes: list[str | None] = (
        [None] * n if rows.classes is None else [str(c) for c in rows.classes]
    )
    columns[EXPLAINED_CLASS] = pa.array(classes, pa.string())
    columns["method"] = pa.array([attribution.method] * n, pa.string())
    columns["model"] = pa.array([spec.model_name] * n, pa.string())
    columns["model_version"] = pa.array([spec.model_version] * n, pa.int64())
    return pa.table(columns)


def _explainer_kind(written: str | None) -> str:
    if written is None or not written.strip():
        return "auto"
    key = written.strip().lower().replace("_", "")
    kind = EXPLAINERS.get(key)
    if kind is None:
        spellings = {k: _SPELLINGS.get(k, k) for k in EXPLAINERS}
        close = difflib.get_close_matches(key, list(spellings), n=1)
        raise StepError(
            f"unknown explainer '{written}'"
            + (f" (did you mean '{spellings[close[0]]}'?)" if close else "")
            + f"; known: {', '.join(spellings.values())}"
        )
    return kind


_SPELLINGS = {
    "treeexplainer": "TreeExplainer",
    "xgboostexplainer": "XGBoostExplainer",
    "linearexplainer": "LinearExplainer",
    "kernelexplainer": "KernelExplainer",
}


def _positive_int(spec: StepSpec, key: str, default: int) -> int:
    value = spec.param("explain", key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise StepError(f"explain.{key} must be a positive integer, not {value!r}")
    return value


def _permutation(
    predictor: Predictor, sample: pa.Table, label: str | None, repeats: int, seed: int
) -> _Attribution:
    """Shuffle one column at a time (Arrow ``take``) and measure what the model loses."""
    loss, measure = _permutation_loss(predictor, sample, label)
    rng = np.random.default_rng(seed)
    features = list(predictor.features)
    drops = np.zeros((len(features), repeats))
    for i, name in enumerate(features):
        index = sample.schema.get_field_index(name)
        column = sample.column(index)
        for r in range(repeats):
            shuffled = column.take(pa.array(rng.permutation(sample.num_rows)))
            drops[i, r] = loss(sample.set_column(index, sample.schema.field(index), shuffled))
    return _Attribution(drops.mean(axis=1), drops.std(axis=1), "permutation", measure)


def _permutation_loss(
    predictor: Predictor, sample: pa.Table, label: str | None
) -> tuple[Callable[[pa.Table], float], str]:
    """How much worse the model does on shuffled data than on the sample as it is."""
    task = predictor.task
    if label is not None and task in ("classification", "regression"):
        from sklearn import metrics

        y = label_vector(sample, label)
        if task == "classification":

            def score(data: pa.Table) -> float:
                return float(metrics.accuracy_score(y, predictor.predict(data)))

            measure = "accuracy drop"
        else:
            y_float = y.astype(float)

            def score(data: pa.Table) -> float:
                predicted = np.asarray(predictor.predict(data), dtype=float)
                return float(metrics.r2_score(y_float, predicted))

            measure = "R² drop"
        try:
            baseline = score(sample)
        except (ValueError, TypeError) as e:
            raise StepError(f"cannot score the model against label '{label}': {e}") from None
        return (lambda data: baseline - score(data)), measure

    # No label: how far the output moves when a feature is scrambled.
    proba = predictor.predict_proba(sample) if task != "regression" else None
    if proba is not None:
        base_proba = np.asarray(proba, dtype=float)

        def moved(data: pa.Table) -> float:
            shuffled = np.asarray(predictor.predict_proba(data), dtype=float)
            return float(0.5 * np.abs(shuffled - base_proba).sum(axis=1).mean())

        return moved, "mean change in class probabilities"
    base = np.asarray(predictor.predict(sample))
    if task != "classification" and np.issubdtype(base.dtype, np.number):
        base_float = base.astype(float)

        def moved_value(data: pa.Table) -> float:
            shuffled = np.asarray(predictor.predict(data), dtype=float)
            return float(np.abs(shuffled - base_float).mean())

        return moved_value, "mean |change| of the prediction"

    def moved_label(data: pa.Table) -> float:
        return float(np.mean(np.asarray(predictor.predict(data)) != base))

    return moved_label, "share of changed predictions"


# -- SHAP -------------------------------------------------------------------------------


def _shap(
    kind: str, spec: StepSpec, predictor: Predictor, sample: pa.Table, wanted: str = ""
) -> _Attribution | None:
    """Mean |SHAP value| per feature (and every row's values), or None where ``auto``
    should use permutation. ``wanted``: what asks for per-row values, if anything — then
    ``auto`` explains a model without an exact explainer as a black box (SHAP's
    permutation explainer) and a missing ``shap`` is SQLML538, never a quiet fallback."""
    explicit = kind != "auto"
    strict = explicit or bool(wanted)
    try:
        import shap
    except ImportError:
        if explicit:
            raise StepError(
                f"{spec.explainer} needs shap, which is not installed in the step image "
                "(pip install shap); or write USING permutation"
            ) from None
        if wanted:
            raise StepError(
                f"{wanted} needs SHAP's per-row attributions, and shap is not installed in "
                "the step image (pip install shap); permutation importance has one value per "
                "feature: write summary.plot_type = bar without explain.per_row",
                NO_PER_ROW,
            ) from None
        return None
    try:
        x = numeric_matrix(sample, predictor.features)
    except StepError as e:
        if explicit:
            raise
        if wanted:
            raise StepError(f"{wanted}: SHAP cannot read these features: {e}", NO_PER_ROW) from None
        return None
    with _seeded(spec.seed):
        rng = np.random.default_rng(spec.seed)
        background = x[
            np.sort(rng.choice(len(x), size=min(len(x), BACKGROUND_ROWS), replace=False))
        ]
        masker = shap.maskers.Independent(background, max_samples=BACKGROUND_ROWS)
        native = getattr(predictor, "native_model", None)
        explainer: Any
        if kind in ("auto", "shap", "tree") and _supports(shap.explainers.Tree, native, None):
            explainer, method = shap.TreeExplainer(native), "shap-tree"
        elif kind in ("auto", "shap", "linear") and _supports(
            shap.explainers.Linear, native, masker
        ):
            explainer, method = shap.LinearExplainer(native, masker), "shap-linear"
        elif kind == "auto" and not wanted:
            return None
        elif kind == "kernel":
            explainer = shap.KernelExplainer(_black_box(spec, predictor), background)
            method = "shap-kernel"
        elif kind in ("shap", "auto"):
            explainer = shap.explainers.Permutation(
                _black_box(spec, predictor), masker, seed=spec.seed
            )
            method = "shap-permutation"
        else:
            name = {"tree": "TreeExplainer", "linear": "LinearExplainer"}[kind]
            model = "tree ensembles" if kind == "tree" else "linear models"
            raise StepError(
                f"{name} explains {model}; {spec.model_reference} is not one — "
                "write USING KernelExplainer, USING shap or USING permutation"
            )
        try:
            if method == "shap-tree":
                explanation = explainer(x, check_additivity=False)
            elif method == "shap-kernel":
                explanation = explainer(x, silent=True)
            else:
                explanation = explainer(x)
        except (ValueError, TypeError) as e:
            if strict:
                raise StepError(f"SHAP cannot explain {spec.model_reference}: {e}") from None
            return None
    signed = np.asarray(explanation.values, dtype=float)
    values = np.abs(signed)
    if values.ndim == 3:  # one attribution per output (class): average their magnitudes
        values = values.mean(axis=2)
    rows = RowAttributions.of(
        signed, np.asarray(explanation.base_values, dtype=float), predictor.classes
    )
    return _Attribution(
        values.mean(axis=0), values.std(axis=0), method, "mean |SHAP value|", rows, x
    )


def _supports(explainer_class: Any, native: Any, masker: Any) -> bool:
    return native is not None and bool(explainer_class.supports_model_with_masker(native, masker))


def _black_box(spec: StepSpec, predictor: Predictor) -> Callable[[np.ndarray], np.ndarray]:
    """The predictor as SHAP's model-agnostic explainers call it: a float matrix over the
    features in, probabilities (classifiers) or values (regressors) out."""
    features = list(predictor.features)

    def as_table(x: np.ndarray) -> pa.Table:
        return pa.table({name: x[:, i] for i, name in enumerate(features)})

    if predictor.task == "regression":
        return lambda x: np.asarray(predictor.predict(as_table(x)), dtype=float)

    def proba(x: np.ndarray) -> np.ndarray:
        out = predictor.predict_proba(as_table(x))
        if out is None:
            raise StepError(
                f"SHAP explains a classifier through its class probabilities; "
                f"{spec.model_reference} has no predict_proba — write USING permutation"
            )
        return np.asarray(out, dtype=float)

    return proba


@contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """KernelExplainer draws from NumPy's global generator: seed it, then put it back."""
    state = np.random.get_state()
    np.random.seed(seed % 2**32)
    try:
        yield
    finally:
        np.random.set_state(state)
