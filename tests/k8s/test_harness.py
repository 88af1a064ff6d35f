"""Proves the loopback cluster behaves like Kubernetes *to the official client*.

Launcher tests will trust this harness, so each behaviour they depend on is pinned here with
real ``kubernetes`` client calls over HTTP: Job lifecycle, logs (whole, tailed, followed),
selectors, error codes, watches, simulated failures and deletion semantics.
"""

from __future__ import annotations

import base64
import json
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

kubernetes = pytest.importorskip("kubernetes")

from kubernetes import client, watch  # noqa: E402
from kubernetes.client.exceptions import ApiException  # noqa: E402

from tests.k8s.harness import (  # noqa: E402
    SIMULATE_ATTEMPTS_KEY,
    SIMULATE_KEY,
    UNSCHEDULABLE_MESSAGE,
    KubernetesTestCluster,
    k8s_cluster,
    match_pod_failure_policy,
)

__all__ = ["k8s_cluster"]  # the fixture, re-exported so pytest finds it in this module

NS = "default"


def pod_log(core: Any, name: str, namespace: str, **kwargs: Any) -> str:
    """A pod's log as text. kubernetes 36's preloaded read_namespaced_pod_log returns
    ``str(bytes)`` ("b'…'"), so read the raw response, as dagster-k8s does."""
    response = core.read_namespaced_pod_log(name, namespace, _preload_content=False, **kwargs)
    return str(response.data.decode("utf-8"))


@pytest.fixture
def api(k8s_cluster: KubernetesTestCluster) -> Iterator[tuple[client.BatchV1Api, client.CoreV1Api]]:
    """Typed API objects over one ``ApiClient``, closed after the test."""
    with k8s_cluster.api_client() as api_client:
        yield client.BatchV1Api(api_client), client.CoreV1Api(api_client)


def job_manifest(
    name: str,
    code: str,
    *,
    labels: dict[str, str] | None = None,
    env: list[dict[str, Any]] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    """A Job running ``python -c code``, written as launcher code would write it."""
    container: dict[str, Any] = {
        "name": "main",
        "image": "sqlml/step:test",
        "command": [sys.executable, "-c", code],
        "securityContext": RESTRICTED_CONTAINER,
    }
    if env is not None:
        container["env"] = env
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {
            "backoffLimit": 0,
            **spec,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "securityContext": RESTRICTED_POD,
                    "containers": [container],
                }
            },
        },
    }


#: What the fixture's ``default`` namespace (Pod Security ``restricted``) asks of a pod.
RESTRICTED_POD = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
RESTRICTED_CONTAINER = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def wait_for_job(batch: client.BatchV1Api, name: str, timeout: int = 5) -> client.V1Job:
    """Watch the Job until it has a terminal condition, as a launcher would."""
    return job_updates(batch, name, timeout)[-1]


def job_updates(batch: client.BatchV1Api, name: str, timeout: int = 10) -> list[client.V1Job]:
    """Every state of the Job a watch delivers, until it has a terminal condition."""
    seen = []
    w = watch.Watch()
    for event in w.stream(
        batch.list_namespaced_job,
        NS,
        field_selector=f"metadata.name={name}",
        timeout_seconds=timeout,
    ):
        seen.append(event["object"])
        if {"Complete", "Failed"} & set(condition_types(event["object"])):
            w.stop()
            return seen
    raise AssertionError(f"job {name} did not finish within {timeout}s")


def condition_types(job: client.V1Job) -> list[str]:
    """The types of the Job's true conditions, in order."""
    return [c.type for c in job.status.conditions or [] if c.status == "True"]


def terminal_condition(job: client.V1Job) -> client.V1JobCondition:
    """The Complete/Failed condition (real 1.31+ clusters put SuccessCriteriaMet/FailureTarget first)."""
    return next(c for c in job.status.conditions if c.type in ("Complete", "Failed"))


def job_pods(core: client.CoreV1Api, name: str) -> list[client.V1Pod]:
    """The Job's pods, found the way launchers find them: by the ``job-name`` label."""
    return list(core.list_namespaced_pod(NS, label_selector=f"job-name={name}").items)


def test_job_completes_and_serves_its_log(
    k8s_cluster: KubernetesTestCluster, api: tuple[client.BatchV1Api, client.CoreV1Api]
) -> None:
    """The happy path a launcher takes: ConfigMap + Job, watch to Complete, read the log."""
    batch, core = api
    cm = core.create_namespaced_config_map(
        NS, {"metadata": {"name": "step-config"}, "data": {"plan.json": "{}"}}
    )
    assert (
        cm.metadata.uid and cm.metadata.creation_timestamp and int(cm.metadata.resource_version) > 0
    )

    created = batch.create_namespaced_job(
        NS, job_manifest("hello", "print('hello'); import sys; sys.exit(0)")
    )
    assert created.spec.selector.match_labels == {
        "batch.kubernetes.io/controller-uid": created.metadata.uid
    }
    assert created.spec.template.metadata.labels["job-name"] == "hello"

    job = wait_for_job(batch, "hello")
    assert terminal_condition(job).reason == "CompletionsReached"
    assert job.status.succeeded == 1 and job.status.active is None and job.status.failed is None
    assert job.status.start_time is not None and job.status.completion_time is not None

    (pod,) = job_pods(core, "hello")
    assert pod.metadata.name.startswith("hello-") and len(pod.metadata.name) == len("hello-") + 5
    assert pod.metadata.labels["controller-uid"] == created.metadata.uid
    assert pod.metadata.labels["batch.kubernetes.io/job-name"] == "hello"
    (owner,) = pod.metadata.owner_references
    assert (owner.kind, owner.name, owner.uid, owner.controller) == (
        "Job",
        "hello",
        created.metadata.uid,
        True,
    )
    assert pod.status.phase == "Succeeded"
    terminated = pod.status.container_statuses[0].state.terminated
    assert (terminated.exit_code, terminated.reason) == (0, "Completed")

    assert pod_log(core, pod.metadata.name, NS) == "hello\n"
    streamed = core.read_namespaced_pod_log(
        pod.metadata.name, NS, follow=True, _preload_content=False
    )
    assert b"".join(streamed.stream()) == b"hello\n"
    lines = list(watch.Watch().stream(core.read_namespaced_pod_log, pod.metadata.name, NS))
    assert lines == ["hello"]
    assert k8s_cluster.pod_log(pod.metadata.name) == "hello\n"


def test_follow_streams_output_while_the_container_runs(
    k8s_cluster: KubernetesTestCluster, api: tuple[client.BatchV1Api, client.CoreV1Api]
) -> None:
    """``follow=True`` must deliver lines as printed, not when the process ends."""
    batch, core = api
    code = "import time; print('one', flush=True); time.sleep(0.5); print('two', flush=True)"
    batch.create_namespaced_job(NS, job_manifest("chatty", code))
    pod = k8s_cluster.wait_for(
        lambda: [p for p in job_pods(core, "chatty") if p.status.phase == "Running"]
    )[0]

    response = core.read_namespaced_pod_log(
        pod.metadata.name, NS, follow=True, _preload_content=False
    )
    arrivals: list[tuple[float, bytes]] = [(time.monotonic(), chunk) for chunk in response.stream()]
    assert b"".join(c for _, c in arrivals) == b"one\ntwo\n"
    first_two = next(t for t, c in arrivals if b"two" in c)
    first_one = next(t for t, c in arrivals if b"one" in c)
    assert first_two - first_one > 0.3, "follow buffered output until the container ended"

    wait_for_job(batch, "chatty")
    assert pod_log(core, pod.metadata.name, NS, tail_lines=1) == "two\n"
    assert pod_log(core, pod.metadata.name, NS, limit_bytes=2) == "on"
    stamped = pod_log(core, pod.metadata.name, NS, timestamps=True)
    assert [line.split(" ", 1)[1] for line in stamped.splitlines()] == ["one", "two"]


