"""Job manifests: golden YAML (`sqlml compile --k8s`), accepted by an API server, the
allow-list as a compile-time diagnostic, and the launcher chosen by settings alone."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml

from sqlml_dagster import build_defs
from sqlml_dagster.cli import main
from sqlml_dagster.compiler import check_project
from sqlml_dagster.contract import StepSpec
from sqlml_dagster.launchers.kubernetes import KubernetesLauncher, from_env
from tests.conftest import EXAMPLE
from tests.golden_files import updating_golden
from tests.k8s.admission import pod_security_violations
from tests.k8s.harness import KubernetesTestCluster, k8s_cluster

__all__ = ["k8s_cluster"]

GOLDEN = Path(__file__).parent.parent / "golden" / "k8s"

GPU_PROJECT = {
    "gpu.sql": """
        CREATE TABLE d AS SELECT range * 1.0 AS x, range % 2 AS y FROM range(40);
        SELECT x, y FROM d
        TO TRAIN registry.example.com:5000/team/models:1.2/my_models.MyClassifier
        WITH model.hidden = [64, 32], resources.gpu = 2, resources.cpu = "4",
             resources.memory = "16Gi", resources.node_selector = "gpu-type=a100",
             resources.tolerations = ["nvidia.com/gpu=present:NoSchedule", "spot:NoSchedule"]
        LABEL y INTO classifier;
        SELECT x FROM d TO PREDICT scored.y WITH resources.gpu = 1 USING classifier;
    """
}

#: A training of two pods with two GPUs each: an Indexed Job and its headless Service.
DISTRIBUTED_PROJECT = {
    "ranks.sql": """
        CREATE TABLE r AS SELECT range * 1.0 AS x, range % 2 AS y FROM range(40);
        SELECT x, y FROM r
        TO TRAIN DNNClassifier
        WITH model.hidden_units = [16], train.num_workers = 2, resources.gpu = 2
        LABEL y INTO ranked;
    """
}

#: The package GPU_PROJECT's image provides: the operator allows it (docs/security.md).
IMAGE_PACKAGES = ["my_models"]


@pytest.fixture(autouse=True)
def image_packages_are_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SQLML_ALLOWED_MODEL_PACKAGES", ",".join(IMAGE_PACKAGES))


K8S_ENV = {
    "SQLML_K8S_NAMESPACE": "ml",
    "SQLML_K8S_DEFAULT_IMAGE": "registry.example.com/team/sqlml-runtime:0.1.0",
    "SQLML_K8S_GPU_RESOURCE": "amd.com/gpu",
    "SQLML_K8S_ENV_FROM_SECRETS": "s3-credentials",
    "SQLML_K8S_IMAGE_PULL_SECRETS": "registry-pull",
    "SQLML_K8S_SERVICE_ACCOUNT": "sqlml-steps",
    "SQLML_K8S_RUN_AS_NON_ROOT": "true",
    "SQLML_K8S_SQL_TOLERATIONS": "nvidia.com/gpu,spot",
}


def compile_k8s(path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["compile", str(path), "--k8s"]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("name", ["example_repo", "gpu_project", "distributed_project"])
def test_manifests_match_golden_yaml(
    name: str,
    write_project: Callable[[dict[str, str]], Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Resources, GPUs (a configurable resource name), node selectors, tolerations, secrets
    by reference only. Regenerate with UPDATE_GOLDEN=1."""
    for key in list(os.environ):
        if key.startswith("SQLML_K8S_"):
            monkeypatch.delenv(key)
    if name == "gpu_project":
        for key, value in K8S_ENV.items():
            monkeypatch.setenv(key, value)
        path = write_project(GPU_PROJECT)
    elif name == "distributed_project":
        path = write_project(DISTRIBUTED_PROJECT)
    else:
        path = EXAMPLE / "sql"
    actual = compile_k8s(path, capsys)
    golden = GOLDEN / f"{name}.yaml"
    if updating_golden():
        golden.write_text(actual)
    assert actual == golden.read_text()
    if name == "gpu_project":
        train = next(yaml.safe_load_all(actual))
        container = train["spec"]["template"]["spec"]["containers"][0]
        assert container["resources"]["limits"]["amd.com/gpu"] == "2"
        assert container["envFrom"] == [{"secretRef": {"name": "s3-credentials"}}]
        assert "s3-credentials" not in str(container["env"])  # never inline values


