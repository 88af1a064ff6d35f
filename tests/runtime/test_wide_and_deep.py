"""SQLFlow's ``DNNLinearCombinedClassifier``/``Regressor`` (TensorFlow's wide & deep
estimators) train as a PyTorch wide & deep model: a linear model over ``COLUMN … FOR
linear_feature_columns`` plus a network over ``COLUMN … FOR dnn_feature_columns``, their
outputs summed, with SQLFlow's parameter names (``dnn_hidden_units``, ``n_classes``,
``dnn_optimizer.learning_rate``, ``linear_optimizer.learning_rate``…)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sqlml_dagster.runtime import StepError
from sqlml_dagster.runtime.dl import TrainSettings
from sqlml_dagster.runtime.features import FeaturePlan
from sqlml_dagster.runtime.flavors import _torch_builtins, _torch_train
from sqlml_dagster.validate import DeepCheckOptions, check_path

from .test_columns import Columns, score, train, write

WIDE = "CROSS([education, occupation], 50), INDICATOR(CATEGORY_ID(education, 4))"
DEEP = "age, EMBEDDING(CATEGORY_ID(education, 4), 4)"
COLUMNS = f"{WIDE} FOR linear_feature_columns COLUMN {DEEP} FOR dnn_feature_columns"


def census(rng: np.random.Generator, n: int) -> Columns:
    """``y = (age > 40) XOR (education == 'a')``: neither part alone is enough for a
    linear model, the network gets it."""
    age = rng.normal(40, 10, n)
    education = rng.choice(list("abcd"), n)
    occupation = rng.choice(list("xyz"), n)
    y = ((age > 40) ^ (education == "a")).astype(np.int64)
    return {"age": age, "education": education, "occupation": occupation, "y": y}


@pytest.mark.slow
def test_wide_and_deep_classifier_trains_both_parts_and_predicts(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    version = train(
        tmp_path,
        "DNNLinearCombinedClassifier",
        "model.n_classes = 2, model.dnn_hidden_units = [16, 8], train.epoch = 20, "
        "train.batch_size = 32, dnn_optimizer.learning_rate = 0.02, "
        "linear_optimizer.learning_rate = 0.05",
        COLUMNS,
        write(tmp_path / "train.parquet", census(rng, 300)),
    )
    constructor = version.signature["constructor"]
    assert constructor["linear_input_dim"] == 54  # the cross's 50 + the indicator's 4
    assert constructor["input_dim"] == 59  # + age + the embedding's 4
    fresh = census(rng, 200)
    expected = fresh.pop("y")
    _, predicted = score(
        version,
        "predict",
        write(tmp_path / "fresh.parquet", fresh),
        tmp_path / "out.parquet",
        prediction_column="prediction",
    )
    assert np.mean(predicted["prediction"].to_numpy() == expected) > 0.9


def test_wide_and_deep_regressor(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    x, z = rng.uniform(-2, 2, 300), rng.uniform(-2, 2, 300)
    version = train(
        tmp_path,
        "DNNLinearCombinedRegressor",
        "model.dnn_hidden_units = [16], train.epoch = 30, train.batch_size = 32",
        "x FOR linear_feature_columns COLUMN z FOR dnn_feature_columns",
        write(tmp_path / "train.parquet", {"x": x, "z": z, "y": 3 * x + np.abs(z)}),
    )
    assert version.manifest.metrics["r2"] > 0.9


def test_each_part_trains_with_its_own_learning_rate() -> None:
    import pyarrow as pa

    schema = pa.schema([("a", pa.float64()), ("b", pa.float64())])
    plan = FeaturePlan.infer(None, schema, set()).fit([], normalize=False)
    network, _ = _torch_train.build(
        _torch_builtins.DNNLinearCombinedRegressor,
        "DNNLinearCombinedRegressor",
        {"dnn_hidden_units": [4]},
        plan,
        None,
        None,
        {"linear_input_dim": 1},
    )
    settings = TrainSettings(part_learning_rates={"linear_optimizer": 0.5, "dnn_optimizer": 0.01})
    groups = _torch_train._parameter_groups(network, settings)
    assert [(g["lr"], sum(p.numel() for p in g["params"])) for g in groups] == [
        (0.5, 2),  # the linear part: one weight + its bias
        (0.01, (1 * 4 + 4) + (4 * 1 + 1)),  # the network over b: 1 → 4 → 1
    ]


def test_an_embedding_in_the_linear_part_is_refused(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    with pytest.raises(StepError, match="the linear part of DNNLinearCombinedClassifier"):
        train(
            tmp_path,
            "DNNLinearCombinedClassifier",
            "model.dnn_hidden_units = [4]",
            f"{DEEP} FOR linear_feature_columns COLUMN age FOR dnn_feature_columns",
            write(tmp_path / "train.parquet", census(rng, 50)),
        )


def test_sqlml_check_knows_sqlflows_wide_and_deep_names(tmp_path: Path) -> None:
    root = tmp_path / "sql"
    root.mkdir()
    (root / "p.sql").write_text(
        "CREATE TABLE t AS SELECT 1.0 AS a, 2.0 AS b, 1 AS y;\n"
        "SELECT * FROM t TO TRAIN DNNLinearCombinedClassifier WITH model.n_classes = 2, "
        "model.dnn_hidden_units = [8], model.dnn_optimizer = Adagrad, "
        "model.linear_optimizer = Adagrad, dnn_optimizer.learning_rate = 0.1, "
        "linear_optimizer.learning_rate = 0.2, dnn_optimizer.initial_accumulator_value = 0.2 "
        "COLUMN a FOR linear_feature_columns COLUMN b FOR dnn_feature_columns LABEL y INTO m;\n"
        "SELECT * FROM t TO TRAIN DNNClassifier WITH dnn_optimizer.learning_rate = 0.1, "
        "model.dnn_hidden_units = [8] LABEL y INTO m2;\n"
    )
    checked = check_path(root, options=DeepCheckOptions(imports=False, cache_dir=None))
    found = sorted((d.code, d.message.split(":")[0]) for d in checked.diagnostics)
    assert found == [
        ("SQLML401", "DNNClassifier has no parameter 'dnn_hidden_units'"),
        ("SQLML414", "'dnn_optimizer.initial_accumulator_value' is accepted and ignored here"),
        ("SQLML414", "'dnn_optimizer.learning_rate' is accepted and ignored here"),
    ]
