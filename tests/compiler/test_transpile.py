"""SQLML118: what the project's SQL names that a server warehouse's dialect does not have,
found when the project is compiled for that warehouse — not when the statement runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sqlglot

from sqlml_dagster.compiler import check_project
from sqlml_dagster.compiler.transpile import URL_DIALECTS, dialect_of_url, untranspilable
from sqlml_dagster.warehouses import WAREHOUSE_KINDS, warehouse_from_url


@pytest.mark.parametrize(
    ("sql", "problems"),
    [
        # what both engines have transpiles
        ("CREATE TABLE t (a VARCHAR, b DOUBLE, c TIMESTAMP, d BOOLEAN, e DATE, f INTEGER[])", []),
        ("SELECT CAST(a AS DECIMAL(10, 2)), a::TIMESTAMPTZ, a::BLOB, a::TINYINT FROM t", []),
        ("SELECT a // b, a / b, 2026 - year_built FROM t", []),
        ("SELECT CAST(a AS my_domain) FROM t", []),  # a type of the server's own
        # types PostgreSQL has no equivalent for, named as DuckDB writes them
        ("SELECT CAST(x AS UBIGINT) FROM t", ["type UBIGINT has no PostgreSQL equivalent"]),
        (
            "CREATE TABLE t (m MAP(VARCHAR, INT))",
            ["type MAP(TEXT, INT) has no PostgreSQL equivalent"],
        ),
        (
            "SELECT CAST(a AS STRUCT(x INT)) FROM t",
            ["type STRUCT(x INT) has no PostgreSQL equivalent"],
        ),
        ("SELECT a::UTINYINT, b::UTINYINT FROM t", ["type UTINYINT has no PostgreSQL equivalent"]),
        # DuckDB's star modifiers
        ("SELECT * EXCLUDE (a) FROM t", ["PostgreSQL has no SELECT * EXCLUDE (list the columns)"]),
        (
            "SELECT * REPLACE (a + 1 AS a) FROM t",
            ["PostgreSQL has no SELECT * REPLACE (list the columns)"],
        ),
    ],
)
def test_what_postgres_cannot_be_given(sql: str, problems: list[str]) -> None:
    assert untranspilable(sqlglot.parse_one(sql, read="duckdb"), "postgres") == problems


def test_duckdb_targets_are_not_checked() -> None:
    assert untranspilable(sqlglot.parse_one("SELECT CAST(x AS UBIGINT)"), "duckdb") == []


def test_a_project_compiled_for_postgres_reports_each_statement(
    write_project: Callable[[dict[str, str]], Path],
) -> None:
    root = write_project(
        {
            "a.sql": "CREATE TABLE d AS SELECT 1 AS x;\n"
            "CREATE TABLE e AS SELECT CAST(x AS UBIGINT) AS u FROM d;\n",
            "b.sql": "SELECT * EXCLUDE (u) FROM e TO TRAIN sklearn.svm.SVC LABEL y INTO m;\n",
        }
    )
    _, on_duckdb = check_project(root)
    assert [d for d in on_duckdb if d.is_error] == []
    _, on_postgres = check_project(root, target_dialect="postgres")
    found = {f"{d.code} {d.span.location() if d.span else ''}" for d in on_postgres if d.is_error}
    assert found == {"SQLML118 sql/a.sql:2:36", "SQLML118 sql/b.sql:1:1"}


def test_url_schemes_name_the_dialect_their_engine_runs() -> None:
    """``sqlml check`` reads a URL's dialect without building the warehouse: the table must
    say what each engine says."""
    assert set(URL_DIALECTS) == set(WAREHOUSE_KINDS)
    for scheme, dialect in URL_DIALECTS.items():
        url = f"{scheme}://user@host/db" if scheme != "duckdb" else "duckdb:///tmp/x.duckdb"
        assert warehouse_from_url(url).dialect == dialect
    assert dialect_of_url("state/warehouse.duckdb") == "duckdb"
    assert dialect_of_url("oracle://db/x") is None
