"""``sqlml plan``: what a run would do to each asset, and why — without running anything.

SQLMesh's ``plan`` for SQL-ML. For each asset, in dependency order:

- a **model** is *reused* (its ``@latest`` version's fingerprint equals what it would be
  trained from now) or *retrained* — with the reasons (statement or params, training data,
  image, model class or code, forced) and, for what trains, the rows, the estimated
  training steps and the GPUs it requests. The decision is :func:`decide_version`, the
  function the train step calls; the fingerprint is :func:`training_inputs` over the
  training SELECT's rows, read from the warehouse and fingerprinted without being
  written anywhere. When something the model reads recomputes first, its training data
  is not known yet: *maybe-retrain*, decided when its step runs.
- any other asset is *unchanged* (what it is built from — statement, upstream data
  versions, files, source tables, model versions — equals its last build's record,
  ``ops/changes.py``) or *recomputed*, with the inputs that changed.

A plain ``sqlml materialize`` recomputes unchanged tables anyway (and reuses unchanged
models); ``sqlml materialize --changed`` runs only what the plan says changes.

Nothing is written: no training, no table, no step folder, no record.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import dagster as dg

from ..compiler import gates as compiler_gates
from ..compiler.ir import CreateModelStatement, ObjectKind, QualifiedName, TrainStatement
from ..compiler.project import Node, Project
from ..contract import StepSpec
from ..contract.lifecycle import Pin
from ..contract.model_packages import find_models_dir
from ..runtime import StepError
from ..runtime.dl.settings import TrainSettings
from ..sources import REGISTRY_SCHEMES, SourceError, resolve_source, scheme_of
from ..store import Gate, ModelVersion
from ..store.builds import BuildRecord
from ..warehouses import FileScope, Warehouse
from .changes import READ_ERRORS, AssetInputs, CurrentVersions, Reason, asset_inputs
from .checks import project_gates
from .materializers.register import registration_inputs
from .materializers.train import step_spec, training_data_fingerprint, training_inputs
from .materializers.versions import ModelInputs, decide_version
from .model_functions import ModelFunctions
from .places import PENDING_VERSION, StepInputs
from .scoring_worker import WorkerSetup
from .step import model_code_fingerprint
from .storage import SqlMlStorage

#: What a run would do. ``changes`` verdicts are what ``--changed`` runs.
REUSE, RETRAIN, MAYBE_RETRAIN = "reuse", "retrain", "maybe-retrain"
RECOMPUTE, UNCHANGED = "recompute", "unchanged"
CHANGES = (RETRAIN, MAYBE_RETRAIN, RECOMPUTE)
#: Flavors whose training runs epochs of minibatches (a user's class, ``auto``, when the
#: statement sets ``train.epoch``).
STEPPED_FLAVORS = ("pytorch", "keras")


@dataclass(frozen=True)
class CompiledProject:
    """A compiled project as its Definitions carry it (``definitions.compiled_projects``):
    the nodes, the asset key of each name they produce, and the quality gates."""

    project: Project
    asset_keys: Mapping[str, tuple[dg.AssetKey, ...]]
    #: The absolute path of each node's SQL file (by node key).
    sql_files: Mapping[str, Path]
    gates: Mapping[str, tuple[Gate, ...]] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        project: Project,
        key_of: Callable[[QualifiedName], dg.AssetKey],
        path_of: Callable[[Node], Path],
    ) -> CompiledProject:
        """``key_of``: the translator's asset key of a name; ``path_of``: a node's file."""
        return cls(
            project=project,
            asset_keys={n.name.key: tuple(key_of(o) for o in n.outputs) for n in project.nodes},
            sql_files={n.name.key: path_of(n) for n in project.nodes},
            gates=project_gates(compiler_gates.project_gates(project.nodes)),
        )

    @property
    def root(self) -> Path:
        root = self.project.root
        return root if root.is_dir() else root.parent

    def sql_file(self, node: Node) -> Path:
        return self.sql_files[node.name.key]


@dataclass(frozen=True)
class Training:
    """What a training would take: rows, and for minibatch training the epochs, batch size
    and steps (``epochs * ceil(training rows / batch size)``); the GPUs it requests."""

    rows: int
    validation_rows: int | None = None
    epochs: int | None = None
    batch_size: int | None = None
    steps: int | None = None
    gpus: float = 0.0

    @property
    def text(self) -> str:
        parts = [f"{self.rows} rows"]
        if self.validation_rows is not None:
            parts.append(f"{self.validation_rows} validation rows")
        if self.steps is not None:
            parts.append(
                f"{self.epochs} epochs of {self.batch_size}-row batches = {self.steps} steps"
            )
        else:
            parts.append("one fit")
        if self.gpus:
            parts.append(f"{self.gpus:g} GPU" + ("s" if self.gpus != 1 else ""))
        return ", ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "validation_rows": self.validation_rows,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "steps": self.steps,
            "gpus": self.gpus,
        }


@dataclass(frozen=True)
class AssetPlan:
    """One node's verdict: what a run would do to its asset(s), and why."""

    name: str
    kind: str
    asset_keys: tuple[dg.AssetKey, ...]
    verdict: str
    reasons: tuple[Reason, ...] = ()
    #: A model: the version reused, or the one a retrain starts from (``None``: none yet).
    version: int | None = None
    training: Training | None = None
    location: str = ""

    @property
    def changes(self) -> bool:
        return self.verdict in CHANGES

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "asset_keys": [k.to_user_string() for k in self.asset_keys],
            "kind": self.kind,
            "verdict": self.verdict,
            "reasons": [r.to_json() for r in self.reasons],
            "version": self.version,
            "training": self.training.to_json() if self.training else None,
            "location": self.location,
        }