def test_label_and_field_selectors_filter_lists(
    api: tuple[client.BatchV1Api, client.CoreV1Api],
) -> None:
    """kmock-style emulators ignore selectors; launchers rely on them to find their objects."""
    _, core = api
    for name, labels in (
        ("a", {"app": "x", "tier": "web"}),
        ("b", {"app": "x"}),
        ("c", {"app": "y"}),
    ):
        core.create_namespaced_config_map(NS, {"metadata": {"name": name, "labels": labels}})

    def names(**kwargs: str) -> list[str]:
        return [cm.metadata.name for cm in core.list_namespaced_config_map(NS, **kwargs).items]

    assert names(label_selector="app=x") == ["a", "b"]
    assert names(label_selector="app=x,tier=web") == ["a"]
    assert names(label_selector="app!=x") == ["c"]
    assert names(label_selector="app in (x, y),!tier") == ["b", "c"]
    assert names(label_selector="tier") == ["a"]
    assert names(field_selector="metadata.name=b") == ["b"]
    with pytest.raises(ApiException) as bad:
        core.list_namespaced_config_map(NS, label_selector="app=x=y")
    assert bad.value.status == 400


def test_missing_duplicate_stale_and_invalid_objects_are_api_errors(
    api: tuple[client.BatchV1Api, client.CoreV1Api],
) -> None:
    """404 / 409 / 422 arrive as ``ApiException`` with the apiserver's codes and reasons."""
    batch, core = api
    with pytest.raises(ApiException) as missing:
        batch.read_namespaced_job("nope", NS)
    assert missing.value.status == 404 and '"NotFound"' in missing.value.body

    with pytest.raises(ApiException) as missing_delete:
        core.delete_namespaced_config_map("nope", NS)
    assert missing_delete.value.status == 404

    core.create_namespaced_config_map(NS, {"metadata": {"name": "twice"}})
    with pytest.raises(ApiException) as duplicate:
        core.create_namespaced_config_map(NS, {"metadata": {"name": "twice"}})
    assert duplicate.value.status == 409 and '"AlreadyExists"' in duplicate.value.body

    stale = core.read_namespaced_config_map("twice", NS)
    core.patch_namespaced_config_map("twice", NS, {"data": {"k": "v1"}})
    stale.data = {"k": "v2"}
    with pytest.raises(ApiException) as conflict:
        core.replace_namespaced_config_map("twice", NS, stale)
    assert conflict.value.status == 409 and '"Conflict"' in conflict.value.body

    with pytest.raises(ApiException) as invalid:  # Dagster asset names have underscores
        batch.create_namespaced_job(NS, job_manifest("train_model", "pass"))
    assert invalid.value.status == 422 and "RFC 1123" in invalid.value.body


def test_failing_command_fails_the_job_with_its_exit_code(
    api: tuple[client.BatchV1Api, client.CoreV1Api],
) -> None:
    """A non-zero exit fails the pod (reason Error) and, past backoffLimit, the Job."""
    batch, core = api
    batch.create_namespaced_job(
        NS, job_manifest("boom", "import sys; print('bad'); sys.exit(3)", backoffLimit=1)
    )
    job = wait_for_job(batch, "boom")
    assert (terminal_condition(job).type, terminal_condition(job).reason) == (
        "Failed",
        "BackoffLimitExceeded",
    )
    assert (
        job.status.failed == 2 and job.status.succeeded is None
    )  # one retry, as backoffLimit=1 asks
    pods = job_pods(core, "boom")
    assert len(pods) == 2
    for pod in pods:
        terminated = pod.status.container_statuses[0].state.terminated
        assert (pod.status.phase, terminated.exit_code, terminated.reason) == ("Failed", 3, "Error")
        assert pod_log(core, pod.metadata.name, NS) == "bad\n"


def test_secret_and_configmap_env_reach_the_process(
    api: tuple[client.BatchV1Api, client.CoreV1Api],
) -> None:
    """``valueFrom`` refs resolve from stored objects; ``$(VAR)`` expands as in a real pod."""
    batch, core = api
    core.create_namespaced_secret(
        NS, {"metadata": {"name": "creds"}, "stringData": {"token": "s3cret"}}
    )
    stored = core.read_namespaced_secret("creds", NS)
    assert base64.b64decode(stored.data["token"]) == b"s3cret"
    core.create_namespaced_config_map(NS, {"metadata": {"name": "cfg"}, "data": {"mode": "fast"}})
    env = [
        {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}},
        {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "mode"}}},
        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "GREETING", "value": "hi-$(MODE)"},
    ]
    code = "import os; print(os.environ['TOKEN'], os.environ['GREETING'], os.environ['POD'] == os.environ['HOSTNAME'])"
    batch.create_namespaced_job(NS, job_manifest("envy", code, env=env))
    wait_for_job(batch, "envy")
    (pod,) = job_pods(core, "envy")
    assert pod_log(core, pod.metadata.name, NS) == "s3cret hi-fast True\n"


def test_a_rotated_log_serves_only_the_current_file(
    k8s_cluster: KubernetesTestCluster, api: tuple[client.BatchV1Api, client.CoreV1Api]
) -> None:
    """LogRotated: the container runs and succeeds, but every write is rotated away before
    a reader sees it, so the API serves an empty current file to reads and followers alike
    (kubelet ``ReadLogs`` reads only the current file; a follower reopens the new one)."""
    batch, core = api
    k8s_cluster.simulate("LogRotated", job="rotating")
    batch.create_namespaced_job(NS, job_manifest("rotating", "print('gone'); print('too')"))
    job = wait_for_job(batch, "rotating")
    assert terminal_condition(job).type == "Complete"
    (pod,) = job_pods(core, "rotating")
    assert pod_log(core, pod.metadata.name, NS) == ""
    streamed = core.read_namespaced_pod_log(
        pod.metadata.name, NS, follow=True, _preload_content=False
    )
    assert b"".join(streamed.stream()) == b""
    assert k8s_cluster.pod_log(pod.metadata.name) == "gone\ntoo\n"  # the rotated files


@pytest.mark.parametrize("via", ["label", "annotation", "rule"])
def test_simulated_oom_kill(
    via: str, k8s_cluster: KubernetesTestCluster, api: tuple[client.BatchV1Api, client.CoreV1Api]
) -> None:
    """OOMKilled: exit 137, reason OOMKilled, Job Failed/BackoffLimitExceeded -- however chosen."""
    batch, core = api
    manifest = job_manifest("oom", "print('never runs')")
    if via == "label":
        manifest["metadata"]["labels"][SIMULATE_KEY] = "OOMKilled"
    elif via == "annotation":
        manifest["metadata"]["annotations"] = {SIMULATE_KEY: "OOMKilled"}
    else:
        k8s_cluster.simulate("OOMKilled", job="oo*")
    batch.create_namespaced_job(NS, manifest)
    job = wait_for_job(batch, "oom")
    assert (terminal_condition(job).type, terminal_condition(job).reason) == (
        "Failed",
        "BackoffLimitExceeded",
    )
    (pod,) = job_pods(core, "oom")
    terminated = pod.status.container_statuses[0].state.terminated
    assert (pod.status.phase, terminated.exit_code, terminated.reason) == (
        "Failed",
        137,
        "OOMKilled",
    )


def test_simulated_image_pull_backoff(
    k8s_cluster: KubernetesTestCluster, api: tuple[client.BatchV1Api, client.CoreV1Api]
) -> None:
    """ImagePullBackOff: the pod stays Pending (ErrImagePull, then ImagePullBackOff); logs 400."""
    batch, core = api
    batch.create_namespaced_job(
        NS, job_manifest("pull", "pass", labels={SIMULATE_KEY: "ImagePullBackOff"})
    )

    def waiting_reason() -> str | None:
        pods = job_pods(core, "pull")
        statuses = pods[0].status.container_statuses if pods else None
        return statuses[0].state.waiting.reason if statuses and statuses[0].state.waiting else None

    k8s_cluster.wait_for(lambda: waiting_reason() == "ImagePullBackOff")
    (pod,) = job_pods(core, "pull")
    assert pod.status.phase == "Pending"
    assert (
        pod.status.container_statuses[0].state.waiting.message
        == 'Back-off pulling image "sqlml/step:test"'
    )
    assert {e["reason"] for e in k8s_cluster.events(involved_name=pod.metadata.name)} >= {
        "Failed",
        "BackOff",
    }
    with pytest.raises(ApiException) as log_error:
        core.read_namespaced_pod_log(pod.metadata.name, NS)
    assert (
        log_error.value.status == 400 and "trying and failing to pull image" in log_error.value.body
    )
    assert batch.read_namespaced_job("pull", NS).status.active == 1


