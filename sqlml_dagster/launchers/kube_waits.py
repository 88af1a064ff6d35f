"""How long a step's Job may wait before its container runs, and what ends the wait.

A Job can sit still for ever without failing: its pods refused by admission (the only trace
a ``FailedCreate`` event), a pod nobody can schedule, a Secret that is not there yet, a
volume that will not mount. Some of these waits end by themselves — a cluster autoscaler
adding a node, an ExternalSecrets sync creating the Secret, a big image being pulled — so
each gets its own patience, and the events say which it is (:mod:`.kube_events`):

=============================  ==========================================================
what the launcher sees          when the step fails
=============================  ==========================================================
no pod, ``FailedCreate``        after ``failed_create_timeout_seconds`` of refusals (its
                                ``count`` risen since the last pod was seen)
no pod at all                   after ``start_timeout_seconds`` (from the Job's first look,
                                or from when its last pod went)
pod ``Unschedulable``           after ``unschedulable_timeout_seconds`` without a scale-up
                                in progress (``TriggeredScaleUp`` resets it; a later
                                ``NotTriggerScaleUp`` is quoted)
``ErrImagePull`` & co.          after ``image_pull_timeout_seconds``
``CreateContainerConfigError``  after ``config_error_timeout_seconds`` (the kubelet
/ ``CreateContainerError``      retries: a Secret created meanwhile starts the pod)
``ContainerCreating`` or an     after ``container_creating_timeout_seconds``, not counting
unknown waiting reason          an image pull in progress; quotes ``FailedMount`` events
pod not running                 after ``start_timeout_seconds`` in any case
=============================  ==========================================================

Everything here is a pure decision over what was seen and when (``first_seen``, a clock
reading), so the launcher only has to look and act.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .kube_events import (
    FAILED_CREATE,
    MOUNT_FAILURES,
    NOT_TRIGGERED_SCALE_UP,
    PULLED,
    PULLING,
    TRIGGERED_SCALE_UP,
    ClusterEvent,
    latest,
    latest_warning,
)

#: Waiting reasons of an image that does not arrive.
IMAGE_PULL_REASONS = ("ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull")
#: Waiting reasons the kubelet retries: a missing Secret/ConfigMap, a runtime hiccup.
CONFIG_REASONS = ("CreateContainerConfigError", "CreateContainerError")
#: Phases in which the container has started (or ended): no start wait applies any more.
STARTED_PHASES = ("Running", "Succeeded", "Failed")


@dataclass(frozen=True)
class Patience:
    """How long each kind of wait may last, in seconds (KubernetesSettings)."""

    start_timeout_seconds: float
    failed_create_timeout_seconds: float
    unschedulable_timeout_seconds: float
    image_pull_timeout_seconds: float
    config_error_timeout_seconds: float
    container_creating_timeout_seconds: float


@dataclass(frozen=True)
class Stuck:
    """A wait that is over: the step fails with ``reason`` (an event's or a waiting reason)
    and ``message`` (the cluster's own words), naming ``pod`` when there is one."""

    reason: str
    message: str
    pod: str | None = None


@dataclass(frozen=True)
class EventSource:
    """Reads events when a decision needs them: the Job's, or one pod's (oldest first)."""

    job: Callable[[], list[ClusterEvent]]
    pod: Callable[[str], list[ClusterEvent]]


def stuck(
    pods: Sequence[Any],
    first_seen: dict[str, float],
    now: float,
    patience: Patience,
    events: EventSource,
) -> Stuck | None:
    """Whether the Job's wait for a running container is over, given its pods now
    (``V1Pod``s) and ``first_seen``: when each waiting state was first seen, kept by the
    caller across looks and updated here."""
    if not pods:
        return _no_pod(first_seen, now, patience, events)
    # A pod exists. A later time without one (a pod evicted, preempted or failed, its
    # replacement not created yet) is a wait of its own, not the rest of this one.
    first_seen.pop("job", None)
    first_seen.pop("job/FailedCreate", None)
    first_seen["job/had-pod"] = now
    for pod in pods:
        found = _pending(pod, first_seen, now, patience, events)
        if found is not None:
            return found
    return None


def _waited(first_seen: dict[str, float], key: str, now: float) -> float:
    return now - first_seen.setdefault(key, now)


def _no_pod(
    first_seen: dict[str, float], now: float, patience: Patience, events: EventSource
) -> Stuck | None:
    """No pod exists: the API server refuses it (FailedCreate), or it is not created yet.
    The API server merges repeated refusals into one Event whose ``count`` rises, so a
    refusal is this wait's only if the count rose after the last pod was seen: one from
    before an earlier pod (a quota that freed up) is history."""
    job_events = events.job()
    refused = latest(job_events, FAILED_CREATE)
    refusals = float(refused.count) if refused is not None else 0.0
    if "job" not in first_seen:  # the wait begins
        first_seen["job"] = now
        if "job/had-pod" in first_seen:
            first_seen["job/refusals-before"] = refusals
    if (
        refused is not None
        and refusals > first_seen.get("job/refusals-before", 0.0)
        and _waited(first_seen, "job/FailedCreate", now) >= patience.failed_create_timeout_seconds
    ):
        return Stuck(FAILED_CREATE, refused.message)
    if now - first_seen["job"] >= patience.start_timeout_seconds:
        warning = latest_warning(job_events)
        return Stuck(
            "StartTimeout",
            f"no pod was created within {patience.start_timeout_seconds:g}s"
            + (f"; {warning.describe()}" if warning else ""),
        )
    return None


def _pending(
    pod: Any, first_seen: dict[str, float], now: float, patience: Patience, events: EventSource
) -> Stuck | None:
    if pod.status is None or pod.status.phase in STARTED_PHASES:
        return None
    look = _PodLook(pod, first_seen, now, patience, events)
    return look.unschedulable() or look.waiting() or look.not_started()


class _PodLook:
    """One look at one pending pod; reads its events at most once, and only if needed."""

    def __init__(
        self,
        pod: Any,
        first_seen: dict[str, float],
        now: float,
        patience: Patience,
        events: EventSource,
    ):
        self.pod = pod
        self.name: str = pod.metadata.name
        self.first_seen = first_seen
        self.now = now
        self.patience = patience
        self.source = events
        self._events: list[ClusterEvent] | None = None

    @property
    def events(self) -> list[ClusterEvent]:
        if self._events is None:
            self._events = self.source.pod(self.name)
        return self._events

    def waited(self, key: str) -> float:
        return _waited(self.first_seen, key, self.now)

    def unschedulable(self) -> Stuck | None:
        """``PodScheduled=False/Unschedulable``: counts only while no scale-up is in
        progress."""
        key = f"{self.name}/Unschedulable"
        condition = next(
            (
                c
                for c in self.pod.status.conditions or []
                if c.type == "PodScheduled" and c.status == "False" and c.reason == "Unschedulable"
            ),
            None,
        )
        if condition is None:
            self.first_seen.pop(key, None)
            return None
        autoscaler = latest(self.events, TRIGGERED_SCALE_UP, NOT_TRIGGERED_SCALE_UP)
        if autoscaler is not None and autoscaler.reason == TRIGGERED_SCALE_UP:
            self.first_seen.pop(key, None)  # a node is coming: the start timeout bounds it
            return None
        if self.waited(key) < self.patience.unschedulable_timeout_seconds:
            return None
        scheduler = condition.message or ""
        if autoscaler is not None:
            return Stuck(NOT_TRIGGERED_SCALE_UP, f"{autoscaler.message}; {scheduler}", self.name)
        return Stuck("Unschedulable", scheduler, self.name)

    def waiting(self) -> Stuck | None:
        """A container waiting to start, each reason with its own patience."""
        for status in self.pod.status.container_statuses or []:
            waiting = status.state.waiting if status.state else None
            if waiting is None or not waiting.reason:
                continue
            reason = waiting.reason
            key = f"{self.name}/{reason}"
            if reason in IMAGE_PULL_REASONS:
                limit = self.patience.image_pull_timeout_seconds
            elif reason in CONFIG_REASONS:
                limit = self.patience.config_error_timeout_seconds
            else:  # ContainerCreating, PodInitializing, anything new
                pull = latest(self.events, PULLING, PULLED)
                if pull is not None and pull.reason == PULLING:
                    self.first_seen[key] = self.now  # a slow pull is progress
                    continue
                limit = self.patience.container_creating_timeout_seconds
            if self.waited(key) < limit:
                continue
            message = waiting.message or f"not started after {limit:g}s"
            if reason not in IMAGE_PULL_REASONS + CONFIG_REASONS:
                mount = latest(self.events, *MOUNT_FAILURES)
                if mount is not None:
                    message = f"{message}; {mount.describe()}"
            return Stuck(reason, message, self.name)
        return None

    def not_started(self) -> Stuck | None:
        """Whatever it waits for, a pod not running after the start timeout fails."""
        if self.waited(self.name) < self.patience.start_timeout_seconds:
            return None
        warning = latest_warning(self.events)
        return Stuck(
            "StartTimeout",
            f"the pod did not start within {self.patience.start_timeout_seconds:g}s"
            + (f"; {warning.describe()}" if warning else ""),
            self.name,
        )
