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
from ..runtime.spec import StepSpec
from ..store import DataStore, ModelManifest, ModelNotFound, ModelStore, ModelVersion
from ..store.models import file_sha256, now_iso
from .launcher import Launcher
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
    context, node = step.context, step.node
    statement = node.statement
    assert isinstance(statement, TrainStatement)
    models = step.storage.models()
    model_name = node.name.key
    data, step_uri, input_uri, exported = step.export_input(statement.select)
    context.log.info(f"exported {exported.rows} training rows to {input_uri}")
    data_fingerprint = file_sha256(input_uri)[:16]
    params = statement.params_by_namespace()
    model_fingerprint = _digest(
        node.fingerprint, data_fingerprint, statement.model.reference, statement.model.image, params
    )
    previous = models.latest(model_name)
    pending = models.reserve(model_name, run_id=context.run_id)
    try:
        spec = StepSpec(
            kind="train",
            step_id=step.step_id,
            model_name=model_name,
            model_reference=statement.model.reference,
            flavor=statement.model.flavor,
            params=params,
            input_uri=input_uri,
            label=statement.label,
            model_uri=pending.uri,
            image=statement.model.image,
            seed=int(params.get("train", {}).get("seed", 0)),
        )
        result = step.launcher.launch(context, spec, _write_spec(data, step_uri, spec))
        payload = result.payload
        manifest = ModelManifest(
            model=model_name,
            version=pending.version,
            created_at=now_iso(),
            flavor=str(payload.get("flavor", spec.flavor)),
            model_reference=spec.model_reference,
            fingerprint=model_fingerprint,
            statement_fingerprint=node.fingerprint,
            training_data_fingerprint=data_fingerprint,
            image=statement.model.image,
            params={**params, "model": payload.get("params", params.get("model", {}))},
            metrics=dict(payload.get("metrics", {})),
            features=list(payload.get("features", [])),
            label=statement.label,
            signature=dict(payload.get("signature", {})),
            frameworks=dict(payload.get("frameworks", {})),
            training_rows=int(payload.get("training_rows", exported.rows)),
            dagster_run_id=context.run_id,
            statement=node.text,
        )
        published = models.publish(pending, manifest)
    except BaseException:
        models.discard(pending)  # failed or cancelled: nothing partial stays behind
        raise
    context.log.info(f"published {model_name} version {published.version} at {published.uri}")
    return dg.MaterializeResult(
        metadata={**result.metadata, **model_metadata(published, previous)},
        data_version=dg.DataVersion(model_fingerprint),
    )


def materialize_registered_model(step: AssetStep) -> dg.MaterializeResult:
    """``CREATE MODEL m USING 'uri'``: a new version holding the file, checked by the runtime."""
    context, node = step.context, step.node
    statement = node.statement
    assert isinstance(statement, CreateModelStatement) and statement.uri is not None
    source_uri = _resolve_uri(statement.uri, step.sql_file.parent)
    data = step.storage.data()
    step_uri = data.step_uri(context.run_id, *context.asset_key.path)
    models = step.storage.models()
    model_name = node.name.key
    source_fingerprint = file_sha256(source_uri)[:16]
    options = {p.path: p.value for p in statement.options}
    model_fingerprint = _digest(node.fingerprint, source_fingerprint, options)
    previous = models.latest(model_name)
    pending = models.reserve(model_name, run_id=context.run_id)
    try:
        spec = StepSpec(
            kind="register",
            step_id=step.step_id,
            model_name=model_name,
            model_reference=statement.model_type or "",
            flavor=statement.flavor or "sklearn",
            params={"options": options},
            input_uri=source_uri,
            model_uri=pending.uri,
        )
        result = step.launcher.launch(context, spec, _write_spec(data, step_uri, spec))
        payload = result.payload
        manifest = ModelManifest(
            model=model_name,
            version=pending.version,
            created_at=now_iso(),
            flavor=str(payload.get("flavor", spec.flavor)),
            model_reference=str(payload.get("model_reference", spec.model_reference)),
            fingerprint=model_fingerprint,
            statement_fingerprint=node.fingerprint,
            training_data_fingerprint=source_fingerprint,
            image=None,
            params={"options": options, "model": payload.get("params", {})},
            metrics={},
            features=list(payload.get("features", [])),
            label=None,
            signature=dict(payload.get("signature", {})),
            frameworks=dict(payload.get("frameworks", {})),
            training_rows=0,
            dagster_run_id=context.run_id,
            statement=node.text,
            source_uri=source_uri,
        )
        published = models.publish(pending, manifest)
    except BaseException:
        models.discard(pending)
        raise
    context.log.info(f"registered {source_uri} as {model_name} version {published.version}")
    return dg.MaterializeResult(
        metadata={
            **result.metadata,
            **model_metadata(published, previous),
            "source_uri": dg.MetadataValue.path(source_uri),
        },
        data_version=dg.DataVersion(model_fingerprint),
    )


