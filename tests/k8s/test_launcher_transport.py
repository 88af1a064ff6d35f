"""The Kubernetes launcher on an imperfect control plane: a step succeeds however the
transport misbehaves, as long as the cluster itself does not fail it.

Each test plans what a real cluster does to a long-lived client — watch history that moves
on, throttling and 5xx answers, a create whose answer is lost, log streams that end early
or reset (tests/k8s/faults.py) — and materializes a real step against it: the test kubelet
runs the runtime, the model trains. Every one of these failed the launcher before it
listed-then-watched, retried, created idempotently and resumed its log.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from sqlml_dagster.launchers.kubernetes import KubernetesLauncher
from sqlml_dagster.store import ModelStore
from tests.conftest import failure_reasons
from tests.k8s.harness import KubernetesTestCluster, k8s_cluster
from tests.k8s.test_launcher import TRAIN_SQL, launcher_for

__all__ = ["k8s_cluster"]

TICKING_MODEL = """
import time
from sklearn.tree import DecisionTreeClassifier


class TickingClassifier(DecisionTreeClassifier):
    def fit(self, X, y, **kwargs):
        started = time.monotonic()
        tick = 0
        while time.monotonic() - started < {seconds}:
            print(f"tick {{tick}}", flush=True)
            tick += 1
            time.sleep({every})
        return super().fit(X, y, **kwargs)
"""


@pytest.fixture
def ticking(
    write_project: Callable[[dict[str, str]], Path], tmp_path: Path
) -> Callable[..., tuple[Path, dict[str, str]]]:
    """A project whose model trains for ``seconds``, printing a line every ``every``
    seconds; returns the SQL folder and the env that puts the model on the pod's path."""

    def make(seconds: float, every: float = 0.5) -> tuple[Path, dict[str, str]]:
        models = tmp_path / "models"
        models.mkdir(exist_ok=True)
        (models / "ticking.py").write_text(TICKING_MODEL.format(seconds=seconds, every=every))
        sql = TRAIN_SQL.replace("sklearn.tree.DecisionTreeClassifier", "ticking.TickingClassifier")
        return write_project({"m.sql": sql}), {"PYTHONPATH": str(models)}

    return make


def run(root: Path, state: Path, launcher: KubernetesLauncher) -> tuple[Any, list[str]]:
    """Materialize everything; the result and the run's log messages (Pipes logs included)."""
    from sqlml_dagster import build_defs

    defs = build_defs(root, state_dir=state, launcher=launcher)
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)],
        resources=defs.resources,
        instance=instance,
        raise_on_error=False,
    )
    messages = [e.user_message for e in instance.all_logs(result.run_id)]
    return result, messages


def assert_trained_once(result: Any, messages: list[str], state: Path) -> None:
    """The step succeeded, its Pipes messages arrived exactly once, its version is published."""
    assert result.success, failure_reasons(result)
    for pipes_log in ("train parity (", "metrics: accuracy=1.0000"):
        assert sum(pipes_log in m for m in messages) == 1, [m for m in messages if pipes_log in m]
    (materialization,) = result.asset_materializations_for_node("sqlml__parity")
    assert materialization.metadata["metric/accuracy"].value == 1.0
    assert ModelStore(str(state / "models")).get("parity").manifest.metrics["accuracy"] == 1.0


def assert_nothing_left(cluster: KubernetesTestCluster) -> None:
    cluster.wait_for(lambda: not cluster.jobs("default") and not cluster.pods("default"))
    assert not cluster.running_processes()


@pytest.mark.slow
def test_a_step_outlives_the_watch_history_and_its_compaction(
    k8s_cluster: KubernetesTestCluster,
    ticking: Callable[..., tuple[Path, dict[str, str]]],
    tmp_path: Path,
) -> None:
    """The test cluster keeps 2 s of watch history, and here it is also compacted every
    half second (an apiserver restart, etcd compaction): a watch resumed from the Job's own
    resourceVersion is answered 410 Gone. The launcher lists again and carries on."""
    root, env = ticking(seconds=5)
    stop = threading.Event()

    def compact() -> None:
        while not stop.wait(0.5):
            k8s_cluster.compact()

    compactor = threading.Thread(target=compact, daemon=True)
    compactor.start()
    try:
        result, messages = run(
            root, tmp_path / "state", launcher_for(k8s_cluster, tmp_path / "state", env=env)
        )
    finally:
        stop.set()
        compactor.join()
    assert_trained_once(result, messages, tmp_path / "state")


