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

import base64
import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import fsspec
from pydantic import Field
from sqlglot import exp

from ..compiler.ir import (
    CreateModelStatement,
    EvaluateStatement,
    ExplainStatement,
    ObjectKind,
    PredictStatement,
    QualifiedName,
    SqlStatement,
    TrainStatement,
)
from ..compiler.project import Node
from ..compiler.render import to_sql
from ..contract import DEFAULT_EVALUATION_METRICS, EVALUATION_METRICS
from ..runtime.spec import StepKind, StepSpec
from ..sources import SourceError, resolve_source
from ..store import (
    DataStore,
    Gate,
    GateResult,
    ModelManifest,
    ModelNotFound,
    ModelStore,
    ModelVersion,
)
from ..store.models import CorruptVersion, now_iso
from .checks import gate_check_results, node_gates
from .launcher import Launcher, LocalLauncher, StepResult
from .model_functions import ModelFunctions
from .warehouse import DuckDBWarehouse, TableStats


class SqlMlStorage(dg.ConfigurableResource):
    """Where model versions and step data live: local folders or any fsspec URL
    (``s3://bucket/prefix`` through s3fs; ``storage_options`` such as ``endpoint_url`` for
    MinIO-style servers). Credentials belong in the environment (``AWS_*``) or Kubernetes
    Secrets, which the orchestrator and every step read the same way."""

    model_store: str = Field(default=".sqlml/models", description="Versioned model store URL.")
    data_store: str = Field(
        default=".sqlml/data", description="Step data (inputs, specs, results) URL."
    )
    storage_options: dict[str, Any] = Field(
        default_factory=dict,
        description="Non-secret fsspec options for remote stores, e.g. {'endpoint_url': …}; "
        "steps receive them as FSSPEC_<PROTOCOL>.",
    )
    data_retention_hours: float | None = Field(
        default=168.0,
        description="Step folders of runs older than this are removed after each ML step; "
        "null keeps them forever.",
    )

    def models(self) -> ModelStore:
        self.configure_fsspec()
        return ModelStore(self.model_store, **self._options(self.model_store))

    def data(self) -> DataStore:
        self.configure_fsspec()
        return DataStore(self.data_store, **self._options(self.data_store))

    def _options(self, url: str) -> dict[str, Any]:
        return dict(self.storage_options) if _protocol(url) not in ("file", "local") else {}

    def configure_fsspec(self) -> None:
        """Make every fsspec call in this process (Parquet export, in-process ML_PREDICT
        models, checksums) reach the stores as the stores themselves do — the same thing
        :meth:`step_env` does for a step's process."""
        import fsspec.config

        for protocol in {_protocol(u) for u in (self.model_store, self.data_store)}:
            if protocol not in ("file", "local") and self.storage_options:
                fsspec.config.conf.setdefault(protocol, {}).update(self.storage_options)

    def step_env(self) -> dict[str, str]:
        """Environment that makes a step's fsspec reach the stores the way this process
        does (fsspec reads ``FSSPEC_<PROTOCOL>`` as that protocol's default options)."""
        protocols = {_protocol(u) for u in (self.model_store, self.data_store)}
        return {
            f"FSSPEC_{p.upper()}": json.dumps(self.storage_options)
            for p in sorted(protocols - {"file", "local"})
            if self.storage_options
        }


