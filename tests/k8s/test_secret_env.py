"""Credentials in the stores' options reach a step's pod through a Secret the Job owns,
never as values in the Job (docs/security.md, "Credentials")."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

from sqlml_dagster import SqlMlStorage
from sqlml_dagster.contract import StepSpec
from sqlml_dagster.launchers.kube_secrets import is_credential
from sqlml_dagster.launchers.kubernetes import KubernetesLauncher
from tests.conftest import S3Server, failure_reasons, materialize_all
from tests.k8s.harness import JOBS, KubernetesTestCluster, k8s_cluster

__all__ = ["k8s_cluster"]

SECRET = "wJalrXUtnFEMI-not-a-real-secret"
SQL = """
CREATE TABLE d AS SELECT range * 1.0 AS x, range % 2 AS y FROM range(40);
SELECT x, y FROM d TO TRAIN sklearn.tree.DecisionTreeClassifier {with_} LABEL y INTO parity;
"""

CREDENTIALS = [
    # (variable, value, is it a credential?)
    ("FSSPEC_S3", json.dumps({"endpoint_url": "http://s3", "key": "AKIA", "secret": SECRET}), True),
    ("FSSPEC_S3", json.dumps({"endpoint_url": "http://s3"}), False),
    ("FSSPEC_GCS", json.dumps({"token": "ya29"}), True),
    ("FSSPEC_ABFS", json.dumps({"account_name": "a", "account_key": "k"}), True),
    ("AWS_SECRET_ACCESS_KEY", SECRET, True),
    ("PGPASSWORD", "pw", True),
    ("AWS_DEFAULT_REGION", "us-east-1", False),
    ("FSSPEC_S3", "not json", False),
]


def test_which_variables_are_credentials() -> None:
    for name, value, expected in CREDENTIALS:
        assert is_credential(name, value) is expected, (name, value)


def test_the_manifest_names_the_secret_and_holds_no_value() -> None:
    spec = StepSpec(
        kind="train",
        step_id="s",
        model_name="m",
        model_reference="sklearn.tree.DecisionTreeClassifier",
        flavor="sklearn",
        input_uri="s3://b/in.parquet",
        model_uri="s3://b/models/m/1",
    )
    env = {name: value for name, value, _ in CREDENTIALS[:1]} | {"AWS_SECRET_ACCESS_KEY": SECRET}
    job = KubernetesLauncher().job_manifest(
        spec, "s3://b/spec.json", run_id="r", asset_key="m", env=env
    )
    assert SECRET not in json.dumps(job)
    entries = {e["name"]: e for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    name = job["metadata"]["name"] + "-env"
    assert entries["FSSPEC_S3"] == {
        "name": "FSSPEC_S3",
        "valueFrom": {"secretKeyRef": {"name": name, "key": "FSSPEC_S3"}},
    }
    assert entries["AWS_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"]["name"] == name
    assert entries["SQLML_STEP_ID"] == {"name": "SQLML_STEP_ID", "value": "s"}


def run(
    cluster: KubernetesTestCluster,
    s3: S3Server,
    root: Path,
    tmp_path: Path,
) -> tuple[object, str]:
    bucket = s3.bucket(f"sqlml-{tmp_path.name[-12:].lower().replace('_', '-')}")
    storage = SqlMlStorage(
        model_store=f"{bucket}/models",
        data_store=f"{bucket}/data",
        storage_options={"endpoint_url": s3.endpoint_url, "key": "testing", "secret": SECRET},
    )
    launcher = KubernetesLauncher(
        api_host=cluster.host, namespace="default", python=sys.executable, watch_seconds=1
    )
    return materialize_all(root, tmp_path / "state", storage=storage, launcher=launcher), bucket


def test_a_step_reads_its_credentials_from_a_secret_its_job_owns(
    k8s_cluster: KubernetesTestCluster,
    s3_server: S3Server,
    write_project: Callable[[dict[str, str]], Path],
    tmp_path: Path,
) -> None:
    root = write_project({"m.sql": SQL.format(with_="")})
    result, _ = run(k8s_cluster, s3_server, root, tmp_path)
    assert result.success, failure_reasons(result)  # the pod reached the store with them
    (job,) = k8s_cluster.jobs()
    assert SECRET not in json.dumps(job)
    (secret,) = [s for s in k8s_cluster.secrets() if s["metadata"]["name"].endswith("-env")]
    assert secret["metadata"]["name"] == job["metadata"]["name"] + "-env"
    assert secret["metadata"]["ownerReferences"][0]["uid"] == job["metadata"]["uid"]
    # deleting the Job (its TTL, or kubectl) collects the Secret with it
    k8s_cluster.delete_object(JOBS, "default", job["metadata"]["name"], propagation="Background")
    k8s_cluster.wait_for(
        lambda: not [s for s in k8s_cluster.secrets() if s["metadata"]["name"].endswith("-env")]
    )


def test_a_failed_step_leaves_neither_job_nor_secret(
    k8s_cluster: KubernetesTestCluster,
    s3_server: S3Server,
    write_project: Callable[[dict[str, str]], Path],
    tmp_path: Path,
) -> None:
    root = write_project({"m.sql": SQL.format(with_="WITH model.max_depthz = 2")})
    result, _ = run(k8s_cluster, s3_server, root, tmp_path)
    assert not result.success
    assert "max_depthz" in failure_reasons(result)
    k8s_cluster.wait_for(lambda: not k8s_cluster.jobs())
    k8s_cluster.wait_for(
        lambda: not [s for s in k8s_cluster.secrets() if s["metadata"]["name"].endswith("-env")]
    )
