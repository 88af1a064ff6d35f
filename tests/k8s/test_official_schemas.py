"""Every manifest the project generates is valid for Kubernetes itself — checked against
the official OpenAPI schemas of each Kubernetes version we support, strictly (a field the
API does not define is an error, as ``kubectl apply --validate=strict`` makes it), with
``kubernetes-validate``'s bundled schemas (no network): the golden Jobs of ``sqlml compile
--k8s``, the Job and Secret the launcher creates at run time, and the Deployment and
Service of ``sqlml compile --k8s --serve``. The test API server (``harness.py``) accepts
what our launcher sends; these schemas are what a real cluster accepts."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import schema_contents

from sqlml_dagster.contract import StepSpec
from sqlml_dagster.launchers.kube_secrets import secret_manifest
from sqlml_dagster.launchers.kubernetes import from_env
from tests.k8s.test_manifests import GPU_PROJECT, K8S_ENV, compile_k8s
from tests.test_serving import PROJECT as SERVED_PROJECT
from tests.test_serving import _cli as cli

#: The Kubernetes minor versions sqlml supports (docs/kubernetes.md): 1.31 brought the Job
#: controller's ``FailureTarget`` condition and ``podFailurePolicy`` as the launcher uses it.
SUPPORTED_KUBERNETES = ("1.31", "1.32", "1.33", "1.34", "1.35", "1.36")

GOLDEN = Path(__file__).parent.parent / "golden" / "k8s"


def problems(manifest: dict[str, Any], version: str) -> str | None:
    """Why the official strict schema of ``version`` refuses ``manifest`` (None: valid)."""
    error = jsonschema.exceptions.best_match(
        validator(version, manifest["apiVersion"], manifest["kind"]).iter_errors(manifest)
    )
    if error is None:
        return None
    where = "/".join(str(p) for p in error.path)
    return f"{manifest['kind']} {manifest['metadata'].get('name')}: {where}: {error.message}"


@functools.cache
def validator(version: str, api_version: str, kind: str) -> Any:
    """``kubernetes_validate.validate(…, strict=True)``'s validator, built once per schema
    (the library reads the definitions file, megabytes, at every call)."""
    from referencing import Registry, Resource

    folder = f"kubernetes-json-schema/v{version}.0-local-strict"
    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    schema = schema_contents(f"{folder}/{kind.lower()}-{group}.json", version)
    definitions = schema_contents(f"{folder}/_definitions.json", version)
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def test_the_cached_validator_agrees_with_kubernetes_validate() -> None:
    (_, job), *_ = golden_documents()
    assert problems(job, "1.31") is None
    kubernetes_validate.validate(job, "1.31", strict=True)
    broken = {**job, "spec": {**job["spec"], "backoffLimitt": 1}}
    assert problems(broken, "1.31") is not None
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, "1.31", strict=True)


def golden_documents() -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{path.name}#{i}", document)
        for path in sorted(GOLDEN.glob("*.yaml"))
        for i, document in enumerate(yaml.safe_load_all(path.read_text()))
        if document
    ]


@pytest.mark.parametrize("version", SUPPORTED_KUBERNETES)
@pytest.mark.parametrize(
    ("name", "manifest"), golden_documents(), ids=[n for n, _ in golden_documents()]
)
def test_every_golden_manifest_is_valid_for_every_supported_kubernetes(
    name: str, manifest: dict[str, Any], version: str
) -> None:
    assert problems(manifest, version) is None


def test_the_golden_files_hold_the_jobs_we_generate() -> None:
    kinds = {m["kind"] for _, m in golden_documents()}
    assert "Job" in kinds
    assert len(golden_documents()) >= 12


@pytest.mark.parametrize("version", SUPPORTED_KUBERNETES)
def test_compiled_jobs_are_valid(
    version: str,
    write_project: Callable[[dict[str, str]], Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SQLML_ALLOWED_MODEL_PACKAGES", "my_models")
    for key, value in K8S_ENV.items():
        monkeypatch.setenv(key, value)
    documents = list(yaml.safe_load_all(compile_k8s(write_project(GPU_PROJECT), capsys)))
    assert [d["kind"] for d in documents] == ["Job", "Job"]
    assert [problems(d, version) for d in documents] == [None, None]


@pytest.mark.parametrize("version", SUPPORTED_KUBERNETES)
def test_the_job_and_secret_the_launcher_creates_are_valid(version: str) -> None:
    """At run time: credentials in a Secret the Job reads, a deadline from
    ``train.max_runtime``, GPUs, node selector and tolerations."""
    launcher = from_env(K8S_ENV)
    spec = StepSpec(
        kind="train",
        step_id="s",
        model_name="m",
        model_reference="DNNClassifier",
        flavor="pytorch",
        params={
            "train": {"max_runtime": "6h", "checkpoint_every": 1},
            "resources": {"gpu": 1, "cpu": "2", "memory": "4Gi", "node_selector": "a=b"},
        },
        input_uri="s3://bucket/data/input.parquet",
        model_uri="s3://bucket/models/m/1",
    )
    env = {"AWS_SECRET_ACCESS_KEY": "s3cr3t", "AWS_ACCESS_KEY_ID": "id", "SQLML_X": "1"}
    job = launcher.job_manifest(spec, "s3://bucket/spec.json", run_id="r1", asset_key="m", env=env)
    assert job["spec"]["activeDeadlineSeconds"] == 6 * 3600
    secret = secret_manifest(job["metadata"]["name"], "ml", {"a": "b"}, {"K": "v"})
    assert problems(job, version) is None
    assert problems(secret, version) is None


@pytest.mark.parametrize("version", SUPPORTED_KUBERNETES)
def test_the_serving_deployment_and_service_are_valid(
    version: str, write_project: Callable[[dict[str, str]], Path]
) -> None:
    root = write_project({"points.sql": SERVED_PROJECT})
    code, out, _ = cli("compile", str(root), "--k8s", "--serve", "m@1", "--model-store", "s3://b")
    assert code == 0
    documents = list(yaml.safe_load_all(out))
    assert [d["kind"] for d in documents] == ["Deployment", "Service"]
    assert [problems(d, version) for d in documents] == [None, None]


@pytest.mark.parametrize(
    ("change", "refused"),
    [
        # a field Kubernetes does not define: strict validation refuses it
        (lambda job: job["spec"].update(backoffLimitt=1), "backoffLimitt"),
        (lambda job: job["spec"]["template"]["spec"]["containers"][0].update(gpu=1), "gpu"),
        # a field of the wrong type
        (lambda job: job["spec"].update(activeDeadlineSeconds="6h"), "6h"),
    ],
    ids=["misspelled", "unknown-in-container", "wrong-type"],
)
def test_the_schemas_are_strict(change: Callable[[dict[str, Any]], None], refused: str) -> None:
    """The check has teeth: what a real API server refuses, it refuses."""
    (_, job), *_ = golden_documents()
    job = yaml.safe_load(yaml.safe_dump(job))  # a copy
    change(job)
    found = problems(job, SUPPORTED_KUBERNETES[0])
    assert found is not None and refused in found
