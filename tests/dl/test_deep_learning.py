"""Deep learning from SQL, end to end: each statement below is materialized by Dagster,
each ML step runs as ``python -m sqlml_dagster.runtime`` in its own process (the command a
Kubernetes Job runs), and the checks read the warehouse tables a user would read.

Stated goals (tiny data, CPU): iris classifiers ≥ 0.9 test accuracy; house-price
regressors R2 ≥ 0.8 on the held-out rows.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from sqlml_dagster.store import ModelStore

from ..conftest import EXAMPLE, failure_reasons, materialize_all

# whole projects materialized end to end: seconds each (docs/testing.md)
pytestmark = pytest.mark.slow

MODELS = Path(__file__).parent / "models"
IRIS = EXAMPLE / "data" / "iris.csv"
HOUSES = EXAMPLE / "data" / "houses.csv"

# the project's own data folder, as in example_repo (its SQL opens only its own files)
SOURCES = """
CREATE TABLE iris AS SELECT * FROM read_csv('../data/iris.csv');
CREATE TABLE houses AS
SELECT sqft, bedrooms, 2026 - year_built AS age, distance_km, price, split
FROM read_csv('../data/houses.csv');
"""
IRIS_FEATURES = "sepal_length, sepal_width, petal_length, petal_width"
HOUSE_FEATURES = "sqft, bedrooms, age, distance_km"


def iris_accuracy(state: Path, table: str, column: str = "class") -> float:
    with duckdb.connect(str(state / "warehouse.duckdb"), read_only=True) as con:
        ((accuracy,),) = con.execute(
            f"SELECT avg(CASE WHEN p.{column} = i.class THEN 1.0 ELSE 0.0 END) "
            f"FROM {table} p JOIN iris i USING (id)"
        ).fetchall()
    return float(accuracy)


def house_r2(state: Path, table: str) -> float:
    with duckdb.connect(str(state / "warehouse.duckdb"), read_only=True) as con:
        ((r2,),) = con.execute(
            f"SELECT 1 - sum(power(actual - predicted, 2)) / "
            f"sum(power(actual - (SELECT avg(actual) FROM {table}), 2)) FROM {table}"
        ).fetchall()
    return float(r2)


def rows(state: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(state / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def materialized(tmp_path: Path, sql: str) -> tuple[Path, dg.ExecuteInProcessResult]:
    """Write ``sql`` beside the sources into a project with a ``models/`` folder and
    materialize all of it; the state and the run's result come back."""
    root = tmp_path / "sql"
    root.mkdir()
    (root / "sources.sql").write_text(SOURCES)
    (root / "ml.sql").write_text(textwrap.dedent(sql))
    shutil.copytree(MODELS, root.parent / "models")  # the project's models/ folder
    shutil.copy(EXAMPLE / "models" / "sqlflow_dnn.py", root.parent / "models")
    (root.parent / "data").mkdir()
    for data in (IRIS, HOUSES):
        shutil.copy(data, root.parent / "data")
    state = tmp_path / "state"
    result = materialize_all(root, state)
    assert result.success, failure_reasons(result)
    return state, result


def metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, object]:
    for event in result.get_asset_materialization_events():
        materialization = event.materialization
        if materialization.asset_key == dg.AssetKey(asset):
            return {k: v.value for k, v in materialization.metadata.items()}
    raise AssertionError(f"{asset} was not materialized")


