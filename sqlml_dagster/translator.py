"""How compiled nodes look in Dagster: asset keys, groups, kinds, descriptions, metadata.

Like dagster-dbt's translator: subclass :class:`SqlMlTranslator` and override the one
method whose answer you want to change, instead of forking the package::

    class MyTranslator(SqlMlTranslator):
        def get_asset_key(self, name):
            return super().get_asset_key(name).with_prefix("warehouse")

    defs = build_defs("sql/", translator=MyTranslator())
"""

from __future__ import annotations

import copy
import functools
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

import dagster as dg

from .compiler.ir import (
    CreateModelStatement,
    ObjectKind,
    OptimizeStatement,
    QualifiedName,
    RunStatement,
    SqlStatement,
    TrainStatement,
)
from .compiler.project import Node, Project, Source
from .contract import FLAVORS, ui_kind
from .contract.optimization import SOLVER
from .sources import default_flavor, scheme_of

WAREHOUSE_KIND = "duckdb"

#: Dagster kinds of models by flavor. Each is a name the Dagster UI draws an icon for (it
#: looks kinds up lower-cased without ``-_.`` and spaces: ``sklearn`` has no icon,
#: ``scikitlearn`` has); a user's own class (``auto``) is "python" until it runs.
FLAVOR_KINDS = {name: flavor.ui_kind for name, flavor in FLAVORS.items()}
#: The kind of a model registered from a registry whose flavor is known only when resolved.
REGISTRY_KINDS = {"mlflow": "mlflow"}
#: Added to assets whose step runs through the launcher when that is a Kubernetes Job.
KUBERNETES_KIND = "kubernetes"
#: Nodes whose materialization runs a runtime step through the launcher (everything else
#: runs in the warehouse, ``ML_PREDICT`` included).
LAUNCHED_KINDS = (
    ObjectKind.MODEL,
    ObjectKind.PREDICTION,
    ObjectKind.EVALUATION,
    ObjectKind.EXPLANATION,
    ObjectKind.EXPLANATION_PLOT,
    ObjectKind.PROGRAM_OUTPUT,
    ObjectKind.PROGRAM_RUN,
    ObjectKind.SOLUTION,
)
#: Nodes whose asset writes no table (``TO RUN``/``TO EXPLAIN`` without ``INTO``): no
#: ``dagster/table_name``, no warehouse kind; what they did is in their materialization.
TABLELESS_KINDS = (ObjectKind.PROGRAM_RUN, ObjectKind.EXPLANATION_PLOT)

#: A launcher's ``KIND`` (``local``, ``kubernetes``, …).
LauncherKind = str


