"""A hyper-parameter search on Kubernetes: each trial a Job of its own through the same
launcher, a failed trial's Job deleted while the others go on, one version published."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from sqlml_dagster.cli import main
from sqlml_dagster.store import ModelStore
from tests.conftest import failure_reasons, materialize_all
from tests.k8s.harness import KubernetesTestCluster, k8s_cluster
from tests.k8s.test_launcher import (
    SLOW_MODEL,
    assert_nothing_left,
    launcher_for,
    start_run_worker,
)

__all__ = ["k8s_cluster"]


SEARCH_SQL = """
CREATE TABLE d AS SELECT range * 1.0 AS x, range % 2 AS y FROM range(40);
SELECT x, y FROM d
TO TRAIN registry.example.com/team/models:1.2/sklearn.tree.DecisionTreeClassifier
WITH model.max_depth = HPARAM_CANDIDATES([1, -1, 4]), train.trial_sampler = "grid",
     train.max_parallel_trials = 2, train.objective = "accuracy", resources.cpu = "1"
LABEL y INTO parity;
"""


@pytest.mark.slow  # three trials, each a pod running a training step
def test_each_trial_is_a_job_and_a_failed_trials_job_is_deleted(
    k8s_cluster: KubernetesTestCluster,
    write_project: Callable[[dict[str, str]], Path],
    tmp_path: Path,
) -> None:
    root = write_project({"m.sql": SEARCH_SQL})
    state = tmp_path / "state"
    result = materialize_all(root, state, launcher=launcher_for(k8s_cluster, state))
    assert result.success, failure_reasons(result)
    (version,) = ModelStore(str(state / "models")).versions("parity")
    trials = {t["params"]["model.max_depth"]: t for t in version.manifest.trials}
    assert trials[-1]["status"] == "failed" and "max_depth" in trials[-1]["error"]
    assert [trials[d]["status"] for d in (1, 4)] == ["succeeded", "succeeded"]
    ran_as = {t["launched_as"] for t in version.manifest.trials if "launched_as" in t}
    assert len(ran_as) == 2 and all(r.startswith("job/default/sqlml-train-") for r in ran_as)
    # the failed trial's Job is gone; the two that succeeded belong to version 1
    jobs = k8s_cluster.jobs("default")
    assert {f"job/default/{j['metadata']['name']}" for j in jobs} == ran_as
    assert {j["metadata"]["annotations"]["sqlml/model-version"] for j in jobs} == {"1"}
    assert version.manifest.launched_as in ran_as


def test_the_dry_run_shows_a_trials_job_and_the_search(
    write_project: Callable[[dict[str, str]], Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SQLML_K8S_NAMESPACE", "ml")
    root = write_project({"m.sql": SEARCH_SQL})
    assert main(["compile", str(root), "--k8s"]) == 0
    out = capsys.readouterr().out
    assert (
        "# a hyper-parameter search: one such Job per trial, 3 trials, at most 2 at once, "
        "each with its sampled values" in out
    )
    (train,) = [
        d for d in yaml.safe_load_all(out) if d["metadata"]["labels"]["sqlml/step"] == "train"
    ]
    assert train["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"] == {"cpu": "1"}


CANCELLED_SEARCH_SQL = """
CREATE TABLE d AS SELECT range * 1.0 AS x, range % 2 AS y FROM range(40);
SELECT x, y FROM d
TO TRAIN registry.example.com/team/models:1.2/slow_models.SlowClassifier
WITH model.max_depth = HPARAM_CANDIDATES([1, 2]), train.trial_sampler = "grid",
     train.max_parallel_trials = 2, train.objective = "accuracy", resources.cpu = "1"
LABEL y INTO parity;
"""


@pytest.mark.slow  # a run worker and two trial pods that train for two minutes
def test_cancelling_a_search_deletes_the_jobs_of_its_running_trials(
    k8s_cluster: KubernetesTestCluster,
    write_project: Callable[[dict[str, str]], Path],
    tmp_path: Path,
) -> None:
    """The run worker (a real process) gets SIGTERM, as a terminated run's pod does, while
    both trials train: no trial Job, pod or process is left, and no version."""
    import signal

    models = tmp_path / "models"
    models.mkdir()
    (models / "slow_models.py").write_text(SLOW_MODEL)
    root = write_project({"m.sql": CANCELLED_SEARCH_SQL})
    state = tmp_path / "state"
    worker = start_run_worker(k8s_cluster, root, state, models)
    try:
        k8s_cluster.wait_for(
            lambda: (
                sum(
                    "training slowly" in k8s_cluster.pod_log(p["metadata"]["name"])
                    for p in k8s_cluster.pods()
                )
                == 2
            ),
            timeout=120,
        )
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=60)
    finally:
        worker.kill()
    assert "success" not in output.splitlines()
    assert_nothing_left(k8s_cluster, state)
