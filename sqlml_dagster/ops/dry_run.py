"""``sqlml compile PATH --k8s``: the Job manifest every ML step would create, without a
cluster — for review, for ``kubectl apply --dry-run``, and as golden files in tests.

The manifests come from the same :meth:`KubernetesLauncher.job_manifest` that launches
real steps, configured from ``SQLML_K8S_*`` like a deployment; run-specific parts (run id,
version numbers, the Pipes bootstrap environment) are placeholders.
"""

from __future__ import annotations

import os
from typing import Any

import yaml

from ..compiler.ir import (
    CreateModelStatement,
    EvaluateStatement,
    ExplainStatement,
    PredictStatement,
    TrainStatement,
)
from ..compiler.project import Node, Project
from ..runtime.spec import StepKind, StepSpec
from .kubernetes import launcher_from_env
from .steps import feature_columns

DRY_RUN_ID = "dry-run"


def job_manifests_yaml(project: Project, data_store: str, model_store: str) -> str:
    launcher = launcher_from_env({**os.environ, "SQLML_LAUNCHER": "kubernetes"})
    assert launcher is not None
    documents = []
    for node in project.nodes:
        spec = step_spec(node, data_store, model_store)
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
        documents.append(header + yaml.safe_dump(manifest, sort_keys=False))
    return "---\n".join(documents)


def step_spec(node: Node, data_store: str, model_store: str) -> StepSpec | None:
    """The StepSpec a materialization of ``node`` would write, with placeholder URIs."""
    statement = node.statement
    base = f"{data_store}/{DRY_RUN_ID}/{'/'.join(node.name.asset_path)}"
    common: dict[str, Any] = {"step_id": f"{DRY_RUN_ID}/{node.name}", "model_name": node.name.key}
    if isinstance(statement, TrainStatement):
        params = statement.params_by_namespace()
        return StepSpec(
            kind="train",
            **common,
            model_reference=statement.model.reference,
            flavor=statement.model.flavor,
            params=params,
            input_uri=f"{base}/input.parquet",
            label=statement.label,
            model_uri=f"{model_store}/{node.name.key}/<version>",
            image=statement.model.image,
            seed=int(params.get("train", {}).get("seed", 0)),
            columns=feature_columns(statement),
            validation_uri=f"{base}/validation.parquet"
            if statement.validation_select is not None
            else None,
        )
    if isinstance(statement, CreateModelStatement):
        return StepSpec(
            kind="register",
            **common,
            model_reference=statement.model_type or "",
            flavor=statement.flavor or "sklearn",
            input_uri=statement.uri or "",
            model_uri=f"{model_store}/{node.name.key}/<version>",
        )
    if isinstance(statement, (PredictStatement, EvaluateStatement, ExplainStatement)):
        model = statement.using if isinstance(statement, PredictStatement) else statement.model
        kind: StepKind = (
            "predict"
            if isinstance(statement, PredictStatement)
            else "evaluate"
            if isinstance(statement, EvaluateStatement)
            else "explain"
        )
        return StepSpec(
            kind=kind,
            step_id=common["step_id"],
            model_name=model.key,
            model_reference="<from the model version>",
            flavor="<from the model version>",
            params=statement.params_by_namespace(),
            input_uri=f"{base}/input.parquet",
            model_uri=f"{model_store}/{model.key}/<latest>",
            output_uri=f"{base}/output.parquet",
            label=statement.label if isinstance(statement, EvaluateStatement) else None,
            prediction_column=statement.column if isinstance(statement, PredictStatement) else None,
            explainer=statement.explainer if isinstance(statement, ExplainStatement) else None,
        )
    return None