# -- PyTorch ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def torch_project(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, dg.ExecuteInProcessResult]:
    return materialized(
        tmp_path_factory.mktemp("torch"),
        f"""
        -- SQLFlow's canonical statement, no model zoo: the built-in runs on PyTorch.
        SELECT {IRIS_FEATURES}, class FROM iris WHERE split = 'train'
        TO TRAIN DNNClassifier
        WITH model.n_classes = 3, model.hidden_units = [16, 16], train.epoch = 40,
             train.batch_size = 16, validation.split = 0.2
        LABEL class
        INTO iris_dnn;

        SELECT id, {IRIS_FEATURES} FROM iris WHERE split = 'test'
        TO PREDICT iris_dnn_predictions.class
        WITH predict.probabilities = true
        USING iris_dnn;

        SELECT {IRIS_FEATURES}, class FROM iris WHERE split = 'test'
        TO EVALUATE iris_dnn
        WITH validation.metrics = "Accuracy,Precision,Recall,F1,AUC"
        LABEL class
        INTO iris_dnn_evaluation;

        SELECT {IRIS_FEATURES}, class FROM iris WHERE split = 'test'
        TO EXPLAIN iris_dnn
        INTO iris_dnn_explanation;

        -- A researcher's module with optimizer / loss / prepare_prediction_column hooks.
        SELECT {IRIS_FEATURES}, class FROM iris WHERE split = 'train'
        TO TRAIN torch_nets.IrisNet
        WITH model.hidden = 16, train.epoch = 40, train.batch_size = 8
        LABEL class
        INTO iris_net;

        SELECT id, {IRIS_FEATURES} FROM iris WHERE split = 'test'
        TO PREDICT iris_net_predictions.class USING iris_net;

        -- A module that owns its training loop.
        SELECT {IRIS_FEATURES}, class FROM iris WHERE split = 'train'
        TO TRAIN torch_loop.Net WITH train.epoch = 60 LABEL class INTO iris_loop;

        SELECT id, {IRIS_FEATURES} FROM iris WHERE split = 'test'
        TO PREDICT iris_loop_predictions.class USING iris_loop;

        -- Regression with a COLUMN clause and a validation query.
        SELECT {HOUSE_FEATURES}, price FROM houses WHERE split = 'train'
        TO TRAIN DNNRegressor
        WITH model.hidden_units = [32, 32], train.epoch = 60, train.batch_size = 32,
             validation.select = "SELECT {HOUSE_FEATURES}, price FROM houses WHERE split = 'test'"
        COLUMN sqft, distance_km, INDICATOR(CATEGORY_ID(bedrooms, 8)), BUCKET(age, [10, 30, 50])
        LABEL price
        INTO house_dnn;

        SELECT {HOUSE_FEATURES}, price AS actual FROM houses WHERE split = 'test'
        TO PREDICT house_dnn_predictions.predicted USING house_dnn;
        """,
    )


def test_builtin_dnn_classifier_reaches_the_accuracy_goal(
    torch_project: tuple[Path, dg.ExecuteInProcessResult],
) -> None:
    state, _ = torch_project
    assert iris_accuracy(state, "iris_dnn_predictions") >= 0.9
    # predict.probabilities = true: one column per class, each row summing to one
    ((total, low, high),) = rows(
        state,
        "SELECT count(*), min(s), max(s) FROM (SELECT class_probability_setosa + "
        "class_probability_versicolor + class_probability_virginica AS s FROM iris_dnn_predictions)",
    )
    assert (
        total == 30 and low == pytest.approx(1.0, abs=1e-4) and high == pytest.approx(1.0, abs=1e-4)
    )


def test_training_reports_epochs_and_saves_weights_not_pickles(
    torch_project: tuple[Path, dg.ExecuteInProcessResult],
) -> None:
    state, result = torch_project
    meta = metadata(result, "iris_dnn")
    epochs = meta["epochs"]
    assert isinstance(epochs, dg.TableMetadataValue)
    records = epochs.records
    assert len(records) == 40
    assert {"epoch", "loss", "val_loss", "val_accuracy"} <= set(records[0].data)
    assert records[-1].data["loss"] < records[0].data["loss"]
    version = ModelStore(str(state / "models")).get("iris_dnn")
    assert version.manifest.flavor == "pytorch"
    assert set(version.manifest.artifacts) == {
        "model.safetensors",
        "signature.json",
        "feature_stats.json",  # every flavor's training statistics (runtime/drift.py)
    }
    assert version.signature["classes"] == ["setosa", "versicolor", "virginica"]


