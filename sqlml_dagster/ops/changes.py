"""What an asset is built from, as versions — the one account that ``sqlml plan``,
``sqlml materialize --changed`` and every table-like materialization share.

A model's inputs are its training fingerprint's parts (``materializers/versions.py``
decides reuse or retrain from them). Every other asset — a table, a view, a prediction,
an evaluation — has no version of its own; what it is built from is:

- its **code version**: the statement's token fingerprint (comments and layout do not
  count), which is also its Dagster ``code_version``;
- the **data version of every input**: an upstream table's (what its last build
  recorded), a model's (the version it would score and that version's fingerprint), a
  source table's content fingerprint (read from the warehouse: order-independent), a
  file's sha256 (``read_csv('data/x.csv')``).

Their digest is the asset's data version — Dagster's *logical* data version (code
version + input data versions), extended with the files and source tables that Dagster
cannot see. The asset reports it to Dagster, so the UI's staleness and automation
conditions such as ``data_version_changed`` see through a recompute that read the same
inputs, and records it in the data store (``store/builds.py``), so the CLI, which has no
persistent Dagster instance, can compare too. Some assets have no such account and always
run: a ``TO RUN`` program (its code and reads are not the compiler's to see), a
partitioned table (each run writes one window), SQL that calls ``now()`` or ``random()``.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sqlglot import exp

from ..compiler.file_paths import file_literals, is_remote, literal_text, resolve
from ..compiler.ir import (
    EvaluateStatement,
    ObjectKind,
    QualifiedName,
    RunStatement,
)
from ..compiler.project import Node, Project
from ..compiler.transpile import statement_trees
from ..contract.lifecycle import Pin
from ..store import Gate, ModelNotFound, ModelVersion
from ..store.builds import BuildRecord
from ..store.errors import BadName, CorruptVersion
from ..warehouses import FileScope, Warehouse, WarehouseFault
from .storage import SqlMlStorage

#: sqlglot expressions whose value differs between runs over the same rows.
VOLATILE_FUNCTIONS: tuple[type[exp.Expr], ...] = (
    exp.Rand,
    exp.Randn,
    exp.CurrentDate,
    exp.CurrentDatetime,
    exp.CurrentTime,
    exp.CurrentTimestamp,
    exp.Uuid,
)
#: What reading an input from the warehouse or a store may raise besides the engine's own
#: errors (``Warehouse.ERRORS``).
READ_ERRORS: tuple[type[BaseException], ...] = (OSError, ValueError, WarehouseFault)
#: The same written as functions sqlglot does not model (DuckDB's ``now()``).
VOLATILE_NAMES = frozenset({"now", "today", "random", "uuid", "gen_random_uuid", "setseed"})


def digest(*parts: object) -> str:
    """A short, stable digest of JSON-able parts (fingerprints, data versions)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Reason:
    """Why an asset would run (or not): a code for JSON and tests, a sentence for people.

    Codes: ``unchanged``, ``never`` (never built), ``statement`` (its SQL or params),
    ``session`` (the file's session statements), ``data`` (training data), ``image``,
    ``model`` (the model class or base model named), ``model_code`` (its code in
    ``models/``), ``source`` (a registered file), ``upstream`` (an input asset),
    ``file``, ``table`` (a source table's content), ``model_version`` (a model it scores),
    ``pinned``, ``forced``, ``rolled_back``, ``damaged``, ``always`` (no account: runs
    every time), ``unknown`` (cannot be known before something upstream runs)."""

    code: str
    text: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "text": self.text}


