"""Following a container's log to its end, across dropped connections, line by line once.

A followed log stream breaks on a real cluster — a load balancer's idle timeout, a kubelet
or apiserver restart, a follow that stops at a log rotation (kubernetes#115701) — and can
also end *cleanly* while the container still runs. So the follower asks for
``timestamps=true`` and, after any end, reconnects with ``sinceTime`` = the second of the
last whole line it handed on. The apiserver passes ``sinceTime`` to the kubelet at whole
seconds (pkg/registry/core/pod/strategy.go, ``LogLocation``: ``time.RFC3339``), so the lines
of that second come again: they are recognised by (timestamp, content), counted, so that a
line printed twice in the same instant still arrives twice, and dropped. Nothing is ever
skipped by counting lines, which a rotated log would make wrong. A torn last line (the
connection died mid-line) is never handed on; it comes again whole.

The log ends for good when a connection opened *after* the container terminated ends
cleanly. Pipes messages travel in these lines, so each reaches Dagster exactly once; the
step's result does not depend on them (it is read from ``result.json``).
"""

from __future__ import annotations

import calendar
import contextlib
import queue
import re
import socket
import threading
import time
from collections import Counter
from typing import Any

from .base import StepFailed
from .kube_api import Contact, RetryingApi, describe, transient

_STAMP = re.compile(rb"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d) ")


def parse_stamp(line: bytes) -> tuple[int, bytes] | None:
    """``(nanoseconds since the epoch, content)`` of a ``timestamps=true`` line, or None."""
    m = _STAMP.match(line)
    if m is None:
        return None
    seconds = calendar.timegm(time.strptime(m[1].decode(), "%Y-%m-%dT%H:%M:%S"))
    if m[3] != b"Z":
        sign = 1 if m[3][:1] == b"+" else -1
        seconds -= sign * (int(m[3][1:3]) * 3600 + int(m[3][4:6]) * 60)
    fraction = int((m[2] or b"0").ljust(9, b"0"))
    return seconds * 1_000_000_000 + fraction, line[m.end() :]


class SeenLines:
    """The lines already handed on that a reconnect from their second will repeat."""

    def __init__(self) -> None:
        self.last: int | None = None  # timestamp (ns) of the last line handed on
        self.window: Counter[tuple[int, bytes]] = Counter()  # those of its second
        self.replay: Counter[tuple[int, bytes]] = Counter()
        self.replay_until: int | None = None

    def since(self) -> str | None:
        """``sinceTime`` for the next connection: the last line's second, or None."""
        if self.last is None:
            return None
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.last // 1_000_000_000))

    def reconnecting(self) -> None:
        """A new connection starts: what it may repeat is what this second delivered."""
        self.replay = Counter(self.window)
        self.replay_until = self.last

    def fresh(self, stamp: int, content: bytes) -> bool:
        """Whether a line is new (and remember it); False for a repeat."""
        key = (stamp, content)
        if self.replay_until is not None and stamp <= self.replay_until and self.replay[key] > 0:
            self.replay[key] -= 1
            return False
        if self.last is None or stamp // 1_000_000_000 != self.last // 1_000_000_000:
            self.window.clear()
        self.window[key] += 1
        self.last = stamp
        return True


