"""The step entrypoint, run exactly as a launcher runs it: `python -m sqlml_dagster.runtime SPEC`.

Outside Dagster it logs to stderr and prints its result as JSON, which is what these tests read.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.datasets import load_iris

from sqlml_dagster.contract import USER_ERROR_EXIT_CODE
from sqlml_dagster.contract.spec import SPEC_VERSION, StepSpec
from sqlml_dagster.store import ModelManifest


def run_spec(
    tmp_path: Path, spec: StepSpec, name: str = "spec.json", pythonpath: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """The step entrypoint on ``spec`` (models importable from ``pythonpath``)."""
    path = tmp_path / name
    path.write_text(spec.to_json())
    return subprocess.run(
        [sys.executable, "-m", "sqlml_dagster.runtime", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **os.environ,
            "PYTHONPATH": str(pythonpath),
            # a models/ module is an allowed package (contract/model_packages.py)
            "SQLML_ALLOWED_MODEL_PACKAGES": ",".join(p.stem for p in pythonpath.glob("*.py")),
        }
        if pythonpath
        else None,
    )


@pytest.fixture
def iris_parquet(tmp_path: Path) -> Path:
    data = load_iris(as_frame=False)
    table = pa.table(
        {
            "sepal_length": data.data[:, 0],
            "sepal_width": data.data[:, 1],
            "petal_length": data.data[:, 2],
            "petal_width": data.data[:, 3],
            "class": [str(data.target_names[t]) for t in data.target],
            "note": ["x"] * len(data.target),
        }
    )
    path = tmp_path / "iris.parquet"
    pq.write_table(table, path)
    return path


def train_spec(tmp_path: Path, data: Path, **overrides: object) -> StepSpec:
    fields: dict[str, object] = {
        "kind": "train",
        "step_id": "t",
        "model_name": "iris",
        "model_reference": "sklearn.linear_model.LogisticRegression",
        "flavor": "sklearn",
        "params": {"model": {"max_iter": 500}},
        "input_uri": str(data),
        "label": "class",
        "features": ["sepal_length", "sepal_width", "petal_length", "petal_width"],
        "model_uri": str(tmp_path / "model"),
    }
    fields.update(overrides)
    return StepSpec(**fields)  # type: ignore[arg-type]


def predict_spec(tmp_path: Path, data: Path) -> StepSpec:
    return StepSpec(
        kind="predict",
        step_id="p",
        model_name="iris",
        model_reference="sklearn.linear_model.LogisticRegression",
        flavor="sklearn",
        input_uri=str(data),
        features=["sepal_length", "sepal_width", "petal_length", "petal_width"],
        model_uri=str(tmp_path / "model"),
        output_uri=str(tmp_path / "out.parquet"),
        prediction_column="class",
    )


def _publish_in_place(folder: Path) -> None:
    """What the orchestrator does after training: checksums, then the manifest, last."""
    artifacts = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}
    manifest = ModelManifest(
        model="iris",
        version=1,
        created_at="2026-11-23T00:00:00+00:00",
        flavor="sklearn",
        model_reference="sklearn.linear_model.LogisticRegression",
        fingerprint="f",
        statement_fingerprint="s",
        training_data_fingerprint="d",
        artifacts=artifacts,
    )
    (folder / "manifest.json").write_text(manifest.to_json())


@pytest.mark.slow
def test_train_then_predict(tmp_path: Path, iris_parquet: Path) -> None:
    trained = run_spec(tmp_path, train_spec(tmp_path, iris_parquet))
    assert trained.returncode == 0, trained.stderr
    result = json.loads(trained.stdout)["result"]
    assert json.loads((tmp_path / "result.json").read_text()) == result  # beside the spec
    assert result["metrics"]["accuracy"] > 0.95
    assert result["params"]["max_iter"] == 500
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == [
        "feature_stats.json",  # every flavor's training statistics (runtime/drift.py)
        "model.skops",
        "signature.json",
    ]
    assert result["artifacts"] == ["model.skops", "signature.json", "feature_stats.json"]
    unpublished = run_spec(tmp_path, predict_spec(tmp_path, iris_parquet), "unpublished.json")
    assert unpublished.returncode == USER_ERROR_EXIT_CODE
    assert "has no manifest.json: it was never published" in unpublished.stderr
    _publish_in_place(tmp_path / "model")

    predicted = run_spec(tmp_path, predict_spec(tmp_path, iris_parquet), "predict.json")
    assert predicted.returncode == 0, predicted.stderr
    out = pq.read_table(tmp_path / "out.parquet")

    # every input column is kept; the prediction replaces the column of the same name, last
    assert out.schema.names == [
        "sepal_length",
        "sepal_width",
        "petal_length",
        "petal_width",
        "note",
        "class",
    ]
    truth = pq.read_table(iris_parquet).column("class").to_pylist()
    accuracy = sum(
        a == b for a, b in zip(out.column("class").to_pylist(), truth, strict=True)
    ) / len(truth)
    assert accuracy > 0.95


@pytest.mark.slow
def test_seed_makes_training_deterministic(tmp_path: Path, iris_parquet: Path) -> None:
    spec = train_spec(
        tmp_path,
        iris_parquet,
        model_reference="sklearn.ensemble.RandomForestClassifier",
        params={"model": {"n_estimators": 5}},
    )
    first = run_spec(tmp_path, spec)
    assert first.returncode == 0, first.stderr
    first_model = _model_contents(tmp_path / "model")
    shutil.rmtree(tmp_path / "model")
    second = run_spec(tmp_path, spec)
    assert second.returncode == 0, second.stderr
    assert json.loads(first.stdout)["result"]["params"]["random_state"] == 0
    # the trees themselves, not only the metrics (which unseeded forests often share)
    assert _model_contents(tmp_path / "model") == first_model
    shutil.rmtree(tmp_path / "model")
    unseeded = dataclasses.replace(
        spec, params={"model": {"n_estimators": 5, "random_state": None}}
    )
    assert run_spec(tmp_path, unseeded).returncode == 0
    assert _model_contents(tmp_path / "model") != first_model  # the comparison can tell


def _model_contents(folder: Path) -> list[bytes]:
    """A saved forest's arrays (every tree's thresholds, features and values), as bytes:
    what training decided, without the .skops file's timestamps and object ids."""
    with zipfile.ZipFile(folder / "model.skops") as archive:
        return sorted(archive.read(n) for n in archive.namelist() if n.endswith(".npy"))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"params": {"model": {"max_iterz": 5}}},
            "has no parameter 'max_iterz' (did you mean 'max_iter'?)",
        ),
        (
            {"model_reference": "sklearn.linear_model.LogisticRegresion"},
            "did you mean sklearn.linear_model.LogisticRegression?",
        ),
        (
            {"model_reference": "no_such_package.Model"},
            "'no_such_package.Model' is not in an allowed model package",
        ),
        ({"features": ["sepal_length", "note"]}, "feature column 'note' has type string"),
        ({"label": "species"}, "label column 'species' is not in the data"),
        ({"params": {"model": {"C": "lots"}}}, "fit failed"),
        (
            {
                "model_reference": "DNNClassifier",
                "flavor": "pytorch",
                "params": {"model": {"hiden_units": [4]}},
            },
            "DNNClassifier has no parameter 'hiden_units' (did you mean 'hidden_units'?)",
        ),
        (
            {"model_reference": "DNNClasifier", "flavor": "auto"},
            "'DNNClasifier' is neither a built-in estimator",
        ),
        (
            {
                "model_reference": "DNNRegressor",
                "flavor": "pytorch",
                "label": "sepal_length",
                "params": {"train": {"epoch": 0}},
            },
            "train.epoch must be at least 1",
        ),
    ],
)
@pytest.mark.slow
def test_user_errors_are_one_clear_line(
    tmp_path: Path, iris_parquet: Path, overrides: dict[str, object], message: str
) -> None:
    done = run_spec(tmp_path, train_spec(tmp_path, iris_parquet, **overrides))
    assert done.returncode == USER_ERROR_EXIT_CODE
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert message in json.loads((tmp_path / "error.json").read_text())["message"]


