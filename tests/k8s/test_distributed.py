"""Training on several pods (``train.num_workers = 2``): an Indexed Job of two pods and a
headless Service for their rendezvous. The test kubelet runs each pod's command as a
process; the pods find rank 0 under ``<job>-0.<service>``, which the kubelet resolves to
loopback as a cluster's DNS would to pod 0. One version is published; a failed pod deletes
the Job and the Service, and no version appears."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from sqlml_dagster.cli import main
from sqlml_dagster.store import ModelStore
from tests.conftest import failure_reasons, materialize_all
from tests.k8s.harness import COMPLETION_INDEX as INDEX
from tests.k8s.harness import SERVICES, KubernetesTestCluster, k8s_cluster
from tests.k8s.test_launcher import launcher_for

__all__ = ["k8s_cluster"]

REPO = Path(__file__).resolve().parents[2]
MODELS = REPO / "tests" / "dl" / "models"

TWO_PODS = """
CREATE TABLE d AS SELECT range * 1.0 AS x, (range % 7 > 3) AS y FROM range(30);
SELECT x, y FROM d
TO TRAIN {model}
WITH {hidden}train.num_workers = 2, train.epoch = 1, train.batch_size = 8, resources.cpu = "1"
LABEL y INTO ranked;
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def project(write_project: Callable[[dict[str, str]], Path], model: str) -> Path:
    hidden = "model.hidden_units = [4], " if model == "DNNClassifier" else ""
    return write_project({"m.sql": TWO_PODS.format(model=model, hidden=hidden)})


@pytest.mark.slow  # two pods, each a PyTorch process
def test_two_pods_train_one_version_through_an_indexed_job_and_a_service(
    k8s_cluster: KubernetesTestCluster,
    write_project: Callable[[dict[str, str]], Path],
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    launcher = launcher_for(k8s_cluster, state, rendezvous_port=free_port())
    result = materialize_all(project(write_project, "DNNClassifier"), state, launcher=launcher)
    assert result.success, failure_reasons(result)
    (version,) = ModelStore(str(state / "models")).versions("ranked")
    assert version.signature["distributed"] == {"world_size": 2, "backend": "gloo"}
    (job,) = k8s_cluster.jobs("default")
    assert job["spec"]["completionMode"] == "Indexed"
    assert (job["spec"]["completions"], job["spec"]["parallelism"]) == (2, 2)
    assert job["status"]["succeeded"] == 2 and job["status"]["completedIndexes"] == "0-1"
    pods = k8s_cluster.pods("default")
    assert sorted(p["metadata"]["annotations"][INDEX] for p in pods) == ["0", "1"]
    logs = {
        p["metadata"]["annotations"][INDEX]: k8s_cluster.pod_log(p["metadata"]["name"])
        for p in pods
    }
    assert "rank 0 of 2 (gloo" in logs["0"] and "rank 1 of 2 (gloo" in logs["1"]
    assert k8s_cluster.list_objects(SERVICES, "default", None) == []  # gone with the training


@pytest.mark.slow  # two pods, one of which fails
def test_a_failed_pod_deletes_the_job_and_the_service_and_publishes_nothing(
    k8s_cluster: KubernetesTestCluster,
    write_project: Callable[[dict[str, str]], Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SQLML_ALLOWED_MODEL_PACKAGES", "rank_nets")  # the pods' model module
    state = tmp_path / "state"
    path = os.pathsep.join([str(MODELS), str(REPO)])  # the model's module, this checkout
    launcher = launcher_for(
        k8s_cluster, state, rendezvous_port=free_port(), env={"PYTHONPATH": path}
    )
    root = project(write_project, "rank_nets.FailsOnRankOne")
    result = materialize_all(root, state, launcher=launcher)
    assert not result.success
    reasons = failure_reasons(result)
    # the pod that failed is named, index 1's, with how it ended
    assert "BackoffLimitExceeded" in reasons and "exit code 3" in reasons, reasons
    assert re.search(r"pod sqlml-train-ranked-[0-9a-f]+-[0-9a-f]+-1-", reasons), reasons
    assert ModelStore(str(state / "models")).versions("ranked") == []
    assert k8s_cluster.jobs("default") == []
    assert k8s_cluster.list_objects(SERVICES, "default", None) == []


def test_the_dry_run_shows_the_indexed_job_and_its_service(
    write_project: Callable[[dict[str, str]], Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SQLML_K8S_NAMESPACE", "ml")
    assert main(["compile", str(project(write_project, "DNNClassifier")), "--k8s"]) == 0
    out = capsys.readouterr().out
    assert "# the headless Service the 2 pods of ranked's Job find rank 0 through" in out
    job, service = [d for d in yaml.safe_load_all(out) if d["kind"] in ("Job", "Service")][-2:]
    name = job["metadata"]["name"]
    env = {
        e["name"]: e.get("value") for e in job["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert {k: env[k] for k in ("MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE")} == {
        "MASTER_ADDR": f"{name}-0.{name}",
        "MASTER_PORT": "29500",
        "WORLD_SIZE": "2",
    }
    assert job["spec"]["template"]["spec"]["subdomain"] == name == service["metadata"]["name"]
    assert service["spec"]["clusterIP"] == "None"
    assert service["spec"]["selector"] == {"job-name": name}


def test_an_xgboost_training_that_asks_for_workers_is_one_pod(
    write_project: Callable[[dict[str, str]], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """SQLFlow's statements ask its XGBoost for workers (PAI's distributed XGBoost); here
    the model trains in one process (a warning from ``sqlml check``), so the dry run shows a
    plain Job — never two pods each training and publishing the same model."""
    root = write_project(
        {"m.sql": TWO_PODS.format(model="xgboost.gbtree", hidden="objective = 'binary:logistic', ")}
    )
    assert main(["compile", str(root), "--k8s"]) == 0
    documents = [d for d in yaml.safe_load_all(capsys.readouterr().out) if d]
    (job,) = [d for d in documents if d["kind"] == "Job"]
    assert "completionMode" not in job["spec"] and job["spec"].get("completions", 1) == 1
    assert [d for d in documents if d["kind"] == "Service"] == []
    env = {e["name"] for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert "WORLD_SIZE" not in env
