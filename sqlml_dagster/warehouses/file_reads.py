"""The project's files in a server warehouse's SQL: ``FROM read_csv('../data/iris.csv')``.

A server reads files from *its* disk, not from the project's, and a project's SQL should
run unchanged on every warehouse. So a server warehouse reads each file a statement names
the way the DuckDB warehouse would — in an embedded DuckDB, sandboxed to the project's
folder (``FileScope``, docs/security.md), with DuckDB's type detection, so the columns
have the types they have on DuckDB — and streams its Arrow batches into a temporary table
of the session through the bulk path; the statement then reads that table. What the server
itself opens (``COPY … FROM '/srv/file'`` in its own dialect) stays the server's concern.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pyarrow as pa
from sqlglot import exp

from ..compiler.file_paths import file_literals
from .base import FileScope
from .duckdb import EXPORT_BATCH_ROWS, DuckDBWarehouse


def file_tables(tree: exp.Expr) -> list[exp.Table]:
    """The ``FROM``/``JOIN`` items of ``tree`` that read project files (table functions
    such as ``read_csv``/``read_parquet`` and quoted file names), each once."""
    found: list[exp.Table] = []
    for literal in file_literals(tree):
        table = literal if isinstance(literal, exp.Table) else literal.find_ancestor(exp.Table)
        if isinstance(table, exp.Table) and all(table is not t for t in found):
            found.append(table)
    return found


@contextmanager
def file_rows(
    table: exp.Table, files: FileScope | None, allowed_directories: list[str]
) -> Iterator[pa.RecordBatchReader]:
    """The rows of one file-reading table item, read by an in-memory DuckDB under the
    sandbox the DuckDB warehouse applies: only files of ``files`` and of
    ``allowed_directories`` (no scope: no file at all)."""
    source = table.copy()
    source.set("alias", None)
    sandbox = DuckDBWarehouse(database=":memory:", allowed_directories=allowed_directories)
    query = sandbox.prepared(exp.select("*").from_(source), files)
    assert query is not None  # a SELECT is never a privileged command
    with sandbox.connect(files) as con:
        yield con.sql(query.sql(dialect=sandbox.dialect)).to_arrow_reader(EXPORT_BATCH_ROWS)


def staged_name(table: exp.Table, suffix: str) -> exp.Table:
    """The session's temporary table that stands for ``table``, keeping its alias (or the
    file's name as the alias, so ``iris.class`` keeps meaning what it meant)."""
    alias = table.args.get("alias")
    if alias is None and isinstance(table.this, exp.Identifier):
        stem = str(table.this.this).rsplit("/", 1)[-1].split(".", 1)[0]
        alias = exp.TableAlias(this=exp.to_identifier(stem))
    staged = exp.to_table(f"__sqlml_file_{suffix}")
    if alias is not None:
        staged.set("alias", alias.copy())
    return staged


__all__ = ["file_rows", "file_tables", "staged_name"]
