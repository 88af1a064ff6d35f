"""No statement is ever dropped: a ``CREATE TABLE``/``VIEW`` that sqlglot can read only as
an opaque ``Command`` (it gives up on the whole statement at the first thing it does not
understand) is an error (SQLML114) at the misspelled keyword or the culprit, instead of
passing as a session statement that defines no asset. Connection commands sqlglot does
not model (``LOAD``, ``CALL``…) keep running as session statements."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from sqlml_dagster.compiler import ObjectKind, check_project, parse_sql_file

# (dialect, file text, "line:col" of the caret, the text under it, a fragment of the hint)
UNREAD = [
    ("duckdb", "CREATE TABLE x AS SELEC * FROM t;", "1:19", "SELEC", "did you mean SELECT?"),
    ("duckdb", "CREATE TABLE x AS SELECT * FORM t WHERE a = 1;", "1:28", "FORM", "did you mean FROM?"),
    ("duckdb", "CREATE OR REPLACE TABLE x AS\nSELECT * FROM t LIMT 5;", "2:17", "LIMT", "did you mean LIMIT?"),
    ("duckdb", "CREATE TEMP TABLE x AS SELECTT a FROM t;", "1:24", "SELECTT", "did you mean SELECT?"),
    ("duckdb", "CREATE VIEW v AS SELEC 1;", "1:18", "SELEC", "did you mean SELECT?"),
    ("duckdb", "CREATE MATERIALIZED VIEW v AS SELEC 1;", "1:31", "SELEC", "did you mean SELECT?"),
    ("duckdb", "CREATE TABLE x AS SELECT a b c FROM t;", "1:30", "c", "Unexpected token"),
    ("duckdb", "CREATE TABLE x AS SELECT ML_PREDICT(m@2, a) AS p FROM t LIMT 1;", "1:57", "LIMT", "LIMIT"),
    ("duckdb", "CREATE TABLE x ASS SELECT 1;", "1:1", "CREATE TABLE", "check the spelling after 'CREATE TABLE'"),
    ("duckdb", "SET threads = 2;\n\n  create table x as selec * from t;", "3:21", "selec", "dialect 'duckdb'"),
    ("postgres", "CREATE TABLE x AS SELEC * FROM t;", "1:19", "SELEC", "dialect 'postgres'"),
    ("mysql", "CREATE TABLE x AS SELEC * FROM t;", "1:19", "SELEC", "dialect 'mysql'"),
    ("bigquery", "CREATE TABLE x AS SELEC * FROM t;", "1:19", "SELEC", "dialect 'bigquery'"),
    ("snowflake", "CREATE TABLE x AS SELEC * FROM t;", "1:19", "SELEC", "dialect 'snowflake'"),
    ("spark", "CREATE TABLE x AS SELEC * FROM t;", "1:19", "SELEC", "dialect 'spark'"),
    ("hive", "CREATE TABLE x AS SELEC * FROM t;", "1:19", "SELEC", "dialect 'hive'"),
    ("trino", "CREATE TABLE x AS SELEC * FROM t;", "1:19", "SELEC", "dialect 'trino'"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("dialect", "text", "where", "under_caret", "hint"),
    UNREAD,
    ids=[f"{d}:{t[:40]}" for d, t, *_ in UNREAD],
)
def test_an_unreadable_definition_is_an_error_at_its_culprit(
    dialect: str, text: str, where: str, under_caret: str, hint: str
) -> None:
    sql_file, diagnostics = parse_sql_file("sql/a.sql", text, dialect)
    errors = [d for d in diagnostics if d.is_error]
    assert [d.code for d in errors] == ["SQLML114"]
    (error,) = errors
    assert error.span is not None
    assert f"{error.span.line}:{error.span.col}" == where
    assert text[error.span.start : error.span.end] == under_caret
    assert "would define no asset" in error.message
    assert error.hint is not None and hint in error.hint
    assert "sqlglot could not parse this as a statement of dialect" in error.hint
    assert "^" in error.render()
    assert all(s.KIND == "sql" and s.target is None for s in sql_file.statements)  # type: ignore[attr-defined]


def test_the_project_fails_instead_of_losing_the_table(
    write_project: Callable[[dict[str, str]], Path],
) -> None:
    root = write_project(
        {"a.sql": "CREATE TABLE x AS SELEC * FROM t;\nCREATE TABLE y AS SELECT * FROM x;\n"}
    )
    project, diagnostics = check_project(root)
    assert [(d.code, d.span.location() if d.span else None) for d in diagnostics] == [
        ("SQLML114", "sql/a.sql:1:19")
    ]
    assert project is not None
    assert [str(node.name) for node in project.nodes] == ["y"]


# Statements sqlglot reads as a Command on purpose, and what they stay:
# (dialect, statement, None for a session statement or the code of its warning)
KEPT = [
    ("duckdb", "LOAD httpfs", None),
    ("duckdb", "CALL load_aws_credentials()", None),
    ("duckdb", "CREATE TYPE mood AS ENUM ('sad', 'ok')", None),
    ("duckdb", "RESET threads", None),
    ("duckdb", "VACUUM", None),
    ("postgres", "CREATE EXTENSION IF NOT EXISTS postgis", None),
    ("postgres", "SHOW search_path", "SQLML106"),
    ("spark", "ADD JAR 'udfs.jar'", None),
    ("spark", "SHOW TABLES", "SQLML106"),
    ("mysql", "LOCK TABLES t READ", None),
]


@pytest.mark.parametrize(("dialect", "text", "warning"), KEPT, ids=[t for _, t, _ in KEPT])
def test_commands_that_define_nothing_keep_their_meaning(
    dialect: str, text: str, warning: str | None
) -> None:
    sql_file, diagnostics = parse_sql_file("sql/a.sql", text + ";", dialect)
    assert [d.code for d in diagnostics] == ([warning] if warning else [])
    if warning is None:
        (statement,) = sql_file.statements
        assert statement.KIND == "sql"
        assert statement.produces is None
        assert statement.object_kind is ObjectKind.TABLE
