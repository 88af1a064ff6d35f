"""The launcher's waits before a container runs (``kube_waits``), as a table: what the
pod and its events show from the start, and when — on a clock that only this test moves —
the step fails, with which reason. The same decisions run against the test API server in
``test_launcher_waits.py``."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from kubernetes.client import (
    V1ContainerState,
    V1ContainerStateWaiting,
    V1ContainerStatus,
    V1ObjectMeta,
    V1Pod,
    V1PodCondition,
    V1PodStatus,
)

from sqlml_dagster.launchers.kube_events import ClusterEvent
from sqlml_dagster.launchers.kube_waits import EventSource, Patience, Stuck, stuck

#: The launcher's defaults (KubernetesSettings).
DEFAULTS = Patience(
    start_timeout_seconds=1800,
    failed_create_timeout_seconds=60,
    unschedulable_timeout_seconds=300,
    image_pull_timeout_seconds=120,
    config_error_timeout_seconds=60,
    container_creating_timeout_seconds=600,
)


def pod(phase: str = "Pending", waiting: str | None = None, unschedulable: bool = False) -> V1Pod:
    conditions = (
        [V1PodCondition(type="PodScheduled", status="False", reason="Unschedulable",
                        message="0/3 nodes are available: 3 Insufficient nvidia.com/gpu.")]
        if unschedulable else []
    )  # fmt: skip
    statuses = (
        [V1ContainerStatus(name="step", image="i", image_id="", ready=False, restart_count=0,
                           state=V1ContainerState(waiting=V1ContainerStateWaiting(reason=waiting, message=None)))]
        if waiting else None
    )  # fmt: skip
    return V1Pod(
        metadata=V1ObjectMeta(name="job-abcde"),
        status=V1PodStatus(phase=phase, conditions=conditions, container_statuses=statuses),
    )


def event(reason: str, message: str = "", kind: str = "Normal") -> ClusterEvent:
    return ClusterEvent(reason=reason, message=message or reason.lower(), type=kind)


REFUSED = event(
    "FailedCreate", 'Error creating: pods "job-abcde" is forbidden: exceeded quota', "Warning"
)
MOUNT = event(
    "FailedMount", "Unable to attach or mount volumes: unmounted volumes=[data]", "Warning"
)
SCALE_UP = event("TriggeredScaleUp", "pod triggered scale-up: [{gpu 0->1 (max: 4)}]")
NO_SCALE_UP = event(
    "NotTriggerScaleUp", "pod didn't trigger scale-up: 1 max node group size reached"
)


def first_failure(
    pods: list[V1Pod], events: list[ClusterEvent], until: float = 4000
) -> tuple[float, Stuck] | None:
    """Look every 10 s from 0 to ``until``: the first look that ends the wait."""
    first_seen: dict[str, float] = {}
    source = EventSource(job=lambda: list(events), pod=lambda name: list(events))
    for now in range(0, int(until) + 1, 10):
        found = stuck(pods, first_seen, float(now), DEFAULTS, source)
        if found is not None:
            return float(now), found
    return None


@pytest.mark.parametrize(
    ("pods", "events", "fails_at", "reason", "says"),
    [
        # no pod: FailedCreate for a minute; nothing at all for the start timeout
        ([], [REFUSED], 60, "FailedCreate", "exceeded quota"),
        ([], [], 1800, "StartTimeout", "no pod was created within 1800s"),
        # scheduling: a scale-up in progress waits; an autoscaler that declines is quoted
        ([pod(unschedulable=True)], [], 300, "Unschedulable", "3 Insufficient nvidia.com/gpu"),
        ([pod(unschedulable=True)], [SCALE_UP], 1800, "StartTimeout", "did not start within 1800s"),
        ([pod(unschedulable=True)], [SCALE_UP, NO_SCALE_UP], 300, "NotTriggerScaleUp", "max node group size reached; 0/3 nodes"),
        # containers: each waiting reason its patience
        ([pod(waiting="ErrImagePull")], [], 120, "ErrImagePull", ""),
        ([pod(waiting="CreateContainerConfigError")], [], 60, "CreateContainerConfigError", ""),
        ([pod(waiting="CreateContainerError")], [], 60, "CreateContainerError", ""),
        ([pod(waiting="ContainerCreating")], [MOUNT], 600, "ContainerCreating", "FailedMount: Unable to attach"),
        ([pod(waiting="SomethingNew")], [], 600, "SomethingNew", "not started after 600s"),
        ([pod(waiting="ContainerCreating")], [event("Pulling")], 1800, "StartTimeout", "did not start"),
        ([pod(waiting="ContainerCreating")], [event("Pulling"), event("Pulled")], 600, "ContainerCreating", ""),
        # running (or done): no wait applies
        ([pod("Running")], [REFUSED, MOUNT], None, None, None),
        ([pod("Succeeded")], [], None, None, None),
    ],
)  # fmt: skip
def test_when_a_wait_ends_the_step(
    pods: list[V1Pod],
    events: list[ClusterEvent],
    fails_at: float | None,
    reason: str | None,
    says: Any,
) -> None:
    found = first_failure(pods, events)
    if fails_at is None:
        assert found is None
        return
    assert found is not None
    at, verdict = found
    assert (at, verdict.reason) == (fails_at, reason)
    assert says in verdict.message
    assert verdict.pod == (pods[0].metadata.name if pods else None)


def test_a_pod_appearing_ends_the_failed_create_wait() -> None:
    """FailedCreate counts only while no pod exists: a refusal the controller's retry got
    past (a quota freed, an account created) starts over if the pod goes again and the
    refusals come back — the API server's one merged Event, its ``count`` rising."""
    refusals = [REFUSED]
    first_seen: dict[str, float] = {}
    source = EventSource(job=lambda: list(refusals), pod=lambda name: [])
    assert stuck([], first_seen, 0.0, DEFAULTS, source) is None
    assert stuck([pod("Running")], first_seen, 50.0, DEFAULTS, source) is None
    assert stuck([], first_seen, 100.0, DEFAULTS, source) is None
    refusals[0] = dataclasses.replace(REFUSED, count=2)  # refused again
    assert stuck([], first_seen, 110.0, DEFAULTS, source) is None
    assert stuck([], first_seen, 170.0, DEFAULTS, source) == Stuck("FailedCreate", REFUSED.message)


