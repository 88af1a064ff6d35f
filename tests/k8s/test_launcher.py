"""The Kubernetes launcher against an API server on loopback, through the official client.

Every test materializes real assets: the test kubelet runs the Job's command (the same
``python -m sqlml_dagster.runtime SPEC_URI`` the local launcher runs) as a subprocess, so
models really train and publish; failures are simulated where a laptop cannot produce them
(image pulls, OOM, scheduling).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from sqlml_dagster.launchers.kubernetes import KubernetesLauncher
from sqlml_dagster.store import ModelStore
from tests.conftest import failure_reasons, materialize_all
from tests.k8s.harness import KubernetesTestCluster, k8s_cluster

__all__ = ["k8s_cluster"]

TRAIN_SQL = """
CREATE TABLE d AS SELECT range * 1.0 AS x, range % 2 AS y FROM range(40);
SELECT x, y FROM d
TO TRAIN registry.example.com/team/models:1.2/sklearn.tree.DecisionTreeClassifier
WITH resources.cpu = "1", resources.memory = "1Gi", resources.gpu = 1
LABEL y INTO parity;
"""


def launcher_for(
    cluster: KubernetesTestCluster, state: Path, **settings: Any
) -> KubernetesLauncher:
    return KubernetesLauncher(
        api_host=cluster.host,
        namespace="default",
        python=sys.executable,
        shared_volume_claim="sqlml-state",
        shared_volume_path=str(state),
        watch_seconds=1,
        **settings,
    )


def project_training_a_model_of_its_own(
    write_project: Callable[[dict[str, str]], Path],
    tmp_path: Path,
    module: str,
    source: str,
    model: str,
) -> tuple[Path, Path]:
    """A project whose statement trains ``module.model``, and the folder with its source."""
    models = tmp_path / "models"
    models.mkdir()
    (models / f"{module}.py").write_text(source)
    sql = TRAIN_SQL.replace("sklearn.tree.DecisionTreeClassifier", f"{module}.{model}")
    return write_project({"m.sql": sql}), models


def materialize(root: Path, state: Path, launcher: KubernetesLauncher) -> dg.ExecuteInProcessResult:
    return materialize_all(root, state, launcher=launcher)


def test_image_prefixed_train_runs_as_a_job_and_publishes_a_version(
    k8s_cluster: KubernetesTestCluster,
    write_project: Callable[[dict[str, str]], Path],
    tmp_path: Path,
) -> None:
    root = write_project({"m.sql": TRAIN_SQL})
    state = tmp_path / "state"
    result = materialize(root, state, launcher_for(k8s_cluster, state))
    assert result.success, failure_reasons(result)
    manifest = json.loads((state / "models" / "parity" / "1" / "manifest.json").read_text())
    assert manifest["metrics"]["accuracy"] == 1.0
    assert manifest["image"] == "registry.example.com/team/models:1.2"
    (job,) = k8s_cluster.jobs("default")
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "registry.example.com/team/models:1.2"
    assert container["command"][1:3] == ["-m", "sqlml_dagster.runtime"]
    assert container["resources"]["limits"] == {"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": "1"}
    assert job["metadata"]["annotations"]["sqlml/model-version"] == "1"
    # metrics reported through Pipes in the pod log became materialization metadata
    materializations = result.asset_materializations_for_node("sqlml__parity")
    assert materializations[0].metadata["metric/accuracy"].value == 1.0


DNN_SQL = """
CREATE TABLE d AS
SELECT range * 0.1 AS x, CAST(range % 7 AS INTEGER) AS z, CASE WHEN range % 2 = 0 THEN 'even' ELSE 'odd' END AS parity
FROM range(60);
SELECT x, z, parity FROM d
TO TRAIN registry.example.com/team/models:1.2/DNNClassifier
WITH model.hidden_units = [8], train.epoch = 3, resources.gpu = 1
COLUMN NUMERIC(x), EMBEDDING(CATEGORY_ID(z, 7), 4)
LABEL parity INTO parity_dnn;

