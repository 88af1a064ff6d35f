"""TO EVALUATE and TO EXPLAIN as steps: real scikit-learn models trained by the runtime,
published, then scored through ``run_step`` — and through a hand-written predictor, which is
all that a new flavor has to supply."""

from __future__ import annotations

import hashlib
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn import metrics

from sqlml_dagster.contract import EvaluationResult
from sqlml_dagster.contract.spec import StepSpec
from sqlml_dagster.runtime import StepError, run_step, scoring
from sqlml_dagster.runtime.flavors.sklearn import load_estimator
from sqlml_dagster.store import ModelManifest

from .recorder import Recorder

# shap imports its plotting colours, which newer matplotlib warns about: not ours to fix.
pytestmark = pytest.mark.filterwarnings(
    "ignore::PendingDeprecationWarning:shap.plots.colors._colors"
)

FEATURES = ["a", "b", "c"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
EXPLAIN_SCHEMA = pa.schema(
    [
        ("feature", pa.string()),
        ("importance", pa.float64()),
        ("importance_std", pa.float64()),
        ("rank", pa.int64()),
        ("method", pa.string()),
        ("model", pa.string()),
        ("model_version", pa.int64()),
    ]
)


@dataclass(frozen=True)
class Model:
    name: str
    reference: str
    uri: Path
    label: str


@dataclass(frozen=True)
class World:
    """Data where only ``a`` carries signal, and models trained on it."""

    root: Path
    data: Path  # a, b, c, y (binary), y3 (three classes), v (numeric)
    unlabelled: Path  # a, b, c
    forest: Model
    regressor: Model
    linear: Model
    three_class: Model
    ridge: Model  # a classifier without predict_proba


def _write(path: Path, columns: dict[str, Any]) -> Path:
    pq.write_table(pa.table(columns), path)
    return path


def _train(root: Path, data: Path, name: str, reference: str, label: str, **params: Any) -> Model:
    uri = root / "store" / name / "1"
    spec = StepSpec(
        kind="train",
        step_id=f"train-{name}",
        model_name=name,
        model_reference=reference,
        flavor="sklearn",
        params={"model": params},
        input_uri=str(data),
        label=label,
        features=FEATURES,
        model_uri=str(uri),
    )
    run_step(spec, Recorder())
    # What the orchestrator does after training: checksums, then the manifest, last.
    artifacts = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in uri.iterdir()}
    manifest = ModelManifest(
        model=name,
        version=1,
        created_at="2026-01-01T00:00:00+00:00",
        flavor="sklearn",
        model_reference=reference,
        fingerprint="f",
        statement_fingerprint="s",
        training_data_fingerprint="d",
        features=FEATURES,
        label=label,
        artifacts=artifacts,
    )
    (uri / "manifest.json").write_text(manifest.to_json())
    return Model(name, reference, uri, label)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("scoring")
    rng = np.random.default_rng(7)
    n = 400
    a, b, c = rng.normal(size=n), rng.normal(size=n), rng.normal(size=n)
    columns = {
        "a": a,
        "b": b,
        "c": c,
        "y": (a > 0).astype(np.int64),
        "y3": np.digitize(a, [-0.5, 0.5]).astype(np.int64),
        "v": 3.0 * a + rng.normal(scale=0.1, size=n),
    }
    data = _write(root / "data.parquet", columns)
    unlabelled = _write(root / "unlabelled.parquet", {"a": a, "b": b, "c": c})
    return World(
        root=root,
        data=data,
        unlabelled=unlabelled,
        forest=_train(
            root, data, "forest", "sklearn.ensemble.RandomForestClassifier", "y", n_estimators=30
        ),
        regressor=_train(
            root, data, "reg", "sklearn.ensemble.RandomForestRegressor", "v", n_estimators=30
        ),
        linear=_train(root, data, "logit", "sklearn.linear_model.LogisticRegression", "y"),
        three_class=_train(
            root, data, "three", "sklearn.tree.DecisionTreeClassifier", "y3", max_depth=4
        ),
        ridge=_train(root, data, "ridge", "sklearn.linear_model.RidgeClassifier", "y"),
    )


