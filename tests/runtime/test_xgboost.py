"""The XGBoost flavor in the test process: SQLFlow's estimators trained with xgboost.train on
small real data, saved as XGBoost's UBJSON, scored, evaluated and explained."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.datasets import load_iris

from sqlml_dagster.contract import TrainingResult
from sqlml_dagster.contract.spec import StepSpec
from sqlml_dagster.runtime import StepError
from sqlml_dagster.runtime.flavors import xgboost as flavor

from .recorder import Recorder

xgb = pytest.importorskip("xgboost")


@pytest.fixture
def iris(tmp_path: Path) -> Path:
    data = load_iris(as_frame=False)
    names = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    columns: dict[str, Any] = {n: data.data[:, i] for i, n in enumerate(names)}
    columns["class"] = [str(data.target_names[t]) for t in data.target]
    columns["class_id"] = data.target.astype(np.int64)
    path = tmp_path / "iris.parquet"
    pq.write_table(pa.table(columns), path)
    return path


@pytest.fixture
def line(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10, 300)
    path = tmp_path / "line.parquet"
    pq.write_table(pa.table({"x": x, "noise": rng.normal(size=300), "y": 3 * x + 1}), path)
    return path


def spec(tmp_path: Path, data: Path, reference: str, label: str, **fields: Any) -> StepSpec:
    base: dict[str, Any] = {
        "kind": "train",
        "step_id": "t",
        "model_name": "m",
        "model_reference": reference,
        "flavor": "xgboost",
        "input_uri": str(data),
        "label": label,
        "model_uri": str(tmp_path / "model"),
    }
    if label == "class":
        base["features"] = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    base.update(fields)
    return StepSpec(**base)


def trained(s: StepSpec) -> tuple[TrainingResult, Recorder]:
    recorder = Recorder()
    flavor.train(s, recorder)
    assert isinstance(recorder.reported, TrainingResult)
    return recorder.reported, recorder


def test_gbtree_regression_with_sqlflow_keys_and_a_validation_split(
    tmp_path: Path, line: Path
) -> None:
    s = spec(
        tmp_path,
        line,
        "xgboost.gbtree",
        "y",
        params={
            "model": {"objective": "reg:squarederror", "eta": 0.3, "max_depth": 3},
            "train": {"num_boost_round": 40},
            "validation": {"split": 0.2},
        },
    )
    result, _ = trained(s)
    assert result.flavor == "xgboost"
    assert result.params["booster"] == "gbtree" and result.params["num_boost_round"] == 40
    assert len(result.history) == 40
    assert result.history[-1]["val_rmse"] < result.history[0]["val_rmse"]
    assert result.metrics["val_r2"] > 0.95 and result.metrics["r2"] > 0.95
    assert list(result.metrics)[:3] == ["val_r2", "val_rmse", "val_mae"]  # held-out first
    assert result.training_rows == 240
    # the artifact is XGBoost's own format, loadable by XGBoost alone
    assert (tmp_path / "model" / "model.ubj").read_bytes()[:1] == b"{"
    booster = xgb.Booster()
    booster.load_model(str(tmp_path / "model" / "model.ubj"))
    assert booster.num_boosted_rounds() == 40


@pytest.mark.parametrize(
    ("reference", "params", "booster_or_objective"),
    [
        ("xgboost.gblinear", {"objective": "multi:softprob"}, ("booster", "gblinear")),
        ("xgboost.dart", {"objective": "multi:softmax", "num_class": 3}, ("booster", "dart")),
        ("XGBClassifier", {"objective": "multi:softprob"}, ("objective", "multi:softprob")),
        ("xgboost.XGBRFClassifier", {}, ("num_parallel_tree", 100)),
    ],
)
def test_classifiers_learn_string_labels_and_predict_them_back(
    tmp_path: Path,
    iris: Path,
    reference: str,
    params: dict[str, Any],
    booster_or_objective: tuple[str, Any],
) -> None:
    s = spec(
        tmp_path,
        iris,
        reference,
        "class",
        params={"model": params, "train": {"num_boost_round": 10}},
    )
    result, _ = trained(s)
    key, value = booster_or_objective
    assert result.params[key] == value
    assert result.params["num_class"] == 3  # multi:* without num_class: the rows' classes
    assert result.signature["classes"] == ["setosa", "versicolor", "virginica"]
    assert result.metrics["accuracy"] > 0.7  # gblinear learns slowest in 10 rounds
    out = tmp_path / "out.parquet"
    predict = StepSpec(
        kind="predict",
        step_id="p",
        model_name="m",
        model_reference=reference,
        flavor="xgboost",
        input_uri=str(iris),
        model_uri=str(tmp_path / "model"),
        output_uri=str(out),
        prediction_column="predicted",
    )
    flavor.predict(predict, Recorder())
    table = pq.read_table(out)
    predicted, truth = table.column("predicted").to_pylist(), table.column("class").to_pylist()
    assert set(predicted) <= {"setosa", "versicolor", "virginica"}
    assert np.mean([p == t for p, t in zip(predicted, truth, strict=True)]) > 0.7


def test_integer_class_labels_stay_sqlflows_indices(tmp_path: Path, iris: Path) -> None:
    s = spec(
        tmp_path,
        iris,
        "xgboost.gbtree",
        "class_id",
        features=["sepal_length", "sepal_width", "petal_length", "petal_width"],
        params={"model": {"objective": "multi:softmax", "num_class": 3}},
    )
    result, _ = trained(s)
    assert result.signature["classes"] == [0, 1, 2]
    assert result.params["num_class"] == 3


def test_validation_select_rows_are_the_validate_set(tmp_path: Path, line: Path) -> None:
    held = tmp_path / "held.parquet"
    pq.write_table(pq.read_table(line).slice(0, 50), held)
    result, recorder = trained(
        spec(tmp_path, line, "xgboost.gbtree", "y", validation_uri=str(held))
    )
    assert result.training_rows == 300  # validation.select does not take training rows
    assert "val_rmse" in result.history[0] and "train_rmse" in result.history[0]
    assert len(result.history) == 10  # SQLFlow's default train.num_boost_round
    assert any("validating on 50 rows" in line for line in recorder.logs)


UNKNOWN = [
    ({"model": {"max_dept": 3}}, "has no parameter 'max_dept' (did you mean 'max_depth'?)"),
    ({"model": {"n_estimators": 5}, "train": {"num_boost_round": 6}}, "all set the number"),
    ({"model": {"num_boost_round": 5, "n_estimators": 6}}, "all set the number of rounds"),
    ({"train": {"num_boost_round": 0}}, "train.num_boost_round must be a whole number ≥ 1"),
    ({"validation": {"split": 1.5}}, "validation.split must be a fraction in (0, 1)"),
]


@pytest.mark.parametrize(("params", "message"), UNKNOWN)
def test_mistakes_are_user_errors(
    tmp_path: Path, line: Path, params: dict[str, Any], message: str
) -> None:
    with pytest.raises(StepError) as raised:
        flavor.train(spec(tmp_path, line, "xgboost.gbtree", "y", params=params), Recorder())
    assert message in str(raised.value)


def test_a_bare_num_boost_round_is_the_number_of_rounds(tmp_path: Path, line: Path) -> None:
    # python/runtime/local/submitter_test.py writes it without train.
    params = {"model": {"objective": "reg:squarederror", "num_boost_round": 4}}
    result, _ = trained(spec(tmp_path, line, "xgboost.gbtree", "y", params=params))
    assert result.params["num_boost_round"] == 4 and len(result.history) == 4


def test_not_an_estimator_is_refused(tmp_path: Path, line: Path) -> None:
    with pytest.raises(StepError, match="not one of SQLFlow's XGBoost estimators"):
        flavor.train(spec(tmp_path, line, "xgboost.gbtre", "y"), Recorder())


def test_ignored_keys_are_logged_with_why(tmp_path: Path, line: Path) -> None:
    params = {
        "model": {"importance_type": "gain", "n_estimators": 5},
        "train": {"disk_cache": True, "batch_size": 64, "epoch": 2},
    }
    result, recorder = trained(spec(tmp_path, line, "xgboost.gbtree", "y", params=params))
    assert result.params["num_boost_round"] == 5  # n_estimators is the number of rounds
    warned = " | ".join(line for line in recorder.logs if line.startswith("warning:"))
    for key in ("importance_type", "train.disk_cache", "train.batch_size", "train.epoch"):
        assert f"warning: {key} is ignored here" in warned


def test_predictor_matches_the_booster_and_explains_with_tree_shap(
    tmp_path: Path, line: Path
) -> None:
    pytest.importorskip("shap")
    trained(spec(tmp_path, line, "xgboost.gbtree", "y", features=["x", "noise"]))
    out = tmp_path / "explain.parquet"
    explain = StepSpec(
        kind="explain",
        step_id="e",
        model_name="m",
        model_reference="xgboost.gbtree",
        flavor="xgboost",
        input_uri=str(line),
        label="y",
        model_uri=str(tmp_path / "model"),
        output_uri=str(out),
        explainer="XGBoostExplainer",
    )
    flavor.explain(explain, Recorder())
    rows = pq.read_table(out).to_pylist()
    assert rows[0]["feature"] == "x" and rows[0]["method"] == "shap-tree"
    signature = json.loads((tmp_path / "model" / "signature.json").read_text())
    assert signature["format"] == "ubj" and signature["task"] == "regression"


@pytest.mark.parametrize(
    ("params", "objective"),
    [
        ({"train": {"objective": "reg:pseudohubererror"}}, "reg:pseudohubererror"),  # SQLFlow's
        ({"train": {"objective": "val_rmse"}}, None),  # a trial objective: never the booster's
        (
            {
                "train": {"objective": "reg:pseudohubererror"},
                "model": {"objective": "reg:absoluteerror"},
            },
            "reg:absoluteerror",  # model.objective wins
        ),
    ],
)
def test_train_objective_in_sqlflow_s_spelling_is_the_boosters(
    params: dict[str, dict[str, object]], objective: str | None
) -> None:
    from sqlml_dagster.contract import StepSpec
    from sqlml_dagster.runtime.flavors.xgboost import booster_params

    spec = StepSpec(
        kind="train", step_id="s", model_name="m", model_reference="xgboost.gbtree",
        flavor="xgboost", params=params,
    )  # fmt: skip
    written = booster_params(spec, "xgboost.gbtree")[0].get("objective")
    assert written == objective if objective else written != "val_rmse"


@pytest.mark.slow  # a decision chart of 300 rows
@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning:shap.plots.colors._colors")
@pytest.mark.parametrize(("label", "objective"), [("y", None), ("above", "binary:logistic")])
def test_per_row_tree_shap_adds_up_to_the_boosters_margin(
    tmp_path: Path, line: Path, label: str, objective: str | None
) -> None:
    """``explain.per_row``: SHAP's tree explainer over the booster explains its margin
    (the value for a regression, the log-odds for ``binary:logistic``), and every row's
    attributions with the base value add up to exactly that."""
    pytest.importorskip("shap")
    table = pq.read_table(line)
    data = tmp_path / "labelled.parquet"
    above = (table.column("x").to_numpy() > 5).astype(np.int64)
    pq.write_table(table.append_column("above", pa.array(above)), data)
    params = {"model": {"objective": objective}} if objective else {}
    trained(spec(tmp_path, data, "xgboost.gbtree", label, features=["x", "noise"], params=params))
    recorder = Recorder()
    flavor.explain(
        StepSpec(
            kind="explain",
            step_id="e",
            model_name="m",
            model_reference="xgboost.gbtree",
            flavor="xgboost",
            input_uri=str(data),
            label=label,
            model_uri=str(tmp_path / "model"),
            output_uri=str(tmp_path / "explain" / "output.parquet"),
            params={"summary": {"plot_type": "decision"}, "explain": {"per_row": True}},
        ),
        recorder,
    )
    rows = pq.read_table(recorder.payload["rows_uri"])
    assert rows.num_rows == 300 and rows.column("row_number").to_pylist() == list(range(300))
    booster = xgb.Booster()
    booster.load_model(str(tmp_path / "model" / "model.ubj"))
    x = np.column_stack([table.column("x").to_numpy(), table.column("noise").to_numpy()])
    margin = booster.predict(xgb.DMatrix(x, feature_names=["x", "noise"]), output_margin=True)
    total = rows.column("base_value").to_numpy() + rows.column("x").to_numpy()
    total += rows.column("noise").to_numpy()
    np.testing.assert_allclose(total, margin, rtol=1e-4, atol=1e-4)
    assert recorder.payload["plot_type"] == "decision"
    assert Path(recorder.payload["plot_uri"]).read_bytes().startswith(b"\x89PNG")
