"""``build_defs``: a folder of SQL → ``dagster.Definitions``.

One asset per produced table, view, model and prediction table; sources become external
assets. Compile errors are raised as one :class:`SqlMlCompileError` whose text lists every
problem with file:line:col and a caret excerpt.
"""

import hashlib
import inspect
import json
import os
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
from dagster import (
    AssetExecutionContext,
)  # by name, and no postponed annotations: Dagster inspects it

from .compiler import gates as compiler_gates
from .compiler.diagnostics import Diagnostic, SqlMlCompileError
from .compiler.gc_pause import paused_gc
from .compiler.ir import EvaluateStatement
from .compiler.manifest import ProjectManifest, project_manifest
from .compiler.project import Node, Project, compile_project
from .contract.model_packages import allowed_model_packages_from_env
from .dg_project import default_state_dir, find_dg_project
from .launchers import Launcher, launcher_from_env
from .ops.checks import data_checks, drift_check_specs, gate_check_specs, project_gates
from .ops.plan import CompiledProject
from .ops.step import AssetStep, SqlMlRunConfig
from .ops.storage import SqlMlStorage
from .quiet import silence_later_dagster_warnings
from .selection import SelectionError, select_assets
from .settings import SettingError
from .store import Gate, ModelNotFound
from .store.models import AliasNotFound, BadName, CorruptVersion
from .translator import SqlMlTranslator, source_path
from .warehouses import Warehouse, configured_warehouse

WAREHOUSE_KEY = "sqlml_warehouse"
STORAGE_KEY = "sqlml_storage"
LAUNCHER_KEY = "sqlml_launcher"
#: The embedded warehouse (DuckDB) in a project's state folder, when none is configured.
DEFAULT_WAREHOUSE_FILE = "warehouse.duckdb"


def build_defs(
    sql_dir: str | Path,
    *,
    dialect: str = "duckdb",
    state_dir: str | Path | None = None,
    warehouse: Warehouse | str | None = None,
    storage: SqlMlStorage | None = None,
    launcher: Launcher | None = None,
    translator: SqlMlTranslator | None = None,
    allowed_model_packages: Sequence[str] | None = None,
    select: str | None = None,
    exclude: str | None = None,
) -> dg.Definitions:
    """Compile ``sql_dir`` and return its Dagster definitions.

    A relative ``sql_dir`` is resolved against the folder of the file that calls
    ``build_defs`` (so ``build_defs("sql/")`` in ``definitions.py`` works from any working
    directory). Project state — the DuckDB file, model store and step data — lives in
    ``state_dir``: by default ``$SQLML_STATE_DIR``, else ``.sqlml/`` at the root of the
    ``dg`` project that file is in, else beside that file — and in the working directory
    when that file is part of an installed package (``dg_project.default_state_dir``).

    ``warehouse`` is a resource or a URL (``postgresql://user@host:5432/db``,
    docs/warehouses.md); without one, ``$SQLML_WAREHOUSE``, else the DuckDB file in
    ``state_dir``. The SQL is checked against the warehouse's dialect (SQLML118).

    ``launcher`` defaults to the local launcher, or to the Kubernetes launcher when
    ``SQLML_LAUNCHER=kubernetes`` (settings from ``SQLML_K8S_*``); a Kubernetes launcher's
    ``allowed_images`` are checked against every statement at compile time.

    ``allowed_model_packages``: packages a ``TO TRAIN`` may name besides the built-ins and
    the project's ``models/`` folder (default: ``$SQLML_ALLOWED_MODEL_PACKAGES``);
    checked at compile time and again by every step (``docs/security.md``).

    ``select``/``exclude``: which of the project's assets the Definitions hold, in
    Dagster's asset selection syntax (``group:iris``, ``+iris_predictions``,
    ``kind:pytorch``; :mod:`~sqlml_dagster.selection`).
    """
    caller_dir = _caller_dir(inspect.currentframe())
    path = Path(sql_dir)
    if not path.is_absolute():
        path = caller_dir / path
    project = find_dg_project(caller_dir)
    state = (
        Path(state_dir) if state_dir else default_state_dir(project.root if project else caller_dir)
    )
    try:
        return project_definitions(
            path,
            dialect=dialect,
            state_dir=state,
            warehouse=warehouse,
            storage=storage,
            launcher=launcher,
            translator=translator,
            allowed_model_packages=allowed_model_packages,
            select=select,
            exclude=exclude,
        )
    except SelectionError as e:
        raise SqlMlCompileError(
            [Diagnostic(code=e.code, message=e.message, span=None, hint=e.hint)]
        ) from None


