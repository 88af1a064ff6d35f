"""Following one Job the way an informer does: list, then watch from the list's position.

A watch resumed from an old ``resourceVersion`` — the Job's own, which stays put for as long
as the Job trains — is answered ``410 Gone`` once the API server's history has moved on:
its watch cache keeps a bounded window of events (minutes at most), etcd compacts every five
minutes, and every apiserver restart or switch to another replica starts a fresh window
(``staging/src/k8s.io/apiserver/pkg/storage/cacher/watch_cache.go``,
``getAllEventsSinceLocked``). The official client raises that 410 when ``timeout_seconds``
is set (``kubernetes/watch/watch.py``). So each window starts with a *list*, whose
``resourceVersion`` is current by construction, and watches from there; a 410, a stream that
ends early or resets, or a transient error just starts the next window (after the
:class:`~.kube_api.Contact`'s backoff for errors). The list doubles as the periodic re-read
of the Job, so nothing is missed between windows.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from .kube_api import Contact, transient


class JobVanished(Exception):
    """The Job is gone from the API (deleted outside the launcher)."""


def job_states(
    batch: Any, contact: Contact, namespace: str, name: str, window: float
) -> Generator[Any | None, None, None]:
    """The Job (a ``V1Job``) each time it is listed or changes, and ``None`` at the end of
    every watch window — the caller's moment to look at the pods. Never ends by itself;
    raises :class:`JobVanished` when a list no longer contains the Job."""
    from kubernetes import watch
    from kubernetes.client.exceptions import ApiException

    selector = f"metadata.name={name}"
    gone_in_a_row = 0
    while True:
        listed = batch.list_namespaced_job(namespace, field_selector=selector)
        if not listed.items:
            raise JobVanished(f"Job {namespace}/{name} no longer exists")
        yield listed.items[0]
        try:
            for event in watch.Watch().stream(
                batch.list_namespaced_job,
                namespace,
                field_selector=selector,
                resource_version=listed.metadata.resource_version,
                timeout_seconds=max(1, int(window)),
            ):
                if event["type"] in ("ADDED", "MODIFIED"):
                    yield event["object"]
            gone_in_a_row = 0
        except ApiException as e:
            if e.status != 410 and transient(e) is None:
                raise
            gone_in_a_row = gone_in_a_row + 1 if e.status == 410 else 0
            if e.status != 410 or gone_in_a_row > 1:  # one 410: the history moved on and
                contact.lost(e, "the Job's watch")  # the next list starts afresh; more: odd
        except Exception as e:
            if transient(e) is None:
                raise
            contact.lost(e, "the Job's watch")  # a reset or timed-out stream
        yield None
