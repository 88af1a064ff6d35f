"""Kubernetes API calls that survive a real control plane.

A step polls the API for its whole life — a multi-hour training makes thousands of calls —
and a real control plane fails some of them without anything being wrong with the step:
API Priority and Fairness throttles (429 with ``Retry-After``), etcd changes leader (500),
an apiserver restarts behind its load balancer (502/503), a request times out (504), a
connection resets or hangs half-open. So every call here carries a timeout, and a transient
failure is retried with exponential backoff and jitter until the API has been unreachable
for ``budget`` seconds *in a row*; any answer resets that clock. Only a fact about the
cluster (a 404, a 409, a 422, a Job that failed) may fail a step — never a few seconds
without contact. When the budget runs out, the step fails saying so, and the caller deletes
what it created.
"""

from __future__ import annotations

import functools
import http.client
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

import urllib3

from .base import StepFailed

#: Answers that say "try again", not "this is wrong".
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Exponential backoff: the first wait, and the longest.
BACKOFF_FIRST_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 30.0
#: A followed log may stay quiet this long (a training between epochs) before the
#: connection is taken for half-open and reopened from the last line seen.
LOG_IDLE_SECONDS = 300.0


def transient(error: BaseException) -> float | None:
    """How long the server asked us to wait (0: it did not say) if ``error`` is worth
    retrying; None if it is an answer about the request itself (404, 409, 422, …)."""
    from kubernetes.client.exceptions import ApiException

    if isinstance(error, ApiException):
        if error.status not in TRANSIENT_STATUSES:
            return None
        return _retry_after(error.headers)
    if isinstance(error, urllib3.exceptions.MaxRetryError):  # urllib3's own retries ran out
        return 0.0 if error.reason is None else transient(error.reason)
    if isinstance(error, urllib3.exceptions.SSLError):
        return None  # certificates do not fix themselves
    if isinstance(
        error,
        (
            urllib3.exceptions.ProtocolError,  # reset, "Connection broken", IncompleteRead
            urllib3.exceptions.TimeoutError,  # read and connect timeouts
            urllib3.exceptions.NewConnectionError,  # refused: an apiserver restarting
            urllib3.exceptions.ResponseError,  # too many 429/503 inside urllib3's Retry
            urllib3.exceptions.DecodeError,
            http.client.HTTPException,
            ConnectionError,
            TimeoutError,
        ),
    ):
        return 0.0
    return None


def _retry_after(headers: Mapping[str, str] | None) -> float:
    value = (headers or {}).get("Retry-After")
    try:
        return max(0.0, float(value)) if value else 0.0
    except ValueError:  # an HTTP date: not sent by the apiserver, waited for as a backoff
        return 0.0


def describe(error: BaseException) -> str:
    """One line for a transient error: ``503 Service Unavailable``, ``ProtocolError(...)``."""
    from kubernetes.client.exceptions import ApiException

    if isinstance(error, ApiException):
        return f"{error.status} {error.reason}"
    return f"{type(error).__name__}: {error}"


class Contact:
    """The launcher's contact with the API server: when it was lost, for how long it may
    stay lost, and the waits in between. Shared by every call of one thread of a step, so
    failures of different calls in a row count together; not thread-safe (the log follower
    has its own)."""

    def __init__(
        self,
        budget: float,
        request_timeout: float,
        warn: Callable[[str], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.budget = budget
        self.request_timeout = request_timeout
        self.warn = warn
        self.sleep = sleep
        self.clock = clock
        self.lost_since: float | None = None
        self.failures = 0

    def ok(self) -> None:
        """An answer came: the clock restarts."""
        self.lost_since = None
        self.failures = 0

    def lost(self, error: BaseException, what: str) -> None:
        """A transient failure of ``what``: wait before the next try, or raise
        :class:`StepFailed` once the API has been unreachable for the whole budget."""
        now = self.clock()
        if self.lost_since is None:
            self.lost_since = now
        failing = now - self.lost_since
        if failing >= self.budget - 1e-3:  # the last wait ended on the budget: give up
            raise StepFailed(
                description=f"lost contact with the Kubernetes API for {failing:.0f} s "
                f"(api_retry_seconds = {self.budget:g}); last error on {what}: {describe(error)}"
            ) from error
        ceiling = min(BACKOFF_MAX_SECONDS, BACKOFF_FIRST_SECONDS * 2**self.failures)
        delay = ceiling / 2 + random.uniform(0, ceiling / 2)  # equal jitter
        delay = max(delay, transient(error) or 0.0)  # the server's Retry-After comes first
        delay = min(delay, self.lost_since + self.budget - now)
        self.failures += 1
        if self.warn is not None and (self.failures == 1 or self.failures % 10 == 0):
            self.warn(
                f"Kubernetes API: {describe(error)} on {what}; retrying in {delay:.1f} s "
                f"(failing for {failing:.0f} s of {self.budget:g})"
            )
        self.sleep(delay)

    def call(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)``, retried while its failures are transient."""
        while True:
            try:
                result = fn(*args, **kwargs)
            except Exception as e:
                if transient(e) is None:
                    raise
                self.lost(e, what)
                continue
            self.ok()
            return result

    def timeout_for(self, kwargs: Mapping[str, Any]) -> tuple[float, float]:
        """``(connect, read)`` timeouts: a watch may be silent for its whole window, a
        followed log for a quiet stretch of training; anything else answers promptly."""
        connect = min(10.0, self.request_timeout)
        if kwargs.get("watch"):
            return connect, float(kwargs.get("timeout_seconds") or 0) + self.request_timeout
        if kwargs.get("follow"):
            return connect, LOG_IDLE_SECONDS
        return connect, self.request_timeout


class RetryingApi:
    """A typed API object (``BatchV1Api``, ``CoreV1Api``) whose every method carries a
    request timeout and retries transient failures through a :class:`Contact`. The methods
    keep their docstrings, which ``kubernetes.watch.Watch`` reads to find return types.
    Streams are retried until they start; a stream that breaks later is its reader's to
    resume (kube_watch.py, kube_logs.py)."""

    def __init__(self, api: Any, contact: Contact) -> None:
        self._api = api
        self._contact = contact

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._api, name)
        if not callable(method):
            return method

        @functools.wraps(method)
        def call(*args: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("_request_timeout", self._contact.timeout_for(kwargs))
            return self._contact.call(name, method, *args, **kwargs)

        return call


def create_job(
    batch: Any, namespace: str, manifest: Mapping[str, Any], identity: Mapping[str, str]
) -> Any:
    """Create the Job under its known name, idempotently. A create whose answer was lost
    (a reset, a read timeout after the server accepted it) is retried by ``batch``; the
    retry's ``409 AlreadyExists`` then names the first attempt's Job, recognised by the
    ``identity`` annotations (the step's spec URL and run id): ours, carry on. A Job of that
    name without them belongs to someone else and raises :class:`NameTaken`."""
    from kubernetes.client.exceptions import ApiException

    name = manifest["metadata"]["name"]
    try:
        return batch.create_namespaced_job(namespace, manifest)
    except ApiException as e:
        if e.status != 409:
            raise
        existing = batch.read_namespaced_job(name, namespace)
        annotations = existing.metadata.annotations or {}
        if all(annotations.get(k) == v for k, v in identity.items()):
            return existing
        raise NameTaken(
            f"a Job named {namespace}/{name} already exists and is not this step's"
        ) from e


class NameTaken(Exception):
    """The Job's name is in use by a Job this step did not create."""