# Compiled trees and Dagster definitions all stay alive in the result: no collection
# would free anything meanwhile (compiler/gc_pause.py).
@paused_gc()
def project_definitions(
    sql_dir: Path,
    *,
    dialect: str,
    state_dir: Path,
    warehouse: Warehouse | str | None = None,
    storage: SqlMlStorage | None = None,
    launcher: Launcher | None = None,
    translator: SqlMlTranslator | None = None,
    allowed_model_packages: Sequence[str] | None = None,
    select: str | None = None,
    exclude: str | None = None,
) -> dg.Definitions:
    """The one code path from resolved settings to Definitions, shared by :func:`build_defs`
    (Python) and the ``SqlMlProject`` component (YAML): both only resolve paths first.
    A selection that fails is a :class:`~sqlml_dagster.selection.SelectionError` for the
    caller to place (the component points at its defs.yaml)."""
    # Dagster's own beta warning when it later reads these checks (quiet.py): in dg dev's
    # code server and run workers, no call of ours is on the stack to silence it around.
    silence_later_dagster_warnings()
    launcher = launcher or launcher_from_env(os.environ)
    # A launcher with an image allow-list (Kubernetes) has it checked at compile time.
    allowed = list(getattr(launcher, "allowed_images", None) or [])
    if allowed_model_packages is None:
        try:
            allowed_model_packages = allowed_model_packages_from_env(os.environ)
        except ValueError as e:  # one line for the CLI, like every SQLML_* setting
            raise SettingError(str(e)) from None
    if hasattr(launcher, "allowed_images") and not allowed:
        warnings.warn(
            f"the {launcher.KIND} launcher's allowed_images is empty: statements may run any "
            "image (docs/security.md); set allowed_images (or SQLML_K8S_ALLOWED_IMAGES) to "
            "the registries your steps may use",
            SqlMlSecurityWarning,
            stacklevel=3,
        )
    state = state_dir.resolve()
    warehouse = configured_warehouse(warehouse, os.environ, str(state / DEFAULT_WAREHOUSE_FILE))
    try:
        project = compile_project(
            sql_dir,
            dialect=dialect,
            allowed_images=allowed,
            allowed_model_packages=allowed_model_packages,
            target_dialect=warehouse.dialect,
        )
    except SqlMlCompileError as e:
        raise SqlMlCompileError(e.diagnostics) from None  # no compiler internals in the traceback
    # Job-run assets carry the `kubernetes` kind: the translator learns where steps run.
    translator = (translator or SqlMlTranslator()).for_launcher(launcher.KIND)
    resources: dict[str, Any] = {
        WAREHOUSE_KEY: warehouse,
        STORAGE_KEY: storage
        or SqlMlStorage(model_store=str(state / "models"), data_store=str(state / "data")),
        LAUNCHER_KEY: launcher,
    }
    resources[manifest_key(sql_dir)] = project_manifest(project)
    resources[project_key(sql_dir)] = CompiledProject.of(
        project, translator.get_asset_key, lambda node: source_path(project, node)
    )
    assets = select_assets(build_assets(project, translator), select, exclude)
    sensors = [*automation_sensors(assets), *alias_sensors(project, translator, assets)]
    return dg.Definitions(assets=assets, resources=resources, sensors=sensors)