@dataclass(frozen=True)
class AssetInputs:
    """What a table-like asset is built from now: its code version and each input's
    version by label (``None``: not knowable yet — something upstream runs first)."""

    code_version: str
    inputs: tuple[tuple[str, str | None], ...] = ()
    #: Why the asset has no account and always runs, if it has none.
    always: str | None = None

    @property
    def data_version(self) -> str | None:
        """The digest of everything it is built from (``None`` when not all is known)."""
        if self.always is not None or any(v is None for _, v in self.inputs):
            return None
        return digest(self.code_version, sorted(self.inputs))

    def version_for_run(self, run_id: str) -> str | None:
        """The data version a materialization in run ``run_id`` reports: the digest of
        its inputs, or — for an asset without an account, which changes on every run — one
        of the run's own; ``None`` while an input's version is not known."""
        if self.always is not None:
            return digest(self.code_version, "run", run_id)
        return self.data_version

    def record(self, asset: str, run_id: str, at: str) -> BuildRecord | None:
        """The build record of a materialization that read these inputs."""
        version = self.version_for_run(run_id)
        if version is None:
            return None
        return BuildRecord(
            asset=asset,
            data_version=version,
            code_version=self.code_version,
            inputs={label: v for label, v in self.inputs if v is not None},
            run_id=run_id,
            built_at=at,
        )

    def changes_since(self, built: BuildRecord | None) -> tuple[Reason, ...]:
        """Why the asset differs from its last build (empty: it is unchanged): what
        changed among the inputs known now, and the inputs not known until something
        upstream runs."""
        if self.always is not None:
            return (Reason("always", self.always),)
        unknown = [
            Reason("unknown", f"{_shown(label)} runs first: its new version is not known yet")
            for label, v in self.inputs
            if v is None
        ]
        if built is None:
            return (Reason("never", "no record of a build (never materialized)"), *unknown)
        if not unknown and built.data_version == self.data_version:
            return ()
        reasons: list[Reason] = []
        if built.code_version != self.code_version:
            reasons.append(Reason("statement", "statement changed"))
        now = dict(self.inputs)
        for label in sorted(now.keys() | built.inputs.keys()):
            before, after = built.inputs.get(label), now.get(label, "")
            if after is None or before == after:
                continue  # not known yet (above), or unchanged
            code = _CODES.get(label.split(":", 1)[0], "upstream")
            if not after:
                reasons.append(Reason(code, f"no longer reads {_shown(label)}"))
            elif before is None:
                reasons.append(Reason(code, f"now reads {_shown(label)}"))
            else:
                reasons.append(Reason(code, f"{_shown(label)} changed"))
        reasons += unknown
        return tuple(reasons) or (Reason("statement", "what it was built from changed"),)


#: Input labels' prefixes → reason codes.
_CODES = {"table": "upstream", "source": "table", "file": "file", "model": "model_version"}


def _shown(label: str) -> str:
    kind, _, name = label.partition(":")
    return {"table": "table", "source": "source table", "file": "file", "model": "model"}.get(
        kind, kind
    ) + f" {name}"


class InputVersions(Protocol):
    """Where the version of each kind of input comes from: the current state for a
    materialization; the current state with what will change first for a plan."""

    def table(self, node: Node) -> str | None:
        """A table, view or prediction the project produces: its data version."""
        ...

    def source(self, name: QualifiedName) -> str | None:
        """A table the project reads but does not produce: its content fingerprint."""
        ...

    def model(self, name: QualifiedName, pin: Pin, *, gated: bool) -> str | None:
        """The model version a step would load (``pin``, or ``@latest`` — gated unless an
        evaluation runs the gates) as ``<number>:<fingerprint>``."""
        ...


def asset_inputs(
    node: Node, project: Project, sql_file: Path, versions: InputVersions
) -> AssetInputs:
    """What ``node`` (not a model) is built from, asking ``versions`` for each input."""
    always = _always_runs(node)
    if always is not None:
        return AssetInputs(node.fingerprint, always=always)
    inputs: dict[str, str | None] = {}
    statement = node.statement
    # An evaluation that runs its model's gates scores the candidate, not the gated @latest.
    candidate = (
        statement.model.key
        if isinstance(statement, EvaluateStatement) and statement.checks
        else None
    )
    models = set()
    for s in node.statements:
        for name, pin in s.model_pins():
            models.add(name.key)
            label = f"model:{name.key}" + (f"@{pin}" if pin is not None else "")
            inputs[label] = versions.model(name, pin, gated=name.key != candidate)
    for name in node.deps:
        if name.key in models:
            continue
        try:
            upstream = project.node(name)
        except KeyError:
            inputs[f"source:{name.key}"] = versions.source(name)
            continue
        if upstream.kind is ObjectKind.MODEL:  # a model read another way: its version
            inputs[f"model:{name.key}"] = versions.model(name, None, gated=True)
        elif upstream is not node:
            inputs[f"table:{upstream.name.key}"] = versions.table(upstream)
    base = _files_base(project)
    for path in sorted(set(_files_read(node, sql_file.parent))):
        shown = os.path.relpath(path, base) if not is_remote(path) else path
        inputs[f"file:{shown}"] = file_version(path)
    return AssetInputs(node.fingerprint, tuple(sorted(inputs.items())))


