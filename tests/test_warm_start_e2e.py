"""Warm start end to end: ``… LABEL y USING base[@v] INTO m`` continues a version of the
base — scikit-learn estimators with ``warm_start`` keep fitting (a forest keeps its trees
and grows more), PyTorch and Keras networks start from the base's weights and its fitted
feature plan — records ``warm_start_from``, and retrains when the base gets a new version."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sqlml_dagster.contract.spec import StepSpec
from sqlml_dagster.runtime.flavors.sklearn import load_estimator
from sqlml_dagster.store import ModelManifest, ModelStore
from sqlml_dagster.store.models import now_iso

from .conftest import failure_reasons, materialize_all

# whole projects materialized end to end, steps in processes of their own: seconds each
pytestmark = pytest.mark.slow

DATA = (
    "CREATE TABLE d AS SELECT range * 1.0 AS x, (range * 7 % 13) * 1.0 AS z, "
    "CASE WHEN range % 3 = 0 THEN 'a' ELSE 'b' END AS y FROM range({rows});\n"
)
FOREST = "sklearn.ensemble.RandomForestClassifier"
STATEMENTS = (
    f"SELECT x, z, y FROM d TO TRAIN {FOREST} WITH model.n_estimators = {{base_trees}} "
    "LABEL y INTO base;\n"
    f"SELECT x, z, y FROM d TO TRAIN {FOREST} WITH model.n_estimators = 6 "
    "LABEL y USING base INTO tuned;\n"
    "SELECT x, z, y FROM d TO TRAIN sklearn.linear_model.SGDClassifier "
    "WITH model.max_iter = 5, model.tol = NULL LABEL y USING itself INTO itself;\n"
)


def write(root: Path, rows: int = 60, base_trees: int = 3) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "a.sql").write_text(DATA.format(rows=rows) + STATEMENTS.format(base_trees=base_trees))
    return root


def versions(store: ModelStore, model: str) -> list[tuple[int, str | None]]:
    return [(v.version, v.manifest.warm_start_from) for v in store.versions(model)]


def thresholds(tree: Any) -> list[float]:
    return [float(t) for t in tree.tree_.threshold]


def test_a_forest_keeps_its_trees_and_retrains_when_its_base_does(tmp_path: Path) -> None:
    root, state = write(tmp_path / "sql"), tmp_path / "state"
    store = ModelStore(str(state / "models"))
    first = materialize_all(root, state)
    assert first.success, failure_reasons(first)
    assert versions(store, "tuned") == [(1, "base@1")]
    base = load_estimator(store.get("base").uri)
    tuned = load_estimator(store.get("tuned").uri)
    assert len(tuned.estimators_) == 6  # the base's 3 trees, then 3 more
    assert [thresholds(t) for t in tuned.estimators_[:3]] == [
        thresholds(t) for t in base.estimators_
    ]
    # a model continuing itself starts from scratch: there is no version yet
    assert versions(store, "itself") == [(1, None)]

    again = materialize_all(root, state)  # nothing changed: every version reused
    assert again.success
    assert [len(store.versions(m)) for m in ("base", "tuned", "itself")] == [1, 1, 1]

    write(root, base_trees=4)  # a new base version retrains the fine-tuned model
    changed = materialize_all(root, state)
    assert changed.success, failure_reasons(changed)
    assert versions(store, "tuned") == [(1, "base@1"), (2, "base@2")]
    assert versions(store, "itself") == [(1, None)]  # its statement and data did not change

    write(root, rows=61, base_trees=4)  # new data: the model continues its own version
    grown = materialize_all(root, state)
    assert grown.success, failure_reasons(grown)
    assert versions(store, "itself") == [(1, None), (2, "itself@1")]


# -- PyTorch, at the step ------------------------------------------------------------------


def run(tmp_path: Path, name: str, data: Path, **fields: Any) -> subprocess.CompletedProcess[str]:
    folder = tmp_path / "models" / name / "1"
    spec = StepSpec(
        **{
            "kind": "train",
            "step_id": name,
            "model_name": name,
            "model_reference": "DNNClassifier",
            "flavor": "pytorch",
            "params": {"model": {"hidden_units": [4]}, "train": {"epoch": 2}},
            "input_uri": str(data),
            "label": "y",
            "model_uri": str(folder),
            "columns": {
                "feature_columns": [
                    {"function": "COLUMN", "name": "x"},
                    {
                        "function": "INDICATOR",
                        "category": {
                            "function": "CATEGORY_ID",
                            "key": {"function": "COLUMN", "name": "c"},
                            "bucket_size": 4,
                            "delimiter": None,
                        },
                    },
                ]
            },
            **fields,
        }
    )
    path = tmp_path / f"{name}.json"
    path.write_text(spec.to_json())
    store = ModelStore(str(tmp_path / "models"))
    pending = store.reserve(name)
    assert pending.uri == str(folder)
    done = subprocess.run(
        [sys.executable, "-m", "sqlml_dagster.runtime", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "SQLML_STEP_MODEL_STORE": str(tmp_path / "models")},
    )
    if done.returncode == 0:  # published, as the orchestrator does: a base must be
        store.publish(
            pending, ModelManifest(name, 1, now_iso(), "pytorch", "DNNClassifier", "", "", "")
        )
    return done


def table(path: Path, categories: list[str]) -> Path:
    n = 24
    pq.write_table(
        pa.table(
            {
                "x": [float(i % 6) for i in range(n)],
                "c": [categories[i % len(categories)] for i in range(n)],
                "y": ["p" if i % 2 else "q" for i in range(n)],
            }
        ),
        path,
    )
    return path


def weights(tmp_path: Path, name: str) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(tmp_path / "models" / name / "1" / "model.safetensors"))


def signature(tmp_path: Path, name: str) -> dict[str, Any]:
    return dict(json.loads((tmp_path / "models" / name / "1" / "signature.json").read_text()))


def test_a_network_starts_from_the_base_weights_and_its_fitted_plan(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    first = table(tmp_path / "first.parquet", ["red", "blue"])
    later = table(tmp_path / "later.parquet", ["green", "blue", "pink", "grey"])
    assert run(tmp_path, "base", first).returncode == 0
    base_uri = str(tmp_path / "models" / "base" / "1")
    tuned = run(
        tmp_path,
        "tuned",
        later,
        warm_start_uri=base_uri,
        params={"model": {"hidden_units": [4]}, "train": {"epoch": 1, "learning_rate": 1e-9}},
    )
    assert tuned.returncode == 0, tuned.stderr
    assert "warm start: continuing from base@1's weights" in tuned.stderr
    # the base's vocabulary (red, blue), not one refit on the new rows
    assert (
        signature(tmp_path, "tuned")["feature_plan"] == signature(tmp_path, "base")["feature_plan"]
    )
    base, continued = weights(tmp_path, "base"), weights(tmp_path, "tuned")
    assert base.keys() == continued.keys()
    assert all(np.allclose(base[k], continued[k], atol=1e-5) for k in base)  # a step of 1e-9
    fresh = run(
        tmp_path, "fresh", later, params={"model": {"hidden_units": [4]}, "train": {"epoch": 1}}
    )
    assert fresh.returncode == 0
    assert not all(np.allclose(base[k], weights(tmp_path, "fresh")[k], atol=1e-5) for k in base)


MISMATCHES = [
    # (what the statement says beside USING base, the one line the step fails with)
    (
        {"params": {"model": {"hidden_units": [8]}, "train": {"epoch": 1}}},
        "cannot warm-start DNNClassifier(hidden_units=[8], input_dim=5, n_classes=2) from "
        "base@1, built as DNNClassifier(hidden_units=[4], input_dim=5, n_classes=2): "
        "hidden_units = [8] here, [4] there",
    ),
    (
        {"model_reference": "DNNRegressor", "params": {"train": {"epoch": 1}}},
        "cannot warm-start DNNRegressor from base@1, which is DNNClassifier",
    ),
]


def test_a_base_of_another_network_fails_in_one_line_naming_both(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    data = table(tmp_path / "d.parquet", ["red", "blue"])
    assert run(tmp_path, "base", data).returncode == 0
    for number, (fields, message) in enumerate(MISMATCHES):  # one base for every case
        base = str(tmp_path / "models" / "base" / "1")
        done = run(tmp_path, f"tuned{number}", data, warm_start_uri=base, **fields)
        assert done.returncode == 65
        assert done.stderr.strip().splitlines()[-1] == f"sqlml step failed: {message}"


# -- Keras, at the step --------------------------------------------------------------------

KERAS_MODELS = Path(__file__).resolve().parent / "dl" / "models"


def keras_weights(tmp_path: Path, name: str) -> dict[str, np.ndarray]:
    """The layers' arrays inside a version's ``model.keras``."""
    import io
    import zipfile

    import h5py

    arrays: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(tmp_path / "models" / name / "1" / "model.keras") as archive:
        data = io.BytesIO(archive.read("model.weights.h5"))
    with h5py.File(data, "r") as h5:
        h5["layers"].visititems(
            lambda key, item: (
                arrays.update({key: np.array(item[()])}) if isinstance(item, h5py.Dataset) else None
            )
        )
    assert arrays
    return arrays


@pytest.fixture
def keras_models(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test's Keras 3 model package, importable and allowed for the steps."""
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(KERAS_MODELS), os.environ.get("PYTHONPATH", "")])
    )
    monkeypatch.setenv("SQLML_ALLOWED_MODEL_PACKAGES", "keras3_models")