def test_evaluate_and_explain_produce_their_tables(
    torch_project: tuple[Path, dg.ExecuteInProcessResult],
) -> None:
    state, result = torch_project
    ((model, version, n, accuracy, precision, recall, f1, auc),) = rows(
        state,
        "SELECT model, model_version, rows, accuracy, precision, recall, f1, auc "
        "FROM iris_dnn_evaluation",
    )
    assert (model, version, n) == ("iris_dnn", 1, 30)
    assert min(accuracy, precision, recall, f1) >= 0.85 and auc >= 0.95  # type: ignore[call-overload]
    explained = rows(state, "SELECT feature, rank FROM iris_dnn_explanation ORDER BY rank")
    assert {f for f, _ in explained} == set(IRIS_FEATURES.split(", "))
    assert explained[0][0] in ("petal_length", "petal_width")
    meta = metadata(result, "iris_dnn_explanation")
    assert str(meta["plot"]).startswith(
        "![iris_dnn_explanation explanation](data:image/png;base64,"
    )


def test_module_hooks_and_custom_loops_train(
    torch_project: tuple[Path, dg.ExecuteInProcessResult],
) -> None:
    state, _ = torch_project
    assert iris_accuracy(state, "iris_net_predictions") >= 0.9
    assert iris_accuracy(state, "iris_loop_predictions") >= 0.9


def test_regressor_with_columns_and_validation_select(
    torch_project: tuple[Path, dg.ExecuteInProcessResult],
) -> None:
    state, result = torch_project
    assert house_r2(state, "house_dnn_predictions") >= 0.8
    records = metadata(result, "house_dnn")["epochs"].records  # type: ignore[attr-defined]
    assert "val_loss" in records[-1].data and "val_r2" in records[-1].data
    signature = ModelStore(str(state / "models")).get("house_dnn").signature
    assert signature["feature_plan"]  # saved with the model, applied at PREDICT


# -- Keras ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keras_project(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, dg.ExecuteInProcessResult]:
    return materialized(
        tmp_path_factory.mktemp("keras"),
        f"""
        -- The model-zoo guide's file, unchanged (binary label: is it a setosa?).
        SELECT {IRIS_FEATURES}, CAST(class = 'setosa' AS INTEGER) AS setosa
        FROM iris WHERE split = 'train'
        TO TRAIN my_awesome_model.MyAwesomeClassifier
        WITH model.hidden_units = [8], train.epoch = 2
        LABEL setosa
        INTO guide_model;

        SELECT id, {IRIS_FEATURES} FROM iris WHERE split = 'test'
        TO PREDICT guide_predictions.setosa USING guide_model;

        -- A Keras 2 zoo model with SQLFlow's optimizer/loss/prepare hooks.
        SELECT {IRIS_FEATURES}, class FROM iris WHERE split = 'train'
        TO TRAIN sqlflow_dnn.DNNClassifier
        WITH model.n_classes = 3, model.hidden_units = [16, 16], train.epoch = 60,
             train.batch_size = 16
        LABEL class
        INTO iris_keras;

        SELECT id, {IRIS_FEATURES} FROM iris WHERE split = 'test'
        TO PREDICT iris_keras_predictions.class USING iris_keras;

        SELECT {IRIS_FEATURES}, class FROM iris WHERE split = 'test'
        TO EVALUATE iris_keras WITH validation.metrics = "Accuracy,F1" LABEL class
        INTO iris_keras_evaluation;

        SELECT {IRIS_FEATURES}, class FROM iris WHERE split = 'test'
        TO EXPLAIN iris_keras USING permutation INTO iris_keras_explanation;

        -- sqlflow_train_loop: the model trains itself on the tf.data.Dataset.
        SELECT {IRIS_FEATURES}, class FROM iris WHERE split = 'train'
        TO TRAIN custom_loop.SelfTrained
        WITH model.n_classes = 3, train.epoch = 60, train.batch_size = 16
        LABEL class
        INTO iris_self_trained;

        SELECT id, {IRIS_FEATURES} FROM iris WHERE split = 'test'
        TO PREDICT iris_self_trained_predictions.class USING iris_self_trained;

        -- Keras 3 factories: a Sequential classifier and a functional regressor.
        SELECT {IRIS_FEATURES}, class FROM iris WHERE split = 'train'
        TO TRAIN keras3_models.classifier
        WITH train.epoch = 60, train.batch_size = 16, train.learning_rate = 0.01
        LABEL class
        INTO iris_keras3;

        SELECT id, {IRIS_FEATURES} FROM iris WHERE split = 'test'
        TO PREDICT iris_keras3_predictions.class USING iris_keras3;

        -- SQLFlow's optimizer keys and train.max_steps (120 rows in batches of 16: 8 steps
        -- an epoch, so 12 steps end in the 2nd epoch).
        SELECT {IRIS_FEATURES}, class FROM iris WHERE split = 'train'
        TO TRAIN keras3_models.classifier
        WITH train.epoch = 60, train.batch_size = 16, train.max_steps = 12,
             model.optimizer = SGD, optimizer.learning_rate = 0.05, optimizer.momentum = 0.9
        LABEL class
        INTO iris_keras3_sgd;

        SELECT {HOUSE_FEATURES}, price FROM houses WHERE split = 'train'
        TO TRAIN keras3_models.regressor
        WITH train.epoch = 80, train.batch_size = 32, train.learning_rate = 0.01
        COLUMN sqft, distance_km, bedrooms, EMBEDDING(BUCKET(age, [10, 30, 50]), 2, mean)
        LABEL price
        INTO house_keras3;

        SELECT {HOUSE_FEATURES}, price AS actual FROM houses WHERE split = 'test'
        TO PREDICT house_keras3_predictions.predicted USING house_keras3;
        """,
    )