class SqlMlSecurityWarning(UserWarning):
    """A deployment setting leaves a rule of docs/security.md wide open."""


#: Resource keys of project manifests start with this (one key per project).
MANIFEST_KEY_PREFIX = "sqlml_manifest__"


def manifest_key(sql_dir: Path) -> str:
    """The resource key under which a project's :class:`ProjectManifest` travels with its
    Definitions: ``sqlml_manifest__<digest of the SQL folder's path>``.

    Why a resource: the CLI (``sqlml models gc -m MODULE`` and the other catalog commands)
    needs each project's pins, gates, models and dialect, and finds only the module's
    Definitions. Reading them back out of asset metadata is what made keys disagree (a
    Dagster asset key is not a store key); a file written at load time would go stale and
    may sit on a read-only disk. A Definitions' resources are a plain mapping that
    Dagster keeps as given, and ``Definitions.merge`` — how several ``SqlMlProject``
    components become one code location — unions them, refusing only one key bound to
    two objects. So each project adds its manifest (a frozen, Dagster-free value no asset
    requires) under a key of its own, and :func:`project_manifests` collects every one of
    them from whatever Definitions the module exposes.
    """
    return MANIFEST_KEY_PREFIX + _folder_digest(sql_dir)


def _folder_digest(sql_dir: Path) -> str:
    return hashlib.sha256(str(sql_dir.resolve()).encode()).hexdigest()[:12]


def project_key(sql_dir: Path) -> str:
    """The resource key of a project's :class:`CompiledProject`: ``sqlml_project__<digest>``,
    beside its manifest and for the same reasons (:func:`manifest_key`)."""
    return PROJECT_KEY_PREFIX + _folder_digest(sql_dir)


#: Resource keys of compiled projects (``sqlml plan``, ``--changed``) start with this.
PROJECT_KEY_PREFIX = "sqlml_project__"


def compiled_projects(defs: dg.Definitions) -> list[CompiledProject]:
    """The compiled projects in ``defs``, with their nodes' asset keys: what ``sqlml plan``
    and ``sqlml materialize --changed`` judge. They travel as the manifests do (see
    :func:`manifest_key`), beside them: the manifest is JSON for readers of the store;
    a plan needs the statements themselves (the SELECT it fingerprints, the files read)."""
    return [
        value
        for key, value in (defs.resources or {}).items()
        if key.startswith(PROJECT_KEY_PREFIX) and isinstance(value, CompiledProject)
    ]


def project_manifests(defs: dg.Definitions) -> list[ProjectManifest]:
    """The manifests of the projects compiled into ``defs`` (see :func:`manifest_key`)."""
    return [
        value
        for key, value in (defs.resources or {}).items()
        if key.startswith(MANIFEST_KEY_PREFIX) and isinstance(value, ProjectManifest)
    ]


#: The launchpad's ``ops.<asset>.config`` of every sqlml asset: :class:`SqlMlRunConfig`'s
#: fields, inferred once per process.
RUN_CONFIG_SCHEMA = SqlMlRunConfig.to_fields_dict()

#: The sensor that evaluates the project's ``-- sqlml:`` automation (schedule, on_new_model).
AUTOMATION_SENSOR = "sqlml_automation"


def automation_sensors(assets: Sequence[Any]) -> list[dg.AutomationConditionSensorDefinition]:
    """One automation sensor over the assets that have an automation condition, *running*
    from the start: a schedule written in the SQL should run without a click in the UI
    (Dagster's default sensor starts stopped). Stop it in the UI's Automation tab."""
    automated = [
        key
        for asset in assets
        if isinstance(asset, dg.AssetsDefinition)
        for key, condition in asset.automation_conditions_by_key.items()
        if condition is not None
    ]
    if not automated:
        return []
    return [
        dg.AutomationConditionSensorDefinition(
            AUTOMATION_SENSOR,
            target=dg.AssetSelection.assets(*automated),
            default_status=dg.DefaultSensorStatus.RUNNING,
            description="Runs the schedules and on_new_model refreshes written as -- sqlml: directives.",
        )
    ]


