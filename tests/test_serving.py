"""Online serving: ``sqlml serve M[@V] --port 8080`` puts a version behind HTTP — ``POST
/predict`` (the values TO PREDICT writes for the same rows), ``GET /healthz``, ``GET
/model`` — answers a bad row with a 422 naming the field, and follows ``@latest`` when a
new version lands. Tests talk to a real server over loopback with a real HTTP client
(httpx); the load figures are ``bench/bench_serve.py``'s (docs/benchmarks.md).
"""

from __future__ import annotations

import contextlib
import io
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import uvicorn
import yaml

from sqlml_dagster.contract import StepSpec
from sqlml_dagster.runtime import run_step
from sqlml_dagster.runtime.scoring import RowError, rows_table
from sqlml_dagster.serving import ServedModel, create_app
from sqlml_dagster.store import ModelManifest, ModelNotFound, ModelStore, ModelVersion
from sqlml_dagster.store.references import (
    BadReference,
    ModelReference,
    parse_reference,
    resolve_reference,
)

from .conftest import failure_reasons, materialize_all
from .runtime.recorder import Recorder

# -- references -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "reference", "moves"),
    [
        ("churn", ModelReference("churn"), True),
        ("churn@latest", ModelReference("churn"), True),
        ("Churn@LATEST", ModelReference("churn"), True),
        ("churn@7", ModelReference("churn", version=7), False),
        ("churn@1", ModelReference("churn", version=1), False),  # versions count from 1
        ("zoo.churn@2", ModelReference("zoo.churn", version=2), False),
        ("churn@champion", ModelReference("churn", alias="champion"), True),
    ],
)
def test_references(written: str, reference: ModelReference, moves: bool) -> None:
    assert parse_reference(written) == reference
    assert reference.moves is moves
    assert parse_reference(str(reference)) == reference


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("churn@0", "'churn@0': versions count from 1"),
        ("churn@", "after '@' comes a version number, 'latest' or an alias"),
        ("churn@-1", "after '@' comes a version number, 'latest' or an alias"),
        ("churn@7@8", "after '@' comes a version number, 'latest' or an alias"),  # the first '@'
        ("../etc@1", "'../etc@1': the model name"),
        ("@3", "'@3': the model name is empty"),
    ],
)
def test_bad_references(written: str, message: str) -> None:
    with pytest.raises(BadReference) as raised:
        parse_reference(written)
    assert message in str(raised.value)


# -- a version in a real store, trained by the runtime ----------------------------------------

FEATURES = ["x", "z"]


def _points(path: Path, shift: float = 0.0) -> Path:
    rows = range(80)
    pq.write_table(
        pa.table(
            {
                "x": pa.array([(i % 9) + shift for i in rows], pa.float64()),
                "z": pa.array([(i * 7) % 5 for i in rows], pa.int64()),
                "y": ["yes" if (i % 9) + (i * 7) % 5 > 6 else "no" for i in rows],
            }
        ),
        path,
    )
    return path


def train_version(
    store: ModelStore, data: Path, reference: str = "sklearn.tree.DecisionTreeClassifier"
) -> ModelVersion:
    """Reserve, train (the runtime's train step), publish: what a materialization does."""
    pending = store.reserve("m", "test-run")
    spec = StepSpec(
        kind="train",
        step_id="train-m",
        model_name="m",
        model_reference=reference,
        flavor="sklearn",
        input_uri=str(data),
        label="y",
        features=FEATURES,
        model_uri=pending.uri,
    )
    recorder = Recorder()
    run_step(spec, recorder)
    manifest = ModelManifest(
        model="m",
        version=pending.version,
        created_at="2026-01-01T00:00:00+00:00",
        flavor="sklearn",
        model_reference=reference,
        fingerprint="f",
        statement_fingerprint="s",
        training_data_fingerprint="d",
        features=FEATURES,
        label="y",
        metrics=dict(recorder.payload["metrics"]),
    )
    return store.publish(pending, manifest)