SELECT x, z FROM d TO PREDICT parity_out.parity USING parity_dnn;
"""


@pytest.mark.slow
def test_a_deep_learning_statement_runs_unchanged_as_a_job(
    k8s_cluster: KubernetesTestCluster,
    write_project: Callable[[dict[str, str]], Path],
    tmp_path: Path,
) -> None:
    """The statement a laptop trains on CPU runs as a Job asking for a GPU; the pod runs
    the same runtime entrypoint (here on the test kubelet's CPU) and publishes the same
    kind of version: PyTorch weights, the feature plan, per-epoch history via Pipes."""
    root = write_project({"m.sql": DNN_SQL})
    state = tmp_path / "state"
    result = materialize(root, state, launcher_for(k8s_cluster, state))
    assert result.success, failure_reasons(result)
    manifest = ModelStore(str(state / "models")).get("parity_dnn").manifest
    assert manifest.flavor == "pytorch" and "model.safetensors" in manifest.artifacts
    assert manifest.launched_as.startswith("job/default/")
    (train_job,) = [
        j for j in k8s_cluster.jobs("default") if j["metadata"]["name"].startswith("sqlml-train-")
    ]
    container = train_job["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["limits"] == {"nvidia.com/gpu": "1"}
    (trained,) = result.asset_materializations_for_node("sqlml__parity_dnn")
    assert len(trained.metadata["epochs"].value.records) == 3
    (predicted,) = result.asset_materializations_for_node("sqlml__parity_out")
    assert predicted.metadata["dagster/row_count"].value == 60


@pytest.mark.parametrize(
    ("simulate", "expected"),
    [
        ("ImagePullBackOff", "ImagePullBackOff"),
        ("OOMKilled", "OOMKilled with exit code 137"),
        ("Unschedulable", "Insufficient nvidia.com/gpu"),
    ],
)
def test_failures_name_the_reason_and_leave_no_job_or_version(
    k8s_cluster: KubernetesTestCluster,
    write_project: Callable[[dict[str, str]], Path],
    tmp_path: Path,
    simulate: str,
    expected: str,
) -> None:
    k8s_cluster.simulate(simulate, job="sqlml-train-*")
    root = write_project({"m.sql": TRAIN_SQL})
    state = tmp_path / "state"
    launcher = launcher_for(
        k8s_cluster, state, image_pull_timeout_seconds=0.5, unschedulable_timeout_seconds=0.5
    )
    result = materialize(root, state, launcher)
    assert not result.success
    text = failure_reasons(result)
    assert expected in text and "Job default/sqlml-train-parity-" in text, text
    k8s_cluster.wait_for(
        lambda: not k8s_cluster.jobs("default") and not k8s_cluster.pods("default")
    )
    assert not k8s_cluster.running_processes()
    assert ModelStore(str(state / "models")).versions("parity") == []  # nothing visible
    assert all(f.state == "discarded" for f in ModelStore(str(state / "models")).folders("parity"))


def test_a_result_rotated_out_of_the_pod_log_is_read_from_the_data_store(
    k8s_cluster: KubernetesTestCluster,
    write_project: Callable[[dict[str, str]], Path],
    tmp_path: Path,
) -> None:
    """The kubelet rotates a container's log (10 MiB by default) and then serves only the
    current file: the Pipes result message may never be read. The step still succeeds with
    its result, which the runtime also wrote to ``result.json`` beside its spec."""
    k8s_cluster.simulate("LogRotated", job="sqlml-train-*")
    root = write_project({"m.sql": TRAIN_SQL})
    state = tmp_path / "state"
    result = materialize(root, state, launcher_for(k8s_cluster, state))
    assert result.success, failure_reasons(result)
    (job,) = k8s_cluster.jobs("default")
    (pod,) = k8s_cluster.pods("default")
    assert '"__dagster_pipes_version"' in k8s_cluster.pod_log(pod["metadata"]["name"])
    manifest = ModelStore(str(state / "models")).get("parity").manifest
    assert manifest.metrics["accuracy"] == 1.0
    assert manifest.features == ["x"]
    spec_uri = job["metadata"]["annotations"]["sqlml/spec-uri"]
    written = json.loads((Path(spec_uri).parent / "result.json").read_text())
    assert (written["kind"], written["metrics"]["accuracy"]) == ("train", 1.0)


def test_a_user_error_fails_at_once_with_its_own_reason_and_log(
    k8s_cluster: KubernetesTestCluster,
    write_project: Callable[[dict[str, str]], Path],
    tmp_path: Path,
) -> None:
    """A bad parameter is the user's to fix: the runtime exits with its user-error code, the
    Job's podFailurePolicy fails it on that first pod however many retries backoff_limit
    allows, and the step's failure carries the runtime's one-line reason."""
    root = write_project(
        {
            "m.sql": TRAIN_SQL.replace("LABEL y", "WITH model.max_depht = 3 LABEL y").replace(
                "resources.gpu = 1\nWITH", "resources.gpu = 1,"
            )
        }
    )
    state = tmp_path / "state"
    result = materialize(root, state, launcher_for(k8s_cluster, state, backoff_limit=2))
    assert not result.success
    text = failure_reasons(result)
    assert "PodFailurePolicy (Container step for pod default/sqlml-train-parity-" in text, text
    assert "exit code 65 (the runtime's user-error exit code)" in text
    assert "did you mean 'max_depth'" in text
    assert "last log lines:" in text
    assert not k8s_cluster.jobs("default")
    assert len(pods_created(k8s_cluster)) == 1  # no retry of the same mistake


def pods_created(cluster: KubernetesTestCluster) -> list[str]:
    """Every pod the Job controller created for the test's Jobs (its events outlive them)."""
    return [
        e["message"].removeprefix("Created pod: ")
        for e in cluster.events("default")
        if e["reason"] == "SuccessfulCreate"
    ]


def followed_logs(cluster: KubernetesTestCluster) -> set[str]:
    """The pods whose log a client followed."""
    return {
        path.split("/pods/", 1)[1].split("/", 1)[0]
        for method, path in cluster.requests
        if method == "GET" and "/log?" in path and "follow=true" in path.lower()
    }


@pytest.mark.parametrize("disruption", ["Evicted", "Preempted"])
def test_a_pod_the_cluster_takes_away_is_retried_and_the_step_succeeds(
    k8s_cluster: KubernetesTestCluster,
    write_project: Callable[[dict[str, str]], Path],
    tmp_path: Path,
    disruption: str,
) -> None:
    """A kubelet short of memory evicts the first pod, or the scheduler preempts it for a
    higher-priority one: the podFailurePolicy replaces it without counting against
    backoff_limit 0, the launcher follows the new pod's log, and the step succeeds with
    the metrics the new pod reported."""
    k8s_cluster.simulate(disruption, job="sqlml-train-*", attempts=1)
    root = write_project({"m.sql": TRAIN_SQL})
    state = tmp_path / "state"
    result = materialize(root, state, launcher_for(k8s_cluster, state))
    assert result.success, failure_reasons(result)
    first, second = pods_created(k8s_cluster)
    assert {first, second} <= followed_logs(k8s_cluster)
    (job,) = k8s_cluster.jobs("default")
    assert (job["status"]["succeeded"], job["status"].get("failed")) == (1, None)
    (trained,) = result.asset_materializations_for_node("sqlml__parity")
    assert trained.metadata["metric/accuracy"].value == 1.0
    assert ModelStore(str(state / "models")).get("parity").manifest.metrics["accuracy"] == 1.0


@pytest.mark.parametrize(
    ("simulate", "settings", "expected"),
    [
        (
            "Evicted",
            {"max_disruptions": 1},
            [
                "Disrupted (2 pods were evicted or preempted, more than max_disruptions=1)",
                "pod evicted by the kubelet: The node was low on resource: memory. ",
                "Container step was using 1948312Ki, request is 1Gi",
            ],
        ),
        (
            "AdmissionRejected",
            {},
            [
                "BackoffLimitExceeded",
                "pod rejected by the kubelet on node sqlml-test-node (UnexpectedAdmissionError): "
                "Pod was rejected: Allocate failed due to no healthy devices present; cannot "
                "allocate unhealthy devices nvidia.com/gpu, which is unexpected",
            ],
        ),
    ],
)
def test_pods_that_fail_for_the_cluster_are_named_as_such(
    k8s_cluster: KubernetesTestCluster,
    write_project: Callable[[dict[str, str]], Path],
    tmp_path: Path,
    simulate: str,
    settings: dict[str, Any],
    expected: list[str],
) -> None:
    """An eviction on every attempt, or a kubelet that refuses the pod, is reported as what
    it is -- with the kubelet's own message -- not as "exit code 137" or "pod phase Failed";
    the Job and its pods are deleted and no version is published."""
    k8s_cluster.simulate(simulate, job="sqlml-train-*")
    root = write_project({"m.sql": TRAIN_SQL})
    state = tmp_path / "state"
    result = materialize(root, state, launcher_for(k8s_cluster, state, **settings))
    assert not result.success
    text = failure_reasons(result)
    assert all(part in text for part in expected), text
    assert "exit code 137" not in text and "pod phase" not in text
    k8s_cluster.wait_for(
        lambda: not k8s_cluster.jobs("default") and not k8s_cluster.pods("default")
    )
    assert ModelStore(str(state / "models")).versions("parity") == []


STUBBORN_MODEL = """
import signal
import time
from sklearn.tree import DecisionTreeClassifier


class StubbornClassifier(DecisionTreeClassifier):
    def fit(self, X, y, **kwargs):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # stuck in native code, say
        print("training stubbornly", flush=True)
        time.sleep(120)
        return super().fit(X, y, **kwargs)
"""


@pytest.mark.slow
def test_a_deadline_is_reported_when_the_job_controller_decides_it(
    write_project: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    """activeDeadlineSeconds passes while the training is stuck: the Job controller sets
    FailureTarget at once and Failed only once the pod it deletes has run out its grace
    period (30 s by default), which a process ignoring SIGTERM runs out in full. The
    launcher reports the failure at FailureTarget, not a grace period later."""
    root, models = project_training_a_model_of_its_own(
        write_project, tmp_path, "stubborn_models", STUBBORN_MODEL, "StubbornClassifier"
    )
    state = tmp_path / "state"
    with KubernetesTestCluster(grace_period_cap=30) as cluster:
        launcher = launcher_for(
            cluster, state, active_deadline_seconds=8, env={"PYTHONPATH": str(models)}
        )
        started = time.monotonic()
        result = materialize(root, state, launcher)
        elapsed = time.monotonic() - started
        assert not result.success
        text = failure_reasons(result)
        assert "DeadlineExceeded" in text and "training stubbornly" in text, text
        assert elapsed < 8 + 15, elapsed  # not 8 s + the 30 s grace period
        assert not cluster.jobs("default")


def test_local_stores_without_a_shared_volume_are_a_configuration_error(
    k8s_cluster: KubernetesTestCluster,
    write_project: Callable[[dict[str, str]], Path],
    tmp_path: Path,
) -> None:
    root = write_project({"m.sql": TRAIN_SQL})
    state = tmp_path / "state"
    launcher = KubernetesLauncher(api_host=k8s_cluster.host, python=sys.executable)
    result = materialize(root, state, launcher)
    assert not result.success
    assert "cannot hand" in failure_reasons(result) and "s3://" in failure_reasons(result)
    assert not k8s_cluster.jobs("default")


SLOW_MODEL = """
import time
from sklearn.tree import DecisionTreeClassifier


class SlowClassifier(DecisionTreeClassifier):
    def fit(self, X, y, **kwargs):
        print("training slowly", flush=True)
        time.sleep(120)
        return super().fit(X, y, **kwargs)
"""


RUN_WORKER = """
import sys
from pathlib import Path

import dagster as dg

from sqlml_dagster import KubernetesLauncher, build_defs

host, root, state, models = sys.argv[1:]
launcher = KubernetesLauncher(
    api_host=host, python=sys.executable, shared_volume_claim="sqlml-state",
    shared_volume_path=state, watch_seconds=1, env={"PYTHONPATH": models},
)
defs = build_defs(Path(root), state_dir=state, launcher=launcher)
result = dg.materialize(
    [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)],
    resources=defs.resources, instance=dg.DagsterInstance.ephemeral(), raise_on_error=False,
)
print("success" if result.success else "failed", flush=True)
"""


def test_cancelling_the_run_deletes_the_job_and_kills_its_pod(
    k8s_cluster: KubernetesTestCluster,
    write_project: Callable[[dict[str, str]], Path],
    tmp_path: Path,
) -> None:
    """Terminating a Dagster run sends SIGINT to its run worker, which interrupts the step;
    the launcher must then delete the Job (Background propagation) so nothing keeps
    running on the cluster. The run worker here is a real separate process."""
    import signal

    root, models = project_training_a_model_of_its_own(
        write_project, tmp_path, "slow_models", SLOW_MODEL, "SlowClassifier"
    )
    state = tmp_path / "state"
    worker = start_run_worker(k8s_cluster, root, state, models)
    try:
        k8s_cluster.wait_for(
            lambda: any(
                "training slowly" in k8s_cluster.pod_log(p["metadata"]["name"])
                for p in k8s_cluster.pods()
            ),
            timeout=90,
        )
        assert k8s_cluster.running_processes()
        worker.send_signal(signal.SIGINT)
        output, _ = worker.communicate(timeout=60)
    finally:
        worker.kill()
    assert "success" not in output.splitlines()
    assert_nothing_left(k8s_cluster, state)


def start_run_worker(
    cluster: KubernetesTestCluster, root: Path, state: Path, models: Path
) -> subprocess.Popen[str]:
    """A run worker of its own (:data:`RUN_WORKER`) materializing ``root`` on ``cluster``."""
    script = state.parent / "run_worker.py"
    script.write_text(RUN_WORKER)
    return subprocess.Popen(
        [sys.executable, str(script), cluster.host, str(root), str(state), str(models)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def assert_nothing_left(cluster: KubernetesTestCluster, state: Path) -> None:
    """After a cancelled run: no Job, pod or step process, no version, the reservation
    discarded."""
    cluster.wait_for(lambda: not cluster.jobs("default") and not cluster.pods("default"))
    assert not cluster.running_processes()
    assert ModelStore(str(state / "models")).versions("parity") == []  # nothing visible
    assert all(f.state == "discarded" for f in ModelStore(str(state / "models")).folders("parity"))