@dataclass(frozen=True)
class Plan:
    assets: tuple[AssetPlan, ...]

    @property
    def changed(self) -> tuple[AssetPlan, ...]:
        return tuple(a for a in self.assets if a.changes)

    @property
    def unchanged(self) -> tuple[AssetPlan, ...]:
        return tuple(a for a in self.assets if not a.changes)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for a in self.assets:
            out[a.verdict] = out.get(a.verdict, 0) + 1
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "plan_version": 1,
            "counts": self.counts(),
            "assets": [a.to_json() for a in self.assets],
        }

    def render(self) -> str:
        counts = ", ".join(f"{n} {verdict}" for verdict, n in self.counts().items())
        lines = [f"sqlml plan: {counts or 'no assets'} (nothing was run or written)", ""]
        rows = [("asset", "kind", "verdict", "why")]
        for a in self.assets:
            why = "; ".join(r.text for r in a.reasons if r.code != "unchanged") or (
                a.reasons[0].text if a.reasons else ""
            )
            if a.verdict == REUSE and a.version is not None:
                why = f"v{a.version}: {why}"
            if a.training is not None and a.verdict != REUSE:
                why = f"{why} — {a.training.text}" if why else a.training.text
            rows.append(
                (", ".join(k.to_user_string() for k in a.asset_keys), a.kind, a.verdict, why)
            )
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        for row in rows:
            lines.append(
                "  ".join(c.ljust(w) for c, w in zip(row[:3], widths, strict=True)) + "  " + row[3]
            )
        return "\n".join(line.rstrip() for line in lines)


def plan_projects(
    projects: list[CompiledProject],
    warehouse: Warehouse,
    storage: SqlMlStorage,
    *,
    force: bool = False,
) -> Plan:
    """The plan of every project in a code location, in each one's dependency order."""
    assets: list[AssetPlan] = []
    for compiled in projects:
        assets += _Planner(compiled, warehouse, storage, force).plan()
    return Plan(tuple(assets))


