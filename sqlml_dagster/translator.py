"""How compiled nodes look in Dagster: asset keys, groups, kinds, descriptions, metadata.

Like dagster-dbt's translator: subclass :class:`SqlMlTranslator` and override the one
method whose answer you want to change, instead of forking the package::

    class MyTranslator(SqlMlTranslator):
        def get_asset_key(self, name):
            return super().get_asset_key(name).with_prefix("warehouse")

    defs = build_defs("sql/", translator=MyTranslator())
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg

from .compiler.ir import (
    CreateModelStatement,
    ObjectKind,
    QualifiedName,
    SqlStatement,
    TrainStatement,
)
from .compiler.project import Node, Project, Source

WAREHOUSE_KIND = "duckdb"


#: Dagster kinds (UI icons) of models by flavor; a user's own class (``auto``) is "python".
FLAVOR_KINDS = {"sklearn": "sklearn", "pytorch": "pytorch", "keras": "tensorflow"}


class SqlMlTranslator:
    def get_asset_key(self, name: QualifiedName) -> dg.AssetKey:
        """``schema.table`` → ``["schema", "table"]``, lower-cased as SQL compares names."""
        return dg.AssetKey(name.asset_path)

    def get_group_name(self, node: Node) -> str | None:
        """One group per file: ``sql/iris.sql`` → ``iris``."""
        return node.group

    def get_description(self, node: Node) -> str:
        header = {
            ObjectKind.TABLE: "Table",
            ObjectKind.VIEW: "View",
            ObjectKind.MODEL: "Model",
            ObjectKind.PREDICTION: "Predictions",
            ObjectKind.EVALUATION: "Evaluation",
            ObjectKind.EXPLANATION: "Explanation",
        }[node.kind]
        return f"{header} `{node.name}` from `{node.file}`:\n\n```sql\n{node.text}\n```"

    def get_kinds(self, node: Node) -> set[str]:
        statement = node.statement
        if isinstance(statement, TrainStatement):
            flavor = statement.model.flavor
            return {"sqlml", FLAVOR_KINDS.get(flavor, "python")}
        if isinstance(statement, CreateModelStatement):
            return {"sqlml", statement.flavor or "sklearn"}
        if node.kind in (ObjectKind.PREDICTION, ObjectKind.EVALUATION, ObjectKind.EXPLANATION):
            return {"sqlml", WAREHOUSE_KIND}
        if isinstance(statement, SqlStatement) and statement.model_calls:
            return {"sql", "sqlml", WAREHOUSE_KIND}
        return {"sql", WAREHOUSE_KIND}

    def get_tags(self, node: Node) -> dict[str, str]:
        return {"sqlml/kind": node.kind.value}

    def get_metadata(self, node: Node, project: Project) -> dict[str, Any]:
        metadata: dict[str, Any] = {
            "sqlml/file": node.file,
            "sqlml/line": node.statement.span.line,
            "dagster/code_references": dg.CodeReferencesMetadataValue(
                code_references=[
                    dg.LocalFileCodeReference(
                        file_path=str(source_path(project, node)),
                        line_number=node.statement.span.line,
                    )
                ]
            ),
        }
        if node.kind is not ObjectKind.MODEL:
            metadata["dagster/table_name"] = str(node.name)
        statement = node.statement
        if isinstance(statement, TrainStatement):
            metadata["sqlml/model_reference"] = statement.model.reference
            if statement.model.image:
                metadata["sqlml/image"] = statement.model.image
        if isinstance(statement, CreateModelStatement) and statement.uri:
            metadata["sqlml/source_uri"] = statement.uri
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
        )

    def get_source_spec(self, source: Source) -> dg.AssetSpec:
        """A table read but not produced by the project: an external asset."""
        return dg.AssetSpec(
            key=self.get_asset_key(source.name),
            description=f"Source table `{source.name}`, read by the project (first at {source.first_read.location()}).",
            kinds={WAREHOUSE_KIND},
            metadata={"dagster/table_name": str(source.name)},
            group_name="sources",
        )


def source_path(project: Project, node: Node) -> Path:
    """The absolute path of the file defining a node."""
    base = project.root if project.root.is_dir() else project.root.parent
    return base.resolve().parent / node.file
