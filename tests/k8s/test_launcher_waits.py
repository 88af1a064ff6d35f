"""Pods that never start and waits that must end: the launcher against a test API server
that admits pods like a real one (ServiceAccount, Pod Security ``restricted``,
ResourceQuota) and a kubelet that waits like one (scale-ups, Secrets that appear late,
volumes that never mount). Each wait either ends by itself and the step succeeds, or
ends the step with the cluster's own reason and message — never hangs it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kubernetes
import pytest

from sqlml_dagster.launchers.kubernetes import DEFAULT_DEADLINE_SECONDS
from sqlml_dagster.store import ModelStore
from tests.conftest import failure_reasons
from tests.k8s.harness import KubernetesTestCluster, k8s_cluster
from tests.k8s.test_launcher import TRAIN_SQL, launcher_for, materialize

__all__ = ["k8s_cluster"]

pytestmark = pytest.mark.slow

#: Short waits, so a test fails in seconds where a cluster's defaults take minutes.
SHORT = {
    "start_timeout_seconds": 60.0,
    "failed_create_timeout_seconds": 1.0,
    "unschedulable_timeout_seconds": 1.0,
    "config_error_timeout_seconds": 30.0,
    "container_creating_timeout_seconds": 1.0,
}


def core(cluster: KubernetesTestCluster) -> kubernetes.client.CoreV1Api:
    return kubernetes.client.CoreV1Api(cluster.api_client())


def run_step(
    cluster: KubernetesTestCluster,
    write_project: Callable[[dict[str, str]], Path],
    tmp_path: Path,
    sql: str = TRAIN_SQL,
    **settings: Any,
) -> tuple[bool, str, float]:
    """Materialize one training as a Job: (success, failure text, seconds it took)."""
    root = write_project({"m.sql": sql})
    state = tmp_path / "state"
    started = time.monotonic()
    result = materialize(root, state, launcher_for(cluster, state, **{**SHORT, **settings}))
    return result.success, failure_reasons(result), time.monotonic() - started


def assert_nothing_left(cluster: KubernetesTestCluster, tmp_path: Path) -> None:
    """A failed step leaves no Job, no pod, no process and no visible version."""
    cluster.wait_for(lambda: not cluster.jobs("default") and not cluster.pods("default"))
    assert not cluster.running_processes()
    assert ModelStore(str(tmp_path / "state" / "models")).versions("parity") == []


def when_pod(cluster: KubernetesTestCluster, predicate: Callable[[dict[str, Any]], bool]) -> None:
    """Wait (in a helper thread) until a pod of the training Job matches ``predicate``."""
    cluster.wait_for(
        lambda: any(
            predicate(p) for p in cluster.pods() if p["metadata"]["name"].startswith("sqlml-train-")
        ),
        timeout=60,
    )


def waiting_reason(pod: dict[str, Any]) -> str | None:
    statuses = (pod.get("status") or {}).get("containerStatuses") or [{}]
    return ((statuses[0].get("state") or {}).get("waiting") or {}).get("reason")


# -- pods the API server refuses: FailedCreate ------------------------------------------------


def gpu_quota(cluster: KubernetesTestCluster) -> dict[str, Any]:
    core(cluster).create_namespaced_resource_quota(
        "default",
        {"metadata": {"name": "gpus"}, "spec": {"hard": {"requests.nvidia.com/gpu": "0"}}},
    )
    return {}


@pytest.mark.parametrize(
    ("prepare", "expected"),
    [
        # plugin/pkg/admission/serviceaccount/admission.go
        (lambda c: {"service_account_name": "sqlml-steps"},
         'error looking up service account default/sqlml-steps: serviceaccount "sqlml-steps" not found'),
        # pod-security-admission: the namespace enforces restricted; a launcher relaxed past it
        (lambda c: {"seccomp_profile": None, "allow_privilege_escalation": True},
         'violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container '
         '"step" must set securityContext.allowPrivilegeEscalation=false), seccompProfile (pod or '
         'container "step" must set securityContext.seccompProfile.type to "RuntimeDefault" or '
         '"Localhost")'),
        # plugin/pkg/admission/resourcequota/controller.go
        (gpu_quota,
         "exceeded quota: gpus, requested: requests.nvidia.com/gpu=1, "
         "used: requests.nvidia.com/gpu=0, limited: requests.nvidia.com/gpu=0"),
    ],
    ids=["missing-service-account", "pod-security", "quota"],
)  # fmt: skip
def test_a_pod_the_api_server_refuses_fails_the_step_with_the_failed_create_message(
    k8s_cluster: KubernetesTestCluster,
    write_project: Callable[[dict[str, str]], Path],
    tmp_path: Path,
    prepare: Callable[[KubernetesTestCluster], dict[str, Any]],
    expected: str,
) -> None:
    """The Job is created but its pod never is: the only trace is the Job controller's
    Warning FailedCreate event. After ``failed_create_timeout_seconds`` of refusals the
    step fails naming it, well within the start timeout, and deletes its Job."""
    labels = core(k8s_cluster).read_namespace("default").metadata.labels
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"  # the default passes it
    success, text, took = run_step(k8s_cluster, write_project, tmp_path, **prepare(k8s_cluster))
    assert not success
    first_line = text.strip().splitlines()[0]
    assert 'failed: FailedCreate (Error creating: pods "sqlml-train-parity-' in first_line, text
    assert expected in first_line and "Job default/sqlml-train-parity-" in first_line, text
    assert took < SHORT["start_timeout_seconds"] / 2
    assert_nothing_left(k8s_cluster, tmp_path)


def test_a_service_account_created_while_the_controller_retries_lets_the_step_run(
    k8s_cluster: KubernetesTestCluster,
    write_project: Callable[[dict[str, str]], Path],
    tmp_path: Path,
) -> None:
    """FailedCreate is retried by the Job controller: a refusal that ends within
    ``failed_create_timeout_seconds`` (the account created by a GitOps sync) is no failure."""

    def create_account() -> None:
        k8s_cluster.wait_for(
            lambda: any(e["reason"] == "FailedCreate" for e in k8s_cluster.events()), timeout=60
        )
        core(k8s_cluster).create_namespaced_service_account(
            "default", {"metadata": {"name": "sqlml-steps"}}
        )

    helper = threading.Thread(target=create_account, daemon=True)
    helper.start()
    success, text, _ = run_step(
        k8s_cluster,
        write_project,
        tmp_path,
        service_account_name="sqlml-steps",
        failed_create_timeout_seconds=30.0,
    )
    helper.join(timeout=5)
    assert success, text
    (job,) = k8s_cluster.jobs("default")
    assert job["spec"]["template"]["spec"]["serviceAccountName"] == "sqlml-steps"


# -- deadlines --------------------------------------------------------------------------------


def test_every_job_has_a_deadline_by_default(
    k8s_cluster: KubernetesTestCluster,
    write_project: Callable[[dict[str, str]], Path],
    tmp_path: Path,
) -> None:
    """A hung training (or a run worker that died without deleting its Job) must not hold a
    GPU for ever: without ``train.max_runtime`` or a setting, a Job may run a day."""
    success, text, _ = run_step(k8s_cluster, write_project, tmp_path)
    assert success, text
    (job,) = k8s_cluster.jobs("default")
    assert job["spec"]["activeDeadlineSeconds"] == DEFAULT_DEADLINE_SECONDS == 86400


@pytest.mark.parametrize(
    ("written", "settings"),
    [
        ('train.max_runtime = "2s"', {}),  # the statement's own limit
        ("train.max_runtime = 2", {"active_deadline_seconds": 3600}),  # wins over the setting
        (None, {"active_deadline_seconds": 2}),  # the setting
    ],
)
def test_a_step_past_its_deadline_fails_with_deadline_exceeded(
    k8s_cluster: KubernetesTestCluster,
    write_project: Callable[[dict[str, str]], Path],
    tmp_path: Path,
    written: str | None,
    settings: dict[str, Any],
) -> None:
    """The container hangs (the DeadlineExceeded simulation); the Job's
    ``activeDeadlineSeconds`` ends it and the step fails with the Job's own reason."""
    k8s_cluster.simulate("DeadlineExceeded", job="sqlml-train-*")
    sql = (
        TRAIN_SQL.replace("resources.gpu = 1", f"resources.gpu = 1, {written}")
        if written
        else TRAIN_SQL
    )
    success, text, took = run_step(k8s_cluster, write_project, tmp_path, sql=sql, **settings)
    assert not success
    assert "failed: DeadlineExceeded (Job was active longer than specified deadline)" in text, text
    assert took < 30
    assert_nothing_left(k8s_cluster, tmp_path)