JOBS = "/apis/batch/v1/namespaces/default/jobs"
PODS = "/api/v1/namespaces/default/pods"
QUERY = "[?]*"  # a literal "?" in a glob, then the query


@pytest.mark.slow
@pytest.mark.parametrize(
    "faults",
    [
        pytest.param([("POST", JOBS, 503, 1), ("POST", JOBS, 429, 2)], id="create"),
        # urllib3 itself retries a GET answered 429 three times: five is throttling that lasts
        pytest.param(
            [("GET", f"{PODS}{QUERY}", 503, 1), ("GET", f"{PODS}{QUERY}", 429, 5)], id="pod-list"
        ),
        pytest.param(
            [
                ("GET", f"{JOBS}{QUERY}", 500, 1),
                ("GET", f"{JOBS}{QUERY}", 504, 1),
                ("GET", f"{JOBS}{QUERY}", 502, 1),
            ],
            id="job-list-and-watch",
        ),
    ],
)
def test_transient_api_errors_do_not_fail_a_step(
    k8s_cluster: KubernetesTestCluster,
    ticking: Callable[..., tuple[Path, dict[str, str]]],
    tmp_path: Path,
    faults: list[tuple[str, str, int, int]],
) -> None:
    """Throttling, an etcd leader change, a gateway timeout, an apiserver behind its load
    balancer restarting: each answer is retried with backoff (429 after its Retry-After)."""
    root, env = ticking(seconds=3)
    planned = [k8s_cluster.fail_next(m, p, status, times=n) for m, p, status, n in faults]
    state = tmp_path / "state"
    result, messages = run(root, state, launcher_for(k8s_cluster, state, env=env))
    assert_trained_once(result, messages, state)
    assert [f.taken for f in planned] == [f.times for f in planned]
    assert any("Kubernetes API:" in m and "retrying in" in m for m in messages)


@pytest.mark.slow
@pytest.mark.parametrize("lost", ["reset", "read-timeout"])
def test_a_create_whose_answer_is_lost_is_the_steps_job(
    k8s_cluster: KubernetesTestCluster,
    write_project: Callable[[dict[str, str]], Path],
    tmp_path: Path,
    lost: str,
) -> None:
    """The server creates the Job, then the connection resets (or answers after the
    launcher's read timeout): the launcher retries the create, the 409 AlreadyExists names
    a Job with this step's spec URL and run id, and the step carries on with it."""
    fault = k8s_cluster.lose_response_next("POST", JOBS, delay=2.0 if lost == "read-timeout" else 0)
    root = write_project({"m.sql": TRAIN_SQL})
    state = tmp_path / "state"
    launcher = launcher_for(k8s_cluster, state, api_request_timeout_seconds=1)
    result, messages = run(root, state, launcher)
    assert_trained_once(result, messages, state)
    assert fault.cuts == 1 and len(k8s_cluster.jobs()) == 1
    posts = [p for m, p in k8s_cluster.requests if m == "POST" and p.startswith(JOBS)]
    assert len(posts) == 2


def test_a_create_never_answered_fails_cleanly_and_leaves_no_job(
    k8s_cluster: KubernetesTestCluster,
    write_project: Callable[[dict[str, str]], Path],
    tmp_path: Path,
) -> None:
    """Every answer to the create is lost for longer than ``api_retry_seconds``: the step
    fails saying so, and the Job the server did create is deleted with its pod."""
    k8s_cluster.lose_response_next("POST", JOBS, times=1000)
    root = write_project({"m.sql": TRAIN_SQL})
    state = tmp_path / "state"
    result, _ = run(root, state, launcher_for(k8s_cluster, state, api_retry_seconds=3))
    assert not result.success
    assert_nothing_left(k8s_cluster)
    assert "lost contact with the Kubernetes API" in failure_reasons(result)
    assert ModelStore(str(state / "models")).versions("parity") == []


