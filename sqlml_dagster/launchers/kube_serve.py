"""``sqlml compile --k8s --serve M@V``: a Deployment and a Service that serve one model
reference over HTTP (``python -m sqlml_dagster.serving``), with the pod defaults of the
step Jobs — Pod Security ``restricted`` unless a launcher setting relaxes it, the same
image allow-list, node selector, tolerations, service account, pull secrets and
environment (credentials only by Secret reference) — so a cluster that runs the steps
runs the server too."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import StepFailed
from .kubernetes import MANAGED_BY, dns_label

if TYPE_CHECKING:
    from ..contract.model_packages import ModelPackages
    from .kubernetes import KubernetesLauncher

#: The serving module a pod runs (no Dagster in the image).
SERVING_MODULE = "sqlml_dagster.serving"
SERVE_CONTAINER = "serve"


def serving_manifests(
    launcher: KubernetesLauncher,
    reference: str,
    *,
    model_store: str,
    image: str | None = None,
    port: int = 8080,
    replicas: int = 1,
    model_packages: ModelPackages | None = None,
) -> list[dict[str, Any]]:
    """The Deployment and Service serving ``reference`` (``churn@7``) from ``model_store``
    with ``image`` (the training statement's, else the launcher's default).
    ``model_packages``: the project's, which the server may load model classes from (the
    image holds their code), as its steps may."""
    from ..contract import image_allowed

    chosen = image or launcher.default_image
    if not chosen:
        raise StepFailed(
            description=f"serving {reference}: no image (the model's TO TRAIN names none and "
            "the kubernetes launcher has no default_image)"
        )
    if not image_allowed(chosen, launcher.allowed_images):
        raise StepFailed(
            description=f"image '{chosen}' is not in the launcher's allowed_images "
            f"({', '.join(launcher.allowed_images)})"
        )
    name = dns_label(f"sqlml-serve-{reference.replace('@', '-')}")
    labels = {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/component": "model-server",
        "app.kubernetes.io/managed-by": MANAGED_BY,
        "sqlml/model": dns_label(reference.partition("@")[0]),
    }
    annotations = {"sqlml/model-reference": reference, "sqlml/model-store": model_store}
    probe = {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10}
    container: dict[str, Any] = {
        "name": SERVE_CONTAINER,
        "image": chosen,
        "command": [
            launcher.python,
            "-m",
            SERVING_MODULE,
            reference,
            "--host",
            "0.0.0.0",
            "--port",
            str(port),
            "--model-store",
            model_store,
        ],
        "ports": [{"name": "http", "containerPort": port}],
        "readinessProbe": {**probe, "initialDelaySeconds": 2},
        "livenessProbe": {**probe, "initialDelaySeconds": 30, "failureThreshold": 3},
        "securityContext": {
            "allowPrivilegeEscalation": launcher.allow_privilege_escalation,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    env = {**launcher.env}  # the operator's non-secret settings (a store's endpoint…)
    if model_packages is not None and (model_packages.project or model_packages.allowed):
        env.update(model_packages.step_env())
    if env:
        container["env"] = [{"name": k, "value": v} for k, v in env.items()]
    if launcher.env_from_secrets:  # storage credentials, by reference only
        container["envFrom"] = [{"secretRef": {"name": s}} for s in launcher.env_from_secrets]
    pod: dict[str, Any] = {
        "securityContext": launcher.pod_security_context(),
        "containers": [container],
    }
    if launcher.node_selector:
        pod["nodeSelector"] = dict(launcher.node_selector)
    if launcher.tolerations:
        pod["tolerations"] = list(launcher.tolerations)
    pod.update(launcher.pod_identity())
    metadata = {
        "name": name,
        "namespace": launcher.namespace,
        "labels": labels,
        "annotations": annotations,
    }
    selector = {"app.kubernetes.io/name": name, "app.kubernetes.io/component": "model-server"}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata,
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": selector},
            "template": {"metadata": {"labels": dict(labels)}, "spec": pod},
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata,
        "spec": {
            "selector": selector,
            "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
        },
    }
    return [deployment, service]