def test_simulated_unschedulable(
    k8s_cluster: KubernetesTestCluster, api: tuple[client.BatchV1Api, client.CoreV1Api]
) -> None:
    """Unschedulable: Pending with PodScheduled=False and the scheduler's GPU message."""
    batch, core = api
    batch.create_namespaced_job(
        NS, job_manifest("gpu", "pass", labels={SIMULATE_KEY: "Unschedulable"})
    )

    def scheduled_condition() -> client.V1PodCondition | None:
        pods = job_pods(core, "gpu")
        conditions = (pods[0].status.conditions or []) if pods else []
        return next((c for c in conditions if c.type == "PodScheduled"), None)

    condition = k8s_cluster.wait_for(scheduled_condition)
    assert (condition.status, condition.reason, condition.message) == (
        "False",
        "Unschedulable",
        UNSCHEDULABLE_MESSAGE,
    )
    (pod,) = job_pods(core, "gpu")
    assert pod.status.phase == "Pending" and pod.spec.node_name is None
    with pytest.raises(ApiException) as log_error:
        core.read_namespaced_pod_log(pod.metadata.name, NS)
    assert log_error.value.status == 400


def test_simulated_deadline_exceeded(
    k8s_cluster: KubernetesTestCluster, api: tuple[client.BatchV1Api, client.CoreV1Api]
) -> None:
    """DeadlineExceeded: the container hangs; at ``activeDeadlineSeconds`` the Job is Failed
    with the controller's reason and message, and its pod removed."""
    batch, core = api
    batch.create_namespaced_job(
        NS,
        job_manifest(
            "slow", "pass", labels={SIMULATE_KEY: "DeadlineExceeded"}, activeDeadlineSeconds=1
        ),
    )
    started = time.monotonic()
    job = wait_for_job(batch, "slow")
    assert (terminal_condition(job).type, terminal_condition(job).reason) == (
        "Failed",
        "DeadlineExceeded",
    )
    assert terminal_condition(job).message == "Job was active longer than specified deadline"
    assert time.monotonic() - started >= 1
    assert job.status.failed == 1 and job.status.active is None
    k8s_cluster.wait_for(lambda: not job_pods(core, "slow"))


def test_a_hung_container_without_a_deadline_hangs_and_fails_the_test() -> None:
    """``DeadlineExceeded`` exists only where the Job sets ``activeDeadlineSeconds``
    (job_controller.go ``pastActiveDeadline``); without one the hung container keeps
    running, as a hung training would. The harness does not invent a deadline: it kills
    the container after ``hang_limit`` and records an error that fails the test."""
    cluster = KubernetesTestCluster(hang_limit=0.5).start()
    try:
        with cluster.api_client() as api_client:
            batch = client.BatchV1Api(api_client)
            batch.create_namespaced_job(
                NS, job_manifest("hung", "pass", labels={SIMULATE_KEY: "DeadlineExceeded"})
            )
            cluster.wait_for(lambda: cluster.errors)
            job = batch.read_namespaced_job("hung", NS)
            assert not any(c.reason == "DeadlineExceeded" for c in job.status.conditions or [])
    finally:
        cluster.close()
    assert "no activeDeadlineSeconds ended it" in cluster.errors[0]


def test_real_active_deadline_kills_a_running_process(
    k8s_cluster: KubernetesTestCluster, api: tuple[client.BatchV1Api, client.CoreV1Api]
) -> None:
    """Without simulation, ``activeDeadlineSeconds`` still applies to a process that runs too long."""
    batch, _ = api
    batch.create_namespaced_job(
        NS, job_manifest("sleepy", "import time; time.sleep(60)", activeDeadlineSeconds=1)
    )
    job = wait_for_job(batch, "sleepy")
    assert terminal_condition(job).reason == "DeadlineExceeded"
    k8s_cluster.wait_for(lambda: not k8s_cluster.running_processes())


def test_background_delete_kills_the_process_and_removes_pods(
    k8s_cluster: KubernetesTestCluster, api: tuple[client.BatchV1Api, client.CoreV1Api]
) -> None:
    """Cancelling a run: Background propagation must take the pods and their processes along."""
    batch, core = api
    batch.create_namespaced_job(
        NS, job_manifest("forever", "import time; print('up', flush=True); time.sleep(60)")
    )
    k8s_cluster.wait_for(
        lambda: (
            "up" in "".join(k8s_cluster.pod_log(p["metadata"]["name"]) for p in k8s_cluster.pods())
        )
    )
    (process,) = k8s_cluster.running_processes().values()

    # Client 36 deserializes this response as V1Status; client 37 hands back a plain dict.
    status = batch.delete_namespaced_job(
        "forever", NS, propagation_policy="Background", _preload_content=False
    )
    body = json.loads(status.data)
    assert body["kind"] == "Status" and body["status"] == "Success"
    with pytest.raises(ApiException) as gone:
        batch.read_namespaced_job("forever", NS)
    assert gone.value.status == 404
    k8s_cluster.wait_for(lambda: not job_pods(core, "forever"))
    assert process.poll() is not None and not k8s_cluster.running_processes()


def test_default_delete_orphans_pods_like_batch_v1(
    k8s_cluster: KubernetesTestCluster, api: tuple[client.BatchV1Api, client.CoreV1Api]
) -> None:
    """batch/v1 deletes orphan pods by default: the process keeps running (a classic leak).

    The apiserver answers such a pending delete with the Job itself (finalizer ``orphan``), not
    a Status; client 37 hands either back as a plain dict."""
    batch, core = api
    batch.create_namespaced_job(NS, job_manifest("leaky", "import time; time.sleep(60)"))
    k8s_cluster.wait_for(k8s_cluster.running_processes)

    pending = json.loads(batch.delete_namespaced_job("leaky", NS, _preload_content=False).data)
    assert pending["kind"] == "Job" and pending["metadata"]["finalizers"] == ["orphan"]
    assert pending["metadata"]["deletionTimestamp"]
    k8s_cluster.wait_for(lambda: not k8s_cluster.jobs())
    (pod,) = core.list_namespaced_pod(NS).items
    assert pod.metadata.owner_references is None and pod.status.phase == "Running"
    assert k8s_cluster.running_processes()

    deleted = core.delete_namespaced_pod(pod.metadata.name, NS)
    assert deleted.metadata.deletion_timestamp is not None  # graceful: SIGTERM first
    k8s_cluster.wait_for(lambda: not k8s_cluster.running_processes() and not k8s_cluster.pods())


def test_watch_resumes_from_resource_version_and_times_out(
    k8s_cluster: KubernetesTestCluster, api: tuple[client.BatchV1Api, client.CoreV1Api]
) -> None:
    """Watches honour ``resourceVersion`` (no replay) and ``timeoutSeconds``; 410 after compaction."""
    _, core = api
    core.create_namespaced_config_map(NS, {"metadata": {"name": "before"}})
    listed = core.list_namespaced_config_map(NS)
    core.create_namespaced_config_map(NS, {"metadata": {"name": "after", "labels": {"w": "1"}}})
    core.patch_namespaced_config_map("after", NS, {"data": {"k": "v"}})
    core.delete_namespaced_config_map("after", NS)

    started = time.monotonic()
    events = [
        (e["type"], e["object"].metadata.name)
        for e in watch.Watch().stream(
            core.list_namespaced_config_map,
            NS,
            resource_version=listed.metadata.resource_version,
            timeout_seconds=1,
        )
    ]
    assert events == [("ADDED", "after"), ("MODIFIED", "after"), ("DELETED", "after")]
    assert 0.9 <= time.monotonic() - started < 1.8

    k8s_cluster.compact()
    with pytest.raises(ApiException) as expired:
        list(
            watch.Watch().stream(
                core.list_namespaced_config_map,
                NS,
                resource_version=listed.metadata.resource_version,
                timeout_seconds=1,
            )
        )
    assert expired.value.status == 410


