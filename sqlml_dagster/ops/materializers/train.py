"""``SELECT … TO TRAIN model WITH … [COLUMN …] LABEL y INTO m``: a new model version."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from ...compiler.ir import TrainStatement
from ...compiler.project import Node
from ...compiler.render import to_sql
from ...contract import StepSpec
from ...store import ModelVersion
from ...store.errors import ModelNotFound
from .base import Materializer, StepInputs, StepResults
from .versions import digest, publish_new_version, unchanged_version

if TYPE_CHECKING:
    from ..step import AssetStep


def run(step: AssetStep) -> StepResults:
    """``TO TRAIN``: export the SELECT, train into a new version, publish it — unless the
    fingerprint (normalized statement, params, training data, image) equals that of the
    version ``@latest`` resolves to, which is then reused."""
    node = step.node
    statement = node.statement
    assert isinstance(statement, TrainStatement)
    data, step_uri, input_uri, exported = step.export_input(statement.select)
    step.context.log.info(f"exported {exported.rows} training rows to {input_uri}")
    data_fingerprint = exported.fingerprint
    validation_uri = None
    if statement.validation_select is not None:
        _, _, validation_uri, validated = step.export_input(
            statement.validation_select, "validation.parquet"
        )
        step.context.log.info(f"exported {validated.rows} validation rows to {validation_uri}")
        data_fingerprint = digest(data_fingerprint, validated.fingerprint)
    params = statement.params_by_namespace()
    model = statement.model
    base = warm_start(step, statement)
    if base is not None:
        step.context.log.info(f"training continues from {base.model} v{base.version}")
    fingerprint = digest(
        _normalized(statement),
        [s.fingerprint for s in node.session],
        data_fingerprint,
        model.reference,
        model.image,
        *(code for code in [step.model_code_fingerprint(model.reference)] if code),
        *([base.manifest.fingerprint] if base is not None else []),
    )
    unchanged = unchanged_version(step, fingerprint)
    if unchanged is not None:
        yield unchanged
        return

    def spec_for(model_uri: str) -> StepSpec:
        spec = step_spec(node, step.places(step_uri, model_uri=model_uri))
        return spec if base is None else dataclasses.replace(spec, warm_start_uri=base.uri)

    yield publish_new_version(
        step,
        data,
        step_uri,
        spec_for,
        fingerprint=fingerprint,
        data_fingerprint=data_fingerprint,
        manifest_fields=lambda result: {
            "model_reference": model.reference,
            "image": model.image,
            "params": {**params, "model": result.params or params.get("model", {})},
            "metrics": dict(result.metrics),
            "label": statement.label,
            "training_rows": result.training_rows
            if result.training_rows is not None
            else exported.rows,
        },
    )


def step_spec(node: Node, places: StepInputs) -> StepSpec:
    """The train step of ``node``: its SELECT's rows in ``input.parquet`` (and
    ``validation.select``'s in ``validation.parquet``), fitted into ``places.model_uri``."""
    statement = node.statement
    assert isinstance(statement, TrainStatement)
    params = statement.params_by_namespace()
    return StepSpec(
        kind="train",
        step_id=places.step_id,
        model_name=node.name.key,
        model_reference=statement.model.reference,
        flavor=statement.model.flavor,
        params=params,
        input_uri=places.input_uri,
        label=statement.label,
        model_uri=places.model_uri,
        image=statement.model.image,
        seed=int(params.get("train", {}).get("seed", 0)),
        columns=feature_columns(statement),
        validation_uri=places.validation_uri if statement.validation_select is not None else None,
    )


def warm_start(step: AssetStep, statement: TrainStatement) -> ModelVersion | None:
    """The version SQLFlow's ``USING <trained model>`` continues from: that model's
    (``@latest`` or its pin), or — for ``USING m INTO m`` — the model's own latest version,
    None while it has none (the first version trains from scratch)."""
    if statement.warm_start is None:
        return None
    if statement.continues_itself and statement.warm_start_version is None:
        try:
            return step.storage.models().get(statement.into.key)
        except ModelNotFound:
            return None
    return step.model_version(statement.warm_start, statement.warm_start_version)


def feature_columns(statement: TrainStatement) -> dict[str, list[dict[str, Any]]] | None:
    """The COLUMN clauses as the runtime reads them: constructor argument → columns."""
    if not statement.columns:
        return None
    return {g.argument: [c.to_json() for c in g.columns] for g in statement.columns}


def _normalized(statement: TrainStatement) -> str:
    """The statement's canonical SQL without ``train.force``, which says *whether* to
    train, not *what*: toggling it must not change the fingerprint."""
    kept = tuple(p for p in statement.params if p.key != "train.force")
    return to_sql(dataclasses.replace(statement, params=kept))


MATERIALIZER = Materializer(kind=TrainStatement.KIND, run=run, step_spec=step_spec)
