"""``SqlMlProject``: a folder of SQL as a Dagster Component, configured in ``defs.yaml``.

``dg`` projects declare their definitions as components in YAML; a user who writes SQL
should not need Python to add a project, point it at a warehouse or move its steps to a
cluster. The component only turns YAML into what :func:`build_defs` would have been given
— resolved paths, resources, a translator — and then calls the same
:func:`~sqlml_dagster.definitions.project_definitions`, so the two entry points cannot
drift apart.

.. code-block:: yaml

    type: sqlml_dagster.SqlMlProject
    attributes:
      sql_dir: sql
      launcher:
        kind: kubernetes
        namespace: ml
        allowed_images: [ghcr.io/acme/]

Every relative path in the attributes resolves against the folder of the ``defs.yaml``
(as ``build_defs`` resolves against the file that calls it). Mistakes a user can fix in
``defs.yaml`` are diagnostics with a code and ``defs.yaml:line:col``, like SQL mistakes.
"""

from __future__ import annotations

import importlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

import dagster as dg
import yaml
from dagster.components import Scaffolder, ScaffoldRequest, scaffold_with
from dagster.components.component_scaffolding import scaffold_component
from dagster_shared.yaml_utils.source_position import SourcePositionTree
from pydantic import BaseModel, Field, PrivateAttr, field_validator
from typing_extensions import Self

from .compiler import codes
from .compiler.diagnostics import Diagnostic, SourceFile, Span, SqlMlCompileError
from .compiler.dialects import unknown_dialect
from .component_settings import DEFAULT_SQL_DIR, shown_path
from .definitions import project_definitions
from .dg_project import STATE_FOLDER, default_state_dir
from .launchers import Launcher, launcher_from_env, launcher_from_settings
from .launchers.kubernetes import KubernetesSettings
from .launchers.local import LocalSettings
from .ops.storage import SqlMlStorage, StorageSettings
from .selection import SelectionError, parse_selection
from .translation import ResolvedTranslation, TranslationError, TranslationFn, translated
from .translator import SqlMlTranslator
from .warehouses import WAREHOUSE_ENV, Warehouse, configured_warehouse
from .warehouses.duckdb import DuckDBSettings, DuckDBWarehouse

if TYPE_CHECKING:
    from .compiler.ir import QualifiedName
    from .compiler.project import Node

R = TypeVar("R")

#: Where a scaffolded component keeps its SQL, relative to its defs.yaml (also the default).
SCAFFOLD_SQL_DIR = DEFAULT_SQL_DIR


