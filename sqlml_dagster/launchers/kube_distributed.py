"""A training of several pods on Kubernetes: an Indexed Job and a headless Service.

``train.num_workers = W`` asks for W pods training one model together. Kubernetes' own
pieces carry it, nothing of ours schedules: an Indexed Job (``completionMode: Indexed``,
``completions = parallelism = W``) gives each pod its index in ``JOB_COMPLETION_INDEX`` and
the hostname ``<job>-<index>``; a headless Service named like the Job, which the pods name
as their ``subdomain``, makes ``<job>-0.<job>`` resolve to pod 0, where rank 0's
rendezvous store listens. The pods read torchrun's variables (``MASTER_ADDR``,
``MASTER_PORT``, ``WORLD_SIZE``, ``LOCAL_WORLD_SIZE``) and the runtime makes each pod's
rank from its index (``runtime/dl/distributed.py``). A pod that fails fails the Job at once
(``backoffLimit: 0``): its replacement could not rejoin a group that has lost it, so the
training is retried whole, by Dagster. The launcher deletes the Service with the Job.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from ..contract import distributed as contract
from ..contract.spec import StepSpec

#: The annotation (and label) the Job controller gives each pod of an Indexed Job.
INDEX_ANNOTATION = "batch.kubernetes.io/job-completion-index"


def pods_of(spec: StepSpec) -> int:
    """How many pods the step's Job runs: ``train.num_workers`` for a training of a flavor
    that trains in several processes (an XGBoost statement of SQLFlow's may ask for workers:
    it trains in one pod, with a warning from ``sqlml check``)."""
    if spec.kind != "train" or spec.flavor not in contract.DISTRIBUTED_FLAVORS:
        return 1
    return contract.num_workers(spec.params)


def indexed_job(job: dict[str, Any], spec: StepSpec, port: int) -> dict[str, Any]:
    """``job`` as an Indexed Job of ``pods_of(spec)`` pods rendezvousing through the Service
    :func:`service_manifest` makes; ``job`` itself when the step runs in one pod."""
    pods = pods_of(spec)
    if pods <= 1:
        return job
    job = copy.deepcopy(job)
    name = job["metadata"]["name"]
    job_spec = job["spec"]
    job_spec.update(
        {"completionMode": "Indexed", "completions": pods, "parallelism": pods, "backoffLimit": 0}
    )
    pod_spec = job_spec["template"]["spec"]
    pod_spec["subdomain"] = name
    per_pod = contract.processes_per_pod(spec.params)
    for container in pod_spec["containers"]:
        container["env"] = [
            *container.get("env", []),
            {"name": contract.MASTER_ADDR, "value": f"{name}-0.{name}"},
            {"name": contract.MASTER_PORT, "value": str(port)},
            {"name": contract.WORLD_SIZE, "value": str(pods * per_pod)},
            {"name": contract.LOCAL_WORLD_SIZE, "value": str(per_pod)},
        ]
        container["ports"] = [{"name": "rendezvous", "containerPort": port}]
    return job


def service_manifest(job: dict[str, Any]) -> dict[str, Any] | None:
    """The headless Service an Indexed Job's pods find pod 0 through (``None`` for a Job of
    one pod): named like the Job, selecting its pods, published before they are ready
    (rank 0 listens before any readiness would be reported)."""
    if job["spec"].get("completionMode") != "Indexed":
        return None
    meta = job["metadata"]
    port = job["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"]
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": meta["name"],
            "namespace": meta["namespace"],
            "labels": dict(meta["labels"]),
        },
        "spec": {
            "clusterIP": "None",
            "selector": {"job-name": meta["name"]},
            "publishNotReadyAddresses": True,
            "ports": [{"name": "rendezvous", "port": port, "targetPort": port}],
        },
    }


def rank_zero(pods: Sequence[Any]) -> list[Any]:
    """The pods whose log carries the step's messages: index 0's of an Indexed Job (the
    others' ranks report nothing), every pod of another Job."""
    indexed = [p for p in pods if INDEX_ANNOTATION in (p.metadata.annotations or {})]
    if not indexed:
        return list(pods)
    return [p for p in indexed if p.metadata.annotations[INDEX_ANNOTATION] == "0"]
