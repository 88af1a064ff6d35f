"""The compiled project as one versioned JSON document, in the spirit of dbt's
``manifest.json``: what the compiler knows, for every reader that is not the compiler.

``sqlml compile`` prints it and ``sqlml compile PATH --manifest FILE`` writes it;
``project_definitions`` hands each project's manifest to the CLI beside its Definitions
(``definitions.py``), so ``sqlml models gc``/``list``, ``run-sql`` and ``sql`` learn a
project's pins, gates, models and dialect from it — never by reading Dagster metadata back.

Every name in it is a store key (``QualifiedName.key``: lower-case, dot-joined,
``zoo.churn_model``), the key under which the model store keeps a model's versions; how
Dagster spells an asset key (a YAML ``asset_key_prefix``, a custom translator) is not a
project fact and does not appear. Format, ``manifest_version`` 1::

    {
      "manifest_version": 1,
      "dialect": "duckdb",
      "files": ["sql/churn.sql"],
      "nodes": [                                 # in dependency order
        {"name": "zoo.churn_model", "kind": "model", "statement": "Train",
         "location": {"file": "sql/churn.sql", "line": 3, "col": 1},
         "group": "churn", "deps": ["zoo.customers"], "fingerprint": "3f…",
         "sql": "SELECT … TO TRAIN sklearn.tree.DecisionTreeClassifier … INTO zoo.churn_model",
         "model": {"reference": "sklearn.tree.DecisionTreeClassifier", "flavor": "sklearn",
                   "image": null, "uri": null},
         "params": {"model.max_depth": 3}, "label": "churned", "column": null,
         "directives": {"schedule": "0 3 * * *", "owners": ["team-ml@example.com"]},
         "also": []}                             # TO RUN … INTO a, b: the node a, also b
      ],
      "sources": [{"name": "zoo.customers", "location": {"file": …, "line": 3, "col": 1}}],
      "pins": {"zoo.churn_model": [1]},          # versions the SQL pins: gc keeps them
      "gates": {"zoo.churn_model": [             # TO EVALUATE … WITH check.<metric> …
        {"name": "zoo_churn_eval_accuracy", "metric": "accuracy", "op": ">=",
         "threshold": 0.8, "evaluation": "zoo.churn_eval", "location": "sql/churn.sql:9:40"},
        {"name": "zoo_churn_eval_auc", "metric": "auc", "op": ">=", "threshold": 0.01,
         "baseline": "champion", …}]}     # check.auc >= champion.auc + 0.01
    }

Every node has every field: ``model`` is null unless it is a model, ``params`` empty unless
it is an ML statement (or ``CREATE MODEL``'s options), ``label``/``column`` null where the
statement has none (``column``: a prediction's output column), ``directives`` the resolved
ones that differ from the defaults; ``sql`` is the node's statements as written. Readers
ignore fields they do not know; a newer ``manifest_version`` is refused with a message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ..contract.trials import json_value
from ..contract.versioned import check_version, known_fields
from ..sources import default_flavor
from .diagnostics import Span
from .directives import NO_DIRECTIVES, Directives
from .gates import GateSpec, project_gates
from .ir import (
    CreateModelStatement,
    EvaluateStatement,
    MLStatement,
    PredictStatement,
    TrainStatement,
)
from .project import Node, Project

#: The format written here; bump it when a reader could misread a new document.
MANIFEST_VERSION = 1


class ManifestError(ValueError):
    """A document this version cannot read; the message says why."""


@dataclass(frozen=True)
class SourceLocation:
    """Where something is written: ``sql/churn.sql:3:1``."""

    file: str
    line: int
    col: int

    @classmethod
    def of(cls, span: Span) -> SourceLocation:
        return cls(span.file, span.line, span.col)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class ModelReference:
    """What a model node is: a Python reference to train (``TO TRAIN``), or a file or
    registry URI to register (``CREATE MODEL … USING``); ``flavor`` is the framework when
    the statement tells it, ``image`` the container it runs in."""

    reference: str | None
    flavor: str | None
    image: str | None = None
    uri: str | None = None


@dataclass(frozen=True)
class ManifestNode:
    """One asset the project produces, keyed by its store key."""

    name: str
    kind: str
    statement: str
    location: SourceLocation
    group: str
    deps: tuple[str, ...]
    fingerprint: str
    sql: str
    model: ModelReference | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    label: str | None = None
    column: str | None = None
    directives: Mapping[str, Any] = field(default_factory=dict)
    #: Further tables the node's one step writes (``TO RUN … INTO a, b``: ``["b"]``).
    also: tuple[str, ...] = ()


@dataclass(frozen=True)
class ManifestSource:
    """A table the project reads and no statement produces."""

    name: str
    location: SourceLocation


@dataclass(frozen=True)
class ProjectManifest:
    """The compiled project (see the module's docstring for the JSON)."""

    dialect: str
    files: tuple[str, ...]
    nodes: tuple[ManifestNode, ...]
    sources: tuple[ManifestSource, ...]
    #: Model key → the versions some statement pins (``USING m@3``, ``ML_PREDICT(m@3, …)``).
    pins: Mapping[str, tuple[int, ...]]
    #: Model key → its quality gates, in the order the evaluations are written.
    gates: Mapping[str, tuple[GateSpec, ...]]
    manifest_version: int = MANIFEST_VERSION

    @property
    def models(self) -> tuple[str, ...]:
        """The keys of the models the project's SQL defines."""
        return tuple(n.name for n in self.nodes if n.kind == "model")

    def to_json(self) -> str:
        """The document: keys sorted, two-space indent (stable for goldens and diffs)."""
        raw = asdict(self)
        for specs in raw["gates"].values():
            for spec in specs:  # an absolute gate, as manifests wrote it before baselines
                if not spec["baseline"]:
                    del spec["baseline"]
        return json.dumps(raw, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ProjectManifest:
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as e:
            raise ManifestError(f"not a project manifest: {e}") from None
        if not isinstance(raw, dict) or "manifest_version" not in raw:
            raise ManifestError("not a project manifest: no manifest_version")
        version = raw["manifest_version"]
        check_version(
            version,
            MANIFEST_VERSION,
            what="project manifest",
            reader="sqlml_dagster",
            upgrade="upgrade sqlml-dagster or compile with this release",
            error=ManifestError,
        )
        return cls(
            dialect=raw["dialect"],
            files=tuple(raw.get("files", ())),
            nodes=tuple(_node(n) for n in raw.get("nodes", ())),
            sources=tuple(
                ManifestSource(s["name"], SourceLocation(**s["location"]))
                for s in raw.get("sources", ())
            ),
            pins={k: tuple(v) for k, v in raw.get("pins", {}).items()},
            gates={
                k: tuple(GateSpec(**known_fields(GateSpec, g)) for g in v)
                for k, v in raw.get("gates", {}).items()
            },
            manifest_version=version,
        )


def project_manifest(project: Project) -> ProjectManifest:
    """The manifest of a compiled project."""
    return ProjectManifest(
        dialect=project.dialect,
        files=tuple(f.path for f in project.files),
        nodes=tuple(_manifest_node(n) for n in project.nodes),
        sources=tuple(
            ManifestSource(s.name.key, SourceLocation.of(s.first_read)) for s in project.sources
        ),
        pins={k: tuple(sorted(v)) for k, v in sorted(project.pinned_versions().items())},
        gates=project_gates(project.nodes),
    )


def _manifest_node(node: Node) -> ManifestNode:
    statement = node.statement
    model: ModelReference | None = None
    params: dict[str, Any] = {}
    label = column = None
    if isinstance(statement, MLStatement):
        params = {p.key: json_value(p.value) for p in statement.params}
    if isinstance(statement, TrainStatement):
        ref = statement.model
        model = ModelReference(ref.reference, ref.flavor, ref.image)
        label = statement.label
    elif isinstance(statement, CreateModelStatement):
        params = {p.key: p.value for p in statement.options}
        flavor = statement.flavor or (default_flavor(statement.uri) if statement.uri else None)
        model = ModelReference(statement.model_type, flavor, uri=statement.uri)
    elif isinstance(statement, EvaluateStatement):
        label = statement.label
    elif isinstance(statement, PredictStatement):
        column = statement.column
    return ManifestNode(
        name=node.name.key,
        kind=node.kind.value,
        statement=type(statement).__name__.removesuffix("Statement"),
        location=SourceLocation.of(statement.span),
        group=node.group,
        deps=tuple(d.key for d in node.deps),
        fingerprint=node.fingerprint,
        sql=node.text,
        model=model,
        params=params,
        label=label,
        column=column,
        directives=_directives(node.directives),
        also=tuple(name.key for name in node.also),
    )


def _directives(directives: Directives) -> dict[str, Any]:
    """The resolved directives that differ from the defaults, as JSON values (a freshness
    window in seconds, a partitioning as grain, column and start)."""
    out: dict[str, Any] = {}
    if directives is NO_DIRECTIVES:  # most nodes: no directive written
        return out
    for f in fields(directives):
        name, value = f.name, getattr(directives, f.name)
        if name.endswith("_span"):
            continue
        if value == f.default or (name == "timezone" and not directives.automated):
            continue
        if name == "freshness":
            value = value.total_seconds()
        elif name == "partition":
            value = {"grain": value.grain, "column": value.column, "start": value.start}
        elif name == "promote":
            value = value.text
        elif name == "tags":
            value = dict(value)
        elif name == "drift":
            value = {"action": value.action, "condition": value.condition}
        elif isinstance(value, tuple):
            value = list(value)
        out[name] = value
    return out


def _node(raw: Mapping[str, Any]) -> ManifestNode:
    values = known_fields(ManifestNode, raw)
    values["location"] = SourceLocation(**raw["location"])
    values["deps"] = tuple(raw.get("deps", ()))
    values["also"] = tuple(raw.get("also", ()))
    model = raw.get("model")
    values["model"] = ModelReference(**known_fields(ModelReference, model)) if model else None
    return ManifestNode(**values)


__all__ = [
    "MANIFEST_VERSION",
    "ManifestError",
    "ManifestNode",
    "ManifestSource",
    "ModelReference",
    "ProjectManifest",
    "SourceLocation",
    "project_manifest",
]