#: The sensor that refreshes the consumers of ``m@<alias>`` when the alias moves.
ALIAS_SENSOR = "sqlml_alias_moves"


def alias_sensors(
    project: Project, translator: SqlMlTranslator, assets: Sequence[Any] = ()
) -> list[dg.SensorDefinition]:
    """One sensor, *running* from the start, over the assets with ``on_new_model = eager``
    that use a model through an alias (``USING m@champion``, ``ML_PREDICT(m@prod, …)``):
    such an asset changes when the alias moves — a promotion, ``sqlml models alias`` — and
    not when a version lands that nothing points at, so the model's data version (what
    ``on_new_model`` watches otherwise) is the wrong signal.

    Each tick reads each watched alias from the model store; an alias that names another
    version than at the last tick requests its consumers (the latest partition of a
    partitioned one). The first tick only notes where the aliases stand. ``assets``: the
    Definitions' assets (a component's ``select``/``exclude`` may leave consumers out)."""
    held = {key for a in assets if isinstance(a, dg.AssetsDefinition) for key in a.keys} or None
    watched: dict[str, set[str]] = {}  # "model@alias" → consumer node keys
    nodes: dict[str, Node] = {}
    for node in project.nodes:
        if node.directives.on_new_model is None:
            continue
        if held is not None and translator.get_asset_key(node.name) not in held:
            continue
        for statement in node.statements:
            for model, pin in statement.model_pins():
                if isinstance(pin, str):
                    watched.setdefault(f"{model.key}@{pin}", set()).add(node.name.key)
                    nodes[node.name.key] = node
    if not watched:
        return []
    keys = {key: translator.get_asset_key(node.name) for key, node in nodes.items()}

    @dg.sensor(
        name=ALIAS_SENSOR,
        asset_selection=dg.AssetSelection.assets(*sorted(keys.values(), key=str)),
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=30,
        required_resource_keys={STORAGE_KEY},
        description="Refreshes the on_new_model consumers of m@<alias> when the alias moves.",
    )
    def _alias_moves(context: dg.SensorEvaluationContext) -> Iterator[Any]:
        store = getattr(context.resources, STORAGE_KEY).models()
        before = json.loads(context.cursor) if context.cursor else None
        now: dict[str, int] = {}
        for watch in sorted(watched):
            model, alias = watch.split("@", 1)
            try:
                now[watch] = store.alias(model, alias).version
            except AliasNotFound:
                continue  # not moved yet: its consumers fail saying so (SQLML430)
            except (ModelNotFound, CorruptVersion, BadName) as e:
                context.log.warning(f"{watch}: {e}")
                if before is not None and watch in before:
                    now[watch] = before[watch]  # unknown: neither a move nor a reset
        context.update_cursor(json.dumps(now, sort_keys=True))
        if before is None:
            yield dg.SkipReason(f"noted where {len(now)} alias(es) stand")
            return
        moved = sorted(w for w, version in now.items() if before.get(w) != version)
        if not moved:
            yield dg.SkipReason("no watched alias moved")
            return
        stale = sorted({key for w in moved for key in watched[w]})
        run_key = ",".join(f"{w}={now[w]}" for w in moved)
        tags = {"sqlml/alias_moved": run_key[:63]}
        plain = [keys[k] for k in stale if nodes[k].directives.partition is None]
        if plain:
            yield dg.RunRequest(run_key=run_key, asset_selection=plain, tags=tags)
        for key in stale:
            partitions = translator.get_partitions_def(nodes[key])
            if partitions is not None and (last := partitions.get_last_partition_key()):
                yield dg.RunRequest(
                    run_key=f"{run_key}:{key}",
                    asset_selection=[keys[key]],
                    partition_key=last,
                    tags=tags,
                )

    return [_alias_moves]


