"""The loopback cluster's transport is as imperfect as a real one, and imperfect the same way.

A launcher that passes against this harness must survive what a real control plane does to
a long-lived client: watch history that moves on (410 Gone), throttling and 5xx answers,
slow answers, streams that end early or reset, and requests whose answers are lost. Each
test pins one of those behaviours with the official client over HTTP, next to what the
upstream source says (cited per test), so launcher tests can rely on them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

kubernetes = pytest.importorskip("kubernetes")

import urllib3  # noqa: E402
from kubernetes import client, watch  # noqa: E402
from kubernetes.client.exceptions import ApiException  # noqa: E402

from tests.k8s.faults import DropMode  # noqa: E402
from tests.k8s.harness import KubernetesTestCluster, k8s_cluster  # noqa: E402
from tests.k8s.test_harness import job_manifest, job_pods, wait_for_job  # noqa: E402

__all__ = ["k8s_cluster"]

NS = "default"


@pytest.fixture
def api(k8s_cluster: KubernetesTestCluster) -> Iterator[tuple[client.BatchV1Api, client.CoreV1Api]]:
    with k8s_cluster.api_client() as api_client:
        yield client.BatchV1Api(api_client), client.CoreV1Api(api_client)


def watch_configmaps(core: client.CoreV1Api, **kwargs: Any) -> list[tuple[str, str]]:
    return [
        (e["type"], e["object"].metadata.name)
        for e in watch.Watch().stream(core.list_namespaced_config_map, NS, **kwargs)
    ]


def running_pod(cluster: KubernetesTestCluster, core: client.CoreV1Api, job: str) -> Any:
    """The Job's pod once its container runs (logs can be followed from then on)."""
    return cluster.wait_for(
        lambda: [p for p in job_pods(core, job) if p.status.phase == "Running"]
    )[0]


# -- watch history -----------------------------------------------------------------------


def test_watch_history_moves_on_and_old_positions_get_410(
    k8s_cluster: KubernetesTestCluster, api: tuple[client.BatchV1Api, client.CoreV1Api]
) -> None:
    """By default the history keeps 2 s, and the control plane's leader-election Lease is
    renewed in the background (client-go ``leaderelection``), so the global resourceVersion
    moves on even when the test changes nothing. A watch from a position older than the
    history is answered ``410 Expired "too old resource version: R (oldest-1)"`` in-band
    (watch_cache.go ``getAllEventsSinceLocked``; cacher.go ``Watch`` → ``newErrWatcher``).
    With ``timeout_seconds`` the official client raises it (client-python watch.py
    ``stream``: ``disable_retries``); a fresh list's resourceVersion always works."""
    _, core = api
    core.create_namespaced_config_map(NS, {"metadata": {"name": "early"}})
    old = core.list_namespaced_config_map(NS).metadata.resource_version
    assert watch_configmaps(core, resource_version=old, timeout_seconds=1) == []

    lease = k8s_cluster.get("Lease", "kube-controller-manager", "kube-system")
    assert lease is not None
    time.sleep(2.5)
    renewed = k8s_cluster.get("Lease", "kube-controller-manager", "kube-system")
    assert renewed is not None and renewed["spec"]["renewTime"] > lease["spec"]["renewTime"]
    assert int(renewed["metadata"]["resourceVersion"]) > int(old)

    with pytest.raises(ApiException) as gone:
        watch_configmaps(core, resource_version=old, timeout_seconds=1)
    assert gone.value.status == 410
    assert f"Expired: too old resource version: {old} (" in str(gone.value.reason)
    oldest = int(str(gone.value.reason).rsplit("(", 1)[1].rstrip(")"))
    assert int(old) < oldest <= int(renewed["metadata"]["resourceVersion"])

    fresh = core.list_namespaced_config_map(NS).metadata.resource_version
    core.create_namespaced_config_map(NS, {"metadata": {"name": "late"}})
    assert watch_configmaps(core, resource_version=fresh, timeout_seconds=1) == [("ADDED", "late")]