def test_status_subresource_patch_and_namespace_delete(
    k8s_cluster: KubernetesTestCluster, api: tuple[client.BatchV1Api, client.CoreV1Api]
) -> None:
    """``/status`` patches only status; deleting a namespace takes its running pods down."""
    batch, core = api
    core.create_namespace({"metadata": {"name": "scratch"}})
    manifest = job_manifest("worker", "import time; time.sleep(60)")
    batch.create_namespaced_job("scratch", manifest)
    k8s_cluster.wait_for(k8s_cluster.running_processes)

    patched = batch.patch_namespaced_job_status(
        "worker", "scratch", {"status": {"ready": 1}, "spec": {"parallelism": 5}}
    )
    assert patched.status.ready == 1 and patched.spec.parallelism == 1

    core.delete_namespace("scratch")
    k8s_cluster.wait_for(lambda: not k8s_cluster.running_processes())
    assert k8s_cluster.pods("scratch") == [] and k8s_cluster.jobs("scratch") == []


# -- Job controller fidelity: terminal conditions, podFailurePolicy, disruptions -------------
#
# Upstream sources these tests compare with (kubernetes/kubernetes unless named):
# pkg/controller/job/job_controller.go (syncJob, enactJobFinished, deleteActivePods,
# trackJobStatusAndRemoveFinalizers, newFailureCondition/newSuccessCondition,
# delayTerminalCondition), pkg/controller/job/pod_failure_policy.go (matchPodFailurePolicy),
# pkg/controller/job/backoff_utils.go, pkg/apis/batch/validation/validation.go
# (validatePodFailurePolicy*, validatePodReplacementPolicy) and its validation_test.go,
# pkg/apis/batch/v1/defaults.go (podReplacementPolicy), pkg/kubelet/eviction/helpers.go and
# eviction_manager.go (evictPod), pkg/kubelet/kubelet.go (rejectPod), pkg/kubelet/cm/admission,
# pkg/scheduler/framework/preemption (prepareCandidate), and kubernetes/website
# concepts/workloads/controllers/job.md ("Pod failure policy", "Terminal Job conditions",
# "Pod backoff failure policy").

DISRUPTIONS_IGNORED = {
    "rules": [
        {
            "action": "FailJob",
            "onExitCodes": {"containerName": "main", "operator": "In", "values": [42]},
        },
        {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]},
    ]
}


@pytest.mark.parametrize(
    ("code", "interim", "terminal", "reason"),
    [
        ("pass", "SuccessCriteriaMet", "Complete", "CompletionsReached"),
        ("raise SystemExit(3)", "FailureTarget", "Failed", "BackoffLimitExceeded"),
    ],
)
def test_the_terminal_condition_comes_in_a_later_update_than_the_interim_one(
    api: tuple[client.BatchV1Api, client.CoreV1Api],
    code: str,
    interim: str,
    terminal: str,
    reason: str,
) -> None:
    """1.31+ (delayTerminalCondition): syncJob writes SuccessCriteriaMet / FailureTarget in
    one status update and Complete / Failed, with the same reason, in a later one."""
    batch, _ = api
    batch.create_namespaced_job(
        NS, job_manifest("two-step", f"import time; time.sleep(0.5); {code}")
    )
    updates = job_updates(batch, "two-step")
    first_interim = next(i for i, j in enumerate(updates) if interim in condition_types(j))
    assert terminal not in condition_types(updates[first_interim])
    assert condition_types(updates[-1]) == [interim, terminal]
    assert {c.reason for c in updates[-1].status.conditions} == {reason}


def test_a_deadline_fails_the_job_only_after_its_pod_has_terminated() -> None:
    """DeadlineExceeded: FailureTarget at once, the active pod deleted with its grace period
    (deleteActivePods) and counted ``terminating``; Failed only when it is gone
    (enactJobFinished: "Delaying marking the Job as finished, because there are still
    terminating pod(s)"). The container here ignores SIGTERM, so it dies at the grace
    period's end (here capped at 2 s; a real default is 30 s) with SIGKILL."""
    ignores_sigterm = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('up', flush=True); time.sleep(60)"
    )
    with KubernetesTestCluster(grace_period_cap=2) as cluster, cluster.api_client() as api_client:
        batch = client.BatchV1Api(api_client)
        batch.create_namespaced_job(
            NS, job_manifest("stubborn", ignores_sigterm, activeDeadlineSeconds=1)
        )
        updates = job_updates(batch, "stubborn")
        target = next(j for j in updates if "FailureTarget" in condition_types(j))
        assert "Failed" not in condition_types(target)
        assert target.status.conditions[-1].reason == "DeadlineExceeded"
        terminating = [j for j in updates if j.status.terminating]
        assert terminating and all(
            "Failed" not in condition_types(j) and j.status.active is None for j in terminating
        )
        failed = updates[-1]
        assert (failed.status.terminating, failed.status.failed) == (0, 1)
        (process,) = cluster.processes().values()
        assert process.returncode == -signal.SIGKILL
        (event,) = [
            e for e in cluster.events(involved_name="stubborn") if e["reason"] == "SuccessfulDelete"
        ]
        assert event["message"].startswith("Deleted pod: stubborn-")


