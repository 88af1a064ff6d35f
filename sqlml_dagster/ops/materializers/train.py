"""``SELECT … TO TRAIN model WITH … [COLUMN …] LABEL y INTO m``: a new model version."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from ...compiler.ir import TrainStatement
from ...compiler.project import Node
from ...compiler.render import to_sql
from ...contract import StepSpec
from ..changes import digest
from .base import Materializer, StepInputs, StepResults
from .versions import ModelInputs, publish_new_version, unchanged_version

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
    validated = None
    if statement.validation_select is not None:
        _, _, validation_uri, validated = step.export_input(
            statement.validation_select, "validation.parquet"
        )
        step.context.log.info(f"exported {validated.rows} validation rows to {validation_uri}")
    data_fingerprint = training_data_fingerprint(
        exported.fingerprint, validated.fingerprint if validated else None
    )
    params = statement.params_by_namespace()
    model = statement.model
    inputs = training_inputs(node, data_fingerprint, step.model_code_fingerprint(model.reference))
    unchanged = unchanged_version(step, inputs)
    if unchanged is not None:
        yield unchanged
        return

    def spec_for(model_uri: str) -> StepSpec:
        return step_spec(node, step.places(step_uri, model_uri=model_uri))

    yield publish_new_version(
        step,
        data,
        step_uri,
        spec_for,
        inputs=inputs,
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


def training_data_fingerprint(rows: str, validation_rows: str | None) -> str:
    """The training data's fingerprint: the SELECT's rows, with ``validation.select``'s."""
    return rows if validation_rows is None else digest(rows, validation_rows)


def training_inputs(node: Node, data_fingerprint: str, model_code: str | None) -> ModelInputs:
    """What a version of ``node``'s model is made from — the training's fingerprint and
    its parts: the normalized statement (params included, ``train.force`` not), the
    file's session statements, the training data, the model reference and image, and the
    model's code when it lives in the project's ``models/`` (``AssetStep.model_code_
    fingerprint``). The step and ``sqlml plan`` both call this."""
    statement = node.statement
    assert isinstance(statement, TrainStatement)
    normalized = _normalized(statement)
    session = [s.fingerprint for s in node.session]
    model = statement.model
    return ModelInputs(
        parts=(
            ("statement", digest(normalized)),
            ("session", digest(session)),
            ("data", data_fingerprint),
            ("model", model.reference),
            ("image", model.image or ""),
            ("model_code", model_code or ""),
        ),
        fingerprint=digest(
            normalized,
            session,
            data_fingerprint,
            model.reference,
            model.image,
            *(code for code in [model_code] if code),
        ),
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