def step(
    world: World,
    kind: str,
    model: Model,
    *,
    input_uri: Path | str | None = None,
    label: str | None = "",
    output: str = "output.parquet",
    **fields: Any,
) -> tuple[Recorder, str]:
    """Run one evaluate/explain step of ``model`` over ``input_uri`` (default: all data)."""
    # A folder of its own per step, as the orchestrator's per-run step folders are.
    folder = world.root / kind / model.name / uuid.uuid4().hex
    output_uri = output if "://" in output else str(folder / output)
    spec = StepSpec(
        kind=kind,  # type: ignore[arg-type]
        step_id=kind,
        model_name=model.name,
        model_reference=model.reference,
        flavor="sklearn",
        input_uri=str(input_uri or world.data),
        label=model.label if label == "" else label,
        features=FEATURES,
        model_uri=str(model.uri),
        output_uri=output_uri,
        model_version=1,
        seed=3,
        **fields,
    )
    recorder = Recorder()
    run_step(spec, recorder)
    return recorder, output_uri


def explain(world: World, model: Model, **fields: Any) -> tuple[Recorder, pa.Table, str]:
    recorder, output_uri = step(world, "explain", model, **fields)
    return recorder, pq.read_table(output_uri), output_uri


def has_shap() -> bool:
    try:
        import shap  # noqa: F401
    except ImportError:
        return False
    return True


# -- EXPLAIN ----------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["forest", "regressor", "linear"])
def test_permutation_importance_ranks_the_informative_feature_first(
    world: World, model: str
) -> None:
    recorder, table, output_uri = explain(world, getattr(world, model), explainer="permutation")

    assert table.schema == EXPLAIN_SCHEMA
    rows = table.to_pylist()
    assert [r["rank"] for r in rows] == [1, 2, 3]
    assert rows[0]["feature"] == "a"
    assert sorted(r["feature"] for r in rows) == FEATURES
    importances = [r["importance"] for r in rows]
    assert importances == sorted(importances, reverse=True)
    assert importances[0] > 0.3 and max(abs(i) for i in importances[1:]) < 0.05
    assert {(r["method"], r["model"], r["model_version"]) for r in rows} == {
        ("permutation", getattr(world, model).name, 1)
    }

    plot = Path(output_uri).parent / scoring.PLOT_FILE
    assert plot.read_bytes().startswith(PNG_MAGIC)
    assert recorder.metadata == {"explain_method": "permutation", "explained_rows": 400}
    payload = recorder.payload
    assert payload["kind"] == "explain" and payload["method"] == "permutation"
    assert payload["rows"] == 400 and payload["plot_uri"] == str(plot)
    assert list(payload["importances"]) == [r["feature"] for r in rows]
    expected_measure = "R² drop" if model == "regressor" else "accuracy drop"
    assert payload["measure"] == expected_measure


@pytest.mark.parametrize(
    ("model", "measure"),
    [
        ("forest", "mean change in class probabilities"),
        ("regressor", "mean |change| of the prediction"),
        ("ridge", "share of changed predictions"),
    ],
)
def test_without_a_label_explain_measures_how_far_the_output_moves(
    world: World, model: str, measure: str
) -> None:
    """EXPLAIN's SELECT need not carry the label: shuffling a feature the model relies on
    still moves its output, so importance is that movement instead of a score drop."""
    recorder, table, _ = explain(
        world, getattr(world, model), input_uri=world.unlabelled, explainer="permutation"
    )
    assert table.column("feature").to_pylist()[0] == "a"
    assert recorder.payload["measure"] == measure
    assert table.column("importance").to_pylist()[0] > 0.1
    assert "without a label column" in " ".join(recorder.logs)


def test_a_spec_without_label_is_explained_like_a_select_without_one(world: World) -> None:
    recorder, table, _ = explain(world, world.forest, label=None, explainer="permutation")
    assert recorder.payload["measure"] == "mean change in class probabilities"
    assert table.column("feature").to_pylist()[0] == "a"