def _pod(
    *,
    containers: list[dict[str, Any]] | None = None,
    conditions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    status: dict[str, Any] = {"phase": "Failed"}
    if containers is not None:
        status["containerStatuses"] = containers
    if conditions is not None:
        status["conditions"] = conditions
    return {"metadata": {"namespace": "default", "name": "mypod"}, "status": status}


def _exited(code: int, name: str = "main") -> dict[str, Any]:
    return {"name": name, "state": {"terminated": {"exitCode": code}}}


_RUNNING = {"name": "main", "state": {"running": {}}}
_DISRUPTED = {"type": "DisruptionTarget", "status": "True"}


def _on_exit(action: str, operator: str, values: list[int], **extra: Any) -> dict[str, Any]:
    return {"action": action, "onExitCodes": {"operator": operator, "values": values, **extra}}


def _on_condition(
    action: str, kind: str = "DisruptionTarget", status: str = "True"
) -> dict[str, Any]:
    return {"action": action, "onPodConditions": [{"type": kind, "status": status}]}


@pytest.mark.parametrize(
    ("rules", "pod", "expected"),
    [
        # no policy at all: every failure counts
        (None, _pod(containers=[_exited(1)]), (None, True, None)),
        (
            [_on_exit("FailJob", "In", [1, 2, 3])],
            _pod(containers=[_exited(2)]),
            (
                "Container main for pod default/mypod failed with exit code 2 matching FailJob rule at index 0",
                True,
                "FailJob",
            ),
        ),
        ([_on_exit("FailJob", "In", [1, 2, 3])], _pod(containers=[_exited(4)]), (None, True, None)),
        (
            [_on_exit("Ignore", "NotIn", [1, 2, 3])],
            _pod(containers=[_exited(4)]),
            (None, False, "Ignore"),
        ),
        (
            [_on_exit("Ignore", "NotIn", [1, 2, 3])],
            _pod(containers=[_exited(2)]),
            (None, True, None),
        ),
        # exit code 0 is excluded from the check, NotIn included
        ([_on_exit("Ignore", "NotIn", [1])], _pod(containers=[_exited(0)]), (None, True, None)),
        # a container still running has no exit code to match
        ([_on_exit("FailJob", "NotIn", [1])], _pod(containers=[_RUNNING]), (None, True, None)),
        # containerName restricts the rule to that container
        (
            [_on_exit("FailJob", "In", [5], containerName="sidecar")],
            _pod(containers=[_exited(5)]),
            (None, True, None),
        ),
        (
            [_on_exit("Count", "In", [5], containerName="main")],
            _pod(containers=[_exited(5)]),
            (None, True, "Count"),
        ),
        # the first matching rule decides
        (
            [_on_condition("Ignore"), _on_exit("FailJob", "In", [137])],
            _pod(containers=[_exited(137)], conditions=[_DISRUPTED]),
            (None, False, "Ignore"),
        ),
        (
            [_on_exit("Ignore", "In", [9]), _on_condition("FailJob")],
            _pod(containers=[_exited(137)], conditions=[_DISRUPTED]),
            (
                "Pod default/mypod has condition DisruptionTarget matching FailJob rule at index 1",
                True,
                "FailJob",
            ),
        ),
        # a pattern matches type and status
        (
            [_on_condition("Ignore", status="False")],
            _pod(conditions=[_DISRUPTED]),
            (None, True, None),
        ),
        # an unknown action is skipped ("Clients should react to an unknown action by skipping the rule")
        (
            [_on_exit("UnknownAction", "In", [1]), _on_exit("Ignore", "In", [1])],
            _pod(containers=[_exited(1)]),
            (None, False, "Ignore"),
        ),
        # a pod the kubelet rejected has no container statuses: only conditions can match
        ([_on_exit("FailJob", "NotIn", [0])], _pod(), (None, True, None)),
    ],
)
def test_pod_failure_policy_rules_match_like_matchPodFailurePolicy(
    rules: list[dict[str, Any]] | None, pod: dict[str, Any], expected: tuple[Any, bool, Any]
) -> None:
    """(FailJob message, counts towards backoffLimit, action), as pod_failure_policy.go."""
    policy = None if rules is None else {"rules": rules}
    assert match_pod_failure_policy(policy, pod) == expected


def _with_policy(rules: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return job_manifest("policed", "pass", podFailurePolicy={"rules": rules}, **spec)


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        (
            _with_policy([_on_exit("Ignore", "In", [1, 0, 2])]),
            "spec.podFailurePolicy.rules[0].onExitCodes.values[1]: Invalid value: 0: must not be 0 for the In operator",
        ),
        (
            _with_policy([_on_exit("FailJob", "In", [12, 13, 13])]),
            "spec.podFailurePolicy.rules[0].onExitCodes.values[2]: Duplicate value: 13",
        ),
        (
            _with_policy([_on_exit("FailJob", "In", [19, 11])]),
            "spec.podFailurePolicy.rules[0].onExitCodes.values: Invalid value: []int32{19, 11}: must be ordered",
        ),
        (
            _with_policy([_on_exit("FailJob", "In", [])]),
            "spec.podFailurePolicy.rules[0].onExitCodes.values: Invalid value: []int32{}: at least one value is required",
        ),
        (
            _with_policy([_on_exit("FailJob", "In", [1], containerName="xyz")]),
            'spec.podFailurePolicy.rules[0].onExitCodes.containerName: Invalid value: "xyz": must be one of the container or initContainer names in the pod template',
        ),
        (
            _with_policy([_on_exit("UnknownAction", "In", [1])]),
            'spec.podFailurePolicy.rules[0].action: Unsupported value: "UnknownAction": supported values: "Count", "FailIndex", "FailJob", "Ignore"',
        ),
        (
            _with_policy([_on_exit("", "In", [1])]),
            'spec.podFailurePolicy.rules[0].action: Required value: valid values: ["Count" "FailIndex" "FailJob" "Ignore"]',
        ),
        (
            _with_policy([_on_exit("Ignore", "UnknownOperator", [1])]),
            'spec.podFailurePolicy.rules[0].onExitCodes.operator: Unsupported value: "UnknownOperator": supported values: "In", "NotIn"',
        ),
        (
            _with_policy([_on_condition("Ignore", status="UnknownStatus")]),
            'spec.podFailurePolicy.rules[0].onPodConditions[0].status: Unsupported value: "UnknownStatus": supported values: "False", "True", "Unknown"',
        ),
        (
            _with_policy([_on_condition("Ignore", kind="")]),
            'spec.podFailurePolicy.rules[0].onPodConditions[0].type: Invalid value: "": name part must be non-empty',
        ),
        (
            _with_policy([{**_on_exit("FailJob", "In", [1]), **_on_condition("FailJob")}]),
            "spec.podFailurePolicy.rules[0]: Invalid value: specifying both OnExitCodes and OnPodConditions is not supported",
        ),
        (
            _with_policy([{"action": "FailJob"}]),
            "spec.podFailurePolicy.rules[0]: Invalid value: specifying one of OnExitCodes and OnPodConditions is required",
        ),
        (
            _with_policy([_on_exit("FailJob", "In", [i + 1]) for i in range(21)]),
            "spec.podFailurePolicy.rules: Too many: 21: must have at most 20 items",
        ),
        (
            _with_policy([_on_condition("Ignore")], podReplacementPolicy="TerminatingOrFailed"),
            'spec.podReplacementPolicy: Unsupported value: "TerminatingOrFailed": supported values: "Failed"',
        ),
    ],
)
def test_an_invalid_pod_failure_policy_is_refused_like_the_apiserver(
    api: tuple[client.BatchV1Api, client.CoreV1Api], manifest: dict[str, Any], message: str
) -> None:
    """422 with validation.go's own words, one cause per problem (the cases of its
    validation_test.go, which also checks a cause, not the whole list)."""
    batch, _ = api
    with pytest.raises(ApiException) as refused:
        batch.create_namespaced_job(NS, manifest)
    assert refused.value.status == 422
    body = json.loads(refused.value.body)
    assert body["message"].startswith('Job.batch "policed" is invalid: ')
    assert message in [f"{c['field']}: {c['message']}" for c in body["details"]["causes"]]


def test_a_pod_failure_policy_needs_restart_policy_never(
    api: tuple[client.BatchV1Api, client.CoreV1Api],
) -> None:
    batch, _ = api
    manifest = _with_policy([_on_condition("Ignore")])
    manifest["spec"]["template"]["spec"]["restartPolicy"] = "OnFailure"
    with pytest.raises(ApiException) as refused:
        batch.create_namespaced_job(NS, manifest)
    assert (
        'spec.template.spec.restartPolicy: Invalid value: "OnFailure": only "Never" is supported when podFailurePolicy is specified'
        in json.loads(refused.value.body)["message"]
    )


@pytest.mark.parametrize(
    ("policy", "replacement"),
    [(None, "TerminatingOrFailed"), (DISRUPTIONS_IGNORED, "Failed")],
)
def test_pod_replacement_policy_defaults_to_failed_with_a_pod_failure_policy(
    api: tuple[client.BatchV1Api, client.CoreV1Api],
    policy: dict[str, Any] | None,
    replacement: str,
) -> None:
    """defaults.go SetDefaults_Job: a replacement waits for the old pod to be terminal, so
    the policy can read how it ended."""
    batch, _ = api
    spec = {} if policy is None else {"podFailurePolicy": policy}
    created = batch.create_namespaced_job(NS, job_manifest("defaulted", "pass", **spec))
    assert created.spec.pod_replacement_policy == replacement


def test_fail_job_rule_fails_at_once_with_the_controllers_message(
    api: tuple[client.BatchV1Api, client.CoreV1Api],
) -> None:
    """A FailJob rule on the exit code ends the Job on the first such pod, whatever the
    backoffLimit: reason PodFailurePolicy, matchPodFailurePolicy's message."""
    batch, core = api
    batch.create_namespaced_job(
        NS,
        job_manifest(
            "user-error",
            "raise SystemExit(42)",
            backoffLimit=6,
            podFailurePolicy=DISRUPTIONS_IGNORED,
        ),
    )
    job = wait_for_job(batch, "user-error")
    (pod,) = job_pods(core, "user-error")
    failed = terminal_condition(job)
    assert (failed.type, failed.reason, failed.message) == (
        "Failed",
        "PodFailurePolicy",
        f"Container main for pod default/{pod.metadata.name} failed with exit code 42 matching FailJob rule at index 0",
    )
    assert condition_types(job) == ["FailureTarget", "Failed"] and job.status.failed == 1


@pytest.mark.parametrize(
    ("policy", "outcome", "failed", "pods"),
    [
        # Ignore: the evicted pod is replaced and not counted; the retry succeeds
        (DISRUPTIONS_IGNORED, "Complete", None, 2),
        # without a policy an eviction is a failure like any other: backoffLimit 0 ends it
        (None, "Failed", 1, 1),
    ],
)
def test_an_evicted_pod_reads_as_the_kubelet_writes_it(
    k8s_cluster: KubernetesTestCluster,
    api: tuple[client.BatchV1Api, client.CoreV1Api],
    policy: dict[str, Any] | None,
    outcome: str,
    failed: int | None,
    pods: int,
) -> None:
    """Node-pressure eviction (eviction_manager.go evictPod, helpers.go messages): phase
    Failed, reason Evicted, "The node was low on resource: memory. …", DisruptionTarget
    TerminationByKubelet, the container ContainerStatusUnknown with exit code 137; only the
    first attempt here (``attempts=1``)."""
    batch, core = api
    k8s_cluster.simulate("Evicted", job="evictee", attempts=1)
    spec = {} if policy is None else {"podFailurePolicy": policy}
    batch.create_namespaced_job(
        NS, job_manifest("evictee", "import time; print('up', flush=True); time.sleep(3)", **spec)
    )
    job = wait_for_job(batch, "evictee", timeout=15)
    assert (terminal_condition(job).type, job.status.failed) == (outcome, failed)
    found = sorted(job_pods(core, "evictee"), key=lambda p: p.status.phase)
    assert len(found) == pods
    evicted = found[0]
    message = evicted.status.message
    assert (evicted.status.phase, evicted.status.reason) == ("Failed", "Evicted")
    assert message.startswith("The node was low on resource: memory. ") and message.endswith(
        "Container main was using 1948312Ki, request is 0, has larger consumption of memory. "
    )
    (target,) = [c for c in evicted.status.conditions if c.type == "DisruptionTarget"]
    assert (target.status, target.reason, target.message) == (
        "True",
        "TerminationByKubelet",
        message,
    )
    terminated = evicted.status.container_statuses[0].state.terminated
    assert (terminated.exit_code, terminated.reason) == (137, "ContainerStatusUnknown")
    assert [
        e["message"]
        for e in k8s_cluster.events(involved_name=evicted.metadata.name)
        if e["reason"] == "Evicted"
    ] == [message]