@pytest.mark.slow
def test_a_model_package_that_does_not_compile_is_a_user_error(
    tmp_path: Path, iris_parquet: Path
) -> None:
    (tmp_path / "broken_model.py").write_text("class Net(:\n    pass\n")
    spec = train_spec(tmp_path, iris_parquet, model_reference="broken_model.Net", flavor="auto")
    done = run_spec(tmp_path, spec, pythonpath=tmp_path)
    assert done.returncode == USER_ERROR_EXIT_CODE and "Traceback" not in done.stderr
    assert "the model package broken_model does not compile: invalid syntax at " in done.stderr
    assert "broken_model.py:1:" in done.stderr


@pytest.mark.slow
def test_a_crash_is_not_a_user_error(tmp_path: Path, iris_parquet: Path) -> None:
    """A bug in model code exits 1 with its traceback, not the user-error status: a Job's
    podFailurePolicy fails at once only on the latter, so a crash stays retryable."""
    (tmp_path / "crashing_model.py").write_text(
        "from sklearn.tree import DecisionTreeClassifier\n"
        "class Crashing(DecisionTreeClassifier):\n"
        "    def fit(self, X, y, **kwargs):\n"
        "        raise RuntimeError('the GPU fell off the bus')\n"
    )
    spec = train_spec(
        tmp_path, iris_parquet, model_reference="crashing_model.Crashing", flavor="auto", params={}
    )
    done = run_spec(tmp_path, spec, pythonpath=tmp_path)
    assert (done.returncode, USER_ERROR_EXIT_CODE) == (1, 65)
    assert "Traceback" in done.stderr and "the GPU fell off the bus" in done.stderr
    error = json.loads((tmp_path / "error.json").read_text())["message"]
    assert error == "RuntimeError: the GPU fell off the bus"


def test_newer_spec_version_is_refused(tmp_path: Path, iris_parquet: Path) -> None:
    raw = json.loads(train_spec(tmp_path, iris_parquet).to_json())
    raw["spec_version"] = SPEC_VERSION + 1
    (tmp_path / "spec.json").write_text(json.dumps(raw))
    done = subprocess.run(
        [sys.executable, "-m", "sqlml_dagster.runtime", str(tmp_path / "spec.json")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == USER_ERROR_EXIT_CODE
    assert "newer than this runtime understands" in done.stderr


def test_unknown_fields_from_a_newer_orchestrator_are_ignored() -> None:
    raw = {
        "kind": "train",
        "step_id": "s",
        "model_name": "m",
        "model_reference": "r",
        "flavor": "sklearn",
        "spec_version": 1,
        "future_field": 1,
    }
    assert StepSpec.from_json(json.dumps(raw)).model_name == "m"
