"""Rikai's ``CREATE MODEL m [FLAVOR f] [MODEL_TYPE t] [OPTIONS (…)] USING 'uri'``: a model
file trained elsewhere, checked by the runtime and published as a new version."""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg

from ...compiler.ir import CreateModelStatement
from ...compiler.project import Node
from ...contract import SKLEARN, StepSpec
from ...sources import ResolvedSource, SourceError, resolve_source
from ..changes import digest
from .base import Materializer, StepInputs, StepResults
from .versions import ModelInputs, publish_new_version, unchanged_version

if TYPE_CHECKING:
    from ..step import AssetStep


def run(step: AssetStep) -> StepResults:
    """``CREATE MODEL m USING 'uri'``: a new version holding the file, checked by the runtime."""
    node = step.node
    statement = node.statement
    assert isinstance(statement, CreateModelStatement) and statement.uri is not None
    try:
        source = resolve_source(statement.uri, statement.flavor, step.sql_file.parent)
    except SourceError as e:
        raise dg.Failure(description=f"CREATE MODEL {node.name}: {e}") from None
    data = step.storage.data()
    step_uri = data.step_uri(step.context.run_id, *step.context.asset_key.path)
    options = {p.path: p.value for p in statement.options}
    reference = statement.model_type or ""
    inputs = registration_inputs(node, source)
    unchanged = unchanged_version(step, inputs)
    if unchanged is not None:
        yield unchanged
        return

    def spec_for(model_uri: str) -> StepSpec:
        places = step.places(
            step_uri, model_uri=model_uri, source_uri=source.uri, source_flavor=source.flavor
        )
        return step_spec(node, places)

    yield publish_new_version(
        step,
        data,
        step_uri,
        spec_for,
        inputs=inputs,
        data_fingerprint=source.fingerprint,
        manifest_fields=lambda result: {
            "model_reference": result.model_reference or reference,
            "params": {
                "options": options,
                "model": result.params,
                # RETURNS: the type ML_PREDICT of this version returns (ops/returns.py)
                **({"returns": {"type": statement.returns}} if statement.returns else {}),
            },
            "source_uri": source.uri,
        },
        metadata={
            "source_uri": dg.MetadataValue.path(source.uri),
            **{f"source/{k}": v for k, v in source.metadata.items()},
        },
    )


def registration_inputs(node: Node, source: ResolvedSource) -> ModelInputs:
    """What a registered version is made from: the statement, the file's checksum, the
    options (the step and ``sqlml plan`` both call this)."""
    statement = node.statement
    assert isinstance(statement, CreateModelStatement)
    options = {p.path: p.value for p in statement.options}
    return ModelInputs(
        parts=(
            ("statement", node.fingerprint),
            ("source", source.fingerprint),
            ("options", digest(options)),
        ),
        fingerprint=digest(node.fingerprint, source.fingerprint, options),
    )


def step_spec(node: Node, places: StepInputs) -> StepSpec:
    """The register step of ``node``: check the model file and copy it into
    ``places.model_uri`` (a dry run names the file as written)."""
    statement = node.statement
    assert isinstance(statement, CreateModelStatement)
    return StepSpec(
        kind="register",
        step_id=places.step_id,
        model_name=node.name.key,
        model_reference=statement.model_type or "",
        flavor=places.source_flavor or statement.flavor or SKLEARN,
        params={"options": {p.path: p.value for p in statement.options}},
        input_uri=places.source_uri or statement.uri or "",
        model_uri=places.model_uri,
    )


MATERIALIZER = Materializer(kind=CreateModelStatement.KIND, run=run, step_spec=step_spec)
