"""Statements of every file → one project graph: who produces what, who reads what.

This is the SQLMesh-style middle step: files become plain model objects (:class:`Node`),
then a DAG, before anything executes. All graph-level mistakes (two producers of one name,
a cycle, ``USING`` a model nobody trains) are collected and raised together.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

from sqlglot import exp

from ..contract import image_allowed
from ..contract.lifecycle import Pin, PromotionPolicy
from ..contract.model_packages import ModelPackages
from . import codes
from .diagnostics import (
    Diagnostic,
    Severity,
    SourceFile,
    Span,
    SqlMlCompileError,
    sorted_diagnostics,
)
from .dialects import unknown_dialect
from .directives import NO_DIRECTIVES, Directives, resolve
from .file_paths import file_access_diagnostics
from .gates import check_gate_order
from .gc_pause import paused_gc
from .ir import (
    MLStatement,
    ObjectKind,
    QualifiedName,
    SqlFile,
    SqlStatement,
    Statement,
)
from .lifecycle import check_lifecycle
from .parser import parse_sql_file
from .statements.create_model import returns_diagnostics
from .transpile import checks_dialect, transpile_diagnostics


@dataclass(frozen=True)
class Node:
    """One thing the project produces: a table, a view, a model or a prediction table.

    ``statement`` defines it; ``followups`` are the same file's later INSERT/UPDATE/DELETE
    statements on it; ``session`` are the file's session statements (SET, CREATE MACRO, …)
    that run on the connection before it. ``deps`` are the names it reads or uses.
    """

    name: QualifiedName
    kind: ObjectKind
    statement: Statement
    file: str
    group: str
    followups: tuple[SqlStatement, ...] = ()
    session: tuple[SqlStatement, ...] = ()
    deps: tuple[QualifiedName, ...] = ()
    fingerprint: str = field(default="", compare=False)
    #: ``-- sqlml:`` automation, partitioning, owners and tags (``directives.py``).
    directives: Directives = field(default=NO_DIRECTIVES, compare=False)
    #: Further tables its one step writes (``TO RUN … INTO a, b``: ``b``), each an asset
    #: of the node, materialized with ``name`` or not at all.
    also: tuple[QualifiedName, ...] = ()

    @property
    def outputs(self) -> tuple[QualifiedName, ...]:
        """Every name the node produces: ``name`` first, then ``also``."""
        return (self.name, *self.also)

    @property
    def statements(self) -> tuple[Statement, ...]:
        return (self.statement, *self.followups)

    @property
    def text(self) -> str:
        return ";\n\n".join(s.text for s in self.statements) + ";"


@dataclass(frozen=True)
class Source:
    """A table the project reads but does not produce (an external asset)."""

    name: QualifiedName
    first_read: Span


@dataclass(frozen=True)
class Project:
    """The compiled project: nodes in dependency order, sources, and non-fatal warnings."""

    root: Path
    dialect: str
    files: tuple[SqlFile, ...]
    nodes: tuple[Node, ...]
    sources: tuple[Source, ...]
    warnings: tuple[Diagnostic, ...] = ()
    #: The packages its model references were allowed from (``contract/model_packages``):
    #: what ``sqlml check`` may import and what each step is told it may.
    model_packages: ModelPackages = field(default_factory=ModelPackages, compare=False)

    def node(self, name: str | QualifiedName) -> Node:
        key = name.key if isinstance(name, QualifiedName) else QualifiedName.parse(name).key
        try:
            return self._nodes_by_key[key]
        except KeyError:
            raise KeyError(str(name)) from None

    @functools.cached_property
    def _nodes_by_key(self) -> dict[str, Node]:
        """Built once: the translator looks up every dependency of every node (a node's
        further outputs find it too)."""
        return {name.key: node for node in self.nodes for name in node.outputs}

    @property
    def models(self) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.kind is ObjectKind.MODEL)

    def pinned_versions(self) -> Mapping[str, frozenset[int]]:
        """Model versions the SQL pins (``USING m@3``, ``ML_PREDICT(m@3, …)``), by model
        key (the store's): retention keeps them. Computed once (the translator asks for
        every model), so the answer is read-only."""
        return self._pinned_versions

    @functools.cached_property
    def _pinned_versions(self) -> Mapping[str, frozenset[int]]:
        pins: dict[str, set[int]] = {}
        for node in self.nodes:
            for statement in node.statements:  # an INSERT's ML_PREDICT(m@2, …) pins too
                for model, version in _pins(statement):
                    if isinstance(version, int):  # an alias pins whatever it names
                        pins.setdefault(model.key, set()).add(version)
        return {key: frozenset(versions) for key, versions in pins.items()}

    def alias_uses(self) -> Mapping[str, frozenset[str]]:
        """The aliases the SQL uses (``USING m@champion``, ``ML_PREDICT(m@prod, …)``), by
        model key: what the alias sensor watches."""
        uses: dict[str, set[str]] = {}
        for node in self.nodes:
            for statement in node.statements:
                for model, pin in _pins(statement):
                    if isinstance(pin, str):
                        uses.setdefault(model.key, set()).add(pin)
        return {key: frozenset(aliases) for key, aliases in uses.items()}

    def policies(self) -> Mapping[str, PromotionPolicy]:
        """Each model's ``promote`` directive, by model key."""
        return {n.name.key: n.directives.promote for n in self.models if n.directives.promote}