# -- scheduling and cluster autoscalers -------------------------------------------------------


def test_a_scale_up_longer_than_the_unschedulable_timeout_still_succeeds(
    k8s_cluster: KubernetesTestCluster,
    write_project: Callable[[dict[str, str]], Path],
    tmp_path: Path,
) -> None:
    """A GPU pool scaling from zero: the pod is Unschedulable for minutes while cluster
    autoscaler, which said TriggeredScaleUp, adds a node. That wait is progress."""
    k8s_cluster.simulate("ScaleUp", job="sqlml-train-*")
    k8s_cluster.scale_up_seconds = 3.0
    success, text, took = run_step(k8s_cluster, write_project, tmp_path)
    assert success, text
    assert took > 3.0 > SHORT["unschedulable_timeout_seconds"]
    (pod,) = k8s_cluster.pods()
    reasons = {e["reason"] for e in k8s_cluster.events(involved_name=pod["metadata"]["name"])}
    assert {"FailedScheduling", "TriggeredScaleUp", "Scheduled"} <= reasons


def test_an_autoscaler_that_declines_fails_the_step_with_its_message(
    k8s_cluster: KubernetesTestCluster,
    write_project: Callable[[dict[str, str]], Path],
    tmp_path: Path,
) -> None:
    k8s_cluster.simulate("NotTriggerScaleUp", job="sqlml-train-*")
    success, text, _ = run_step(k8s_cluster, write_project, tmp_path)
    assert not success
    first_line = text.strip().splitlines()[0]
    assert (
        "failed: NotTriggerScaleUp (pod didn't trigger scale-up (it wouldn't fit if a new node "
        "is added): 1 Insufficient nvidia.com/gpu; 0/1 nodes are available: 1 Insufficient "
        "nvidia.com/gpu.)"
    ) in first_line, text
    assert_nothing_left(k8s_cluster, tmp_path)