def test_a_gap_between_pods_is_a_wait_of_its_own() -> None:
    """A pod that ran for hours and went (evicted, preempted, failed) leaves the Job without
    a pod until the controller creates the next: neither the start timeout counted from
    the Job's first look nor a refusal from before the first pod ends the step then."""
    first_seen: dict[str, float] = {}
    source = EventSource(job=lambda: [REFUSED], pod=lambda name: [])
    assert stuck([], first_seen, 0.0, DEFAULTS, source) is None  # refused at first…
    assert stuck([pod("Running")], first_seen, 30.0, DEFAULTS, source) is None  # …then ran
    assert stuck([pod("Running")], first_seen, 7200.0, DEFAULTS, source) is None
    for now in (7210.0, 7300.0, 7200.0 + 1799):
        assert stuck([], first_seen, now, DEFAULTS, source) is None
    found = stuck([], first_seen, 7210.0 + 1800, DEFAULTS, source)
    assert found is not None and found.reason == "StartTimeout"


def test_a_refusal_that_first_appears_after_a_pod_went_fails_the_step_after_a_minute() -> None:
    """A pod ran and went with no refusal on record; the controller's next pod is then
    refused (a quota another team filled meanwhile): that refusal is this gap's own, so the
    step fails on it after ``failed_create_timeout_seconds``, not at the start timeout."""
    first_seen: dict[str, float] = {}
    job_events: list[ClusterEvent] = []
    source = EventSource(job=lambda: list(job_events), pod=lambda name: [])
    assert stuck([pod("Running")], first_seen, 0.0, DEFAULTS, source) is None
    assert stuck([], first_seen, 100.0, DEFAULTS, source) is None  # gone, nothing refused
    job_events.append(REFUSED)  # its first refusal: count 1
    assert stuck([], first_seen, 110.0, DEFAULTS, source) is None
    assert stuck([], first_seen, 170.0, DEFAULTS, source) == Stuck("FailedCreate", REFUSED.message)


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ([], "no pod was created within 1800s"),
        (
            [event("PolicyWarning", "admission webhook warned: image has no digest", "Warning")],
            "no pod was created within 1800s; "
            "PolicyWarning: admission webhook warned: image has no digest",
        ),
    ],
)
def test_a_job_that_never_gets_a_pod_times_out_quoting_its_latest_warning(
    events: list[ClusterEvent], message: str
) -> None:
    found = first_failure([], events)
    assert found == (1800.0, Stuck("StartTimeout", message))