def compile_project(
    path: str | Path,
    dialect: str = "duckdb",
    allowed_images: Sequence[str] = (),
    allowed_model_packages: Sequence[str] = (),
    target_dialect: str | None = None,
) -> Project:
    """Compile a folder of ``.sql`` files; raises :class:`SqlMlCompileError` on any error."""
    project, diagnostics = check_project(
        path,
        dialect,
        allowed_images,
        allowed_model_packages=allowed_model_packages,
        target_dialect=target_dialect,
    )
    if project is None or any(d.is_error for d in diagnostics):
        raise SqlMlCompileError([d for d in diagnostics if d.is_error])
    return project


def check_project(
    path: str | Path,
    dialect: str = "duckdb",
    allowed_images: Sequence[str] = (),
    allowed_model_packages: Sequence[str] = (),
    target_dialect: str | None = None,
) -> tuple[Project | None, list[Diagnostic]]:
    """Compile without raising: the project (None if unusable) and every diagnostic.

    ``allowed_images``: registry/repository prefixes a statement's image must start with
    (the Kubernetes launcher's allow-list); empty allows any. ``allowed_model_packages``:
    packages model references may name besides the built-ins and the project's
    ``models/`` folder (SQLML209; ``contract/model_packages.py``). ``target_dialect``: the
    dialect of the warehouse the SQL will run on, when it is a server's — every statement
    must then be writable in it (SQLML118, ``transpile.py``)."""
    # Every tree of the project stays alive until the end, so each full collection would
    # re-scan all of them; nothing here needs collecting before we return.
    with paused_gc():
        return _check_project(path, dialect, allowed_images, allowed_model_packages, target_dialect)


