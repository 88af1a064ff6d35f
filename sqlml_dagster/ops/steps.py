"""What runs on the orchestrator when an asset materializes.

* a table/view: its statements run in the warehouse, in one transaction;
* a model: the SELECT is exported to Parquet, a version is reserved, the runtime trains
  into it through the launcher, and the version is published (manifest last) — or
  discarded if anything fails, so no partial version is ever visible;
* a prediction table: the model version is resolved, the SELECT exported, the runtime
  predicts, and the result is loaded into the warehouse;
* an evaluation table (TO EVALUATE): like a prediction, but the runtime writes one row of
  metrics for the model version it scored;
* a registered model (CREATE MODEL … USING 'uri'): the runtime checks and copies the file
  into a new version, published like a trained one;
* a table whose query calls ``ML_PREDICT(model, …)``: each model is loaded once in the
  warehouse process and called as a vectorized DuckDB function.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import fsspec
from pydantic import Field
from sqlglot import exp

from ..compiler.ir import (
    CreateModelStatement,
    EvaluateStatement,
    ObjectKind,
    PredictStatement,
    QualifiedName,
    SqlStatement,
    TrainStatement,
)
from ..compiler.project import Node
from ..runtime.spec import StepKind, StepSpec
from ..sources import SourceError, resolve_source
from ..store import DataStore, ModelManifest, ModelNotFound, ModelStore, ModelVersion
from ..store.models import file_sha256, now_iso
from .launcher import Launcher, StepResult
from .model_functions import ModelFunctions
from .warehouse import DuckDBWarehouse, TableStats


class SqlMlStorage(dg.ConfigurableResource):
    """Where model versions and step data live: local folders or any fsspec URL."""

    model_store: str = Field(default=".sqlml/models", description="Versioned model store URL.")
    data_store: str = Field(
        default=".sqlml/data", description="Step data (inputs, specs, results) URL."
    )

    def models(self) -> ModelStore:
        return ModelStore(self.model_store)

    def data(self) -> DataStore:
        return DataStore(self.data_store)


@dataclass(frozen=True)
class AssetStep:
    """Everything one materialization needs: the Dagster context, the node, the resources."""

    context: dg.AssetExecutionContext
    node: Node
    warehouse: DuckDBWarehouse
    storage: SqlMlStorage
    launcher: Launcher
    sql_file: Path

    def materialize(self) -> dg.MaterializeResult:
        if isinstance(self.node.statement, CreateModelStatement):
            return materialize_registered_model(self)
        if self.node.kind is ObjectKind.MODEL:
            return materialize_model(self)
        if self.node.kind is ObjectKind.PREDICTION:
            return materialize_prediction(self)
        if self.node.kind is ObjectKind.EVALUATION:
            return materialize_evaluation(self)
        return materialize_table(self)

    def model_version(self, name: QualifiedName) -> ModelVersion:
        """The version ``@latest`` resolves to, or a failure naming what is missing."""
        try:
            return self.storage.models().get(name.key)
        except ModelNotFound as e:
            raise dg.Failure(description=str(e)) from None

    @property
    def search_path(self) -> str:
        """Relative file paths in SQL resolve against the SQL file's folder."""
        return str(self.sql_file.parent)

    def export_input(self, select: exp.Expr) -> tuple[DataStore, str, str, TableStats]:
        """Export the statement's SELECT to ``input.parquet`` in a fresh step folder."""
        data = self.storage.data()
        step_uri = data.step_uri(self.context.run_id, *self.context.asset_key.path)
        input_uri = data.uri(step_uri, "input.parquet")
        calls = ModelFunctions.for_statements(self, [select])  # ML_PREDICT in the SELECT
        stats = self.warehouse.export_query(
            calls.rewritten[0],
            input_uri,
            search_path=self.search_path,
            functions=calls.functions,
        )
        return data, step_uri, input_uri, stats

    @property
    def step_id(self) -> str:
        return f"{self.context.run_id}/{'/'.join(self.context.asset_key.path)}"


def materialize_table(step: AssetStep) -> dg.MaterializeResult:
    node, warehouse, context = step.node, step.warehouse, step.context
    statements: list[exp.Expr] = [s.tree for s in node.session]
    defining = node.statement
    assert isinstance(defining, SqlStatement)
    if defining.creates:
        statements.append(_as_create_or_replace(defining.tree))
    else:  # an append-only table produced by INSERT: create it empty on first run
        query = defining.tree.expression
        if isinstance(query, exp.Query) and not warehouse.table_exists(node.name):
            statements.append(
                exp.Create(
                    this=defining.tree.this.copy(),
                    kind="TABLE",
                    exists=True,
                    expression=query.copy().limit(0),
                )
            )
        statements.append(defining.tree)
    statements.extend(s.tree for s in node.followups)
    context.log.info(
        f"running {len(statements)} statement(s) for {node.name} in {warehouse.database}"
    )
    calls = ModelFunctions.for_statements(step, statements)
    warehouse.run_statements(
        calls.rewritten, search_path=step.search_path, functions=calls.functions
    )
    metadata = table_metadata(node, warehouse.stats(node.name))
    if calls.versions:
        metadata["models"] = dg.MetadataValue.json(calls.versions)
    return dg.MaterializeResult(metadata=metadata)