def test_a_preempted_pod_is_deleted_gracefully_and_replaced_once_terminal(
    k8s_cluster: KubernetesTestCluster,
    api: tuple[client.BatchV1Api, client.CoreV1Api],
    tmp_path: Path,
) -> None:
    """Scheduler preemption (preemption.go prepareCandidate): DisruptionTarget
    PreemptionByScheduler, a Preempted event, a graceful delete (SIGTERM: exit 143). With a
    podFailurePolicy the replacement waits until the old pod is Failed (podReplacementPolicy
    Failed), and Ignore keeps it out of ``failed``. The annotation limits the simulation to
    the first attempt."""
    batch, _ = api
    # A real kubelet waits the pod's whole grace period (30 s here); the 1 s cap of the other
    # tests let a busy machine SIGKILL a process before it was scheduled to die of SIGTERM.
    k8s_cluster.grace_period_cap = 30.0
    observed: list[tuple[str, str, str | None, bool]] = []

    def record(event: Any) -> None:
        if event.resource.kind == "Pod":
            meta, status = event.obj["metadata"], event.obj.get("status") or {}
            observed.append(
                (event.type, meta["name"], status.get("phase"), bool(meta.get("deletionTimestamp")))
            )

    k8s_cluster.store.add_listener(record)
    # The first pod runs until it is preempted, however slowly a busy machine gets there; the
    # replacement finds the first one's mark and ends soon.
    mark = tmp_path / "first-pod-ran"
    manifest = job_manifest(
        "victim",
        f"import os, time; print('up', flush=True); first = not os.path.exists({str(mark)!r}); "
        f"open({str(mark)!r}, 'w').close(); time.sleep(60 if first else 1)",
        podFailurePolicy=DISRUPTIONS_IGNORED,
    )
    manifest["metadata"]["annotations"] = {SIMULATE_KEY: "Preempted", SIMULATE_ATTEMPTS_KEY: "1"}
    batch.create_namespaced_job(NS, manifest)
    job = wait_for_job(batch, "victim", timeout=60)  # a busy machine starts pods slowly
    assert (terminal_condition(job).type, job.status.failed, job.status.succeeded) == (
        "Complete",
        None,
        1,
    )
    first, second = dict.fromkeys(name for _, name, _, _ in observed)
    conditions = [e for e in k8s_cluster.events(involved_name=first) if e["reason"] == "Preempted"]
    assert conditions and conditions[0]["source"]["component"] == "default-scheduler"
    first_failed = next(i for i, o in enumerate(observed) if o[1] == first and o[2] == "Failed")
    second_added = next(i for i, o in enumerate(observed) if o[1] == second and o[0] == "ADDED")
    assert first_failed < second_added  # never two pods at once
    assert any(o[1] == first and o[3] and o[2] == "Running" for o in observed)  # terminating
    (process,) = [p for name, p in k8s_cluster.processes().items() if name == f"default/{first}"]
    assert process.returncode == -signal.SIGTERM, k8s_cluster.signal_masks(first)


def test_a_pod_the_kubelet_rejects_has_no_container_statuses(
    k8s_cluster: KubernetesTestCluster, api: tuple[client.BatchV1Api, client.CoreV1Api]
) -> None:
    """Kubelet admission (kubelet.go rejectPod, cm/admission unexpectedAdmissionError):
    phase Failed, reason UnexpectedAdmissionError, "Pod was rejected: …", no
    containerStatuses -- no rule on exit codes or DisruptionTarget matches, so it counts."""
    batch, core = api
    k8s_cluster.simulate("AdmissionRejected", job="gpu-job")
    batch.create_namespaced_job(
        NS, job_manifest("gpu-job", "pass", podFailurePolicy=DISRUPTIONS_IGNORED)
    )
    job = wait_for_job(batch, "gpu-job")
    assert (terminal_condition(job).reason, job.status.failed) == ("BackoffLimitExceeded", 1)
    (pod,) = job_pods(core, "gpu-job")
    assert (pod.status.phase, pod.status.reason, pod.status.container_statuses) == (
        "Failed",
        "UnexpectedAdmissionError",
        None,
    )
    assert pod.status.message == (
        "Pod was rejected: Allocate failed due to no healthy devices present; cannot allocate "
        "unhealthy devices nvidia.com/gpu, which is unexpected"
    )
    assert pod.spec.node_name and {
        e["reason"] for e in k8s_cluster.events(involved_name=pod.metadata.name)
    } == {"UnexpectedAdmissionError"}


def test_replacements_wait_for_the_pod_failure_backoff() -> None:
    """backoff_utils.go: 10 s doubled per failure since the last success (capped at 10
    min), scaled here by ``pod_failure_backoff``."""
    with (
        KubernetesTestCluster(pod_failure_backoff=0.4) as cluster,
        cluster.api_client() as api_client,
    ):
        created: dict[str, float] = {}
        cluster.store.add_listener(
            lambda e: (
                created.setdefault(e.obj["metadata"]["name"], time.monotonic())
                if e.resource.kind == "Pod" and e.type == "ADDED"
                else None
            )
        )
        batch = client.BatchV1Api(api_client)
        batch.create_namespaced_job(
            NS, job_manifest("flaky", "raise SystemExit(1)", backoffLimit=2)
        )
        job = wait_for_job(batch, "flaky", timeout=15)
        assert (terminal_condition(job).reason, job.status.failed) == ("BackoffLimitExceeded", 3)
        first, second, third = sorted(created.values())
        assert second - first >= 0.4 and third - second >= 0.8


def test_kubeconfig_loads_into_the_official_client(
    k8s_cluster: KubernetesTestCluster, tmp_path: Path
) -> None:
    """Code that calls ``load_kube_config`` can be pointed at the harness too."""
    path = k8s_cluster.write_kubeconfig(tmp_path / "kubeconfig")
    with kubernetes.config.new_client_from_config(config_file=str(path)) as api_client:
        assert client.VersionApi(api_client).get_code().git_version.endswith("sqlml-test")
        assert client.CoreV1Api(api_client).list_namespaced_pod(NS).items == []


# -- admission: pods the API server refuses ---------------------------------------------------


def failed_creates(k8s_cluster: KubernetesTestCluster, job: str) -> list[dict[str, Any]]:
    """The Job controller's FailedCreate events on a Job (one per message: each retry
    names a new pod)."""
    return [e for e in k8s_cluster.events(involved_name=job) if e["reason"] == "FailedCreate"]


def test_a_missing_service_account_leaves_only_a_failed_create_event(
    k8s_cluster: KubernetesTestCluster, api: tuple[client.BatchV1Api, client.CoreV1Api]
) -> None:
    """The ServiceAccount admission plugin refuses a pod naming an account that does not
    exist (plugin/pkg/admission/serviceaccount/admission.go: "error looking up service
    account <ns>/<name>: serviceaccount "<name>" not found", wrapped by
    admission.NewForbidden). The Job controller only records it: a Warning FailedCreate
    "Error creating: <err>" on the Job (controller_utils.go createPods), no pod, no Job
    condition, and it retries with backoff, so the account appearing later unblocks it."""
    batch, core = api
    assert core.read_namespaced_service_account("default", NS).metadata.name == "default"
    manifest = job_manifest("sa", "print('ran')")
    manifest["spec"]["template"]["spec"]["serviceAccountName"] = "sqlml-steps"
    batch.create_namespaced_job(NS, manifest)
    event = k8s_cluster.wait_for(lambda: failed_creates(k8s_cluster, "sa"))[0]
    assert event["type"] == "Warning" and event["source"] == {"component": "job-controller"}
    assert event["message"].startswith('Error creating: pods "sa-')
    assert event["message"].endswith(
        "is forbidden: error looking up service account default/sqlml-steps: "
        'serviceaccount "sqlml-steps" not found'
    )
    k8s_cluster.wait_for(lambda: len(failed_creates(k8s_cluster, "sa")) >= 3)  # retried
    job = batch.read_namespaced_job("sa", NS)
    assert not job_pods(core, "sa") and job.status.active is None and not job.status.conditions

    core.create_namespaced_service_account(NS, {"metadata": {"name": "sqlml-steps"}})
    assert terminal_condition(wait_for_job(batch, "sa")).type == "Complete"


