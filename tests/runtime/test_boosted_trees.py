"""SQLFlow's ``BoostedTreesClassifier``/``BoostedTreesRegressor`` (TensorFlow's premade
gradient-boosted trees) train as XGBoost boosters: their arguments (``n_trees``,
``max_depth``, ``learning_rate``, ``l1_regularization``, ``l2_regularization``,
``tree_complexity``, ``min_node_weight``, ``n_classes``) become XGBoost's, the ones that
change nothing for XGBoost are warned about, and ``sqlml check`` says the same."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sqlml_dagster.compiler import parse_sql_file
from sqlml_dagster.compiler.ir import TrainStatement
from sqlml_dagster.contract import TrainingResult
from sqlml_dagster.contract.spec import StepSpec
from sqlml_dagster.runtime import StepError
from sqlml_dagster.runtime.flavors import xgboost as flavor
from sqlml_dagster.validate import DeepCheckOptions, check_path

from . import test_xgboost
from .recorder import Recorder

pytest.importorskip("xgboost")

iris = test_xgboost.iris  # the same 150 rows, as a fixture here too


@pytest.fixture
def line(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10, 200)
    path = tmp_path / "line.parquet"
    pq.write_table(pa.table({"x": x, "y": 3 * x + 1}), path)
    return path


def train(tmp_path: Path, data: Path, sql: str) -> tuple[TrainingResult, Recorder]:
    """The statement compiled and trained as the orchestrator hands it to the step."""
    sql_file, diagnostics = parse_sql_file("bt.sql", sql)
    assert [d.message for d in diagnostics if d.is_error] == []
    (statement,) = sql_file.statements
    assert isinstance(statement, TrainStatement)
    assert statement.model.flavor == "xgboost"
    recorder = Recorder()
    flavor.train(
        StepSpec(
            kind="train",
            step_id="t",
            model_name="m",
            model_reference=statement.model.reference,
            flavor=statement.model.flavor,
            params=statement.params_by_namespace(),
            input_uri=str(data),
            label=statement.label,
            model_uri=str(tmp_path / "model"),
        ),
        recorder,
    )
    assert isinstance(recorder.reported, TrainingResult)
    return recorder.reported, recorder


def test_boosted_trees_classifier_learns_three_classes_with_tensorflows_names(
    tmp_path: Path, iris: Path
) -> None:
    result, _ = train(
        tmp_path,
        iris,
        "SELECT * FROM iris.train TO TRAIN BoostedTreesClassifier WITH model.n_classes = 3, "
        "model.n_trees = 20, model.max_depth = 3, model.learning_rate = 0.3, "
        "model.l2_regularization = 1.0, model.min_node_weight = 0.5 LABEL class INTO m;",
    )
    params = result.params
    assert params["objective"] == "multi:softprob" and params["num_class"] == 3
    assert params["num_boost_round"] == 20 and params["max_depth"] == 3
    assert params["eta"] == 0.3 and params["lambda"] == 1.0 and params["min_child_weight"] == 0.5
    assert result.signature["classes"] == ["setosa", "versicolor", "virginica"]
    assert result.metrics["accuracy"] > 0.95


def test_boosted_trees_regressor_warns_what_it_ignores(tmp_path: Path, line: Path) -> None:
    result, recorder = train(
        tmp_path,
        line,
        "SELECT * FROM t TO TRAIN BoostedTreesRegressor WITH model.n_trees = 30, "
        "model.n_batches_per_layer = 1, model.center_bias = true LABEL y INTO m;",
    )
    assert result.params["num_boost_round"] == 30 and result.metrics["r2"] > 0.95
    warned = " | ".join(line for line in recorder.logs if line.startswith("warning:"))
    assert "n_batches_per_layer is ignored here" in warned
    assert "center_bias is ignored here" in warned


def test_boosted_trees_defaults_are_tensorflows() -> None:
    spec = StepSpec(
        kind="train",
        step_id="t",
        model_name="m",
        model_reference="BoostedTreesRegressor",
        flavor="xgboost",
        input_uri="unused",
        model_uri="unused",
    )
    params, rounds, _ = flavor.booster_params(spec, "BoostedTreesRegressor")
    assert rounds == 100  # n_trees
    assert (params["eta"], params["max_depth"], params["lambda"], params["min_child_weight"]) == (
        0.1,
        6,
        0.0,
        0.0,
    )


@pytest.mark.parametrize(
    ("with_", "message"),
    [
        ("model.label_dimension = 2", "label_dimension = 2: one label column is trained here"),
        ("model.n_tree = 5", "has no parameter 'n_tree'"),
    ],
)
def test_boosted_trees_mistakes_are_user_errors(
    tmp_path: Path, line: Path, with_: str, message: str
) -> None:
    with pytest.raises(StepError, match=message):
        train(
            tmp_path,
            line,
            f"SELECT * FROM t TO TRAIN BoostedTreesRegressor WITH {with_} LABEL y INTO m;",
        )


def test_sqlml_check_agrees_with_the_step(tmp_path: Path) -> None:
    root = tmp_path / "sql"
    root.mkdir()
    (root / "p.sql").write_text(
        "CREATE TABLE t AS SELECT 1.0 AS a, 1 AS y;\n"
        "SELECT * FROM t TO TRAIN BoostedTreesClassifier WITH model.n_trees = 5, "
        "model.pruning_mode = 'post', model.n_tree = 3 LABEL y INTO m;\n"
    )
    checked = check_path(root, options=DeepCheckOptions(imports=False, cache_dir=None))
    found = [(d.code, d.message) for d in checked.diagnostics]
    assert ("SQLML414", found[0][1]) in found and "pruning_mode" in " ".join(m for _, m in found)
    assert any(c == "SQLML401" and "n_tree" in m for c, m in found)
    assert not any("n_trees" in m for _, m in found)