@contextlib.contextmanager
def running(app: Any) -> Iterator[str]:
    """``app`` on uvicorn in a thread, on a free loopback port; yields its base URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5)


@pytest.fixture
def store(tmp_path: Path) -> ModelStore:
    return ModelStore(str(tmp_path / "models"))


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return _points(tmp_path / "points.parquet")


def test_model_and_healthz_say_what_is_served(store: ModelStore, data: Path) -> None:
    train_version(store, data)
    with running(create_app(ServedModel(store, "m@1"))) as url:
        assert httpx.get(f"{url}/healthz").json() == {"status": "ok", "model": "m", "version": 1}
        model = httpx.get(f"{url}/model").json()
    assert {k: model[k] for k in ("model", "version", "reference", "flavor", "task")} == {
        "model": "m",
        "version": 1,
        "reference": "m@1",
        "flavor": "sklearn",
        "task": "classification",
    }
    assert model["features"] == [{"name": "x", "type": "double"}, {"name": "z", "type": "int64"}]
    assert model["classes"] == ["no", "yes"] and model["label"] == "y"


def test_predict_scores_each_row_like_the_predict_step(
    store: ModelStore, data: Path, tmp_path: Path
) -> None:
    version = train_version(store, data)
    # The predict step's output for the same rows: what TO PREDICT writes.
    output = tmp_path / "predicted.parquet"
    run_step(
        StepSpec(
            kind="predict",
            step_id="predict",
            model_name="m",
            model_reference=version.manifest.model_reference,
            flavor="sklearn",
            input_uri=str(data),
            features=FEATURES,
            model_uri=version.uri,
            output_uri=str(output),
            prediction_column="predicted",
        ),
        Recorder(),
    )
    expected = pq.read_table(output).column("predicted").to_pylist()
    rows = pq.read_table(data).select(FEATURES).to_pylist()
    with running(create_app(ServedModel(store, "m"))) as url:
        answer = httpx.post(f"{url}/predict", json={"rows": rows})
        empty = httpx.post(f"{url}/predict", json={"rows": []})
        extra = httpx.post(f"{url}/predict", json={"rows": [{**rows[0], "y": "ignored"}]})
        nulls = httpx.post(f"{url}/predict", json={"rows": [{"x": None, "z": None}]})
    assert answer.status_code == 200
    assert answer.json() == {"model": "m", "version": 1, "predictions": expected}
    assert empty.json() == {"model": "m", "version": 1, "predictions": []}
    assert extra.json()["predictions"] == expected[:1]
    assert nulls.status_code == 200 and len(nulls.json()["predictions"]) == 1


BAD_REQUESTS = [
    # (body, status, message, where)
    ({"rows": [{"x": 1.0}]}, 422, "row 0: field 'z' is missing", ["rows", 0, "z"]),
    (
        {"rows": [{"x": 1.0, "z": 2}, {"x": "abc", "z": 2}]},
        422,
        "row 1: field 'x' is 'abc', not a double",
        ["rows", 1, "x"],
    ),
    (
        {"rows": [{"x": 1.0, "z": 2.5}]},
        422,
        "row 0: field 'z' is 2.5, not a int64",
        ["rows", 0, "z"],
    ),
    ({"rows": [[1.0, 2]]}, 422, "row 0: field '' is a JSON list, not an object", ["rows", 0, ""]),
    ({"row": []}, 422, 'the body must be {"rows": [{column: value, …}, …]}', ["rows"]),
    ([1, 2], 422, 'the body must be {"rows": [{column: value, …}, …]}', ["rows"]),
]


@pytest.mark.slow
def test_bad_requests_are_refused_naming_the_field(store: ModelStore, data: Path) -> None:
    train_version(store, data)
    with running(create_app(ServedModel(store, "m"))) as url:
        for body, status, message, where in BAD_REQUESTS:
            answer = httpx.post(f"{url}/predict", json=body)
            assert (answer.status_code, answer.json()["detail"][0]["msg"]) == (status, message)
            assert answer.json()["detail"][0]["loc"] == where
        not_json = httpx.post(f"{url}/predict", content=b"{rows:")
        assert not_json.status_code == 400
        assert not_json.json()["detail"][0]["msg"].startswith("the body is not JSON: ")
        assert httpx.get(f"{url}/predict").status_code == 405


def test_rows_table_types_rows_as_the_signature_says() -> None:
    table = rows_table([{"x": 1, "z": 2, "w": "kept out"}], [("x", "double"), ("z", "int64")])
    assert table.schema == pa.schema([("x", pa.float64()), ("z", pa.int64())])
    with pytest.raises(RowError) as raised:
        rows_table([{"x": True}], [("x", "string")])
    assert (raised.value.row, raised.value.field) == (0, "x")


@pytest.mark.slow
def test_a_moving_reference_follows_new_versions_and_a_number_stays(
    store: ModelStore, data: Path, tmp_path: Path
) -> None:
    train_version(store, data)
    latest, pinned = ServedModel(store, "m"), ServedModel(store, "m@1")
    with running(create_app(latest, poll_seconds=0.1)) as url:
        assert httpx.get(f"{url}/model").json()["version"] == 1
        train_version(store, _points(tmp_path / "more.parquet", shift=1.0))
        deadline = time.monotonic() + 10
        while httpx.get(f"{url}/model").json()["version"] != 2:
            assert time.monotonic() < deadline, "the server did not load version 2"
            time.sleep(0.05)
        assert (
            httpx.post(f"{url}/predict", json={"rows": [{"x": 1.0, "z": 1}]}).json()["version"] == 2
        )
    assert pinned.refresh() is False and pinned.current.version.version == 1
    # a rollback (promote) moves @latest back, and the server follows it too
    store.promote("m", 1)
    assert latest.refresh() is True and latest.current.version.version == 1


def test_resolution_names_what_exists(store: ModelStore, data: Path) -> None:
    train_version(store, data)
    with pytest.raises(ModelNotFound, match="model 'm' has no version 5; versions: 1"):
        resolve_reference(store, "m@5")
    with pytest.raises(ModelNotFound, match="model 'm' has no alias 'champion'"):
        resolve_reference(store, "m@champion")


# -- end to end: a generated project, the CLI, Kubernetes ---------------------------------------

PROJECT = """
CREATE TABLE points AS
SELECT i AS id, CAST(i % 9 AS DOUBLE) AS x, (i * 7) % 5 AS z,
       CASE WHEN (i % 9) + (i * 7) % 5 > 6 THEN 'yes' ELSE 'no' END AS y
