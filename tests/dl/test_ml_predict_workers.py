"""``ML_PREDICT(m, …)`` of PyTorch and Keras versions, end to end: the versions are really
trained (tiny data, few epochs), then scored by ``TO PREDICT`` and by ``ML_PREDICT`` in a
``CREATE TABLE … AS SELECT`` and an ``INSERT … SELECT`` over the same rows — the values
must be equal. Those versions are scored by a worker process (``runtime/score_worker.py``):
this process, the orchestrator, never imports TensorFlow, and no worker outlives its step.
A worker that fails is one clear line and writes no table.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import dagster as dg
import pytest

from sqlml_dagster.store import ModelStore

from ..conftest import failure_reasons, materialize_all
from .test_deep_learning import HOUSE_FEATURES, IRIS_FEATURES, materialized, rows

pytestmark = pytest.mark.slow

#: ML_PREDICT's arguments are the version's features in its order: a COLUMN clause's.
MODEL_ORDER = "sqft, distance_km, bedrooms, age"

SQL = f"""
-- PyTorch: the built-in classifier, and a regressor reading typed, encoded columns.
SELECT {IRIS_FEATURES}, class FROM iris WHERE split = 'train'
TO TRAIN DNNClassifier
WITH model.n_classes = 3, model.hidden_units = [8], train.epoch = 3, train.batch_size = 16
LABEL class
INTO iris_torch;

SELECT id, {IRIS_FEATURES} FROM iris WHERE split = 'test'
TO PREDICT iris_torch_predicted.class USING iris_torch;

CREATE TABLE iris_torch_scored AS
SELECT id, ML_PREDICT(iris_torch, {IRIS_FEATURES}) AS class FROM iris WHERE split = 'test';

INSERT INTO iris_torch_appended
SELECT id, ML_PREDICT(iris_torch, {IRIS_FEATURES}) AS class FROM iris WHERE split = 'test';

SELECT {HOUSE_FEATURES}, price FROM houses WHERE split = 'train'
TO TRAIN DNNRegressor
WITH model.hidden_units = [8], train.epoch = 3, train.batch_size = 32
COLUMN sqft, distance_km, INDICATOR(CATEGORY_ID(bedrooms, 8)), BUCKET(age, [10, 30, 50])
LABEL price
INTO house_torch;

SELECT {HOUSE_FEATURES} FROM houses WHERE split = 'test'
TO PREDICT house_torch_predicted.predicted USING house_torch;

CREATE TABLE house_torch_scored AS
SELECT {HOUSE_FEATURES}, ML_PREDICT(house_torch, {MODEL_ORDER}) AS predicted
FROM houses WHERE split = 'test';

-- Keras 2 (a model-zoo file: tf.keras) and Keras 3 (a factory, a .keras file).
SELECT {IRIS_FEATURES}, class FROM iris WHERE split = 'train'
TO TRAIN sqlflow_dnn.DNNClassifier
WITH model.n_classes = 3, model.hidden_units = [8], train.epoch = 3, train.batch_size = 16
LABEL class
INTO iris_keras;

SELECT id, {IRIS_FEATURES} FROM iris WHERE split = 'test'
TO PREDICT iris_keras_predicted.class USING iris_keras;

CREATE TABLE iris_keras_scored AS
SELECT id, ML_PREDICT(iris_keras, {IRIS_FEATURES}) AS class FROM iris WHERE split = 'test';

INSERT INTO iris_keras_appended
SELECT id, ML_PREDICT(iris_keras, {IRIS_FEATURES}) AS class FROM iris WHERE split = 'test';

SELECT {HOUSE_FEATURES}, price FROM houses WHERE split = 'train'
TO TRAIN keras3_models.regressor
WITH train.epoch = 3, train.batch_size = 32
COLUMN sqft, distance_km, bedrooms, EMBEDDING(BUCKET(age, [10, 30, 50]), 2, mean)
LABEL price
INTO house_keras3;

SELECT {HOUSE_FEATURES} FROM houses WHERE split = 'test'
TO PREDICT house_keras3_predicted.predicted USING house_keras3;

