"""SQLFlow's training keys on the deep-learning flavors (its TensorFlow codegen's attribute
list, go/codegen/tensorflow/codegen.go): ``model.optimizer`` with ``optimizer.*``,
``train.max_steps`` — honoured; the keys that mean nothing here — logged as ignored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.datasets import load_iris

from sqlml_dagster.contract import TrainingResult, ignored_settings, setting_verdict
from sqlml_dagster.contract.spec import StepSpec
from sqlml_dagster.runtime import StepError
from sqlml_dagster.runtime.dl.settings import TrainSettings

from .recorder import Recorder

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


@pytest.fixture
def iris(tmp_path: Path) -> Path:
    data = load_iris(as_frame=False)
    columns: dict[str, Any] = {n: data.data[:, i] for i, n in enumerate(FEATURES)}
    columns["class"] = data.target.astype(np.int64)
    path = tmp_path / "iris.parquet"
    pq.write_table(pa.table(columns), path)
    return path


def spec(tmp_path: Path, data: Path, params: dict[str, dict[str, Any]]) -> StepSpec:
    return StepSpec(
        kind="train",
        step_id="t",
        model_name="m",
        model_reference="DNNClassifier",
        flavor="pytorch",
        params={"model": {"n_classes": 3, "hidden_units": [8]}, **params},
        input_uri=str(data),
        label="class",
        features=FEATURES,
        model_uri=str(tmp_path / "model"),
    )


SETTINGS = [
    ({"optimizer": {"learning_rate": 0.1}}, {"learning_rate": 0.1, "optimizer": None}),
    (
        {"train": {"learning_rate": 0.2}, "optimizer": {"learning_rate": 0.1}},
        {"learning_rate": 0.2},
    ),
    ({"model": {"optimizer": "RMSprop"}}, {"optimizer": "rmsprop"}),
    ({"model": {"optimizer": "AdagradOptimizer"}}, {"optimizer": "adagrad"}),  # PAI's TF 1 name
    ({"model": {"optimizer": "GradientDescent"}}, {"optimizer": "sgd"}),
    ({"optimizer": {"momentum": 0.9}}, {"optimizer_args": {"momentum": 0.9}}),
    ({"train": {"max_steps": 7}}, {"max_steps": 7}),
]


@pytest.mark.parametrize(("params", "expected"), SETTINGS)
def test_sqlflow_optimizer_and_step_keys_become_settings(
    tmp_path: Path, params: dict[str, Any], expected: dict[str, Any]
) -> None:
    settings = TrainSettings.of(spec(tmp_path, tmp_path / "x.parquet", params))
    assert {k: getattr(settings, k) for k in expected} == expected


@pytest.mark.slow  # imports torch: ~6 s
def test_model_optimizer_and_max_steps_train_the_builtin(tmp_path: Path, iris: Path) -> None:
    pytest.importorskip("torch")
    from sqlml_dagster.runtime.flavors import pytorch

    recorder = Recorder()
    params = {
        "model": {"n_classes": 3, "hidden_units": [8], "optimizer": "RMSprop"},
        "optimizer": {"learning_rate": 0.05, "rho": 0.8},
        "train": {"batch_size": 10, "epoch": 5, "max_steps": 20},
    }
    pytorch.train(spec(tmp_path, iris, params), recorder)
    result = recorder.reported
    assert isinstance(result, TrainingResult)
    assert any(
        "optimizer RMSprop, learning rate 0.05, at most 20 steps" in m for m in recorder.logs
    )
    # 150 rows in batches of 10 is 15 steps an epoch: 20 steps end in the 2nd epoch
    assert [row["epoch"] for row in result.history] == [1, 2]
    assert "optimizer" not in result.params  # not a constructor argument of DNNClassifier


def test_an_optimizer_pytorch_lacks_is_a_user_error(tmp_path: Path, iris: Path) -> None:
    pytest.importorskip("torch")
    from sqlml_dagster.runtime.flavors import pytorch

    with pytest.raises(StepError, match=r"model\.optimizer = 'ftrl' has no PyTorch optimizer"):
        pytorch.train(
            spec(tmp_path, iris, {"model": {"n_classes": 3, "optimizer": "Ftrl"}}), Recorder()
        )


VERDICTS = [
    # flavor, key, verdict
    ("pytorch", "optimizer.learning_rate", "honoured"),
    ("keras", "train.max_steps", "honoured"),
    ("xgboost", "train.num_boost_round", "honoured"),
    ("xgboost", "train.max_steps", "ignored"),
    ("xgboost", "train.disk_cache", "ignored"),
    ("xgboost", "train.epoch", "ignored"),
    ("pytorch", "validation.steps", "ignored"),
    ("keras", "validation.start_delay_secs", "ignored"),
    ("keras", "validation.throttle_secs", "ignored"),
    ("pytorch", "dnn_optimizer.learning_rate", "ignored"),
    ("sklearn", "validation.split", "honoured"),
    ("sklearn", "validation.select", "honoured"),
    ("sklearn", "train.epoch", "refused"),
    ("sklearn", "optimizer.learning_rate", "refused"),
    ("xgboost", "train.shuffle", "refused"),
    ("auto", "train.epoch", "honoured"),  # a user's class: its flavor is decided at run time
]


@pytest.mark.parametrize(("flavor", "key", "verdict"), VERDICTS)
def test_every_key_is_honoured_ignored_with_a_reason_or_refused(
    flavor: str, key: str, verdict: str
) -> None:
    got, why = setting_verdict(flavor, key)
    assert got == verdict
    assert bool(why) == (verdict != "honoured")


def test_the_step_names_what_it_ignores() -> None:
    params = {"train": {"save_checkpoints_steps": 10, "epoch": 2}, "validation": {"steps": 1}}
    assert [key for key, _ in ignored_settings("pytorch", params)] == [
        "train.save_checkpoints_steps",
        "validation.steps",
    ]


# -- validation.split / validation.select for scikit-learn ---------------------------------


def sklearn_spec(tmp_path: Path, data: Path, **fields: Any) -> StepSpec:
    return StepSpec(
        kind="train",
        step_id="t",
        model_name="m",
        model_reference="sklearn.linear_model.LogisticRegression",
        flavor="sklearn",
        input_uri=str(data),
        label="class",
        features=FEATURES,
        model_uri=str(tmp_path / "model"),
        **{"params": {"model": {"max_iter": 500}}, **fields},
    )


@pytest.mark.parametrize(
    ("validation", "training_rows", "validated"),
    [
        ({"params": {"model": {"max_iter": 500}, "validation": {"split": 0.2}}}, 120, 30),
        ({"validation_uri": "held"}, 150, 40),
    ],
)
def test_scikit_learn_scores_held_out_rows_first(
    tmp_path: Path, iris: Path, validation: dict[str, Any], training_rows: int, validated: int
) -> None:
    from sqlml_dagster.runtime.flavors import sklearn

    if validation.get("validation_uri") == "held":
        held = tmp_path / "held.parquet"
        pq.write_table(pq.read_table(iris).slice(10, 40), held)
        validation = {"validation_uri": str(held)}
    recorder = Recorder()
    sklearn.train(sklearn_spec(tmp_path, iris, **validation), recorder)
    result = recorder.reported
    assert isinstance(result, TrainingResult)
    assert list(result.metrics) == ["val_accuracy", "val_f1_macro", "accuracy", "f1_macro"]
    assert result.metrics["val_accuracy"] > 0.8
    assert result.training_rows == training_rows
    assert f"validated on {validated} held-out rows" in recorder.logs


def test_model_page_lists_held_out_metrics_first() -> None:
    from sqlml_dagster.ops.metadata import metrics_table

    table = metrics_table({"r2": 0.9, "rmse": 1.0, "val_r2": 0.8, "val_rmse": 1.5}, {})
    assert [r.data["metric"] for r in table.records] == ["val_r2", "val_rmse", "r2", "rmse"]