@pytest.mark.parametrize(
    ("existing", "outcome"),
    [
        (None, "created"),
        ({"sqlml/spec-uri": "s3://b/steps/1/spec.json", "dagster/run-id": "r1"}, "ours"),
        ({"sqlml/spec-uri": "s3://b/steps/2/spec.json", "dagster/run-id": "r1"}, "taken"),
        ({}, "taken"),
    ],
)
def test_create_is_idempotent_for_the_steps_own_job_only(
    k8s_cluster: KubernetesTestCluster, existing: dict[str, str] | None, outcome: str
) -> None:
    """``create_job`` under a known name: a 409 whose Job carries this step's spec URL and
    run id is the step's own (an earlier attempt whose answer was lost); any other Job of
    that name is somebody else's and refused."""
    from kubernetes import client

    from sqlml_dagster.launchers.kube_api import Contact, NameTaken, RetryingApi, create_job

    identity = {"sqlml/spec-uri": "s3://b/steps/1/spec.json", "dagster/run-id": "r1"}
    manifest = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "step", "annotations": {**identity, "sqlml/model": "m"}},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "step", "image": "x", "command": ["true"]}],
                }
            },
        },
    }
    with k8s_cluster.api_client() as api_client:
        batch = RetryingApi(client.BatchV1Api(api_client), Contact(5, 5))
        if existing is not None:
            other = {**manifest, "metadata": {"name": "step", "annotations": existing}}
            uid = batch.create_namespaced_job("default", other).metadata.uid
        if outcome == "taken":
            with pytest.raises(NameTaken, match="already exists and is not this step's"):
                create_job(batch, "default", manifest, identity)
        else:
            job = create_job(batch, "default", manifest, identity)
            assert job.metadata.name == "step"
            if existing is not None:
                assert job.metadata.uid == uid
    assert len(k8s_cluster.jobs()) == 1


@pytest.mark.slow
@pytest.mark.parametrize(
    ("mode", "times"),
    [("eof", 1), ("reset", 2)],
    ids=["ends-early", "resets-twice"],
)
def test_a_broken_log_stream_delivers_every_message_once(
    k8s_cluster: KubernetesTestCluster,
    ticking: Callable[..., tuple[Path, dict[str, str]]],
    tmp_path: Path,
    mode: str,
    times: int,
) -> None:
    """The pod's log stream ends cleanly while the container runs (a proxy, a follow that
    stops at a rotation), or resets mid-line, twice: the launcher follows again from the
    second of the last line it handed on and drops the repeats, so each Pipes message —
    logs, the materialization with its metrics, the result — reaches Dagster once."""
    root, env = ticking(seconds=3, every=0.2)
    fault = k8s_cluster.drop_next("GET", f"{PODS}/*/log*", mode, after=3, times=times)  # type: ignore[arg-type]
    state = tmp_path / "state"
    result, messages = run(root, state, launcher_for(k8s_cluster, state, env=env))
    assert_trained_once(result, messages, state)
    assert fault.cuts == times
    assert sum("following the log of" in m for m in messages) >= times


TRAINING_SECONDS = float(os.environ.get("SQLML_K8S_TRAINING_SECONDS", "60"))
HISTORY_SECONDS = float(os.environ.get("SQLML_K8S_WATCH_HISTORY_SECONDS", "3"))


@pytest.mark.slow
def test_a_long_training_under_a_much_shorter_watch_history_completes(
    ticking: Callable[..., tuple[Path, dict[str, str]]], tmp_path: Path
) -> None:
    """A training twenty times longer than the watch history (60 s under 3 s by default;
    ``SQLML_K8S_TRAINING_SECONDS=600 SQLML_K8S_WATCH_HISTORY_SECONDS=30`` runs the literal
    ten minutes under 30 s), with a leader-election Lease renewed every second as on a real
    control plane and a log line every 10 s. It completes and publishes its version."""
    root, env = ticking(seconds=TRAINING_SECONDS, every=10)
    state = tmp_path / "state"
    with KubernetesTestCluster(
        watch_history_seconds=HISTORY_SECONDS, lease_renew_seconds=1.0
    ) as cluster:
        launcher = launcher_for(cluster, state, env=env)
        result, messages = run(root, state, launcher)
        assert_trained_once(result, messages, state)
