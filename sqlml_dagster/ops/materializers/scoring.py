"""What PREDICT, EVALUATE and EXPLAIN share: resolve the model version (pinned, or what
``@latest`` means for a gated model), export the SELECT, run the scoring step and load its
output file (Arrow IPC or Parquet) as the asset's table."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from ...compiler.ir import MLStatement, QualifiedName
from ...compiler.project import Node
from ...contract import StepKind, StepResult, StepSpec
from ...contract.lifecycle import Pin
from ...store import ModelManifest, ModelVersion
from ...warehouses import LoadMode
from ..metadata import launch_metadata, table_metadata
from ..places import ScoredModel, StepInputs

if TYPE_CHECKING:
    from ..step import AssetStep


@dataclass(frozen=True)
class Scored:
    """A scoring step's outcome: the version it scored, its result, the table's metadata."""

    version: ModelVersion
    result: StepResult
    metadata: dict[str, Any]
    #: The spec it ran (its exported rows are ``spec.input_uri``) and the step's folder.
    spec: StepSpec
    step_uri: str

    @property
    def manifest(self) -> ModelManifest:
        return self.version.manifest


def score_into_table(
    step: AssetStep,
    step_spec: Callable[[Node, StepInputs], StepSpec],
    model: QualifiedName,
    pinned: Pin,
    rows: exp.Expr | None = None,
    *,
    gated: bool = True,
    load: bool = True,
) -> Scored:
    """The common path of PREDICT and EVALUATE: resolve the model's current version, export
    the SELECT, run the step, load its output file as the asset's table (unless
    ``load`` is false: gates that ran without their evaluation table selected, or an
    explanation without ``INTO``, whose output stays in the step's scratch folder)."""
    context, node, warehouse = step.context, step.node, step.warehouse
    statement = node.statement
    assert isinstance(statement, MLStatement)
    version = step.model_version(model, pinned, gated=gated)
    manifest = version.manifest
    select = statement.select if rows is None else _only(statement.select, rows)
    data, step_uri, _, exported = step.export_input(select)
    spec = step_spec(node, step.places(step_uri, model=ScoredModel.of(version)))
    context.log.info(f"{spec.kind}: {exported.rows} rows with {manifest.model} v{manifest.version}")
    launched = step.launch(spec, data, step_uri)
    if load:
        mode: LoadMode = "replace" if rows is None else "partition"
        warehouse.load_file(
            node.name, str(spec.output_uri), data_format=spec.data_format, mode=mode, rows=rows
        )
    metadata = {
        **launched.metadata,
        **(table_metadata(node, warehouse.stats(node.name)) if load else {}),
        "model": manifest.model,
        "model_version": manifest.version,
        "model_pinned": pinned is not None,
        **({"model_alias": pinned} if isinstance(pinned, str) else {}),
        **({"partition_rows": exported.rows} if rows is not None else {}),
        **launch_metadata(launched.launched_as, launched.image_digest),
    }
    return Scored(version, launched.result, metadata, spec, step_uri)


def score_again(
    step: AssetStep,
    step_spec: Callable[[Node, StepInputs], StepSpec],
    first: Scored,
    version: ModelVersion,
    name: str,
) -> StepResult:
    """Score another ``version`` on exactly the rows ``first`` scored (its exported
    Parquet, not the SELECT run again), in the same Dagster step: the champion of a
    champion-relative gate. Its spec and output go to ``<step folder>/<name>/``."""
    data = step.storage.data()
    folder = data.uri(first.step_uri, name)
    spec = dataclasses.replace(
        step_spec(step.node, step.places(folder, model=ScoredModel.of(version))),
        input_uri=first.spec.input_uri,
        step_id=f"{first.spec.step_id}/{name}",
    )
    manifest = version.manifest
    step.context.log.info(f"{spec.kind}: the same rows with {manifest.model} v{manifest.version}")
    return step.launch(spec, data, folder).result


def scoring_spec(
    node: Node,
    places: StepInputs,
    kind: StepKind,
    params: dict[str, dict[str, Any]] | None = None,
    **fields: Any,
) -> StepSpec:
    """The StepSpec of a step that scores ``places.model`` over the SELECT's rows into
    ``output.arrow`` or ``output.parquet``: what PREDICT, EVALUATE and EXPLAIN share."""
    statement = node.statement
    model = places.model
    assert isinstance(statement, MLStatement) and model is not None
    return StepSpec(
        kind=kind,
        step_id=places.step_id,
        model_name=model.name,
        model_reference=model.reference,
        flavor=model.flavor,
        params=statement.params_by_namespace() if params is None else params,
        input_uri=places.input_uri,
        features=model.features,
        model_uri=model.uri,
        output_uri=places.output_uri,
        image=model.image,
        model_version=model.version,
        data_format=places.data_format,
        **fields,
    )


def partition_rows(step: AssetStep) -> exp.Expr | None:
    """The rows of the partition being materialized (``-- sqlml: partition_by = day(ts)``):
    ``ts >= start AND ts < end`` in the partitions' time zone, or None when unpartitioned."""
    partition = step.node.directives.partition
    if partition is None or not step.context.has_partition_key:
        return None
    window = step.context.partition_time_window
    column = exp.column(partition.column, quoted=True)

    def bound(at: datetime) -> exp.Expr:
        return exp.cast(exp.Literal.string(at.strftime("%Y-%m-%d %H:%M:%S")), "TIMESTAMP")

    return exp.and_(column >= bound(window.start), column < bound(window.end))


def _only(select: exp.Query, rows: exp.Expr) -> exp.Query:
    """``SELECT * FROM (select) WHERE rows``: the statement's rows in one partition."""
    return exp.select("*").from_(select.subquery("_sqlml_partition")).where(rows)