def test_explain_samples_at_most_max_rows_with_the_seed(world: World) -> None:
    params = {"explain": {"max_rows": 50, "repeats": 2}}
    first, table_1, _ = explain(world, world.forest, explainer="permutation", params=params)
    _, table_2, _ = explain(world, world.forest, explainer="permutation", params=params)
    assert first.metadata["explained_rows"] == 50
    assert table_1.equals(table_2)  # same seed, same sample, same shuffles


def test_the_chart_goes_beside_the_output_on_any_fsspec_url(world: World) -> None:
    import fsspec

    recorder, output_uri = step(
        world, "explain", world.forest, output="memory://explain-test/t/output.parquet"
    )
    assert recorder.payload["plot_uri"] == "memory://explain-test/t/explanation.png"
    with fsspec.open(recorder.payload["plot_uri"], "rb") as f:
        assert f.read().startswith(PNG_MAGIC)
    with fsspec.open(output_uri, "rb") as f:
        assert pq.read_table(f).num_rows == 3


def test_without_matplotlib_the_table_is_written_and_the_chart_skipped(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    for module in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, module, None)
    recorder, table, output_uri = explain(world, world.forest, explainer="permutation")
    assert recorder.payload["plot_uri"] is None
    assert table.num_rows == 3
    assert not (Path(output_uri).parent / scoring.PLOT_FILE).exists()
    assert any("matplotlib is not installed" in line for line in recorder.logs)


@pytest.mark.parametrize("explainer", ["shap", "TreeExplainer", "KernelExplainer"])
def test_shap_requested_without_shap_says_how_to_install_it(
    world: World, monkeypatch: pytest.MonkeyPatch, explainer: str
) -> None:
    monkeypatch.setitem(sys.modules, "shap", None)  # as in an image without shap
    with pytest.raises(StepError, match=r"needs shap, which is not installed.*pip install shap"):
        explain(world, world.forest, explainer=explainer)


def test_auto_without_shap_uses_permutation_importance(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "shap", None)
    recorder, table, _ = explain(world, world.forest)
    assert recorder.payload["method"] == "permutation"
    assert table.column("feature").to_pylist()[0] == "a"


def test_auto_prefers_exact_shap_when_shap_is_installed(world: World) -> None:
    recorder, table, _ = explain(world, world.forest)
    assert recorder.payload["method"] == ("shap-tree" if has_shap() else "permutation")
    assert table.column("feature").to_pylist()[0] == "a"


@pytest.mark.parametrize(
    ("model", "explainer", "method"),
    [
        ("forest", "TreeExplainer", "shap-tree"),
        ("regressor", "tree_explainer", "shap-tree"),
        ("linear", "LinearExplainer", "shap-linear"),
        ("linear", "shap", "shap-linear"),
        ("three_class", "shap", "shap-tree"),
        ("linear", "KernelExplainer", "shap-kernel"),
    ],
)
def test_shap_explainers_rank_the_informative_feature_first(
    world: World, model: str, explainer: str, method: str
) -> None:
    pytest.importorskip("shap")
    params = {"explain": {"max_rows": 20}} if explainer == "KernelExplainer" else {}
    recorder, table, _ = explain(world, getattr(world, model), explainer=explainer, params=params)
    assert table.schema == EXPLAIN_SCHEMA
    assert table.column("method").to_pylist() == [method] * 3
    assert table.column("feature").to_pylist()[0] == "a"
    assert recorder.payload["measure"] == "mean |SHAP value|"