# -- containers that wait: Secrets, volumes ---------------------------------------------------


def test_a_secret_created_while_the_container_waits_lets_the_step_run(
    k8s_cluster: KubernetesTestCluster,
    write_project: Callable[[dict[str, str]], Path],
    tmp_path: Path,
) -> None:
    """CreateContainerConfigError is retried by the kubelet (dagster-k8s keeps waiting on
    it too): the storage Secret an ExternalSecrets sync creates 2 s late is no failure."""

    def create_secret() -> None:
        when_pod(k8s_cluster, lambda p: waiting_reason(p) == "CreateContainerConfigError")
        time.sleep(2)
        core(k8s_cluster).create_namespaced_secret(
            "default", {"metadata": {"name": "late-credentials"}, "stringData": {"TOKEN": "t"}}
        )

    helper = threading.Thread(target=create_secret, daemon=True)
    helper.start()
    success, text, _ = run_step(
        k8s_cluster, write_project, tmp_path, env_from_secrets=["late-credentials"]
    )
    helper.join(timeout=5)
    assert success, text
    (pod,) = k8s_cluster.pods()
    events = k8s_cluster.events(involved_name=pod["metadata"]["name"])
    assert any(e["message"] == 'Error: secret "late-credentials" not found' for e in events)


def test_a_secret_that_never_comes_fails_the_step_after_its_grace(
    k8s_cluster: KubernetesTestCluster,
    write_project: Callable[[dict[str, str]], Path],
    tmp_path: Path,
) -> None:
    success, text, took = run_step(
        k8s_cluster,
        write_project,
        tmp_path,
        env_from_secrets=["missing-credentials"],
        config_error_timeout_seconds=2.0,
    )
    assert not success
    assert 'failed: CreateContainerConfigError (secret "missing-credentials" not found)' in text
    assert took >= 2.0
    assert_nothing_left(k8s_cluster, tmp_path)


def test_a_volume_that_never_mounts_fails_the_step_naming_the_mount_event(
    k8s_cluster: KubernetesTestCluster,
    write_project: Callable[[dict[str, str]], Path],
    tmp_path: Path,
) -> None:
    """FailedMount sets no waiting reason: the container stays ContainerCreating, which
    times out after ``container_creating_timeout_seconds`` quoting the kubelet's event."""
    k8s_cluster.simulate("FailedMount", job="sqlml-train-*")
    success, text, _ = run_step(k8s_cluster, write_project, tmp_path)
    assert not success
    first_line = text.strip().splitlines()[0]
    assert "failed: ContainerCreating (" in first_line, text
    assert (
        "FailedMount: Unable to attach or mount volumes: unmounted volumes=[sqlml-shared], "
        "unattached volumes=[sqlml-shared]: timed out waiting for the condition"
    ) in first_line, text
    assert_nothing_left(k8s_cluster, tmp_path)