def test_the_model_zoo_guides_file_trains_unchanged(
    keras_project: tuple[Path, dg.ExecuteInProcessResult],
) -> None:
    state, _ = keras_project
    version = ModelStore(str(state / "models")).get("guide_model")
    manifest = version.manifest
    assert manifest.flavor == "keras" and version.signature["format"] == "sqlml_tf_keras"
    assert "tf_keras" in manifest.frameworks
    # its prepare_prediction_column (argmax over one sigmoid unit) decides the column
    assert rows(state, "SELECT count(*), count(DISTINCT setosa) FROM guide_predictions") == [
        (30, 1)
    ]


def test_keras_zoo_model_reaches_the_accuracy_goal(
    keras_project: tuple[Path, dg.ExecuteInProcessResult],
) -> None:
    state, _ = keras_project
    assert iris_accuracy(state, "iris_keras_predictions") >= 0.9
    assert iris_accuracy(state, "iris_self_trained_predictions") >= 0.9
    ((accuracy, f1),) = rows(state, "SELECT accuracy, f1 FROM iris_keras_evaluation")
    assert accuracy >= 0.9 and f1 >= 0.9  # type: ignore[operator]
    features = rows(state, "SELECT feature, method FROM iris_keras_explanation")
    assert len(features) == 4 and {m for _, m in features} == {"permutation"}


def test_keras3_factories_train_and_save_keras_files(
    keras_project: tuple[Path, dg.ExecuteInProcessResult],
) -> None:
    state, _ = keras_project
    assert iris_accuracy(state, "iris_keras3_predictions") >= 0.9
    assert house_r2(state, "house_keras3_predictions") >= 0.8
    version = ModelStore(str(state / "models")).get("house_keras3")
    assert "model.keras" in version.manifest.artifacts
    assert version.signature["format"] == "sqlml_keras"


def test_sqlflow_optimizer_keys_and_max_steps_drive_keras_training(
    keras_project: tuple[Path, dg.ExecuteInProcessResult],
) -> None:
    _, result = keras_project
    epochs = metadata(result, "iris_keras3_sgd")["epochs"]
    assert len(epochs.records) == 2  # type: ignore[attr-defined]


# -- online serving: `sqlml serve` answers what TO PREDICT wrote, for every DL flavor ------------

