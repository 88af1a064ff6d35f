"""Models as versioned assets, end to end, against a local store and an S3 server (moto on
loopback, through s3fs): concurrent trainings, a training killed mid-write, a corrupted
artifact, skip-when-unchanged, and pinned versions."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from sqlml_dagster.launchers.local import LocalLauncher
from sqlml_dagster.ops.storage import SqlMlStorage
from sqlml_dagster.store import ModelStore
from tests.conftest import REPO, S3Server, failure_reasons, materialize_all

# whole projects materialized end to end: seconds each (docs/testing.md)
pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent

DATA = """
CREATE TABLE d AS
SELECT range AS x, (range * 7) % 11 AS z, CAST(range % 2 AS INTEGER) AS y FROM range({rows});
"""


@dataclass
class Stores:
    """Where a test's models and step data live, and what a process needs to reach them."""

    model_store: str
    data_store: str
    storage_options: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)

    def storage(self) -> SqlMlStorage:
        return SqlMlStorage(
            model_store=self.model_store,
            data_store=self.data_store,
            storage_options=self.storage_options,
        )

    def models(self) -> ModelStore:
        return ModelStore(self.model_store, **self.storage_options)


@pytest.fixture(params=["local", "s3"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Stores:
    if request.param == "local":
        # not tmp_path/models: a models/ folder beside a SQL folder is its model packages
        return Stores(str(tmp_path / "model-store"), str(tmp_path / "data"))
    server: S3Server = request.getfixturevalue("s3")
    bucket = server.bucket(f"sqlml-{uuid.uuid4().hex[:12]}")
    return Stores(
        f"{bucket}/models",
        f"{bucket}/data",
        {"endpoint_url": server.endpoint_url},
        {k: v for k, v in server.env.items() if k != "FSSPEC_S3"},
    )


def project(root: Path, train: str, rows: int = 40, extra: str = "") -> Path:
    """A SQL folder with a table ``d`` and one TRAIN statement; the test estimators in its
    ``models/`` folder (a model package of the project)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "m.sql").write_text(textwrap.dedent(DATA.format(rows=rows)) + train + "\n" + extra)
    (root / "models").mkdir(exist_ok=True)
    shutil.copy(HERE / "estimators.py", root / "models" / "estimators.py")
    return root


def materialize(root: Path, state: Path, stores: Stores) -> dg.ExecuteInProcessResult:
    return materialize_all(
        root, state, storage=stores.storage(), launcher=LocalLauncher(pythonpath=[str(root)])
    )


def worker(root: Path, state: Path, stores: Stores, **env: str) -> subprocess.Popen[str]:
    config = {
        "sql": str(root),
        "state": str(state),
        "model_store": stores.model_store,
        "data_store": stores.data_store,
        "storage_options": stores.storage_options,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "tests.versions.worker", json.dumps(config)],
        cwd=REPO,
        env={**os.environ, **stores.env, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: the test can kill it whole
    )


def model_metadata(result: dg.ExecuteInProcessResult, name: str = "m") -> dict[str, Any]:
    events = result.asset_materializations_for_node(f"sqlml__{name}")
    return {k: v.value for k, v in events[0].metadata.items()}


TRAIN = "SELECT x, z, y FROM d TO TRAIN {model} WITH {params} LABEL y INTO m;"


def test_two_trainings_at_once_get_versions_1_and_2_and_both_complete(
    tmp_path: Path, stores: Stores
) -> None:
    statement = TRAIN.format(model="estimators.BarrierClassifier", params="model.max_iter = 200")
    barrier = tmp_path / "barrier"
    procs = [
        worker(
            project(tmp_path / f"p{i}", statement),
            tmp_path / f"state{i}",
            stores,
            SQLML_TEST_BARRIER=str(barrier),
            SQLML_TEST_PARTIES="2",
        )
        for i in (1, 2)
    ]
    outputs = [p.communicate(timeout=240) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err[-3000:]
    versions = sorted(json.loads(out.splitlines()[-1])["versions"]["m"] for out, _ in outputs)
    assert versions == [1, 2]
    published = stores.models().versions("m")
    assert [v.version for v in published] == [1, 2]
    trained = {"model.skops", "signature.json", "feature_stats.json"}
    assert all(set(v.manifest.artifacts) == trained for v in published)
    assert len(list(barrier.iterdir())) == 2  # both were fitting at the same time


def test_a_training_killed_mid_write_leaves_no_version_and_the_next_succeeds(
    tmp_path: Path, stores: Stores
) -> None:
    mark = tmp_path / "fitting"
    hanging = project(
        tmp_path / "hanging",
        TRAIN.format(model="estimators.HangingClassifier", params="model.max_iter = 50"),
    )
    proc = worker(
        hanging,
        tmp_path / "state1",
        stores,
        SQLML_TEST_STORE=stores.model_store,
        SQLML_TEST_MARK=str(mark),
    )
    deadline = time.monotonic() + 120
    while not mark.exists():
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "the training never started"
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)  # orchestrator and step, with no chance to clean up
    proc.wait(timeout=30)

    models = stores.models()
    assert models.versions("m") == []
    [folder] = models.folders("m")
    assert (folder.number, folder.state) == (1, "pending")
    assert "model.skops" in folder.files  # the half-written artifact is there, invisible

    fine = project(
        tmp_path / "fine",
        TRAIN.format(model="sklearn.linear_model.LogisticRegression", params="model.max_iter = 50"),
    )
    result = materialize(fine, tmp_path / "state2", stores)
    assert result.success, failure_reasons(result)
    assert model_metadata(result)["model_version"] == 2
    assert [v.version for v in models.versions("m")] == [2]


def test_unchanged_inputs_reuse_the_version_changed_params_or_data_train_anew(
    tmp_path: Path, stores: Stores
) -> None:
    state = tmp_path / "state"
    statement = TRAIN.format(
        model="sklearn.linear_model.LogisticRegression", params="model.max_iter = 50"
    )
    root = project(tmp_path / "sql", statement)
    first = materialize(root, state, stores)
    assert first.success, failure_reasons(first)
    assert model_metadata(first)["model_version"] == 1

    # comments and layout are not changes
    (root / "m.sql").write_text(
        (root / "m.sql").read_text().replace("LABEL y", "-- note\n LABEL y")
    )
    again = model_metadata(materialize(root, state, stores))
    assert (again["reused_version"], again["reused"]) == ("m@1", True)

    changed_param = project(
        root,
        TRAIN.format(model="sklearn.linear_model.LogisticRegression", params="model.max_iter = 60"),
    )
    assert model_metadata(materialize(changed_param, state, stores))["model_version"] == 2

    changed_data = project(
        root,
        TRAIN.format(model="sklearn.linear_model.LogisticRegression", params="model.max_iter = 60"),
        rows=41,
    )
    data_run = model_metadata(materialize(changed_data, state, stores))
    assert data_run["model_version"] == 3 and data_run["previous_version"] == 2

    forced = project(
        root,
        TRAIN.format(
            model="sklearn.linear_model.LogisticRegression",
            params="model.max_iter = 60, train.force = true",
        ),
        rows=41,
    )
    forced_run = model_metadata(materialize(forced, state, stores))
    assert forced_run["model_version"] == 4
    versions = stores.models().versions("m")
    assert (
        versions[-1].manifest.fingerprint == versions[-2].manifest.fingerprint
    )  # force is no change


def test_pinned_versions_predict_with_that_version_and_a_missing_pin_names_the_versions(
    tmp_path: Path, stores: Stores
) -> None:
    state = tmp_path / "state"
    predict = """
        SELECT x, z FROM d TO PREDICT pinned.y USING m@1;
        SELECT x, z FROM d TO PREDICT latest.y USING m@latest;
        CREATE TABLE inline AS SELECT x, ML_PREDICT(m@1, x, z) AS v1, ML_PREDICT(m, x, z) AS v FROM d;
    """
    for max_iter in (50, 60):
        root = project(
            tmp_path / "sql",
            TRAIN.format(
                model="sklearn.linear_model.LogisticRegression",
                params=f"model.max_iter = {max_iter}",
            ),
            extra=predict,
        )
        result = materialize(root, state, stores)
        assert result.success, failure_reasons(result)
    assert model_metadata(result, "pinned")["model_version"] == 1
    assert model_metadata(result, "pinned")["model_pinned"] is True
    assert model_metadata(result, "latest")["model_version"] == 2
    assert model_metadata(result, "inline")["models"] == {"m@1": 1, "m": 2}

    root = project(
        tmp_path / "sql",
        TRAIN.format(model="sklearn.linear_model.LogisticRegression", params="model.max_iter = 60"),
        extra="SELECT x, z FROM d TO PREDICT missing.y USING m@7;",
    )
    result = materialize(root, state, stores)
    assert not result.success
    assert "model 'm' has no version 7; versions: 1, 2" in failure_reasons(result)


def test_a_corrupted_artifact_is_refused_with_a_clear_error(tmp_path: Path, stores: Stores) -> None:
    state = tmp_path / "state"
    root = project(
        tmp_path / "sql",
        TRAIN.format(model="sklearn.linear_model.LogisticRegression", params="model.max_iter = 50"),
        extra="SELECT x, z FROM d TO PREDICT p.y USING m;",
    )
    assert materialize(root, state, stores).success
    models = stores.models()
    version = models.get("m")
    artifact = f"{version.uri}/model.skops"
    with models.fs.open(artifact, "rb") as f:
        data = bytearray(f.read())
    data[len(data) // 2] ^= 0xFF  # one flipped byte: same size, other content
    with models.fs.open(artifact, "wb") as f:
        f.write(bytes(data))

    result = materialize(root, state, stores)
    assert not result.success
    reasons = failure_reasons(result)
    assert "m@1: artifact model.skops does not match its checksum" in reasons
    assert "retrain, or promote another version" in reasons