class _Planner:
    """One project's plan: each node judged against the current state, with what runs
    before it (a table recomputed, a model retrained) taken into account."""

    def __init__(
        self, compiled: CompiledProject, warehouse: Warehouse, storage: SqlMlStorage, force: bool
    ) -> None:
        self.compiled, self.warehouse, self.storage, self.force = (
            compiled,
            warehouse,
            storage,
            force,
        )
        self.current = CurrentVersions(warehouse, storage, compiled.gates)
        #: Planned data versions of the table-like nodes judged so far (None: unknown).
        self.tables: dict[str, str | None] = {}
        #: Models that change in this run: the new version's label, or None (not known).
        self.models: dict[str, str | None] = {}
        #: Nodes whose new data cannot be read before they run.
        self.changing: set[str] = set()

    def plan(self) -> list[AssetPlan]:
        out = []
        for node in self.compiled.project.nodes:
            judged = self._model(node) if node.kind is ObjectKind.MODEL else self._table(node)
            out.append(
                replace(
                    judged,
                    asset_keys=self.compiled.asset_keys.get(node.name.key, ()),
                    location=f"{node.file}:{node.statement.span.line}",
                )
            )
        return out

    # -- table-like nodes -------------------------------------------------------------

    def _table(self, node: Node) -> AssetPlan:
        versions = _Planned(self)
        inputs = asset_inputs(node, self.compiled.project, self.compiled.sql_file(node), versions)
        built = self.storage.builds().read(node.name.key)
        reasons = list(inputs.changes_since(built))
        pins = [(n, p) for s in node.statements for n, p in s.model_pins() if p is not None]
        notes = [
            Reason("pinned", f"uses {name}@{pin}: the new version of {name} does not change it")
            for name, pin in pins
            if name.key in self.models
        ]
        key = node.name.key
        if reasons:
            # Recomputed first: what reads it cannot be fingerprinted before it runs (a
            # table never built since records were kept may hold anything, too).
            self.tables[key] = inputs.data_version if inputs.always is None else None
            self.changing.add(key)
            return AssetPlan(key, node.kind.value, (), RECOMPUTE, (*reasons, *notes))
        self.tables[key] = inputs.data_version
        why = Reason("unchanged", _unchanged_text(inputs, built))
        return AssetPlan(key, node.kind.value, (), UNCHANGED, (why, *notes))

    # -- models -----------------------------------------------------------------------

    def _model(self, node: Node) -> AssetPlan:
        key = node.name.key
        statement = node.statement
        upstream = [
            name for name in node.deps if name.key in self.changing or name.key in self.models
        ]
        if upstream:
            self.models[key] = None
            reasons = tuple(
                Reason(
                    "unknown",
                    f"{name} changes first: whether it retrains is decided "
                    "when its step reads the new data",
                )
                for name in upstream
            )
            return AssetPlan(key, node.kind.value, (), MAYBE_RETRAIN, reasons)
        try:
            if isinstance(statement, TrainStatement):
                inputs, training = self._training(node, statement)
            else:
                assert isinstance(statement, CreateModelStatement)
                inputs, training = self._registration(node, statement), None
        except _NotKnown as e:
            self.models[key] = None
            return AssetPlan(key, node.kind.value, (), MAYBE_RETRAIN, (Reason("unknown", str(e)),))
        forced = self.force or bool(
            isinstance(statement, TrainStatement) and statement.param("train.force")
        )
        decision = decide_version(
            self.storage.models(), key, inputs, force=forced, statement=node.fingerprint
        )
        if decision.reuse is not None:
            return AssetPlan(
                key, node.kind.value, (), REUSE, decision.reasons, decision.reuse.version, training
            )
        self.models[key] = f"new:{inputs.fingerprint}"
        latest = _latest(self.storage, key)
        return AssetPlan(key, node.kind.value, (), RETRAIN, decision.reasons, latest, training)

    def _training(self, node: Node, statement: TrainStatement) -> tuple[ModelInputs, Training]:
        """The training's fingerprint from the rows it would read now, and its size."""
        rows = self._fingerprint(node, statement.select)
        validation = (
            self._fingerprint(node, statement.validation_select)
            if statement.validation_select is not None
            else None
        )
        data = training_data_fingerprint(rows[0], validation[0] if validation else None)
        folder = find_models_dir(self.compiled.root)
        code = model_code_fingerprint(folder, statement.model.reference)
        return training_inputs(node, data, code), training_size(
            node, rows[1], validation[1] if validation else None
        )

    def _fingerprint(self, node: Node, select: Any) -> tuple[str, int]:
        """A SELECT's content fingerprint and row count, read from the warehouse as the
        node's step reads it (its files, its ``ML_PREDICT`` calls), written nowhere."""
        project = self.compiled.project
        files = FileScope.of_sql_file(self.compiled.sql_file(node), self.compiled.root)
        try:
            calls = ModelFunctions.for_statements(
                _Resolver(self.storage, self.compiled.gates),
                [select],
                project.model_packages,
                workers=WorkerSetup.local_step(
                    packages=project.model_packages,
                    store_env=self.storage.step_env(),
                    model_store=self.storage.models().root_uri,
                    models_dir=find_models_dir(self.compiled.root),
                ),
            )
            with calls:
                stats = self.warehouse.export_query(
                    calls.rewritten[0], None, files=files, functions=calls.functions
                )
        except dg.Failure as e:
            raise _NotKnown(e.description or str(e)) from None
        except (*READ_ERRORS, *self.warehouse.ERRORS) as e:
            raise _NotKnown(f"cannot read its training data now: {e}") from None
        return stats.fingerprint, stats.rows

    def _registration(self, node: Node, statement: CreateModelStatement) -> ModelInputs:
        uri = statement.uri or ""
        if scheme_of(uri) in REGISTRY_SCHEMES:
            raise _NotKnown(f"{uri} is resolved by its registry when the step runs")
        try:
            source = resolve_source(uri, statement.flavor, self.compiled.sql_file(node).parent)
        except SourceError as e:
            raise _NotKnown(str(e)) from None
        return registration_inputs(node, source)