def _check_project(
    path: str | Path,
    dialect: str,
    allowed_images: Sequence[str],
    allowed_model_packages: Sequence[str],
    target_dialect: str | None,
) -> tuple[Project | None, list[Diagnostic]]:
    root = Path(path)
    diagnostics: list[Diagnostic] = []
    dialect_problem = unknown_dialect(dialect)
    if dialect_problem is not None:  # reported with a missing folder, not instead of it
        message, hint = dialect_problem
        diagnostics.append(Diagnostic(codes.UNKNOWN_DIALECT, message, None, hint=hint))
    files: list[SqlFile] = []
    sources: dict[str, SourceFile] = {}
    paths = [root] if root.is_file() else sorted(root.rglob("*.sql")) if root.is_dir() else []
    if not paths:
        what = "does not exist" if not root.exists() else "holds no .sql files"
        diagnostics.append(
            Diagnostic(
                codes.NO_SQL_FILES,
                f"'{root}' {what}",
                None,
                hint="point build_defs/sqlml at the folder of your .sql files",
            )
        )
        return None, diagnostics
    if dialect_problem is not None:
        return None, diagnostics
    base = root if root.is_dir() else root.parent
    for file_path in paths:
        shown = _display(file_path, base)
        try:
            text = file_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            diagnostics.append(Diagnostic(codes.UNREADABLE_FILE, f"cannot read {shown}: {e}", None))
            continue
        sources[shown] = SourceFile(shown, text)
        sql_file, file_diagnostics = parse_sql_file(shown, text, dialect)
        files.append(sql_file)
        diagnostics.extend(file_diagnostics)
    diagnostics.extend(file_access_diagnostics(files, sources, base))
    diagnostics.extend(returns_diagnostics([s for f in files for s in f.statements]))
    if target_dialect is not None and checks_dialect(target_dialect):
        diagnostics.extend(transpile_diagnostics(files, sources, target_dialect, dialect))
    packages = ModelPackages.of_project(root, allowed_model_packages)
    graph = _GraphBuilder(files, sources, tuple(allowed_images), packages)
    nodes, project_sources = graph.build()
    diagnostics.extend(graph.diagnostics)
    project = Project(
        root=root,
        dialect=dialect,
        files=tuple(files),
        nodes=nodes,
        sources=project_sources,
        warnings=tuple(d for d in diagnostics if not d.is_error),
        model_packages=packages,
    )
    return project, sorted_diagnostics(diagnostics)


def _display(file_path: Path, base: Path) -> str:
    """``sql/iris.sql``: relative to the folder holding the SQL folder — short and stable."""
    try:
        return file_path.relative_to(base.parent).as_posix()
    except ValueError:
        return file_path.as_posix()


def group_name(file_path: str) -> str:
    """A Dagster group per file: ``sql/marts/iris.sql`` → ``marts_iris``."""
    parts = Path(file_path).with_suffix("").parts[1:] or Path(file_path).with_suffix("").parts
    name = "_".join(parts)
    cleaned = "".join(c if c.isalnum() or c == "_" else "_" for c in name)
    return cleaned if cleaned and not cleaned[0].isdigit() else f"sql_{cleaned}"