def _always_runs(node: Node) -> str | None:
    """Why ``node`` must run every time, if it must."""
    if isinstance(node.statement, RunStatement):
        return "TO RUN: the program's code and what it reads are not tracked; it always runs"
    if node.directives.partition is not None:
        return "partitioned: each run writes the window it is given"
    for s in (*node.session, *node.statements):
        for tree in statement_trees(s):
            for found in tree.find_all(exp.Func):
                named = isinstance(found, exp.Anonymous) and str(found.this).lower() in (
                    VOLATILE_NAMES
                )
                if named or isinstance(found, VOLATILE_FUNCTIONS):
                    return f"calls {found.sql()}: a different result on every run"
    return None


def _files_read(node: Node, folder: Path) -> Iterator[str]:
    """The files the node's SQL opens, as the warehouse resolves them."""
    for s in (*node.session, *node.statements):
        for tree in statement_trees(s):
            for literal in file_literals(tree):
                yield resolve(literal_text(literal), str(folder.resolve()))


def _files_base(project: Project) -> str:
    root = project.root if project.root.is_dir() else project.root.parent
    return str(root.resolve().parent)


def file_version(path: str) -> str | None:
    """A local file's (or glob's) content digest — the content only, so the same project in
    another folder reads the same version (a glob's matches count by their names under the
    pattern's folder too); ``None`` for a URL, whose content only the warehouse reads: it
    counts as changed."""
    if is_remote(path):
        return None
    magic = glob.has_magic(path)
    matches = sorted(glob.glob(path)) if magic else [path]
    base = os.path.dirname(path.split("*", 1)[0].split("?", 1)[0].split("[", 1)[0])
    content = hashlib.sha256()
    for match in matches:
        if magic:
            content.update(os.path.relpath(match, base).encode() + b"\0")
        try:
            with open(match, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    content.update(block)
        except OSError:
            content.update(b"<missing>")
        content.update(b"\0")
    return content.hexdigest()[:16]


@dataclass(frozen=True)
class CurrentVersions:
    """Each input's version as the stores and the warehouse hold it now: what a
    materialization records it was built from (and what a plan compares with)."""

    warehouse: Warehouse
    storage: SqlMlStorage
    #: The project's quality gates by model key: what ``@latest`` means to a consumer.
    gates: Mapping[str, tuple[Gate, ...]]
    #: The files a source table's read may open (the project's folder).
    files: FileScope | None = None

    def table(self, node: Node) -> str | None:
        built = self.storage.builds().read(node.name.key)
        return built.data_version if built is not None else None

    def source(self, name: QualifiedName) -> str | None:
        query = exp.select("*").from_(name.to_table())
        return self.warehouse.export_query(query, None, files=self.files).fingerprint

    def model(self, name: QualifiedName, pin: Pin, *, gated: bool) -> str | None:
        gates = self.gates.get(name.key, ()) if gated else ()
        try:
            version = self.storage.models().get(name.key, pin, gates=gates)
        except (ModelNotFound, CorruptVersion, BadName):
            return None  # the step fails on it, saying why; a plan counts it as changed
        return model_version_label(version)


def model_version_label(version: ModelVersion) -> str:
    """A model version as an input's version: its number and fingerprint."""
    return f"{version.version}:{version.manifest.fingerprint}"