def test_without_a_timeout_the_client_retries_a_410_once_then_raises(
    k8s_cluster: KubernetesTestCluster, api: tuple[client.BatchV1Api, client.CoreV1Api]
) -> None:
    """client-python watch.py: without ``timeout_seconds`` a 410 is retried once from the
    client's last resourceVersion; the same stale position fails again and raises."""
    _, core = api
    old = core.list_namespaced_config_map(NS).metadata.resource_version
    time.sleep(2.5)
    before = len(k8s_cluster.requests)
    with pytest.raises(ApiException) as gone:
        watch_configmaps(core, resource_version=old)
    assert gone.value.status == 410
    watches = [p for _, p in k8s_cluster.requests[before:] if "watch=True" in p]
    assert len(watches) == 2, watches


def test_history_can_be_bounded_by_count_and_switched_off() -> None:
    """``watch_history_events`` keeps the newest N events (the watch cache's ring capacity);
    a resume is valid while every later event is still held."""
    with (
        KubernetesTestCluster(
            watch_history_seconds=None, watch_history_events=3, lease_renew_seconds=None
        ) as cluster,
        cluster.api_client() as api_client,
    ):
        core = client.CoreV1Api(api_client)
        rvs = [
            core.create_namespaced_config_map(
                NS, {"metadata": {"name": f"c{i}"}}
            ).metadata.resource_version
            for i in range(5)
        ]
        assert watch_configmaps(core, resource_version=rvs[1], timeout_seconds=1) == [
            ("ADDED", "c2"),
            ("ADDED", "c3"),
            ("ADDED", "c4"),
        ]
        with pytest.raises(ApiException) as gone:
            watch_configmaps(core, resource_version=rvs[0], timeout_seconds=1)
        assert gone.value.status == 410
        time.sleep(2.5)  # no time bound: the count alone decides
        assert len(watch_configmaps(core, resource_version=rvs[1], timeout_seconds=1)) == 3


# -- injected API errors -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "reason", "body"),
    [
        (429, "Too Many Requests", "Too many requests, please try again later.\n"),
        (500, "Internal Server Error", "InternalError"),
        (502, "Bad Gateway", "502 Bad Gateway\n"),
        (503, "Service Unavailable", "ServiceUnavailable"),
        (504, "Gateway Timeout", "Timeout"),
    ],
)
def test_injected_errors_answer_as_the_upstream_component_does(
    k8s_cluster: KubernetesTestCluster,
    api: tuple[client.BatchV1Api, client.CoreV1Api],
    status: int,
    reason: str,
    body: str,
) -> None:
    """429 comes from API Priority and Fairness as plain text with ``Retry-After: 1``
    (maxinflight.go ``tooManyRequests``); 500/503/504 are Status objects (errors.go
    ``NewInternalError``, ``NewServiceUnavailable``; timeout.go); 502 is a load balancer's.
    A POST shows the answer as is (urllib3 retries only idempotent requests)."""
    _, core = api
    fault = k8s_cluster.fail_next("POST", "/api/v1/namespaces/default/configmaps", status)
    with pytest.raises(ApiException) as failed:
        core.create_namespaced_config_map(NS, {"metadata": {"name": "x"}})
    assert (failed.value.status, failed.value.reason) == (status, reason)
    if body.endswith("\n"):
        assert failed.value.body == body
    else:
        status_body = json.loads(failed.value.body)
        assert (status_body["kind"], status_body["reason"], status_body["code"]) == (
            "Status",
            body,
            status,
        )
    assert (failed.value.headers.get("Retry-After") == "1") == (status == 429)
    assert fault.taken == 1 and k8s_cluster.configmaps() == []
    core.create_namespaced_config_map(NS, {"metadata": {"name": "x"}})  # only the next one