def _as_strings(value: Any) -> Any:
    """Dagster renders every YAML string as a native Jinja template, so `"1"` arrives as 1 and
    `"true"` as True; environment values and node labels are strings, so turn them back (as
    YAML and Kubernetes spell them)."""

    def text(item: Any) -> Any:
        if isinstance(item, bool):
            return "true" if item else "false"
        return str(item) if isinstance(item, int | float) else item

    if isinstance(value, dict):
        return {key: text(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [text(item) for item in value]
    return text(value)


class WarehouseAttributes(dg.Resolvable, dg.Model, DuckDBSettings):
    """The DuckDB warehouse (:class:`~sqlml_dagster.DuckDBWarehouse`): its settings, with a
    default database in ``state_dir``."""

    database: str | None = Field(  # type: ignore[assignment]  # None: in state_dir
        default=None,
        description="DuckDB database file (relative: to this defs.yaml's folder), ':memory:' "
        "or 'md:…'; default: warehouse.duckdb in state_dir.",
    )


class LocalLauncherAttributes(dg.Resolvable, dg.Model, LocalSettings):
    """ML steps as local subprocesses (:class:`~sqlml_dagster.LocalLauncher`): its settings;
    relative ``pythonpath`` folders resolve against this defs.yaml's folder."""

    kind: Literal["local"] = Field(description="Run ML steps as local subprocesses.")

    @field_validator("env", "pythonpath", mode="before")
    @classmethod
    def _strings(cls, value: Any) -> Any:
        return _as_strings(value)


class KubernetesLauncherAttributes(dg.Resolvable, dg.Model, KubernetesSettings):
    """ML steps as Kubernetes Jobs (:class:`~sqlml_dagster.KubernetesLauncher`,
    docs/kubernetes.md): every setting of the resource, with the same defaults; a relative
    ``kubeconfig`` resolves against this defs.yaml's folder."""

    kind: Literal["kubernetes"] = Field(description="Run ML steps as Kubernetes Jobs.")

    @field_validator(
        "allowed_images",
        "node_selector",
        "image_pull_secrets",
        "env",
        "env_from_secrets",
        mode="before",
    )
    @classmethod
    def _strings(cls, value: Any) -> Any:
        return _as_strings(value)


class SqlMlProjectScaffolder(Scaffolder):
    """``dg scaffold defs sqlml_dagster.SqlMlProject NAME``: a defs.yaml and one example SQL
    file that compiles and materializes as it is, so a new user sees the whole loop —
    table, trained model, predictions — before writing their own SQL."""

    def scaffold(self, request: ScaffoldRequest[Any]) -> None:
        if request.append:  # another document in an existing defs.yaml
            scaffold_component(request, {"sql_dir": SCAFFOLD_SQL_DIR})
            folder = request.target_path.parent
        else:
            folder = request.target_path
            folder.mkdir(parents=True, exist_ok=True)
            if request.scaffold_format == "python":
                (folder / "component.py").write_text(SCAFFOLD_COMPONENT_PY)
            else:
                (folder / "defs.yaml").write_text(
                    SCAFFOLD_DEFS_YAML.format(type_name=request.type_name)
                )
        sql = folder / SCAFFOLD_SQL_DIR / "example.sql"
        if not sql.exists():
            sql.parent.mkdir(parents=True, exist_ok=True)
            sql.write_text(SCAFFOLD_SQL)
        if request.project_root is not None:
            ignore_state(request.project_root)


def ignore_state(project_root: Path) -> None:
    """``.sqlml/`` in the project's ``.gitignore`` (created if missing): the warehouse
    file, model versions and step data the default state folder fills are not source."""
    gitignore = project_root / ".gitignore"
    text = gitignore.read_text(encoding="utf-8") if gitignore.is_file() else ""
    ignored = {line.strip().strip("/") for line in text.splitlines()}
    if STATE_FOLDER in ignored:
        return
    separator = "" if not text or text.endswith("\n") else "\n"
    gitignore.write_text(f"{text}{separator}{GITIGNORE_BLOCK}", encoding="utf-8")


@scaffold_with(SqlMlProjectScaffolder)
class SqlMlProject(dg.Component, dg.Resolvable, dg.Model, StorageSettings):
    """A folder of .sql files — plain SQL beside `TO TRAIN`, `TO PREDICT`, `TO EVALUATE`,
    `TO EXPLAIN`, `CREATE MODEL` and `ML_PREDICT` — as Dagster assets: tables, versioned
    models, predictions. Relative paths resolve against this defs.yaml's folder."""

    sql_dir: str = Field(
        default=SCAFFOLD_SQL_DIR,
        description="Folder of the project's .sql files (relative: to this defs.yaml's folder).",
    )
    dialect: str = Field(
        default="duckdb",
        description="sqlglot dialect the SQL is written in; it is transpiled to DuckDB.",
    )
    state_dir: str | None = Field(
        default=None,
        description="Folder of the default warehouse file, model store and step data; "
        "default: $SQLML_STATE_DIR, else .sqlml at the dg project root (the working "
        "directory when the project runs from an installed package).",
    )
    warehouse: str | WarehouseAttributes | None = Field(
        default=None,
        description="The warehouse: a URL (postgresql://user@host:5432/db; a password from "
        "'{{ env.NAME }}' in it or PGPASSWORD) or the DuckDB warehouse's settings; default: "
        "$SQLML_WAREHOUSE, else warehouse.duckdb in state_dir (docs/warehouses.md).",
    )
    launcher: LocalLauncherAttributes | KubernetesLauncherAttributes | None = Field(
        default=None,
        description="Where ML steps run: `kind: local` or `kind: kubernetes` with its "
        "settings; default: $SQLML_LAUNCHER / $SQLML_K8S_*, else local.",
    )
    model_store: str | None = Field(  # type: ignore[assignment]  # None: in state_dir
        default=None,
        description="Versioned model store: a folder (relative: to this defs.yaml's folder) "
        "or a URL such as s3://bucket/models; default: models in state_dir.",
    )
    data_store: str | None = Field(  # type: ignore[assignment]  # None: in state_dir
        default=None,
        description="Where steps exchange Parquet and specs: a folder or URL; default: data "
        "in state_dir.",
    )
    translator: str | None = Field(
        default=None,
        description="'package.module:ClassName' of a SqlMlTranslator subclass (no-argument "
        "constructor) deciding asset keys, groups, descriptions, metadata.",
    )
    asset_key_prefix: str | list[str] | None = Field(
        default=None,
        description="Prefix of every asset key of the project (sources too), e.g. "
        "[analytics, ml] or 'analytics/ml'.",
    )
    group_name: str | None = Field(
        default=None,
        description="One group for all the project's assets instead of one per file "
        "(sources stay in 'sources').",
    )
    allowed_model_packages: list[str] | None = Field(
        default=None,
        description="Packages TO TRAIN may name besides the built-ins and the project's "
        "models/ folder, e.g. [acme_models]; default: $SQLML_ALLOWED_MODEL_PACKAGES "
        "(docs/security.md).",
    )
    translation: ResolvedTranslation = None
    select: str | None = Field(
        default=None,
        description="Which of the project's assets to define, in Dagster's asset selection "
        "syntax: 'group:iris', '+iris_predictions', 'kind:scikitlearn', "
        "'tag:sqlml/kind=model'; default: all.",
    )
    exclude: str | None = Field(
        default=None,
        description="Assets to leave out, in Dagster's asset selection syntax, e.g. "
        "'tag:sqlml/kind=explanation'.",
    )

    @field_validator(
        "sql_dir",
        "dialect",
        "state_dir",
        "model_store",
        "data_store",
        "translator",
        "asset_key_prefix",
        "group_name",
        "allowed_model_packages",
        "select",
        "exclude",
        mode="before",
    )
    @classmethod
    def _strings(cls, value: Any) -> Any:
        return _as_strings(value)

    #: Where each attribute sits in defs.yaml, for diagnostics; only known while loading.
    _positions: SourcePositionTree | None = PrivateAttr(default=None)

    @classmethod
    def get_spec(cls) -> dg.ComponentTypeSpec:
        return dg.ComponentTypeSpec(
            description="A folder of SQL with TO TRAIN / TO PREDICT / ML_PREDICT as Dagster "
            "assets: tables, versioned models, predictions (sqlml_dagster).",
            tags=["sql", "ml", "duckdb"],
            produces=["asset", "resource"],
        )

    @classmethod
    def load(cls, attributes: BaseModel | None, context: dg.ComponentLoadContext) -> Self:
        """Dagster's loading, keeping the YAML positions so that build_defs can point a
        diagnostic at the offending attribute (build_defs' context no longer has them)."""
        component = super().load(attributes, context)
        component._positions = context.resolution_context.source_position_tree
        return component

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        here = context.path if context.path.is_dir() else context.path.parent
        where = _AttributeLocator(self._positions)
        sql_dir = _resolve(here, self.sql_dir)
        diagnostics: list[Diagnostic] = []
        if not sql_dir.is_dir():
            diagnostics.append(
                where.diagnostic(
                    "sql_dir",
                    codes.NO_SQL_FILES,
                    f"the SQL folder {sql_dir} does not exist",
                    "sql_dir is relative to the folder of this defs.yaml",
                )
            )
        dialect_problem = unknown_dialect(self.dialect)
        if dialect_problem is not None:
            diagnostics.append(where.diagnostic("dialect", codes.UNKNOWN_DIALECT, *dialect_problem))
        translator_cls = self._translator_class(where, diagnostics)
        for attribute in ("select", "exclude"):
            text = getattr(self, attribute)
            try:
                if text:
                    parse_selection(text)
            except SelectionError as e:
                diagnostics.append(where.diagnostic(attribute, e.code, e.message, e.hint))
        if diagnostics:
            raise SqlMlCompileError(diagnostics)
        state = self._state_dir(here, context.project_root)
        try:
            return project_definitions(
                sql_dir,
                dialect=self.dialect,
                state_dir=state,
                warehouse=_shared(self._warehouse(here, state)),
                storage=_shared(self._storage(here, state)),
                launcher=_shared(self._launcher(here)),
                translator=self._translator(translator_cls),
                allowed_model_packages=self.allowed_model_packages,
                select=self.select,
                exclude=self.exclude,
            )
        except SqlMlCompileError as e:
            raise SqlMlCompileError(e.diagnostics) from None  # the diagnostics, not our frames
        except SelectionError as e:  # select/exclude parse, and select nothing
            attribute = "select" if self.select else "exclude"
            raise SqlMlCompileError(
                [where.diagnostic(attribute, e.code, e.message, e.hint)]
            ) from None
        except TranslationError as e:
            raise SqlMlCompileError(
                [
                    where.diagnostic(
                        "translation",
                        codes.BAD_TRANSLATION,
                        str(e),
                        "translation templates see 'node' (name, kind, statement, file, "
                        "group, model, flavor, tags…) and 'spec' (docs/component.md)",
                    )
                ]
            ) from None

    # -- attributes → what build_defs takes ------------------------------------------------

    def _state_dir(self, here: Path, project_root: Path | None) -> Path:
        """Explicit state_dir, else $SQLML_STATE_DIR, else ``.sqlml`` at the ``dg`` project
        root — beside its pyproject.toml, where a user looks and ``dg scaffold defs`` put
        it in ``.gitignore`` — never inside an installed package (then: the working
        directory)."""
        if self.state_dir:
            return _resolve(here, self.state_dir)
        return default_state_dir(project_root)

    def _warehouse(self, here: Path, state: Path) -> Warehouse:
        """A URL names the warehouse (a plain path: a DuckDB file, relative to this
        defs.yaml); DuckDB settings configure the default engine; nothing: the environment
        (``$SQLML_WAREHOUSE``), else DuckDB in the state folder — as for build_defs."""
        if isinstance(self.warehouse, str):
            url = self.warehouse if "://" in self.warehouse else str(_resolve(here, self.warehouse))
            return configured_warehouse(url, os.environ, "")
        if self.warehouse is None and os.environ.get(WAREHOUSE_ENV, "").strip():
            return configured_warehouse(None, os.environ, "")
        settings = self.warehouse or WarehouseAttributes()
        database = settings.database
        if database is None:
            database = str(state.resolve() / "warehouse.duckdb")
        elif not _is_special_database(database):
            database = str(_resolve(here, database))
        return DuckDBWarehouse(**{**settings.model_dump(), "database": database})

    def _storage(self, here: Path, state: Path) -> SqlMlStorage:
        return SqlMlStorage(
            model_store=_store_url(here, self.model_store, state / "models"),
            data_store=_store_url(here, self.data_store, state / "data"),
            storage_options=dict(self.storage_options),
            data_retention_hours=self.data_retention_hours,
            step_data_format=self.step_data_format,
        )

    def _launcher(self, here: Path) -> Launcher:
        """The launcher the attribute's ``kind`` names, built from its settings (relative
        paths resolved here); without one the environment decides (``SQLML_LAUNCHER``), as
        for build_defs."""
        settings = self.launcher
        if settings is None:
            return launcher_from_env(os.environ)
        values = settings.model_dump(exclude={"kind"})
        if isinstance(settings, LocalLauncherAttributes):
            values["pythonpath"] = [str(_resolve(here, p)) for p in settings.pythonpath]
        elif settings.kubeconfig:
            values["kubeconfig"] = str(_resolve(here, os.path.expanduser(settings.kubeconfig)))
        return launcher_from_settings(settings.kind, values)

    def _translator_class(
        self, where: _AttributeLocator, diagnostics: list[Diagnostic]
    ) -> type[SqlMlTranslator]:
        if not self.translator:
            return SqlMlTranslator
        module_name, _, attribute = self.translator.replace(":", ".").rpartition(".")
        hint = "write 'package.module:ClassName', a SqlMlTranslator subclass importable here"
        try:
            found = (
                getattr(importlib.import_module(module_name), attribute) if module_name else None
            )
        except Exception as e:  # an import error in the user's module is theirs to read
            diagnostics.append(
                where.diagnostic(
                    "translator",
                    codes.BAD_TRANSLATOR,
                    f"cannot import translator '{self.translator}': {type(e).__name__}: {e}",
                    hint,
                )
            )
            return SqlMlTranslator
        if not (isinstance(found, type) and issubclass(found, SqlMlTranslator)):
            diagnostics.append(
                where.diagnostic(
                    "translator",
                    codes.BAD_TRANSLATOR,
                    f"translator '{self.translator}' is not a SqlMlTranslator subclass",
                    hint,
                )
            )
            return SqlMlTranslator
        return found

    def _translator(self, cls: type[SqlMlTranslator]) -> SqlMlTranslator:
        """The user's translator class, with the YAML overrides layered on top of it so that
        a prefix reaches every key *and* every dependency (both go through get_asset_key),
        and the ``translation`` last of all (:mod:`~sqlml_dagster.translation`)."""
        prefix = self._key_prefix()
        configured: SqlMlTranslator
        if not prefix and self.group_name is None:
            configured = cls()
        else:
            overrides = type(f"{cls.__name__}FromYaml", (_YamlOverrides, cls), {})()
            overrides.key_prefix = prefix
            overrides.group_override = self.group_name
            configured = overrides
        translation: TranslationFn | None = self.translation
        return translated(configured, translation) if translation is not None else configured

    def _key_prefix(self) -> tuple[str, ...]:
        if self.asset_key_prefix is None:
            return ()
        if isinstance(self.asset_key_prefix, str):
            return tuple(p for p in self.asset_key_prefix.split("/") if p)
        return tuple(self.asset_key_prefix)


class _YamlOverrides(SqlMlTranslator):
    """``asset_key_prefix`` and ``group_name`` from defs.yaml, placed before the user's
    translator in the MRO: their answers are refined, not replaced."""

    key_prefix: tuple[str, ...] = ()
    group_override: str | None = None

    def get_asset_key(self, name: QualifiedName) -> dg.AssetKey:
        key = super().get_asset_key(name)
        return key.with_prefix(list(self.key_prefix)) if self.key_prefix else key

    def get_group_name(self, node: Node) -> str | None:
        return (
            self.group_override if self.group_override is not None else super().get_group_name(node)
        )


@dataclass(frozen=True)
class _AttributeLocator:
    """Turns an attribute name into a diagnostic with a caret under its value in defs.yaml
    (no location when the component was built in Python)."""

    positions: SourcePositionTree | None

    def diagnostic(self, attribute: str, code: str, message: str, hint: str) -> Diagnostic:
        key = self.positions.lookup(["attributes", attribute]) if self.positions else None
        if key is None or not Path(key.filename).is_file():
            return Diagnostic(code=code, message=message, span=None, hint=hint)
        text = Path(key.filename).read_text()
        source = SourceFile(path=shown_path(Path(key.filename)), text=text)
        start, end = _value_range(text, key.start.line - 1, key.start.col - 1)
        return Diagnostic(
            code=code, message=message, span=Span.of(source, start, end), hint=hint, source=source
        )


def _value_range(text: str, line: int, column: int) -> tuple[int, int]:
    """Character range of the value whose key starts at 0-based (line, column), first line
    only (the key's first character if no value is found there). Dagster records where keys
    start; YAML's composer knows where values are."""
    for document in yaml.compose_all(text, Loader=yaml.SafeLoader):
        for node in _mapping_nodes(document):
            for key, value in node.value:
                if (key.start_mark.line, key.start_mark.column) == (line, column):
                    stop = text.find("\n", value.start_mark.index)
                    stop = len(text) if stop < 0 else stop
                    return value.start_mark.index, min(value.end_mark.index, stop)
    key_start = sum(len(row) + 1 for row in text.split("\n")[:line]) + column
    return key_start, key_start + 1


def _mapping_nodes(node: yaml.Node | None) -> list[yaml.MappingNode]:
    if isinstance(node, yaml.MappingNode):
        found = [node]
        for key, value in node.value:
            found += _mapping_nodes(key) + _mapping_nodes(value)
        return found
    if isinstance(node, yaml.SequenceNode):
        return [m for item in node.value for m in _mapping_nodes(item)]
    return []


#: One instance per distinct resource setting in this process, see :func:`_shared`.
_RESOURCES: dict[tuple[type, str], Any] = {}


def _shared(resource: R) -> R:
    """The instance already built with the same settings, if any. Dagster merges the
    Definitions of several components only when a resource key maps to the *same* object,
    so projects that share a warehouse, stores and launcher can live in one code location."""
    settings = json.dumps(cast(Any, resource).model_dump(), sort_keys=True, default=str)
    return cast(R, _RESOURCES.setdefault((type(resource), settings), resource))


def _resolve(here: Path, path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else (here / p).resolve()


def _is_special_database(database: str) -> bool:
    return database == ":memory:" or database.startswith("md:") or "://" in database


def _store_url(here: Path, url: str | None, default: Path) -> str:
    if url is None:
        return str(default.resolve())
    return url if "://" in url else str(_resolve(here, url))


# -- what `dg scaffold defs sqlml_dagster.SqlMlProject NAME` writes ----------------------------

SCAFFOLD_DEFS_YAML = """\
type: {type_name}

attributes:
  # The .sql files, relative to this file's folder.
  sql_dir: sql
  # Everything below is optional (docs/component.md lists every attribute).
  # dialect: duckdb                 # the dialect the SQL is written in
  # state_dir: .sqlml               # default: $SQLML_STATE_DIR, else .sqlml at the project root
  # model_store: s3://bucket/models # default: <state_dir>/models
  # data_store: s3://bucket/data    # default: <state_dir>/data
  # warehouse: postgresql://ml@db:5432/analytics  # default: $SQLML_WAREHOUSE, else DuckDB
  # launcher:
  #   kind: kubernetes
  #   namespace: ml
  #   allowed_images: [ghcr.io/acme/]
  #   node_selector: {{nvidia.com/gpu.present: "true"}}
  # asset_key_prefix: [ml]
  # group_name: ml
  # select: "group:example"          # Dagster's asset selection syntax; exclude: too
  # translation:                     # templates over node (name, kind, file…) and spec
  #   owners: [team:ml]
  #   for_model:
  #     tags: {{tier: gold}}
"""

GITIGNORE_BLOCK = f"""
# sqlml_dagster: the default warehouse file, model versions and step data
{STATE_FOLDER}/
"""

SCAFFOLD_COMPONENT_PY = """\
\"\"\"The SQL project in this folder (docs/component.md): the same attributes as defs.yaml.\"\"\"

import dagster as dg

from sqlml_dagster import SqlMlProject


@dg.component_instance
def load(context: dg.ComponentLoadContext) -> SqlMlProject:
    return SqlMlProject(sql_dir="sql")
"""

SCAFFOLD_SQL = """\
-- An example sqlml project: a table, a model trained on it, its predictions.
-- Replace it with your own SQL; `sqlml check <this folder>` reports mistakes with file:line:col.
CREATE TABLE example_points AS
SELECT
    i AS id,
    (i % 10) / 10.0 AS x1,
    (i % 7) / 7.0 AS x2,
    CASE WHEN (i % 10) / 10.0 + (i % 7) / 7.0 > 0.9 THEN 1 ELSE 0 END AS label,
    CASE WHEN i % 5 = 0 THEN 'test' ELSE 'train' END AS split
FROM range(200) AS t(i);

-- Train a scikit-learn classifier: every selected column but the label is a feature.
SELECT x1, x2, label
FROM example_points
WHERE split = 'train'
TO TRAIN sklearn.linear_model.LogisticRegression
WITH model.C = 10.0
LABEL label
INTO example_model;

-- Predict the held-out rows into a new table; `label` becomes the model's prediction.
SELECT id, x1, x2
FROM example_points
WHERE split = 'test'
TO PREDICT example_predictions.label
USING example_model;
"""
