"""``sqlml compile PATH --k8s``: the Job manifest every ML step would create (and the
headless Service beside a Job of several pods), without a
cluster — for review, for ``kubectl apply --dry-run``, and as golden files in tests.

The specs come from each statement kind's materializer (``step_spec``, the same function a
materialization calls) and the manifests from the same ``KubernetesLauncher.job_manifest``
that launches real steps, configured from ``SQLML_K8S_*`` like a deployment; run-specific
parts (run id, version numbers, the Pipes bootstrap environment) are placeholders.
"""

from __future__ import annotations

import os
import posixpath

import yaml

from ..compiler.ir import QualifiedName
from ..compiler.project import Node, Project
from ..contract import StepSpec
from ..contract.step_data import data_format_for
from ..launchers import launcher_from_env
from .materializers import materializer_for
from .places import PENDING_VERSION, ScoredModel, StepInputs
from .trials import Search

DRY_RUN_ID = "dry-run"


def job_manifests_yaml(project: Project, data_store: str, model_store: str) -> str:
    from ..launchers.kube_distributed import service_manifest
    from ..launchers.kubernetes import KubernetesLauncher

    launcher = launcher_from_env(os.environ, kind="kubernetes")
    assert isinstance(launcher, KubernetesLauncher)  # the kind asked for
    documents = []
    for node in project.nodes:
        spec = step_spec(node, data_store, model_store, project)
        if spec is None:
            continue
        spec_uri = f"{data_store}/{DRY_RUN_ID}/{'/'.join(node.name.asset_path)}/spec.json"
        manifest = launcher.job_manifest(
            spec,
            spec_uri,
            run_id=DRY_RUN_ID,
            asset_key="/".join(node.name.asset_path),
            suffix="0000",
        )
        header = f"# {node.kind.value} {node.name} ({node.file}:{node.statement.span.line})\n"
        search = Search.of(spec.params) if spec.kind == "train" else None
        if search is not None:  # the search space shows in the spec as JSON
            header += (
                f"# a hyper-parameter search: one such Job per trial, {search.num_trials} "
                f"trials, at most {search.max_parallel} at once, each with its sampled values\n"
            )
        documents.append(header + yaml.safe_dump(manifest, sort_keys=False))
        service = service_manifest(manifest)
        if service is not None:  # train.num_workers: the pods' rendezvous (kube_distributed)
            documents.append(
                f"# the headless Service the {manifest['spec']['completions']} pods of "
                f"{node.name}'s Job find rank 0 through\n"
                + yaml.safe_dump(service, sort_keys=False)
            )
    return "---\n".join(documents)


def step_spec(
    node: Node, data_store: str, model_store: str, project: Project | None = None
) -> StepSpec | None:
    """The StepSpec a materialization of ``node`` would write, with placeholder URIs
    (``<version>``: the version a training reserves; ``<latest>``: the one a scoring
    step loads). A scoring step runs in the image its model was trained in — a real run
    reads it from the version's manifest; here it is the training statement's, found in
    ``project``."""
    build = materializer_for(node.statement).step_spec
    if build is None:  # runs in the warehouse alone
        return None
    scored = node.statement.scored_model
    places = StepInputs(
        step_id=f"{DRY_RUN_ID}/{node.name}",
        step_uri=f"{data_store}/{DRY_RUN_ID}/{'/'.join(node.name.asset_path)}",
        model_uri=posixpath.join(model_store, node.name.key, PENDING_VERSION),
        model=ScoredModel.unresolved(scored[0].key, model_store, _trained_image(project, scored[0]))
        if scored
        else None,
        data_format=data_format_for(data_store),
    )
    return build(node, places)


def _trained_image(project: Project | None, model: QualifiedName) -> str | None:
    """The image the project's TO TRAIN of ``model`` names (None: the launcher's default,
    or a model the project does not train)."""
    if project is None:
        return None
    for candidate in project.models:
        if model.key in (name.key for name in candidate.outputs):
            trained = getattr(candidate.statement, "model", None)
            return getattr(trained, "image", None)
    return None