FROM range(80) t(i);

SELECT x, z, y FROM points TO TRAIN sklearn.ensemble.RandomForestClassifier
WITH model.n_estimators = 5 LABEL y INTO m;

SELECT id, x, z FROM points TO PREDICT preds.y USING m;
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_sqlml_serve_answers_as_to_predict_over_loopback(
    write_project: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:

    state, root = tmp_path / "state", write_project({"points.sql": PROJECT})
    result = materialize_all(root, state)
    assert result.success, failure_reasons(result)
    with duckdb.connect(str(state / "warehouse.duckdb"), read_only=True) as con:
        scored = con.execute("SELECT x, z, y FROM preds ORDER BY id").fetchall()

    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "sqlml_dagster.cli", "serve", "m", "--port", str(port)],
        env={**os.environ, "SQLML_STATE_DIR": str(state)},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            assert time.monotonic() < deadline, "sqlml serve did not start"
            time.sleep(0.2)
        rows = [{"x": x, "z": z} for x, z, _ in scored]
        answer = httpx.post(f"{url}/predict", json={"rows": rows}).json()
        assert answer == {"model": "m", "version": 1, "predictions": [y for _, _, y in scored]}
    finally:
        server.terminate()
        _, err = server.communicate(timeout=20)
    assert f"sqlml: serving m@1 (m@latest) on http://127.0.0.1:{port}" in err