class _GraphBuilder:
    def __init__(
        self,
        files: list[SqlFile],
        sources: dict[str, SourceFile],
        allowed_images: tuple[str, ...] = (),
        model_packages: ModelPackages | None = None,
    ):
        self.files = files
        self.sources = sources
        self.allowed_images = allowed_images
        self.model_packages = model_packages or ModelPackages()
        self.diagnostics: list[Diagnostic] = []
        self._reported: set[Diagnostic] = set()
        #: Statements that make no asset because of an error of their own (a second
        #: producer, a modification in the wrong place, ML_PREDICT in a view). What they
        #: read and use is still checked: their other mistakes are independent of that one.
        self.rejected: list[tuple[Statement, SqlFile]] = []
        #: Side table key (an evaluation's ``<into>_roc``) → the asset whose step writes it.
        self.side_owners: dict[str, QualifiedName] = {}

    def error(
        self,
        code: str,
        message: str,
        span: Span,
        hint: str | None = None,
        severity: Severity = Severity.ERROR,
    ) -> None:
        """Record a diagnostic once: a file-wide directive is checked for every asset of
        its file, and one mistake is reported once."""
        diagnostic = Diagnostic(
            code, message, span, hint=hint, severity=severity, source=self.sources.get(span.file)
        )
        if diagnostic not in self._reported:
            self._reported.add(diagnostic)
            self.diagnostics.append(diagnostic)

    def refuse(self, statement: Statement) -> Diagnostic | None:
        """Why the statement makes no asset, reported; None when it makes one."""
        self._check_image(statement)
        self._check_model_packages(statement)
        refusal = statement.why_no_asset()
        if refusal is not None:
            assert refusal.span is not None
            self.error(
                refusal.code,
                refusal.message,
                refusal.span,
                hint=refusal.hint,
                severity=refusal.severity,
            )
        return refusal

    def _check_image(self, statement: Statement) -> None:
        ref = statement.model_ref
        if ref is None or ref.image is None or not self.allowed_images:
            return
        if not image_allowed(ref.image, self.allowed_images):
            self.error(
                codes.IMAGE_NOT_ALLOWED,
                f"image '{ref.image}' is not allowed in this project",
                ref.image_span or statement.span,
                hint=f"allowed image prefixes: {', '.join(self.allowed_images)}",
            )

    def _check_model_packages(self, statement: Statement) -> None:
        """Each reference a step would import lies in an allowed model package: decided
        from the name, so nothing named only in SQL is ever imported to find out."""
        for reference, span in statement.imported_references():
            if "." not in reference or self.model_packages.permits(reference):
                continue  # a bare name imports nothing: a built-in, or the deep check's error
            message, hint = self.model_packages.refusal(reference)
            self.error(
                codes.MODEL_NOT_ALLOWED,
                message,
                span,
                hint=hint + " (docs/security.md, Model references)",
            )

    def build(self) -> tuple[tuple[Node, ...], tuple[Source, ...]]:
        defining: dict[str, tuple[Statement, SqlFile]] = {}
        # 1. Every CREATE / TRAIN INTO / PREDICT INTO defines a name; two definitions clash.
        for sql_file in self.files:
            for statement in sql_file.statements:
                refusal = self.refuse(statement)
                if refusal is not None and statement.object_kind is not ObjectKind.MODEL:
                    # (a model that cannot register is still a model: no cascade of errors)
                    if refusal.is_error:  # e.g. SQLML207: its model calls are still checked
                        self.rejected.append((statement, sql_file))
                    continue
                name = statement.produces
                if name is None:
                    continue
                named = ((name, statement.produces_span), *statement.produces_more)
                clashes = [(n, span) for n, span in named if n.key in defining]
                for clash, span in clashes:
                    first, _ = defining[clash.key]
                    self.error(
                        codes.DUPLICATE_PRODUCER,
                        f"'{clash}' is already produced by another statement",
                        span,
                        hint=f"first produced at {first.span.location()}; each table or model has one producer — rename one of them"
                        + _also(statement.rename_hint),
                    )
                if clashes:
                    self.rejected.append((statement, sql_file))
                    continue
                for n, _ in named:
                    defining[n.key] = (statement, sql_file)
        self._side_tables(defining)
        # 2. INSERT/UPDATE/DELETE attach to the same file's CREATE, or produce the table themselves.
        followups: dict[str, list[SqlStatement]] = {}
        for sql_file in self.files:
            for statement in sql_file.statements:
                if (
                    not isinstance(statement, SqlStatement)
                    or statement.target is None
                    or statement.creates
                ):
                    continue
                key = statement.target.key
                if key not in defining:
                    if isinstance(statement.tree, exp.Insert):
                        defining[key] = (statement, sql_file)  # an append-only table
                    else:
                        self.error(
                            codes.FOREIGN_MODIFICATION,
                            f"'{statement.target}' is modified here but created nowhere in the project",
                            statement.span,
                            hint="add its CREATE TABLE to this file, or do not modify source tables from the project",
                        )
                        self.rejected.append((statement, sql_file))
                    continue
                owner, owner_file = defining[key]
                if owner is statement:
                    continue
                if owner_file is not sql_file or owner.span.start > statement.span.start:
                    self.error(
                        codes.FOREIGN_MODIFICATION,
                        f"'{statement.target}' is modified here but produced at {owner.span.location()}",
                        statement.span,
                        hint="a table's statements live in one file, after its CREATE: move this statement there",
                    )
                    self.rejected.append((statement, sql_file))
                    continue
                if isinstance(owner, MLStatement):
                    self.error(
                        codes.FOREIGN_MODIFICATION,
                        f"'{statement.target}' is written by an ML statement and cannot be modified",
                        statement.span,
                    )
                    self.rejected.append((statement, sql_file))
                    continue
                followups.setdefault(key, []).append(statement)

        nodes: dict[str, Node] = {}
        project_sources: dict[str, Source] = {}
        per_file: dict[int, tuple[tuple[SqlStatement, ...], str]] = {}
        for key, (statement, sql_file) in defining.items():
            name = statement.produces or (
                statement.target if isinstance(statement, SqlStatement) else None
            )
            assert name is not None
            if name.key != key:  # a further output: the node of `name` holds it
                continue
            extra = tuple(followups.get(key, ()))
            deps = self._deps(name, (statement, *extra), defining, project_sources)
            cached = per_file.get(id(sql_file))
            if cached is None:
                session = tuple(
                    s
                    for s in sql_file.statements
                    if isinstance(s, SqlStatement) and s.target is None
                )
                cached = per_file[id(sql_file)] = (session, group_name(sql_file.path))
            session, group = cached
            kind = statement.object_kind
            node = Node(
                name=name,
                kind=kind,
                statement=statement,
                file=sql_file.path,
                group=group,
                followups=extra,
                session=session,
                deps=deps,
                also=tuple(n for n, _ in statement.produces_more),
                directives=resolve(
                    sql_file.directives,
                    statement.directives,
                    kind,
                    bool(statement.uses_models()),
                    self.error,
                ),
            )
            nodes[key] = node
        self._check_rejected(defining)
        self._check_warm_starts(nodes)
        self._check_collisions(nodes, project_sources)
        self._warn_unattached_directives(nodes)
        ordered = self._order(nodes)
        check_gate_order(ordered, self.error)  # SQLML113: a gate that waits for itself
        check_lifecycle(ordered, self.error)  # SQLML226/227: a champion that never moves
        with_fingerprints = _fingerprint_all(ordered)
        return with_fingerprints, tuple(project_sources.values())

    def _check_warm_starts(self, nodes: dict[str, Node]) -> None:
        """SQLML218: ``USING base`` where the project trains ``base`` from another class —
        its weights cannot fit this statement's network (the step would fail on them)."""
        for node in nodes.values():
            statement = node.statement
            started = statement.warm_start_base()
            if started is None or statement.model_ref is None:
                continue
            base_name, span = started
            base = nodes.get(base_name.key)
            base_ref = base.statement.model_ref if base is not None else None
            if base is None or base.statement.KIND != statement.KIND or base_ref is None:
                continue  # an unknown model is SQLML203; a registered one the step checks
            if base_ref.reference != statement.model_ref.reference:
                self.error(
                    codes.WARM_START_MISMATCH,
                    f"'{node.name}' is a {statement.model_ref.reference} and cannot start "
                    f"from '{base_name}', a {base_ref.reference}",
                    span,
                    hint=f"warm-start from a model of the same class, or train "
                    f"'{node.name}' without USING",
                )

    def _side_tables(self, defining: dict[str, tuple[Statement, SqlFile]]) -> None:
        """Tables a statement's step writes beside its asset (``<eval>_roc``): a reader
        depends on that asset; another statement producing one is SQLML201."""
        for statement, _ in list(defining.values()):
            for side in statement.side_tables:
                other = defining.get(side.key)
                if other is not None:
                    self.error(
                        codes.DUPLICATE_PRODUCER,
                        f"'{side}' is already written by the statement at "
                        f"{statement.span.location()}",
                        other[0].produces_span,
                        hint="an evaluation's validation.curves write <into>_<curve>, an "
                        "explanation's explain.per_row <into>_rows: rename this table or "
                        "that statement's INTO",
                    )
                    continue
                assert statement.produces is not None
                self.side_owners[side.key] = statement.produces

    def _check_rejected(self, defining: dict[str, tuple[Statement, SqlFile]]) -> None:
        """The reads, model uses and directives of statements rejected for an error of
        their own: an unknown model there is a second mistake, not a consequence of the
        first. Nothing is added to the graph (the sources found are thrown away)."""
        for statement, sql_file in self.rejected:
            name = statement.produces or (
                statement.target if isinstance(statement, SqlStatement) else None
            )
            if name is not None:
                self._deps(name, (statement,), defining, {})
            if statement.produces is not None:
                resolve(
                    sql_file.directives,
                    statement.directives,
                    statement.object_kind,
                    bool(statement.uses_models()),
                    self.error,
                )

    def _check_collisions(self, nodes: dict[str, Node], sources: dict[str, Source]) -> None:
        """SQLML210: two different names that become one asset key (``"a-b"`` and ``a_b``:
        lower-case, ``-`` as ``_``), reported at the later one, naming the first."""
        named = [
            (n.name, n.statement.produces_span, n.statement.rename_hint) for n in nodes.values()
        ]
        named += [(*more, None) for n in nodes.values() for more in n.statement.produces_more]
        named += [(s.name, s.first_read, None) for s in sources.values()]
        first: dict[tuple[str, ...], tuple[QualifiedName, Span, str | None]] = {}
        for name, span, rename in sorted(named, key=lambda x: (x[1].file, x[1].start)):
            seen = first.setdefault(name.normal_form, (name, span, rename))
            if seen[0].key != name.key:
                self.error(
                    codes.NAME_COLLISION,
                    f"'{name}' and '{seen[0]}' are one asset key "
                    f"({'/'.join(name.normal_form)}) once normalized",
                    span,
                    hint=f"'{seen[0]}' is named at {seen[1].location()}; rename one of them "
                    "(an asset key is lower-case, with '-' as '_')" + _also(rename or seen[2]),
                )

    def _warn_unattached_directives(self, nodes: dict[str, Node]) -> None:
        """Directives above a statement that is no asset (SET, INSERT into a table created
        above, a statement that failed) would silently do nothing: say so — unless the
        statement's own error already says why it is no asset."""
        defining = {id(node.statement) for node in nodes.values()}
        defining |= {id(s) for s, _ in self.rejected if s.produces is not None}
        for sql_file in self.files:
            for statement in sql_file.statements:
                if statement.directives and id(statement) not in defining:
                    self.error(
                        codes.BAD_DIRECTIVE,
                        "this directive's statement is not an asset, so it does nothing",
                        statement.directives[0].span,
                        hint="directives configure the asset a statement creates; put it "
                        "above the CREATE, TO TRAIN or TO PREDICT that makes the asset",
                        severity=Severity.WARNING,
                    )

    def _deps(
        self,
        name: QualifiedName,
        statements: Iterable[Statement],
        defining: dict[str, tuple[Statement, SqlFile]],
        project_sources: dict[str, Source],
    ) -> tuple[QualifiedName, ...]:
        deps: dict[str, QualifiedName] = {}
        for statement in statements:
            own = {name.key, *(n.key for n, _ in statement.produces_more)}
            for table in statement.reads():
                if table.key in own:
                    if statement.produces is not None:  # not INSERT INTO t SELECT … FROM t
                        more = (s for n, s in statement.produces_more if n.key == table.key)
                        self.error(
                            codes.OVERWRITES_INPUT,
                            f"'{table}' would overwrite the table its own query reads",
                            next(more, statement.produces_span),
                            hint="write the result to a different table name"
                            + _also(statement.rename_hint),
                        )
                    continue
                producer = defining.get(table.key)
                owner = self.side_owners.get(table.key)
                if producer is None and owner is not None:
                    if owner.key != name.key:
                        deps.setdefault(owner.key, owner)
                    continue
                if producer is None:
                    project_sources.setdefault(table.key, Source(table, statement.span))
                    deps.setdefault(table.key, table)
                    continue
                if _is_model(producer[0]):
                    self.error(
                        codes.NOT_A_TABLE,
                        f"'{table}' is a model, not a table",
                        statement.span,
                        hint=f"use it in TO PREDICT … USING {table}, or ML_PREDICT({table}, …)",
                    )
                    continue
                tableless = _TABLELESS.get(producer[0].object_kind)
                if tableless is not None:
                    what, noun, verb, fix = tableless
                    self.error(
                        codes.NOT_A_TABLE,
                        f"'{table}' is {what}, not a table",
                        statement.span,
                        hint=f"{noun} writes no table: add INTO to the {verb} at "
                        f"{producer[0].span.location()} {fix}",
                    )
                    continue
                deps.setdefault(table.key, _produced_name(producer[0], table))
            for model, span in statement.uses_models():
                producer = defining.get(model.key)
                if producer is None or not _is_model(producer[0]):
                    models = [str(s.produces) for s, _ in defining.values() if _is_model(s)]
                    close = difflib.get_close_matches(str(model), models, n=1)
                    message = f"unknown model '{model}'"
                    if producer is not None:
                        message = f"'{model}' is a table, not a model"
                        hint = "models come from TO TRAIN … INTO <name> or CREATE MODEL <name> USING '<uri>'"
                    elif close:
                        hint = f"did you mean '{close[0]}'?"
                    elif models:
                        hint = f"models in this project: {', '.join(sorted(models))}"
                    else:
                        hint = "train it first with SELECT … TO TRAIN … INTO " + str(model)
                    self.error(codes.UNKNOWN_MODEL, message, span, hint=hint)
                    continue
                deps.setdefault(model.key, producer[0].produces or model)
        return tuple(deps.values())

    def _order(self, nodes: dict[str, Node]) -> list[Node]:
        """Dependency order; every cycle is reported (graphlib stops at the first, so the
        nodes of each reported cycle leave the graph and the sort runs again)."""
        remaining = dict(nodes)
        cyclic = False
        # A dependency on a node's further output (TO RUN … INTO a, b: b) is one on the node.
        owner = {n.key: key for key, node in nodes.items() for n in node.also}
        while True:
            sorter: TopologicalSorter[str] = TopologicalSorter()
            for key, node in remaining.items():
                deps = (owner.get(d.key, d.key) for d in node.deps)
                sorter.add(key, *(d for d in deps if d in remaining and d != key))
            try:
                order = list(sorter.static_order())
            except CycleError as e:
                cycle_keys: list[str] = list(e.args[1])
                cycle = [nodes[k] for k in cycle_keys]
                path = " → ".join(str(n.name) for n in reversed(cycle))
                first = cycle[-1]
                self.error(
                    codes.CYCLE,
                    f"dependency cycle: {path}",
                    first.statement.produces_span,
                    hint="a table cannot depend on itself through other tables; break the loop by reading a source instead",
                )
                for key in cycle_keys:
                    remaining.pop(key, None)
                cyclic = True
                continue
            return list(nodes.values()) if cyclic else [nodes[k] for k in order]


