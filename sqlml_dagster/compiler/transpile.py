"""Whether the project's SQL can be written in the warehouse's dialect (SQLML118).

The project's SQL is written in one dialect (DuckDB's by default) and sqlglot writes each
statement in the warehouse's dialect when it runs. sqlglot writes a type it cannot map as
it is (DuckDB's ``UBIGINT`` stays ``UBIGINT``, ``MAP(VARCHAR, INT)`` becomes a ``MAP<…>``
PostgreSQL has never heard of), so the server would reject the statement only when it
runs, maybe hours into a pipeline. This module finds those constructs when the project is
compiled for a server warehouse: every type a statement names is written in the target
dialect, read back, and must be one of the types that server has (:data:`TARGET_TYPES`);
what sqlglot itself knows it cannot write (``unsupported_level=RAISE``) is reported too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, UnsupportedError

from . import codes
from .diagnostics import Diagnostic, SourceFile, Span
from .statement import SqlFile, Statement

_T = exp.DataType.Type

#: The types each server dialect has, as sqlglot reads them in that dialect. A dialect
#: without an entry is not checked (DuckDB runs whatever DuckDB parses).
TARGET_TYPES: Mapping[str, frozenset[Any]] = {
    "postgres": frozenset(
        {
            *(_T.SMALLINT, _T.INT, _T.BIGINT, _T.DECIMAL, _T.FLOAT, _T.DOUBLE, _T.MONEY),
            *(_T.SERIAL, _T.SMALLSERIAL, _T.BIGSERIAL, _T.BOOLEAN, _T.BIT, _T.NAME),
            *(_T.CHAR, _T.NCHAR, _T.VARCHAR, _T.NVARCHAR, _T.TEXT, _T.VARBINARY),
            *(_T.DATE, _T.TIME, _T.TIMETZ, _T.TIMESTAMP, _T.TIMESTAMPTZ, _T.INTERVAL),
            *(_T.JSON, _T.JSONB, _T.UUID, _T.INET, _T.XML, _T.ARRAY, _T.POINT),
            *(_T.INT4RANGE, _T.INT8RANGE, _T.NUMRANGE, _T.TSRANGE, _T.TSTZRANGE, _T.DATERANGE),
            *(_T.HSTORE, _T.GEOMETRY, _T.GEOGRAPHY, _T.USERDEFINED, _T.UNKNOWN),
        }
    ),
    "mysql": frozenset(
        {
            *(_T.TINYINT, _T.UTINYINT, _T.SMALLINT, _T.USMALLINT, _T.MEDIUMINT, _T.UMEDIUMINT),
            *(_T.INT, _T.UINT, _T.BIGINT, _T.UBIGINT, _T.DECIMAL, _T.FLOAT, _T.DOUBLE, _T.BIT),
            *(_T.BOOLEAN, _T.CHAR, _T.NCHAR, _T.VARCHAR, _T.NVARCHAR, _T.TEXT, _T.TINYTEXT),
            *(_T.MEDIUMTEXT, _T.LONGTEXT, _T.BINARY, _T.VARBINARY, _T.BLOB, _T.TINYBLOB),
            *(_T.MEDIUMBLOB, _T.LONGBLOB, _T.DATE, _T.DATETIME, _T.TIMESTAMP, _T.TIMESTAMPTZ),
            *(_T.TIME, _T.YEAR, _T.JSON, _T.ENUM, _T.SET, _T.GEOMETRY, _T.POINT),
            *(_T.UUID, _T.USERDEFINED, _T.UNKNOWN),  # UUID: MariaDB 10.7+
        }
    ),
}

#: A warehouse URL's scheme → the dialect its engine runs (``sqlml check`` reads a
#: component's ``warehouse:`` URL or ``$SQLML_WAREHOUSE`` without building the warehouse;
#: a test holds this to what each engine of ``WAREHOUSE_KINDS`` says).
URL_DIALECTS: Mapping[str, str] = {
    "duckdb": "duckdb",
    "postgresql": "postgres",
    "postgres": "postgres",
    "mysql": "mysql",
    "mariadb": "mysql",
}

#: Dialects whose ``*`` takes no ``EXCLUDE``/``REPLACE``/``RENAME`` (sqlglot writes them anyway).
PLAIN_STAR = frozenset({"postgres", "mysql"})

_STAR_MODIFIERS = (("except_", "EXCLUDE"), ("replace", "REPLACE"), ("rename", "RENAME"))

#: How the documentation names each dialect in messages.
DIALECT_NAMES: Mapping[str, str] = {
    "postgres": "PostgreSQL",
    "duckdb": "DuckDB",
    "mysql": "MySQL/MariaDB",
}


def untranspilable(tree: exp.Expr, dialect: str, source: str = "duckdb") -> list[str]:
    """What in ``tree`` (written in ``source``) cannot be written in ``dialect``, each as a
    short phrase naming the construct as the user wrote it (empty: it transpiles)."""
    found: list[str] = []
    types = TARGET_TYPES.get(dialect)
    name = DIALECT_NAMES.get(dialect, dialect)
    if types is not None:
        for node in tree.find_all(exp.DataType):
            if node.find_ancestor(exp.DataType) is not None or node.this == _T.USERDEFINED:
                continue  # nested: judged with its type; user-defined: the server's own
            rendered = node.sql(dialect)
            try:
                parsed: exp.DataType | None = exp.DataType.build(rendered, dialect=dialect)
            except (ParseError, ValueError):
                parsed = None
            if parsed is None or any(t.this not in types for t in parsed.find_all(exp.DataType)):
                phrase = f"type {node.sql(source)} has no {name} equivalent"
                if phrase not in found:
                    found.append(phrase)
    if dialect in PLAIN_STAR:
        for star in tree.find_all(exp.Star):
            modifiers = [word for key, word in _STAR_MODIFIERS if star.args.get(key)]
            if modifiers:
                found.append(f"{name} has no SELECT * {'/'.join(modifiers)} (list the columns)")
    try:
        tree.sql(dialect, unsupported_level=ErrorLevel.RAISE)
    except UnsupportedError as e:
        found.extend(line.strip() for line in str(e).splitlines() if line.strip())
    return found


def dialect_of_url(url: str) -> str | None:
    """The dialect of the warehouse a URL names (a plain path: DuckDB; None: unknown)."""
    if "://" not in url:
        return "duckdb" if url.strip() else None
    return URL_DIALECTS.get(url.split("://", 1)[0].lower())


def checks_dialect(dialect: str) -> bool:
    """Whether compiling for a warehouse of ``dialect`` checks what transpiles."""
    return dialect in TARGET_TYPES or dialect in PLAIN_STAR


def transpile_diagnostics(
    files: Iterable[SqlFile], sources: Mapping[str, SourceFile], dialect: str, source: str
) -> list[Diagnostic]:
    """SQLML118 for every statement that cannot be written in ``dialect``, at the
    statement (the caret under the construct when its text is found)."""
    name = DIALECT_NAMES.get(dialect, dialect)
    out: list[Diagnostic] = []
    for sql_file in files:
        text = sources.get(sql_file.path)
        for statement in sql_file.statements:
            for tree in statement_trees(statement):
                for problem in untranspilable(tree, dialect, source):
                    out.append(
                        Diagnostic(
                            codes.UNTRANSPILABLE,
                            f"cannot be written in {name}: {problem}",
                            _construct_span(text, statement.span, problem),
                            hint=f"use a type {name} has (BIGINT, DOUBLE, VARCHAR, "
                            "TIMESTAMP, …) or run this project on DuckDB",
                            source=text,
                        )
                    )
    return out


def statement_trees(statement: Statement) -> Iterator[exp.Expr]:
    """The SQL trees a statement runs: a plain statement's, an ML statement's SELECTs."""
    for f in dataclasses.fields(statement):
        value = getattr(statement, f.name)
        if isinstance(value, exp.Expr):
            yield value


def _construct_span(source: SourceFile | None, span: Span, problem: str) -> Span:
    """The type's text inside the statement, for the caret (the statement otherwise)."""
    if source is None or not problem.startswith("type "):
        return span
    written = problem[len("type ") :].split(" has no ", 1)[0]
    at = source.text.upper().find(written.upper(), span.start, span.end)
    return Span.of(source, at, at + len(written)) if at >= 0 else span