def test_tree_explainer_on_a_linear_model_suggests_another_method(world: World) -> None:
    pytest.importorskip("shap")
    with pytest.raises(
        StepError, match=r"TreeExplainer explains tree ensembles.*USING permutation"
    ):
        explain(world, world.linear, explainer="TreeExplainer")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"explainer": "TreeExplaner"},
            "unknown explainer 'TreeExplaner' (did you mean 'TreeExplainer'?)",
        ),
        (
            {"params": {"explain": {"max_rows": 0}}},
            "explain.max_rows must be a positive integer, not 0",
        ),
        ({"params": {"explain": {"repeats": "5"}}}, "explain.repeats must be a positive integer"),
    ],
)
def test_explain_refuses_bad_options_with_a_clear_message(
    world: World, fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(StepError) as raised:
        explain(world, world.forest, **fields)
    assert message in str(raised.value)


def test_explain_needs_the_features_the_model_was_trained_on(world: World) -> None:
    only_a = _write(world.root / "only_a.parquet", {"a": [1.0, 2.0]})
    with pytest.raises(StepError, match=r"feature column\(s\) b, c not in the data"):
        explain(world, world.forest, input_uri=only_a)


# -- EVALUATE ---------------------------------------------------------------------------


def _expected(name: str, model: Model, world: World) -> float:
    table = pq.read_table(world.data)
    x = np.column_stack([table.column(f).to_numpy() for f in FEATURES])
    y = table.column(model.label).to_numpy()
    estimator = load_estimator(str(model.uri))
    predicted = estimator.predict(x)
    multi = len(np.unique(y)) > 2
    average = "macro" if multi else "binary"
    compute = {
        "accuracy": lambda: metrics.accuracy_score(y, predicted),
        "precision": lambda: metrics.precision_score(y, predicted, average=average),
        "recall": lambda: metrics.recall_score(y, predicted, average=average),
        "f1": lambda: metrics.f1_score(y, predicted, average=average),
        "auc": lambda: (
            metrics.roc_auc_score(y, estimator.predict_proba(x), multi_class="ovr")
            if multi
            else metrics.roc_auc_score(y, estimator.predict_proba(x)[:, 1])
        ),
        "mse": lambda: metrics.mean_squared_error(y, predicted),
        "rmse": lambda: np.sqrt(metrics.mean_squared_error(y, predicted)),
        "mae": lambda: metrics.mean_absolute_error(y, predicted),
        "r2": lambda: metrics.r2_score(y, predicted),
        "logloss": lambda: metrics.log_loss(y, estimator.predict_proba(x)),
        "balanced_accuracy": lambda: metrics.balanced_accuracy_score(y, predicted),
    }
    return float(compute[name]())


@pytest.mark.parametrize(
    ("written", "name", "model"),
    [
        ("Accuracy", "accuracy", "forest"),
        ("precision", "precision", "forest"),
        ("RECALL", "recall", "forest"),
        ("F1", "f1", "forest"),
        ("AUC", "auc", "linear"),
        ("auc", "auc", "three_class"),
        ("f1", "f1", "three_class"),
        ("MSE", "mse", "regressor"),
        ("mean_squared_error", "mse", "regressor"),
        ("RMSE", "rmse", "regressor"),
        ("MAE", "mae", "regressor"),
        ("MeanAbsoluteError", "mae", "regressor"),
        ("R2", "r2", "regressor"),
        ("LogLoss", "logloss", "linear"),
        ("log_loss", "logloss", "three_class"),
        ("CrossEntropy", "logloss", "forest"),
        ("BalancedAccuracy", "balanced_accuracy", "forest"),
        ("balanced_accuracy", "balanced_accuracy", "three_class"),
    ],
)
def test_evaluate_computes_each_metric_by_any_of_its_names(
    world: World, written: str, name: str, model: str
) -> None:
    chosen = getattr(world, model)
    recorder, output_uri = step(
        world, "evaluate", chosen, params={"validation": {"metrics": written}}
    )
    expected = _expected(name, chosen, world)
    out = pq.read_table(output_uri)
    assert out.schema.names == ["model", "model_version", "rows", name]
    assert out.to_pylist() == [
        {"model": chosen.name, "model_version": 1, "rows": 400, name: pytest.approx(expected)}
    ]
    metadata = {k: v for k, v in recorder.metadata.items() if not k.startswith("residual/")}
    assert metadata == {f"metric/{name}": pytest.approx(expected), "evaluated_rows": 400}
    assert isinstance(recorder.reported, EvaluationResult)
    assert (recorder.reported.metrics, recorder.reported.rows) == (
        {name: pytest.approx(expected)},
        400,
    )


@pytest.mark.parametrize(
    ("model", "names"),
    [("forest", ["accuracy", "f1"]), ("regressor", ["mse", "mae", "r2"])],
)
def test_evaluate_defaults_to_the_tasks_metrics(world: World, model: str, names: list[str]) -> None:
    recorder, _ = step(world, "evaluate", getattr(world, model))
    assert list(recorder.payload["metrics"]) == names


def test_evaluate_takes_a_list_of_metrics_in_order(world: World) -> None:
    recorder, output_uri = step(
        world, "evaluate", world.forest, params={"validation": {"metrics": "AUC, accuracy"}}
    )
    assert list(recorder.payload["metrics"]) == ["auc", "accuracy"]
    assert pq.read_table(output_uri).schema.names[-2:] == ["auc", "accuracy"]


@pytest.mark.parametrize(
    ("model", "metrics_written", "message"),
    [
        (
            "forest",
            "Accuracy,Precission",
            "unknown metric 'Precission' (did you mean 'precision'?)",
        ),
        (
            "ridge",
            "AUC",
            "AUC needs class probabilities; sklearn.linear_model.RidgeClassifier has no predict_proba",
        ),
    ],
)
def test_evaluate_refuses_what_it_cannot_compute(
    world: World, model: str, metrics_written: str, message: str
) -> None:
    with pytest.raises(StepError) as raised:
        step(
            world,
            "evaluate",
            getattr(world, model),
            params={"validation": {"metrics": metrics_written}},
        )
    assert message in str(raised.value)


def test_evaluate_needs_the_label_in_the_select(world: World) -> None:
    with pytest.raises(StepError, match="the SELECT has no label column 'y'"):
        step(world, "evaluate", world.forest, input_uri=world.unlabelled)


# -- per-class metrics, residuals, curves -------------------------------------------------


def _xy(world: World, model: Model) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray]:
    table = pq.read_table(world.data)
    x = np.column_stack([table.column(f).to_numpy() for f in FEATURES])
    estimator = load_estimator(str(model.uri))
    return estimator, x, table.column(model.label).to_numpy(), estimator.predict(x)


