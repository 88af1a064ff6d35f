"""A step's pods as the Kubernetes launcher reads them: which one to look at, and what a
failed one says about itself.

A Job may have several pods. A pod the cluster took away -- evicted by a kubelet short of
memory, preempted by the scheduler for a higher-priority pod -- is replaced when the Job's
``podFailurePolicy`` ignores it (:func:`default_pod_failure_policy`), and the replacement
gets a random name: a list comes back in name order, not in the order the pods were
created. So the launcher follows the newest pod that still runs, skips pods being deleted,
and explains a failure from the newest pod that failed -- in the pod's own terms: an
eviction, a preemption or a kubelet that refused the pod is said as such, not as the
``exit code 137`` or ``phase Failed`` it also leaves behind.

Everything here reads the official client's models (``V1Pod``), never the API.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from ..contract import USER_ERROR_EXIT_CODE

#: The condition a pod gets when something other than its program ends it
#: (core/v1 types.go ``DisruptionTarget``); podFailurePolicy rules can match it.
DISRUPTION_TARGET = "DisruptionTarget"
#: What each ``DisruptionTarget`` reason means, in the words a failure message uses
#: (core/v1 types.go ``PodReason*``).
DISRUPTIONS = {
    "PreemptionByScheduler": "preempted by the scheduler for a higher-priority pod",
    "TerminationByKubelet": "terminated by the kubelet",
    "EvictionByEvictionAPI": "evicted through the Eviction API (a node drain)",
    "DeletionByTaintManager": "deleted by the taint manager (a NoExecute taint on its node)",
    "DeletionByPodGC": "deleted by the pod garbage collector (its node is gone)",
}
_EPOCH = datetime.min.replace(tzinfo=timezone.utc)


def default_pod_failure_policy(container: str) -> dict[str, Any]:
    """The Job's default ``podFailurePolicy``, in Kubernetes' own shape.

    Rules match in order: the runtime's user-error exit status fails the Job at once (a
    retry runs the same spec into the same error, whatever ``backoffLimit`` allows); a pod
    the cluster disrupted (eviction, preemption, a drain) is replaced without counting
    against ``backoffLimit``. Every other failure -- a crash, an OOM kill, a kubelet that
    refused the pod -- counts as before."""
    return {
        "rules": [
            {
                "action": "FailJob",
                "onExitCodes": {
                    "containerName": container,
                    "operator": "In",
                    "values": [USER_ERROR_EXIT_CODE],
                },
            },
            {
                "action": "Ignore",
                "onPodConditions": [{"type": DISRUPTION_TARGET, "status": "True"}],
            },
        ]
    }


def is_finished(pod: Any) -> bool:
    """The pod has ended (Succeeded or Failed): nothing more will run in it."""
    return pod.status is not None and pod.status.phase in ("Succeeded", "Failed")


def is_terminating(pod: Any) -> bool:
    """The pod is being deleted: its container may still run out its grace period, but the
    Job has given up on it (a preemption, a deadline, a deleted Job)."""
    return pod.metadata.deletion_timestamp is not None and not is_finished(pod)


def newest(pods: Iterable[Any]) -> Any | None:
    """The pod created last. ``creationTimestamp`` has one-second precision, so a pod
    that still runs wins a tie over one that ended (a replacement runs after the pod it
    replaces)."""

    def created(pod: Any) -> tuple[datetime, bool]:
        return (pod.metadata.creation_timestamp or _EPOCH, not is_finished(pod))

    return max(pods, key=created, default=None)


def current(pods: Sequence[Any]) -> Any | None:
    """The pod to follow: the newest that neither ended nor is being deleted, else the
    newest of all (a step that already finished)."""
    live = [p for p in pods if not is_finished(p) and not is_terminating(p)]
    return newest(live) or newest(pods)


def to_explain(pods: Sequence[Any]) -> Any | None:
    """The pod a failure is explained from: the newest that failed, else the newest."""
    return newest(p for p in pods if p.status is not None and p.status.phase == "Failed") or (
        newest(pods)
    )


def disruption(pod: Any) -> Any | None:
    """The pod's true ``DisruptionTarget`` condition: the cluster, not the step, ended it."""
    for condition in (pod.status.conditions if pod.status else None) or []:
        if condition.type == DISRUPTION_TARGET and condition.status == "True":
            return condition
    return None


def explain(pod: Any) -> str:
    """What the pod says about why it stopped, pod-level facts first: an eviction, a
    preemption or a refusal by the kubelet; else its container's end (an OOM kill, an exit
    code, the runtime's user error) or why it waits."""
    status = pod.status
    if status is None:
        return "pod has no status yet"
    if status.reason == "Evicted":  # node pressure (before 1.26 without a DisruptionTarget)
        return "pod evicted by the kubelet" + (
            f": {status.message.strip()}" if status.message else ""
        )
    disrupted = disruption(pod)
    if disrupted is not None:  # a preemption, a drain, a node shutdown, …
        what = DISRUPTIONS.get(disrupted.reason or "", f"disrupted ({disrupted.reason})")
        detail = disrupted.message or status.message
        return f"pod {what}" + (f": {detail.strip()}" if detail else "")
    if status.phase == "Failed" and status.reason and not status.container_statuses:
        return (
            f"pod rejected by the kubelet on node {pod.spec.node_name if pod.spec else '?'} "
            f"({status.reason}): {status.message or 'no message'}"
        )
    if status.reason and status.phase == "Failed":  # a node shutdown, …
        container = _container(status)
        return f"pod {status.reason}: {status.message or ''}".rstrip(": ") + (
            f"; {container}" if container else ""
        )
    container = _container(status)
    if container:
        return container
    if is_terminating(pod):
        return "pod being deleted"
    return f"pod phase {status.phase}"


def _container(status: Any) -> str:
    for container in status.container_statuses or []:
        state = container.state
        terminated = state.terminated if state else None
        if terminated is not None:
            text = f"container {terminated.reason or 'terminated'} with exit code {terminated.exit_code}"
            if terminated.exit_code == USER_ERROR_EXIT_CODE:
                text += " (the runtime's user-error exit code)"
            if terminated.message:
                text += f": {terminated.message.strip()}"
            return text
        waiting = state.waiting if state else None
        if waiting is not None and waiting.reason:
            return f"container waiting: {waiting.reason}"
    return ""