SERVED = [
    # (project fixture, model, its TO PREDICT table, predicted column, features)
    ("torch_project", "iris_net", "iris_net_predictions", "class", IRIS_FEATURES),
    ("torch_project", "house_dnn", "house_dnn_predictions", "predicted", HOUSE_FEATURES),
    ("keras_project", "iris_keras", "iris_keras_predictions", "class", IRIS_FEATURES),
    ("keras_project", "iris_keras3", "iris_keras3_predictions", "class", IRIS_FEATURES),
    ("keras_project", "house_keras3", "house_keras3_predictions", "predicted", HOUSE_FEATURES),
]


@pytest.mark.parametrize(("project", "model", "table", "column", "features"), SERVED)
def test_a_served_version_answers_what_to_predict_wrote(
    project: str,
    model: str,
    table: str,
    column: str,
    features: str,
    request: pytest.FixtureRequest,
) -> None:
    """``sqlml serve`` in the project's folder scores JSON rows with the version's own
    weights and fitted feature plan (vocabularies, buckets): the same values the PREDICT
    step wrote for those rows. The project's own model classes load because its
    ``models/`` folder is allowed there. A process of its own, as a server is: TensorFlow
    decides what ``tf.keras`` means at its first import."""
    import httpx

    state, _ = request.getfixturevalue(project)
    names = [name.strip() for name in features.split(",")]
    scored = rows(state, f"SELECT {features}, {column} FROM {table}")
    assert scored
    with serving(state, model) as url:
        described = httpx.get(f"{url}/model").json()
        answer = httpx.post(
            f"{url}/predict",
            json={"rows": [dict(zip(names, row[:-1], strict=True)) for row in scored]},
            timeout=60,
        ).json()
    assert sorted(feature["name"] for feature in described["features"]) == sorted(names)
    assert (answer["model"], answer["version"]) == (model, 1)
    expected = [row[-1] for row in scored]
    if isinstance(expected[0], str):
        assert answer["predictions"] == expected
    else:  # float32 networks, stored as DOUBLE: equal to the stored value's precision
        assert answer["predictions"] == pytest.approx(expected, rel=1e-6, abs=1e-6)


@contextlib.contextmanager
def serving(state: Path, model: str) -> Iterator[str]:
    """``sqlml serve MODEL`` run in the project's folder (``state``'s parent); its URL."""
    import httpx

    from ..test_serving import _free_port

    port = _free_port()
    env = {**os.environ, "SQLML_STATE_DIR": str(state)}
    env.pop("SQLML_ALLOWED_MODEL_PACKAGES", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "sqlml_dagster.cli", "serve", model, "--port", str(port)],
        env=env,
        cwd=state.parent,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz")
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "sqlml serve did not start"
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.communicate(timeout=20)


def test_sqlml_serve_loads_the_projects_own_model_class_and_only_when_allowed(
    torch_project: tuple[Path, dg.ExecuteInProcessResult],
) -> None:
    """``sqlml serve`` run outside the project's folder, without ``--models``, refuses a
    version of the project's own class (``torch_nets.IrisNet``) in one line naming the
    allowed packages — a version never widens what the server imports — and a ``--models``
    folder that is not there is one line too. (In the folder it serves: above.)"""
    state, _ = torch_project
    env = {**os.environ, "SQLML_STATE_DIR": str(state)}
    env.pop("SQLML_ALLOWED_MODEL_PACKAGES", None)

    def sqlml(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "sqlml_dagster.cli", *args],
            env=env,
            cwd=state,
            capture_output=True,
            text=True,
            timeout=120,
        )

    refused = sqlml("serve", "iris_net", "--port", "1")
    assert refused.returncode == 1
    assert refused.stderr.startswith(
        "sqlml: cannot load iris_net@1: 'torch_nets.IrisNet' is not in an allowed model package"
    )
    assert len(refused.stderr.strip().splitlines()) == 1
    missing = sqlml("serve", "iris_net", "--models", "nowhere")
    assert (missing.returncode, missing.stderr) == (1, "sqlml: --models nowhere: no such folder\n")