class SqlMlTranslator:
    def get_asset_key(self, name: QualifiedName) -> dg.AssetKey:
        """``schema.table`` → ``["schema", "table"]``, lower-cased as SQL compares names."""
        return dg.AssetKey(name.asset_path)

    def get_group_name(self, node: Node) -> str | None:
        """One group per file: ``sql/iris.sql`` → ``iris`` (``-- sqlml: group = x`` overrides)."""
        return node.directives.group or node.group

    def get_description(self, node: Node) -> str:
        header = {
            ObjectKind.TABLE: "Table",
            ObjectKind.VIEW: "View",
            ObjectKind.MODEL: "Model",
            ObjectKind.PREDICTION: "Predictions",
            ObjectKind.EVALUATION: "Evaluation",
            ObjectKind.EXPLANATION: "Explanation",
            ObjectKind.EXPLANATION_PLOT: "Explanation chart",
            ObjectKind.PROGRAM_OUTPUT: "Program output",
            ObjectKind.PROGRAM_RUN: "Program run",
            ObjectKind.SOLUTION: "Solution",
        }[node.kind]
        return f"{header} `{node.name}` from `{node.file}`:\n\n```sql\n{node.text}\n```"

    #: Where ML steps run; :func:`~sqlml_dagster.build_defs` sets it from its launcher
    #: through :meth:`for_launcher`, so the asset graph shows which assets run as Jobs.
    launcher_kind: LauncherKind = "local"

    def for_launcher(self, launcher_kind: LauncherKind) -> SqlMlTranslator:
        """A copy that knows where ML steps run (the caller's translator stays as it was,
        since the same instance may serve Definitions with different launchers)."""
        translator = copy.copy(self)
        translator.launcher_kind = launcher_kind
        return translator

    def for_project(self, project: Project) -> SqlMlTranslator:
        """The translator for one compiled project, asked before any of its assets: this
        one, unless its answers depend on the whole project — a ``translation`` that renames
        keys must know every node's new key before it can give any asset its deps."""
        return self

    def get_kinds(self, node: Node) -> set[str]:
        """The UI's icons: what runs the asset (``sql``/``duckdb``; the model's framework),
        ``sqlml`` on everything that involves a model, ``kubernetes`` where it runs as a Job."""
        statement = node.statement
        if isinstance(statement, TrainStatement):
            kinds = {"sqlml", FLAVOR_KINDS.get(statement.model.flavor, "python")}
        elif isinstance(statement, CreateModelStatement):
            kinds = {"sqlml", registered_model_kind(statement)}
        elif node.kind in TABLELESS_KINDS:  # TO RUN / TO EXPLAIN without INTO: no table
            kinds = {"sqlml", "python"}
        elif isinstance(statement, (RunStatement, OptimizeStatement)):
            kinds = {"sqlml", "python", WAREHOUSE_KIND}
        elif node.kind in LAUNCHED_KINDS:
            kinds = {"sqlml", WAREHOUSE_KIND}
        elif isinstance(statement, SqlStatement) and statement.model_calls:
            kinds = {"sql", "sqlml", WAREHOUSE_KIND}
        else:
            kinds = {"sql", WAREHOUSE_KIND}
        if self.launcher_kind == "kubernetes" and node.kind in LAUNCHED_KINDS:
            kinds.add(KUBERNETES_KIND)
        return kinds

    def get_tags(self, node: Node) -> dict[str, str]:
        """``sqlml/kind``, plus ``-- sqlml: tags.<name> = value`` directives."""
        return {"sqlml/kind": node.kind.value, **dict(node.directives.tags)}

    def get_owners(self, node: Node) -> list[str]:
        """``-- sqlml: owner = "team-ml@example.com"`` (or ``"team:ml"``, or a list)."""
        return list(node.directives.owners)

    def get_automation_condition(
        self, node: Node, project: Project
    ) -> dg.AutomationCondition | None:
        """``schedule`` → on a cron tick; ``on_new_model = eager`` → when a model the asset
        uses gets a new version; ``automation = on_change`` → :func:`on_change`;
        ``automation = eager | on_missing`` → Dagster's own.

        A model used only through an alias (``USING m@champion``) is left out of
        ``on_new_model``: a new version changes nothing for it. The alias sensor
        (``definitions.alias_sensors``) requests it when the alias moves instead.

        A scheduled asset waits, on each tick, only for its inputs that share its schedule
        (a file-wide schedule refreshes tables before the model trained on them); inputs
        that are not on that schedule do not hold it back, so a model scheduled alone
        retrains on every tick from whatever its tables hold.
        """
        directives = node.directives
        conditions: list[dg.AutomationCondition] = []
        if directives.schedule:
            conditions.append(self._on_schedule(node, project))
        aliased = aliased_only(node)
        models = [
            self.get_asset_key(name)
            for name in node.deps
            if _kind_of_name(project, name) is ObjectKind.MODEL and name.key not in aliased
        ]
        if directives.on_new_model and models:
            conditions.append(
                (
                    dg.AutomationCondition.in_latest_time_window()
                    & dg.AutomationCondition.any_deps_match(
                        dg.AutomationCondition.data_version_changed()
                        | dg.AutomationCondition.will_be_requested()
                    )
                    .allow(dg.AssetSelection.assets(*models))
                    .since_last_handled()
                    & ~dg.AutomationCondition.any_deps_missing()
                    & ~dg.AutomationCondition.any_deps_in_progress()
                    & ~dg.AutomationCondition.in_progress()
                ).with_label("on_new_model")
            )
        if directives.automation == "eager":
            conditions.append(dg.AutomationCondition.eager())
        elif directives.automation == "on_change":
            conditions.append(on_change())
        elif directives.automation == "on_missing":
            conditions.append(dg.AutomationCondition.on_missing())
        if not conditions:
            return None
        combined = conditions[0]
        for condition in conditions[1:]:
            combined = combined | condition
        return combined

    def _on_schedule(self, node: Node, project: Project) -> dg.AutomationCondition:
        cron, timezone = node.directives.schedule, node.directives.timezone
        assert cron is not None
        ticked: dg.AutomationCondition = dg.AutomationCondition.cron_tick_passed(cron, timezone)
        tick = dg.AutomationCondition.in_latest_time_window() & ticked.since_last_handled()
        same_schedule = [
            self.get_asset_key(name)
            for name in node.deps
            if (dep := _node_of(project, name)) is not None and dep.directives.schedule == cron
        ]
        if same_schedule:
            tick = tick & dg.AutomationCondition.all_deps_updated_since_cron(cron, timezone).allow(
                dg.AssetSelection.assets(*same_schedule)
            )
        return tick.with_label(f"on_schedule({cron}, {timezone})")

    def get_partitions_def(self, node: Node) -> dg.PartitionsDefinition | None:
        """``partition_by = day(col), partition_start = "2026-01-01"`` → daily partitions."""
        partition = node.directives.partition
        if partition is None:
            return None
        start = datetime.fromisoformat(partition.start)
        timezone = node.directives.timezone
        grains: dict[str, type[dg.TimeWindowPartitionsDefinition]] = {
            "hour": dg.HourlyPartitionsDefinition,
            "day": dg.DailyPartitionsDefinition,
            "week": dg.WeeklyPartitionsDefinition,
            "month": dg.MonthlyPartitionsDefinition,
        }
        return grains[partition.grain](start_date=start, timezone=timezone)  # type: ignore[call-arg]

    def get_freshness_policy(self, node: Node) -> dg.FreshnessPolicy | None:
        """``freshness = "26h"``: the asset is stale (fails) when older than that."""
        window = node.directives.freshness
        return dg.FreshnessPolicy.time_window(fail_window=window) if window else None

    def get_metadata(self, node: Node, project: Project) -> dict[str, Any]:
        metadata: dict[str, Any] = {
            "sqlml/file": node.file,
            "sqlml/line": node.statement.span.line,
            "dagster/code_references": code_reference(
                source_path(project, node), node.statement.span.line
            ),
        }
        if node.kind is not ObjectKind.MODEL and node.kind not in TABLELESS_KINDS:
            metadata["dagster/table_name"] = str(node.name)
        statement = node.statement
        if isinstance(statement, TrainStatement):
            metadata["sqlml/model_reference"] = statement.model.reference
            metadata["sqlml/flavor"] = statement.model.flavor
            if statement.model.image:
                metadata["sqlml/image"] = statement.model.image
        if isinstance(statement, CreateModelStatement) and statement.uri:
            metadata["sqlml/source_uri"] = statement.uri
        if isinstance(statement, RunStatement):
            metadata["sqlml/image"] = statement.image
            metadata["sqlml/program"] = " ".join(statement.command)
            if node.also:
                metadata["sqlml/written_with"] = ", ".join(str(n) for n in node.outputs)
        if isinstance(statement, OptimizeStatement):
            metadata["sqlml/solver"] = SOLVER
        if node.kind in LAUNCHED_KINDS:
            metadata["sqlml/launcher"] = self.launcher_kind
        if node.kind is ObjectKind.MODEL:
            pinned = sorted(project.pinned_versions().get(node.name.key, ()))
            if pinned:
                metadata["sqlml/pinned_versions"] = dg.MetadataValue.json(pinned)
        metadata["sqlml/dialect"] = project.dialect
        return metadata

    def get_code_version(self, node: Node) -> str:
        """The fingerprint of the normalized statements: comments and layout do not count."""
        return node.fingerprint

    def get_asset_spec(self, node: Node, project: Project) -> dg.AssetSpec:
        return dg.AssetSpec(
            key=self.get_asset_key(node.name),
            deps=[self.get_asset_key(d) for d in node.deps],
            description=self.get_description(node),
            metadata=self.get_metadata(node, project),
            group_name=self.get_group_name(node),
            code_version=self.get_code_version(node),
            kinds=self.get_kinds(node),
            tags=self.get_tags(node),
            owners=self.get_owners(node),
            automation_condition=self.get_automation_condition(node, project),
            partitions_def=self.get_partitions_def(node),
            freshness_policy=self.get_freshness_policy(node),
        )

    def get_asset_specs(self, node: Node, project: Project) -> list[dg.AssetSpec]:
        """Every asset of the node: its own, then one per further table its step writes
        (``TO RUN … INTO a, b``), alike but for the key and the table's name."""
        spec = self.get_asset_spec(node, project)
        return [spec] + [
            spec.replace_attributes(
                key=self.get_asset_key(name),
                metadata={**spec.metadata, "dagster/table_name": str(name)},
            )
            for name in node.also
        ]

    def get_source_spec(self, source: Source) -> dg.AssetSpec:
        """A table read but not produced by the project: an external asset."""
        return dg.AssetSpec(
            key=self.get_asset_key(source.name),
            description=f"Source table `{source.name}`, read by the project (first at {source.first_read.location()}).",
            kinds={WAREHOUSE_KIND},
            metadata={"dagster/table_name": str(source.name)},
            group_name="sources",
        )


