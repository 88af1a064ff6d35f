"""Transport faults for the loopback API server: the ways a real control plane and the network
in front of it fail a client that did nothing wrong.

A test plans a fault with :meth:`KubernetesTestCluster.fail_next` (and ``slow_next``,
``drop_next``, ``lose_response_next``); the server applies it to the next requests whose
method and path (with its query) match a glob, then behaves normally again. What each fault
answers follows the upstream source that produces it on a real cluster:

* **429** — API Priority and Fairness / max-in-flight rejects a request with
  ``Retry-After: 1`` and a *plain-text* body, not a Status object
  (``staging/src/k8s.io/apiserver/pkg/server/filters/maxinflight.go``, ``tooManyRequests``;
  the APF filter calls the same function).
* **500** — ``apierrors.NewInternalError``, e.g. ``etcdserver: leader changed`` during an
  etcd leader election (``staging/src/k8s.io/apimachinery/pkg/api/errors/errors.go``).
* **503** — Status ``ServiceUnavailable`` (an apiserver shutting down or restarting behind
  a load balancer).
* **504** — Status ``Timeout`` from the request-timeout filter
  (``staging/src/k8s.io/apiserver/pkg/server/filters/timeout.go``: "request did not complete
  within requested timeout").
* **502** — a load balancer in front of the apiserver, plain text.
* **slow** — a response that takes ``delay`` seconds (a loaded apiserver, a long GC pause).
* **dropped streams** — a watch or a followed log that ends after ``after`` lines, either
  with a clean end of the chunked body (``eof``: what a client sees when a proxy or an
  apiserver replica closes a long request) or with a TCP reset in the middle of the next
  line (``reset``: a load balancer's idle timeout, a node or apiserver restart).
* **lost responses** — the request takes effect (a Job is created) and then the connection
  resets before the answer arrives, optionally after ``delay`` seconds so that the client's
  own read timeout fires first.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import socket
import struct
import threading
from dataclasses import dataclass
from typing import Any, Literal

DropMode = Literal["eof", "reset"]

#: What ``status=`` answers: (reason, message) of the Status body the apiserver sends.
STATUS_TEXT: dict[int, tuple[str, str]] = {
    500: ("InternalError", "Internal error occurred: etcdserver: leader changed"),
    503: ("ServiceUnavailable", "the server is currently unable to handle the request"),
    504: (
        "Timeout",
        "Timeout: request did not complete within requested timeout - context deadline exceeded",
    ),
}
#: maxinflight.go's ``http.Error`` text for 429 (plain text, with a trailing newline).
TOO_MANY_REQUESTS = "Too many requests, please try again later.\n"


@dataclass
class Fault:
    """One planned misbehaviour for the next ``times`` requests matching ``method`` and the
    glob ``path`` (matched against the path *with* its query string, so
    ``"*/jobs[?]*watch=True*"`` picks watches of Jobs only: ``?`` alone is a glob wildcard).

    Exactly one of ``status`` (answer this error instead of serving), ``drop`` (cut the
    answer) or ``served`` (serve it, then lose the answer) is usually set; ``delay`` may
    accompany any of them, or stand alone as a slow response. ``taken`` counts the requests
    the fault was applied to and ``cuts`` the streams it actually cut, for assertions."""

    method: str
    path: str
    times: int = 1
    status: int | None = None
    retry_after: int = 1
    delay: float = 0.0
    drop: DropMode | None = None
    after: int = 0
    served: bool = False
    taken: int = 0
    cuts: int = 0

    def matches(self, method: str, path: str) -> bool:
        return self.method.upper() in (method, "*") and fnmatch.fnmatchcase(path, self.path)

    def error_response(self) -> tuple[int, dict[str, str], bytes]:
        """Status code, headers and body of the planned error answer."""
        assert self.status is not None
        if self.status == 429:
            headers = {
                "Content-Type": "text/plain; charset=utf-8",
                "X-Content-Type-Options": "nosniff",
                "Retry-After": str(self.retry_after),
            }
            return 429, headers, TOO_MANY_REQUESTS.encode()
        if self.status == 502:
            return 502, {"Content-Type": "text/plain"}, b"502 Bad Gateway\n"
        reason, message = STATUS_TEXT.get(self.status, ("InternalError", "injected failure"))
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": reason,
            "code": self.status,
        }
        if self.status == 500:
            body["details"] = {"causes": [{"message": "etcdserver: leader changed"}]}
        return self.status, {"Content-Type": "application/json"}, json.dumps(body).encode()


class Faults:
    """The planned faults of one cluster, thread-safe; the first matching fault wins."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._planned: list[Fault] = []

    def plan(self, fault: Fault) -> Fault:
        with self._lock:
            self._planned.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        """The fault for this request, counted as used; None to serve it normally."""
        with self._lock:
            for fault in self._planned:
                if fault.taken < fault.times and fault.matches(method, path):
                    fault.taken += 1
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._planned.clear()


class StreamCut(Exception):
    """Raised inside the handler once a stream has been cut; the request is over."""


class CuttingStream:
    """Passes a streamed body through, line by line, until the fault's cut point."""

    def __init__(self, fault: Fault) -> None:
        self.fault = fault
        self.lines = 0

    def pass_through(self, data: bytes) -> tuple[bytes, bool]:
        """The part of ``data`` to send, and whether the stream is cut after sending it. A
        ``reset`` sends half of the line after the cut point, the torn line a client reads
        when a connection dies mid-write; an ``eof`` ends on a line boundary."""
        out = bytearray()
        for line in data.splitlines(keepends=True):
            if self.lines >= self.fault.after:
                if self.fault.drop == "reset":
                    out += line[: max(1, len(line) // 2)]
                self.fault.cuts += 1
                return bytes(out), True
            out += line
            if line.endswith(b"\n"):
                self.lines += 1
        return bytes(out), False


def reset_connection(connection: socket.socket, rfile: Any) -> None:
    """Close the socket with SO_LINGER 0, so the peer reads a TCP reset, not an end of file."""
    with contextlib.suppress(OSError):
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    rfile.close()  # the reader holds a reference to the socket: drop it so close() is real
    connection.close()