#: The message of the Pod Security docs' own example (a container with no securityContext
#: in a namespace enforcing restricted: pod-security-admission.md, "Pod Security levels").
UNRESTRICTED = (
    'violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container '
    '"main" must set securityContext.allowPrivilegeEscalation=false), unrestricted '
    'capabilities (container "main" must set securityContext.capabilities.drop=["ALL"]), '
    'runAsNonRoot != true (pod or container "main" must set securityContext.runAsNonRoot=true), '
    'seccompProfile (pod or container "main" must set securityContext.seccompProfile.type to '
    '"RuntimeDefault" or "Localhost")'
)


def relaxed(pod: dict[str, Any] | None = None, **container: Any) -> dict[str, Any]:
    """A pod spec that passes ``restricted`` except for what is given."""
    return {
        "restartPolicy": "Never",
        "securityContext": {**RESTRICTED_POD, **(pod or {})},
        "containers": [
            {
                "name": "main",
                "image": "sqlml/step:test",
                "command": [sys.executable, "-c", "pass"],
                "securityContext": {**RESTRICTED_CONTAINER, **container},
            }
        ],
    }


@pytest.mark.parametrize(
    ("spec", "violations"),
    [
        # check_*.go in pod-security-admission/policy, in the registry's order
        ({"restartPolicy": "Never", "containers": [{"name": "main", "image": "i", "command": ["x"]}]}, UNRESTRICTED.split(": ", 1)[1]),
        (relaxed(), None),
        (relaxed({"runAsNonRoot": False}), 'runAsNonRoot != true (pod must not set securityContext.runAsNonRoot=false)'),
        (relaxed({"runAsUser": 0}), "runAsUser=0 (pod must not set runAsUser=0)"),
        (relaxed(allowPrivilegeEscalation=True), 'allowPrivilegeEscalation != false (container "main" must set securityContext.allowPrivilegeEscalation=false)'),
        (relaxed(privileged=True), 'privileged (container "main" must not set securityContext.privileged=true)'),
        (relaxed({"seccompProfile": {"type": "Unconfined"}}), 'seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")'),
        (relaxed(capabilities={"drop": ["ALL"], "add": ["SYS_ADMIN"]}), 'unrestricted capabilities (container "main" must not include "SYS_ADMIN" in securityContext.capabilities.add)'),
        (relaxed(capabilities={"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}), None),
        ({**relaxed(), "hostNetwork": True, "volumes": [{"name": "host", "hostPath": {"path": "/"}}, {"name": "ok", "emptyDir": {}}]},
         'host namespaces (hostNetwork), restricted volume types (volume "host" uses restricted volume type "hostPath")'),
    ],
)  # fmt: skip
def test_pod_security_restricted_is_enforced_on_pods_with_the_upstream_message(
    spec: dict[str, Any],
    violations: str | None,
    api: tuple[client.BatchV1Api, client.CoreV1Api],
) -> None:
    """A namespace labelled ``pod-security.kubernetes.io/enforce=restricted`` (the fixture's
    ``default``) refuses a violating pod with 403 and ``violates PodSecurity
    "restricted:latest": <reason> (<detail>), …`` (admission.go EvaluatePod,
    policy/checks.go ForbiddenDetail); a namespace without the label admits it."""
    _, core = api
    labels = core.read_namespace(NS).metadata.labels
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    pod = {"metadata": {"name": "p"}, "spec": spec}
    if violations is None:
        core.create_namespaced_pod(NS, pod, dry_run="All")
    else:
        with pytest.raises(ApiException) as refused:
            core.create_namespaced_pod(NS, pod, dry_run="All")
        body = json.loads(refused.value.body)
        assert (refused.value.status, body["reason"]) == (403, "Forbidden")
        assert body["message"] == (
            f'pods "p" is forbidden: violates PodSecurity "restricted:latest": {violations}'
        )
    core.create_namespace({"metadata": {"name": "open"}})
    core.create_namespaced_pod("open", pod, dry_run="All")


def test_pod_security_refuses_a_jobs_pods_not_the_job(
    k8s_cluster: KubernetesTestCluster, api: tuple[client.BatchV1Api, client.CoreV1Api]
) -> None:
    """Enforcement applies to pods only (pod-security-admission.md, "Workload resources and
    Pod templates"): the Job is created, its pods are refused, FailedCreate says why."""
    batch, core = api
    manifest = job_manifest("psa", "pass")
    manifest["spec"]["template"]["spec"]["containers"][0].pop("securityContext")
    manifest["spec"]["template"]["spec"].pop("securityContext")
    batch.create_namespaced_job(NS, manifest)
    event = k8s_cluster.wait_for(lambda: failed_creates(k8s_cluster, "psa"))[0]
    assert event["message"].endswith(f"is forbidden: {UNRESTRICTED}")
    assert not job_pods(core, "psa")


def test_a_quota_refuses_pods_past_its_hard_limits_until_usage_drops(
    k8s_cluster: KubernetesTestCluster, api: tuple[client.BatchV1Api, client.CoreV1Api]
) -> None:
    """ResourceQuota admission (plugin/pkg/admission/resourcequota/controller.go): "exceeded
    quota: <name>, requested: …, used: …, limited: …" for the exceeded resources only, and
    "failed quota: <name>: must specify …" for an unset constrained compute resource. The
    Job controller's retries create the pod once the first pod's usage is released."""
    batch, core = api
    core.create_namespaced_resource_quota(
        NS, {"metadata": {"name": "gpu"}, "spec": {"hard": {"requests.nvidia.com/gpu": "1"}}}
    )

    def gpu_job(name: str, code: str) -> dict[str, Any]:
        manifest = job_manifest(name, code)
        container = manifest["spec"]["template"]["spec"]["containers"][0]
        container["resources"] = {"limits": {"nvidia.com/gpu": "1"}}
        return manifest

    batch.create_namespaced_job(NS, gpu_job("first", "import time; time.sleep(1.5)"))
    k8s_cluster.wait_for(lambda: job_pods(core, "first"))
    batch.create_namespaced_job(NS, gpu_job("second", "pass"))
    event = k8s_cluster.wait_for(lambda: failed_creates(k8s_cluster, "second"))[0]
    assert event["message"].endswith(
        "is forbidden: exceeded quota: gpu, requested: requests.nvidia.com/gpu=1, "
        "used: requests.nvidia.com/gpu=1, limited: requests.nvidia.com/gpu=1"
    )
    assert not job_pods(core, "second")
    assert terminal_condition(wait_for_job(batch, "second", timeout=10)).type == "Complete"

    core.create_namespaced_resource_quota(
        NS, {"metadata": {"name": "memory"}, "spec": {"hard": {"limits.memory": "1Gi"}}}
    )
    with pytest.raises(ApiException) as unset:
        core.create_namespaced_pod(NS, {"metadata": {"name": "p"}, "spec": relaxed()})
    assert json.loads(unset.value.body)["message"] == (
        'pods "p" is forbidden: failed quota: memory: must specify limits.memory for: main'
    )


# -- the kubelet: a container's environment, pods that do not start ---------------------------


def test_a_container_sees_its_image_env_and_manifest_env_only(
    k8s_cluster: KubernetesTestCluster,
    api: tuple[client.BatchV1Api, client.CoreV1Api],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Like a container runtime: the image's ENV (the fixture's: PATH and PYTHONPATH), HOME,
    HOSTNAME, the ``kubernetes`` Service's variables and the manifest's env — nothing of
    the test process's environment; the cwd is ``workingDir`` or a fresh directory."""
    batch, _ = api
    monkeypatch.setenv("SQLML_LEAK", "from the test process")
    code = (
        "import json, os; print(json.dumps({'env': sorted(os.environ), 'cwd': os.getcwd(), "
        "'files': os.listdir()}))"
    )
    batch.create_namespaced_job(NS, job_manifest("env", code, env=[{"name": "MINE", "value": "1"}]))
    wait_for_job(batch, "env")
    (pod,) = k8s_cluster.pods()
    seen = json.loads(k8s_cluster.pod_log(pod["metadata"]["name"]))
    assert set(seen["env"]) - {"LC_CTYPE"} == {  # LC_CTYPE: Python's own C-locale coercion
        "PATH", "PYTHONPATH", "HOME", "HOSTNAME", "KUBERNETES_SERVICE_HOST",
        "KUBERNETES_SERVICE_PORT", "KUBERNETES_SERVICE_PORT_HTTPS", "MINE",
    }  # fmt: skip
    assert seen["cwd"] != str(Path.cwd()) and seen["files"] == []


def test_simulated_scale_up_then_scheduled_or_not_triggered(
    k8s_cluster: KubernetesTestCluster, api: tuple[client.BatchV1Api, client.CoreV1Api]
) -> None:
    """ScaleUp: Unschedulable with cluster-autoscaler's TriggeredScaleUp event on the pod,
    then (a node joined) scheduled and run. NotTriggerScaleUp: the autoscaler declines and
    the pod stays Unschedulable. Both are Normal events from "cluster-autoscaler"
    (core/scaleup/orchestrator/orchestrator.go)."""
    batch, core = api
    batch.create_namespaced_job(NS, job_manifest("grow", "pass", labels={SIMULATE_KEY: "ScaleUp"}))
    batch.create_namespaced_job(
        NS, job_manifest("full", "pass", labels={SIMULATE_KEY: "NotTriggerScaleUp"})
    )

    def pod_events(job: str) -> dict[str, dict[str, Any]]:
        pods = job_pods(core, job)
        events = k8s_cluster.events(involved_name=pods[0].metadata.name) if pods else []
        return {e["reason"]: e for e in events}

    grow = k8s_cluster.wait_for(lambda: pod_events("grow").get("TriggeredScaleUp"))
    assert (grow["type"], grow["source"]["component"]) == ("Normal", "cluster-autoscaler")
    assert grow["message"].startswith("pod triggered scale-up: [{")
    (pending,) = job_pods(core, "grow")
    assert pending.status.phase == "Pending" and pending.spec.node_name is None
    assert terminal_condition(wait_for_job(batch, "grow", timeout=10)).type == "Complete"
    assert {"FailedScheduling", "TriggeredScaleUp", "Scheduled"} <= set(pod_events("grow"))

    declined = k8s_cluster.wait_for(lambda: pod_events("full").get("NotTriggerScaleUp"))
    assert declined["message"].startswith("pod didn't trigger scale-up")
    (full,) = job_pods(core, "full")
    assert full.status.conditions[0].reason == "Unschedulable"


def test_simulated_failed_mount_keeps_the_container_creating(
    k8s_cluster: KubernetesTestCluster, api: tuple[client.BatchV1Api, client.CoreV1Api]
) -> None:
    """FailedMount: scheduled, the container waits ``ContainerCreating`` and the kubelet
    repeats its FailedMount event (volume_manager.go WaitForAttachAndMount)."""
    batch, core = api
    manifest = job_manifest("mount", "pass", labels={SIMULATE_KEY: "FailedMount"})
    pod_spec = manifest["spec"]["template"]["spec"]
    pod_spec["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": "c"}}]

    batch.create_namespaced_job(NS, manifest)

    def mount_events() -> list[dict[str, Any]]:
        pods = job_pods(core, "mount")
        events = k8s_cluster.events(involved_name=pods[0].metadata.name) if pods else []
        return [e for e in events if e["reason"] == "FailedMount" and e["count"] >= 2]

    (event,) = k8s_cluster.wait_for(mount_events)
    assert event["message"] == (
        "Unable to attach or mount volumes: unmounted volumes=[data], unattached "
        "volumes=[data]: timed out waiting for the condition"
    )
    (pod,) = job_pods(core, "mount")
    assert pod.status.phase == "Pending"
    assert pod.status.container_statuses[0].state.waiting.reason == "ContainerCreating"


def test_create_container_config_error_is_retried_until_the_secret_exists(
    k8s_cluster: KubernetesTestCluster, api: tuple[client.BatchV1Api, client.CoreV1Api]
) -> None:
    """A missing Secret is ``CreateContainerConfigError``, which the kubelet retries on each
    pod sync (kuberuntime_container.go startContainer): the Secret created later (an
    ExternalSecrets sync) starts the container."""
    batch, core = api
    env = [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "late", "key": "token"}}}]
    batch.create_namespaced_job(
        NS, job_manifest("late", "import os; print(os.environ['TOKEN'])", env=env)
    )

    def waiting_reason() -> str | None:
        pods = job_pods(core, "late")
        statuses = pods[0].status.container_statuses if pods else None
        waiting = statuses[0].state.waiting if statuses else None
        return waiting.reason if waiting else None

    k8s_cluster.wait_for(lambda: waiting_reason() == "CreateContainerConfigError")
    time.sleep(0.5)
    assert waiting_reason() == "CreateContainerConfigError"
    core.create_namespaced_secret(NS, {"metadata": {"name": "late"}, "stringData": {"token": "t"}})
    assert terminal_condition(wait_for_job(batch, "late")).type == "Complete"
    (pod,) = job_pods(core, "late")
    assert pod_log(core, pod.metadata.name, NS) == "t\n"