def build_assets(
    project: Project, translator: SqlMlTranslator | None = None
) -> list[dg.AssetsDefinition | dg.AssetSpec]:
    """The assets of a compiled project (for users composing their own Definitions)."""
    translator = (translator or SqlMlTranslator()).for_project(project)
    assets: list[dg.AssetsDefinition | dg.AssetSpec] = [
        translator.get_source_spec(s) for s in project.sources
    ]
    gates = project_gates(compiler_gates.project_gates(project.nodes))
    assets += [_asset_for(node, project, translator, gates) for node in project.nodes]
    # Data checks on the tables each TRAIN statement reads (docs/quality-gates.md).
    assets += data_checks(
        project, translator.get_asset_key, lambda node: source_path(project, node), WAREHOUSE_KEY
    )
    return assets


def _asset_for(
    node: Node,
    project: Project,
    translator: SqlMlTranslator,
    gates: Mapping[str, tuple[Gate, ...]],
) -> dg.AssetsDefinition:
    specs = translator.get_asset_specs(node, project)
    spec = specs[0]
    sql_file = source_path(project, node)
    # An evaluation with thresholds declares them as blocking checks on its *model*: the
    # step that computes the metric judges it, and Dagster holds the model's other
    # consumers in the run until it has (allow_arbitrary_check_specs: the option
    # dagster-dbt uses for source tests; can_subset: the gates may run without the table).
    statement = node.statement
    gate_specs = (
        gate_check_specs(node, translator.get_asset_key(statement.model))
        if isinstance(statement, EvaluateStatement)
        else []
    )
    # `-- sqlml: drift = …`: a check on the asset itself, judged by the step that scores.
    check_specs = gate_specs + drift_check_specs(node, spec.key)

    project_root = project.root if project.root.is_dir() else project.root.parent
    policies = project.policies()
    output_keys = {name.key: s.key for name, s in zip(node.outputs, specs, strict=True)}
    model_keys = {
        name.key: translator.get_asset_key(name)
        for s in node.statements
        for name, _ in s.model_pins()
    }

    # Dagster inspects this function's signature several times per asset: the run config
    # comes as a schema built once (not a `config: SqlMlRunConfig` parameter, whose schema
    # Dagster would infer again for every asset), and the return annotation stays simple
    # (each typing.get_type_hints call re-evaluates a Union). Same config, same launchpad.
    @dg.multi_asset(
        specs=specs,
        name="sqlml__" + "__".join(spec.key.path),
        required_resource_keys={WAREHOUSE_KEY, STORAGE_KEY, LAUNCHER_KEY},
        config_schema=RUN_CONFIG_SCHEMA,
        check_specs=check_specs or None,
        can_subset=bool(gate_specs),
        allow_arbitrary_check_specs=bool(gate_specs),
    )
    def _materialize(context: AssetExecutionContext) -> Iterator[Any]:
        yield from AssetStep(
            context=context,
            node=node,
            warehouse=getattr(context.resources, WAREHOUSE_KEY),
            storage=getattr(context.resources, STORAGE_KEY),
            launcher=getattr(context.resources, LAUNCHER_KEY),
            sql_file=sql_file,
            config=SqlMlRunConfig(**(context.op_execution_context.op_config or {})),
            project_root=project_root,
            gates=gates,
            model_packages=project.model_packages,
            policies=policies,
            output_keys=output_keys,
            project=project,
            model_keys=model_keys,
        ).run()

    return _materialize


def _caller_dir(frame: Any) -> Path:
    caller = frame.f_back if frame is not None else None
    file = caller.f_globals.get("__file__") if caller is not None else None
    return Path(file).resolve().parent if file else Path.cwd()