def test_the_client_itself_retries_idempotent_requests_answered_429_with_retry_after(
    k8s_cluster: KubernetesTestCluster, api: tuple[client.BatchV1Api, client.CoreV1Api]
) -> None:
    """The official client's urllib3 pool uses ``Retry(3)``, which retries GETs answered
    413/429/503 *with* ``Retry-After`` after sleeping it (urllib3 ``Retry.is_retry``); the
    fourth 429 in a row reaches the caller as ``ApiException(429)``. Launchers therefore
    meet a 429 on a GET only when throttling lasts (and on every POST)."""
    _, core = api
    path = "/api/v1/namespaces/default/pods*"
    k8s_cluster.fail_next("GET", path, 429)
    started = time.monotonic()
    assert core.list_namespaced_pod(NS).items == []
    assert time.monotonic() - started >= 1.0
    fault = k8s_cluster.fail_next("GET", path, 429, times=5)
    with pytest.raises(ApiException) as throttled:
        core.list_namespaced_pod(NS)
    assert throttled.value.status == 429 and fault.taken == 4


def test_slow_answers_meet_the_clients_read_timeout(
    k8s_cluster: KubernetesTestCluster, api: tuple[client.BatchV1Api, client.CoreV1Api]
) -> None:
    """A POST slower than ``_request_timeout`` raises ``ReadTimeoutError`` although the
    server goes on to create the object: the create whose answer never comes."""
    _, core = api
    k8s_cluster.slow_next("POST", "*/configmaps", 1.5)
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        core.create_namespaced_config_map(
            NS, {"metadata": {"name": "late"}}, _request_timeout=(1, 0.5)
        )
    k8s_cluster.wait_for(lambda: k8s_cluster.configmaps(), timeout=5)


def test_a_lost_response_still_creates_and_a_retry_gets_409(
    k8s_cluster: KubernetesTestCluster, api: tuple[client.BatchV1Api, client.CoreV1Api]
) -> None:
    """The request takes effect, the connection resets before the answer: urllib3 raises
    ``ProtocolError`` for the POST; the object exists, and creating it again is a 409."""
    batch, _ = api
    fault = k8s_cluster.lose_response_next("POST", "/apis/batch/v1/namespaces/default/jobs")
    with pytest.raises(urllib3.exceptions.ProtocolError):
        batch.create_namespaced_job(NS, job_manifest("lost", "pass"))
    assert fault.cuts == 1 and [j["metadata"]["name"] for j in k8s_cluster.jobs()] == ["lost"]
    with pytest.raises(ApiException) as exists:
        batch.create_namespaced_job(NS, job_manifest("lost", "pass"))
    assert (exists.value.status, json.loads(exists.value.body)["reason"]) == (409, "AlreadyExists")


# -- dropped streams ---------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["eof", "reset"])
def test_a_watch_can_end_early_or_reset(
    k8s_cluster: KubernetesTestCluster, api: tuple[Any, client.CoreV1Api], mode: DropMode
) -> None:
    """``eof``: the stream ends cleanly before ``timeoutSeconds``, which the client cannot
    tell from a normal end; ``reset``: the next event is torn and iterating raises
    ``ProtocolError`` (urllib3 "Connection broken")."""
    _, core = api
    for name in ("a", "b", "c"):
        core.create_namespaced_config_map(NS, {"metadata": {"name": name}})
    fault = k8s_cluster.drop_next("GET", "*/configmaps[?]*watch=True*", mode, after=1)
    started = time.monotonic()
    seen: list[tuple[str, str]] = []
    if mode == "eof":
        seen = watch_configmaps(core, timeout_seconds=5)
    else:
        with pytest.raises(urllib3.exceptions.ProtocolError):
            for event in watch.Watch().stream(
                core.list_namespaced_config_map, NS, timeout_seconds=5
            ):
                seen.append((event["type"], event["object"].metadata.name))
    assert seen == [("ADDED", "a")] and fault.cuts == 1
    assert time.monotonic() - started < 3