def _protocol(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else "file"


class SqlMlRunConfig(dg.Config):
    """Run configuration of every sqlml asset (the launchpad's ``ops`` section)."""

    force: bool = Field(
        default=False,
        description="Retrain models even when statement, params, data and image are unchanged.",
    )


#: The folder of a project's own model packages (PYTHONPATH of local steps).
MODELS_DIR = "models"

#: A run tag with the same effect as ``force: true`` (handy with ``dagster asset materialize``).
FORCE_TAG = "sqlml/force"


@dataclass(frozen=True)
class AssetStep:
    """Everything one materialization needs: the Dagster context, the node, the resources."""

    context: dg.AssetExecutionContext
    node: Node
    warehouse: DuckDBWarehouse
    storage: SqlMlStorage
    launcher: Launcher
    sql_file: Path
    config: SqlMlRunConfig = dataclasses.field(default_factory=SqlMlRunConfig)
    #: The compiled SQL folder; its ``models/`` (or its parent's) holds model packages.
    project_root: Path | None = None
    #: Quality gates by model key (``TO EVALUATE … WITH check.*``): what ``@latest``
    #: means for a step that uses a gated model (``docs/quality-gates.md``).
    gates: Mapping[str, tuple[Gate, ...]] = dataclasses.field(default_factory=dict)

    def run(self) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        """What the asset's op yields: the materialization and, for an evaluation with
        thresholds, the outcome of its quality gates (which Dagster may have selected
        without the table: then the gates run and the table stays as it is)."""
        statement = self.node.statement
        if isinstance(statement, EvaluateStatement) and statement.checks:
            yield from evaluate_with_gates(self)
            self.clean_old_step_data()
            return
        yield self.materialize()

    def materialize(self) -> dg.MaterializeResult:
        if isinstance(self.node.statement, CreateModelStatement):
            result = materialize_registered_model(self)
        elif self.node.kind is ObjectKind.MODEL:
            result = materialize_model(self)
        elif self.node.kind is ObjectKind.PREDICTION:
            result = materialize_prediction(self)
        elif self.node.kind is ObjectKind.EVALUATION:
            result = materialize_evaluation(self)
        elif self.node.kind is ObjectKind.EXPLANATION:
            result = materialize_explanation(self)
        else:
            return materialize_table(self)
        self.clean_old_step_data()
        return result

    def model_version(
        self, name: QualifiedName, version: int | None = None, *, gated: bool = True
    ) -> ModelVersion:
        """``name@version`` (``None``: what ``@latest`` resolves to — for a gated model, the
        newest version that passed its gates), or a failure naming the versions that exist.
        ``gated=False`` is the evaluation that runs the gates: it scores the candidate."""
        gates = self.gates.get(name.key, ()) if gated else ()
        try:
            return self.storage.models().get(name.key, version, gates=gates)
        except (ModelNotFound, CorruptVersion) as e:
            raise dg.Failure(description=str(e)) from None

    @property
    def force(self) -> bool:
        """Retrain even when nothing changed: ``WITH train.force = true``, the run config's
        ``force``, or the run tag ``sqlml/force=true``."""
        statement = self.node.statement
        written = statement.param("train.force") if isinstance(statement, TrainStatement) else None
        tag = self.context.run.tags.get(FORCE_TAG, "")
        return bool(written) or self.config.force or tag.lower() in ("1", "true", "yes")

    def launch(self, spec: StepSpec, spec_uri: str) -> StepResult:
        env = self.storage.step_env()
        if isinstance(self.launcher, LocalLauncher) and self.models_dir is not None:
            # Locally the project's models/ folder is importable; in a cluster the image is.
            env["PYTHONPATH"] = str(self.models_dir)
        return self.launcher.launch(self.context, spec, spec_uri, env=env)

    @property
    def models_dir(self) -> Path | None:
        """The project's model-package folder: ``models/`` beside the SQL folder or in it."""
        sql_root = self.project_root or self.sql_file.parent
        for candidate in (sql_root.parent / MODELS_DIR, sql_root / MODELS_DIR):
            if candidate.is_dir():
                return candidate.resolve()
        return None

    def model_code_fingerprint(self, reference: str) -> str | None:
        """A digest of the model's Python package when it lives in the project's models/
        folder, so editing the model class retrains it (an image's digest covers the rest)."""
        folder = self.models_dir
        if folder is None:
            return None
        top = reference.split(".", 1)[0]
        found = [folder / f"{top}.py"] if (folder / f"{top}.py").is_file() else []
        if (folder / top).is_dir():
            found = sorted((folder / top).rglob("*.py"))
        if not found:
            return None
        digest = hashlib.sha256()
        for path in found:
            digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
        return digest.hexdigest()[:16]

    def clean_old_step_data(self) -> None:
        """Remove step folders of runs older than the storage's retention (not this run's)."""
        hours = self.storage.data_retention_hours
        if not hours:
            return
        try:
            removed = self.storage.data().gc(timedelta(hours=hours), keep={self.context.run_id})
        except OSError as e:  # cleaning is housekeeping: never fail an asset over it
            self.context.log.warning(f"could not clean old step data: {e}")
            return
        if removed:
            self.context.log.info(
                f"removed step data of {len(removed)} run(s) older than {hours:g} h"
            )

    @property
    def search_path(self) -> str:
        """Relative file paths in SQL resolve against the SQL file's folder."""
        return str(self.sql_file.parent)

    def export_input(
        self, select: exp.Expr, name: str = "input.parquet"
    ) -> tuple[DataStore, str, str, TableStats]:
        """Export a SELECT of the statement to ``name`` in the step's folder."""
        data = self.storage.data()
        step_uri = data.step_uri(self.context.run_id, *self.key_path)
        input_uri = data.uri(step_uri, name)
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
        return f"{self.context.run_id}/{'/'.join(self.key_path)}"

    @property
    def key_path(self) -> list[str]:
        """The asset key's path — also when a run selected only the node's checks, where
        Dagster's ``context.asset_key`` has no selected asset to name."""
        (key,) = self.context.assets_def.node_keys_by_output_name.values()
        return list(key.path)


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
        data_fingerprint = _digest(data_fingerprint, validated.fingerprint)
    params = statement.params_by_namespace()
    model = statement.model
    fingerprint = _digest(
        _normalized(statement),
        [s.fingerprint for s in node.session],
        data_fingerprint,
        model.reference,
        model.image,
        *(code for code in [step.model_code_fingerprint(model.reference)] if code),
    )
    unchanged = _unchanged_version(step, fingerprint)
    if unchanged is not None:
        return unchanged

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
            columns=feature_columns(statement),
            validation_uri=validation_uri,
        )

    return _publish_new_version(
        step,
        data,
        step_uri,
        spec_for,
        fingerprint=fingerprint,
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


def _unchanged_version(step: AssetStep, fingerprint: str) -> dg.MaterializeResult | None:
    """The result that reuses an existing version when nothing changed, else ``None``.

    Reused: the version ``@latest`` resolves to, when its fingerprint matches. After a
    rollback (``sqlml models promote m@2`` while v3 is newest), inputs equal to v3's keep
    the rollback rather than retraining v3's model again; new inputs train a new version.
    """
    if step.force:
        step.context.log.info("train.force: training a new version even if nothing changed")
        return None
    context, name = step.context, step.node.name.key
    models = step.storage.models()
    versions = models.versions(name)
    if not versions:
        return None
    latest = models.resolve_latest(name, versions)
    if latest.manifest.fingerprint == fingerprint:
        context.log.info(
            f"{name}: statement, params, data and image are unchanged since version "
            f"{latest.version} (fingerprint {fingerprint}); reusing it — set "
            "train.force = true or run with config force: true to retrain"
        )
    elif latest.version != versions[-1].version and versions[-1].manifest.fingerprint == (
        fingerprint
    ):
        context.log.info(
            f"{name}: inputs equal those of version {versions[-1].version}, which was rolled "
            f"back to version {latest.version} (sqlml models promote); keeping the rollback"
        )
    else:
        return None
    previous = next((v for v in reversed(versions) if v.version < latest.version), None)
    return dg.MaterializeResult(
        metadata={"reused": True, **model_metadata(latest, previous)},  # first in the UI
        data_version=dg.DataVersion(latest.manifest.fingerprint),
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
    fingerprint = _digest(node.fingerprint, source.fingerprint, options)
    unchanged = _unchanged_version(step, fingerprint)
    if unchanged is not None:
        return unchanged

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
        fingerprint=fingerprint,
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
    context.log.info(f"reserved {node.name} version {pending.version} at {pending.uri}")
    try:
        spec = spec_for(pending.uri)
        result = step.launch(spec, _write_spec(data, step_uri, spec))
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
            launched_as=result.launched_as,
            image_digest=result.image_digest,
            **manifest_fields(payload),
        )
        published = models.publish(pending, manifest)
    except BaseException as e:
        models.discard(pending, reason=_reason(e))
        raise
    context.log.info(f"published {node.name} version {published.version} at {published.uri}")
    history = payload.get("history")
    if history:
        metadata = {**(metadata or {}), "epochs": history_table(history)}
    shown = model_metadata(published, previous)  # first: the UI keeps this order
    shown.update({k: v for k, v in result.metadata.items() if k not in shown})
    return dg.MaterializeResult(
        metadata={**shown, **(metadata or {})}, data_version=dg.DataVersion(fingerprint)
    )


def materialize_evaluation(step: AssetStep) -> dg.MaterializeResult:
    """``TO EVALUATE m … LABEL y INTO t``: one row of metrics for the current version of m."""
    statement = step.node.statement
    assert isinstance(statement, EvaluateStatement)
    scored = _score_into_table(
        step,
        statement,
        statement.model,
        statement.model_version,
        "evaluate",
        label=statement.label,
    )
    metrics = dict(scored.result.payload.get("metrics", {}))
    return dg.MaterializeResult(
        metadata={
            **scored.metadata,
            "metrics": metrics_table(metrics, scored.manifest.metrics),
        }
    )


def evaluate_with_gates(step: AssetStep) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """``TO EVALUATE m WITH check.accuracy >= 0.9 … INTO t``: score the *candidate* — the
    version plain ``@latest`` names (newest, or promoted), not the last one that passed —
    record each gate's outcome on that version, and report them as blocking checks on
    ``m``. A failure fails this step after the table is written, which is how Dagster
    keeps the run's predictions of ``m`` from running."""
    context, node, statement = step.context, step.node, step.node.statement
    assert isinstance(statement, EvaluateStatement)
    gates = node_gates(node)
    table_selected = bool(context.selected_asset_keys)
    scored = _score_into_table(
        step,
        statement,
        statement.model,
        statement.model_version,
        "evaluate",
        gated=False,
        load=table_selected,
        label=statement.label,
    )
    metrics = {str(k): float(v) for k, v in scored.result.payload.get("metrics", {}).items()}
    results = [
        GateResult(
            name=gate.name,
            metric=gate.metric,
            op=gate.op,
            threshold=gate.threshold,
            value=metrics.get(gate.metric),
            passed=gate.passes(metrics.get(gate.metric)),
            evaluated_at=now_iso(),
            evaluation=gate.evaluation,
            dagster_run_id=context.run_id,
        )
        for gate in gates
    ]
    step.storage.models().record_gates(scored.version, results)
    for r in results:
        log = context.log.info if r.passed else context.log.error
        log(
            f"quality gate {r.name} on {scored.version.ref}: {r.text} — "
            + ("passed" if r.passed else "FAILED")
        )
    selected = {k.name: k.asset_key for k in context.selected_asset_check_keys}
    checks = gate_check_results(gates, results, scored.version, selected)
    if table_selected:
        yield dg.MaterializeResult(
            metadata={
                **scored.metadata,
                "metrics": metrics_table(metrics, scored.manifest.metrics),
                "gates": dg.MetadataValue.json(
                    {r.name: "passed" if r.passed else f"failed: {r.text}" for r in results}
                ),
            },
            check_results=checks,
        )
    else:
        yield from checks
    failed = [r for r in results if not r.passed and r.name in selected]
    if failed:
        # Dagster would fail the step for a failed blocking check anyway; saying why in
        # the user's terms replaces its generic "blocking asset check failed".
        raise dg.Failure(
            description=f"quality gate{'s' if len(failed) > 1 else ''} failed on "
            f"{scored.version.ref}: "
            + "; ".join(f"{r.name}: {r.text}" for r in failed)
            + f". Steps using {statement.model} in this run do not run; @latest keeps "
            "the newest version that passed (docs/quality-gates.md)"
        )


def _with_gate_metrics(
    statement: PredictStatement | EvaluateStatement | ExplainStatement, manifest: ModelManifest
) -> dict[str, dict[str, Any]]:
    """The step's params; an evaluation with gates also computes every gated metric — the
    written ``validation.metrics`` (or the task's defaults) plus those it lacks."""
    params = statement.params_by_namespace()
    if not isinstance(statement, EvaluateStatement) or not statement.checks:
        return params
    written = statement.metrics
    task = str(manifest.signature.get("task", ""))
    names = list(written) if written else list(DEFAULT_EVALUATION_METRICS.get(task, ("accuracy",)))
    known = {EVALUATION_METRICS.get(n.lower().replace("_", ""), n) for n in names}
    names += [c.metric for c in statement.checks if c.metric not in known]
    return {**params, "validation": {**params.get("validation", {}), "metrics": names}}


def materialize_explanation(step: AssetStep) -> dg.MaterializeResult:
    """``TO EXPLAIN m … [USING explainer] INTO t``: one row per feature, and the summary
    plot embedded in the materialization (the step folder it was written to is cleaned)."""
    statement = step.node.statement
    assert isinstance(statement, ExplainStatement)
    scored = _score_into_table(
        step,
        statement,
        statement.model,
        statement.model_version,
        "explain",
        explainer=statement.explainer,
    )
    payload = scored.result.payload
    metadata = {**scored.metadata, "explain_method": str(payload.get("method", ""))}
    plot_uri = payload.get("plot_uri")
    if plot_uri:
        try:
            with fsspec.open(str(plot_uri), "rb") as f:
                png = base64.b64encode(f.read()).decode()
        except OSError as e:
            step.context.log.warning(f"could not read the explanation plot {plot_uri}: {e}")
        else:
            metadata["plot"] = dg.MetadataValue.md(
                f"![{step.node.name} explanation](data:image/png;base64,{png})"
            )
            metadata["plot_uri"] = dg.MetadataValue.path(str(plot_uri))
    importances = payload.get("importances") or {}
    if importances:
        metadata["importances"] = dg.MetadataValue.json(importances)
    return dg.MaterializeResult(metadata=metadata)


def materialize_prediction(step: AssetStep) -> dg.MaterializeResult:
    statement = step.node.statement
    assert isinstance(statement, PredictStatement)
    rows = partition_rows(step)
    scored = _score_into_table(
        step,
        statement,
        statement.using,
        statement.using_version,
        "predict",
        rows=rows,
        prediction_column=statement.column,
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
    statement: PredictStatement | EvaluateStatement | ExplainStatement,
    model: QualifiedName,
    pinned: int | None,
    kind: StepKind,
    rows: exp.Expr | None = None,
    *,
    gated: bool = True,
    load: bool = True,
    **spec_fields: Any,
) -> _Scored:
    """The common path of PREDICT and EVALUATE: resolve the model's current version, export
    the SELECT, run the step, load its output Parquet as the asset's table (unless
    ``load`` is false: gates that ran without their evaluation table selected)."""
    context, node, warehouse = step.context, step.node, step.warehouse
    version = step.model_version(model, pinned, gated=gated)
    manifest = version.manifest
    select = statement.select if rows is None else _only(statement.select, rows)
    data, step_uri, input_uri, exported = step.export_input(select)
    context.log.info(f"{kind}: {exported.rows} rows with {manifest.model} v{manifest.version}")
    output_uri = data.uri(step_uri, "output.parquet")
    if kind == "explain":  # scored against the model's label when the SELECT has it
        spec_fields.setdefault("label", manifest.label)
    spec = StepSpec(
        kind=kind,
        step_id=step.step_id,
        model_name=manifest.model,
        model_reference=manifest.model_reference,
        flavor=manifest.flavor,
        params=_with_gate_metrics(statement, manifest),
        input_uri=input_uri,
        features=manifest.features,
        model_uri=version.uri,
        output_uri=output_uri,
        image=manifest.image,
        model_version=manifest.version,
        **spec_fields,
    )
    result = step.launch(spec, _write_spec(data, step_uri, spec))
    if load:
        warehouse.replace_table_from_parquet(node.name, output_uri, rows=rows)
    metadata = {
        **result.metadata,
        **(table_metadata(node, warehouse.stats(node.name)) if load else {}),
        "model": manifest.model,
        "model_version": manifest.version,
        "model_pinned": pinned is not None,
        **({"partition_rows": exported.rows} if rows is not None else {}),
        **launch_metadata(result.launched_as, result.image_digest),
    }
    return _Scored(version, result, metadata)


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
    """What a model asset's materialization shows: the version and where it lives, what
    was trained with which params, its metrics beside the previous version's, and where
    it ran (image, Kubernetes Job) — all from the manifest, so a reused version shows
    the run that trained it.

    The UI lists entries in this order: what people look for first (version, metrics,
    params) leads; the ``metric/*`` numbers, which Dagster plots across materializations,
    and the fingerprints follow."""
    m = version.manifest
    metadata: dict[str, Any] = {
        "model_version": m.version,
        "metrics": metrics_table(m.metrics, previous.manifest.metrics if previous else {}),
        "params": params_table(m.params),
        "model_uri": dg.MetadataValue.path(version.uri),
        "dagster/uri": version.uri,  # Dagster's standard "where the asset lives"
        "model_reference": m.model_reference,
        "flavor": m.flavor,
    }
    if m.image:
        metadata["image"] = m.image
    metadata.update(launch_metadata(m.launched_as, m.image_digest))
    if previous is not None:
        metadata["previous_version"] = previous.manifest.version
    metadata.update({f"metric/{k}": v for k, v in m.metrics.items()})
    metadata.update(
        {
            "training_rows": m.training_rows,
            "features": dg.MetadataValue.json(m.features),
            "fingerprint": m.fingerprint,
            "training_data_fingerprint": m.training_data_fingerprint,
            "created_at": m.created_at,
        }
    )
    return metadata


def params_table(params: dict[str, Any]) -> dg.TableMetadataValue:
    """Params by namespace (``model``, ``train``, ``validation``, ``options``…) as one
    ``namespace.key | value`` row each — the final values the step reported, so the
    estimator's defaults show beside what the statement set."""
    rows = []
    for namespace, values in params.items():
        items = values.items() if isinstance(values, dict) else [("", values)]
        for key, value in items:
            name = f"{namespace}.{key}" if key else namespace
            shown = value if isinstance(value, str) else json.dumps(value, default=str)
            rows.append(dg.TableRecord({"param": name, "value": shown}))
    return dg.MetadataValue.table(
        records=rows,
        schema=dg.TableSchema(
            columns=[dg.TableColumn("param", "string"), dg.TableColumn("value", "string")]
        ),
    )


#: Metadata keys naming the Kubernetes Job a step ran as.
K8S_JOB_KEY = "kubernetes/job"
K8S_NAMESPACE_KEY = "kubernetes/namespace"


def launch_metadata(launched_as: str | None, image_digest: str | None) -> dict[str, Any]:
    """Where a step ran, for the UI: a Kubernetes Job by name and namespace (so
    ``kubectl -n NS logs job/NAME`` is a copy away; ``launched_as`` is
    ``job/<namespace>/<name>``) and the image by digest. Nothing for a local step."""
    metadata: dict[str, Any] = {}
    if image_digest:
        metadata["image_digest"] = image_digest
    if launched_as and launched_as != "local":
        metadata["launched_as"] = launched_as
        where, _, rest = launched_as.partition("/")
        namespace, _, job = rest.partition("/")
        if where == "job" and namespace and job:
            metadata[K8S_JOB_KEY] = job
            metadata[K8S_NAMESPACE_KEY] = namespace
    return metadata


def history_table(history: list[dict[str, Any]]) -> dg.TableMetadataValue:
    """Per-epoch loss and validation metrics of a training, one row per epoch."""
    names = list(dict.fromkeys(k for row in history for k in row))
    return dg.MetadataValue.table(
        records=[dg.TableRecord({n: row.get(n) for n in names}) for row in history],
        schema=dg.TableSchema(
            columns=[dg.TableColumn(n, "int" if n == "epoch" else "float") for n in names]
        ),
    )


def metrics_table(metrics: dict[str, float], previous: dict[str, float]) -> dg.TableMetadataValue:
    """Metrics as a table in the UI: this version's value beside the previous version's."""
    return dg.MetadataValue.table(
        records=[
            dg.TableRecord(
                {
                    "metric": name,
                    "value": float(value),
                    "previous": float(previous[name]) if name in previous else None,
                    "change": float(value) - float(previous[name]) if name in previous else None,
                }
            )
            for name, value in metrics.items()
        ],
        schema=dg.TableSchema(
            columns=[
                dg.TableColumn("metric", "string"),
                dg.TableColumn("value", "float"),
                dg.TableColumn("previous", "float"),
                dg.TableColumn("change", "float"),
            ]
        ),
    )


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


def _reason(error: BaseException) -> str:
    if isinstance(error, dg.Failure) and error.description:
        return error.description
    return f"{type(error).__name__}: {error}"


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]
