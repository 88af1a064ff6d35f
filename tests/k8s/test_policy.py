"""SQL narrows the operator's cluster policy, never widens it (docs/security.md, "Cluster
policy"): node labels may be added, not changed; only the taints the operator lists may be
tolerated, never NoExecute, never the control plane's; images match the allow-list at
host:port boundaries; an empty allow-list warns when the definitions load.

Each refusal is checked where it bites: the manifest a step would create (the Kubernetes
launcher's ``job_manifest``, which ``sqlml compile --k8s`` prints and ``launch`` creates).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from sqlml_dagster.contract import StepSpec, image_allowed
from sqlml_dagster.contract.settings import ALLOWED_IMAGES_ENV, allowed_images_from_env
from sqlml_dagster.launchers.base import StepFailed
from sqlml_dagster.launchers.kube_policy import PolicyViolation, checked_tolerations
from sqlml_dagster.launchers.kubernetes import KubernetesLauncher


def spec(**resources: object) -> StepSpec:
    return StepSpec(
        kind="train",
        step_id="s",
        model_name="m",
        model_reference="sklearn.linear_model.LogisticRegression",
        flavor="sklearn",
        input_uri="s3://b/in.parquet",
        model_uri="s3://b/models/m/1",
        output_uri="s3://b/out",
        params={"resources": dict(resources)},
    )


def manifest(launcher: KubernetesLauncher, **resources: object) -> dict[str, object]:
    return launcher.job_manifest(spec(**resources), "s3://b/spec.json", run_id="r", asset_key="m")


def pod(launcher: KubernetesLauncher, **resources: object) -> dict[str, object]:
    job = manifest(launcher, **resources)
    return job["spec"]["template"]["spec"]  # type: ignore[index,no-any-return]


NODE_SELECTORS = [
    # (operator's, statement's, resulting selector or the refusal)
    ({}, "gpu-type=a100", {"gpu-type": "a100"}),
    ({"pool": "ml"}, "gpu-type=a100", {"pool": "ml", "gpu-type": "a100"}),
    ({"pool": "ml"}, "pool=ml", {"pool": "ml"}),
    (
        {"pool": "ml"},
        "pool=system",
        "resources.node_selector pool=system contradicts the launcher's node_selector "
        "pool=ml; SQL can add node labels, not change them",
    ),
]


@pytest.mark.parametrize(("operator", "written", "expected"), NODE_SELECTORS)
def test_sql_adds_node_labels_but_cannot_change_the_operator_s(
    operator: dict[str, str], written: str, expected: object
) -> None:
    launcher = KubernetesLauncher(node_selector=operator)
    if isinstance(expected, str):
        with pytest.raises(StepFailed) as failure:
            pod(launcher, node_selector=written)
        assert str(failure.value) == f"train step for 'm': {expected}"
    else:
        assert pod(launcher, node_selector=written)["nodeSelector"] == expected


TOLERATIONS = [
    # (statement's tolerations, the whole refusal or None)
    (["nvidia.com/gpu=present:NoSchedule"], None),
    (["nvidia.com/gpu:PreferNoSchedule"], None),
    (
        ["nvidia.com/gpu:NoExecute"],
        "resources.tolerations 'nvidia.com/gpu:NoExecute': NoExecute cannot be tolerated "
        "from SQL; write the effect NoSchedule or PreferNoSchedule",
    ),
    (
        ["nvidia.com/gpu"],
        "resources.tolerations 'nvidia.com/gpu': name the effect (NoSchedule or "
        "PreferNoSchedule); without one it would tolerate NoExecute too",
    ),
    (
        ["node-role.kubernetes.io/control-plane:NoSchedule"],
        "resources.tolerations 'node-role.kubernetes.io/control-plane:NoSchedule': the "
        "cluster's own taint node-role.kubernetes.io/control-plane cannot be tolerated from SQL",
    ),
    (
        ["node.kubernetes.io/unreachable:NoSchedule"],
        "resources.tolerations 'node.kubernetes.io/unreachable:NoSchedule': the cluster's "
        "own taint node.kubernetes.io/unreachable cannot be tolerated from SQL",
    ),
    (
        [":NoSchedule"],
        "resources.tolerations ':NoSchedule': a toleration without a key tolerates every "
        "taint; name the taint",
    ),
    (
        ["dedicated=finance:NoSchedule"],
        "resources.tolerations 'dedicated=finance:NoSchedule': taint dedicated is not in the "
        "launcher's sql_tolerations (nvidia.com/gpu)",
    ),
]


@pytest.mark.parametrize(("written", "refusal"), TOLERATIONS)
def test_sql_tolerates_only_the_taints_the_operator_lists(
    written: list[str], refusal: str | None
) -> None:
    """A refusal is one line naming the toleration as written and what to write instead."""
    launcher = KubernetesLauncher(tolerations=[{"key": "spot", "operator": "Exists"}])
    if refusal is not None:
        with pytest.raises(StepFailed) as failure:
            pod(launcher, tolerations=written)
        assert str(failure.value) == f"train step for 'm': {refusal}"
        return
    tolerations = pod(launcher, tolerations=written)["tolerations"]
    assert tolerations[0] == {"key": "spot", "operator": "Exists"}  # the operator's, first
    assert tolerations[1]["key"] == "nvidia.com/gpu"


def test_a_toleration_missing_its_key_or_effect_entry_is_refused_as_an_empty_one() -> None:
    """``checked_tolerations`` takes mappings as a hand-written StepSpec holds them: an
    absent ``key`` or ``effect`` is refused exactly like an empty one, and shown empty."""
    with pytest.raises(PolicyViolation) as no_key:
        checked_tolerations([{"effect": "NoSchedule"}], ["nvidia.com/gpu"])
    assert str(no_key.value) == (
        "resources.tolerations ':NoSchedule': a toleration without a key tolerates every "
        "taint; name the taint"
    )
    with pytest.raises(PolicyViolation) as no_effect:
        checked_tolerations([{"key": "nvidia.com/gpu"}], ["nvidia.com/gpu"])
    assert str(no_effect.value) == (
        "resources.tolerations 'nvidia.com/gpu': name the effect (NoSchedule or "
        "PreferNoSchedule); without one it would tolerate NoExecute too"
    )


def test_the_operator_widens_what_sql_may_tolerate() -> None:
    launcher = KubernetesLauncher(sql_tolerations=["nvidia.com/gpu", "dedicated"])
    assert pod(launcher, tolerations=["dedicated=finance:NoSchedule"])["tolerations"] == [
        {"key": "dedicated", "operator": "Equal", "value": "finance", "effect": "NoSchedule"}
    ]
    with pytest.raises(StepFailed, match=r"sql_tolerations \(none\)"):
        pod(KubernetesLauncher(sql_tolerations=[]), tolerations=["nvidia.com/gpu:NoSchedule"])


IMAGES = [
    # (image, allow-list, allowed)
    ("registry.example.com/team/m:1", ["registry.example.com"], True),
    ("registry.example.com:5000/team/m:1", ["registry.example.com"], False),
    ("registry.example.com.evil.io/team/m:1", ["registry.example.com"], False),
    ("registry.example.com:5000/team/m:1", ["registry.example.com:5000"], True),
    ("registry.example.com:50001/team/m:1", ["registry.example.com:5000"], False),
    ("localhost:5000/m:1", ["localhost"], False),
    ("localhost/m:1", ["localhost"], True),
    # a host:port without a dot is still a host: 'registry:5000@sha256:…' is Docker Hub's
    # library/registry at tag 5000, not an image on the registry at registry:5000
    ("registry:5000/m:1", ["registry:5000"], True),
    ("registry:5000@sha256:" + "c" * 64, ["registry:5000"], False),
    ("ghcr.io/acme/models:1", ["ghcr.io/acme"], True),
    ("ghcr.io/acme:1", ["ghcr.io/acme"], True),
    ("ghcr.io/acme@sha256:" + "a" * 64, ["ghcr.io/acme"], True),
    ("ghcr.io/acme-evil/models:1", ["ghcr.io/acme"], False),
    ("ghcr.io/acmex", ["ghcr.io/acme"], False),
    ("python:3.11", ["python"], True),
    ("pythonx:3.11", ["python"], False),
    ("ghcr.io/acme-evil/x", ["ghcr.io/acme-"], False),  # a prefix ends at a boundary
    # a prefix that ends in a boundary is taken as written
    ("ghcr.io/acme/models:1", ["ghcr.io/acme/"], True),
    ("ghcr.io/acme-evil/models:1", ["ghcr.io/acme/"], False),
    ("ghcr.io/acme/models:1.2", ["ghcr.io/acme/models:"], True),
    ("ghcr.io/acme/models:1.2", ["ghcr.io/acme/other:"], False),
    ("ghcr.io/acme/models@sha256:" + "b" * 64, ["ghcr.io/acme/models@"], True),
    ("ghcr.io/acme/models:1", ["ghcr.io/acme/models:1"], True),  # exactly the prefix
    ("ghcr.io/acme/models:1", ["quay.io/x", "ghcr.io/acme"], True),  # any of several
    ("ghcr.io/acme/models:1", ["quay.io/x", "docker.io/y"], False),
    ("anything/at:all", [], True),  # no allow-list: any image (and a warning at load)
]


@pytest.mark.parametrize(("image", "prefixes", "allowed"), IMAGES)
def test_image_allow_list_boundaries(image: str, prefixes: list[str], allowed: bool) -> None:
    assert image_allowed(image, prefixes) is allowed


@pytest.mark.parametrize(
    ("written", "prefixes"),
    [
        (None, []),  # not set: no allow-list
        ("", []),
        ("ghcr.io/acme", ["ghcr.io/acme"]),
        (
            " ghcr.io/acme , registry.example.com:5000 ,",
            ["ghcr.io/acme", "registry.example.com:5000"],
        ),
        (" , ,", []),  # only separators and spaces: no allow-list, not an empty prefix
    ],
)
def test_the_allow_list_as_deployments_set_it(written: str | None, prefixes: list[str]) -> None:
    """``SQLML_K8S_ALLOWED_IMAGES``: comma-separated prefixes, spaces around each ignored; an
    empty prefix would allow every image, so none is ever read."""
    environ = {} if written is None else {ALLOWED_IMAGES_ENV: written}
    assert allowed_images_from_env(environ) == prefixes


def test_an_empty_allow_list_warns_when_the_definitions_load(tmp_path: Path) -> None:
    from sqlml_dagster import build_defs

    root = tmp_path / "sql"
    root.mkdir()
    (root / "t.sql").write_text("CREATE TABLE t AS SELECT 1 AS a;\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build_defs(root, state_dir=tmp_path / "state", launcher=KubernetesLauncher())
    messages = [str(w.message) for w in caught]
    assert any("allowed_images is empty" in m for m in messages), messages
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build_defs(
            root,
            state_dir=tmp_path / "state",
            launcher=KubernetesLauncher(allowed_images=["ghcr.io/acme/"]),
        )
    assert not [w for w in caught if "allowed_images" in str(w.message)]


@pytest.mark.parametrize(
    ("allowed", "listed"),
    [(["nvidia.com/gpu", "spot"], "nvidia.com/gpu, spot"), ([], "none")],
)
def test_a_taint_outside_sql_tolerations_is_refused_naming_every_allowed_one(
    allowed: list[str], listed: str
) -> None:
    with pytest.raises(PolicyViolation) as refused:
        checked_tolerations([{"key": "dedicated", "effect": "NoSchedule"}], allowed)
    assert str(refused.value) == (
        "resources.tolerations 'dedicated:NoSchedule': taint dedicated is not in the "
        f"launcher's sql_tolerations ({listed})"
    )