@pytest.mark.parametrize("mode", ["eof", "reset"])
def test_a_followed_log_can_end_early_or_reset(
    k8s_cluster: KubernetesTestCluster,
    api: tuple[client.BatchV1Api, client.CoreV1Api],
    mode: DropMode,
) -> None:
    """A follow cut after one line while the container still writes: ``eof`` ends the body
    on a line boundary, ``reset`` leaves half of the next line and raises."""
    batch, core = api
    code = "import time\nfor i in range(4):\n    print(f'line {i}', flush=True); time.sleep(0.3)"
    batch.create_namespaced_job(NS, job_manifest("talk", code))
    pod = running_pod(k8s_cluster, core, "talk")
    fault = k8s_cluster.drop_next("GET", "*/pods/*/log[?]*follow=True*", mode, after=1)
    response = core.read_namespaced_pod_log(
        pod.metadata.name, NS, follow=True, _preload_content=False
    )
    received = bytearray()
    if mode == "eof":
        received += b"".join(response.stream())
        assert bytes(received) == b"line 0\n"
    else:
        with pytest.raises(urllib3.exceptions.ProtocolError):
            for chunk in response.stream():
                received += chunk
        assert bytes(received).startswith(b"line 0\nlin") and not received.endswith(b"\n")
    assert fault.cuts == 1
    assert wait_for_job(batch, "talk").status.succeeded == 1


@pytest.mark.parametrize("mode", ["eof", "reset"])
def test_a_whole_log_read_can_be_cut_short(
    k8s_cluster: KubernetesTestCluster,
    api: tuple[client.BatchV1Api, client.CoreV1Api],
    mode: DropMode,
) -> None:
    """A plain (not followed) answer cut after one line: the body ends short of its
    ``Content-Length``, and reading it raises ``ProtocolError`` (IncompleteRead), whether
    the connection closed or reset."""
    batch, core = api
    batch.create_namespaced_job(NS, job_manifest("short", "print('one'); print('two')"))
    (pod,) = job_pods(core, wait_for_job(batch, "short").metadata.name)
    k8s_cluster.drop_next("GET", "*/pods/*/log", mode, after=1)
    with pytest.raises(urllib3.exceptions.ProtocolError):
        _ = core.read_namespaced_pod_log(pod.metadata.name, NS, _preload_content=False).data
    assert (
        core.read_namespaced_pod_log(pod.metadata.name, NS, _preload_content=False).data
        == b"one\ntwo\n"
    )


# -- pod logs: timestamps, sinceTime, sinceSeconds ---------------------------------------

SECOND_BOUNDARY = """
import time
print('a', flush=True)
time.sleep(1.05 - time.time() % 1)
print('b', flush=True)
time.sleep(0.2)
print('c', flush=True)
"""


def read_log(api_client: client.ApiClient, pod: str, **query: Any) -> str:
    """``GET …/log`` with any query, through the official client's ``call_api`` (the typed
    ``read_namespaced_pod_log`` has no ``since_time``)."""
    response = api_client.call_api(
        f"/api/v1/namespaces/{NS}/pods/{pod}/log",
        "GET",
        query_params=list(query.items()),
        header_params={"Accept": "*/*"},
        auth_settings=["BearerToken"],
        _preload_content=False,
    )
    return str(response.data.decode())


