"""The contract package and the seams: what crosses a process boundary reads back as it was
written, each resource's settings are declared once, and the dry run builds exactly the
StepSpec that a materialization launches."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sqlml_dagster.compiler import compile_project
from sqlml_dagster.contract import (
    RESULT_VERSION,
    EvaluationResult,
    ExplanationResult,
    PredictionResult,
    ResultError,
    StepResult,
    StepSpec,
    TrainingResult,
    result_from_json,
)
from sqlml_dagster.contract.settings import did_you_mean
from sqlml_dagster.launchers import Launcher, launcher_from_env
from sqlml_dagster.launchers.kubernetes import KubernetesLauncher, KubernetesSettings
from sqlml_dagster.launchers.local import LocalLauncher, LocalSettings
from sqlml_dagster.ops.dry_run import step_spec
from sqlml_dagster.ops.storage import SqlMlStorage, StorageSettings
from sqlml_dagster.settings import SettingError, settings_from_env
from sqlml_dagster.warehouses import Warehouse, warehouse_from_url
from sqlml_dagster.warehouses.duckdb import DuckDBSettings, DuckDBWarehouse
from tests.conftest import failure_reasons, materialize_all

RESULTS: list[StepResult] = [
    TrainingResult(
        kind="train",
        flavor="sklearn",
        features=["a", "b"],
        artifacts=["model.skops", "signature.json"],
        signature={"task": "classification", "classes": ["x", "y"]},
        frameworks={"scikit-learn": "1.5"},
        params={"n_estimators": 10},
        metrics={"accuracy": 0.9},
        history=[{"epoch": 1, "loss": 0.5}],
        training_rows=100,
        training_seconds=1.5,
        label="y",
    ),
    TrainingResult(kind="register", flavor="pytorch", model_reference="pkg.Net"),
    PredictionResult(kind="predict", rows=42, seconds=0.1),
    EvaluationResult(kind="evaluate", metrics={"f1": 0.5}, rows=7),
    ExplanationResult(
        kind="explain", method="permutation", measure="accuracy drop", rows=9,
        importances={"a": 0.2}, plot_uri="s3://b/plot.png",
    ),
]  # fmt: skip


@pytest.mark.parametrize("result", RESULTS, ids=lambda r: r.kind)
def test_a_step_result_reads_back_as_it_was_written(result: StepResult) -> None:
    sent = json.loads(json.dumps(result.to_json()))  # what a Pipes message carries
    assert sent["result_version"] == RESULT_VERSION
    assert result_from_json(sent) == result


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # A newer step image may add fields: an older orchestrator ignores them.
        ({"kind": "predict", "rows": 3, "gpu_seconds": 1.0}, PredictionResult("predict", 3)),
        # An image older than result versions sends no version: read as version 1.
        ({"kind": "evaluate", "metrics": {"r2": 1.0}}, EvaluationResult("evaluate", {"r2": 1.0})),
    ],
)
def test_results_from_other_releases_still_read(raw: dict[str, Any], expected: StepResult) -> None:
    assert result_from_json(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"kind": "predict", "result_version": RESULT_VERSION + 1}, "upgrade sqlml-dagster"),
        ({"kind": "sing", "result_version": 1}, "unknown kind 'sing'"),
    ],
)
def test_results_this_orchestrator_cannot_read_are_refused(
    raw: dict[str, Any], message: str
) -> None:
    with pytest.raises(ResultError, match=message):
        result_from_json(raw)


# -- settings declared once --------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "settings"),
    [
        (KubernetesLauncher, KubernetesSettings),
        (LocalLauncher, LocalSettings),
        (DuckDBWarehouse, DuckDBSettings),
        (SqlMlStorage, StorageSettings),
    ],
)
def test_a_resource_and_its_yaml_attributes_take_the_same_settings(
    resource: type, settings: type
) -> None:
    from sqlml_dagster.component import (
        KubernetesLauncherAttributes,
        LocalLauncherAttributes,
        SqlMlProject,
        WarehouseAttributes,
    )

    attributes = {
        KubernetesLauncher: KubernetesLauncherAttributes,
        LocalLauncher: LocalLauncherAttributes,
        DuckDBWarehouse: WarehouseAttributes,
        SqlMlStorage: SqlMlProject,  # the stores are top-level attributes of the project
    }[resource]
    assert issubclass(resource, settings) and issubclass(attributes, settings)
    assert set(resource.model_fields) == set(settings.model_fields)
    if attributes is SqlMlProject:
        assert set(settings.model_fields) <= set(attributes.model_fields)
    else:
        assert set(attributes.model_fields) - {"kind"} == set(settings.model_fields)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"SQLML_K8S_NAMESPACE": "ml"}, {"namespace": "ml"}),
        ({"SQLML_K8S_RUN_AS_NON_ROOT": "no"}, {"run_as_non_root": False}),
        ({"SQLML_K8S_RUN_AS_USER": "1000"}, {"run_as_user": 1000}),
        ({"SQLML_K8S_SECCOMP_PROFILE": "Unconfined"}, {"seccomp_profile": "Unconfined"}),
        ({"SQLML_K8S_IN_CLUSTER": "0"}, {"in_cluster": False}),
        ({"SQLML_K8S_BACKOFF_LIMIT": "3"}, {"backoff_limit": 3}),
        ({"SQLML_K8S_WATCH_SECONDS": "5"}, {"watch_seconds": 5}),
        ({"SQLML_K8S_IMAGE_PULL_SECRETS": "a, b,"}, {"image_pull_secrets": ["a", "b"]}),
        ({"SQLML_K8S_NODE_SELECTOR": "gpu=a100,zone=x"}, {"node_selector": {"gpu": "a100", "zone": "x"}}),
        ({"SQLML_K8S_TOLERATIONS": '[{"key": "gpu"}]'}, {"tolerations": [{"key": "gpu"}]}),
        # Settings whose variable predates the settings class keep their names.
        ({"SQLML_K8S_GPU_RESOURCE": "amd.com/gpu"}, {"gpu_resource_name": "amd.com/gpu"}),
        ({"SQLML_K8S_SERVICE_ACCOUNT": "steps"}, {"service_account_name": "steps"}),
        ({"SQLML_K8S_CONTEXT": "prod"}, {"kube_context": "prod"}),
        # An empty variable is unset, not an empty setting.
        ({"SQLML_K8S_SERVICE_ACCOUNT": ""}, {}),
        # Waits, disruptions and the API's budget; null where a setting may be none.
        ({"SQLML_K8S_START_TIMEOUT_SECONDS": "3600"}, {"start_timeout_seconds": 3600.0}),
        ({"SQLML_K8S_API_RETRY_SECONDS": "900"}, {"api_retry_seconds": 900.0}),
        ({"SQLML_K8S_MAX_DISRUPTIONS": "5"}, {"max_disruptions": 5}),
        ({"SQLML_K8S_MAX_DISRUPTIONS": "null"}, {"max_disruptions": None}),
        ({"SQLML_K8S_ACTIVE_DEADLINE_SECONDS": "null"}, {"active_deadline_seconds": None}),
        ({"SQLML_K8S_POD_FAILURE_POLICY": "null"}, {"pod_failure_policy": None}),
        ({"SQLML_K8S_POD_FAILURE_POLICY": '{"rules": []}'}, {"pod_failure_policy": {"rules": []}}),
    ],
)  # fmt: skip
def test_every_kubernetes_setting_has_its_environment_variable(
    environ: dict[str, str], expected: dict[str, Any]
) -> None:
    assert settings_from_env(KubernetesSettings, environ, prefix="SQLML_K8S_") == expected


@pytest.mark.parametrize(
    ("environ", "kind"),
    [
        ({}, LocalLauncher),
        ({"SQLML_LAUNCHER": "local"}, LocalLauncher),
        ({"SQLML_LAUNCHER": "Kubernetes", "SQLML_K8S_NAMESPACE": "ml"}, KubernetesLauncher),
    ],
)
def test_the_environment_picks_a_launcher_callers_see_only_the_protocol(
    environ: dict[str, str], kind: type
) -> None:
    launcher = launcher_from_env(environ)
    assert isinstance(launcher, kind) and isinstance(launcher, Launcher)
    assert launcher.KIND == kind.KIND  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"SQLML_K8S_BACKOFF_LIMIT": "two"}, "SQLML_K8S_BACKOFF_LIMIT='two' is not a valid backoff_limit: expected a number"),
        ({"SQLML_K8S_IN_CLUSTER": "maybe"}, "expected one of 1/true/yes/on/0/false/no/off"),
        ({"SQLML_K8S_MAX_DISRUPTIONS": "none"}, "is not a valid max_disruptions: expected a number or null"),
        ({"SQLML_K8S_TOLERATIONS": "[{"}, "SQLML_K8S_TOLERATIONS='\\[\\{' is not a valid tolerations"),
    ],
)  # fmt: skip
def test_a_setting_that_does_not_read_names_its_variable(
    environ: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingError, match=message):
        settings_from_env(KubernetesSettings, environ, prefix="SQLML_K8S_")


def test_an_unknown_launcher_kind_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="'local' or 'kubernetes'"):
        launcher_from_env({"SQLML_LAUNCHER": "slurm"})


@pytest.mark.parametrize("url", ["duckdb:///tmp/x.duckdb", "/tmp/x.duckdb", ":memory:"])
def test_a_warehouse_url_names_its_engine(url: str) -> None:
    warehouse = warehouse_from_url(url)
    assert isinstance(warehouse, Warehouse) and warehouse.KIND == "duckdb"
    assert warehouse.dialect == "duckdb"


def test_an_unknown_warehouse_scheme_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="duckdb://"):
        warehouse_from_url("oracle://scott@db/orcl")


# -- the dry run is the materialization ---------------------------------------------------

PROJECT = {
    "p.sql": """
        CREATE TABLE d AS SELECT range::DOUBLE AS x, (range % 3)::VARCHAR AS c,
               range % 2 AS y FROM range(60);
        SELECT x, y FROM d
        TO TRAIN sklearn.linear_model.LogisticRegression
        WITH model.max_iter = 200, train.seed = 7, validation.select = "SELECT x, y FROM d"
        LABEL y INTO m;
        SELECT x FROM d TO PREDICT scored.y USING m;
        SELECT x, y FROM d TO EVALUATE m WITH validation.metrics = "Accuracy",
               check.f1 >= 0 LABEL y INTO ev;
        SELECT x, y FROM d TO EXPLAIN m USING permutation INTO ex;
    """
}
#: What differs between runs and between a run and a dry run: where the files are (and so
#: their format: the run's local folder holds Arrow IPC, the dry run's s3:// Parquet), and
#: what a scoring step learns from the model version (reference, flavor, features…).
PLACES = ("step_id", "input_uri", "output_uri", "validation_uri", "model_uri", "data_format")
FROM_VERSION = ("model_reference", "flavor", "features", "image", "model_version")


@pytest.mark.slow
def test_the_dry_run_builds_the_spec_a_materialization_launches(
    write_project: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    root = write_project(PROJECT)
    state = tmp_path / "state"
    result = materialize_all(root, state)
    assert result.success, failure_reasons(result)
    launched = {
        (spec := StepSpec.from_json(path.read_text())).kind: spec
        for path in (state / "data").rglob("spec.json")
    }
    project = compile_project(root)
    dry = {  # as written to spec.json, where the spec version is decided
        spec.kind: StepSpec.from_json(spec.to_json())
        for node in project.nodes
        if (spec := step_spec(node, "s3://data", "s3://models")) is not None
    }
    assert set(launched) == set(dry) == {"train", "predict", "evaluate", "explain"}
    for kind, spec in launched.items():
        blank = {name: None for name in PLACES if getattr(spec, name) is not None}
        blank["spec_version"] = None  # an Arrow spec is version 3 (contract/spec.py)
        # the training's fingerprint covers the exported rows, which a dry run never reads
        blank["checkpoint_key"] = None
        if kind != "train":
            blank.update({name: None for name in FROM_VERSION})
            if kind == "explain":  # scored against the label the version was trained on
                blank["label"] = None
            assert dry[kind].model_uri == "s3://models/m/<latest>"
        else:
            assert dry[kind].model_uri == "s3://models/m/<version>"
        # Everything else — params (EVALUATE's gate metrics too), label, columns, seed,
        # prediction column, explainer — is the same, field by field.
        assert dataclasses.replace(dry[kind], **blank) == dataclasses.replace(spec, **blank), kind
        assert (dry[kind].validation_uri is None) == (spec.validation_uri is None)
        # a local data store holds Arrow IPC files, an object store Parquet
        assert (spec.data_format, dry[kind].data_format) == ("arrow", "parquet"), kind
        assert spec.input_uri.endswith("/input.arrow"), spec.input_uri
        assert dry[kind].input_uri.endswith("/input.parquet"), dry[kind].input_uri


@pytest.mark.parametrize(
    ("written", "candidates", "hint"),
    [
        ("max_iter", ["max_iter", "tol"], "max_iter"),
        ("max_itr", ["tol", "max_iter", "max_depth"], "max_iter"),
        ("lerning_rate", ("learning_rate", "n_estimators"), "learning_rate"),
        ("accurcy", {"auc", "accuracy"}, "accuracy"),  # any iterable, a set too
        ("colour", ["max_iter", "tol"], None),  # nothing close: no hint
        ("x", [], None),
    ],
)
def test_did_you_mean_names_the_closest_candidate_or_none(
    written: str, candidates: Any, hint: str | None
) -> None:
    """The hint every "unknown key" diagnostic ends with (``did you mean 'max_iter'?``)."""
    assert did_you_mean(written, candidates) == hint