def _cli(*args: str, **env: str) -> tuple[int, str, str]:
    """``sqlml ARGS`` in this process: (exit code, stdout, stderr)."""
    from sqlml_dagster.cli import main

    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        for name in [k for k in os.environ if k.startswith("SQLML_K8S")]:
            patch.delenv(name)
        for name, value in env.items():
            patch.setenv(name, value)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def test_serve_refuses_what_it_cannot_serve(tmp_path: Path) -> None:
    code, _, err = _cli("serve", "nothing@2", SQLML_STATE_DIR=str(tmp_path))
    assert code == 1
    assert err.startswith("sqlml: model 'nothing' has no published version in ")
    code, _, err = _cli("serve", "nothing@0", SQLML_STATE_DIR=str(tmp_path))
    assert (code, err) == (1, "sqlml: 'nothing@0': versions count from 1\n")


def _compile_serve(root: Path, *args: str) -> tuple[int, str, str]:
    return _cli("compile", str(root), "--k8s", *args)


def test_compile_k8s_serve_prints_a_restricted_deployment_and_a_service(
    write_project: Callable[[dict[str, str]], Path],
) -> None:
    root = write_project({"points.sql": PROJECT})
    code, out, err = _compile_serve(root, "--serve", "m@1", "--model-store", "s3://bucket/models")
    assert code == 0, err
    assert out.startswith("# serve m@1 (sql/points.sql:6)\n")
    deployment, service = yaml.safe_load_all(out)
    assert (deployment["kind"], service["kind"]) == ("Deployment", "Service")
    assert deployment["metadata"]["name"] == service["metadata"]["name"] == "sqlml-serve-m-1"
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"] == [
        "python", "-m", "sqlml_dagster.serving", "m@1",
        "--host", "0.0.0.0", "--port", "8080", "--model-store", "s3://bucket/models",
    ]  # fmt: skip
    # what Pod Security `restricted` asks, as the step Jobs have it
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 10001,
        "runAsGroup": 10001,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
    }
    assert container["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["ports"] == [{"name": "http", "containerPort": 8080}]
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert service["spec"]["selector"] == selector
    assert service["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http"}]

    code, _, err = _compile_serve(root, "--serve", "nope@1")
    assert (code, err.strip()) == (
        1,
        "sqlml: --serve nope@1: the project trains no model 'nope' (models: m)",
    )


def test_a_server_of_an_alias_follows_the_alias_not_new_versions(
    store: ModelStore, data: Path, tmp_path: Path
) -> None:
    """``sqlml serve m@champion``: a new version changes nothing until the alias moves."""
    train_version(store, data)
    store.move_alias("m", "champion", 1)
    served = ServedModel(store, "m@champion")
    with running(create_app(served, poll_seconds=0.05)) as url:
        train_version(store, _points(tmp_path / "more.parquet", shift=1.0))
        time.sleep(0.3)  # several polls: version 2 is not the champion
        assert httpx.get(f"{url}/model").json()["version"] == 1
        store.move_alias("m", "champion", 2)
        deadline = time.monotonic() + 10
        while httpx.get(f"{url}/model").json()["version"] != 2:
            assert time.monotonic() < deadline, "the server did not follow @champion"
            time.sleep(0.05)
        answer = httpx.post(f"{url}/predict", json={"rows": [{"x": 1.0, "z": 1}]}).json()
    assert answer["version"] == 2 and answer["model"] == "m"


@pytest.mark.parametrize("flavor", ["_register", "trusted_types", "sklearn.os", "os"])
def test_a_manifest_flavor_is_a_known_word_never_a_module_to_import(
    flavor: str, store: ModelStore, data: Path
) -> None:
    """A version's flavor names one of the flavors; a damaged or foreign manifest cannot
    make the loader import another module of the runtime (or anything else)."""
    from sqlml_dagster.runtime import StepError
    from sqlml_dagster.runtime.scoring import load_predictor

    version = train_version(store, data)
    spec = StepSpec(
        kind="predict",
        step_id="p",
        model_name="m",
        model_reference="r",
        flavor=flavor,
        model_uri=version.uri,
    )
    with pytest.raises(StepError, match=rf"^flavor '{flavor}' is not one of auto, keras, "):
        load_predictor(spec)