def test_manifests_are_accepted_by_an_api_server(
    k8s_cluster: KubernetesTestCluster,
    write_project: Callable[[dict[str, str]], Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    import kubernetes

    for key, value in K8S_ENV.items():
        monkeypatch.setenv(key, value)
    documents = list(yaml.safe_load_all(compile_k8s(write_project(GPU_PROJECT), capsys)))
    documents += list(yaml.safe_load_all(compile_k8s(EXAMPLE / "sql", capsys)))
    folder = tmp_path / "ranks"  # a project of its own beside GPU_PROJECT's
    folder.mkdir()
    (folder / "ranks.sql").write_text(DISTRIBUTED_PROJECT["ranks.sql"])
    ranks = list(yaml.safe_load_all(compile_k8s(folder, capsys)))
    services = [d for d in ranks if d["kind"] == "Service"]
    assert len(services) == 1
    core = kubernetes.client.CoreV1Api(k8s_cluster.api_client())
    for service in services:
        created_service = core.create_namespaced_service("ml", service, dry_run="All")
        assert created_service.spec.cluster_ip == "None"
    documents += [d for d in ranks if d["kind"] == "Job"]
    batch = kubernetes.client.BatchV1Api(k8s_cluster.api_client())
    for manifest in documents:
        created = batch.create_namespaced_job("ml", manifest, dry_run="All")
        assert isinstance(created, kubernetes.client.V1Job)
        assert created.spec.template.spec.containers[0].command[:3] == [
            "python",
            "-m",
            "sqlml_dagster.runtime",
        ]
    # 2 of GPU_PROJECT, the Indexed Job of DISTRIBUTED_PROJECT; the example: 4 models,
    # 4 predictions, 1 evaluation, 1 explanation
    assert len(documents) == 13


def test_image_outside_the_allow_list_is_a_compile_time_diagnostic(
    write_project: Callable[[dict[str, str]], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_project(GPU_PROJECT)
    _, diagnostics = check_project(
        root, allowed_images=["ghcr.io/acme"], allowed_model_packages=IMAGE_PACKAGES
    )
    (error,) = [d for d in diagnostics if d.is_error]
    assert error.code == "SQLML208"
    assert error.span is not None and error.span.location() == "sql/gpu.sql:3:10"
    assert "registry.example.com:5000/team/models:1.2" in error.message
    assert error.hint == "allowed image prefixes: ghcr.io/acme"
    _, diagnostics = check_project(
        root,
        allowed_images=["registry.example.com:5000/team"],
        allowed_model_packages=IMAGE_PACKAGES,
    )
    assert not [d for d in diagnostics if d.is_error]
    assert main(["check", str(root), "--allowed-image", "ghcr.io/acme"]) == 1
    assert "SQLML208" in capsys.readouterr().err


def test_the_launcher_is_a_setting_not_sql(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same example compiles to the local launcher by default and to the Kubernetes
    launcher with SQLML_LAUNCHER=kubernetes; its allow-list then guards the SQL."""
    monkeypatch.delenv("SQLML_LAUNCHER", raising=False)
    local = build_defs(EXAMPLE / "sql").resources["sqlml_launcher"]
    assert type(local).__name__ == "LocalLauncher"
    monkeypatch.setenv("SQLML_LAUNCHER", "kubernetes")
    monkeypatch.setenv("SQLML_K8S_NAMESPACE", "ml")
    remote = build_defs(EXAMPLE / "sql").resources["sqlml_launcher"]
    assert isinstance(remote, KubernetesLauncher) and remote.namespace == "ml"
    monkeypatch.setenv("SQLML_K8S_ALLOWED_IMAGES", "registry.internal/")
    with pytest.raises(Exception, match="SQLML208"):
        build_defs(EXAMPLE / "sql")


def test_example_image_statement_runs_as_a_job_with_that_image(
    k8s_cluster: KubernetesTestCluster, tmp_path: Path
) -> None:
    """example_repo's image-prefixed TRAIN (houses.sql) under the kubernetes launcher: a Job
    with the statement's image, which trains and publishes (locally, `make demo` runs it as
    a process and records the image); its PREDICT runs in the image the version was trained
    in — and the dry run (the golden file) shows that same image for both Jobs."""
    state = tmp_path / "state"
    launcher = KubernetesLauncher(
        api_host=k8s_cluster.host,
        python=sys.executable,
        shared_volume_claim="sqlml-state",
        shared_volume_path=str(state),
        watch_seconds=1,
    )
    defs = build_defs(EXAMPLE / "sql", state_dir=state, launcher=launcher)
    keys = {"raw_houses", "house_features", "house_price_gbr", "house_price_predictions"}
    result = dg.materialize(
        [
            a
            for a in defs.assets or []
            if isinstance(a, dg.AssetsDefinition) and {k.to_user_string() for k in a.keys} & keys
        ],
        resources=defs.resources,
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    images = [
        job["spec"]["template"]["spec"]["containers"][0]["image"] for job in k8s_cluster.jobs()
    ]
    assert images == ["ghcr.io/sqlml-dagster/examples:0.1"] * 2  # TRAIN, then PREDICT
    assert (state / "models" / "house_price_gbr" / "1" / "manifest.json").exists()
    dry_run = (GOLDEN / "example_repo.yaml").read_text().split("---\n")
    shown = {
        document.splitlines()[0]: yaml.safe_load(document)["spec"]["template"]["spec"][
            "containers"
        ][0]["image"]
        for document in dry_run
    }
    assert shown["# model house_price_gbr (sql/houses.sql:16)"] == images[0]
    assert shown["# prediction house_price_predictions (sql/houses.sql:29)"] == images[1]


def test_dry_run_respects_the_allow_list_with_locations(
    write_project: Callable[[dict[str, str]], Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = write_project(GPU_PROJECT)
    monkeypatch.setenv("SQLML_K8S_SQL_TOLERATIONS", "nvidia.com/gpu,spot")
    monkeypatch.setenv("SQLML_K8S_ALLOWED_IMAGES", "ghcr.io/acme")
    assert main(["compile", str(root), "--k8s"]) == 1
    err = capsys.readouterr().err
    assert "error[SQLML208]" in err and "sql/gpu.sql:3:10" in err and "Traceback" not in err
    # the default image (for statements naming none) must be allowed too: a message, no trace
    monkeypatch.setenv("SQLML_K8S_ALLOWED_IMAGES", "registry.example.com:5000/team")
    assert main(["compile", str(root), "--k8s"]) == 0  # both steps run in the named image
    (root / "plain.sql").write_text(
        "SELECT x, y FROM d TO TRAIN sklearn.linear_model.LogisticRegression LABEL y INTO plain;"
    )
    assert main(["compile", str(root), "--k8s"]) == 1
    err = capsys.readouterr().err
    assert "not in the launcher's allowed_images" in err and "Traceback" not in err


# -- Pod Security `restricted` -----------------------------------------------------------

STEP = StepSpec(
    kind="train", step_id="t", model_name="iris", model_reference="sklearn.svm.SVC",
    flavor="sklearn", model_uri="/sqlml/models/iris/1",
)  # fmt: skip


@pytest.mark.parametrize(
    ("settings", "violations"),
    [
        ({}, []),  # by default
        ({"shared_volume_claim": "sqlml-state"}, []),
        # Each relaxation is a setting, and fails the profile's check it names.
        ({"run_as_non_root": False}, ["runAsNonRoot != true"]),
        ({"run_as_non_root": False, "run_as_user": 0}, ["runAsNonRoot != true", "runAsUser=0"]),
        ({"seccomp_profile": None}, ["seccompProfile"]),
        ({"seccomp_profile": "Unconfined"}, ["seccompProfile"]),
        ({"allow_privilege_escalation": True}, ["allowPrivilegeEscalation != false"]),
    ],
)  # fmt: skip
def test_step_pods_pass_the_restricted_profile_unless_relaxed(
    settings: dict[str, Any], violations: list[str]
) -> None:
    """Checked by the test API server's Pod Security admission (tests/k8s/admission.py,
    the checks of k8s.io/pod-security-admission/policy), which every launcher test's
    namespace enforces."""
    manifest = KubernetesLauncher(**settings).job_manifest(
        STEP, "/sqlml/data/spec.json", run_id="r", asset_key="iris", suffix="x"
    )
    found = pod_security_violations("restricted", manifest["spec"]["template"]["spec"])
    assert [reason for reason, _ in found] == violations


@pytest.mark.parametrize(
    ("settings", "security_context"),
    [
        ({}, {"runAsUser": 10001, "runAsGroup": 10001}),  # the runtime image's user
        ({"shared_volume_claim": "c"}, {"runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001}),
        ({"shared_volume_claim": "c", "fs_group": 2000}, {"runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 2000}),
        ({"run_as_user": None, "run_as_group": None, "shared_volume_claim": "c"}, {}),
    ],
)  # fmt: skip
def test_pods_run_as_the_runtime_user_and_own_a_shared_volume(
    settings: dict[str, Any], security_context: dict[str, int]
) -> None:
    manifest = KubernetesLauncher(**settings).job_manifest(
        STEP, "/sqlml/data/spec.json", run_id="r", asset_key="iris", suffix="x"
    )
    ids = {"runAsUser", "runAsGroup", "fsGroup"}
    context = manifest["spec"]["template"]["spec"]["securityContext"]
    assert {k: v for k, v in context.items() if k in ids} == security_context


def test_the_runtime_image_runs_as_the_default_user() -> None:
    dockerfile = (Path(__file__).parents[2] / "Dockerfile").read_text()
    assert "groupadd --gid 10001 sqlml" in dockerfile
    assert "useradd --create-home --uid 10001 --gid 10001 sqlml" in dockerfile
    assert "\nUSER 10001:10001\n" in dockerfile


IGNORE_DISRUPTIONS = {
    "action": "Ignore",
    "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}],
}
FAIL_ON_USER_ERROR = {
    "action": "FailJob",
    "onExitCodes": {"containerName": "step", "operator": "In", "values": [65]},
}


@pytest.mark.parametrize(
    ("settings", "environ", "policy"),
    [
        ({}, {}, {"rules": [FAIL_ON_USER_ERROR, IGNORE_DISRUPTIONS]}),  # the default
        ({"pod_failure_policy": None}, {}, None),  # none: every failed pod counts
        ({"pod_failure_policy": {"rules": [IGNORE_DISRUPTIONS]}}, {}, {"rules": [IGNORE_DISRUPTIONS]}),
        ({}, {"SQLML_K8S_POD_FAILURE_POLICY": "null"}, None),
        ({}, {"SQLML_K8S_POD_FAILURE_POLICY": '{"rules": []}'}, {"rules": []}),
    ],
)  # fmt: skip
def test_jobs_fail_fast_on_user_errors_and_retry_disruptions_unless_told_otherwise(
    settings: dict[str, Any], environ: dict[str, str], policy: dict[str, Any] | None
) -> None:
    """The runtime's user-error exit code (the contract's 65) fails the Job at once; pods
    the cluster disrupted are replaced without counting against backoffLimit."""
    launcher = from_env(environ) if environ else KubernetesLauncher(**settings)
    manifest = launcher.job_manifest(
        STEP, "/sqlml/data/spec.json", run_id="r", asset_key="iris", suffix="x"
    )
    assert manifest["spec"].get("podFailurePolicy") == policy
    assert manifest["spec"]["template"]["spec"]["containers"][0]["name"] == "step"