def test_per_class_adds_precision_recall_and_f1_of_every_class(world: World) -> None:
    recorder, output_uri = step(
        world, "evaluate", world.three_class, params={"validation": {"metrics": "per_class"}}
    )
    _, _, y, predicted = _xy(world, world.three_class)
    precision, recall, f1, _ = metrics.precision_recall_fscore_support(
        y, predicted, labels=[0, 1, 2], zero_division=0
    )
    expected = {}
    for i in range(3):
        expected |= {f"precision_{i}": precision[i], f"recall_{i}": recall[i], f"f1_{i}": f1[i]}
    out = pq.read_table(output_uri)
    assert out.schema.names == ["model", "model_version", "rows", *expected]
    assert out.to_pylist()[0] == {
        "model": "three",
        "model_version": 1,
        "rows": 400,
        **{k: pytest.approx(v) for k, v in expected.items()},
    }
    assert recorder.payload["metrics"] == pytest.approx(expected)


def test_a_regressor_reports_its_residuals_and_may_write_them_as_columns(world: World) -> None:
    _, _, y, predicted = _xy(world, world.regressor)
    residual = y - predicted
    expected = {
        "residual_mean": residual.mean(),
        "residual_std": residual.std(),
        "residual_min": residual.min(),
        "residual_p05": np.percentile(residual, 5),
        "residual_median": np.median(residual),
        "residual_p95": np.percentile(residual, 95),
        "residual_max": residual.max(),
    }
    # always: in the result and the metadata, beside the default metrics
    recorder, output_uri = step(world, "evaluate", world.regressor)
    assert isinstance(recorder.reported, EvaluationResult)
    assert recorder.reported.residuals == pytest.approx(expected)
    assert {
        f"residual_{k.removeprefix('residual/')}": v
        for k, v in recorder.metadata.items()
        if k.startswith("residual/")
    } == pytest.approx(expected)
    assert pq.read_table(output_uri).schema.names == [
        "model",
        "model_version",
        "rows",
        "mse",
        "mae",
        "r2",
    ]
    # asked for: as columns too
    _, output_uri = step(
        world, "evaluate", world.regressor, params={"validation": {"metrics": "MAE,residuals"}}
    )
    row = pq.read_table(output_uri).to_pylist()[0]
    assert list(row)[3:] == ["mae", *expected]
    assert {k: row[k] for k in expected} == pytest.approx(expected)
    # a classifier has no residuals
    recorder, _ = step(world, "evaluate", world.forest)
    assert recorder.payload["residuals"] == {}
    assert not [k for k in recorder.metadata if k.startswith("residual")]