class LogFollower:
    """A thread that follows one container's log and puts each line (without its timestamp)
    on ``lines``, and what it had to do about the connection on ``notices``: the step's own
    thread hands both to Dagster, whose event log is not safe to write from other threads.
    It gives up (a notice) only after its :class:`Contact` budget — a log it cannot read
    costs live progress, never the step."""

    def __init__(
        self, api_client: Any, namespace: str, pod: str, contact: Contact, lines: queue.Queue[str]
    ) -> None:
        import kubernetes

        self.core = RetryingApi(kubernetes.client.CoreV1Api(api_client), contact)
        self.api_client = api_client
        self.namespace = namespace
        self.pod = pod
        self.contact = contact
        self.lines = lines
        self.notices: queue.Queue[str] = queue.Queue()
        self.seen = SeenLines()
        self.complete = False
        self.reconnects = 0
        self._stopping = threading.Event()
        self._response: Any = None
        self.thread = threading.Thread(target=self._run, name=f"logs-{pod}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def join(self, timeout: float) -> bool:
        """Wait for the log's end; whether it was read completely."""
        self.thread.join(timeout)
        return self.complete

    def stop(self) -> None:
        """Stop following (the step ended otherwise): unblock a read in progress."""
        self._stopping.set()
        response = self._response
        sock = getattr(getattr(response, "connection", None), "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                ended = self._container_ended()
                if ended is None:  # the pod is gone: nothing left to read
                    self.notices.put(f"pod {self.pod} is gone; its log was not read to the end")
                    return
                if self._follow_once(final=ended):
                    self.complete = True
                    return
                self.reconnects += 1
                self._stopping.wait(0.2)  # a stream that keeps ending at once: no busy loop
        except StepFailed as e:  # the contact budget ran out
            self.notices.put(f"stopped following the log of {self.pod}: {e.description}")
        except Exception as e:  # never fail the step from here; result.json carries it
            if not self._stopping.is_set():
                self.notices.put(f"stopped following the log of {self.pod}: {describe(e)}")

    def _container_ended(self) -> bool | None:
        """Whether the pod's container has terminated (None: the pod no longer exists)."""
        from kubernetes.client.exceptions import ApiException

        try:
            pod = self.core.read_namespaced_pod(self.pod, self.namespace)
        except ApiException as e:
            if e.status == 404:
                return None
            raise
        statuses = pod.status.container_statuses or []
        return bool(statuses) and all(s.state and s.state.terminated for s in statuses)

    def _follow_once(self, final: bool) -> bool:
        """One connection, read to its end; True when the log is complete (a clean end of a
        connection opened after the container terminated)."""
        from kubernetes.client.exceptions import ApiException

        query: list[tuple[str, Any]] = [("follow", "true"), ("timestamps", "true")]
        since = self.seen.since()
        if since is not None:
            query.append(("sinceTime", since))
        self.seen.reconnecting()
        try:
            # The typed read_namespaced_pod_log has no since_time: the same GET, by hand.
            self._response = self.contact.call(
                "the pod's log",
                self.api_client.call_api,
                "/api/v1/namespaces/{namespace}/pods/{name}/log",
                "GET",
                path_params={"namespace": self.namespace, "name": self.pod},
                query_params=query,
                header_params={"Accept": "*/*"},
                auth_settings=["BearerToken"],
                _preload_content=False,
                _request_timeout=self.contact.timeout_for({"follow": True}),
            )
        except ApiException as e:
            if e.status != 400:  # 400: not started (or not yet), on this node's word
                raise
            self.contact.lost(e, "the pod's log")
            return False
        if self.reconnects:
            self.notices.put(f"following the log of {self.pod} again from {since or 'its start'}")
        pending = b""
        try:
            for chunk in self._response.stream(64 * 1024):
                pending += chunk
                *whole, pending = pending.split(b"\n")
                for line in whole:
                    self._hand_on(line)
        except Exception as e:
            if self._stopping.is_set():
                return True
            if transient(e) is None:
                raise
            self.contact.lost(e, "the pod's log stream")  # the torn line comes again
            return False
        finally:
            with contextlib.suppress(Exception):
                self._response.close()
                self._response.release_conn()
            self._response = None
        if final and pending:
            self._hand_on(pending)  # a last line without its newline
        return final

    def _hand_on(self, line: bytes) -> None:
        parsed = parse_stamp(line)
        if parsed is None:  # a server that ignores timestamps: nothing to deduplicate by
            self.lines.put(line.decode("utf-8", errors="replace"))
            return
        stamp, content = parsed
        if self.seen.fresh(stamp, content):
            self.lines.put(content.decode("utf-8", errors="replace"))