def test_log_timestamps_since_time_and_since_seconds_follow_the_kubelet(
    k8s_cluster: KubernetesTestCluster, api: tuple[client.BatchV1Api, client.CoreV1Api]
) -> None:
    """``timestamps`` prefixes each line with RFC 3339 nanoseconds (kubelet
    ``timeFormatOut``); ``sinceTime`` reaches the kubelet truncated to whole seconds
    (strategy.go ``LogLocation`` formats it ``time.RFC3339``), so asking from the last line
    seen repeats the lines of that second: a reader must deduplicate. ``sinceSeconds`` counts
    back from now; both at once, or ``sinceSeconds < 1``, are invalid (ValidatePodLogOptions)."""
    batch, core = api
    batch.create_namespaced_job(NS, job_manifest("stamps", SECOND_BOUNDARY))
    wait_for_job(batch, "stamps")
    (pod,) = job_pods(core, "stamps")
    name = pod.metadata.name
    with k8s_cluster.api_client() as api_client:
        stamped = read_log(api_client, name, timestamps="true").splitlines()
        assert [line.split(" ", 1)[1] for line in stamped] == ["a", "b", "c"]
        stamps = [line.split(" ", 1)[0] for line in stamped]
        assert all(
            len(s) == len("2025-01-01T00:00:00.123456789Z") and s.endswith("Z") for s in stamps
        )
        assert stamps[0][:19] < stamps[1][:19] == stamps[2][:19]

        table = [
            ({"sinceTime": stamps[2]}, "b\nc\n"),  # nanoseconds dropped: all of that second
            ({"sinceTime": stamps[1][:19] + "Z"}, "b\nc\n"),
            ({"sinceTime": stamps[1][:19] + "+00:00"}, "b\nc\n"),
            ({"sinceTime": stamps[0][:19] + "Z"}, "a\nb\nc\n"),
            ({"sinceTime": "2999-01-01T00:00:00Z"}, ""),
            ({"sinceSeconds": "3600"}, "a\nb\nc\n"),
            ({"sinceTime": stamps[1][:19] + "Z", "tailLines": "3"}, "b\nc\n"),
        ]
        for query, expected in table:
            assert read_log(api_client, name, **query) == expected, query
        time.sleep(1.5)
        assert read_log(api_client, name, sinceSeconds="1") == ""

        for query, message in [
            ({"sinceSeconds": "5", "sinceTime": stamps[0]}, "at most one of `sinceTime`"),
            ({"sinceSeconds": "0"}, "sinceSeconds: Invalid value: 0: must be greater than 0"),
        ]:
            with pytest.raises(ApiException) as invalid:
                read_log(api_client, name, **query)
            assert (
                invalid.value.status == 422 and message in json.loads(invalid.value.body)["message"]
            )


def test_a_follow_from_since_time_resumes_where_a_cut_stream_ended(
    k8s_cluster: KubernetesTestCluster, api: tuple[client.BatchV1Api, client.CoreV1Api]
) -> None:
    """The recovery a log reader performs after a reset: follow again with ``timestamps``
    and ``sinceTime`` = the last whole line's timestamp; the overlap is that second."""
    batch, core = api
    code = "import time\nfor i in range(6):\n    print(f'line {i}', flush=True); time.sleep(0.25)"
    batch.create_namespaced_job(NS, job_manifest("resume", code))
    pod = running_pod(k8s_cluster, core, "resume")
    k8s_cluster.drop_next("GET", "*/log[?]*follow=True*", "reset", after=2)
    first = bytearray()
    with pytest.raises(urllib3.exceptions.ProtocolError):
        for chunk in core.read_namespaced_pod_log(
            pod.metadata.name, NS, follow=True, timestamps=True, _preload_content=False
        ).stream():
            first += chunk
    whole = bytes(first).split(b"\n")[:-1]
    assert [line.split(b" ", 1)[1] for line in whole] == [b"line 0", b"line 1"]
    with k8s_cluster.api_client() as api_client:
        again = read_log(
            api_client,
            pod.metadata.name,
            follow="true",
            timestamps="true",
            sinceTime=whole[-1].split(b" ", 1)[0].decode(),
        ).splitlines()
    contents = [line.split(" ", 1)[1] for line in again]
    assert contents[-4:] == ["line 2", "line 3", "line 4", "line 5"]
    assert "line 1" in contents  # the second of the last line seen comes again