def _pins(statement: Statement) -> list[tuple[QualifiedName, Pin]]:
    return list(statement.model_pins())


def _produced_name(producer: Statement, read: QualifiedName) -> QualifiedName:
    """The name a read table is produced under, as its producer spells it (one of the
    producer's outputs, matched case-insensitively as SQL matches names)."""
    named = (producer.produces, *(n for n, _ in producer.produces_more))
    return next((n for n in named if n is not None and n.key == read.key), read)


#: The kinds of asset that write no table: what one is, and how to give it a table
#: (SQLML204 when a query reads one).
_TABLELESS: dict[ObjectKind, tuple[str, str, str, str]] = {
    ObjectKind.PROGRAM_RUN: (
        "a program's run (TO RUN without INTO)",
        "a run",
        "TO RUN",
        "for the tables its program writes",
    ),
    ObjectKind.EXPLANATION_PLOT: (
        "a model's explanation chart (TO EXPLAIN without INTO)",
        "an explanation chart",
        "TO EXPLAIN",
        "for the table of its per-feature importances",
    ),
}


def _also(hint: str | None) -> str:
    """A statement's own way to rename what it produces, added to a clash's hint."""
    return f"; {hint}" if hint else ""


def _is_model(statement: Statement) -> bool:
    return statement.object_kind is ObjectKind.MODEL


# -- fingerprints ---------------------------------------------------------------------


def _fingerprint_all(nodes: list[Node]) -> tuple[Node, ...]:
    """A node's fingerprint covers its kind, its file's session statements and its own."""
    out = []
    for node in nodes:
        parts = [
            node.kind.value,
            *(s.fingerprint for s in node.session),
            "|",
            *(s.fingerprint for s in node.statements),
        ]
        digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()
        out.append(dataclasses.replace(node, fingerprint=digest[:16]))
    return tuple(out)


__all__ = [
    "Node",
    "Project",
    "Source",
    "SqlMlCompileError",
    "check_project",
    "compile_project",
    "group_name",
]