def materialize_model(step: AssetStep) -> dg.MaterializeResult:
    """``TO TRAIN``: export the SELECT, train into a new version, publish it."""
    node = step.node
    statement = node.statement
    assert isinstance(statement, TrainStatement)
    data, step_uri, input_uri, exported = step.export_input(statement.select)
    step.context.log.info(f"exported {exported.rows} training rows to {input_uri}")
    data_fingerprint = file_sha256(input_uri)[:16]
    params = statement.params_by_namespace()
    model = statement.model

    def spec_for(model_uri: str) -> StepSpec:
        return StepSpec(
            kind="train",
            step_id=step.step_id,
            model_name=node.name.key,
            model_reference=model.reference,
            flavor=model.flavor,
            params=params,
            input_uri=input_uri,
            label=statement.label,
            model_uri=model_uri,
            image=model.image,
            seed=int(params.get("train", {}).get("seed", 0)),
        )

    return _publish_new_version(
        step,
        data,
        step_uri,
        spec_for,
        fingerprint=_digest(
            node.fingerprint, data_fingerprint, model.reference, model.image, params
        ),
        data_fingerprint=data_fingerprint,
        manifest_fields=lambda payload: {
            "model_reference": model.reference,
            "image": model.image,
            "params": {**params, "model": payload.get("params", params.get("model", {}))},
            "metrics": dict(payload.get("metrics", {})),
            "label": statement.label,
            "training_rows": int(payload.get("training_rows", exported.rows)),
        },
    )


def materialize_registered_model(step: AssetStep) -> dg.MaterializeResult:
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

    def spec_for(model_uri: str) -> StepSpec:
        return StepSpec(
            kind="register",
            step_id=step.step_id,
            model_name=node.name.key,
            model_reference=reference,
            flavor=source.flavor,
            params={"options": options},
            input_uri=source.uri,
            model_uri=model_uri,
        )

    return _publish_new_version(
        step,
        data,
        step_uri,
        spec_for,
        fingerprint=_digest(node.fingerprint, source.fingerprint, options),
        data_fingerprint=source.fingerprint,
        manifest_fields=lambda payload: {
            "model_reference": str(payload.get("model_reference", reference)),
            "params": {"options": options, "model": payload.get("params", {})},
            "source_uri": source.uri,
        },
        metadata={
            "source_uri": dg.MetadataValue.path(source.uri),
            **{f"source/{k}": v for k, v in source.metadata.items()},
        },
    )


def _publish_new_version(
    step: AssetStep,
    data: DataStore,
    step_uri: str,
    spec_for: Callable[[str], StepSpec],
    *,
    fingerprint: str,
    data_fingerprint: str,
    manifest_fields: Callable[[dict[str, Any]], dict[str, Any]],
    metadata: dict[str, Any] | None = None,
) -> dg.MaterializeResult:
    """Reserve a version, run the step that fills it, publish its manifest — or discard the
    version if anything fails or the run is cancelled, so nothing partial stays behind."""
    context, node = step.context, step.node
    models = step.storage.models()
    previous = models.latest(node.name.key)
    pending = models.reserve(node.name.key, run_id=context.run_id)
    try:
        spec = spec_for(pending.uri)
        result = step.launcher.launch(context, spec, _write_spec(data, step_uri, spec))
        payload = result.payload
        manifest = ModelManifest(
            model=node.name.key,
            version=pending.version,
            created_at=now_iso(),
            flavor=str(payload.get("flavor", spec.flavor)),
            fingerprint=fingerprint,
            statement_fingerprint=node.fingerprint,
            training_data_fingerprint=data_fingerprint,
            features=list(payload.get("features", [])),
            signature=dict(payload.get("signature", {})),
            frameworks=dict(payload.get("frameworks", {})),
            dagster_run_id=context.run_id,
            statement=node.text,
            **manifest_fields(payload),
        )
        published = models.publish(pending, manifest)
    except BaseException:
        models.discard(pending)
        raise
    context.log.info(f"published {node.name} version {published.version} at {published.uri}")
    return dg.MaterializeResult(
        metadata={**result.metadata, **model_metadata(published, previous), **(metadata or {})},
        data_version=dg.DataVersion(fingerprint),
    )


