"""The files a statement names, and the statements that reach beyond the project's tables.

A SQL repo is written by many hands (docs/security.md), so what its SQL may touch is
decided here once and read twice: ``sqlml check`` warns about a file outside the project
folder or a statement that needs a warehouse setting (SQLML115, SQLML116), and the DuckDB
warehouse resolves the same paths to absolute ones before its sandbox checks them.

A *file path* is what DuckDB opens as a file: a string argument of a table function in
``FROM``/``JOIN`` (``read_csv('../data/x.csv')``, ``read_parquet(['a', 'b'])``,
``read_text(…)``, ``glob(…)``), a quoted name that is a file (``FROM 'data/x.parquet'``),
the files of ``COPY … TO/FROM`` and the database of ``ATTACH``.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path, PurePosixPath

from sqlglot import exp

from . import codes
from .diagnostics import Diagnostic, Severity, SourceFile, Span
from .statement import SqlFile
from .transpile import statement_trees

#: Suffixes DuckDB reads when a quoted name in FROM is a file (``FROM 'data.csv'``).
FILE_SUFFIXES = (".csv", ".tsv", ".parquet", ".json", ".jsonl", ".ndjson", ".gz", ".zst", ".txt")

#: Statements that change what the connection can do: extensions and other databases. The
#: warehouse refuses them unless a setting allows them (DuckDB ``extensions``, ``allow_attach``).
PRIVILEGED_COMMANDS = ("INSTALL", "LOAD", "ATTACH", "DETACH")


def file_literals(tree: exp.Expr) -> Iterator[exp.Literal | exp.Identifier]:
    """Every node of ``tree`` that DuckDB opens as a file path (module docstring)."""
    for node in tree.walk():
        if isinstance(node, exp.Table):
            target = node.this
            if isinstance(target, exp.Identifier) and target.quoted and _looks_like_file(target):
                yield target
            elif isinstance(target, exp.Func):
                yield from _string_arguments(target)
        elif isinstance(node, exp.Lateral) and isinstance(node.this, exp.Func):
            yield from _string_arguments(node.this)
        elif isinstance(node, exp.Copy):
            for file in node.args.get("files") or []:
                if isinstance(file, exp.Literal) and file.is_string:
                    yield file
        elif isinstance(node, exp.Attach):
            target = node.this.this if isinstance(node.this, exp.Alias) else node.this
            if isinstance(target, exp.Literal) and target.is_string:
                yield target


def privileged_command(tree: exp.Expr) -> str | None:
    """``INSTALL``, ``LOAD``, ``ATTACH`` or ``DETACH`` when ``tree`` is one, else None."""
    if isinstance(tree, exp.Install):
        return "INSTALL"
    if isinstance(tree, exp.Attach):
        return "ATTACH"
    if isinstance(tree, exp.Detach):
        return "DETACH"
    if isinstance(tree, exp.Command):
        word = str(tree.this).upper()
        if word in PRIVILEGED_COMMANDS or word == "FORCE":
            return "INSTALL" if word == "FORCE" else word
    return None


def extension_of(tree: exp.Expr) -> str | None:
    """The extension an ``INSTALL x`` / ``LOAD x`` names (lower case)."""
    if isinstance(tree, exp.Install):
        return str(tree.this.name).lower()
    if isinstance(tree, exp.Command) and str(tree.this).upper() in ("LOAD", "FORCE"):
        words = str(tree.expression or "").replace(";", " ").split()
        return words[-1].strip("'\"").lower() if words else None
    return None


def project_folder(sql_root: Path) -> Path:
    """The folder a project's SQL may open files in: the SQL folder's parent (where
    ``data/`` and ``models/`` sit beside ``sql/``), unless that parent is a home folder or
    the file system's root, which hold far more than one project — then the SQL folder."""
    root = sql_root.resolve()
    parent = root.parent
    if parent == parent.parent or parent == Path.home().resolve():
        return root
    return parent


def is_remote(path: str) -> bool:
    """``s3://…``, ``https://…``: a URL, not a file of this machine."""
    return "://" in path