def _curve_rows(uri: str) -> list[dict[str, Any]]:
    return pq.read_table(uri).to_pylist()


def test_curves_are_tables_beside_the_output_with_charts(world: World) -> None:
    recorder, output_uri = step(
        world,
        "evaluate",
        world.linear,
        params={"validation": {"metrics": "AUC", "curves": "roc, PR, confusion_matrix"}},
    )
    folder = Path(output_uri).parent
    result = recorder.reported
    assert isinstance(result, EvaluationResult)
    assert result.curves == {c: str(folder / f"{c}.parquet") for c in ("roc", "pr", "confusion")}
    assert result.plots == {c: str(folder / f"{c}.png") for c in ("roc", "pr", "confusion")}
    for plot in result.plots.values():
        assert Path(plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    estimator, x, y, predicted = _xy(world, world.linear)
    score = estimator.predict_proba(x)[:, 1]
    fpr, tpr, thresholds = metrics.roc_curve(y, score)
    roc = _curve_rows(result.curves["roc"])
    assert list(roc[0]) == ["class", "threshold", "fpr", "tpr", "model", "model_version"]
    assert [r["class"] for r in roc] == ["1"] * len(fpr)
    assert [r["fpr"] for r in roc] == pytest.approx(fpr.tolist())
    assert [r["tpr"] for r in roc] == pytest.approx(tpr.tolist())
    # scikit-learn's first threshold is inf ("above every score"): NULL in a table
    assert roc[0]["threshold"] is None
    assert [r["threshold"] for r in roc[1:]] == pytest.approx(thresholds[1:].tolist())
    assert {(r["model"], r["model_version"]) for r in roc} == {("logit", 1)}
    # the area under the written curve is the AUC reported
    assert metrics.auc(fpr, tpr) == pytest.approx(result.metrics["auc"])

    precision, recall, cut = metrics.precision_recall_curve(y, score)
    pr = _curve_rows(result.curves["pr"])
    assert [r["precision"] for r in pr] == pytest.approx(precision.tolist())
    assert [r["recall"] for r in pr] == pytest.approx(recall.tolist())
    assert [r["threshold"] for r in pr[:-1]] == pytest.approx(cut.tolist())
    assert pr[-1]["threshold"] is None

    matrix = metrics.confusion_matrix(y, predicted, labels=[0, 1])
    assert [
        (r["actual"], r["predicted"], r["count"]) for r in _curve_rows(result.curves["confusion"])
    ] == [
        ("0", "0", matrix[0, 0]),
        ("0", "1", matrix[0, 1]),
        ("1", "0", matrix[1, 0]),
        ("1", "1", matrix[1, 1]),
    ]


def test_beyond_two_classes_each_class_gets_a_curve_against_the_rest(world: World) -> None:
    recorder, _ = step(
        world, "evaluate", world.three_class, params={"validation": {"curves": "roc"}}
    )
    estimator, x, y, _ = _xy(world, world.three_class)
    roc = _curve_rows(recorder.payload["curves"]["roc"])
    for i in range(3):
        fpr, tpr, _ = metrics.roc_curve(y == i, estimator.predict_proba(x)[:, i])
        mine = [r for r in roc if r["class"] == str(i)]
        assert [r["fpr"] for r in mine] == pytest.approx(fpr.tolist())
        assert [r["tpr"] for r in mine] == pytest.approx(tpr.tolist())


def test_without_matplotlib_curves_are_written_without_charts(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    for module in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, module, None)
    recorder, _ = step(
        world, "evaluate", world.forest, params={"validation": {"curves": "confusion"}}
    )
    assert list(recorder.payload["curves"]) == ["confusion"] and recorder.payload["plots"] == {}
    assert any("no confusion.png" in line for line in recorder.logs)


@pytest.mark.parametrize(
    ("model", "validation", "message"),
    [
        ("forest", {"curves": "roc,lift"}, "unknown curve 'lift'; known: roc, pr, confusion"),
        (
            "forest",
            {"curves": "confusoin"},
            "unknown curve 'confusoin' (did you mean 'confusion'?)",
        ),
        ("forest", {"metrics": "balanced_acc"}, "(did you mean 'balanced_accuracy'?)"),
        (
            "regressor",
            {"curves": "roc"},
            "validation.curves (roc) are drawn for classifiers; "
            "sklearn.ensemble.RandomForestRegressor is a regression model",
        ),
        (
            "ridge",
            {"metrics": "LogLoss", "curves": "pr"},
            "LogLoss, the PR curve need class "
            "probabilities; sklearn.linear_model.RidgeClassifier has no predict_proba",
        ),
    ],
)
def test_evaluate_refuses_curves_and_metrics_it_cannot_compute(
    world: World, model: str, validation: dict[str, str], message: str
) -> None:
    with pytest.raises(StepError) as raised:
        step(world, "evaluate", getattr(world, model), params={"validation": validation})
    assert message in str(raised.value)


# -- a flavor is only a predictor -------------------------------------------------------


class SpamRule:
    """A "model" of another framework: reads a text column, no numpy matrix anywhere."""

    def __init__(self) -> None:
        self.task = "classification"
        self.classes: list[Any] | None = ["ham", "spam"]
        self.features = ["word", "length"]

    def predict(self, data: pa.Table | pa.RecordBatch) -> np.ndarray:
        words = data.column(data.schema.get_field_index("word")).to_pylist()
        return np.array(["spam" if w == "offer" else "ham" for w in words], dtype=object)

    def predict_proba(self, data: pa.Table | pa.RecordBatch) -> np.ndarray | None:
        spam = (self.predict(data) == "spam").astype(float)
        return np.column_stack([1.0 - spam, spam])


def _spec(kind: str, tmp_path: Path, data: Path, **fields: Any) -> StepSpec:
    return StepSpec(
        kind=kind,  # type: ignore[arg-type]
        step_id=kind,
        model_name="rule",
        model_reference="tests.rule",
        flavor="rule",
        input_uri=str(data),
        output_uri=str(tmp_path / kind / "output.parquet"),
        model_version=2,
        **fields,
    )


@pytest.fixture
def mail(tmp_path: Path) -> Path:
    words = ["offer", "hello", "meeting", "offer", "lunch", "offer"] * 20
    return _write(
        tmp_path / "mail.parquet",
        {
            "word": words,
            "length": [len(w) * 10 for w in words],
            "kind": ["spam" if w == "offer" else "ham" for w in words],
        },
    )


def test_any_predictor_is_evaluated_and_explained(tmp_path: Path, mail: Path) -> None:
    evaluated = Recorder()
    scoring.evaluate(
        _spec(
            "evaluate",
            tmp_path,
            mail,
            label="kind",
            params={"validation": {"metrics": "accuracy,auc,f1"}},
        ),
        SpamRule(),
        evaluated,
    )
    assert evaluated.payload["metrics"] == {"accuracy": 1.0, "auc": 1.0, "f1": 1.0}

    explained = Recorder()
    scoring.explain(_spec("explain", tmp_path, mail, label="kind"), SpamRule(), explained)
    table = pq.read_table(tmp_path / "explain" / "output.parquet")
    # auto: no native_model for SHAP (and a text column) → permutation importance
    assert table.column("method").to_pylist() == ["permutation"] * 2
    assert table.column("feature").to_pylist() == ["word", "length"]
    assert table.column("importance").to_pylist()[1] == 0.0
    assert explained.payload["plot_uri"] == str(tmp_path / "explain" / "explanation.png")