CREATE TABLE house_keras3_scored AS
SELECT {HOUSE_FEATURES}, ML_PREDICT(house_keras3, {MODEL_ORDER}) AS predicted
FROM houses WHERE split = 'test';
"""


def worker_processes() -> list[int]:
    """Scoring workers alive on this machine (any parent), by pid."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"sqlml_dagster.runtime.score_worker" in command:
            found.append(int(entry.name))
    return found


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dg.ExecuteInProcessResult]:
    return materialized(tmp_path_factory.mktemp("ml_predict"), SQL)


@pytest.mark.parametrize(
    ("predicted", "scored", "key"),
    [
        ("iris_torch_predicted", "iris_torch_scored", "id"),
        ("iris_torch_predicted", "iris_torch_appended", "id"),
        ("iris_keras_predicted", "iris_keras_scored", "id"),
        ("iris_keras_predicted", "iris_keras_appended", "id"),
    ],
)
def test_ml_predict_of_a_classifier_equals_to_predict_on_the_same_rows(
    project: tuple[Path, dg.ExecuteInProcessResult], predicted: str, scored: str, key: str
) -> None:
    state, _ = project
    expected = rows(state, f"SELECT {key}, class FROM {predicted} ORDER BY {key}")
    assert len(expected) == 30
    assert rows(state, f"SELECT {key}, class FROM {scored} ORDER BY {key}") == expected


@pytest.mark.parametrize(
    ("predicted", "scored"),
    [
        ("house_torch_predicted", "house_torch_scored"),
        ("house_keras3_predicted", "house_keras3_scored"),
    ],
)
def test_ml_predict_of_a_regressor_with_encoded_columns_equals_to_predict(
    project: tuple[Path, dg.ExecuteInProcessResult], predicted: str, scored: str
) -> None:
    """``bedrooms`` (an integer id) and ``age`` (bucketed) reach the worker typed as in
    training and are encoded by the version's own feature plan."""
    state, _ = project
    order = f"ORDER BY {HOUSE_FEATURES}"
    expected = rows(state, f"SELECT {HOUSE_FEATURES}, predicted FROM {predicted} {order}")
    got = rows(state, f"SELECT {HOUSE_FEATURES}, predicted FROM {scored} {order}")
    assert expected and [r[:-1] for r in got] == [r[:-1] for r in expected]
    assert [r[-1] for r in got] == pytest.approx([r[-1] for r in expected], rel=1e-6, abs=1e-6)


def test_the_orchestrator_never_loads_tensorflow_and_no_worker_outlives_its_step(
    project: tuple[Path, dg.ExecuteInProcessResult],
) -> None:
    _, result = project
    assert result.success
    assert "tensorflow" not in sys.modules and "keras" not in sys.modules
    assert worker_processes() == []


def test_a_failing_worker_is_one_clear_line_and_writes_no_table(
    project: tuple[Path, dg.ExecuteInProcessResult], tmp_path: Path
) -> None:
    """The version's weights are altered after training (same size, other bytes): the
    worker refuses them when it loads the version — the step fails with the worker's one
    line, the table that called it is not written, and the worker is gone."""
    state, _ = project
    copy = tmp_path / "copy"
    shutil.copytree(state.parent, copy)
    state = copy / "state"
    version = ModelStore(str(state / "models")).get("iris_torch")
    weights = Path(version.uri) / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    (copy / "sql" / "damaged.sql").write_text(
        "CREATE TABLE iris_torch_damaged AS\n"
        f"SELECT id, ML_PREDICT(iris_torch, {IRIS_FEATURES}) AS class FROM iris;\n"
    )
    result = materialize_all(copy / "sql", state, selection=["iris_torch_damaged"])
    assert not result.success
    reason = failure_reasons(result)
    assert len(reason.strip().splitlines()) == 1, reason
    assert "ML_PREDICT: iris_torch@1: " in reason and "sha256" in reason, reason
    assert "Traceback" not in reason
    tables = rows(state, "SELECT table_name FROM information_schema.tables")
    assert ("iris_torch_damaged",) not in tables and ("iris_torch_scored",) in tables
    assert worker_processes() == []