def materialize_evaluation(step: AssetStep) -> dg.MaterializeResult:
    """``TO EVALUATE m … LABEL y INTO t``: one row of metrics for the current version of m."""
    context, node, warehouse = step.context, step.node, step.warehouse
    statement = node.statement
    assert isinstance(statement, EvaluateStatement)
    version = step.model_version(statement.model)
    manifest = version.manifest
    data, step_uri, input_uri, exported = step.export_input(statement.select)
    context.log.info(f"evaluating {manifest.model} v{manifest.version} on {exported.rows} rows")
    spec = StepSpec(
        kind="evaluate",
        step_id=step.step_id,
        model_name=manifest.model,
        model_reference=manifest.model_reference,
        flavor=manifest.flavor,
        params=statement.params_by_namespace(),
        input_uri=input_uri,
        label=statement.label,
        features=manifest.features,
        model_uri=version.uri,
        output_uri=data.uri(step_uri, "output.parquet"),
        image=manifest.image,
        model_version=manifest.version,
    )
    result = step.launcher.launch(context, spec, _write_spec(data, step_uri, spec))
    assert spec.output_uri is not None
    warehouse.replace_table_from_parquet(node.name, spec.output_uri)
    metrics = dict(result.payload.get("metrics", {}))
    return dg.MaterializeResult(
        metadata={
            **result.metadata,
            **table_metadata(node, warehouse.stats(node.name)),
            "model": manifest.model,
            "model_version": manifest.version,
            "metrics": dg.MetadataValue.md(_metrics_table(metrics, manifest.metrics)),
        }
    )


def materialize_prediction(step: AssetStep) -> dg.MaterializeResult:
    context, node, warehouse = step.context, step.node, step.warehouse
    statement = node.statement
    assert isinstance(statement, PredictStatement)
    version = step.model_version(statement.using)
    manifest = version.manifest
    data, step_uri, input_uri, exported = step.export_input(statement.select)
    context.log.info(f"predicting {exported.rows} rows with {manifest.model} v{manifest.version}")
    spec = StepSpec(
        kind="predict",
        step_id=step.step_id,
        model_name=manifest.model,
        model_reference=manifest.model_reference,
        flavor=manifest.flavor,
        params=statement.params_by_namespace(),
        input_uri=input_uri,
        features=manifest.features,
        model_uri=version.uri,
        output_uri=data.uri(step_uri, "output.parquet"),
        prediction_column=statement.column,
        image=manifest.image,
        model_version=manifest.version,
    )
    result = step.launcher.launch(context, spec, _write_spec(data, step_uri, spec))
    assert spec.output_uri is not None
    warehouse.replace_table_from_parquet(node.name, spec.output_uri)
    stats = warehouse.stats(node.name)
    return dg.MaterializeResult(
        metadata={
            **result.metadata,
            **table_metadata(node, stats),
            "model": manifest.model,
            "model_version": manifest.version,
            "model_uri": dg.MetadataValue.path(version.uri),
            "model_fingerprint": manifest.fingerprint,
        }
    )


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


def _resolve_uri(uri: str, base: Path) -> str:
    """A relative local path in SQL resolves against the SQL file's folder, like DuckDB's."""
    if "://" in uri or Path(uri).is_absolute():
        return uri
    return str((base / uri).resolve())


def _write_spec(data: DataStore, step_uri: str, spec: StepSpec) -> str:
    uri = data.uri(step_uri, "spec.json")
    with fsspec.open(uri, "w", encoding="utf-8") as f:
        f.write(spec.to_json())
    return uri


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]
