"""Which of a Job's pods the launcher reads, and how it words a failed pod: tables over the
official client's own models, in the shapes the kubelet, the scheduler and the Job
controller write them (pkg/kubelet/eviction/helpers.go, kubelet.go rejectPod,
nodeshutdown, preemption.go; core/v1 types.go's DisruptionTarget reasons)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from kubernetes.client import (
    V1ContainerState,
    V1ContainerStateRunning,
    V1ContainerStateTerminated,
    V1ContainerStateWaiting,
    V1ContainerStatus,
    V1ObjectMeta,
    V1Pod,
    V1PodCondition,
    V1PodSpec,
    V1PodStatus,
)

from sqlml_dagster.launchers import kube_pods

EVICTED = (
    "The node was low on resource: memory. Threshold quantity: 100Mi, available: 51200Ki. "
    "Container step was using 1948312Ki, request is 1Gi, has larger consumption of memory. "
)


def pod(
    name: str = "p",
    *,
    created: int = 0,
    phase: str = "Running",
    deleting: bool = False,
    reason: str | None = None,
    message: str | None = None,
    disruption: tuple[str, str] | None = None,
    terminated: tuple[str, int, str | None] | None = None,
    waiting: str | None = None,
) -> V1Pod:
    """A pod as the API serves it; ``created`` in seconds after an arbitrary minute."""
    state = None
    if terminated is not None:
        why, code, text = terminated
        state = V1ContainerState(
            terminated=V1ContainerStateTerminated(reason=why, exit_code=code, message=text)
        )
    elif waiting is not None:
        state = V1ContainerState(waiting=V1ContainerStateWaiting(reason=waiting))
    statuses = (
        [
            V1ContainerStatus(
                name="step", image="i", image_id="", ready=False, restart_count=0, state=state
            )
        ]
        if state is not None
        else None
    )
    conditions = [V1PodCondition(type="PodScheduled", status="True")]
    if disruption is not None:
        conditions.append(
            V1PodCondition(
                type="DisruptionTarget", status="True", reason=disruption[0], message=disruption[1]
            )
        )
    return V1Pod(
        metadata=V1ObjectMeta(
            name=name,
            creation_timestamp=datetime(2025, 1, 1, 12, 0, created, tzinfo=timezone.utc),
            deletion_timestamp=datetime(2025, 1, 1, 12, 1, tzinfo=timezone.utc)
            if deleting
            else None,
        ),
        spec=V1PodSpec(containers=[], node_name="gpu-node-7"),
        status=V1PodStatus(
            phase=phase,
            reason=reason,
            message=message,
            conditions=conditions,
            container_statuses=statuses,
        ),
    )


@pytest.mark.parametrize(
    ("pods", "current", "to_explain"),
    [
        # replacement pods get random names: creation order, not name order
        ([pod("zz", created=1, phase="Failed"), pod("aa", created=9)], "aa", "zz"),
        # a pod being deleted (preempted, its grace period running) is not followed
        ([pod("aa", created=1, deleting=True), pod("bb", created=2, phase="Pending")], "bb", "bb"),
        # … even when it is the newest: the older pod that still runs is
        ([pod("bb", created=1, phase="Pending"), pod("aa", created=2, deleting=True)], "bb", "aa"),
        # one-second timestamps: a running replacement wins a tie with the pod it replaced
        ([pod("bb", created=3), pod("aa", created=3, phase="Failed")], "bb", "aa"),
        # all ended: the newest, and the newest failure
        ([pod("aa", created=1, phase="Failed"), pod("bb", created=2, phase="Succeeded")], "bb", "aa"),
        # a pod that succeeded has ended too: the running one is followed, even listed after it
        ([pod("aa", created=3, phase="Succeeded"), pod("bb", created=3)], "bb", "bb"),
        ([], None, None),
    ],
)  # fmt: skip
def test_the_newest_pod_is_followed_and_the_newest_failure_explained(
    pods: list[V1Pod], current: str | None, to_explain: str | None
) -> None:
    def name(p: Any) -> str | None:
        return p.metadata.name if p is not None else None

    assert (name(kube_pods.current(pods)), name(kube_pods.to_explain(pods))) == (
        current,
        to_explain,
    )


def without_spec(p: V1Pod) -> V1Pod:
    p.spec = None
    return p


def with_states(p: V1Pod, state: V1ContainerState | None) -> V1Pod:
    """``p`` with one container in ``state`` (``None``: the API has not reported one)."""
    p.status.container_statuses = [
        V1ContainerStatus(
            name="step", image="i", image_id="", ready=False, restart_count=0, state=state
        )
    ]
    return p


@pytest.mark.parametrize(
    ("failed", "explained"),
    [
        # node-pressure eviction: the kubelet's message, not the 137 it also leaves
        (
            pod(phase="Failed", reason="Evicted", message=EVICTED, disruption=("TerminationByKubelet", EVICTED),
                terminated=("ContainerStatusUnknown", 137, "The container could not be located when the pod was terminated")),
            "pod evicted by the kubelet: " + EVICTED.strip(),
        ),
        (
            pod(deleting=True, disruption=("PreemptionByScheduler", "default-scheduler: preempting to accommodate a higher priority pod")),
            "pod preempted by the scheduler for a higher-priority pod: default-scheduler: preempting to accommodate a higher priority pod",
        ),
        (
            pod(phase="Failed", disruption=("EvictionByEvictionAPI", "Eviction API: evicting"), terminated=("Error", 143, None)),
            "pod evicted through the Eviction API (a node drain): Eviction API: evicting",
        ),
        (
            pod(phase="Failed", reason="Terminated", message="Pod was terminated in response to imminent node shutdown.",
                disruption=("TerminationByKubelet", "Pod was terminated in response to imminent node shutdown.")),
            "pod terminated by the kubelet: Pod was terminated in response to imminent node shutdown.",
        ),
        # a refusal at kubelet admission: no container ever existed
        (
            pod(phase="Failed", reason="UnexpectedAdmissionError",
                message="Pod was rejected: Allocate failed due to no healthy devices present; cannot allocate unhealthy devices nvidia.com/gpu, which is unexpected"),
            "pod rejected by the kubelet on node gpu-node-7 (UnexpectedAdmissionError): Pod was rejected: Allocate failed due to no healthy devices present; cannot allocate unhealthy devices nvidia.com/gpu, which is unexpected",
        ),
        (
            pod(phase="Failed", reason="OutOfcpu", message="Pod was rejected: Node didn't have enough resource: cpu, requested: 4000, used: 100, capacity: 2000"),
            "pod rejected by the kubelet on node gpu-node-7 (OutOfcpu): Pod was rejected: Node didn't have enough resource: cpu, requested: 4000, used: 100, capacity: 2000",
        ),
        # the container's own end
        (pod(phase="Failed", terminated=("Error", 65, None)), "container Error with exit code 65 (the runtime's user-error exit code)"),
        (pod(phase="Failed", terminated=("OOMKilled", 137, None)), "container OOMKilled with exit code 137"),
        (
            pod(phase="Failed", terminated=("StartError", 128, 'exec: "python": executable file not found in $PATH')),
            'container StartError with exit code 128: exec: "python": executable file not found in $PATH',
        ),
        (pod(phase="Failed", terminated=(None, 1, None)), "container terminated with exit code 1"),
        (pod(phase="Pending", waiting="ImagePullBackOff"), "container waiting: ImagePullBackOff"),
        (pod(deleting=True), "pod being deleted"),
        (pod(phase="Pending"), "pod phase Pending"),
        # what is missing is said as missing, never a crash on a None
        (V1Pod(metadata=V1ObjectMeta(name="p")), "pod has no status yet"),
        (pod(phase="Failed", reason="Evicted"), "pod evicted by the kubelet"),
        (pod(disruption=("SomeFutureReason", None)), "pod disrupted (SomeFutureReason)"),
        (
            without_spec(pod(phase="Failed", reason="OutOfcpu")),
            "pod rejected by the kubelet on node ? (OutOfcpu): no message",
        ),
        # a pod-level end without a DisruptionTarget (a node shutdown on an older kubelet):
        # the pod's reason first, then its container's
        (
            pod(phase="Failed", reason="Terminated", message="Pod was terminated in response to imminent node shutdown.",
                terminated=("Error", 143, None)),
            "pod Terminated: Pod was terminated in response to imminent node shutdown.; container Error with exit code 143",
        ),
        (pod(phase="Failed", reason="Shutdown", terminated=("Error", 143, None)), "pod Shutdown; container Error with exit code 143"),
        # the pod's message is shown to its last character
        (
            pod(phase="Failed", reason="Preempting", message="Preempted by a pod of priority class GPU-MAX",
                terminated=("Error", 143, None)),
            "pod Preempting: Preempted by a pod of priority class GPU-MAX; container Error with exit code 143",
        ),
        (with_states(pod(phase="Failed", reason="Shutdown", message="gone"), V1ContainerState()), "pod Shutdown: gone"),
        # a container that runs, or whose state the API has not filled in yet
        (with_states(pod(), V1ContainerState(running=V1ContainerStateRunning())), "pod phase Running"),
        (with_states(pod(phase="Pending"), None), "pod phase Pending"),
    ],
)  # fmt: skip
def test_a_failed_pod_is_explained_in_its_own_terms(failed: V1Pod, explained: str) -> None:
    assert kube_pods.explain(failed) == explained


def test_only_a_true_disruption_target_is_a_disruption() -> None:
    assert kube_pods.disruption(pod(disruption=("PreemptionByScheduler", "x"))) is not None
    assert kube_pods.disruption(pod(phase="Failed", terminated=("Error", 1, None))) is None
    assert kube_pods.disruption(V1Pod(metadata=V1ObjectMeta(name="p"))) is None  # no status yet