def materialize_evaluation(step: AssetStep) -> dg.MaterializeResult:
    """``TO EVALUATE m … LABEL y INTO t``: one row of metrics for the current version of m."""
    statement = step.node.statement
    assert isinstance(statement, EvaluateStatement)
    scored = _score_into_table(step, statement, statement.model, "evaluate", label=statement.label)
    metrics = dict(scored.result.payload.get("metrics", {}))
    return dg.MaterializeResult(
        metadata={
            **scored.metadata,
            "metrics": dg.MetadataValue.md(_metrics_table(metrics, scored.manifest.metrics)),
        }
    )


def materialize_prediction(step: AssetStep) -> dg.MaterializeResult:
    statement = step.node.statement
    assert isinstance(statement, PredictStatement)
    scored = _score_into_table(
        step, statement, statement.using, "predict", prediction_column=statement.column
    )
    return dg.MaterializeResult(
        metadata={
            **scored.metadata,
            "model_uri": dg.MetadataValue.path(scored.version.uri),
            "model_fingerprint": scored.manifest.fingerprint,
        }
    )


@dataclass(frozen=True)
class _Scored:
    version: ModelVersion
    result: StepResult
    metadata: dict[str, Any]

    @property
    def manifest(self) -> ModelManifest:
        return self.version.manifest


def _score_into_table(
    step: AssetStep,
    statement: PredictStatement | EvaluateStatement,
    model: QualifiedName,
    kind: StepKind,
    **spec_fields: Any,
) -> _Scored:
    """The common path of PREDICT and EVALUATE: resolve the model's current version, export
    the SELECT, run the step, load its output Parquet as the asset's table."""
    context, node, warehouse = step.context, step.node, step.warehouse
    version = step.model_version(model)
    manifest = version.manifest
    data, step_uri, input_uri, exported = step.export_input(statement.select)
    context.log.info(f"{kind}: {exported.rows} rows with {manifest.model} v{manifest.version}")
    output_uri = data.uri(step_uri, "output.parquet")
    spec = StepSpec(
        kind=kind,
        step_id=step.step_id,
        model_name=manifest.model,
        model_reference=manifest.model_reference,
        flavor=manifest.flavor,
        params=statement.params_by_namespace(),
        input_uri=input_uri,
        features=manifest.features,
        model_uri=version.uri,
        output_uri=output_uri,
        image=manifest.image,
        model_version=manifest.version,
        **spec_fields,
    )
    result = step.launcher.launch(context, spec, _write_spec(data, step_uri, spec))
    warehouse.replace_table_from_parquet(node.name, output_uri)
    metadata = {
        **result.metadata,
        **table_metadata(node, warehouse.stats(node.name)),
        "model": manifest.model,
        "model_version": manifest.version,
    }
    return _Scored(version, result, metadata)


# -- metadata -------------------------------------------------------------------------


def table_metadata(node: Node, stats: TableStats) -> dict[str, Any]:
    return {
        "dagster/row_count": stats.rows,
        "dagster/table_name": str(node.name),
        "dagster/column_schema": dg.TableSchema(
            columns=[dg.TableColumn(name=name, type=kind) for name, kind in stats.columns]
        ),
    }


def model_metadata(version: ModelVersion, previous: ModelVersion | None) -> dict[str, Any]:
    m = version.manifest
    metadata: dict[str, Any] = {
        "model_version": m.version,
        "model_uri": dg.MetadataValue.path(version.uri),
        "model_reference": m.model_reference,
        "flavor": m.flavor,
        "fingerprint": m.fingerprint,
        "training_data_fingerprint": m.training_data_fingerprint,
        "training_rows": m.training_rows,
        "params": dg.MetadataValue.json(m.params),
        "features": dg.MetadataValue.json(m.features),
        "metrics": dg.MetadataValue.md(
            _metrics_table(m.metrics, previous.manifest.metrics if previous else {})
        ),
    }
    metadata.update({f"metric/{k}": v for k, v in m.metrics.items()})
    if m.image:
        metadata["image"] = m.image
    if previous is not None:
        metadata["previous_version"] = previous.manifest.version
    return metadata


def _metrics_table(metrics: dict[str, float], previous: dict[str, float]) -> str:
    rows = ["| metric | value | previous version |", "| --- | --- | --- |"]
    for name, value in metrics.items():
        before = previous.get(name)
        rows.append(f"| {name} | {value:.4f} | {'' if before is None else f'{before:.4f}'} |")
    return "\n".join(rows)


# -- helpers --------------------------------------------------------------------------


def _as_create_or_replace(tree: exp.Expr) -> exp.Expr:
    """Assets are rebuilt on every materialization, so ``CREATE`` means ``CREATE OR REPLACE``."""
    create = tree.copy()
    create.set("replace", True)
    create.set("exists", False)
    return create


def _write_spec(data: DataStore, step_uri: str, spec: StepSpec) -> str:
    uri = data.uri(step_uri, "spec.json")
    with fsspec.open(uri, "w", encoding="utf-8") as f:
        f.write(spec.to_json())
    return uri


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]