KERAS = {"model_reference": "keras3_models.classifier", "flavor": "auto"}


@pytest.mark.usefixtures("keras_models")
def test_a_keras_network_starts_from_the_base_weights_and_its_fitted_plan(tmp_path: Path) -> None:
    first = table(tmp_path / "first.parquet", ["red", "blue"])
    later = table(tmp_path / "later.parquet", ["green", "blue", "pink", "grey"])
    base = run(tmp_path, "base", first, **KERAS, params={"model": {"hidden": 4}})
    assert base.returncode == 0, base.stderr
    tuned = run(
        tmp_path,
        "tuned",
        later,
        **KERAS,
        warm_start_uri=str(tmp_path / "models" / "base" / "1"),
        params={"model": {"hidden": 4}, "train": {"epoch": 1, "learning_rate": 1e-9}},
    )
    assert tuned.returncode == 0, tuned.stderr
    assert "warm start: continuing from base@1's weights" in tuned.stderr
    assert (
        signature(tmp_path, "tuned")["feature_plan"] == signature(tmp_path, "base")["feature_plan"]
    )
    before, after = keras_weights(tmp_path, "base"), keras_weights(tmp_path, "tuned")
    assert before.keys() == after.keys()
    # a step of 1e-9 from the base's trained weights (from scratch: the seeded initial ones)
    assert all(np.allclose(before[k], after[k], atol=1e-5) for k in before)

    other = run(
        tmp_path,
        "other",
        first,
        **KERAS,
        warm_start_uri=str(tmp_path / "models" / "base" / "1"),
        params={"model": {"hidden": 8}},
    )
    assert other.returncode == 65
    assert other.stderr.strip().splitlines()[-1] == (
        "sqlml step failed: cannot warm-start keras3_models.classifier(hidden=8, input_dim=5, "
        "n_classes=2) from base@1, built as keras3_models.classifier(hidden=4, input_dim=5, "
        "n_classes=2): hidden = 8 here, 4 there"
    )
