"""One materialization on the orchestrator: the node, its resources and what they share.

An asset's op builds an :class:`AssetStep` and calls :meth:`AssetStep.run`; the node's
statement kind picks the materializer (``ops/materializers``) that does the work.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import fsspec
from pydantic import Field
from sqlglot import exp

from ..compiler import codes
from ..compiler.ir import ObjectKind, QualifiedName, TrainStatement
from ..compiler.project import Node, Project
from ..contract import StepSpec
from ..contract.layout import STEP_MODEL_STORE_ENV
from ..contract.lifecycle import Pin, PromotionPolicy
from ..contract.model_packages import ModelPackages, find_models_dir, model_source_files
from ..contract.programs import PROGRAM_DIR_ENV, PROGRAM_ROOT_ENV
from ..contract.step_data import DataFormat
from ..contract.threads import STEP_CPUS_ENV, visible_cores
from ..launchers import Launcher, LaunchResult
from ..store import DataStore, Gate, ModelNotFound, ModelVersion
from ..store.models import AliasNotFound, BadName, CorruptVersion, now_iso
from ..warehouses import FileScope, TableStats, Warehouse
from .changes import READ_ERRORS, AssetInputs, CurrentVersions, asset_inputs
from .faults import fault_of
from .model_functions import ModelFunctions
from .places import StepInputs
from .scoring_worker import WorkerSetup
from .storage import SqlMlStorage


class SqlMlRunConfig(dg.Config):
    """Run configuration of every sqlml asset (the launchpad's ``ops`` section)."""

    force: bool = Field(
        default=False,
        description="Retrain models even when statement, params, data and image are unchanged.",
    )


#: A run tag with the same effect as ``force: true`` (handy with ``dagster asset materialize``).
FORCE_TAG = "sqlml/force"


@dataclass(frozen=True)
class AssetStep:
    """Everything one materialization needs: the Dagster context, the node, the resources."""

    context: dg.AssetExecutionContext
    node: Node
    warehouse: Warehouse
    storage: SqlMlStorage
    launcher: Launcher
    sql_file: Path
    config: SqlMlRunConfig = dataclasses.field(default_factory=SqlMlRunConfig)
    #: The compiled SQL folder; its ``models/`` (or its parent's) holds model packages.
    project_root: Path | None = None
    #: Quality gates by model key (``TO EVALUATE … WITH check.*``): what ``@latest``
    #: means for a step that uses a gated model (``docs/quality-gates.md``).
    gates: Mapping[str, tuple[Gate, ...]] = dataclasses.field(default_factory=dict)
    #: The packages the project's model references were allowed from at compile time; a
    #: step is told them (``$SQLML_ALLOWED_MODEL_PACKAGES``) and imports nothing else.
    model_packages: ModelPackages = dataclasses.field(default_factory=ModelPackages)
    #: Promotion policies by model key (``-- sqlml: promote = …``): who moves ``@champion``.
    policies: Mapping[str, PromotionPolicy] = dataclasses.field(default_factory=dict)
    #: The asset key of each name the node produces (by name key): a step writing several
    #: tables (``TO RUN … INTO a, b``) reports each under its own key.
    output_keys: Mapping[str, dg.AssetKey] = dataclasses.field(default_factory=dict)
    #: The compiled project: which of the node's inputs are the project's own assets
    #: (``ops/changes.py``); without it a table-like asset reports no data version.
    project: Project | None = None
    #: The asset key of each model the node uses (by model key), for the evaluation's
    #: observation on its model's page.
    model_keys: Mapping[str, dg.AssetKey] = dataclasses.field(default_factory=dict)

    def run(self) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult | dg.AssetObservation]:
        """What the asset's op yields: its statement kind's materializer decides (an
        evaluation with thresholds also yields its quality gates, which Dagster may have
        selected without the table: then the gates run and the table stays as it is)."""
        from .materializers import materializer_for

        materializer = materializer_for(self.node.statement)
        account = self.built_from()
        version = account.version_for_run(self.context.run_id) if account else None
        built = False
        try:
            for item in materializer.run(self):
                if version is not None and isinstance(item, dg.MaterializeResult):
                    built = True
                    item = _with_data_version(item, version)
                yield item
        except dg.Failure:
            raise  # already says why, in one line
        except Exception as e:
            fault = fault_of(e, self.warehouse, self.node.statement.span.location())
            if fault is None:
                raise  # an internal error keeps its traceback
            raise dg.Failure(description=fault.line) from e
        if built and account is not None:
            self.record_build(account)
        if materializer.launches_steps:  # a step leaves its folder behind
            self.clean_old_step_data()

    def built_from(self) -> AssetInputs | None:
        """What this table-like asset is built from now, read before it runs (a model's
        account is its fingerprint: ``materializers/versions.py``). None for a model, or
        when an input cannot be read — the asset then reports no data version, and the
        step itself says what is wrong with the input."""
        if self.project is None or self.node.kind is ObjectKind.MODEL:
            return None
        current = CurrentVersions(self.warehouse, self.storage, self.gates, self.files)
        try:
            return asset_inputs(self.node, self.project, self.sql_file, current)
        except (*READ_ERRORS, *self.warehouse.ERRORS) as e:
            self.context.log.warning(f"{self.node.name}: cannot tell what it is built from: {e}")
            return None

    def record_build(self, account: AssetInputs) -> None:
        """Record what the asset was built from (``store/builds.py``), for ``sqlml plan``
        and ``--changed``; a failure to record only makes it count as changed next time."""
        record = account.record(self.node.name.key, self.context.run_id, now_iso())
        if record is None:
            return
        try:
            self.storage.builds().write(record)
        except OSError as e:
            self.context.log.warning(f"could not record what {self.node.name} was built from: {e}")

    def model_version(
        self, name: QualifiedName, version: Pin = None, *, gated: bool = True
    ) -> ModelVersion:
        """``name@version`` (``None``: what ``@latest`` resolves to — for a gated model, the
        newest version that passed its gates; a string: the version that alias names now),
        or a failure naming the versions (or aliases, SQLML430) that exist. ``gated=False``
        is the evaluation that runs the gates: it scores the candidate."""
        gates = self.gates.get(name.key, ()) if gated else ()
        try:
            return self.storage.models().get(name.key, version, gates=gates)
        except AliasNotFound as e:
            raise dg.Failure(description=f"{codes.ALIAS_NOT_FOUND}: {e}") from None
        except (ModelNotFound, CorruptVersion, BadName) as e:
            raise dg.Failure(description=str(e)) from None

    @property
    def force(self) -> bool:
        """Retrain even when nothing changed: ``WITH train.force = true``, the run config's
        ``force``, or the run tag ``sqlml/force=true``."""
        statement = self.node.statement
        written = statement.param("train.force") if isinstance(statement, TrainStatement) else None
        tag = self.context.run.tags.get(FORCE_TAG, "")
        return bool(written) or self.config.force or tag.lower() in ("1", "true", "yes")

    def launch(
        self, spec: StepSpec, data: DataStore, step_uri: str, *, siblings: int = 1
    ) -> LaunchResult:
        """Write the spec into the step's folder and run it through the launcher.
        ``siblings``: how many steps of this asset run at once (a search's trials) — a
        launcher on this machine gives each its share of the cores."""
        spec_uri = data.uri(step_uri, "spec.json")
        with fsspec.open(spec_uri, "w", encoding="utf-8") as f:
            f.write(spec.to_json())
        env = {**self.storage.step_env(), **self.model_packages.step_env()}
        # The runtime writes and loads versions only inside this store (contract/layout.py).
        env[STEP_MODEL_STORE_ENV] = self.storage.models().root_uri
        if self.launcher.shares_filesystem and self.models_dir is not None:
            # Locally the project's models/ folder is importable; in a cluster the image is.
            env["PYTHONPATH"] = str(self.models_dir)
        if self.launcher.shares_filesystem and spec.kind == "run":
            # Locally a TO RUN program comes from the project folder and nowhere else; in a
            # cluster from the image (contract/programs.py, docs/security.md).
            env[PROGRAM_ROOT_ENV] = self.files.allowed[0]
            env[PROGRAM_DIR_ENV] = self.files.folder
        if self.launcher.shares_filesystem and siblings > 1:  # a pod has resources.cpu
            env[STEP_CPUS_ENV] = str(max(1, visible_cores() // siblings))
        return self.launcher.launch(self.context, spec, spec_uri, env=env)

    @property
    def models_dir(self) -> Path | None:
        """The project's model-package folder: ``models/`` beside the SQL folder or in it."""
        return find_models_dir(self.project_root or self.sql_file.parent)

    def model_code_fingerprint(self, reference: str) -> str | None:
        """A digest of the model's Python package when it lives in the project's models/
        folder, so editing the model class retrains it (an image's digest covers the rest)."""
        return model_code_fingerprint(self.models_dir, reference)

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
    def files(self) -> FileScope:
        """The files this asset's SQL may open: relative paths from the SQL file's folder,
        anything under the project folder (docs/security.md, "Files")."""
        return FileScope.of_sql_file(self.sql_file, self.project_root)

    def export_input(
        self, select: exp.Expr, stem: str = "input", data_format: DataFormat | None = None
    ) -> tuple[DataStore, str, str, TableStats]:
        """Export a SELECT of the statement to the step's data file ``stem`` (``input``,
        ``validation``), in the data store's step data format (or ``data_format``)."""
        data = self.storage.data()
        step_uri = data.step_uri(self.context.run_id, *self.key_path)
        data_format = data_format or self.storage.data_format()
        input_uri = self.places(step_uri, data_format=data_format).data_file(stem)
        # ML_PREDICT in the SELECT
        with self.model_functions([select]) as calls:
            stats = self.warehouse.export_query(
                calls.rewritten[0],
                input_uri,
                files=self.files,
                functions=calls.functions,
                data_format=data_format,
            )
        return data, step_uri, input_uri, stats

    def model_functions(self, statements: list[exp.Expr], *, drift: bool = False) -> ModelFunctions:
        """The ``ML_PREDICT`` calls of ``statements`` as functions of this step; use it as
        a ``with`` block around the statements (it ends their scoring workers)."""
        return ModelFunctions.for_statements(
            self, statements, self.model_packages, drift=drift, workers=self.worker_setup()
        )

    def worker_setup(self) -> WorkerSetup:
        """How this step's ``ML_PREDICT`` scoring workers start: with what a local predict
        step gets (the local launcher's interpreter and settings where it is one)."""
        return WorkerSetup.local_step(
            packages=self.model_packages,
            store_env=self.storage.step_env(),
            model_store=self.storage.models().root_uri,
            models_dir=self.models_dir,
            python=str(getattr(self.launcher, "python", "") or ""),
            extra_env=dict(getattr(self.launcher, "env", None) or {}),
            pythonpath=tuple(getattr(self.launcher, "pythonpath", None) or ()),
        )

    def places(
        self, step_uri: str, data_format: DataFormat | None = None, **fields: Any
    ) -> StepInputs:
        """Where this materialization's step reads and writes (see :class:`StepInputs`), in
        the data store's step data format unless ``data_format`` says otherwise."""
        return StepInputs(
            step_id=self.step_id,
            step_uri=step_uri,
            data_format=data_format or self.storage.data_format(),
            **fields,
        )

    @property
    def step_id(self) -> str:
        return f"{self.context.run_id}/{'/'.join(self.key_path)}"

    @property
    def key_path(self) -> list[str]:
        """The asset key's path — also when a run selected only the node's checks, where
        Dagster's ``context.asset_key`` has no selected asset to name."""
        key = self.output_keys.get(self.node.name.key)
        if key is None:
            (key,) = self.context.assets_def.node_keys_by_output_name.values()
        return list(key.path)

    def output_key(self, name: QualifiedName) -> dg.AssetKey:
        """The asset key of one of the names the node produces."""
        return self.output_keys.get(name.key) or dg.AssetKey(self.key_path)


def model_code_fingerprint(folder: Path | None, reference: str) -> str | None:
    """A digest of a model's Python package when it lives in the project's ``models/``
    ``folder`` (``None``: a class from an installed package or an image)."""
    found = model_source_files(folder, reference)
    if folder is None or not found:
        return None
    digest = hashlib.sha256()
    for path in found:
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _with_data_version(result: dg.MaterializeResult, version: str) -> dg.MaterializeResult:
    """``result`` reporting ``version`` as the asset's data version."""
    return dg.MaterializeResult(
        asset_key=result.asset_key,
        metadata=result.metadata,
        check_results=result.check_results,
        data_version=dg.DataVersion(version),
        tags=result.tags,
    )