class _NotKnown(Exception):
    """What a model would train from cannot be read now."""


class _Planned:
    """Input versions as they will be when the node runs: what the plan decided for the
    nodes before it, the current state for the rest."""

    def __init__(self, planner: _Planner) -> None:
        self.planner = planner

    def table(self, node: Node) -> str | None:
        if node.name.key in self.planner.tables:
            return self.planner.tables[node.name.key]
        return self.planner.current.table(node)

    def source(self, name: QualifiedName) -> str | None:
        return self.planner.current.source(name)

    def model(self, name: QualifiedName, pin: Pin, *, gated: bool) -> str | None:
        if pin is None and name.key in self.planner.models:
            return self.planner.models[name.key]
        return self.planner.current.model(name, pin, gated=gated)


class _Resolver:
    """``ML_PREDICT`` in a training SELECT: the version a step would score."""

    def __init__(self, storage: SqlMlStorage, gates: Mapping[str, tuple[Gate, ...]]) -> None:
        self.storage, self.gates = storage, gates

    def model_version(self, name: QualifiedName, version: Pin = None) -> ModelVersion:
        from ..store.errors import BadName, CorruptVersion, ModelNotFound

        try:
            return self.storage.models().get(name.key, version, gates=self.gates.get(name.key, ()))
        except (ModelNotFound, CorruptVersion, BadName) as e:
            raise dg.Failure(description=str(e)) from None


def training_size(node: Node, rows: int, validation_rows: int | None) -> Training:
    """Rows, and epochs of minibatches for a flavor that trains in steps, read from the
    statement's ``WITH`` as the runtime reads it (``TrainSettings``)."""
    statement = node.statement
    assert isinstance(statement, TrainStatement)
    spec: StepSpec = step_spec(
        node, StepInputs(step_id="plan", step_uri="", model_uri=PENDING_VERSION)
    )
    try:
        settings = TrainSettings.of(spec)
    except StepError:
        return Training(rows, validation_rows)
    stepped = statement.model.flavor in STEPPED_FLAVORS or any(
        statement.param(k) is not None for k in ("train.epoch", "train.epochs")
    )
    if not stepped:
        return Training(rows, validation_rows, gpus=settings.gpus)
    fitted = rows - math.floor(rows * settings.validation_split)
    steps = settings.epochs * math.ceil(fitted / settings.batch_size) if fitted else 0
    return Training(
        rows, validation_rows, settings.epochs, settings.batch_size, steps, settings.gpus
    )


def _latest(storage: SqlMlStorage, name: str) -> int | None:
    numbers = storage.models().listing(name).numbers
    return numbers[-1] if numbers else None


def _unchanged_text(inputs: AssetInputs, built: BuildRecord | None) -> str:
    read = len(inputs.inputs)
    when = f" (built {built.built_at})" if built is not None and built.built_at else ""
    return f"statement and its {read} input(s) unchanged since its last build{when}"