def resolve(path: str, folder: str) -> str:
    """``path`` as DuckDB should open it: relative paths against the SQL file's
    ``folder``, normalized (``..`` folded), so that a sandbox's prefix check sees where the
    file really is; URLs and ``~`` paths unchanged."""
    if is_remote(path) or path.startswith("~") or not path:
        return path
    joined = path if posixpath.isabs(path) else posixpath.join(folder, path)
    return posixpath.normpath(joined)


def is_inside(path: str, folders: tuple[str, ...]) -> bool:
    """Whether an absolute (resolved) ``path`` lies in one of ``folders``."""
    for folder in folders:
        if is_remote(folder):
            if path.startswith(folder):
                return True
            continue
        if PurePosixPath(path).is_relative_to(PurePosixPath(folder)):
            return True
    return False


def literal_text(node: exp.Literal | exp.Identifier) -> str:
    return str(node.this)


def _looks_like_file(identifier: exp.Identifier) -> bool:
    name = str(identifier.this).lower()
    return "/" in name or name.endswith(FILE_SUFFIXES) or is_remote(name)


def _string_arguments(function: exp.Func) -> Iterator[exp.Literal]:
    """The string arguments of a table function, lists included, but not ``key = value``
    options (``read_csv('x.csv', sep = ';')``)."""
    for key, value in function.args.items():
        if key in ("this", "expressions"):
            items = value if isinstance(value, list) else [value]
            for item in items:
                if isinstance(item, exp.Literal) and item.is_string:
                    yield item
                elif isinstance(item, exp.Array):
                    yield from (
                        e for e in item.expressions if isinstance(e, exp.Literal) and e.is_string
                    )


def file_access_diagnostics(
    files: Iterable[SqlFile], sources: Mapping[str, SourceFile], sql_root: Path
) -> list[Diagnostic]:
    """``sqlml check``'s warnings about what the SQL reaches beyond its tables: a file
    outside the project folder (SQLML115), which the warehouse's sandbox refuses unless
    its ``allowed_directories`` name it, and ``INSTALL``/``LOAD``/``ATTACH``/``DETACH``
    (SQLML116), which run only where a warehouse setting allows them. Warnings, because
    the settings belong to the deployment, which ``sqlml check`` does not see; the
    warehouse enforces them when the step runs."""
    project = project_folder(sql_root)
    found: list[Diagnostic] = []
    for sql_file in files:
        source = sources.get(sql_file.path)
        folder = str((sql_root.parent / sql_file.path).parent.resolve())
        for statement in sql_file.statements:
            for tree in statement_trees(statement):
                command = privileged_command(tree)
                if command is not None:
                    found.append(
                        Diagnostic(
                            codes.PRIVILEGED_STATEMENT,
                            f"{command} runs only where the warehouse allows it",
                            statement.span,
                            hint="list the extension in the DuckDB warehouse's `extensions`"
                            if command in ("INSTALL", "LOAD")
                            else "set the DuckDB warehouse's `allow_attach: true`",
                            severity=Severity.WARNING,
                        )
                    )
                for node in file_literals(tree):
                    path = literal_text(node)
                    if is_remote(path) or is_inside(resolve(path, folder), (str(project),)):
                        continue
                    found.append(
                        Diagnostic(
                            codes.FILE_OUTSIDE_PROJECT,
                            f"'{path}' is outside the project folder {project}",
                            _literal_span(source, statement.span, path) or statement.span,
                            hint="the warehouse refuses it unless its `allowed_directories` "
                            "setting names the folder; or move the file into the project",
                            severity=Severity.WARNING,
                        )
                    )
    return found


def _literal_span(source: SourceFile | None, span: Span, text: str) -> Span | None:
    """Where ``'text'`` is written inside the statement, for the caret."""
    if source is None:
        return None
    for quoted in (f"'{text}'", f'"{text}"'):
        at = source.text.find(quoted, span.start, span.end)
        if at >= 0:
            return Span.of(source, at, at + len(quoted))
    return None