def test_an_indexed_job_runs_a_pod_per_index_and_counts_completed_indexes(
    k8s_cluster: KubernetesTestCluster, api: tuple[client.BatchV1Api, client.CoreV1Api]
) -> None:
    """``completionMode: Indexed``: one pod per index, named ``<job>-<index>-…`` with the
    hostname ``<job>-<index>``, its index in the annotation, the label and
    ``JOB_COMPLETION_INDEX``; a variable naming a pod under a headless Service of the
    namespace resolves to loopback (the cluster DNS's answer here); the Job completes when
    every index has succeeded and says which in ``completedIndexes``."""
    batch, core = api
    service = core.create_namespaced_service(
        NS,
        {
            "metadata": {"name": "ranks"},
            "spec": {
                "clusterIP": "None",
                "selector": {"job-name": "ranks"},
                "ports": [{"port": 29500}],
            },
        },
    )
    assert (service.spec.cluster_ip, service.spec.ports[0].protocol) == ("None", "TCP")
    code = "import os; print(os.environ['JOB_COMPLETION_INDEX'], os.environ['PEER'], os.environ['OTHER'])"
    env = [
        {"name": "PEER", "value": "ranks-0.ranks"},
        {"name": "OTHER", "value": "ranks-0.nothing"},
    ]
    manifest = job_manifest(
        "ranks", code, env=env, completionMode="Indexed", completions=3, parallelism=3
    )
    manifest["spec"]["template"]["spec"]["subdomain"] = "ranks"
    batch.create_namespaced_job(NS, manifest)
    job = wait_for_job(batch, "ranks", timeout=20)
    assert terminal_condition(job).reason == "CompletionsReached"
    assert job.status.succeeded == 3 and job.status.completed_indexes == "0-2"
    pods = sorted(job_pods(core, "ranks"), key=lambda p: p.metadata.name)
    index = "batch.kubernetes.io/job-completion-index"
    assert [p.metadata.annotations[index] for p in pods] == ["0", "1", "2"]
    assert [p.metadata.labels[index] for p in pods] == ["0", "1", "2"]
    assert [p.spec.hostname for p in pods] == ["ranks-0", "ranks-1", "ranks-2"]
    assert all(p.metadata.name.startswith(f"ranks-{i}-") for i, p in enumerate(pods))
    logs = [pod_log(core, p.metadata.name, NS) for p in pods]
    assert logs == [f"{i} 127.0.0.1 ranks-0.nothing\n" for i in range(3)]
    core.delete_namespaced_service("ranks", NS)
    assert core.list_namespaced_service(NS).items == []