def on_change() -> dg.AutomationCondition:
    """``-- sqlml: automation = on_change``: run when the asset's statement changes (its
    code version) or an input reports a new *data version* — not on every materialization
    of an input, as ``eager`` does. sqlml's assets report what they are built from as their
    data version (``ops/changes.py``; a model its fingerprint), so a scheduled refresh that
    read the same files and tables, or a training that reused its version, leaves what
    reads it alone. Dagster's own conditions, combined as dagster's ``eager()`` is."""
    changed: dg.AutomationCondition = (
        dg.AutomationCondition.missing()
        | dg.AutomationCondition.code_version_changed()
        | dg.AutomationCondition.any_deps_match(dg.AutomationCondition.data_version_changed())
    )
    return (
        dg.AutomationCondition.in_latest_time_window()
        & changed.since_last_handled()
        & ~dg.AutomationCondition.any_deps_missing()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
    ).with_label("on_change")


def code_reference(path: Path, line: int) -> dg.CodeReferencesMetadataValue:
    """The UI's "open in editor" link to a statement's line. Dagster marks both classes
    beta; we use them on purpose, so their BetaWarning (one per asset) is silenced here,
    around these two calls only — a user's own use of beta APIs still warns."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        return dg.CodeReferencesMetadataValue(
            code_references=[dg.LocalFileCodeReference(file_path=str(path), line_number=line)]
        )


def registered_model_kind(statement: CreateModelStatement) -> str:
    """``CREATE MODEL … [FLAVOR f] USING uri``: the flavor written or implied by the file's
    extension, else the registry's own kind (``mlflow``), else scikit-learn — what the
    runtime registers such a file as."""
    flavor = statement.flavor.lower() if statement.flavor else None
    if flavor is None and statement.uri:
        flavor = default_flavor(statement.uri)
        if flavor is None and scheme_of(statement.uri) in REGISTRY_KINDS:
            return REGISTRY_KINDS[scheme_of(statement.uri)]
    return ui_kind(flavor)


def aliased_only(node: Node) -> frozenset[str]:
    """The models ``node`` uses only through aliases (``m@champion``), by key."""
    pins: dict[str, set[bool]] = {}
    for statement in node.statements:
        for model, pin in statement.model_pins():
            pins.setdefault(model.key, set()).add(isinstance(pin, str))
    return frozenset(key for key, by_alias in pins.items() if by_alias == {True})


def _node_of(project: Project, name: QualifiedName) -> Node | None:
    try:
        return project.node(name)
    except KeyError:
        return None  # a source table


def _kind_of_name(project: Project, name: QualifiedName) -> ObjectKind | None:
    node = _node_of(project, name)
    return node.kind if node is not None else None


def source_path(project: Project, node: Node) -> Path:
    """The absolute path of the file defining a node."""
    return _files_base(project.root.absolute()) / node.file


@functools.lru_cache(maxsize=256)
def _files_base(root: Path) -> Path:
    """The folder node files are relative to (the SQL folder's parent), resolved once per
    project root: every asset and data check asks, and resolving walks the file system."""
    base = root if root.is_dir() else root.parent
    return base.resolve().parent
