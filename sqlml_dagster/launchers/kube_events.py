"""What the cluster says about a Job or a pod that is not running: its Events.

Much of what stops a step before its container starts is written nowhere but in Events. A
pod the API server refuses (a quota, Pod Security, a missing ServiceAccount, a webhook)
never exists: the Job controller records a Warning ``FailedCreate`` "Error creating: …" on
the Job and tries again (``controller_utils.go``, ``createPods``); a volume that will not
mount leaves the container ``ContainerCreating`` with the kubelet's ``FailedMount`` events;
a cluster autoscaler announces ``TriggeredScaleUp`` or ``NotTriggerScaleUp`` on a pending
pod. The launcher reads these to decide how long to wait and to name the cause.

Needs ``list`` on ``events`` (docs/kubernetes.md, RBAC); without it the launcher still
times out, only with less to say.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

#: The Job controller's reason for a pod the API server refused.
FAILED_CREATE = "FailedCreate"
#: cluster-autoscaler's reasons on a pending pod (core/scaleup/orchestrator).
TRIGGERED_SCALE_UP = "TriggeredScaleUp"
NOT_TRIGGERED_SCALE_UP = "NotTriggerScaleUp"
#: The kubelet's reasons for volumes that will not attach or mount.
MOUNT_FAILURES = ("FailedMount", "FailedAttachVolume")
#: The kubelet pulling an image: a slow pull is progress, not a stuck container.
PULLING, PULLED = "Pulling", "Pulled"

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


@dataclass(frozen=True)
class ClusterEvent:
    """One Event, reduced to what a failure message needs."""

    reason: str
    message: str
    type: str = "Normal"
    count: int = 1
    #: When it last happened (the series' last observation for a repeated event).
    last_seen: dt.datetime = _EPOCH

    def describe(self) -> str:
        """``FailedMount: Unable to attach or mount volumes: …`` (`` (x12)`` when it repeated)."""
        repeated = f" (x{self.count})" if self.count > 1 else ""
        return f"{self.reason}: {self.message}{repeated}"


def from_api(event: Any) -> ClusterEvent:
    """A ``CoreV1Event`` as a :class:`ClusterEvent`. Events written through the newer
    events.k8s.io API (the scheduler's) carry ``eventTime`` and ``series`` rather than
    ``lastTimestamp`` and ``count``."""
    series = getattr(event, "series", None)
    when = (
        (series.last_observed_time if series is not None else None)
        or event.last_timestamp
        or event.event_time
        or event.first_timestamp
        or (event.metadata.creation_timestamp if event.metadata else None)
        or _EPOCH
    )
    count = event.count or (series.count if series is not None else None) or 1
    return ClusterEvent(
        reason=event.reason or "",
        message=(event.message or "").strip(),
        type=event.type or "Normal",
        count=int(count),
        last_seen=when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc),
    )


def read_events(core: Any, namespace: str, kind: str, name: str) -> list[ClusterEvent]:
    """The Events about one object, oldest first; none when they cannot be read (no RBAC
    for ``events``, an API error): events explain a failure, they never cause one."""
    import kubernetes

    try:
        listed = core.list_namespaced_event(
            namespace,
            field_selector=f"involvedObject.kind={kind},involvedObject.name={name}",
            _request_timeout=30,
        )
    except (kubernetes.client.ApiException, OSError):
        return []
    return sorted((from_api(e) for e in listed.items or []), key=lambda e: e.last_seen)


def latest(events: Iterable[ClusterEvent], *reasons: str) -> ClusterEvent | None:
    """The newest event with one of ``reasons`` (the list is oldest first)."""
    found = None
    for event in events:
        if event.reason in reasons:
            found = event
    return found


def latest_warning(events: Iterable[ClusterEvent]) -> ClusterEvent | None:
    """The newest Warning event, whatever its reason."""
    found = None
    for event in events:
        if event.type == "Warning":
            found = event
    return found
